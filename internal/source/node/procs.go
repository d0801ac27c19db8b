package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
)

// proxyComms are the processes whose open-files limit and descriptor count
// are read: an exhausted limit is a classic proxy failure, and reading
// them for every process would cost a directory listing each.
var proxyComms = map[string]bool{"envoy": true, "pilot-agent": true, "ztunnel": true}

// scanResult is what a /proc scan found.
type scanResult struct {
	procs []Proc
	// errs are failures other than a process vanishing: one per process
	// and file, at most maxProcErrors of them, with more counting the rest.
	errs []error
	more int
}

const maxProcErrors = 20

// scanProcs reads every process under root (a procfs mount or any tree
// laid out like one), in ascending pid order. A process that vanishes
// mid-scan is left out without a word.
func scanProcs(ctx context.Context, root string) (*scanResult, error) {
	pids, err := listPIDs(root)
	if err != nil {
		return nil, err
	}
	res := &scanResult{procs: make([]Proc, 0, len(pids))}
	var r fileReader
	for i, pid := range pids {
		if i%256 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		p, ok := readProc(&r, root, pid, res)
		if ok {
			res.procs = append(res.procs, p)
		}
	}
	return res, nil
}

// listPIDs returns the numeric entries of root, sorted.
func listPIDs(root string) ([]int, error) {
	d, err := os.Open(root)
	if err != nil {
		return nil, fmt.Errorf("listing processes: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("listing processes in %s: %w", root, err)
	}
	pids := make([]int, 0, len(names))
	for _, n := range names {
		if n == "" || n[0] < '1' || n[0] > '9' {
			continue
		}
		if pid, err := strconv.Atoi(n); err == nil {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	return pids, nil
}

// readProc reads one process. ok is false when it vanished before its stat,
// cmdline and cgroup were read: a half-read process would look like a host
// process without a cgroup.
func readProc(r *fileReader, root string, pid int, res *scanResult) (p Proc, ok bool) {
	dir := filepath.Join(root, strconv.Itoa(pid))
	fail := func(what string, err error) {
		if len(res.errs) < maxProcErrors {
			res.errs = append(res.errs, fmt.Errorf("process %d: %s: %w", pid, what, err))
		} else {
			res.more++
		}
	}
	b, err := r.read(dir + "/stat")
	if err != nil {
		if !vanished(err) {
			fail("stat", err)
		}
		return Proc{}, false
	}
	st, err := parseStat(b)
	if err != nil {
		fail("stat", err)
		return Proc{}, false
	}
	p = Proc{PID: pid, PPID: st.ppid, Comm: st.comm, StartTime: st.startTime}
	if b, err = r.read(dir + "/cmdline"); err != nil {
		if vanished(err) {
			return Proc{}, false
		}
		fail("cmdline", err)
	}
	p.Cmdline = splitNul(b)
	if b, err = r.read(dir + "/cgroup"); err != nil {
		if vanished(err) {
			return Proc{}, false
		}
		fail("cgroup", err)
	}
	p.Cgroup = splitLines(b)
	// A zombie has no namespaces left: ENOENT here is not a vanished
	// process, and the entry stays without a netns, as the format allows.
	var sb syscall.Stat_t
	if err := syscall.Stat(dir+"/ns/net", &sb); err == nil {
		p.Netns = &NetnsID{Inode: sb.Ino, Dev: uint64(sb.Dev)}
	} else if !vanished(err) {
		fail("ns/net", err)
	}
	if proxyComms[p.Comm] {
		readProxyLimits(r, dir, &p, fail)
	}
	return p, true
}

// readProxyLimits adds the open-files limit and descriptor count.
func readProxyLimits(r *fileReader, dir string, p *Proc, fail func(string, error)) {
	if b, err := r.read(dir + "/limits"); err == nil {
		if l, err := parseNofile(b); err == nil {
			p.Nofile = &l
		} else {
			fail("limits", err)
		}
	} else if !vanished(err) {
		fail("limits", err)
	}
	n, err := countDir(dir + "/fd")
	if err == nil {
		p.FDs = &n
	} else if !vanished(err) {
		fail("fd", err)
	}
}

// countDir counts a directory's entries without sorting or stat-ing them.
func countDir(path string) (int, error) {
	d, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer d.Close()
	n := 0
	for {
		names, err := d.Readdirnames(1024)
		n += len(names)
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
	}
}
