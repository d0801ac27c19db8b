package istioref

import "testing"

func TestGatewayRef(t *testing.T) {
	for ref, want := range map[string]string{
		"mesh":                                  "mesh",
		"istio-system/public":                   "istio-system/public",
		"./edge":                                "a/edge",
		"edge":                                  "a/edge",
		"public.istio-system":                   "istio-system/public",
		"public.istio-system.svc.cluster.local": "istio-system/public",
	} {
		if got := GatewayRef(ref, "a"); got != want {
			t.Errorf("GatewayRef(%q, a) = %q, want %q", ref, got, want)
		}
	}
}
