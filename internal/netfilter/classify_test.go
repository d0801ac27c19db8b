package netfilter

import (
	"fmt"
	"reflect"
	"sort"
	"testing"
)

// ownersByChain lists "table/chain=owner" for every chain.
func ownersByChain(rs *RuleSet) []string {
	var out []string
	for c := range rs.Chains() {
		out = append(out, fmt.Sprintf("%s/%s=%s", c.Table.Name, c.Name, c.Owner))
	}
	return out
}

func TestClassifyChains(t *testing.T) {
	tests := []struct {
		fixture string
		parse   func([]byte) *RuleSet
		want    []string
	}{
		{"sidecar-mirrord.save", ParseSave, []string{
			"nat/PREROUTING=builtin", "nat/INPUT=builtin", "nat/OUTPUT=builtin", "nat/POSTROUTING=builtin",
			"nat/ISTIO_INBOUND=istio-sidecar", "nat/ISTIO_IN_REDIRECT=istio-sidecar", "nat/ISTIO_OUTPUT=istio-sidecar",
			"nat/ISTIO_REDIRECT=istio-sidecar", "nat/MIRRORD_INPUT=mirrord", "nat/MIRRORD_OUTPUT=mirrord",
			"filter/INPUT=builtin", "filter/FORWARD=builtin", "filter/OUTPUT=builtin", "filter/MIRRORD_INPUT_k3x9q=mirrord",
		}},
		{"ambient-inpod.save", ParseSave, []string{
			"mangle/PREROUTING=builtin", "mangle/INPUT=builtin", "mangle/FORWARD=builtin", "mangle/OUTPUT=builtin", "mangle/POSTROUTING=builtin",
			"mangle/ISTIO_OUTPUT=istio-ambient-pod", "mangle/ISTIO_PRERT=istio-ambient-pod",
			"nat/PREROUTING=builtin", "nat/INPUT=builtin", "nat/OUTPUT=builtin", "nat/POSTROUTING=builtin",
			"nat/ISTIO_OUTPUT=istio-ambient-pod", "nat/ISTIO_PRERT=istio-ambient-pod",
			"raw/PREROUTING=builtin", "raw/OUTPUT=builtin", "raw/ISTIO_OUTPUT=istio-ambient-pod", "raw/ISTIO_PRERT=istio-ambient-pod",
		}},
		{"ambient-native.nft", ParseNft, []string{
			"istio-ambient-nat/prerouting=istio-ambient-pod", "istio-ambient-nat/output=istio-ambient-pod",
			"istio-ambient-nat/postrouting=istio-ambient-host",
			"istio-ambient-nat/istio-prerouting=istio-ambient-pod", "istio-ambient-nat/istio-output=istio-ambient-pod",
			"istio-ambient-mangle/prerouting=istio-ambient-pod", "istio-ambient-mangle/output=istio-ambient-pod",
			"istio-ambient-mangle/istio-prerouting=istio-ambient-pod", "istio-ambient-mangle/istio-output=istio-ambient-pod",
			"istio-ambient-raw/output=istio-ambient-pod", "istio-ambient-raw/istio-output=istio-ambient-pod",
			"filter/INPUT=builtin",
		}},
	}
	for _, tt := range tests {
		rs := tt.parse(readFixture(t, tt.fixture))
		if got := ownersByChain(rs); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\n got %q\nwant %q", tt.fixture, got, tt.want)
		}
	}
}

// The founding incident (a): the in-pod chains and marks in a host's
// ruleset, next to the host's own ISTIO_POSTRT and kube-proxy.
func TestClassifyHostWithInpodRules(t *testing.T) {
	rs := ParseNft(readFixture(t, "host-inpod-leak.nft"))
	noErrors(t, rs)
	owners := map[string]Owner{}
	for c := range rs.Chains() {
		owners[c.Table.Name+"/"+c.Name] = c.Owner
	}
	for chain, want := range map[string]Owner{
		"nat/ISTIO_PRERT":            OwnerIstioAmbientPod,
		"nat/ISTIO_OUTPUT":           OwnerIstioAmbientPod,
		"mangle/ISTIO_PRERT":         OwnerIstioAmbientPod,
		"mangle/ISTIO_OUTPUT":        OwnerIstioAmbientPod,
		"nat/ISTIO_POSTRT":           OwnerIstioAmbientHost,
		"nat/KUBE-POSTROUTING":       OwnerKubeProxy,
		"mangle/KUBE-KUBELET-CANARY": OwnerKubeProxy,
		"nat/PREROUTING":             OwnerBuiltin,
	} {
		if owners[chain] != want {
			t.Errorf("%s owner %v, want %v", chain, owners[chain], want)
		}
	}
	// Rules in a built-in chain take the owner of the chain they jump to.
	var got []string
	for _, r := range chainOf(t, rs, "nat", "OUTPUT").Rules {
		got = append(got, r.Owner.String())
	}
	if want := []string{"istio-ambient-pod", "kube-proxy"}; !reflect.DeepEqual(got, want) {
		t.Errorf("nat OUTPUT rule owners %v, want %v", got, want)
	}
}

