package istio_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analysis/analysistest"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/istio"
)

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test inputs: %v", err)
	}
	analysistest.Run(t, istio.Analyzers(), nil, files...)
}

// TestUnknownIsNotMissing: with only Istio config in the input, hosts and
// pods cannot be judged; the checks say so instead of reporting.
func TestUnknownIsNotMissing(t *testing.T) {
	snap := analysistest.Load(t, "testdata/routing_unchecked.yaml")
	res := analysis.Run(context.Background(), snap, analysis.RunConfig{Analyzers: istio.Analyzers()})
	if len(res.Findings) != 0 {
		t.Fatalf("findings on unknown input: %+v", res.Findings)
	}
	notes := map[string]string{}
	for _, n := range res.NotChecked {
		notes[n.Code] += n.Reason + "\n"
	}
	for code, want := range map[string]string{
		"MD201": "the input has no Services of namespace bookinfo",
		"MD203": "the input has no Services of namespace bookinfo",
	} {
		if !strings.Contains(notes[code], want) {
			t.Errorf("%s not-checked notes %q lack %q", code, notes[code], want)
		}
	}
}

// TestSeverityFollowsConsequence: MD302 is a warning only where the proxy
// does not verify at all; MD206 is an error only when the mismatched routes
// are the VirtualService's only routes.
func TestSeverityFollowsConsequence(t *testing.T) {
	sev := func(file, code string) []analysis.Severity { return severities(t, file, code) }
	if got := sev("testdata/drca_old_istiod.yaml", "MD302"); len(got) != 1 || got[0] != analysis.Warning {
		t.Errorf("MD302 with istiod 1.19: %v, want one warning", got)
	}
	if got := sev("testdata/drca_positive.yaml", "MD302"); len(got) != 2 || got[0] != analysis.Info {
		t.Errorf("MD302 without istiod in the input: %v, want info", got)
	}
	if got := sev("testdata/gateway_binding_mixed.yaml", "MD206"); len(got) != 1 || got[0] != analysis.Warning {
		t.Errorf("MD206 with other routes still serving: %v, want one warning", got)
	}
	if got := sev("testdata/gateway_binding_positive.yaml", "MD206"); len(got) != 2 || got[0] != analysis.Error || got[1] != analysis.Error {
		t.Errorf("MD206 with only mismatched routes: %v, want errors", got)
	}
}

// TestSecuritySeverity: the allow-nothing policy is Info alone and Warning
// when DENY rules show traffic is expected; a selector on Gateway API pods
// is Info, and Warning on a waypoint.
func TestSecuritySeverity(t *testing.T) {
	sev := func(file, code string) []analysis.Severity { return severities(t, file, code) }
	if got := sev("testdata/seccheck_severity_positive.yaml", "MD305"); len(got) != 1 || got[0] != analysis.Info {
		t.Errorf("MD305 lockdown alone: %v, want info", got)
	}
	if got := sev("testdata/seccheck_severity_positive.yaml", "MD315"); len(got) != 1 || got[0] != analysis.Warning {
		t.Errorf("MD315 on a waypoint: %v, want warning", got)
	}
	if got := sev("testdata/seccheck_selector_positive.yaml", "MD315"); len(got) != 2 || got[0] != analysis.Info {
		t.Errorf("MD315 on a gateway with the default flag: %v, want info", got)
	}
	if got := sev("testdata/seccheck_authz_positive.yaml", "MD305"); len(got) != 2 || got[0] != analysis.Warning || got[1] != analysis.Warning {
		t.Errorf("MD305 with DENY rules beside it, and DENY without rules: %v, want warnings", got)
	}
}

// severities runs every Istio check on file (as TestGolden does) and
// returns the severities of the findings with code, in report order.
func severities(t *testing.T, file, code string) []analysis.Severity {
	t.Helper()
	var out []analysis.Severity
	for _, f := range analysistest.Run(t, istio.Analyzers(), nil, file)[file] {
		if f.Code == code {
			out = append(out, f.Severity)
		}
	}
	return out
}

// TestAutoMTLSOffFromMeshConfigFile: --mesh-config replaces the istio
// ConfigMap (which has auto mTLS on here); MD317 points at the line of the
// file that turns it off.
func TestAutoMTLSOffFromMeshConfigFile(t *testing.T) {
	snap := analysistest.Load(t, "testdata/seccheck_automtls_on_negative.yaml")
	opts := &analysis.Options{MeshConfig: []byte("# mesh\nenableAutoMtls: false\n"), MeshConfigFile: "mesh.yaml"}
	res := analysis.Run(context.Background(), snap, analysis.RunConfig{Analyzers: []*analysis.Analyzer{istio.AutoMTLSOffPlaintextToStrict}, Options: opts})
	if len(res.Errors) != 0 || len(res.Findings) != 1 {
		t.Fatalf("want one finding, got %+v (errors %v)", res.Findings, res.Errors)
	}
	f := res.Findings[0]
	if loc := f.Locations[0]; loc.File != "mesh.yaml" || loc.Line != 2 || !loc.Exact {
		t.Errorf("location %+v, want mesh.yaml:2 exact", loc)
	}
	if f.Subject.Kind != "Service" || f.Subject.Name != "cart" || !strings.Contains(f.Remedy, "host: cart.shop.svc.cluster.local") {
		t.Errorf("finding on %s with remedy %q", f.Subject, f.Remedy)
	}
}
