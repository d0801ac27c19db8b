package istio_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analysis/analysistest"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/istio"
)

// genRootPolicies writes a mesh of n namespaces with p sidecar Pods each, a
// namespace ALLOW policy per namespace, and r pairs of root-namespace DENY
// policies without selector (mesh-wide: each selects every workload).
func genRootPolicies(dir string, n, p, r int) (string, error) {
	var b strings.Builder
	doc := func(format string, args ...any) {
		b.WriteString("---\n")
		fmt.Fprintf(&b, format, args...)
	}
	doc("apiVersion: v1\nkind: Namespace\nmetadata: {name: istio-system}\n")
	for i := 0; i < n; i++ {
		ns := fmt.Sprintf("ns%d", i)
		doc("apiVersion: v1\nkind: Namespace\nmetadata: {name: %s, labels: {istio-injection: enabled}}\n", ns)
		doc("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app, namespace: %s}\nspec:\n  selector: {matchLabels: {app: app}}\n  template:\n    metadata: {labels: {app: app}}\n    spec: {containers: [{name: app, image: app:1, ports: [{containerPort: 8080}]}]}\n", ns)
		for j := 0; j < p; j++ {
			doc("apiVersion: v1\nkind: Pod\nmetadata: {name: app-%d, namespace: %s, labels: {app: app}}\nspec: {containers: [{name: app, image: app:1, ports: [{containerPort: 8080}]}, {name: istio-proxy, image: proxyv2:1}]}\n", j, ns)
		}
		doc("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: ns-allow, namespace: %s}\nspec:\n  rules:\n  - from: [{source: {namespaces: [%s]}}]\n", ns, ns)
	}
	for k := 0; k < r; k++ {
		doc("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: mesh-deny-%d, namespace: istio-system}\nspec:\n  action: DENY\n  rules:\n  - from: [{source: {namespaces: [bad%d]}}]\n", k, k)
		doc("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: mesh-jwt-%d, namespace: istio-system}\nspec:\n  action: DENY\n  rules:\n  - from: [{source: {notRequestPrincipals: ['*']}}]\n    to: [{operation: {paths: ['/admin%d']}}]\n", k, k)
	}
	doc("apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata: {name: jwt, namespace: ns0}\nspec:\n  jwtRules: [{issuer: https://x.example.com}]\n")
	path := filepath.Join(dir, fmt.Sprintf("root-%d-%d-%d.yaml", n, p, r))
	return path, os.WriteFile(path, []byte(b.String()), 0o644)
}

// BenchmarkSecurityRootPolicies times MD303, MD306 and MD307 (analysis
// only, not loading) as root-namespace policies grow: with selections
// memoised the time must not grow with their number.
func BenchmarkSecurityRootPolicies(b *testing.B) {
	var as []*analysis.Analyzer
	for _, a := range istio.Analyzers() {
		switch a.Code {
		case "MD303", "MD306", "MD307":
			as = append(as, a)
		}
	}
	for _, r := range []int{1, 64, 512} {
		b.Run(fmt.Sprintf("ns=500,pods=8,root=%d", r), func(b *testing.B) {
			path, err := genRootPolicies(b.TempDir(), 500, 8, r)
			if err != nil {
				b.Fatal(err)
			}
			snap := analysistest.Load(b, path)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				analysis.Run(context.Background(), snap, analysis.RunConfig{Analyzers: as})
			}
		})
	}
}
