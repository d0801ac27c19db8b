package cli

import (
	"os"
	"runtime/debug"
)

// Garbage-collector pacing for the analysis phase.
//
// Nearly all of meshdoctor's live heap is the snapshot: decoded objects
// that live until the report is written. Analysis allocates short-lived
// values on top of it (and locating thousands of findings re-reads their
// documents). With the default GOGC=100 the collector lets the heap grow
// to twice what the last collection found live, so the peak was about
// twice the snapshot: at 50k objects ~250 MB of garbage held for nothing,
// over the 500 MB budget.
//
// From the end of the load on, collections start when the heap has grown
// by analysisGCPercent over the live heap instead. Pacing by growth keeps
// the peak proportional to the live heap, and the collector's work
// proportional to what is allocated, whatever the analysis keeps alive
// as it goes. (A fixed soft limit computed from the snapshot was tried
// first: when the analysis kept more alive than the snapshot, the
// collector ran back to back, 2–3× the time on runs with thousands of
// findings. A limit during the load cost a third more CPU for parse-tree
// garbage, so the load keeps the default.) A GOGC or GOMEMLIMIT the user
// set is left alone.

// analysisGCPercent is the GOGC of the analysis phase.
const analysisGCPercent = 40

// paceAnalysisGC switches the collector to the analysis phase's pacing.
func paceAnalysisGC() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetGCPercent(analysisGCPercent)
}
