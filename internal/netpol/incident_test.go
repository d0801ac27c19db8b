package netpol

import (
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// Incident (d): pods on a node Cilium does not manage reach Cilium pods as
// world (or remote-node after SNAT), and a policy admitting peers only by
// label drops them.
func TestIncidentD(t *testing.T) {
	const backendNP = "NetworkPolicy/shop/backend"
	viewOf := func(f *fixture, snat bool) Peer {
		fe := f.pod("shop/frontend")
		node := fe.Typed.(*corev1.Pod).Spec.NodeName
		managed, known := f.e.ManagedByCilium(node)
		if managed || !known {
			t.Fatalf("node %s: managed %v known %v", node, managed, known)
		}
		var to netip.Addr
		if snat {
			to = f.e.NodeAddress(node)
		}
		return f.e.CiliumView(fe, managed, to)
	}

	f := load(t, Options{Engine: EngineCilium}, "incident_d.yaml")
	if m, _ := f.e.ManagedByCilium("node-cilium"); !m {
		t.Fatal("node-cilium has a CiliumNode")
	}
	src := viewOf(f, false)
	if src.Class != ClassWorld || src.IP != netip.MustParseAddr("10.244.9.7") || src.Pod != f.pod("shop/frontend") {
		t.Fatalf("view %+v", src)
	}
	v := f.e.Ingress(src, f.pod("shop/backend"), 8080, "TCP")
	check(t, v, want{false, true, []string{backendNP + " .spec.podSelector select"}})
	const reason = "ingress from world 10.244.9.7 (Pod/shop/frontend) to Pod/shop/backend on TCP/8080: denied, isolated by NetworkPolicy/shop/backend .spec.podSelector and no rule allows it"
	if v.Reason != reason {
		t.Errorf("reason %q", v.Reason)
	}
	snat := viewOf(f, true)
	if snat.Class != ClassRemoteNode || snat.IP != netip.MustParseAddr("192.168.0.9") {
		t.Fatalf("SNAT view %+v", snat)
	}
	check(t, f.e.Ingress(snat, f.pod("shop/backend"), 8080, "TCP"), want{false, true, []string{backendNP + " .spec.podSelector select"}})
	if s := f.e.IngressPeers(f.s.Get(KindNetworkPolicy, "shop", "backend")); !s.OnlySelectors() {
		t.Errorf("backend policy admits only by selectors: %+v", s)
	}
	// Once the node is migrated the same pod is an endpoint with labels.
	check(t, f.e.Ingress(f.e.CiliumView(f.pod("shop/frontend"), true, netip.Addr{}), f.pod("shop/backend"), 8080, "TCP"),
		want{true, true, []string{backendNP + " .spec.ingress[0].from[0] allow port.spec.ingress[0].ports[0]"}})
	// A generic engine knows every pod: no drop.
	k := load(t, Options{}, "incident_d.yaml")
	check(t, k.e.Ingress(k.peer("shop/frontend"), k.pod("shop/backend"), 8080, "TCP"),
		want{true, true, []string{backendNP + " .spec.ingress[0].from[0] allow port.spec.ingress[0].ports[0]"}})

	// Fix 1: ipBlock of the kubenet node's pod CIDR admits the world view.
	f = load(t, Options{Engine: EngineCilium}, "incident_d.yaml", "incident_d_fix_ipblock.yaml")
	mig := "NetworkPolicy/shop/backend-migration"
	check(t, f.e.Ingress(viewOf(f, false), f.pod("shop/backend"), 8080, "TCP"),
		want{true, true, []string{mig + " .spec.ingress[0].from[0] allow port.spec.ingress[0].ports[0]"}})
	if s := f.e.IngressPeers(f.s.Get(KindNetworkPolicy, "shop", "backend-migration")); s.OnlySelectors() || len(s.CIDRs) != 2 {
		t.Errorf("migration policy: %+v", s)
	}
	// ...but an ipBlock of the node address does not admit the SNATed
	// view unless policy-cidr-match-mode is nodes.
	check(t, f.e.Ingress(viewOf(f, true), f.pod("shop/backend"), 8080, "TCP"),
		want{false, true, []string{backendNP + " .spec.podSelector select", mig + " .spec.podSelector select"}})
	f = load(t, Options{Engine: EngineCilium, CIDRMatchNodes: true}, "incident_d.yaml", "incident_d_fix_ipblock.yaml")
	check(t, f.e.Ingress(viewOf(f, true), f.pod("shop/backend"), 8080, "TCP"),
		want{true, true, []string{mig + " .spec.ingress[0].from[1] allow port.spec.ingress[0].ports[0]"}})

	// Fix 2: fromEntities remote-node admits the SNATed view, not world.
	f = load(t, Options{Engine: EngineCilium}, "incident_d.yaml", "incident_d_fix_entity.yaml")
	cnp := "CiliumNetworkPolicy/shop/backend-from-nodes"
	check(t, f.e.Ingress(viewOf(f, true), f.pod("shop/backend"), 8080, "TCP"),
		want{true, true, []string{cnp + " .spec.ingress[0].fromEntities[0] allow port.spec.ingress[0].toPorts[0].ports[0]"}})
	check(t, f.e.Ingress(viewOf(f, false), f.pod("shop/backend"), 8080, "TCP"),
		want{false, true, []string{backendNP + " .spec.podSelector select", cnp + " .spec.endpointSelector select"}})
}

// Meshed pods: policy is enforced on the port the packet carries into the
// pod (HBONE 15008 in ambient), and ambient SNATs kubelet probes to
// 169.254.7.127, which Cilium sees as world rather than host.
func TestAmbient(t *testing.T) {
	f := load(t, Options{Engine: EngineCilium}, "ambient.yaml")
	sel := []string{"NetworkPolicy/mesh/server .spec.podSelector select"}
	check(t, f.e.Ingress(f.peer("mesh/client"), f.pod("mesh/server"), 8080, "TCP"),
		want{true, true, []string{"NetworkPolicy/mesh/server .spec.ingress[0].from[0] allow port.spec.ingress[0].ports[0]"}})
	check(t, f.e.Ingress(f.peer("mesh/client"), f.pod("mesh/server"), 15008, "TCP"), want{false, true, sel})
	check(t, f.e.Ingress(Peer{Class: ClassHost}, f.pod("mesh/server"), 8080, "TCP"), want{true, true, nil})
	probe := f.e.WorldPeer(AmbientProbeSource)
	check(t, f.e.Ingress(probe, f.pod("mesh/server"), 8080, "TCP"), want{false, true, sel})

	f = load(t, Options{Engine: EngineCilium}, "ambient.yaml", "ambient_fix.yaml")
	check(t, f.e.Ingress(f.peer("mesh/client"), f.pod("mesh/server"), 15008, "TCP"),
		want{true, true, []string{"NetworkPolicy/mesh/server-hbone .spec.ingress[0].from[0] allow port.spec.ingress[0].ports[0]"}})
	check(t, f.e.Ingress(probe, f.pod("mesh/server"), 8080, "TCP"),
		want{true, true, []string{"CiliumClusterwideNetworkPolicy/allow-ambient-hostprobes .spec.ingress[0].fromCIDR[0] allow"}})
	// The clusterwide fix does not isolate anything by itself.
	check(t, f.e.Ingress(world("1.2.3.4"), f.pod("mesh/client"), 80, "TCP"), want{true, false, nil})

	// Under a generic engine the CCNP is inert and the probe stays denied.
	k := load(t, Options{}, "ambient.yaml", "ambient_fix.yaml")
	check(t, k.e.Ingress(probe, k.pod("mesh/server"), 8080, "TCP"),
		want{false, true, []string{"NetworkPolicy/mesh/server .spec.podSelector select", "NetworkPolicy/mesh/server-hbone .spec.podSelector select"}})
}
