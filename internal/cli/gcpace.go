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
// included, for almost nothing freed. During the load the heap may grow
// by up to loadMaxGCPercent between collections while it is small, and
// by less as it nears loadHeapTarget, never by less than the default
// 100%: after each collection the pacer sets GOGC so that the next one
// comes at max(2×live, min(loadHeapTarget, (1+4)×live)). The pacing stays
// proportional to the live heap at every step, so an input larger than
// the target costs what it did with the default. (A soft memory limit
// instead was tried: its goal shrinks by the runtime's own overhead and
// the collector ran every 10 MB once the live heap neared it.)
//
// Analysis: short-lived values on top of the snapshot (and locating
// thousands of findings re-reads their documents). With GOGC=100 the peak
// was about twice the snapshot, over the 500 MB budget at 50k objects.
// From the end of the load on, collections start when the heap has grown
// by analysisGCPercent over the live heap instead. Pacing by growth keeps
// the peak proportional to the live heap, and the collector's work
// proportional to what is allocated, whatever the analysis keeps alive as
// it goes. (A fixed soft limit computed from the snapshot was tried here
// first: when the analysis kept more alive than the snapshot, the
// collector ran back to back, 2–3× the time on runs with thousands of
// findings.)
//
// A GOGC or GOMEMLIMIT the user set is left alone in both phases.

const (
	// loadHeapTarget is the heap the load may grow to between collections
	// before the pacing is back to the default.
	loadHeapTarget = 400 << 20
	// loadMaxGCPercent is the GOGC of the load while the heap is small.
	loadMaxGCPercent = 400
	// analysisGCPercent is the GOGC of the analysis phase.
	analysisGCPercent = 40
)

// gcPacer switches the collector's pacing between the phases of a run.
type gcPacer struct {
	mu      sync.Mutex
	tuning  bool // the load phase's pacing is on and watched
	userSet bool
}

func userPacesGC() bool { return os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" }

// paceLoadGC switches the collector to the load phase's pacing.
func paceLoadGC() *gcPacer {
	p := &gcPacer{userSet: userPacesGC()}
	if p.userSet {
		return p
	}
	p.tuning = true
	debug.SetGCPercent(loadMaxGCPercent)
	p.watch()
	return p
}

// watch asks to hear of the next collection: a sentinel that only a
// collection can find unreachable.
func (p *gcPacer) watch() {
	s := new(sentinel)
	runtime.AddCleanup(s, func(p *gcPacer) { p.collected() }, p)
}

type sentinel struct{ _ *int }

// collected runs after a collection during the load.
func (p *gcPacer) collected() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.tuning {
		return
	}
	debug.SetGCPercent(loadGCPercent(liveHeap()))
	p.watch()
}

// loadGCPercent is the load's GOGC for a live heap: the next collection at
// max(2×live, min(loadHeapTarget, (1+loadMaxGCPercent/100)×live)).
func loadGCPercent(live uint64) int {
	if live == 0 {
		return loadMaxGCPercent
	}
	pct := int((loadHeapTarget - float64(live)) * 100 / float64(live))
	return max(100, min(loadMaxGCPercent, pct))
}

// analysis switches the collector to the analysis phase's pacing; p is
// nil when the load kept the default pacing.
func (p *gcPacer) analysis() {
	if p != nil {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.tuning = false
	}
	if userPacesGC() {
		return
	}
	debug.SetGCPercent(analysisGCPercent)
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
