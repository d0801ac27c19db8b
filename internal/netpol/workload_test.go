package netpol

import (
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/analysis/analysistest"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// Inputs without Pods: policies select controllers by their pod template,
// and a workload stands for its pods as a destination.
func TestWorkloads(t *testing.T) {
	f := load(t, Options{Engine: EngineCilium}, "k8s.yaml", "cilium.yaml")
	webDeploy := f.s.Get(snapshot.KindDeployment, "app", "web")
	apiDeploy := f.s.Get(snapshot.KindDeployment, "cil", "api")
	if got := f.e.SelectedWorkloads(f.s.Get(KindNetworkPolicy, "app", "web-allow")); len(got) != 1 || got[0] != webDeploy {
		t.Errorf("SelectedWorkloads(web-allow) = %v", got)
	}
	if got := f.e.SelectedWorkloads(f.s.Get(KindCiliumClusterwideNetworkPolicy, "", "deny-bad-host")); len(got) != 1 || got[0] != apiDeploy {
		t.Errorf("SelectedWorkloads(deny-bad-host) = %v", got)
	}
	if got := f.e.SelectedWorkloads(f.s.Get(KindNetworkPolicy, "app", "isolated")); got == nil || len(got) != 0 {
		t.Errorf("SelectedWorkloads(isolated) = %#v, want empty and non-nil", got)
	}
	check(t, f.e.Ingress(f.peer("app/client"), webDeploy, 8080, "TCP"),
		want{true, true, []string{"NetworkPolicy/app/web-allow .spec.ingress[0].from[0] allow port.spec.ingress[0].ports[0]"}})
	check(t, f.e.Ingress(f.e.PodPeer(apiDeploy), f.pod("cil/worker"), 22, "TCP"),
		want{true, true, []string{"CiliumNetworkPolicy/cil/worker .spec.ingress[0].fromEntities[0] allow"}})
}

// Reads declares every field the evaluator reads: verdicts are the same,
// to the letter, when only those fields are decoded.
func TestReadsSuffice(t *testing.T) {
	files := []string{"testdata/k8s.yaml", "testdata/cilium.yaml", "testdata/incident_d.yaml", "testdata/incident_d_fix_ipblock.yaml", "testdata/ambient.yaml", "testdata/ambient_fix.yaml", "testdata/cilium_config.yaml"}
	verdicts := func(s *snapshot.Snapshot) []string {
		opt, _ := DetectOptions(s)
		opt.CiliumEnforcement = EnforceDefault
		e, err := New(s, opt)
		if err != nil {
			t.Fatal(err)
		}
		pods := s.List(snapshot.KindPod)
		var out []string
		for _, src := range pods {
			for _, dst := range pods {
				for _, port := range []uint16{53, 8080, 9000, 15008} {
					c := e.Check(e.PodPeer(src), e.PodPeer(dst), port, "TCP")
					out = append(out, c.Reason)
					if c.Ingress != nil {
						out = append(out, c.Ingress.Reason)
					}
				}
			}
			out = append(out, e.Ingress(e.CiliumView(src, false, e.NodeAddress("node-kubenet")), pods[0], 8080, "TCP").Reason)
		}
		for _, gk := range snapshot.WorkloadKinds[1:] {
			for _, w := range s.List(gk) {
				out = append(out, e.Ingress(e.PodPeer(pods[0]), w, 8080, "TCP").Reason)
			}
		}
		for _, p := range e.Policies() {
			for _, w := range e.SelectedWorkloads(p) {
				out = append(out, p.Ref()+" selects "+w.Ref())
			}
		}
		return out
	}
	full := verdicts(analysistest.Load(t, files...))
	proj := verdicts(analysistest.LoadProjected(t, Reads, files...))
	if len(full) != len(proj) {
		t.Fatalf("%d verdicts, %d projected", len(full), len(proj))
	}
	for i := range full {
		if full[i] != proj[i] {
			t.Fatalf("verdict %d differs when decoding only Reads:\nfull:      %s\nprojected: %s", i, full[i], proj[i])
		}
	}
}
