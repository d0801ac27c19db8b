//go:build linux

package node

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"
)

// Collect over a synthetic proc tree, with no tool on PATH: the netns
// files are plain files, which setns refuses, so this checks the
// orchestration — procs.json, meta.json, one folder per netns with its
// meta.json, and one errors.txt line per failed step — without root.
func TestCollectSyntheticRoot(t *testing.T) {
	root, ids, procs := syntheticNode(t)
	t.Setenv("PATH", t.TempDir())
	dir := filepath.Join(t.TempDir(), "nodes", "n1")
	errs, err := Collect(context.Background(), Options{Proc: root, NodeName: "n1", Tool: "meshdoctor test"}, dir)
	if err != nil {
		t.Fatal(err)
	}

	if got := readJSON[[]Proc](t, filepath.Join(dir, "procs.json")); !reflect.DeepEqual(got, procs) {
		t.Errorf("procs.json:\n got %+v\nwant %+v", got, procs)
	}
	meta := readJSON[Meta](t, filepath.Join(dir, "meta.json"))
	host := ids["host"]
	want := Meta{Node: "n1", Collected: meta.Collected, Tool: "meshdoctor test", Kernel: "6.1.0-18-amd64",
		BootTime: "2026-11-19T08:00:00Z", ClockTicks: 100, HostNetns: &host, HostNetnsFrom: "proc/1", Backends: map[string]string{}}
	if !reflect.DeepEqual(meta, want) {
		t.Errorf("meta.json\n got %+v\nwant %+v", meta, want)
	}

	hostName, podName := strconv.FormatUint(ids["host"].Inode, 10), strconv.FormatUint(ids["pod"].Inode, 10)
	for _, c := range []struct {
		name string
		m    NetnsMeta
	}{
		{hostName, NetnsMeta{Inode: ids["host"].Inode, Dev: ids["host"].Dev, Host: true, PIDs: []int{1, 2, 960}}},
		{podName, NetnsMeta{Inode: ids["pod"].Inode, Dev: ids["pod"].Dev, PIDs: []int{812, 830}}},
	} {
		got := readJSON[NetnsMeta](t, filepath.Join(dir, "netns", c.name, "meta.json"))
		if !reflect.DeepEqual(got, c.m) {
			t.Errorf("netns %s meta.json %+v, want %+v", c.name, got, c.m)
		}
		// Nothing else: every step failed or was skipped.
		if entries, _ := os.ReadDir(filepath.Join(dir, "netns", c.name)); len(entries) != 1 {
			t.Errorf("netns %s holds %d files, want meta.json only", c.name, len(entries))
		}
	}

	notFound := func(tool string) string { return `exec: "` + tool + `": executable file not found in $PATH` }
	wantLines := []string{
		"backends/iptables-legacy: " + notFound("iptables-legacy"),
		"backends/iptables-nft: " + notFound("iptables-nft"),
		"backends/nft: " + notFound("nft"),
		"ip-route.txt: not collected in any netns: " + notFound("ip"),
		"ip-rule.txt: not collected in any netns: " + notFound("ip"),
		"ip6tables-save.legacy.txt: not collected in any netns: " + notFound("ip6tables-legacy-save"),
		"ip6tables-save.nft.txt: not collected in any netns: " + notFound("ip6tables-nft-save"),
		"ipset.txt: not collected in any netns: " + notFound("ipset"),
		"iptables-save.legacy.txt: not collected in any netns: " + notFound("iptables-legacy-save"),
		"iptables-save.nft.txt: not collected in any netns: " + notFound("iptables-nft-save"),
		"listen.txt: not collected in any netns: " + notFound("ss"),
		"netns/" + hostName + ": setns " + filepath.Join(root, "1", "ns", "net") + ": invalid argument",
		"netns/" + podName + ": setns " + filepath.Join(root, "812", "ns", "net") + ": invalid argument",
		"nft.txt: not collected in any netns: " + notFound("nft"),
		"procs.json: process 960: cmdline: read " + filepath.Join(root, "960", "cmdline") + ": is a directory",
	}
	slices.Sort(wantLines[11:13])
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	if !slices.Equal(got, wantLines) {
		t.Errorf("errors:\n%q\nwant\n%q", got, wantLines)
	}
	if text := readText(t, filepath.Join(dir, "errors.txt")); text != joinLines(wantLines) {
		t.Errorf("errors.txt:\n%s\nwant\n%s", text, joinLines(wantLines))
	}
}

func joinLines(l []string) string {
	var s string
	for _, x := range l {
		s += x + "\n"
	}
	return s
}
