package istio_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analysis/analysistest"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/istio"
)

// TestAmbientWithoutNamespaces: without the Namespace of a targeted
// Service, MD323 cannot tell ambient from not and says so instead of
// reporting.
func TestAmbientWithoutNamespaces(t *testing.T) {
	in := `apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: shop}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: reviews-target, namespace: shop}
spec:
  targetRefs: [{group: "", kind: Service, name: reviews}]
  rules: [{to: [{operation: {methods: [GET]}}]}]
`
	file := filepath.Join(t.TempDir(), "in.yaml")
	if err := os.WriteFile(file, []byte(in), 0o600); err != nil {
		t.Fatal(err)
	}
	res := analysis.Run(context.Background(), analysistest.Load(t, file), analysis.RunConfig{Analyzers: istio.Analyzers()})
	for _, f := range res.Findings {
		if f.Code == "MD323" || f.Code == "MD260" {
			t.Errorf("finding without Namespaces: %s %s", f.Code, f.Message)
		}
	}
	var notes string
	for _, n := range res.NotChecked {
		if n.Code == "MD323" {
			notes += n.Reason
		}
	}
	if !strings.Contains(notes, "the input has no Namespace shop") {
		t.Errorf("MD323 notes %q lack the missing Namespace", notes)
	}
}

// TestAmbientRouteClientsUnknown: with a namespace whose workloads the
// input lacks, sidecar clients that would apply the VirtualService cannot
// be ruled out: MD260 says it did not judge.
func TestAmbientRouteClientsUnknown(t *testing.T) {
	extra := filepath.Join(t.TempDir(), "ns.yaml")
	if err := os.WriteFile(extra, []byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: front}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	snap := analysistest.Load(t, "testdata/ambient_l7route_positive.yaml", extra)
	res := analysis.Run(context.Background(), snap, analysis.RunConfig{Analyzers: istio.Analyzers()})
	for _, f := range res.Findings {
		if f.Code == "MD260" {
			t.Errorf("finding with clients unknown: %s", f.Message)
		}
	}
	var notes string
	for _, n := range res.NotChecked {
		if n.Code == "MD260" {
			notes += n.Reason
		}
	}
	if !strings.Contains(notes, "sidecar clients (which would apply it) cannot be ruled out") {
		t.Errorf("MD260 notes %q lack the unknown clients", notes)
	}
}
