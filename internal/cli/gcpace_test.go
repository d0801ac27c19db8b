package cli

import (
	"runtime/debug"
	"testing"
)

func TestPaceAnalysisGC(t *testing.T) {
	prev := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prev) })

	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Run("user set "+env, func(t *testing.T) {
			t.Setenv("GOGC", "")
			t.Setenv("GOMEMLIMIT", "")
			t.Setenv(env, "200")
			debug.SetGCPercent(100)
			paceAnalysisGC()
			if got := debug.SetGCPercent(100); got != 100 {
				t.Errorf("with %s set the pacing changed to %d", env, got)
			}
		})
	}
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	paceAnalysisGC()
	if got := debug.SetGCPercent(100); got != analysisGCPercent {
		t.Errorf("GOGC %d after paceAnalysisGC, want %d", got, analysisGCPercent)
	}
}
