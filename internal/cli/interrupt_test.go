package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
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

// blockingReader is standard input that tells when it is first read and
// then blocks until released, as a pipe with nothing written yet.
type blockingReader struct {
	started, release chan struct{}
	once             bool
}

func (r *blockingReader) Read([]byte) (int, error) {
	if !r.once {
		r.once = true
		close(r.started)
	}
	<-r.release
	return 0, io.EOF
}

// TestLogsInterrupted: a signal while `logs` reads ends it with exit 2,
// the reason, and no report, as for analyze.
func TestLogsInterrupted(t *testing.T) {
	guard := make(chan os.Signal, 1) // the test process must not die of the signal
	signal.Notify(guard, syscall.SIGTERM)
	defer signal.Stop(guard)

	in := &blockingReader{started: make(chan struct{}), release: make(chan struct{})}
	var out bytes.Buffer
	root := NewRoot(Streams{In: in, Out: &out, Err: io.Discard}, BuildInfo{Version: "test"})
	root.SetArgs([]string{"logs", "-", "-o", "json"})
	done := make(chan error, 1)
	go func() { done <- root.Execute() }()
	<-in.started
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the handler cancels the run
	close(in.release)
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("logs did not end after the signal")
	}
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 2 || !strings.Contains(err.Error(), "interrupted by SIGTERM") {
		t.Errorf("logs after SIGTERM: %v, want exit 2 naming the signal", err)
	}
	if out.Len() != 0 {
		t.Errorf("a report was written after the interrupt: %s", out.String())
	}
}
