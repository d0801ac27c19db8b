//go:build linux

package testnetns

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// Node is a PID namespace whose init (PID 1) runs in a host-like netns,
// with /proc of that PID namespace mounted in init's mount namespace: a
// collector entered into it (Exec) sees only the test's processes, and
// PID 1's netns as the host's.
type Node struct {
	Host *NS
	// Init is PID 1.
	Init *Proc

	bin   string // the test binary, re-executed as every helper
	links string // symlinks to bin, named after the comm a helper shows
	pidns *os.File
}

// NewNode starts the node's init in host. Its cleanup kills init, which
// makes the kernel kill every process left in the PID namespace.
func NewNode(t testing.TB, host *NS) *Node {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatalf("testnetns: %v", err)
	}
	n := &Node{Host: host, bin: bin, links: t.TempDir()}
	cmd := exec.Command("ip", "netns", "exec", host.Name, bin)
	cmd.Env = append(os.Environ(), helperEnv+"=init")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID | syscall.CLONE_NEWNS}
	n.Init = n.launch(t, "init", cmd, false)
	n.Init.Cmdline = []string{bin}
	n.Init.Next(t, "ready")
	n.pidns, err = os.Open(fmt.Sprintf("/proc/%d/ns/pid", n.Init.HostPID))
	if err != nil {
		t.Fatalf("testnetns: %v", err)
	}
	t.Cleanup(func() { n.pidns.Close() })
	return n
}

// Start runs a helper ("hold", "listen" or "dial", or the test's own) in
// ns and in the node's PID namespace, as a program named comm, in cgroup
// cg unless it is nil, and waits for its ready line. It is killed in
// t.Cleanup.
func (n *Node) Start(t testing.TB, ns *NS, cg *Cgroup, comm, helper string, args ...string) *Proc {
	t.Helper()
	exe := filepath.Join(n.links, comm)
	if err := os.Symlink(n.bin, exe); err != nil && !os.IsExist(err) {
		t.Fatalf("testnetns: %v", err)
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns.Name, exe}, args...)...)
	cmd.Env = append(os.Environ(), helperEnv+"="+helper)
	if cg != nil {
		// Started straight into the cgroup (clone3 CLONE_INTO_CGROUP), so
		// no moment passes with the process elsewhere.
		dir, err := os.Open(cg.Dir)
		if err != nil {
			t.Fatalf("testnetns: %v", err)
		}
		defer dir.Close()
		cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(dir.Fd())}
	}
	p := n.launch(t, comm, cmd, true)
	p.Cmdline = append([]string{exe}, args...)
	p.Ready = p.Next(t, "ready")
	return p
}

// Exec runs the test binary as helper inside the node — its PID, mount
// and network namespaces, through nsenter — and returns its output.
func (n *Node) Exec(t testing.TB, helper string, env []string, args ...string) (stdout, stderr []byte, err error) {
	t.Helper()
	cmd := exec.Command("nsenter", append([]string{"--target", strconv.Itoa(n.Init.HostPID), "--pid", "--mount", "--net", "--", n.bin}, args...)...)
	cmd.Env = append(append(os.Environ(), env...), helperEnv+"="+helper)
	var out, errOut lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return []byte(out.String()), []byte(errOut.String()), err
}

// launch starts cmd from a goroutine locked to its OS thread that stays
// until the process ends: PDEATHSIG (init dies with the test, and the
// node's processes with init) is tied to the forking thread, and
// joinPidns changes that thread's PID namespace for children, which must
// not leak to other goroutines.
func (n *Node) launch(t testing.TB, name string, cmd *exec.Cmd, joinPidns bool) *Proc {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatalf("testnetns: %v", err)
	}
	p := newProc(name)
	cmd.Stdout, cmd.Stderr = w, p.stderr
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	if !joinPidns {
		// Not for a process joining the PID namespace: there getppid()
		// is 0, which Go's fork takes for a dead parent and kills the
		// child. Those die with init anyway.
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	started := make(chan error, 1)
	go func() {
		defer close(p.done)
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		if joinPidns {
			if err := unix.Setns(int(n.pidns.Fd()), unix.CLONE_NEWPID); err != nil {
				started <- fmt.Errorf("setns pid: %w", err)
				return
			}
		}
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.waitErr = cmd.Wait()
	}()
	err = <-started
	w.Close()
	if err != nil {
		r.Close()
		t.Fatalf("testnetns: starting %s: %v", name, err)
	}
	p.HostPID = cmd.Process.Pid
	go p.readLines(r)
	t.Cleanup(func() { p.Kill(t) })
	return p
}
