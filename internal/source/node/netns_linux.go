//go:build linux

package node

import (
	"fmt"
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// inNetns runs fn on a new OS thread that has joined the netns open as f.
// Sockets fn creates and processes it starts belong to that netns.
func inNetns(f *os.File, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		// No UnlockOSThread: a goroutine that exits locked takes its
		// thread with it, so the joined netns never serves other code.
		runtime.LockOSThread()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", f.Name(), err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// openNetns opens the first of paths that is still the netns want: a
// process listed by the scan may have exited, and its pid been reused by
// a process elsewhere. The open file keeps the netns alive while in use.
func openNetns(paths []string, want NetnsID) (*os.File, error) {
	var last error
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			last = err
			continue
		}
		var sb syscall.Stat_t
		if err := syscall.Fstat(int(f.Fd()), &sb); err != nil {
			f.Close()
			last = fmt.Errorf("fstat %s: %w", p, err)
			continue
		}
		if sb.Ino != want.Inode || uint64(sb.Dev) != want.Dev {
			f.Close()
			last = fmt.Errorf("%s is now netns %d, not %d", p, sb.Ino, want.Inode)
			continue
		}
		return f, nil
	}
	if last == nil {
		return nil, fmt.Errorf("no process left in it")
	}
	return nil, fmt.Errorf("no process left in it (last: %w)", last)
}