func TestClassifyRulesByComment(t *testing.T) {
	in := "*filter\n:INPUT ACCEPT [0:0]\n:DOCKER-USER - [0:0]\n" +
		"-A INPUT -m comment --comment \"cilium-feeder: CILIUM_INPUT\" -j ACCEPT\n" +
		"-A INPUT -m comment --comment \"kubernetes health check rules\" -j ACCEPT\n" +
		"-A INPUT -m comment --comment cali:Cz_u1IQiXIMmKD4c -j ACCEPT\n" +
		"-A INPUT -m comment --comment \"flanneld forward\" -j ACCEPT\n" +
		"-A INPUT -m comment --comment proxy-init/ignore-port-4190,4191/1589795301 -j ACCEPT\n" +
		"-A INPUT -m comment --comment \"something else\" -j ACCEPT\n" +
		"-A INPUT -j DOCKER-USER\n" +
		"COMMIT\n"
	rs := ParseSave([]byte(in))
	noErrors(t, rs)
	var got []string
	for _, r := range chainOf(t, rs, "filter", "INPUT").Rules {
		got = append(got, r.Owner.String())
	}
	want := []string{"cilium", "kube-proxy", "calico", "flannel", "linkerd", "unknown", "unknown"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("owners %v, want %v", got, want)
	}
}

func TestChainOwner(t *testing.T) {
	tests := map[string]Owner{
		"ISTIO_PRERT": OwnerIstioAmbientPod, "ISTIO_POSTRT": OwnerIstioAmbientHost, "ISTIO_OUTPUT": OwnerUnknown,
		"ISTIO_INBOUND": OwnerIstioSidecar, "ISTIO_OUTPUT_DNS": OwnerIstioSidecar, "ISTIO_TPROXY": OwnerIstioSidecar,
		"ztunnel-PREROUTING": OwnerIstioAmbientHost, "CILIUM_POST_nat": OwnerCilium, "OLD_CILIUM_INPUT": OwnerCilium,
		"KUBE-SVC-ERIFXISQEP7F7OF4": OwnerKubeProxy, "KUBE-FIREWALL": OwnerKubeProxy, "cali-fw-cali1234": OwnerCalico,
		"FLANNEL-POSTRTG": OwnerFlannel, "PROXY_INIT_OUTPUT": OwnerLinkerd, "KUMA_MESH_INBOUND": OwnerKuma,
		"MIRRORD_INPUT": OwnerMirrord, "MIRRORD_INPUT_k3x9q": OwnerMirrord, "MRDIN_a1b2c3": OwnerMirrord,
		"MRD_ROUTE_LOCALNET": OwnerMirrord, "DOCKER": OwnerUnknown, "": OwnerUnknown,
	}
	names := make([]string, 0, len(tests))
	for n := range tests {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if got := ChainOwner(n); got != tests[n] {
			t.Errorf("ChainOwner(%q) = %v, want %v", n, got, tests[n])
		}
	}
}

