package live

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestScopedGatewaysAndAgents: two kinds of cross-namespace reading a
// scoped read (-n amb) must do to answer as -A does about amb.
//
//   - Gateways of amb select the ingress gateway whose Deployment, pod and
//     credential Secrets live in istio-system (tied to the Gateways by the
//     pod template's labels only): the credential lookup (MD208, in the
//     workload's namespace) and the selector check (MD207) must neither
//     miss a Secret nor report a workload not found because istio-system
//     was not read.
//   - amb runs an ambient pod and no node agent runs anywhere: -A reports
//     the missing istio-cni agent and ztunnel (MD401, MD402); -n amb must
//     too, rather than "not checked" because the DaemonSets of the other
//     namespaces were not kept.
//
// Both with the default pages (every kind read whole) and with pages of 1
// object (the per-workload kinds listed namespace by namespace after the
// probes), istio-system is in the scope and the node agents are vouched
// for.
func TestScopedGatewaysAndAgents(t *testing.T) {
	c := start(t)
	c.installIstioCRDs(t)
	if refused := c.create(t, docs(t, filepath.Join("testdata", "scope-agents", "cluster.yaml"))); len(refused) > 0 {
		t.Fatalf("refused %v", refused)
	}
	c.makeBulk(t, 12)
	c.runPods(t)

	for _, pageSize := range []int64{0, 1} {
		full, scoped := c.read(t, "", pageSize), c.read(t, "amb", pageSize)
		t.Logf("pages of %d: requests -A %d, -n amb %d; listed by namespace %v", pageSize, full.Requests, scoped.Requests, scoped.ByNamespace)
		if len(scoped.Errors) > 0 || scoped.Widened != "" {
			t.Fatalf("pages of %d: -n amb: errors %v, widened %q", pageSize, scoped.Errors, scoped.Widened)
		}
		if scoped.Requests > full.Requests {
			t.Errorf("pages of %d: -n amb made %d requests, -A %d", pageSize, scoped.Requests, full.Requests)
		}
		var scope []string
		for _, sn := range scoped.Scope {
			scope = append(scope, sn.Name)
		}
		if !slices.Contains(scope, "istio-system") || slices.Contains(scope, bulkName(0)) {
			t.Errorf("pages of %d: -n amb scope %v: want istio-system, not %s", pageSize, scope, bulkName(0))
		}
		if pageSize == 1 && !slices.Contains(scoped.ByNamespace, schema.GroupKind{Kind: "Pod"}) {
			t.Errorf("pages of 1: Pods not listed namespace by namespace (%v): the probes are not exercised", scoped.ByNamespace)
		}
		if !scoped.NodeAgentsListed {
			t.Errorf("pages of %d: -n amb does not vouch for the node agents", pageSize)
		}
	}

	kubeconfig := c.env.KubeconfigFile(t)
	all, code, stderr := analyze(t, "--kubeconfig", kubeconfig, "--read-secrets", "-A")
	if code != 0 || len(all.InputErrors) > 0 {
		t.Fatalf("-A: exit %d, input errors %v, stderr %s", code, all.InputErrors, stderr)
	}
	inAmb, code, stderr := analyze(t, "--kubeconfig", kubeconfig, "--read-secrets", "-n", "amb")
	if code != 0 || len(inAmb.InputErrors) > 0 {
		t.Fatalf("-n amb: exit %d, input errors %v, stderr %s", code, inAmb.InputErrors, stderr)
	}
	want, got := inNamespace(all.keys(), "amb"), inAmb.keys()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("-n amb and -A differ about amb\n-n amb only:\n%s\n-A only:\n%s",
			strings.Join(minus(got, want), "\n"), strings.Join(minus(want, got), "\n"))
	}
	for _, d := range []string{"MD401 Pod/amb/app", "MD402 Pod/amb/app", "MD208 Gateway/amb/edge", "MD207 Gateway/amb/nowhere"} {
		if !hasKey(got, d) {
			t.Errorf("-n amb: %s not reported: %v", d, got)
		}
	}
	// The credential that exists is judged by its keys, the other as absent:
	// neither is "not found" for want of reading istio-system.
	var md208 []string
	for _, f := range inAmb.Findings {
		if f.Code == "MD208" {
			md208 = append(md208, f.Message)
		}
	}
	if msgs := strings.Join(md208, "\n"); !strings.Contains(msgs, "edge-cert") || !strings.Contains(msgs, "gone-cert") {
		t.Errorf("-n amb: MD208 should name edge-cert (no certificate keys) and gone-cert (absent):\n%s", msgs)
	}
	for _, n := range inAmb.NotChecked {
		switch n.Code {
		case "MD401", "MD402", "MD207", "MD208":
			t.Errorf("-n amb: %s not checked: %s", n.Code, n.Reason)
		}
	}
}
