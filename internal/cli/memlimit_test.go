package cli

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
)

func TestLimitForAnalysis(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })

	t.Setenv("GOMEMLIMIT", "3GiB")
	debug.SetMemoryLimit(math.MaxInt64)
	limitForAnalysis()
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("with GOMEMLIMIT set the limit changed to %d", got)
	}

	t.Setenv("GOMEMLIMIT", "")
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	limitForAnalysis()
	got := debug.SetMemoryLimit(-1)
	if got == math.MaxInt64 || got < int64(ms.HeapAlloc)+64<<20 {
		t.Errorf("limit %d, want the live heap (%d) plus 40%% and 64 MiB", got, ms.HeapAlloc)
	}
}
