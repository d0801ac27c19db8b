//go:build linux

package node

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestCollectRealNode builds a node in real namespaces (see realNode) and
// collects it from inside, where PID 1 sits in the host-like netns.
func TestCollectRealNode(t *testing.T) {
	n := newRealNode(t)

	t.Run("default", func(t *testing.T) {
		before := time.Now().Add(-time.Second)
		dir := n.collect(t, nil)
		after := time.Now().Add(time.Second)
		checkMeta(t, n, dir, before, after)
		collector := checkProcs(t, n, dir)
		checkNetnsMeta(t, n, dir, collector)
		checkRules(t, n, dir)
		checkConntrack(t, n, dir)
		checkRoutingAndSockets(t, n, dir)

		var want []string
		if _, err := exec.LookPath("ipset"); err != nil {
			want = append(want, `ipset.txt: not collected in any netns: exec: "ipset": executable file not found in $PATH`)
		}
		checkErrors(t, dir, want)
		for _, id := range []NetnsID{n.hostID, n.podAID, n.podBID} {
			_, err := os.Stat(filepath.Join(nsDir(dir, id), "ipset.txt"))
			if present := err == nil; present != (len(want) == 0) {
				t.Errorf("netns %d: ipset.txt present %v with ipset installed %v", id.Inode, present, len(want) == 0)
			}
		}
	})

	t.Run("host netns override, missing and failing tools", func(t *testing.T) {
		// PATH without ip6tables-legacy-save and nft, and an ipset that
		// fails as one without CAP_NET_ADMIN does.
		bin := t.TempDir()
		for _, tool := range collectorTools {
			if tool == "ip6tables-legacy-save" || tool == "nft" {
				continue
			}
			p, _ := exec.LookPath(tool)
			if err := os.Symlink(p, filepath.Join(bin, tool)); err != nil {
				t.Fatal(err)
			}
		}
		failing := "#!/bin/sh\necho 'ipset v7.17: Kernel error received: Operation not permitted' >&2\nexit 1\n"
		if err := os.WriteFile(filepath.Join(bin, "ipset"), []byte(failing), 0o755); err != nil {
			t.Fatal(err)
		}
		dir := n.collect(t, []string{"PATH=" + bin}, "-host-netns", n.podB.Path)

		meta := readJSON[Meta](t, filepath.Join(dir, "meta.json"))
		if meta.HostNetns == nil || *meta.HostNetns != n.podBID || meta.HostNetnsFrom != n.podB.Path {
			t.Errorf("host netns %+v from %q, want pod B's %+v from %q", meta.HostNetns, meta.HostNetnsFrom, n.podBID, n.podB.Path)
		}
		if _, ok := meta.Backends["nft"]; ok || len(meta.Backends) != 2 {
			t.Errorf("backends %q, want iptables-nft and iptables-legacy only", meta.Backends)
		}
		for id, host := range map[NetnsID]bool{n.hostID: false, n.podAID: false, n.podBID: true} {
			d := nsDir(dir, id)
			if m := readJSON[NetnsMeta](t, filepath.Join(d, "meta.json")); m.Host != host {
				t.Errorf("netns %d: host %v, want %v", id.Inode, m.Host, host)
			}
			for _, f := range []string{"ip6tables-save.legacy.txt", "nft.txt", "ipset.txt"} {
				if _, err := os.Stat(filepath.Join(d, f)); !os.IsNotExist(err) {
					t.Errorf("netns %d: %s written (%v), want no file for a step not done", id.Inode, f, err)
				}
			}
			for _, f := range []string{"iptables-save.legacy.txt", "ip6tables-save.nft.txt", "conntrack.txt", "listen.txt"} {
				if _, err := os.Stat(filepath.Join(d, f)); err != nil {
					t.Errorf("netns %d: %v", id.Inode, err)
				}
			}
		}
		ipsetFailed := func(id NetnsID) string {
			return "netns/" + strconv.FormatUint(id.Inode, 10) + "/ipset.txt: ipset save: exit status 1: ipset v7.17: Kernel error received: Operation not permitted"
		}
		want := []string{
			`backends/nft: exec: "nft": executable file not found in $PATH`,
			`ip6tables-save.legacy.txt: not collected in any netns: exec: "ip6tables-legacy-save": executable file not found in $PATH`,
			ipsetFailed(n.hostID), ipsetFailed(n.podAID), ipsetFailed(n.podBID),
			`nft.txt: not collected in any netns: exec: "nft": executable file not found in $PATH`,
		}
		slices.Sort(want[2:5])
		checkErrors(t, dir, want)
	})
}
