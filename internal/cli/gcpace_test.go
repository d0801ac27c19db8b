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
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Errorf("GOGC %d during the load, want off", got)
	}
	if got := debug.SetMemoryLimit(-1); got != loadHeapLimit {
		t.Errorf("memory limit %d during the load, want %d", got, loadHeapLimit)
	}
	p.analysis()
	if got := debug.SetGCPercent(-1); got != analysisGCPercent {
		t.Errorf("GOGC %d after the load, want %d", got, analysisGCPercent)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("memory limit %d after the load, want none", got)
	}

	var live *gcPacer // a live read keeps the default pacing for its load
	debug.SetGCPercent(100)
	live.analysis()
	if got := debug.SetGCPercent(-1); got != analysisGCPercent {
		t.Errorf("GOGC %d after a live load, want %d", got, analysisGCPercent)
	}
}

// TestPaceLoadGCGivesUp: when a collection during the load finds more live
// than the limit's share, the default pacing comes back, so a snapshot
// larger than the limit is not collected back to back.
func TestPaceLoadGCGivesUp(t *testing.T) {
	restoreGC(t)
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	p := paceLoadGC()
	defer p.analysis()

	share := loadLiveShare // a variable: the product is no integer constant
	keep := make([][]byte, 0, 64)
	for range int(share*loadHeapLimit)/(4<<20) + 4 {
		keep = append(keep, make([]byte, 4<<20))
	}
	runtime.GC()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		tuning := p.tuning
		p.mu.Unlock()
		if !tuning {
			break
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	runtime.KeepAlive(keep)
	if got := debug.SetGCPercent(-1); got != 100 {
		t.Errorf("GOGC %d after a collection found %d MB live, want the default 100", got, liveHeap()>>20)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("memory limit %d kept after the pacer gave up", got)
	}
}
