package istio

import (
	"context"
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analysis/analysistest"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

func TestInjcheckSeverities(t *testing.T) {
	sev := func(file, code string) map[string]analysis.Severity {
		out := map[string]analysis.Severity{}
		for _, f := range analysistest.Run(t, Analyzers(), nil, file)[file] {
			if f.Code == code {
				out[f.Subject.String()+" "+f.Locations[0].Field] = f.Severity
			}
		}
		return out
	}
	for _, c := range []struct {
		file, code, at string
		want           analysis.Severity
	}{
		{"testdata/injcheck_crdversion_assumed_positive.yaml", "MD120", "CustomResourceDefinition/backendtlspolicies.gateway.networking.k8s.io " + `.metadata.annotations["gateway.networking.k8s.io/bundle-version"]`, analysis.Info},
		{"testdata/injcheck_crdversion_positive.yaml", "MD120", "CustomResourceDefinition/tlsroutes.gateway.networking.k8s.io " + `.metadata.annotations["gateway.networking.k8s.io/bundle-version"]`, analysis.Warning},
		{"testdata/injcheck_pods_positive.yaml", "MD109", "Pod/gateways/ingress-7f9c-abcde .spec.containers[0].image", analysis.Error},
		{"testdata/injcheck_pods_positive.yaml", "MD109", "Deployment/gateways/ingress .spec.template.spec.containers[0].image", analysis.Warning},
		{"testdata/injcheck_deactivated_positive.yaml", "MD109", "Deployment/istio-ingress/istio-ingressgateway .spec.template.spec.containers[0].image", analysis.Warning},
		{"testdata/injcheck_annotations_positive.yaml", "MD115", "Deployment/shop/cart " + `.spec.template.metadata.annotations["traffic.sidecar.istio.io/excludeOutboundIPRanges"]`, analysis.Error},
		{"testdata/injcheck_annotations_positive.yaml", "MD115", "Deployment/shop/tools " + `.spec.template.metadata.annotations["sidecar.istio.io/interceptionMode"]`, analysis.Warning},
		{"testdata/injcheck_webhook_positive.yaml", "MD117", "MutatingWebhookConfiguration/istio-sidecar-injector-1-20 .webhooks[0].clientConfig.service.name", analysis.Error},
		{"testdata/injcheck_webhook_positive.yaml", "MD117", "MutatingWebhookConfiguration/istio-sidecar-injector-1-20 .webhooks[1].clientConfig.service.name", analysis.Warning},
		{"testdata/injcheck_conditions_positive.yaml", "MD119", "HTTPRoute/shop/shop .status.parents[0].conditions[0].status", analysis.Error},
		{"testdata/injcheck_conditions_positive.yaml", "MD119", "HTTPRoute/shop/shop .status.parents[0].conditions[1].status", analysis.Warning},
		{"testdata/injcheck_gwstatus_positive.yaml", "MD119", "Gateway/ingress/public .status.conditions[1].status", analysis.Warning},
		{"testdata/injcheck_nsannotations_positive.yaml", "MD114", "Namespace/istio-system " + `.metadata.annotations["install.operator.istio.io/chart-owner"]`, analysis.Info},
		{"testdata/injcheck_gwstatus_positive.yaml", "MD119", "Gateway/ingress/shop .status.listeners[0].conditions[2].status", analysis.Error},
	} {
		got := sev(c.file, c.code)
		if s, ok := got[c.at]; !ok || s != c.want {
			t.Errorf("%s %s at %s: %v (have %v), want %v", c.file, c.code, c.at, s, got, c.want)
		}
	}
}

func TestInjectionDecide(t *testing.T) {
	snap := analysistest.Load(t, "testdata/injcheck_pods_negative.yaml")
	noHooks := &Injection{Values: map[string]*injectorValues{}}
	for _, c := range []struct {
		ns          string
		labels, ann map[string]string
		host        bool
		inject      bool
		known       bool
	}{
		{ns: "shop", inject: true, known: true},
		{ns: "shop", labels: map[string]string{InjectLabel: "false"}, known: true},
		{ns: "shop", ann: map[string]string{InjectLabel: "no"}, known: true},                   // the injector's own check
		{ns: "shop", labels: map[string]string{InjectLabel: "yes"}, inject: true, known: true}, // y/yes/true/on
		{ns: "shop", host: true, known: true},                                                  // hostNetwork
		{ns: "legacy", labels: map[string]string{InjectLabel: "true"}, known: true},            // object webhook needs no namespace label
		{ns: "istio-ingress", labels: map[string]string{InjectLabel: "true"}, inject: true, known: true},
		{ns: "istio-ingress", labels: map[string]string{RevisionLabel: "canary"}, inject: true, known: true},
		{ns: "istio-ingress", known: true},
		{ns: "kube-system", known: true}, // ignored by the injector
		{ns: "absent"},
	} {
		d := noHooks.Decide(snap, c.ns, c.labels, c.ann, c.host)
		if d.Inject != c.inject || d.Known != c.known || d.Why == "" {
			t.Errorf("Decide(%s, %v, %v, host=%v) = %+v, want inject=%v known=%v", c.ns, c.labels, c.ann, c.host, d, c.inject, c.known)
		}
	}
}

func TestProxyImages(t *testing.T) {
	v := &injectorValues{Hub: "docker.io/istio", Tag: "1.24.2", Variant: "distroless"}
	if got := v.ProxyImage(); got != "docker.io/istio/proxyv2:1.24.2-distroless" {
		t.Errorf("ProxyImage = %s", got)
	}
	v = &injectorValues{Hub: "docker.io/istio", Tag: "1.24.2", Image: "registry.corp/istio/proxyv2:1.24.2"}
	if got := v.ProxyImage(); got != "registry.corp/istio/proxyv2:1.24.2" {
		t.Errorf("ProxyImage with a full image = %s", got)
	}
	for _, c := range []struct {
		a, b, variant string
		same          bool
	}{
		{"docker.io/istio/proxyv2:1.24.2", "docker.io/istio/proxyv2:1.24.2", "", true},
		{"docker.io/istio/proxyv2:1.24.2-distroless", "docker.io/istio/proxyv2:1.24.2", "", true},
		{"mirror.corp/istio/proxyv2:1.24.2", "docker.io/istio/proxyv2:1.24.2", "", true},
		{"docker.io/istio/proxyv2:1.24.2@sha256:abc", "docker.io/istio/proxyv2:1.24.2", "", true},
		{"docker.io/istio/proxyv2:1.23.4", "docker.io/istio/proxyv2:1.24.2", "", false},
		{"docker.io/istio/proxyv2:1.24.2-custom", "docker.io/istio/proxyv2:1.24.2", "", false},
		{"docker.io/istio/proxyv2:1.24.2-custom", "docker.io/istio/proxyv2:1.24.2", "custom", true},
	} {
		if got := sameRelease(c.a, c.b, c.variant); got != c.same {
			t.Errorf("sameRelease(%s, %s, %q) = %v", c.a, c.b, c.variant, got)
		}
	}
}

func TestAnnotationValidators(t *testing.T) {
	for _, c := range []struct {
		key, value string
		ok         bool
	}{
		{"traffic.sidecar.istio.io/excludeOutboundIPRanges", "10.0.0.0/8,172.16.0.0/12", true},
		{"traffic.sidecar.istio.io/excludeOutboundIPRanges", "10.0.0.0/8, 172.16.0.0/12", false},
		{"traffic.sidecar.istio.io/excludeOutboundIPRanges", "10.0.0.1", false},
		{"traffic.sidecar.istio.io/excludeOutboundIPRanges", "", true},
		{"traffic.sidecar.istio.io/includeOutboundIPRanges", "*", true},
		{"traffic.sidecar.istio.io/excludeInboundPorts", "15020, 9090", true},
		{"traffic.sidecar.istio.io/excludeInboundPorts", "15020,http", false},
		{"traffic.sidecar.istio.io/includeInboundPorts", "*", true},
		{"status.sidecar.istio.io/port", "70000", false},
		{"readiness.status.sidecar.istio.io/periodSeconds", "-1", false},
		{"prometheus.istio.io/merge-metrics", "True", true},
		{"prometheus.istio.io/merge-metrics", "yes", false},
		{"sidecar.istio.io/interceptionMode", "NONE", true},
		{"sidecar.istio.io/proxyMemory", "128Mi", true},
		{"sidecar.istio.io/proxyMemory", "128MB", false},
		{"proxy.istio.io/config", "concurrency: 2", true},
		{"proxy.istio.io/config", "concurrency: two", false},
		{"proxy.istio.io/config", "noSuchField: 1", true},                                      // unknown fields are discarded
		{"proxy.istio.io/config", "tracing: {zipkin: {address: zipkin.observability}}", false}, // no port
		{"proxy.istio.io/config", "tracing: {zipkin: {address: 'zipkin.observability:9411'}}", true},
		{"proxy.istio.io/config", "discoveryAddress: 'istiod.istio-system.svc:0'", false},
		{"proxy.istio.io/config", "statsdUdpAddress: '10.0.0.5:8125'", true},
		{"proxy.istio.io/config", "statsdUdpAddress: 'statsd_host:8125'", false},
	} {
		err := annotationValidators[c.key](c.value)
		if (err == nil) != c.ok {
			t.Errorf("%s=%q: %v, want ok=%v", c.key, c.value, err, c.ok)
		}
	}
	if !istioAnnotationName("sidecar.istio.io/inject") || !istioAnnotationName("istio.io/rev") || istioAnnotationName("notistio.io/x") || istioAnnotationName("prometheus.io/scrape") {
		t.Error("istioAnnotationName")
	}
}

func TestIstioConditionsDecoded(t *testing.T) {
	snap := analysistest.Load(t, "testdata/injcheck_conditions_positive.yaml")
	o := snap.Get(snapshot.KindAuthzPolicy, "shop", "deny-admin")
	if cs := istioConditions(o); len(cs) != 1 || cs[0].Type != "ZtunnelAccepted" || !cs[0].negative() {
		t.Fatalf("conditions of %s: %+v", o.Ref(), cs)
	}
}

func TestInjectorPolicy(t *testing.T) {
	snap := analysistest.Load(t, "testdata/injcheck_policy_positive.yaml")
	pol, err := parseInjectorPolicy(snap.Get(snapshot.KindConfigMap, "istio-system", "istio-sidecar-injector"))
	if err != nil || pol == nil || pol.Policy != "disabled" || len(pol.Always) != 1 || len(pol.Never) != 0 {
		t.Fatalf("parseInjectorPolicy: %+v, %v", pol, err)
	}
	for _, c := range []struct {
		labels map[string]string
		value  string
		set    bool
		inject bool
	}{
		{nil, "", false, false},     // disabled: no opt-in
		{nil, "", true, false},      // an empty value leaves it to the policy
		{nil, "on", true, true},     // y/yes/true/on
		{nil, "false", true, false}, // opt out
		{map[string]string{"mesh.example.com/member": "true"}, "", false, true}, // alwaysInjectSelector
		{map[string]string{"mesh.example.com/member": "true"}, "no", true, false},
	} {
		if got, why := pol.decide(c.labels, c.value, c.set); got != c.inject || why == "" {
			t.Errorf("decide(%v, %q, %v) = %v (%s), want %v", c.labels, c.value, c.set, got, why, c.inject)
		}
	}
	pol.Policy = "enabled"
	if got, _ := pol.decide(nil, "", false); !got {
		t.Error("policy enabled: a pod without a value is injected")
	}
	pol.Policy = ""
	if got, _ := pol.decide(nil, "", false); got {
		t.Error("an unknown policy injects nothing")
	}
}

func TestNamespaceAnnotationRemedy(t *testing.T) {
	file := "testdata/injcheck_nsannotations_positive.yaml"
	for _, f := range analysistest.Run(t, Analyzers(), nil, file)[file] {
		if f.Code == "MD113" && !strings.Contains(f.Remedy, "kubectl label namespace shop istio.io/rev=1-22") {
			t.Errorf("MD113 remedy for a namespace annotation: %s", f.Remedy)
		}
	}
}

// TestUnreadableInjectorConfig: an injector ConfigMap whose values or config
// cannot be read is named in a not-checked note of the checks that depend on
// it, not silently replaced by the chart's defaults.
func TestUnreadableInjectorConfig(t *testing.T) {
	snap := analysistest.Load(t, "testdata/injcheck/unreadable_injector.yaml")
	res := analysis.Run(context.Background(), snap, analysis.RunConfig{Analyzers: Analyzers()})
	var notes []string
	for _, n := range res.NotChecked {
		if n.Code == PodMissingProxy.Code {
			notes = append(notes, n.Reason)
		}
	}
	joined := strings.Join(notes, "\n")
	for _, want := range []string{"ConfigMap/istio-system/istio-sidecar-injector: key values is not JSON", "ConfigMap/istio-system/istio-sidecar-injector: key config is not the injector's YAML config"} {
		if !strings.Contains(joined, want) {
			t.Errorf("MD106 notes %q lack %q", notes, want)
		}
	}
}
