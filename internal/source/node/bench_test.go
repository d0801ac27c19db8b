package node

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkScanProcs scans a synthetic tree of 5,000 processes shaped like
// a busy node: 100 pods of a pause, an app, pilot-agent and envoy (the
// proxies with limits and 40 descriptors), plus host daemons.
func BenchmarkScanProcs(b *testing.B) {
	root := b.TempDir()
	var procs []fakeProc
	pid := 1
	add := func(p fakeProc) {
		p.pid, pid = pid, pid+1
		p.ppid, p.start = 1, uint64(1000+pid)
		procs = append(procs, p)
	}
	for pod := range 100 {
		cg := fmt.Sprintf("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%08x_0000_1111_2222_333344445555.slice/cri-containerd-%064x.scope", pod, pod)
		ns := fmt.Sprint("pod", pod)
		add(fakeProc{comm: "pause", cmdline: []string{"/pause"}, cgroup: []string{cg}, netns: ns})
		add(fakeProc{comm: "app", cmdline: []string{"/app", "--port", "8080"}, cgroup: []string{cg}, netns: ns})
		add(fakeProc{comm: "pilot-agent", cmdline: []string{"/usr/local/bin/pilot-agent", "proxy", "sidecar"}, cgroup: []string{cg}, netns: ns,
			limits: limitsFile("1048576", "1048576"), fds: 40})
		add(fakeProc{comm: "envoy", cmdline: []string{"/usr/local/bin/envoy", "-c", "etc/istio/proxy/envoy-rev.json"}, cgroup: []string{cg}, netns: ns,
			limits: limitsFile("1048576", "1048576"), fds: 40})
	}
	for len(procs) < 5000 {
		add(fakeProc{comm: "worker", cmdline: []string{"/usr/sbin/daemon", "--worker"}, cgroup: []string{"0::/system.slice/daemon.service"}, netns: "host"})
	}
	writeProcTree(b, root, procs)
	b.ResetTimer()
	for b.Loop() {
		res, err := scanProcs(context.Background(), root)
		if err != nil || len(res.procs) != 5000 || len(res.errs) != 0 {
			b.Fatalf("%d procs, %v, %v", len(res.procs), res.errs, err)
		}
		if err := writeProcs(filepath.Join(b.TempDir(), "procs.json"), res.procs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/5000, "ns/proc")
}

// BenchmarkScanRealProc scans this machine's /proc, for the cost of the
// kernel's own files (a synthetic tree lives in the page cache).
func BenchmarkScanRealProc(b *testing.B) {
	n := 0
	for b.Loop() {
		res, err := scanProcs(context.Background(), "/proc")
		if err != nil {
			b.Skip(err)
		}
		n = len(res.procs)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/proc")
	b.ReportMetric(float64(n), "procs")
}
