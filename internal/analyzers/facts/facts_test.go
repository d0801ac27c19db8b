package facts_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analysis/analysistest"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/facts"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// factOf runs a fact through a probe analyzer, as checks receive it.
func factOf(t *testing.T, snap *snapshot.Snapshot, f *analysis.Fact, opts *analysis.Options) any {
	t.Helper()
	var got any
	probe := &analysis.Analyzer{Code: "MD" + "999", Name: "probe", Severity: analysis.Info, Summary: "s", Doc: "d",
		Requires: []*analysis.Fact{f},
		Run:      func(p *analysis.Pass) error { got = p.ResultOf(f); return nil }}
	res := analysis.Run(context.Background(), snap, analysis.RunConfig{Analyzers: []*analysis.Analyzer{probe}, Options: opts})
	if len(res.Errors) > 0 {
		t.Fatalf("fact failed: %v", res.Errors)
	}
	return got
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "in.yaml")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMeshConfigFromConfigMapWithDefaults(t *testing.T) {
	snap := analysistest.Load(t, writeFile(t, `apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |-
    trustDomain: example.org
    enableAutoMtls: false
    unknownFutureField: 1
`))
	m := factOf(t, snap, facts.MeshConfig, nil).(*facts.Mesh)
	if m.TrustDomain() != "example.org" || m.AutoMTLS() || m.RootNamespace() != "istio-system" || m.Source != "ConfigMap ConfigMap/istio-system/istio" {
		t.Errorf("got trust %s autoMTLS %v root %s source %s", m.TrustDomain(), m.AutoMTLS(), m.RootNamespace(), m.Source)
	}
}

func TestMeshConfigDefaultsAndFlag(t *testing.T) {
	snap := analysistest.Load(t, writeFile(t, "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n"))
	m := factOf(t, snap, facts.MeshConfig, nil).(*facts.Mesh)
	if m.Source != "Istio defaults" || !m.AutoMTLS() || m.TrustDomain() != "cluster.local" {
		t.Errorf("defaults: %+v", m)
	}
	m = factOf(t, snap, facts.MeshConfig, &analysis.Options{MeshConfig: []byte("rootNamespace: mesh-root\n"), MeshConfigFile: "m.yaml"}).(*facts.Mesh)
	if m.RootNamespace() != "mesh-root" || m.Source != "--mesh-config m.yaml" {
		t.Errorf("flag: %s %s", m.RootNamespace(), m.Source)
	}
}

func TestComponentVersions(t *testing.T) {
	snap := analysistest.Load(t, writeFile(t, `apiVersion: apps/v1
kind: Deployment
metadata: {name: istiod, namespace: istio-system, labels: {app: istiod}}
spec:
  selector: {matchLabels: {app: istiod}}
  template:
    metadata: {labels: {app: istiod}}
    spec:
      containers: [{name: discovery, image: "docker.io/istio/pilot:1.24.2-distroless"}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: istio-cni-node, namespace: kube-system}
spec:
  selector: {matchLabels: {k8s-app: istio-cni-node}}
  template:
    metadata: {labels: {k8s-app: istio-cni-node}}
    spec:
      containers: [{name: install-cni, image: "registry.local/install-cni@sha256:abcd"}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: istio-cni-config, namespace: kube-system}
data: {CURRENT_AGENT_VERSION: "1.25.1"}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: ztunnel, namespace: istio-system, labels: {app.kubernetes.io/version: "1.26.0"}}
spec:
  selector: {matchLabels: {app: ztunnel}}
  template:
    metadata: {labels: {app: ztunnel}}
    spec:
      containers: [{name: istio-proxy, image: "ztunnel:latest"}]
`))
	v := factOf(t, snap, facts.ComponentVersions, nil).(*facts.Versions)
	if len(v.Istiod) != 1 || v.Istiod[0].Version.String() != "1.24.2-distroless" || v.Istiod[0].Version.Minor != 24 {
		t.Errorf("istiod %+v", v.Istiod)
	}
	if len(v.CNI) != 1 || v.CNI[0].Version.Minor != 25 || v.CNI[0].From != "ConfigMap ConfigMap/kube-system/istio-cni-config CURRENT_AGENT_VERSION" {
		t.Errorf("cni %+v", v.CNI)
	}
	if len(v.Ztunnel) != 1 || v.Ztunnel[0].Version.Minor != 26 || v.Ztunnel[0].From != "label app.kubernetes.io/version" {
		t.Errorf("ztunnel %+v", v.Ztunnel)
	}
}
