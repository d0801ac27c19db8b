package kube

import (
	"context"
	"slices"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/decode"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/source/files"
)

// objects decodes a multi-document YAML as the live reader decodes LIST
// pages (typed where meshdoctor has a type).
func objects(t *testing.T, y string) []*snapshot.Object {
	t.Helper()
	dec, err := decode.New()
	if err != nil {
		t.Fatal(err)
	}
	res := (&files.Loader{Decoder: dec}).NewStreamReader().Read("test.yaml", []byte(y))
	if len(res.Errors) > 0 {
		t.Fatalf("decoding: %v", res.Errors)
	}
	return res.Objects
}

func TestReferences(t *testing.T) {
	objs := objects(t, `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: a}
spec:
  hosts: [reviews.example.com]
  gateways: [istio-system/public, mesh, edge]
  http:
  - route:
    - destination: {host: reviews.b.svc.cluster.local, subset: v1}
    - destination: {host: ratings.c.svc}
  - mirror: {host: "*.d.svc.cluster.local"}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ap, namespace: a}
spec:
  rules:
  - from:
    - source:
        principals: [cluster.local/ns/e/sa/caller, "*/ns/f/sa/other"]
        namespaces: [g]
        notNamespaces: [h]
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: ra, namespace: a}
spec:
  jwtRules:
  - issuer: https://issuer.example.com
    jwksUri: http://jwks.i.svc:8080/keys
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: route, namespace: a}
spec:
  parentRefs:
  - {name: gw, namespace: j}
  rules:
  - backendRefs:
    - {name: svc, namespace: k, port: 80}
---
apiVersion: v1
kind: Namespace
metadata:
  name: a
  labels: {istio.io/use-waypoint-namespace: l}
---
apiVersion: v1
kind: Service
metadata: {name: ext, namespace: a}
spec: {type: ExternalName, externalName: db.m.svc.cluster.local}
`)
	var got []string
	for _, o := range objs {
		got = append(got, references(o)...)
	}
	slices.Sort(got)
	got = slices.Compact(got)
	for _, want := range strings.Fields("b c d e f g h i istio-system j k l m") {
		if !slices.Contains(got, want) {
			t.Errorf("namespace %s not found among the references %v", want, got)
		}
	}
	for _, not := range []string{"a", "example.com", "reviews", "svc", "cluster.local", "mesh"} {
		if slices.Contains(got, not) {
			t.Errorf("%q taken for a referenced namespace: %v", not, got)
		}
	}
}

func TestScopedGateways(t *testing.T) {
	objs := objects(t, `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: public, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: unused, namespace: istio-system}
spec:
  selector: {istio: other}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: edge, namespace: a}
spec:
  selector: {app: edge}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: a}
spec:
  hosts: [x.example.com]
  gateways: [istio-system/public, mesh, istio-system/missing]
  http: [{route: [{destination: {host: x}}]}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: anywhere, namespace: wide}
spec:
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
`)
	gws, widen := scopedGateways("a", objs)
	if widen != "" {
		t.Fatalf("widened: %s", widen)
	}
	var keys []string
	for _, g := range gws {
		keys = append(keys, g.key+" "+g.selector["istio"]+g.selector["app"])
	}
	if want := []string{"a/edge edge", "istio-system/public ingressgateway"}; !slices.Equal(keys, want) {
		t.Errorf("gateways of a: %v, want %v", keys, want)
	}
	if _, widen := scopedGateways("wide", objs); !strings.Contains(widen, "wide/anywhere") {
		t.Errorf("a Gateway without selector does not widen the read: %q", widen)
	}
}

func TestScopeFromObjects(t *testing.T) {
	objs := objects(t, `
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-control}
data:
  mesh: |
    rootNamespace: mesh-root
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cilium-config, namespace: cilium}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: istiod-canary, namespace: istiod-ns}
spec:
  selector: {matchLabels: {app: istiod}}
  template: {metadata: {labels: {app: istiod}}, spec: {containers: [{name: discovery, image: pilot}]}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: istio-sidecar-injector}
webhooks:
- name: sidecar-injector.istio.io
  clientConfig: {service: {name: istiod, namespace: webhook-ns, path: /inject}}
  sideEffects: None
  admissionReviewVersions: [v1]
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: cert-manager-webhook}
webhooks:
- name: webhook.cert-manager.io
  clientConfig: {service: {name: cert-manager, namespace: cert-manager}}
  sideEffects: None
  admissionReviewVersions: [v1]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: cni, namespace: cni-ns}
spec:
  selector: {matchLabels: {k8s-app: cni}}
  template: {metadata: {labels: {k8s-app: cni}}, spec: {containers: [{name: install-cni, image: cni}]}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: node-exporter, namespace: monitoring}
spec:
  selector: {matchLabels: {app: node-exporter}}
  template: {metadata: {labels: {app: node-exporter}}, spec: {containers: [{name: exporter, image: exporter}]}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: dr, namespace: other}
spec: {host: reviews.unrelated.svc.cluster.local}
`)
	plan := &scopePlan{why: map[string]string{}}
	scopeFromObjects(plan, "a", objs)
	for _, want := range []string{"istio-control", "mesh-root", "cilium", "istiod-ns", "webhook-ns", "cni-ns"} {
		if plan.why[want] == "" {
			t.Errorf("system namespace %s not found: %v", want, plan.why)
		}
	}
	for _, not := range []string{"cert-manager", "monitoring", "unrelated", "other"} {
		if plan.why[not] != "" {
			t.Errorf("namespace %s added (%s), but analyzing a does not need it", not, plan.why[not])
		}
	}
}

