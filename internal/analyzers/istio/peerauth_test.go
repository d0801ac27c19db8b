package istio

import (
	"context"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analysis/analysistest"
)

// TestPeerAuthDecidingPolicyFirst: Resolved.From names the policy that
// decided first, then those that applied but left the mode UNSET.
func TestPeerAuthDecidingPolicyFirst(t *testing.T) {
	s := analysistest.Load(t, "testdata/peerauth/inherit.yaml")
	var pa *PeerAuths
	probe := &analysis.Analyzer{Code: "MD" + "998", Name: "peerauth-probe", Severity: analysis.Info, Summary: "test", Doc: "test",
		Requires: []*analysis.Fact{PeerAuthFact},
		Run: func(p *analysis.Pass) error {
			pa = p.ResultOf(PeerAuthFact).(*PeerAuths)
			return nil
		}}
	if res := analysis.Run(context.Background(), s, analysis.RunConfig{Analyzers: []*analysis.Analyzer{probe}}); len(res.Errors) > 0 || pa == nil {
		t.Fatalf("errors %v", res.Errors)
	}
	names := func(r Resolved) []string {
		var out []string
		for _, o := range r.From {
			out = append(out, o.Key.Name)
		}
		return out
	}
	for _, tc := range []struct {
		labels map[string]string
		port   int32
		mode   MTLSMode
		from   []string
	}{
		{map[string]string{"app": "api"}, 8080, ModeStrict, []string{"default", "api-unset"}},
		{map[string]string{"app": "web"}, 8080, ModePermissive, []string{"web-port"}},
		{map[string]string{"app": "web"}, 9090, ModeStrict, []string{"default", "web-port"}},
		{map[string]string{"app": "db"}, 5432, ModeStrict, []string{"default"}},
	} {
		r := pa.Mode("shop", tc.labels, tc.port)
		if r.Mode != tc.mode || len(names(r)) != len(tc.from) {
			t.Errorf("%v port %d: mode %v from %v, want %v from %v", tc.labels, tc.port, r.Mode, names(r), tc.mode, tc.from)
			continue
		}
		for i, n := range names(r) {
			if n != tc.from[i] {
				t.Errorf("%v port %d: from %v, want %v (the deciding policy first)", tc.labels, tc.port, names(r), tc.from)
				break
			}
		}
	}
}
