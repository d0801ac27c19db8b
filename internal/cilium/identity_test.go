package cilium

import "testing"

func TestIdentity(t *testing.T) {
	for _, tc := range []struct {
		id                         Identity
		str                        string
		reserved, world, node, loc bool
	}{
		{0, "unknown", true, false, false, false},
		{1, "host", true, false, true, false},
		{2, "world", true, true, false, false},
		{3, "unmanaged", true, false, false, false},
		{4, "health", true, false, false, false},
		{5, "init", true, false, false, false},
		{6, "remote-node", true, false, true, false},
		{7, "kube-apiserver", true, false, true, false},
		{8, "ingress", true, false, false, false},
		{9, "world-ipv4", true, true, false, false},
		{10, "world-ipv6", true, true, false, false},
		{11, "overlay-to-encrypt", true, false, false, false},
		{102, "102", true, false, false, false},
		{255, "255", true, false, false, false},
		{256, "256", false, false, false, false},
		{23456, "23456", false, false, false, false},
		{16777217, "16777217", false, false, false, true},
	} {
		if got := tc.id.String(); got != tc.str {
			t.Errorf("%d.String() = %q, want %q", tc.id, got, tc.str)
		}
		if tc.id.IsReserved() != tc.reserved || tc.id.IsWorld() != tc.world || tc.id.IsNode() != tc.node || tc.id.IsLocal() != tc.loc {
			t.Errorf("%d: reserved %v world %v node %v local %v, want %v %v %v %v", tc.id,
				tc.id.IsReserved(), tc.id.IsWorld(), tc.id.IsNode(), tc.id.IsLocal(), tc.reserved, tc.world, tc.node, tc.loc)
		}
		back, ok := ParseIdentity(tc.str)
		if !ok || back != tc.id {
			t.Errorf("ParseIdentity(%q) = %d, %v", tc.str, back, ok)
		}
	}
	if got := Identity(3<<16 | 4000).ClusterID(); got != 3 {
		t.Errorf("ClusterID = %d, want 3", got)
	}
}

func TestParseIdentity(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Identity
		ok   bool
	}{
		{"(ID:12345)", 12345, true},
		{"ID:7", 7, true},
		{"(world)", IdentityWorld, true},
		{"reserved:remote-node", IdentityRemoteNode, true},
		{"world-ipv4", IdentityWorldIPv4, true},
		{"4294967295", 4294967295, true},
		{"4294967296", 0, false},
		{"ID:", 0, false},
		{"", 0, false},
		{"k8s:app=web", 0, false},
		{"-1", 0, false},
		{"World", 0, false},
	} {
		got, ok := ParseIdentity(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseIdentity(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
