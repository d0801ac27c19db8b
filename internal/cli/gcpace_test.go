package cli

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// restoreGC puts the test binary's pacing back after a test changed it.
func restoreGC(t *testing.T) {
	prev := debug.SetGCPercent(100)
	prevLimit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() {
		debug.SetGCPercent(prev)
		debug.SetMemoryLimit(prevLimit)
	})
}

func TestPaceAnalysisGC(t *testing.T) {
	restoreGC(t)
	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Run("user set "+env, func(t *testing.T) {
			t.Setenv("GOGC", "")
			t.Setenv("GOMEMLIMIT", "")
			t.Setenv(env, "200")
			debug.SetGCPercent(100)
			debug.SetMemoryLimit(math.MaxInt64)
			p := paceLoadGC()
			if got := debug.SetGCPercent(100); got != 100 {
				t.Errorf("with %s set the load pacing changed GOGC to %d", env, got)
			}
			if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
				t.Errorf("with %s set the load pacing set a memory limit of %d", env, got)
			}
			p.analysis()
			if got := debug.SetGCPercent(100); got != 100 {
				t.Errorf("with %s set the analysis pacing changed GOGC to %d", env, got)
			}
		})
	}
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")

	p := paceLoadGC()
	// Until the load's first collection: no GOGC, the target as a limit.
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Errorf("GOGC %d at the start of the load, want off", got)
	}
	if got := debug.SetMemoryLimit(-1); got != int64(loadPacing.target) {
		t.Errorf("memory limit %d at the start of the load, want %d", got, int64(loadPacing.target))
	}
	// The load never collected: the analysis keeps its limit.
	p.analysis()
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Errorf("GOGC %d during an analysis after a load that never collected, want off", got)
	}
	if got := debug.SetMemoryLimit(int64(loadPacing.target)); got != int64(loadPacing.target) {
		t.Errorf("memory limit %d during an analysis after a load that never collected, want %d", got, int64(loadPacing.target))
	}
	// Its first collection lifts the limit; the analysis rule follows.
	if got, want := waitForPercent(t, analysisPacing), analysisPacing.percent(liveHeap()); got != want {
		t.Errorf("GOGC %d after the analysis' first collection, want %d", got, want)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("memory limit %d after the analysis' first collection, want none", got)
	}
	p.done() // the settings from before the run, and no more pacing
	if got := debug.SetGCPercent(-1); got != 100 {
		t.Errorf("GOGC %d after the run, want the 100 from before it", got)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("memory limit %d after the run, want none", got)
	}

	// A load that collected: the analysis is paced from its start.
	p = paceLoadGC()
	waitForPercent(t, loadPacing)
	p.analysis()
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("memory limit %d during an analysis after a load that collected, want none", got)
	}
	// SetGCPercent(-1) turns the collector off: no collection (and no
	// cleanup changing GOGC) can come between these two reads.
	if got, want := debug.SetGCPercent(-1), analysisPacing.percent(liveHeap()); got != want {
		t.Errorf("GOGC %d during an analysis after a load that collected, want %d", got, want)
	}
	p.done()

	var live *gcPacer // a live read keeps the default pacing for its load
	debug.SetGCPercent(100)
	live.analysis()
	if got := debug.SetGCPercent(-1); got != analysisPacing.minPct {
		t.Errorf("GOGC %d after a live load, want %d", got, analysisPacing.minPct)
	}
}

// waitForPercent collects until the pacer has set the GOGC that pc gives
// for the live heap (its cleanup runs on its own goroutine), and returns
// the GOGC it found.
func waitForPercent(t *testing.T, pc pacing) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
		got := debug.SetGCPercent(100)
		debug.SetGCPercent(got)
		if got == pc.percent(liveHeap()) || time.Now().After(deadline) {
			return got
		}
	}
}

func TestPacingPercent(t *testing.T) {
	const target = 400 << 20
	for _, c := range []struct {
		pc   pacing
		live uint64
		want int
	}{
		{loadPacing, 0, 400},
		{loadPacing, 1 << 20, 400},     // small: grow fivefold
		{loadPacing, target / 4, 300},  // next collection at the target
		{loadPacing, target / 2, 100},  // the default from here on
		{loadPacing, target, 100},      // never below the default
		{loadPacing, 4 * target, 100},  //
		{analysisPacing, 0, 100},       //
		{analysisPacing, 1 << 20, 100}, // small: double
		{analysisPacing, target / 2, 100},
		{analysisPacing, target * 10 / 16, 60}, // next collection at the target
		{analysisPacing, target, 40},           // never below 40%
	} {
		if got := c.pc.percent(c.live); got != c.want {
			t.Errorf("%+v.percent(%d MB) = %d, want %d", c.pc, c.live>>20, got, c.want)
		}
	}
}

// TestPaceLoadGCFollowsLiveHeap: after a collection during the load the
// pacing follows the live heap the collection found, and the limit that
// triggered the first one is gone.
func TestPaceLoadGCFollowsLiveHeap(t *testing.T) {
	restoreGC(t)
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	p := paceLoadGC()
	defer p.done()

	keep := make([][]byte, 0, 64)
	for range int(loadPacing.target)/2/(4<<20) + 4 {
		keep = append(keep, make([]byte, 4<<20))
	}
	got := waitForPercent(t, loadPacing)
	runtime.KeepAlive(keep)
	if got != 100 {
		t.Errorf("GOGC %d after a collection found %d MB live, want the default 100", got, liveHeap()>>20)
	}
	if limit := debug.SetMemoryLimit(-1); limit != math.MaxInt64 {
		t.Errorf("memory limit %d after the load's first collection, want none", limit)
	}
}