func TestPlanNamespaces(t *testing.T) {
	plan := &scopePlan{why: map[string]string{}}
	for _, ns := range []string{"b", "a", "gone", "istio-system", "*", ""} {
		plan.add(ns, "because "+ns)
	}
	plan.add("b", "a second reason")
	nsKind := schema.GroupKind{Kind: "Namespace"}
	var names []string
	for _, sn := range plan.namespaces("a", []string{"a", "b", "istio-system"}, []Scope{{Kind: nsKind}}) {
		names = append(names, sn.Name+": "+sn.Why)
	}
	if want := []string{"a: because a", "b: because b", "istio-system: because istio-system"}; !slices.Equal(names, want) {
		t.Errorf("namespaces %v, want %v (the analyzed one first, the nonexistent left out)", names, want)
	}
	// Without the Namespace list, nothing is known not to exist.
	if got := plan.namespaces("a", nil, nil); len(got) != 4 {
		t.Errorf("without the Namespace list: %v, want all four", got)
	}
}

func TestPerWorkloadCoversEveryController(t *testing.T) {
	for _, gk := range snapshot.WorkloadKinds {
		if !perWorkload(gk) {
			t.Errorf("%s is not per-workload: listed everywhere, it would make snapshot.CoversWorkloads trust namespaces a scoped read did not read", gk)
		}
	}
	for _, gk := range []schema.GroupKind{snapshot.KindService, snapshot.KindVirtualService, snapshot.KindNamespace} {
		if perWorkload(gk) {
			t.Errorf("%s is per-workload: other namespaces' objects see it, it must be read everywhere", gk)
		}
	}
}

// TestRawKindParsesTheScopeOnly: a kind read whole by a scoped read is
// parsed only in the namespaces kept, besides the objects the scope is
// found from (relevantItem), parsed at once whatever their namespace.
func TestRawKindParsesTheScopeOnly(t *testing.T) {
	dec, err := decode.New()
	if err != nil {
		t.Fatal(err)
	}
	s := &Source{Loader: &files.Loader{Decoder: dec}}
	page := []byte(`{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[
{"metadata":{"name":"gw","namespace":"ingress","labels":{"istio":"ingressgateway"}},"spec":{"containers":[{"name":"c","image":"i"}]}},
{"metadata":{"name":"web","namespace":"a","labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"i"}]}},
{"metadata":{"name":"other","namespace":"b","labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"i"}]}}]}`)
	j := job{gk: kindPod, r: resource{gvr: schema.GroupVersionResource{Version: "v1", Resource: "pods"}, namespaced: true}}
	sel := labels.SelectorFromSet(labels.Set{"istio": "ingressgateway"})
	rk, err := s.fetchRaw(context.Background(), nil, j, &headPage{body: page}, []labels.Selector{sel})
	if err != nil {
		t.Fatal(err)
	}
	names := func(objs []*snapshot.Object) string {
		var out []string
		for _, o := range objs {
			out = append(out, o.Key.Namespace+"/"+o.Key.Name)
		}
		sort.Strings(out)
		return strings.Join(out, " ")
	}
	if got := names(rk.relevant); got != "ingress/gw" {
		t.Errorf("parsed before the scope is known: %q, want the gateway pod only", got)
	}
	if got := names(s.objects(rk, func(ns string) bool { return ns == "a" || ns == "ingress" })); got != "a/web ingress/gw" {
		t.Errorf("kept in a and ingress: %q", got)
	}
	if got := names(s.objects(rk, nil)); got != "a/web b/other ingress/gw" {
		t.Errorf("kept everywhere: %q", got)
	}
	for _, o := range s.objects(rk, nil) {
		if !o.Origin.Live || o.Typed == nil {
			t.Errorf("%s: live %v, typed %T", o.Ref(), o.Origin.Live, o.Typed)
		}
	}
}
