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
// Service, MD320 cannot tell ambient from not and says so instead of
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
		if f.Code == "MD320" || f.Code == "MD260" {
			t.Errorf("finding without Namespaces: %s %s", f.Code, f.Message)
		}
	}
	var notes string
	for _, n := range res.NotChecked {
		if n.Code == "MD320" {
			notes += n.Reason
		}
	}
	if !strings.Contains(notes, "the input has no Namespace shop") {
		t.Errorf("MD320 notes %q lack the missing Namespace", notes)
	}
}
