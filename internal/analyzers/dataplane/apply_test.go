package dataplane

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/source/nodedump"
)

// netnsOrSkip creates a network namespace for the test, removed at the
// end. Without root or the tools it skips — except under CI=true, which
// installs them, where it fails.
func netnsOrSkip(t *testing.T, tools ...string) string {
	t.Helper()
	missing := ""
	if os.Geteuid() != 0 {
		missing = "not root"
	}
	for _, tool := range append([]string{"ip"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil && missing == "" {
			missing = tool + " not installed"
		}
	}
	if missing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("real network namespace needed: %s (CI=true installs the tools and runs as root)", missing)
		}
		t.Skipf("skipping: real network namespace needed: %s", missing)
	}
	b := make([]byte, 4)
	rand.Read(b)
	name := "mdtest-" + hex.EncodeToString(b)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	return name
}

// inNS runs a shell command in the test netns.
func inNS(t *testing.T, ns, cmd, stdin string) string {
	t.Helper()
	c := exec.Command("ip", "netns", "exec", ns, "sh", "-c", cmd)
	c.Stdin = strings.NewReader(stdin)
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("in %s: %s: %v\n%s", ns, cmd, err, out)
	}
	return string(out)
}

// TestHostRulesCleanupApplied installs incident (a)'s rules in a real
// netns standing for a node's own, reads them back as a user would
// (iptables-nft-save, ip rule show), applies MD501's remedy commands there,
// and reads again: the finding is gone and no dataplane check finds
// anything — the node's own rules (kube-proxy's, ISTIO_POSTRT) survive.
func TestHostRulesCleanupApplied(t *testing.T) {
	ns := netnsOrSkip(t, "iptables-nft-restore", "iptables-nft-save")
	rules, err := os.ReadFile("testdata/host_incident_a.txt")
	if err != nil {
		t.Fatal(err)
	}
	// ipset is not needed to show the cleanup: drop the set match.
	text := strings.ReplaceAll(string(rules), " -m set --match-set istio-inpod-probes-v4 dst", "")
	inNS(t, ns, "iptables-nft-restore", text)
	inNS(t, ns, "ip link set lo up && ip rule add fwmark 0x111/0xfff pref 32764 lookup 100", "")

	capture := func() *nodedumpSnapshot {
		save := inNS(t, ns, "iptables-nft-save", "")
		rule := inNS(t, ns, "ip rule show", "")
		return &nodedumpSnapshot{save: save, rule: rule}
	}
	before := capture()
	res := run(t, before.snap(t), IstioRulesInHostNetNS)
	if len(res.Findings) != 1 {
		t.Fatalf("before the fix: findings %v\n%s", lines(res), before.save)
	}
	remedy := res.Findings[0].Remedy
	for _, l := range strings.Split(remedy, "\n") {
		if strings.HasPrefix(l, "iptables") || strings.HasPrefix(l, "ip rule") || strings.HasPrefix(l, "nft ") {
			inNS(t, ns, l, "")
		}
	}
	after := capture()
	all := run(t, after.snap(t), IstioRulesInHostNetNS)
	for _, a := range Analyzers()[1:] {
		more := run(t, after.snap(t), a)
		all.Findings = append(all.Findings, more.Findings...)
	}
	if len(all.Findings) != 0 {
		t.Errorf("after the fix: findings %v\n%s\n%s", lines(all), after.save, after.rule)
	}
	for _, keep := range []string{":ISTIO_POSTRT", ":KUBE-POSTROUTING", "-A POSTROUTING -j ISTIO_POSTRT"} {
		if !strings.Contains(after.save, keep) {
			t.Errorf("the fix removed the node's own %q:\n%s", keep, after.save)
		}
	}
	if strings.Contains(after.save, "ISTIO_PRERT") || strings.Contains(after.rule, "0x111") {
		t.Errorf("in-pod state left:\n%s\n%s", after.save, after.rule)
	}
}

// nodedumpSnapshot is one capture of the test netns, as loose files.
type nodedumpSnapshot struct{ save, rule string }

func (c *nodedumpSnapshot) snap(t *testing.T) *snapshot.Snapshot {
	return build(t, nodedump.ReadLoose([]nodedump.LooseFile{{Name: "iptables-save", Data: []byte(c.save)}, {Name: "ip-rule", Data: []byte(c.rule)}}, nodedump.NetNSHost))
}
