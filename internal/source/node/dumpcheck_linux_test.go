//go:build linux

package node

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/netfilter"
	"github.com/meshdoctor/meshdoctor/internal/netns"
	"github.com/meshdoctor/meshdoctor/internal/testnetns"
)

func readJSON[T any](t *testing.T, path string) T {
	t.Helper()
	var v T
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

func readText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// nsDir is the folder of one netns in a node folder.
func nsDir(dir string, id NetnsID) string {
	return filepath.Join(dir, "netns", strconv.FormatUint(id.Inode, 10))
}

// wantProc checks the procs.json entry of a helper process: everything
// the helper said about itself, its cgroup line and what the project's
// cgroup parser reads from it.
func wantProc(t *testing.T, procs map[int]Proc, p *testnetns.Proc, comm string, ns NetnsID, cg *testnetns.Cgroup, id netns.Identity) Proc {
	t.Helper()
	pid, _ := strconv.Atoi(p.Ready["pid"])
	got, ok := procs[pid]
	if !ok {
		t.Errorf("%s (pid %d) not in procs.json", comm, pid)
		return Proc{}
	}
	start, _ := strconv.ParseUint(p.Ready["start"], 10, 64)
	if got.Comm != comm || got.PPID != 0 || got.StartTime != start || !slices.Equal(got.Cmdline, p.Cmdline) {
		t.Errorf("%s: got comm %q ppid %d start %d cmdline %q, want %q 0 (parent outside the node) %d %q",
			comm, got.Comm, got.PPID, got.StartTime, got.Cmdline, comm, start, p.Cmdline)
	}
	if got.Netns == nil || *got.Netns != ns {
		t.Errorf("%s: netns %+v, want %+v", comm, got.Netns, ns)
	}
	if cg != nil && !slices.Contains(got.Cgroup, cg.Line) {
		t.Errorf("%s: cgroup lines %q lack %q", comm, got.Cgroup, cg.Line)
	}
	ident, err := netns.ParseCgroup(got.Cgroup)
	if err != nil || ident != id {
		t.Errorf("%s: ParseCgroup = %+v, %v; want %+v", comm, ident, err, id)
	}
	return got
}

// wantLimits checks nofile and fds: set for proxies, absent for others.
func wantLimits(t *testing.T, got Proc, nofile *Limit, fds string) {
	t.Helper()
	if !reflect.DeepEqual(got.Nofile, nofile) {
		t.Errorf("%s: nofile %+v, want %+v", got.Comm, got.Nofile, nofile)
	}
	switch {
	case fds == "" && got.FDs != nil:
		t.Errorf("%s: fds %d, want none (not a proxy)", got.Comm, *got.FDs)
	case fds != "" && (got.FDs == nil || strconv.Itoa(*got.FDs) != fds):
		t.Errorf("%s: fds %v, want %s", got.Comm, got.FDs, fds)
	}
}

// wantRuleSet checks that a dumped iptables-save file holds exactly the
// tables, chains (with policies) and rules of the restore input want,
// rule texts compared without their counters.
func wantRuleSet(t *testing.T, path, want string) *netfilter.RuleSet {
	t.Helper()
	got := netfilter.ParseSave([]byte(readText(t, path)))
	if err := got.Err(); err != nil {
		t.Errorf("%s: %v", path, err)
	}
	w := netfilter.ParseSave([]byte(want))
	if !reflect.DeepEqual(tableNames(got), tableNames(w)) {
		t.Errorf("%s: tables %q, want %q", path, tableNames(got), tableNames(w))
	}
	for _, wt := range w.Tables {
		gt := got.Table("", wt.Name)
		if gt == nil {
			continue
		}
		if g, w := chainSummary(gt), chainSummary(wt); !slices.Equal(g, w) {
			t.Errorf("%s: table %s:\n got %q\nwant %q", path, wt.Name, g, w)
		}
	}
	return got
}

func tableNames(rs *netfilter.RuleSet) []string {
	var out []string
	for _, t := range rs.Tables {
		out = append(out, t.Name)
	}
	slices.Sort(out)
	return out
}

// chainSummary lists ":CHAIN POLICY" then the chain's rules, chain after
// chain, in the table's order.
func chainSummary(t *netfilter.Table) []string {
	var out []string
	for _, c := range t.Chains {
		policy := c.Policy
		if policy == "" {
			policy = "-"
		}
		out = append(out, ":"+c.Name+" "+policy)
		for _, r := range c.Rules {
			out = append(out, withoutCounters(r.Text))
		}
	}
	return out
}

// withoutCounters drops the "[packets:bytes] " of an iptables-save -c rule.
func withoutCounters(s string) string {
	if strings.HasPrefix(s, "[") {
		if _, rest, ok := strings.Cut(s, "] "); ok {
			return rest
		}
	}
	return s
}

// wantEmptyRuleSet checks a dump file that exists and holds no table.
func wantEmptyRuleSet(t *testing.T, path string) {
	t.Helper()
	if rs := netfilter.ParseSave([]byte(readText(t, path))); len(rs.Tables) != 0 || rs.Err() != nil {
		t.Errorf("%s: %d tables (%v), want none", path, len(rs.Tables), rs.Err())
	}
}

// ipv4 keeps the IPv4 addresses of a list, sorted.
func ipv4(addrs []string) []string {
	var out []string
	for _, a := range addrs {
		if !strings.Contains(a, ":") {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return out
}
