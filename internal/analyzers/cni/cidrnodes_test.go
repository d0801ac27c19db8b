package cni

import (
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/meshdoctor/meshdoctor/internal/netpol"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/version"
)

func peer(cidr string, except ...string) netpol.CIDRPeer {
	cp := netpol.CIDRPeer{CIDR: netip.MustParsePrefix(cidr), Direction: netpol.Egress}
	for _, e := range except {
		cp.Except = append(cp.Except, netip.MustParsePrefix(e))
	}
	return cp
}

// A peer names nodes only when its node addresses are all it admits:
// its size less its outermost excepts, each counted once.
func TestAdmitsOnlyNodes(t *testing.T) {
	for _, tc := range []struct {
		cp    netpol.CIDRPeer
		nodes int
		want  bool
	}{
		{peer("10.0.0.11/32"), 1, true},
		{peer("fd00::11/128"), 1, true},
		{peer("10.0.0.10/31"), 2, true},
		{peer("10.0.0.10/31"), 1, false},
		{peer("10.0.0.8/30", "10.0.0.8/31"), 2, true},
		// Nested and repeated excepts are counted once: 8 - 4 = 4.
		{peer("10.0.0.8/29", "10.0.0.8/30", "10.0.0.8/31", "10.0.0.8/30"), 4, true},
		// An except outside the CIDR removes nothing.
		{peer("10.0.0.8/30", "10.0.1.0/31"), 2, false},
		{peer("10.0.0.0/8"), 3, false},
		{peer("::/64"), 3, false},
	} {
		if got := admitsOnlyNodes(tc.cp, tc.nodes); got != tc.want {
			t.Errorf("admitsOnlyNodes(%s except %v, %d) = %v", tc.cp.CIDR, tc.cp.Except, tc.nodes, got)
		}
	}
}

// The port criterion: egress only, every port a node service, no pod CIDR
// in the range.
func TestMeantForNodesByPorts(t *testing.T) {
	worker := nodeAddr{ip: netip.MustParseAddr("10.0.0.21"), node: &NodeCoverage{Name: "w"}}
	api := nodeAddr{ip: netip.MustParseAddr("10.0.0.11"), node: &NodeCoverage{Name: "cp"}, api: true}
	srv := apiServer{ports: []uint16{6443}}
	pods := []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16")}
	port := func(cp netpol.CIDRPeer, p uint16, proto string) netpol.CIDRPeer {
		cp.Ports = append(cp.Ports, netpol.PortEntry{Port: p, End: p, Proto: proto})
		return cp
	}
	for _, tc := range []struct {
		name string
		cp   netpol.CIDRPeer
		in   []nodeAddr
		want bool
	}{
		{"kubelet", port(peer("10.0.0.0/24"), 10250, "TCP"), []nodeAddr{worker}, true},
		{"apiserver port with its node", port(peer("10.0.0.0/24"), 6443, ""), []nodeAddr{api, worker}, true},
		{"apiserver port without its node", port(peer("10.0.0.0/24"), 6443, "TCP"), []nodeAddr{worker}, false},
		{"a port no node serves too", port(port(peer("10.0.0.0/24"), 10250, "TCP"), 5432, "TCP"), []nodeAddr{worker}, false},
		{"UDP", port(peer("10.0.0.0/24"), 10250, "UDP"), []nodeAddr{worker}, false},
		{"no ports", peer("10.0.0.0/24"), []nodeAddr{worker}, false},
		{"pods in the range", port(peer("10.0.0.0/8"), 10250, "TCP"), []nodeAddr{worker}, false},
		{"pods excepted", port(peer("10.0.0.0/8", "10.244.0.0/16"), 10250, "TCP"), []nodeAddr{worker}, true},
	} {
		cp := tc.cp
		if _, got := meantForNodes(cp, tc.in, srv, pods); got != tc.want {
			t.Errorf("%s: meantForNodes = %v", tc.name, got)
		}
		cp.Direction = netpol.Ingress
		if _, got := meantForNodes(cp, tc.in, srv, pods); got {
			t.Errorf("%s: an ingress rule's ports are the pod's own, they say nothing of the peer", tc.name)
		}
	}
}

// Before Cilium 1.15 there is no setting to offer: entities only.
func TestCIDRRemedyOldCilium(t *testing.T) {
	cm := &snapshot.Object{Key: snapshot.Key{Kind: "ConfigMap", Namespace: "kube-system", Name: "cilium-config"},
		Typed: &corev1.ConfigMap{Data: map[string]string{"policy-cidr-match-mode": "pods"}}}
	pol := &snapshot.Object{Key: snapshot.Key{Group: "cilium.io", Kind: "CiliumNetworkPolicy", Namespace: "ops", Name: "p"}}
	c := &candidate{cp: peer("10.0.0.21/32"), in: []nodeAddr{{ip: netip.MustParseAddr("10.0.0.21"), node: &NodeCoverage{Name: "w"}}}}
	c.cp.Rule.Peer = snapshot.P("spec", "egress", 0, "toCIDR", 0)
	old := cidrRemedy(pol, netpol.Egress, []*candidate{c}, cm, version.MustParse("1.14.5"), true)
	for _, w := range []string{"runs Cilium 1.14.5, which has no policy-cidr-match-mode (it came in 1.15", `policy-cidr-match-mode: "pods nodes"`, "  - toEntities: [remote-node, host]\n"} {
		if !strings.Contains(old, w) {
			t.Errorf("want %q in %s", w, old)
		}
	}
	if cur := cidrRemedy(pol, netpol.Egress, []*candidate{c}, cm, version.V{}, false); !strings.Contains(cur, "Set policy-cidr-match-mode") {
		t.Errorf("unknown version: the setting should be offered: %s", cur)
	}
}
