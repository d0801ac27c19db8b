package istio

import (
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/analysis/analysistest"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

func TestMembershipOf(t *testing.T) {
	snap := analysistest.Load(t, "testdata/inmesh/workloads.yaml")
	for _, c := range []struct {
		kind      string
		ns, name  string
		dataplane Dataplane
	}{
		{"Pod", "injected", "with-proxy", DataplaneSidecar},
		{"Pod", "injected", "without-proxy", DataplaneNone},
		{"Pod", "plain", "ztunnel-redirected", DataplaneAmbient},
		{"Pod", "injected", "manifest-in-injected", DataplaneSidecar},
		{"Pod", "plain", "manifest-opted-in", DataplaneSidecar},
		{"Pod", "plain", "manifest-plain", DataplaneNone},
		{"Deployment", "injected", "by-namespace", DataplaneSidecar},
		{"Deployment", "injected", "opted-out", DataplaneNone},
		{"Deployment", "injected", "host-network", DataplaneNone},
		{"Deployment", "plain", "opted-in", DataplaneSidecar},
		{"Deployment", "plain", "not-injected", DataplaneNone},
		{"Deployment", "revisioned", "by-revision", DataplaneSidecar},
		{"Deployment", "ambient", "by-ambient-namespace", DataplaneAmbient},
		{"Deployment", "ambient", "opted-out-of-ambient", DataplaneNone},
		{"Deployment", "absent", "unknown-namespace", DataplaneUnknown},
		{"Deployment", "plain", "annotation-only", DataplaneNone},
		{"Deployment", "plain", "pod-revision", DataplaneSidecar},
		{"Deployment", "disabled", "opted-in-disabled-namespace", DataplaneNone},
	} {
		gk := snapshot.KindPod
		if c.kind == "Deployment" {
			gk = snapshot.KindDeployment
		}
		o := snap.Get(gk, c.ns, c.name)
		if o == nil {
			t.Fatalf("%s %s/%s missing from the test input", c.kind, c.ns, c.name)
		}
		if got := MembershipOf(snap, o); got.Dataplane != c.dataplane || got.Why == "" {
			t.Errorf("%s %s/%s: %v (%s), want %v", c.kind, c.ns, c.name, got.Dataplane, got.Why, c.dataplane)
		}
	}
}
