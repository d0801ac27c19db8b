package cli

import (
	"math"
	"os"
	"runtime/debug"
	"runtime/metrics"
)

// A soft memory limit for the analysis phase.
//
// Nearly all of meshdoctor's live heap is the snapshot: decoded objects
// that live until the report is written. Analysis allocates short-lived
// values on top of it; with the default GOGC the collector lets the heap
// grow to twice the live size before collecting, so the peak was about
// twice the snapshot: a hundred megabytes and more of garbage held for
// nothing at 50k objects. A soft limit of the live heap plus headroom
// keeps the peak proportional to the snapshot. It is soft: the runtime
// spends at most about half the CPU on collection to honour it, so a run
// that really needs more memory simply gets it, more slowly. A GOMEMLIMIT
// the user set is left alone. (Loading is left to GOGC: a limit there,
// from the input's size, cost a third more CPU for parse-tree garbage.)

// limitForAnalysis sets the limit once the snapshot is built: the live
// heap, as of the last collection (or half of what is allocated now, when
// that collection ran long before the load ended: most of the load's
// allocations are parse trees, garbage once decoded), plus 40%.
func limitForAnalysis() {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 || s[1].Value.Kind() != metrics.KindUint64 {
		return
	}
	live := max(s[0].Value.Uint64(), s[1].Value.Uint64()/2)
	setSoftLimit(live + live*2/5)
}

// setSoftLimit sets the runtime's soft memory limit to n plus headroom for
// the runtime itself, unless the user chose one.
func setSoftLimit(n uint64) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	n += 64 << 20
	if n > math.MaxInt64 {
		return
	}
	debug.SetMemoryLimit(int64(n))
}
