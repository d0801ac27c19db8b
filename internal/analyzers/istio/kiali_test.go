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
	notCheckedOnly(t, "testdata/kiali_rules_unchecked.yaml", "does not list every Namespace", istio.ExportToNamespaceNotFound)
}

// TestWorkloadGroupSANeedsServiceAccounts: a WorkloadGroup of a namespace
// whose ServiceAccounts are not in the input is not judged, and the run
// says so.
func TestWorkloadGroupSANeedsServiceAccounts(t *testing.T) {
	notCheckedOnly(t, "testdata/kiali_workloadgroups_negative.yaml", "no ServiceAccounts of namespace other", istio.WorkloadGroupSANotFound)
}

// TestReferenceGrantNeedsNamespaceList: against an incomplete Namespace
// list a ReferenceGrant's from namespaces are not judged.
func TestReferenceGrantNeedsNamespaceList(t *testing.T) {
	notCheckedOnly(t, "testdata/kiali_gatewayapi_partial.yaml", "from[0].namespace of ReferenceGrant/backend/allow-frontend: the input does not list every Namespace", istio.ReferenceGrantNamespaceNotFound)
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

// notCheckedOnly runs analyzers on file and requires no finding and a
// not-checked note containing want: the input lacks what judging needs.
func notCheckedOnly(t *testing.T, file, want string, analyzers ...*analysis.Analyzer) {
	t.Helper()
	snap := analysistest.Load(t, file)
	res := analysis.Run(context.Background(), snap, analysis.RunConfig{Analyzers: analyzers})
	if len(res.Findings) != 0 {
		t.Fatalf("findings on an input too incomplete to judge: %+v", res.Findings)
	}
	var notes []string
	for _, n := range res.NotChecked {
		notes = append(notes, n.Reason)
	}
	if !strings.Contains(strings.Join(notes, "\n"), want) {
		t.Errorf("not-checked notes %q, want one containing %q", notes, want)
	}
}
