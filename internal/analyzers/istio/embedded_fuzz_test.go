package istio

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// FuzzEmbeddedConfig feeds arbitrary text to every reader of configuration
// embedded in strings (meshNetworks, the injector's values and config, the
// proxy.istio.io/config annotation): each must return a value or an error,
// never panic.
func FuzzEmbeddedConfig(f *testing.F) {
	for _, seed := range []string{
		"", "{}", "networks: {n1: {endpoints: [{fromRegistry: c1}], gateways: [{address: 1.2.3.4, port: 15443}]}}",
		`{"global": {"hub": "docker.io/istio", "tag": "1.24.2"}, "sidecarInjectorWebhook": {"enableNamespacesByDefault": true}}`,
		"policy: disabled\nneverInjectSelector: [{matchExpressions: [{key: a, operator: Exists}]}]",
		"discoveryAddress: istiod.istio-system.svc:15012\ntracing: {zipkin: {address: zipkin:9411}}",
		"policy: [enabled", `{"global":`, "\x00\xff", "- - - [", "a: &x [*x]",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		_, _ = parseMeshNetworks(raw)
		cm := &snapshot.Object{Typed: &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: injectorConfigMap, Namespace: "istio-system"},
			Data:       map[string]string{injectorValuesKey: raw, injectorConfigKey: raw},
		}}
		_, _ = parseInjectorValues(cm)
		_, _ = parseInjectorPolicy(cm)
		_ = annotationValidators["proxy.istio.io/config"](raw)
	})
}
