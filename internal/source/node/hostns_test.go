package node

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestFindHostNetns(t *testing.T) {
	root, ids, _ := syntheticNode(t)
	h, fallback, err := findHostNetns(root, "")
	if err != nil || fallback != nil || h != (hostNetns{id: ids["host"], path: filepath.Join(root, "1", "ns", "net"), from: "proc/1"}) {
		t.Errorf("from PID 1: %+v, %v, %v", h, fallback, err)
	}

	override := filepath.Join(root, "812", "ns", "net")
	h, fallback, err = findHostNetns(root, override)
	if err != nil || fallback != nil || h != (hostNetns{id: ids["pod"], path: override, from: override}) {
		t.Errorf("override: %+v, %v, %v", h, fallback, err)
	}
	if _, _, err := findHostNetns(root, filepath.Join(root, "nothing")); err == nil {
		t.Error("missing override: no error")
	}

	// No PID 1 netns (a pod without hostPID): the tool's own.
	empty := t.TempDir()
	self, err := statNetns("/proc/self/ns/net")
	if err != nil {
		t.Skipf("no /proc/self/ns/net here: %v", err)
	}
	h, fallback, err = findHostNetns(empty, "")
	if err != nil || h != (hostNetns{id: self, path: "/proc/self/ns/net", from: "self"}) {
		t.Errorf("fallback: %+v, %v", h, err)
	}
	if fallback == nil || !strings.Contains(fallback.Error(), "using the tool's own netns") {
		t.Errorf("fallback reason %v", fallback)
	}
}

func TestNetnsJobs(t *testing.T) {
	root, ids, want := syntheticNode(t)
	host := &hostNetns{id: ids["host"], path: "/run/netns/host", from: "/run/netns/host"}
	got := netnsJobs(want, host, root)
	p := func(pid string) string { return filepath.Join(root, pid, "ns", "net") }
	wantJobs := []netnsJob{
		{id: ids["host"], host: true, paths: []string{"/run/netns/host", p("1"), p("2"), p("960")}, pids: []int{1, 2, 960}},
		{id: ids["pod"], paths: []string{p("812"), p("830")}, pids: []int{812, 830}},
	}
	if !reflect.DeepEqual(got, wantJobs) {
		t.Errorf("jobs:\n got %+v\nwant %+v", got, wantJobs)
	}
	// Without a known host netns, every job is a plain one, by inode.
	got = netnsJobs(want, nil, root)
	wantJobs[0].host, wantJobs[0].paths = false, wantJobs[0].paths[1:]
	if ids["pod"].Inode < ids["host"].Inode {
		wantJobs[0], wantJobs[1] = wantJobs[1], wantJobs[0]
	}
	if !reflect.DeepEqual(got, wantJobs) {
		t.Errorf("jobs without host:\n got %+v\nwant %+v", got, wantJobs)
	}
}
