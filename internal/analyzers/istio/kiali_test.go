package istio_test

import (
	"context"
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analysis/analysistest"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/istio"
)

// TestSubsetWithoutLabelsSeverity: a label-less subset in a split is a
// warning; one no route splits on is info.
func TestSubsetWithoutLabelsSeverity(t *testing.T) {
	got := severities(t, "testdata/kiali_routes_positive.yaml", "MD221")
	if len(got) != 2 || got[0] != analysis.Warning || got[1] != analysis.Info {
		t.Errorf("MD221: %v, want warning then info", got)
	}
}

// TestExportToNeedsNamespaceList: without a complete Namespace list the
// exportTo check reports nothing and says why.
func TestExportToNeedsNamespaceList(t *testing.T) {
	snap := analysistest.Load(t, "testdata/kiali_rules_unchecked.yaml")
	res := analysis.Run(context.Background(), snap, analysis.RunConfig{Analyzers: []*analysis.Analyzer{istio.ExportToNamespaceNotFound}})
	if len(res.Findings) != 0 {
		t.Fatalf("findings on an incomplete Namespace list: %+v", res.Findings)
	}
	var notes []string
	for _, n := range res.NotChecked {
		notes = append(notes, n.Reason)
	}
	if !strings.Contains(strings.Join(notes, "\n"), "does not list every Namespace") {
		t.Errorf("not-checked notes %q", notes)
	}
}

// TestWorkloadGroupSANeedsServiceAccounts: a WorkloadGroup of a namespace
// whose ServiceAccounts are not in the input is not judged, and the run
// says so.
func TestWorkloadGroupSANeedsServiceAccounts(t *testing.T) {
	snap := analysistest.Load(t, "testdata/kiali_workloadgroups_negative.yaml")
	res := analysis.Run(context.Background(), snap, analysis.RunConfig{Analyzers: []*analysis.Analyzer{istio.WorkloadGroupSANotFound}})
	if len(res.Findings) != 0 {
		t.Fatalf("findings: %+v", res.Findings)
	}
	var notes []string
	for _, n := range res.NotChecked {
		notes = append(notes, n.Reason)
	}
	if !strings.Contains(strings.Join(notes, "\n"), "no ServiceAccounts of namespace other") {
		t.Errorf("not-checked notes %q", notes)
	}
}

// TestReferenceGrantNeedsNamespaceList: against an incomplete Namespace
// list a ReferenceGrant's from namespaces are not judged.
func TestReferenceGrantNeedsNamespaceList(t *testing.T) {
	snap := analysistest.Load(t, "testdata/kiali_gatewayapi_partial.yaml")
	res := analysis.Run(context.Background(), snap, analysis.RunConfig{Analyzers: []*analysis.Analyzer{istio.ReferenceGrantNamespaceNotFound}})
	if len(res.Findings) != 0 {
		t.Fatalf("findings on an incomplete Namespace list: %+v", res.Findings)
	}
	var notes []string
	for _, n := range res.NotChecked {
		notes = append(notes, n.Reason)
	}
	if !strings.Contains(strings.Join(notes, "\n"), "from[0].namespace of ReferenceGrant/backend/allow-frontend: the input does not list every Namespace") {
		t.Errorf("not-checked notes %q", notes)
	}
}

// TestGatewayClassNeedsClasses: without GatewayClasses in the input a
// Gateway's class is not reported missing.
func TestGatewayClassNeedsClasses(t *testing.T) {
	snap := analysistest.Load(t, "testdata/kiali_gatewayapi_unchecked.yaml")
	res := analysis.Run(context.Background(), snap, analysis.RunConfig{Analyzers: []*analysis.Analyzer{istio.K8sGatewayClassNotFound, istio.ReferenceGrantNamespaceNotFound}})
	if len(res.Findings) != 0 {
		t.Fatalf("findings without GatewayClasses or Namespaces: %+v", res.Findings)
	}
}