// ISTIO_OUTPUT is shared by both Istio capture modes; its rules, its table
// and the rest of the rule set decide.
func TestClassifyIstioOutput(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Owner
	}{
		{"sidecar by owner match", "*nat\n:ISTIO_OUTPUT - [0:0]\n-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN\nCOMMIT\n", OwnerIstioSidecar},
		{"sidecar by jump", "*nat\n:ISTIO_OUTPUT - [0:0]\n:ISTIO_REDIRECT - [0:0]\n-A ISTIO_OUTPUT -j ISTIO_REDIRECT\nCOMMIT\n", OwnerIstioSidecar},
		{"ambient by mark mask", "*nat\n:ISTIO_OUTPUT - [0:0]\n-A ISTIO_OUTPUT -p tcp -m mark --mark 0x111/0xfff -j ACCEPT\nCOMMIT\n", OwnerIstioAmbientPod},
		{"ambient by table", "*mangle\n:ISTIO_OUTPUT - [0:0]\nCOMMIT\n", OwnerIstioAmbientPod},
		{"ambient by ISTIO_PRERT elsewhere", "*raw\n:ISTIO_PRERT - [0:0]\nCOMMIT\n*nat\n:ISTIO_OUTPUT - [0:0]\n-A ISTIO_OUTPUT -d 169.254.7.127/32 -p tcp -m tcp -j ACCEPT\nCOMMIT\n", OwnerIstioAmbientPod},
		{"empty defaults to sidecar", "*nat\n:ISTIO_OUTPUT - [0:0]\nCOMMIT\n", OwnerIstioSidecar},
	}
	for _, tt := range tests {
		rs := ParseSave([]byte(tt.in))
		noErrors(t, rs)
		var got Owner
		for c := range rs.Chains() {
			if c.Name == "ISTIO_OUTPUT" {
				got = c.Owner
			}
		}
		if got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestClassifyInheritsOwner(t *testing.T) {
	in := "*nat\n:PREROUTING ACCEPT [0:0]\n:ISTIO_INBOUND - [0:0]\n:CUSTOM - [0:0]\n:DEEPER - [0:0]\n:SHARED - [0:0]\n:ORPHAN - [0:0]\n:CALI_LIKE - [0:0]\n" +
		"-A PREROUTING -j CUSTOM\n" +
		"-A ISTIO_INBOUND -j CUSTOM\n" +
		"-A CUSTOM -j DEEPER\n" +
		"-A ISTIO_INBOUND -j SHARED\n" +
		"-A MIRRORD_INPUT -j SHARED\n" +
		"-A CALI_LIKE -m comment --comment cali:abc -j RETURN\n" +
		"COMMIT\n"
	rs := ParseSave([]byte(in))
	want := map[string]Owner{
		"CUSTOM": OwnerIstioSidecar, "DEEPER": OwnerIstioSidecar, "SHARED": OwnerUnknown,
		"ORPHAN": OwnerUnknown, "CALI_LIKE": OwnerCalico, "MIRRORD_INPUT": OwnerMirrord,
	}
	for name, o := range want {
		if got := chainOf(t, rs, "nat", name).Owner; got != o {
			t.Errorf("%s owner %v, want %v", name, got, o)
		}
	}
}

func TestHooks(t *testing.T) {
	rs := ParseSave(readFixture(t, "sidecar-mirrord.save"))
	tests := map[string]Hook{
		"ISTIO_INBOUND":     HookPrerouting,
		"ISTIO_IN_REDIRECT": HookPrerouting | HookOutput, // from ISTIO_INBOUND and from ISTIO_OUTPUT
		"ISTIO_REDIRECT":    HookOutput,
		"POSTROUTING":       HookPostrouting,
	}
	for name, want := range tests {
		if got := chainOf(t, rs, "nat", name).Hooks; got != want {
			t.Errorf("%s hooks %v, want %v", name, got, want)
		}
	}
	// Loops end.
	loop := ParseSave([]byte("*filter\n:INPUT ACCEPT [0:0]\n:A - [0:0]\n:B - [0:0]\n-A INPUT -j A\n-A A -j B\n-A B -j A\nCOMMIT\n"))
	if got := chainOf(t, loop, "filter", "B").Hooks; got != HookInput {
		t.Errorf("loop hooks %v", got)
	}
	if got := (HookPrerouting | HookPostrouting | HookEgress).String(); got != "prerouting,postrouting,egress" {
		t.Errorf("Hook.String() = %q", got)
	}
}

func TestOwnerNames(t *testing.T) {
	var got []string
	for o := OwnerUnknown; o <= OwnerKuma+1; o++ {
		got = append(got, o.String())
	}
	want := []string{"unknown", "builtin", "istio-sidecar", "istio-ambient-pod", "istio-ambient-host", "mirrord",
		"cilium", "kube-proxy", "calico", "flannel", "linkerd", "kuma", "unknown"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("owner names %v", got)
	}
	if !OwnerKuma.IsComponent() || OwnerBuiltin.IsComponent() || (OwnerKuma + 1).IsComponent() || !OwnerIstioAmbientHost.IsIstio() || OwnerMirrord.IsIstio() {
		t.Error("owner predicates wrong")
	}
}
