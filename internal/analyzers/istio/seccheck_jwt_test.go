package istio

import (
	"context"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analysis/analysistest"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// TestJWTChecksJudgeListedAbsence: files without any RequestAuthentication
// may have left them out, so MD307 and MD308 say they did not judge; a live
// read that listed RequestAuthentications in every namespace and found none
// is a fact, and both report.
func TestJWTChecksJudgeListedAbsence(t *testing.T) {
	loaded := analysistest.Load(t, "testdata/seccheck_jwt_unlisted.yaml")
	for _, tc := range []struct {
		name   string
		listed bool
		want   map[string]int
	}{
		{"files", false, map[string]int{}},
		{"live", true, map[string]int{"MD307": 1, "MD308": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := snapshot.NewBuilder()
			for _, o := range loaded.Objects() {
				b.Add(o)
			}
			if tc.listed {
				b.MarkListed(snapshot.KindRequestAuth, snapshot.AllNamespaces)
			}
			res := analysis.Run(context.Background(), b.Build(), analysis.RunConfig{Analyzers: []*analysis.Analyzer{AuthzJWTWithoutRequestAuthN, JWTClaimRouteWithoutRequestAuthN}})
			got := map[string]int{}
			for _, f := range res.Findings {
				got[f.Code]++
			}
			if len(got) != len(tc.want) || got["MD307"] != tc.want["MD307"] || got["MD308"] != tc.want["MD308"] {
				t.Errorf("findings %v, want %v", got, tc.want)
			}
			if !tc.listed && len(res.NotChecked) < 2 {
				t.Errorf("files without RequestAuthentications: want both checks to say they did not judge, got %v", res.NotChecked)
			}
		})
	}
}
