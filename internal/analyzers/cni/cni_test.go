package cni_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analysis/analysistest"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/cni"
	"github.com/meshdoctor/meshdoctor/internal/decode"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/source/ciliumdump"
	"github.com/meshdoctor/meshdoctor/internal/source/files"
	"github.com/meshdoctor/meshdoctor/internal/source/logdump"
)

func TestAnalyzers(t *testing.T) {
	analysistest.Run(t, cni.Analyzers(), nil,
		"testdata/agents_positive.yaml", "testdata/agents_negative.yaml",
		"testdata/skew_positive.yaml", "testdata/skew_negative.yaml",
		"testdata/crio_positive.yaml", "testdata/crio_fixed.yaml",
		"testdata/migration_positive.yaml", "testdata/migration_ipblock.yaml", "testdata/migration_never.yaml",
		"testdata/ambient_policy.yaml", "testdata/ambient_policy_fixed.yaml",
		"testdata/migration_agent_everywhere.yaml",
		"testdata/cidrnodes_generic.yaml", "testdata/cidrnodes_kubeadm.yaml",
	)
}

func TestAgentMessagesNameTheCause(t *testing.T) {
	got := analysistest.Run(t, []*analysis.Analyzer{cni.IstioCNINotReady}, nil, "testdata/agents_positive.yaml")["testdata/agents_positive.yaml"]
	if len(got) != 2 {
		t.Fatalf("want 2 findings, got %d", len(got))
	}
	for _, f := range got {
		switch f.Subject.Name {
		case "worker-2":
			if !strings.Contains(f.Message, "CreateContainerConfigError") || !strings.Contains(strings.Join(f.Evidence, "\n"), "couldn't find key cni_network_config") {
				t.Errorf("worker-2: the waiting reason and message should be said: %s / %v", f.Message, f.Evidence)
			}
		case "worker-3":
			if !strings.Contains(f.Message, "no istio-cni node agent pod runs there") {
				t.Errorf("worker-3: %s", f.Message)
			}
		default:
			t.Errorf("unexpected subject %v", f.Subject)
		}
	}
}

// loadBundle reads a bundle folder of testdata: its cluster objects and its
// container logs and Cilium command output, as `meshdoctor analyze BUNDLE`
// does: decoding only the fields the project analyzers declare, if any.
func loadBundle(t *testing.T, dir string, project ...*analysis.Analyzer) *snapshot.Snapshot {
	t.Helper()
	dec, err := decode.New()
	if err != nil {
		t.Fatal(err)
	}
	var reads map[schema.GroupKind][]string
	if len(project) > 0 {
		var ok bool
		if reads, ok = analysis.Projections(project); !ok {
			t.Fatal("an analyzer does not declare its reads")
		}
	}
	p := filepath.Join("testdata", dir)
	res := (&files.Loader{Decoder: dec, Reads: reads}).Load(context.Background(), []string{p})
	b := snapshot.NewBuilder()
	for _, o := range res.Objects {
		b.Add(o)
	}
	members, err := files.BundleMembers(p, "logs")
	if err != nil {
		t.Fatal(err)
	}
	logs, errs := logdump.Read(members)
	for _, e := range append(res.Errors, errs...) {
		t.Errorf("input error: %v", e)
	}
	for _, l := range logs {
		b.AddLog(l)
	}
	members, err = files.BundleMembers(p, "cilium")
	if err != nil {
		t.Fatal(err)
	}
	outs, errs := ciliumdump.Read(members)
	for _, e := range errs {
		t.Errorf("input error: %v", e)
	}
	for _, c := range outs {
		b.AddCiliumOutput(c)
	}
	return b.Build()
}

