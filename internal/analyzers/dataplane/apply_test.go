//go:build linux

package dataplane

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/source/nodedump"
	"github.com/meshdoctor/meshdoctor/internal/testnetns"
)

// TestHostRulesCleanupApplied installs incident (a)'s rules in a real
// netns standing for a node's own, reads them back as a user would
// (iptables-nft-save, ip rule show), applies MD501's remedy commands there,
// and reads again: the finding is gone and no dataplane check finds
// anything — the node's own rules (kube-proxy's, ISTIO_POSTRT) survive.
func TestHostRulesCleanupApplied(t *testing.T) {
	testnetns.Require(t, "ip", "iptables-nft-restore", "iptables-nft-save", "iptables-nft")
	ns := testnetns.NewNS(t, "node")
	rules, err := os.ReadFile("testdata/host_incident_a.txt")
	if err != nil {
		t.Fatal(err)
	}
	// ipset is not needed to show the cleanup: drop the set match.
	text := strings.ReplaceAll(string(rules), " -m set --match-set istio-inpod-probes-v4 dst", "")
	ns.RunInput(t, text, "iptables-nft-restore")
	ns.Run(t, "ip", "rule", "add", "fwmark", "0x111/0xfff", "pref", "32764", "lookup", "100")

	// capture reads the netns as a user would, with iptables-save and ip rule.
	capture := func() (snap *snapshot.Snapshot, save, rule string) {
		save, rule = ns.Run(t, "iptables-nft-save"), ns.Run(t, "ip", "rule", "show")
		loose := []nodedump.LooseFile{{Name: "iptables-save", Data: []byte(save)}, {Name: "ip-rule", Data: []byte(rule)}}
		return build(t, nodedump.ReadLoose(loose, nodedump.NetNSHost)), save, rule
	}
	before, save, _ := capture()
	res := run(t, before, IstioRulesInHostNetNS)
	if len(res.Findings) != 1 {
		t.Fatalf("before the fix: findings %v\n%s", lines(res), save)
	}
	for _, l := range strings.Split(res.Findings[0].Remedy, "\n") {
		if strings.HasPrefix(l, "iptables") || strings.HasPrefix(l, "ip rule") || strings.HasPrefix(l, "nft ") {
			ns.Run(t, "sh", "-c", l)
		}
	}
	after, save, rule := capture()
	all := analysis.Run(context.Background(), after, analysis.RunConfig{Analyzers: Analyzers()})
	if len(all.Findings) != 0 || len(all.Errors) != 0 {
		t.Errorf("after the fix: findings %v, errors %v\n%s\n%s", lines(all), all.Errors, save, rule)
	}
	for _, keep := range []string{":ISTIO_POSTRT", ":KUBE-POSTROUTING", "-A POSTROUTING -j ISTIO_POSTRT"} {
		if !strings.Contains(save, keep) {
			t.Errorf("the fix removed the node's own %q:\n%s", keep, save)
		}
	}
	if strings.Contains(save, "ISTIO_PRERT") || strings.Contains(rule, "0x111") {
		t.Errorf("in-pod state left:\n%s\n%s", save, rule)
	}
}

// TestCiliumOldChainsCleanupApplied installs a half-finished cilium-agent
// restart's nat rules (old and current chains both fed from POSTROUTING)
// in a real netns, applies MD512's commands and reads again: the old chain
// is gone, the current one and its feeder stay, and nothing is reported.
func TestCiliumOldChainsCleanupApplied(t *testing.T) {
	testnetns.Require(t, "ip", "iptables-nft-restore", "iptables-nft-save", "iptables-nft")
	ns := testnetns.NewNS(t, "node")
	rules, err := os.ReadFile("testdata/host_cilium_old.txt")
	if err != nil {
		t.Fatal(err)
	}
	ns.RunInput(t, string(rules), "iptables-nft-restore")
	capture := func() (*snapshot.Snapshot, string) {
		save := ns.Run(t, "iptables-nft-save")
		return build(t, nodedump.ReadLoose([]nodedump.LooseFile{{Name: "iptables-save", Data: []byte(save)}}, nodedump.NetNSHost)), save
	}
	before, save := capture()
	res := run(t, before, CiliumOldChainsLeft)
	if len(res.Findings) != 1 {
		t.Fatalf("before the fix: findings %v\n%s", lines(res), save)
	}
	for _, l := range strings.Split(res.Findings[0].Remedy, "\n") {
		if strings.HasPrefix(l, "iptables") {
			ns.Run(t, "sh", "-c", l)
		}
	}
	after, save := capture()
	all := analysis.Run(context.Background(), after, analysis.RunConfig{Analyzers: Analyzers()})
	if len(all.Findings) != 0 || len(all.Errors) != 0 {
		t.Errorf("after the fix: findings %v, errors %v\n%s", lines(all), all.Errors, save)
	}
	if strings.Contains(save, "OLD_CILIUM") || !strings.Contains(save, "-A POSTROUTING -m comment --comment \"cilium-feeder: CILIUM_POST_nat\" -j CILIUM_POST_nat") {
		t.Errorf("want the old chain gone and the current feeder kept:\n%s", save)
	}
}
