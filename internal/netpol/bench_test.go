package netpol

import (
	"fmt"
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// synthetic builds a cluster of ns namespaces, each with podsPerNS pods
// (ten apps) and policiesPerNS NetworkPolicies, plus ccnps clusterwide
// Cilium policies.
func synthetic(tb testing.TB, ns, podsPerNS, policiesPerNS, ccnps int) (*snapshot.Snapshot, []*snapshot.Object) {
	tb.Helper()
	b := snapshot.NewBuilder()
	add := func(o runtime.Object) *snapshot.Object {
		obj, err := snapshot.NewObject(o, snapshot.Origin{Live: true}, nil)
		if err != nil {
			tb.Fatal(err)
		}
		b.Add(obj)
		return obj
	}
	tcp := corev1.ProtocolTCP
	var pods []*snapshot.Object
	for n := 0; n < ns; n++ {
		name := fmt.Sprintf("ns-%d", n)
		add(&corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"team": fmt.Sprintf("t%d", n%20)}}})
		for p := 0; p < podsPerNS; p++ {
			pods = append(pods, add(&corev1.Pod{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p-%d", p), Namespace: name, Labels: map[string]string{"app": fmt.Sprintf("app-%d", p%10), "tier": "t"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}}},
				Status:     corev1.PodStatus{PodIP: netip.AddrFrom4([4]byte{10, byte(n >> 8), byte(n), byte(p)}).String()},
			}))
		}
		for j := 0; j < policiesPerNS; j++ {
			add(&networkingv1.NetworkPolicy{
				TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("np-%d", j), Namespace: name},
				Spec: networkingv1.NetworkPolicySpec{
					PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": fmt.Sprintf("app-%d", j%10)}},
					Ingress: []networkingv1.NetworkPolicyIngressRule{{
						From: []networkingv1.NetworkPolicyPeer{
							{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": fmt.Sprintf("app-%d", (j+1)%10)}}},
							{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "t1"}}},
							{IPBlock: &networkingv1.IPBlock{CIDR: "192.168.0.0/16"}},
						},
						Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &intstr.IntOrString{Type: intstr.String, StrVal: "http"}}},
					}},
				},
			})
		}
	}
	for c := 0; c < ccnps; c++ {
		add(&unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "cilium.io/v2", "kind": "CiliumClusterwideNetworkPolicy",
			"metadata": map[string]any{"name": fmt.Sprintf("ccnp-%d", c)},
			"spec": map[string]any{
				"endpointSelector": map[string]any{"matchLabels": map[string]any{"app": fmt.Sprintf("app-%d", c%10)}},
				"ingress": []any{map[string]any{
					"fromCIDR": []any{"203.0.113.0/24"},
					"toPorts":  []any{map[string]any{"ports": []any{map[string]any{"port": "443"}}}},
				}},
			},
		}})
	}
	return b.Build(), pods
}

// BenchmarkIngress: the cost of a query tracks the policies of the
// destination's namespace, not the size of the cluster — small and large
// differ 10x in namespaces, pods and policies.
func BenchmarkIngress(b *testing.B) {
	for _, size := range []struct {
		name                  string
		ns, pods, pols, ccnps int
	}{
		{"small-20ns-2000pods-200policies", 20, 100, 10, 10},
		{"large-200ns-20000pods-2000policies", 200, 100, 10, 10},
	} {
		s, pods := synthetic(b, size.ns, size.pods, size.pols, size.ccnps)
		for _, engine := range []Engine{EngineKubernetes, EngineCilium} {
			e, err := New(s, Options{Engine: engine})
			if err != nil {
				b.Fatal(err)
			}
			peers := make([]Peer, len(pods))
			for i, p := range pods {
				peers[i] = e.PodPeer(p)
			}
			b.Run(size.name+"/"+string(engine), func(b *testing.B) {
				b.ReportAllocs()
				allowed := 0
				for i := 0; b.Loop(); i++ {
					src, dst := peers[(i*7919)%len(peers)], pods[(i*104729)%len(pods)]
					if e.Ingress(src, dst, 8080, "TCP").Allowed {
						allowed++
					}
				}
				if allowed == 0 {
					b.Fatal("nothing allowed: the synthetic policies do not exercise rule matching")
				}
			})
		}
	}
}

// BenchmarkNew is the one-time compilation of the large cluster's policies.
func BenchmarkNew(b *testing.B) {
	s, _ := synthetic(b, 200, 100, 10, 10)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(s, Options{Engine: EngineCilium}); err != nil {
			b.Fatal(err)
		}
	}
}