func TestCNIAgentNetNSWarning(t *testing.T) {
	res := analysis.Run(context.Background(), loadBundle(t, "cnilog_bundle"), analysis.RunConfig{Analyzers: []*analysis.Analyzer{cni.CNIAgentSawSeveralNetNS}})
	if len(res.Errors) > 0 {
		t.Fatal(res.Errors)
	}
	var got []string
	for _, f := range res.Findings {
		got = append(got, fmt.Sprintf("%s %s %s:%d", f.Code, f.Subject, filepath.Base(f.Locations[0].File), f.Locations[0].Line))
		if f.Subject.Name == "cart-7d9f-2kq" && (!strings.Contains(f.Message, "node worker-7") || !strings.Contains(strings.Join(f.Evidence, "\n"), "logged 2 times")) {
			t.Errorf("the node and the repeat count should be said: %s %v", f.Message, f.Evidence)
		}
	}
	want := []string{
		"MD405 Pod/shop/cart-7d9f-2kq install-cni.log:2",
		"MD405 Pod/99999999-0000-4000-8000-00000000dead install-cni.log:5",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	clean := analysis.Run(context.Background(), loadBundle(t, "cnilog_clean"), analysis.RunConfig{Analyzers: []*analysis.Analyzer{cni.CNIAgentSawSeveralNetNS}})
	if len(clean.Findings) != 0 || len(clean.Skipped) != 0 {
		t.Errorf("a log without the warning: want no finding and not skipped, got %+v, skipped %v", clean.Findings, clean.Skipped)
	}
}

// MD412 on one Cilium cluster (cidrnodes_cluster.yaml): rules aimed at
// nodes are reported without policy-cidr-match-mode: nodes, with what
// proves them; nothing with the mode set, and nothing but a note without
// cilium-config.
func TestCIDRRuleMissesNodes(t *testing.T) {
	cluster := "testdata/cidrnodes_cluster.yaml"
	got := analysistest.Run(t, cni.Analyzers(), []string{cluster, "testdata/cidrnodes_config.yaml"},
		"testdata/cidrnodes_positive.yaml", "testdata/cidrnodes_negative.yaml")["testdata/cidrnodes_positive.yaml"]
	by := map[string]analysis.Finding{}
	for _, f := range got {
		if f.Code == "MD412" {
			by[f.Subject.Name] = f
		}
	}
	for name, want := range map[string][]string{
		"allow-apiserver": {
			"admits egress to 10.0.0.11/32, 10.0.0.12/32, aimed at node(s) cp-1, cp-2 (kube-apiserver runs on cp-1, cp-2)",
			"webhooks, operators and controllers time out",
			"10.0.0.11/32 is exactly the address of node cp-1",
			"10.0.0.11: InternalIP of node cp-1; Cilium's identity for it: kube-apiserver (7)",
			"policy-cidr-match-mode unset",
			"Cilium v1.16.3 (image quay.io/cilium/cilium:v1.16.3 of DaemonSet/kube-system/cilium)",
			"Pod/ops/webhook-0 → 10.0.0.11 as kube-apiserver on TCP/6443: dropped, isolated by NetworkPolicy/ops/allow-apiserver .spec.podSelector",
			`Set policy-cidr-match-mode: "nodes" in ConfigMap/kube-system/cilium-config`,
			"kind: CiliumNetworkPolicy\nmetadata:\n  name: allow-apiserver\n  namespace: ops\nspec:\n  endpointSelector: {\"matchLabels\":{\"app\":\"webhook\"}}\n  egress:\n  - toEntities: [kube-apiserver]\n    toPorts:\n    - ports:\n      - {port: \"6443\", protocol: TCP}\n",
		},
		"metrics-server": {
			"connections to those nodes are dropped (POLICY_DENIED). Affected: Pod/ops/metrics-server-0.",
			"its only ports are served by nodes — 10250 (kubelet) — and 10.0.0.0/24 holds no pod CIDR",
			"Pod/ops/metrics-server-0 → 10.0.0.21 as remote-node on TCP/10250: dropped",
			"add to the same spec's egress:\n\n  - toEntities: [kube-apiserver, remote-node, host]",
		},
		"edge": {
			"admits ingress from 10.0.0.21/32, 10.0.0.22/32",
			"(hostNetwork pods, traffic SNATed to a node address)",
			"10.0.0.21 as remote-node → Pod/ops/edge-0 on TCP/8443: dropped",
			"  - fromEntities: [remote-node, host]\n",
		},
		"batch-no-kubelet": {
			"denies egress to 10.0.0.22/32",
			"the traffic it means to deny is not denied",
			"add to the same spec's egressDeny:",
			"Pod/ops/batch-0 → 10.0.0.22 as remote-node on TCP/10250: admitted by CiliumClusterwideNetworkPolicy/batch-no-kubelet .spec.egress[0].toEntities[0]; the deny rule does not match",
		},
		"sync-apiserver": {
			"Deployment/jobs/sync → 10.0.0.11 as kube-apiserver on TCP/6443: dropped",
		},
		"apiserver-only": {
			"no pod or workload the rule applies to is in the input: the rule is judged alone",
			"time out reaching kube-apiserver unless another rule admits them.",
			"  - toEntities: [kube-apiserver]\n",
		},
	} {
		f, ok := by[name]
		if !ok {
			t.Errorf("%s: no MD412 finding", name)
			continue
		}
		wantAll(t, name, f.Message+"\n"+strings.Join(f.Evidence, "\n")+"\n"+f.Remedy, want...)
	}
	if f := by["allow-apiserver"]; len(f.Locations) != 2 || f.Locations[1].Field != ".spec.egress[0].to[1]" {
		t.Errorf("allow-apiserver: both ipBlocks should be located: %+v", f.Locations)
	}

	only := analysis.RunConfig{Analyzers: []*analysis.Analyzer{cni.CIDRRuleMissesNodes}}
	withMode := analysis.Run(context.Background(), analysistest.Load(t, "testdata/cidrnodes_positive.yaml", cluster, "testdata/cidrnodes_config_nodes.yaml"), only)
	if len(withMode.Findings) != 0 || len(withMode.Errors) != 0 {
		t.Errorf("policy-cidr-match-mode: nodes: want no finding, got %+v %v", withMode.Findings, withMode.Errors)
	}
	never := analysis.Run(context.Background(), analysistest.Load(t, "testdata/cidrnodes_positive.yaml", cluster, "testdata/cidrnodes_config_never.yaml"), only)
	if len(never.Findings) != 0 {
		t.Errorf("enforcement never: want no finding, got %+v", never.Findings)
	}
	noConfig := analysis.Run(context.Background(), analysistest.Load(t, "testdata/cidrnodes_positive.yaml", cluster), only)
	notes := fmt.Sprint(noConfig.NotChecked)
	if len(noConfig.Findings) != 0 || !strings.Contains(notes, "cilium-config is not in the input") {
		t.Errorf("without cilium-config: want no finding and a note, got %+v, %s", noConfig.Findings, notes)
	}
}

// Without CiliumNodes or agent pods every Node is Cilium's; the node
// address comes from a hostNetwork pod, the API server from Endpoints.
func TestCIDRRuleMissesNodesKubeadm(t *testing.T) {
	got := analysistest.Run(t, []*analysis.Analyzer{cni.CIDRRuleMissesNodes}, nil, "testdata/cidrnodes_kubeadm.yaml")["testdata/cidrnodes_kubeadm.yaml"]
	if len(got) != 1 {
		t.Fatalf("want 1 finding, got %d", len(got))
	}
	wantAll(t, "MD412 (kubeadm)", got[0].Message+"\n"+strings.Join(got[0].Evidence, "\n")+"\n"+got[0].Remedy,
		"(kube-apiserver runs on cp-a)",
		"its only ports are served by nodes — 443 (kube-apiserver) — and 192.168.10.0/24 holds no pod CIDR",
		"192.168.10.5: hostNetwork pod kube-system/kube-apiserver-cp-a of node cp-a",
		"no CiliumNode or cilium agent pod in the input: every Node is taken as managed by Cilium",
		"Pod/ops/operator-0 → 192.168.10.5 as kube-apiserver on TCP/443: dropped",
	)
}

// wantAll fails t for each of wants that text (what a finding of what says)
// lacks.
func wantAll(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s: want %q in\n%s", what, w, text)
		}
	}
}
