package cli

import (
	"math"
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
// included, for almost nothing freed. During the load the collector
// instead waits for loadHeapLimit (a soft memory limit with GOGC off), so
// a snapshot that fits is read with at most one or two collections. If a
// collection finds the heap mostly live (the input is larger than the
// limit), the pacer gives the default pacing back at once: a soft limit
// below the live heap would make the collector run back to back.
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
	// loadHeapLimit is the soft memory limit of the load phase.
	loadHeapLimit = 352 << 20
	// loadLiveShare: once a collection during the load finds more than
	// this share of loadHeapLimit live, the default pacing comes back.
	loadLiveShare = 0.7
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
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(loadHeapLimit)
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
	if float64(liveHeap()) > loadLiveShare*loadHeapLimit {
		p.tuning = false
		debug.SetMemoryLimit(math.MaxInt64)
		debug.SetGCPercent(100)
		return
	}
	p.watch()
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
	debug.SetMemoryLimit(math.MaxInt64)
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
