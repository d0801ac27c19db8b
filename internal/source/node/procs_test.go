package node

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// syntheticNode is a small synthetic proc tree: the host's init and a
// kernel thread, a pod's pause and envoy sharing a netns, a zombie, a
// process that vanished (its directory without files) and one whose
// cmdline cannot be read.
func syntheticNode(t testing.TB) (root string, ids map[string]NetnsID, want []Proc) {
	root = t.TempDir()
	podCgroup := "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1a2b3c4d_0000_1111_2222_333344445555.slice/cri-containerd-9f1.scope"
	ids = writeProcTree(t, root, []fakeProc{
		{pid: 1, comm: "systemd", cmdline: []string{"/sbin/init"}, start: 1, cgroup: []string{"0::/init.scope"}, netns: "host"},
		{pid: 2, comm: "kthreadd", start: 1, cgroup: []string{"0::/"}, netns: "host"},
		{pid: 812, ppid: 1, comm: "pause", cmdline: []string{"/pause"}, start: 4512, cgroup: []string{podCgroup}, netns: "pod"},
		{pid: 830, ppid: 1, comm: "envoy", cmdline: []string{"/usr/local/bin/envoy", "-c", "envoy.yaml"}, start: 4600,
			cgroup: []string{podCgroup}, netns: "pod", limits: limitsFile("1048576", "unlimited"), fds: 3},
		{pid: 900, ppid: 1, comm: "defunct", start: 5000, cgroup: []string{"0::/init.scope"}},
	})
	// Vanished between the listing and the reads.
	if err := os.Mkdir(filepath.Join(root, "950"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Unreadable cmdline (a directory here; EACCES or EIO on a real host).
	writeProcTree(t, root, []fakeProc{{pid: 960, ppid: 1, comm: "odd", start: 6000, cgroup: []string{"0::/x"}, netns: "host"}})
	if err := os.Remove(filepath.Join(root, "960", "cmdline")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "960", "cmdline"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Entries that are not processes.
	for _, name := range []string{"self", "sys", "0", "net"} {
		os.MkdirAll(filepath.Join(root, name), 0o755)
	}
	host, pod := ids["host"], ids["pod"]
	fds := 3
	want = []Proc{
		{PID: 1, Comm: "systemd", Cmdline: []string{"/sbin/init"}, StartTime: 1, Netns: &host, Cgroup: []string{"0::/init.scope"}},
		{PID: 2, Comm: "kthreadd", Cmdline: []string{}, StartTime: 1, Netns: &host, Cgroup: []string{"0::/"}},
		{PID: 812, PPID: 1, Comm: "pause", Cmdline: []string{"/pause"}, StartTime: 4512, Netns: &pod, Cgroup: []string{podCgroup}},
		{PID: 830, PPID: 1, Comm: "envoy", Cmdline: []string{"/usr/local/bin/envoy", "-c", "envoy.yaml"}, StartTime: 4600, Netns: &pod,
			Cgroup: []string{podCgroup}, Nofile: &Limit{Soft: 1048576, Hard: rlimInfinity}, FDs: &fds},
		{PID: 900, PPID: 1, Comm: "defunct", Cmdline: []string{}, StartTime: 5000, Cgroup: []string{"0::/init.scope"}},
		{PID: 960, PPID: 1, Comm: "odd", Cmdline: []string{}, StartTime: 6000, Netns: &host, Cgroup: []string{"0::/x"}},
	}
	return root, ids, want
}

func TestScanProcs(t *testing.T) {
	root, _, want := syntheticNode(t)
	res, err := scanProcs(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res.procs, want) {
		t.Errorf("procs:\n got %+v\nwant %+v", res.procs, want)
	}
	if len(res.errs) != 1 || !strings.HasPrefix(res.errs[0].Error(), "process 960: cmdline: read ") || res.more != 0 {
		t.Errorf("errors %v (+%d), want only process 960's cmdline", res.errs, res.more)
	}
}

func TestScanProcsErrorCap(t *testing.T) {
	root := t.TempDir()
	for pid := 1; pid <= maxProcErrors+5; pid++ {
		// A stat without "(comm)" is an error, not a vanished process.
		dir := filepath.Join(root, strconv.Itoa(pid))
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "stat"), []byte("garbage"), 0o644)
	}
	res, err := scanProcs(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.procs) != 0 || len(res.errs) != maxProcErrors || res.more != 5 {
		t.Errorf("%d procs, %d errors, %d more; want 0, %d, 5", len(res.procs), len(res.errs), res.more, maxProcErrors)
	}
}

func TestScanProcsCancelled(t *testing.T) {
	root, _, _ := syntheticNode(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := scanProcs(ctx, root); err != context.Canceled {
		t.Errorf("error %v, want context.Canceled", err)
	}
}
