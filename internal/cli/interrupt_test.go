package cli

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestOnInterrupt: SIGTERM (as SIGINT) cancels the run's context, and the
// command then ends with exit 2 and a reason naming the signal; without a
// signal, stop releases the context and nothing reads as interrupted.
func TestOnInterrupt(t *testing.T) {
	ctx, interrupted, stop := onInterrupt(context.Background())
	if err := interrupted(); err != nil {
		t.Fatalf("interrupted before any signal: %v", err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("SIGTERM did not cancel the context")
	}
	err := interrupted()
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 2 || !strings.Contains(err.Error(), "interrupted by SIGTERM") {
		t.Errorf("after SIGTERM: %v, want exit 2 naming the signal", err)
	}
	stop()

	ctx, interrupted, stop = onInterrupt(context.Background())
	stop()
	if ctx.Err() == nil || interrupted() != nil {
		t.Errorf("stop: context %v, interrupted %v; want cancelled, not interrupted", ctx.Err(), interrupted())
	}
}
