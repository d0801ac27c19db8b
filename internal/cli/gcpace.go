package cli

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// Garbage-collector pacing.
//
// Nearly all of meshdoctor's live heap is the snapshot: decoded objects
// that live until the report is written. The two phases of a run allocate
// differently, so they are paced differently.
//
// Load: almost everything allocated stays alive (the reader reuses its
// parse memory; at 50k objects a collection at 257 MB found 233 MB live).
// Under the default GOGC=100 the heap doubles between collections, so the
// collector runs a dozen times and each run rescans what the last one
// already found alive: a fifth of the load's CPU, write barriers
// included, for almost nothing freed. During the load (loadPacing) the
// heap may grow by up to 400% between collections while it is small, and
// by less as it nears 400 MB, never by less than the default 100%: after
// each collection the pacer sets GOGC so that the next one comes at
// max(2×live, min(400 MB, 5×live)). Until the first collection there is
// no GOGC at all: the 400 MB target is set as a memory limit, which
// triggers that collection and is then lifted (paceLoadGC), so an input
// whose load stays under it (50k objects) is never collected while it
// loads. The pacing stays proportional to the live heap at every step, so
// an input larger than the target costs what it did with the default. (A
// soft memory limit as the whole pacing was tried: its goal shrinks by the
// runtime's own overhead and the collector ran every 10 MB once the live
// heap neared it.)
//
// Analysis: short-lived values on top of the snapshot (and locating
// thousands of findings re-reads their documents), and facts that live
// until the end. When the load never collected, the analysis goes on
// under the load's limit: no collection at all unless the heap reaches
// the 400 MB target (at 50k objects the whole run allocates ~380 MB and
// never collects: 10% less wall time than one collection at the
// analysis' start, which marked 170 MB live, for ~430 MB RSS instead of
// ~400). After a collection, or when the load collected, the same rule
// as the load's applies with other bounds: the heap may grow by up to
// 100% over the live heap while that stays under 400 MB
// (analysisPacing), and by less near it, never by less than 40%; larger
// inputs are paced at 40%, which keeps the peak proportional to the live
// heap. (A fixed soft limit computed from the snapshot was tried first:
// when the analysis kept more alive than the snapshot, the collector ran
// back to back, 2–3× the time on runs with thousands of findings.)
//
// A GOGC or GOMEMLIMIT the user set is left alone in both phases.

// pacing is one phase's rule: after a collection that found live bytes
// alive, the next comes at max((1+minPct/100)×live,
// min(target, (1+maxPct/100)×live)).
type pacing struct {
	minPct, maxPct int
	target         float64
}

// The phases' rules; never changed.
var (
	loadPacing     = pacing{minPct: 100, maxPct: 400, target: 400 << 20}
	analysisPacing = pacing{minPct: 40, maxPct: 100, target: 400 << 20}
)

// percent is the GOGC that puts the next collection where the rule says.
func (pc pacing) percent(live uint64) int {
	if live == 0 {
		return pc.maxPct
	}
	pct := int((pc.target - float64(live)) * 100 / float64(live))
	return max(pc.minPct, min(pc.maxPct, pct))
}

// gcPacer switches the collector's pacing between the phases of a run.
type gcPacer struct {
	mu      sync.Mutex
	phase   *pacing // nil: not pacing
	gen     int     // of the sentinel being watched; older ones are stale
	limited bool    // the load's memory limit is set (see paceLoadGC)
	userSet bool
	// prevLimit and prevPercent are the settings done restores.
	prevLimit   int64
	prevPercent int
}

func userPacesGC() bool { return os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" }

// paceLoadGC switches the collector to the load phase's pacing. Until the
// first collection the heap may grow to the load's target: the collector
// is off, with the target as a memory limit to trigger that collection,
// after which the limit is lifted and the rule applies. (Before, starting
// from a few MB at GOGC=400 cost five collections at 50k objects, the
// last one marking 114 MB live during the load.)
func paceLoadGC() *gcPacer {
	p := &gcPacer{userSet: userPacesGC()}
	if p.userSet {
		return p
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.limited = true
	p.prevLimit = debug.SetMemoryLimit(int64(loadPacing.target))
	p.prevPercent = debug.SetGCPercent(-1)
	p.start(&loadPacing, -1)
	return p
}

// done ends the pacing (the run is over) and restores the collector's
// settings from before it: a process running several analyses (tests,
// benchmarks) starts each one afresh.
func (p *gcPacer) done() {
	if p == nil || p.userSet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.phase = nil
	p.limited = false
	debug.SetMemoryLimit(p.prevLimit)
	debug.SetGCPercent(p.prevPercent)
}

// start paces by pc from now on, with GOGC pct until the next collection.
// The caller holds p.mu.
func (p *gcPacer) start(pc *pacing, pct int) {
	p.phase = pc
	debug.SetGCPercent(pct)
	p.watch()
}

// unlimit lifts the memory limit that triggers the load's first
// collection. The caller holds p.mu.
func (p *gcPacer) unlimit() {
	if p.limited {
		p.limited = false
		debug.SetMemoryLimit(p.prevLimit)
	}
}

// watch asks to hear of the next collection: a sentinel that only a
// collection can find unreachable. The caller holds p.mu.
func (p *gcPacer) watch() {
	p.gen++
	s := new(sentinel)
	runtime.AddCleanup(s, func(gen int) { p.collected(gen) }, p.gen)
}

type sentinel struct{ _ *int }

// collected runs after a collection found sentinel gen unreachable.
// Cleanups run late, on their own goroutine: one a later watch replaced
// is ignored.
func (p *gcPacer) collected(gen int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if gen != p.gen || p.phase == nil {
		return
	}
	p.unlimit()
	debug.SetGCPercent(p.phase.percent(liveHeap()))
	p.watch()
}

// analysis switches the collector to the analysis phase's pacing; p is
// nil when the load kept the default pacing (a live read), and then the
// analysis is paced at its lowest percentage throughout.
func (p *gcPacer) analysis() {
	switch {
	case p == nil:
		if !userPacesGC() {
			debug.SetGCPercent(analysisPacing.minPct)
		}
	case !p.userSet:
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.limited {
			// The load never collected: neither does the analysis until
			// the heap reaches the same target. Then the limit triggers
			// a collection, is lifted, and the analysis rule applies.
			p.phase = &analysisPacing
			return
		}
		p.start(&analysisPacing, analysisPacing.percent(liveHeap()))
	}
}

// liveHeap returns the heap the last collection found live.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
