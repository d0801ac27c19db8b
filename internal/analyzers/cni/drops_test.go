package cni_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/cni"
)

var dropChecks = []*analysis.Analyzer{cni.UnattributedDrops, cni.DropsExplained}

// runDrops runs the drop checks on a testdata bundle and renders each
// finding as "code severity subject file:line".
func runDrops(t *testing.T, dir string) (analysis.Result, []string) {
	t.Helper()
	res := analysis.Run(context.Background(), loadBundle(t, dir, dropChecks...), analysis.RunConfig{Analyzers: dropChecks})
	if len(res.Errors) > 0 || len(res.Skipped) > 0 {
		t.Fatalf("errors %v, skipped %v", res.Errors, res.Skipped)
	}
	var got []string
	for _, f := range res.Findings {
		last := f.Locations[len(f.Locations)-1]
		got = append(got, fmt.Sprintf("%s %s %s %s:%d", f.Code, f.Severity, f.Subject, filepath.Base(last.File), last.Line))
	}
	return res, got
}

func TestCiliumDropsDuringMigration(t *testing.T) {
	res, got := runDrops(t, "drops_bundle")
	want := []string{
		// k1's pod, seen as world: three flows and one monitor line.
		"MD411 error NetworkPolicy/shop/api-from-web hubble-observe.txt:1",
		// k1's address (masqueraded), seen as remote-node.
		"MD411 error NetworkPolicy/shop/api-from-web hubble-observe.txt:4",
		"MD415 warning CiliumEndpoint/10.242.9.44 monitor-drops.txt:3",
		"MD415 info Pod/shop/api-1 hubble-observe.txt:5",
		"MD415 info Pod/shop/api-1 hubble-observe.txt:6",
		"MD415 info Pod/shop/api-1 hubble-observe.txt:7",
		// web-c2 runs on a Cilium node: seen as world only while the
		// ipcache lacked it, not a pod Cilium cannot see.
		"MD415 info Pod/shop/api-1 hubble-observe.txt:9",
	}
	sameFindings(t, got, want)
	for _, f := range res.Findings {
		text := f.Message + "\n" + strings.Join(f.Evidence, "\n") + "\n" + f.Remedy
		switch {
		case strings.Contains(text, "hubble-observe.txt:9:"):
			if !strings.Contains(text, "Pod/shop/web-c2 is a pod Cilium manages") || !strings.Contains(text, "ipcache had no entry") {
				t.Errorf("a managed pod seen as world should be explained as an ipcache miss:\n%s", text)
			}
		case f.Code == "MD411" && strings.Contains(text, "(world)"):
			wantAll(t, "MD411 (world)", text, "Pod/shop/web-k1", "4 drop events", "monitor-drops.txt", "pod CIDR 10.244.1.0/24", "no cilium agent pod runs on it", "ipBlock: {cidr: 10.244.1.0/24}", "spec.ingress[0].from[0]")
		case f.Code == "MD411":
			wantAll(t, "MD411 (masqueraded)", text, "10.0.0.21 is the address of node k1", "remote-node", "fromEntities: [remote-node]", `port: "8080"`)
		case f.Severity == analysis.Info && !strings.Contains(text, "NetworkPolicy/shop/api-from-web .spec.podSelector"):
			t.Errorf("a policy drop should name the policy that isolates the pod:\n%s", text)
		case f.Severity == analysis.Warning && !strings.Contains(text, "Stale or unroutable IP"):
			t.Errorf("the datapath drop should be explained:\n%s", text)
		}
	}
}

// TestCiliumDropsAfterTheFix: with the fix applied (the old pod CIDR and
// the masqueraded nodes admitted) a fresh capture shows the traffic
// forwarded; the only drop left is one Cilium counts but that loses
// nothing (multicast handled).
func TestCiliumDropsAfterTheFix(t *testing.T) {
	if _, got := runDrops(t, "drops_fixed"); len(got) != 0 {
		t.Errorf("want no finding, got:\n%s", strings.Join(got, "\n"))
	}
}

// TestCiliumDropsThatPredateTheFix: the old capture against the fixed
// policies. The drops of k1's traffic are history (the policies admit it
// now): no MD411. The remote-node drop from a Cilium node that the new
// CiliumNetworkPolicy admits becomes a warning: policy and datapath
// disagree.
func TestCiliumDropsThatPredateTheFix(t *testing.T) {
	res, got := runDrops(t, "drops_predate")
	want := []string{
		"MD415 warning CiliumEndpoint/10.242.9.44 monitor-drops.txt:3",
		"MD415 warning Pod/shop/api-1 hubble-observe.txt:5",
		"MD415 info Pod/shop/api-1 hubble-observe.txt:6",
		"MD415 info Pod/shop/api-1 hubble-observe.txt:7",
	}
	sameFindings(t, got, want)
	for _, f := range res.Findings {
		if f.Severity == analysis.Warning && f.Subject.Kind == "Pod" && !strings.Contains(f.Message, "CiliumNetworkPolicy/shop/api-from-masqueraded-nodes") {
			t.Errorf("the warning should name the policy that admits the traffic: %s", f.Message)
		}
	}
}

// TestCiliumDropsExampleEvidence: in the incident (d) example the endpoint
// list and the BPF policy map of the destination are quoted.
func TestCiliumDropsExampleEvidence(t *testing.T) {
	res, _ := runDrops(t, "../../../../examples/incidents/d-cilium-kubenet-migration/input")
	if len(res.Findings) != 1 || res.Findings[0].Code != "MD411" {
		t.Fatalf("want one MD411, got %+v", res.Findings)
	}
	wantAll(t, "MD411 (example d)", strings.Join(res.Findings[0].Evidence, "\n"),
		"endpoint-list.txt:7: endpoint 2731 (Pod/468205436992-default/wetown-java-6d9c7b5f4-x2k8p, identity 48213) has ingress policy enforcement Enabled",
		"bpf-policy-get.txt:5: endpoint 2731's policy map admits ingress on 8080/TCP only from",
		"not from world",
		"hubble-flows.json:1: 10.244.1.23:41822 (world) -> 10.242.2.149:8080",
	)
}

// sameFindings compares rendered findings in any order.
func sameFindings(t *testing.T, got, want []string) {
	t.Helper()
	got, want = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Fatalf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
