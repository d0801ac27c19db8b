package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// errInterrupted is the cause of a run's context when a signal ended it.
type errInterrupted struct{ sig os.Signal }

func (e errInterrupted) Error() string { return "interrupted by " + signalName(e.sig) }

func signalName(s os.Signal) string {
	switch s {
	case os.Interrupt:
		return "SIGINT (Ctrl-C)"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// onInterrupt returns a context cancelled on the first SIGINT or SIGTERM;
// interrupted, which tells whether that happened (it returns the exit
// error to end the command with: exit 2, the reason on stderr, no report;
// or nil); and stop, which releases the signals when the command is done.
// After the first signal the default handling is restored, so a second
// Ctrl-C ends the process at once.
func onInterrupt(parent context.Context) (ctx context.Context, interrupted func() error, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case sig := <-sigs:
			signal.Stop(sigs)
			cancel(errInterrupted{sig})
		case <-ctx.Done():
		}
	}()
	interrupted = func() error {
		var ie errInterrupted
		if err := context.Cause(ctx); errors.As(err, &ie) {
			return &ExitError{Code: 2, Err: fmt.Errorf("%w: stopped before the analysis was complete; what was being read was abandoned (requests in flight cancelled) and nothing was reported", ie)}
		}
		return nil
	}
	stop = func() {
		signal.Stop(sigs)
		cancel(nil)
	}
	return ctx, interrupted, stop
}
