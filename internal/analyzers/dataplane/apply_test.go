//go:build linux

package dataplane

import (
	"context"
	"os"
	"slices"
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

// nftHostCapture reads a netns as `meshdoctor node` does for native
// nftables (nft list ruleset, no handles) and builds it as the host netns.
func nftHostCapture(t *testing.T, ns *testnetns.NS) (*snapshot.Snapshot, string) {
	t.Helper()
	ruleset := ns.Run(t, "nft", "list", "ruleset")
	return build(t, nodedump.ReadLoose([]nodedump.LooseFile{{Name: "nft.txt", Data: []byte(ruleset)}}, nodedump.NetNSHost)), ruleset
}

// TestHostNftAmbientCleanupApplied installs, with the real nft, the node's
// own native-nftables ambient table (inet istio-ambient-nat: probe set and
// the kubelet probe SNAT in postrouting) and then istio-cni's in-pod
// transaction as a misdirected in-pod write leaves it in the node's netns.
// MD501 names every in-pod nft table and chain; running exactly the nft
// commands of its remedy there leaves no finding from any dataplane check,
// the node's own table, postrouting chain and probe set stay, and the
// restart the remedy asks for (the host transaction again) brings the
// SNAT rule back without a finding.
func TestHostNftAmbientCleanupApplied(t *testing.T) {
	testnetns.Require(t, "ip", "nft")
	host, err := os.ReadFile("testdata/host_ambient_nft.nft")
	if err != nil {
		t.Fatal(err)
	}
	inpod, err := os.ReadFile("testdata/inpod_ambient_nft.nft")
	if err != nil {
		t.Fatal(err)
	}
	ns := testnetns.NewNS(t, "node")
	ns.RunInput(t, string(host), "nft", "-f", "-")
	ns.RunInput(t, string(inpod), "nft", "-f", "-")

	before, ruleset := nftHostCapture(t, ns)
	res := run(t, before, IstioRulesInHostNetNS)
	if len(res.Findings) != 1 {
		t.Fatalf("before the fix: findings %v\n%s", lines(res), ruleset)
	}
	f := res.Findings[0]
	t.Logf("remedy:\n%s", f.Remedy)
	var objects []string
	for _, l := range f.Locations {
		objects = append(objects, l.Object)
	}
	var want []string
	for _, tbl := range []string{"istio-ambient-nat", "istio-ambient-mangle", "istio-ambient-raw"} {
		for _, c := range []string{"prerouting", "output", "istio-prerouting", "istio-output"} {
			want = append(want, "node/host/"+tbl+"/"+c)
		}
	}
	slices.Sort(objects)
	slices.Sort(want)
	if !slices.Equal(objects, want) {
		t.Errorf("locations\n got %q\nwant %q", objects, want)
	}
	contains(t, "evidence", strings.Join(f.Evidence, "\n"), "table istio-ambient-mangle chain istio-prerouting (istio-ambient-pod",
		"table inet istio-ambient-nat chain postrouting (istio-ambient-host) has no rule")
	contains(t, "remedy", f.Remedy, "nft delete table inet istio-ambient-mangle", "nft delete table inet istio-ambient-raw",
		"nft flush chain inet istio-ambient-nat istio-output", "restart the istio-cni-node pod")
	for _, never := range []string{"istio-ambient-nat postrouting", "delete table inet istio-ambient-nat", "upgrade istio-cni to 1.24.4"} {
		if strings.Contains(f.Remedy, never) {
			t.Errorf("the remedy says %q (the node's own table and chain stay; nft mode is 1.28+):\n%s", never, f.Remedy)
		}
	}

	ran := 0
	for _, l := range strings.Split(f.Remedy, "\n") {
		if strings.HasPrefix(l, "nft ") {
			ns.Run(t, "sh", "-c", l)
			ran++
		}
	}
	if ran == 0 {
		t.Fatalf("no nft command in the remedy:\n%s", f.Remedy)
	}
	after, ruleset := nftHostCapture(t, ns)
	all := analysis.Run(context.Background(), after, analysis.RunConfig{Analyzers: Analyzers()})
	if len(all.Findings) != 0 || len(all.Errors) != 0 {
		t.Errorf("after the fix: findings %v, errors %v\n%s", lines(all), all.Errors, ruleset)
	}
	for _, keep := range []string{"table inet istio-ambient-nat {", "set istio-inpod-probes-v4 {", "elements = { 10.244.1.7 }", "chain postrouting {"} {
		if !strings.Contains(ruleset, keep) {
			t.Errorf("the fix removed the node's own %q:\n%s", keep, ruleset)
		}
	}
	for _, gone := range []string{"istio-ambient-mangle", "istio-ambient-raw", "istio-prerouting", "istio-output", "chain prerouting", "chain output"} {
		if strings.Contains(ruleset, gone) {
			t.Errorf("in-pod state %q left:\n%s", gone, ruleset)
		}
	}

	// The istio-cni-node restart the remedy asks for writes the host
	// transaction again: the SNAT is back and nothing is reported.
	ns.RunInput(t, string(host), "nft", "-f", "-")
	restarted, ruleset := nftHostCapture(t, ns)
	all = analysis.Run(context.Background(), restarted, analysis.RunConfig{Analyzers: Analyzers()})
	if len(all.Findings) != 0 || len(all.Errors) != 0 {
		t.Errorf("after the restart: findings %v, errors %v\n%s", lines(all), all.Errors, ruleset)
	}
	if !strings.Contains(ruleset, "snat ip to 169.254.7.127") {
		t.Errorf("the host transaction did not bring back the probe SNAT:\n%s", ruleset)
	}
}

// TestHostNftAmbientHostTableOnly: the node's own native-nftables ambient
// table alone, installed with the real nft, is no finding of any check.
func TestHostNftAmbientHostTableOnly(t *testing.T) {
	testnetns.Require(t, "ip", "nft")
	host, err := os.ReadFile("testdata/host_ambient_nft.nft")
	if err != nil {
		t.Fatal(err)
	}
	ns := testnetns.NewNS(t, "node")
	ns.RunInput(t, string(host), "nft", "-f", "-")
	snap, ruleset := nftHostCapture(t, ns)
	if !strings.Contains(ruleset, "snat ip to 169.254.7.127") {
		t.Fatalf("host table not installed as expected:\n%s", ruleset)
	}
	all := analysis.Run(context.Background(), snap, analysis.RunConfig{Analyzers: Analyzers()})
	if len(all.Findings) != 0 || len(all.Errors) != 0 {
		t.Errorf("findings %v, errors %v\n%s", lines(all), all.Errors, ruleset)
	}
}
