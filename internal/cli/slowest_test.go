package cli

import (
	"testing"
	"time"
)

func TestSlowestChecks(t *testing.T) {
	took := map[string]time.Duration{"MD101": 5 * time.Millisecond, "MD201": 120 * time.Millisecond, "MD301": 5 * time.Millisecond, "MD401": time.Second}
	if got, want := slowestChecks(took, 3), "MD401 1s, MD201 120ms, MD101 5ms"; got != want {
		t.Errorf("slowestChecks = %q, want %q", got, want)
	}
	if got := slowestChecks(nil, 5); got != "" {
		t.Errorf("no checks: %q", got)
	}
}
