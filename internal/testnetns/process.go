//go:build linux

package testnetns

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Proc is a helper process started by a Node.
type Proc struct {
	// HostPID is its pid in the machine's PID namespace.
	HostPID int
	// Cmdline is its argument list, as /proc/PID/cmdline shows it.
	Cmdline []string
	// Ready holds the key=value pairs of its ready line: pid (in the
	// Node's PID namespace), netns (inode), start (field 22 of its stat),
	// fds, and for dial local, remote and mark.
	Ready map[string]string

	name   string
	lines  chan string
	stderr *lockedBuffer
	done   chan struct{}
	// waitErr is how the process ended, valid once done is closed.
	waitErr error
}

// lineTimeout bounds the wait for a helper's status line.
const lineTimeout = 15 * time.Second

func newProc(name string) *Proc {
	return &Proc{name: name, lines: make(chan string, 16), stderr: &lockedBuffer{}, done: make(chan struct{})}
}

// readLines sends each line of r to p.lines and closes it at EOF.
func (p *Proc) readLines(r io.ReadCloser) {
	defer r.Close()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		p.lines <- sc.Text()
	}
	close(p.lines)
}

// Next waits for the process's next status line starting with word and
// returns its key=value pairs; other lines are skipped.
func (p *Proc) Next(t testing.TB, word string) map[string]string {
	t.Helper()
	timeout := time.After(lineTimeout)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				<-p.done
				t.Fatalf("testnetns: %s ended (%v) before %q; stderr: %s", p.name, p.waitErr, word, p.stderr.String())
			}
			if f := strings.Fields(line); len(f) > 0 && f[0] == word {
				return pairs(f[1:])
			}
		case <-timeout:
			t.Fatalf("testnetns: no %q from %s in %v; stderr: %s", word, p.name, lineTimeout, p.stderr.String())
		}
	}
}

// Kill kills the process and waits for it to be reaped.
func (p *Proc) Kill(t testing.TB) {
	t.Helper()
	select {
	case <-p.done:
		return
	default:
	}
	if err := syscall.Kill(p.HostPID, syscall.SIGKILL); err != nil && err != syscall.ESRCH {
		t.Errorf("testnetns: killing %s (pid %d): %v", p.name, p.HostPID, err)
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Errorf("testnetns: %s (pid %d) still running 10s after SIGKILL", p.name, p.HostPID)
	}
}

func pairs(fields []string) map[string]string {
	m := map[string]string{}
	for _, f := range fields {
		k, v, _ := strings.Cut(f, "=")
		m[k] = v
	}
	return m
}

// lockedBuffer collects a process's stderr while tests read it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
