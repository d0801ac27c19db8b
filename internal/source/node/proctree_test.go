package node

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// fakeProc is one process of a synthetic proc tree.
type fakeProc struct {
	pid, ppid int
	comm      string
	cmdline   []string
	start     uint64
	cgroup    []string
	// netns names a shared file the process's ns/net is a hard link to;
	// "" leaves ns/net out, as for a zombie.
	netns  string
	limits string // /proc/PID/limits, "" for none
	fds    int    // entries in fd/
}

// writeProcTree lays procs out under root like /proc, with /proc/stat's
// btime and the kernel release, and returns the ids of the netns files.
func writeProcTree(t testing.TB, root string, procs []fakeProc) map[string]NetnsID {
	t.Helper()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	write := func(path, content string) {
		must(os.MkdirAll(filepath.Dir(path), 0o755))
		must(os.WriteFile(path, []byte(content), 0o644))
	}
	write(filepath.Join(root, "stat"), "cpu  1 2 3 4\nbtime 1795075200\nprocesses 4242\n")
	write(filepath.Join(root, "sys", "kernel", "osrelease"), "6.1.0-18-amd64\n")
	ids := map[string]NetnsID{}
	for _, p := range procs {
		dir := filepath.Join(root, fmt.Sprint(p.pid))
		// Fields 3 to 22 after the comm: state, ppid, then zeros up to
		// starttime, then a few more as the kernel prints 52.
		stat := fmt.Sprintf("%d (%s) S %d %s %d %s\n", p.pid, p.comm, p.ppid, strings.Repeat("0 ", 17)[:33], p.start, strings.TrimSpace(strings.Repeat("0 ", 30)))
		write(filepath.Join(dir, "stat"), stat)
		var cmd string
		for _, a := range p.cmdline {
			cmd += a + "\x00"
		}
		write(filepath.Join(dir, "cmdline"), cmd)
		var cg string
		for _, l := range p.cgroup {
			cg += l + "\n"
		}
		write(filepath.Join(dir, "cgroup"), cg)
		if p.limits != "" {
			write(filepath.Join(dir, "limits"), p.limits)
		}
		for i := range p.fds {
			write(filepath.Join(dir, "fd", fmt.Sprint(i)), "")
		}
		if p.netns == "" {
			continue
		}
		shared := filepath.Join(root, ".netns", p.netns)
		if _, err := os.Stat(shared); err != nil {
			write(shared, "")
			var sb syscall.Stat_t
			must(syscall.Stat(shared, &sb))
			ids[p.netns] = NetnsID{Inode: sb.Ino, Dev: uint64(sb.Dev)}
		}
		must(os.MkdirAll(filepath.Join(dir, "ns"), 0o755))
		must(os.Link(shared, filepath.Join(dir, "ns", "net")))
	}
	return ids
}

// limitsFile is /proc/PID/limits as the kernel prints it.
func limitsFile(soft, hard string) string {
	return `Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max open files            ` + fmt.Sprintf("%-21s%-21s", soft, hard) + `files     
Max locked memory         8388608              8388608              bytes     
`
}
