package netpol

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analysis/analysistest"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

func reserved(c Class, ip string) Peer {
	p := Peer{Class: c}
	if ip != "" {
		p.IP = netip.MustParseAddr(ip)
	}
	return p
}

func TestCiliumIngress(t *testing.T) {
	f := load(t, Options{Engine: EngineCilium}, "cilium.yaml")
	api := "CiliumNetworkPolicy/cil/api"
	apiDenied := []string{api + " .spec.endpointSelector select", "CiliumClusterwideNetworkPolicy/deny-bad-host .spec.endpointSelector select"}
	cases := []struct {
		name  string
		src   Peer
		dst   string
		port  uint16
		proto string
		want  want
	}{
		{"fromEndpoints, named port", f.peer("cil/fe"), "cil/api", 8080, "TCP", want{true, true, []string{api + " .spec.ingress[0].fromEndpoints[0] allow port.spec.ingress[0].toPorts[0].ports[0]"}}},
		{"fromEndpoints without a namespace label is the policy's namespace", f.peer("ext/fe"), "cil/api", 8080, "TCP", want{false, true, apiDenied}},
		{"fromEndpoints naming the namespace (k8s: prefix)", f.peer("ext/fe"), "cil/api", 9000, "TCP", want{true, true, []string{api + " .spec.ingress[1].fromEndpoints[0] allow port.spec.ingress[1].toPorts[0].ports[0]"}}},
		{"protocol ANY by default", f.peer("ext/fe"), "cil/api", 9000, "UDP", want{true, true, []string{api + " .spec.ingress[1].fromEndpoints[0] allow port.spec.ingress[1].toPorts[0].ports[0]"}}},
		{"named namespace excludes the policy's own", f.peer("cil/fe"), "cil/api", 9000, "TCP", want{false, true, apiDenied}},
		{"entity health", reserved(ClassHealth, ""), "cil/api", 4240, "TCP", want{true, true, []string{api + " .spec.ingress[2].fromEntities[0] allow"}}},
		{"fromCIDRSet with endPort", world("172.17.0.1"), "cil/api", 8085, "TCP", want{true, true, []string{api + " .spec.ingress[3].fromCIDRSet[0] allow port.spec.ingress[3].toPorts[0].ports[0]"}}},
		{"fromCIDRSet except", world("172.16.5.1"), "cil/api", 8085, "TCP", want{false, true, apiDenied}},
		{"past endPort", world("172.17.0.1"), "cil/api", 8091, "TCP", want{false, true, apiDenied}},
		{"CIDR does not match remote-node by default", reserved(ClassRemoteNode, "172.17.0.1"), "cil/api", 8085, "TCP", want{false, true, apiDenied}},
		{"CIDR does not match a Cilium pod by address", Peer{Class: ClassPod, Pod: f.pod("cil/fe"), IP: netip.MustParseAddr("172.17.0.9")}, "cil/api", 8085, "TCP", want{false, true, apiDenied}},
		{"deny in a clusterwide policy beats the allow", world("172.17.0.66"), "cil/api", 8085, "TCP", want{false, true, []string{"CiliumClusterwideNetworkPolicy/deny-bad-host .spec.ingressDeny[0].fromCIDR[0] deny"}}},
		{"namespace labels select across namespaces", f.peer("blue-ns/x"), "cil/api", 1234, "TCP", want{true, true, []string{api + " .spec.ingress[4].fromEndpoints[0] allow"}}},
		{"local host allowed in (allow-localhost)", reserved(ClassHost, "192.168.0.1"), "cil/api", 8080, "TCP", want{true, true, nil}},
		{"enableDefaultDeny false: not isolated", world("1.2.3.4"), "cil/open", 80, "TCP", want{true, false, nil}},
		{"enableDefaultDeny false: its allow counts when another policy isolates", f.peer("cil/fe"), "cil/open2", 80, "TCP", want{true, true, []string{"CiliumNetworkPolicy/cil/open .spec.ingress[0].fromEndpoints[0] allow port.spec.ingress[0].toPorts[0].ports[0]"}}},
		{"only the isolating policy is named", world("1.2.3.4"), "cil/open2", 80, "TCP", want{false, true, []string{"NetworkPolicy/cil/locked .spec.podSelector select"}}},
		{"ingress: [{}] is default deny", f.peer("cil/fe"), "cil/quiet", 80, "TCP", want{false, true, []string{"CiliumNetworkPolicy/cil/quiet .spec.endpointSelector select"}}},
		{"ports-only rule admits every peer", world("1.2.3.4"), "cil/l4", 53, "UDP", want{true, true, []string{"CiliumNetworkPolicy/cil/l4 .spec.ingress[0] allow port.spec.ingress[0].toPorts[0].ports[0]"}}},
		{"ports-only rule, other protocol", world("1.2.3.4"), "cil/l4", 53, "TCP", want{false, true, []string{"CiliumNetworkPolicy/cil/l4 .spec.endpointSelector select"}}},
		{"entity cluster: remote-node", reserved(ClassRemoteNode, "192.168.0.2"), "cil/worker", 22, "TCP", want{true, true, []string{"CiliumNetworkPolicy/cil/worker .spec.ingress[0].fromEntities[0] allow"}}},
		{"entity cluster: a pod of another namespace", f.peer("ext/fe"), "cil/worker", 22, "TCP", want{true, true, []string{"CiliumNetworkPolicy/cil/worker .spec.ingress[0].fromEntities[0] allow"}}},
		{"entity cluster: kube-apiserver", reserved(ClassKubeAPIServer, ""), "cil/worker", 22, "TCP", want{true, true, []string{"CiliumNetworkPolicy/cil/worker .spec.ingress[0].fromEntities[0] allow"}}},
		{"entity cluster: unmanaged", reserved(ClassUnmanaged, ""), "cil/worker", 22, "TCP", want{true, true, []string{"CiliumNetworkPolicy/cil/worker .spec.ingress[0].fromEntities[0] allow"}}},
		{"entity world on its port", world("1.1.1.1"), "cil/worker", 443, "TCP", want{true, true, []string{"CiliumNetworkPolicy/cil/worker .spec.ingress[1].fromEntities[0] allow port.spec.ingress[1].toPorts[0].ports[0]"}}},
		{"entity world, other port", world("1.1.1.1"), "cil/worker", 80, "TCP", want{false, true, []string{"CiliumNetworkPolicy/cil/worker .spec.endpointSelector select"}}},
		{"specs[0]", f.peer("cil/fe"), "cil/multi", 80, "TCP", want{true, true, []string{"CiliumNetworkPolicy/cil/multi .specs[0].ingress[0].fromEndpoints[0] allow"}}},
		{"specs[1]: empty fromEndpoints is every pod of the namespace", f.peer("cil/plain"), "cil/multi", 7000, "TCP", want{true, true, []string{"CiliumNetworkPolicy/cil/multi .specs[1].ingress[0].fromEndpoints[0] allow port.specs[1].ingress[0].toPorts[0].ports[0]"}}},
		{"specs: both named on denial", f.peer("ext/fe"), "cil/multi", 7000, "TCP", want{false, true, []string{"CiliumNetworkPolicy/cil/multi .specs[0].endpointSelector select", "CiliumNetworkPolicy/cil/multi .specs[1].endpointSelector select"}}},
		{"nothing selects", world("1.2.3.4"), "cil/plain", 80, "TCP", want{true, false, nil}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			check(t, f.e.Ingress(c.src, f.pod(c.dst), c.port, c.proto), c.want)
		})
	}
}

func TestCiliumEgress(t *testing.T) {
	f := load(t, Options{Engine: EngineCilium}, "cilium.yaml")
	eg := "CiliumNetworkPolicy/cil/eg"
	sel := []string{eg + " .spec.endpointSelector select"}
	cases := []struct {
		name string
		dst  Peer
		port uint16
		want want
	}{
		{"named port resolved on the destination", f.peer("cil/api"), 8080, want{true, true, []string{eg + " .spec.egress[0].toEndpoints[0] allow port.spec.egress[0].toPorts[0].ports[0]"}}},
		{"other port of the destination", f.peer("cil/api"), 9000, want{false, true, sel}},
		{"toEntities kube-apiserver", reserved(ClassKubeAPIServer, "192.168.0.10"), 6443, want{true, true, []string{eg + " .spec.egress[1].toEntities[0] allow"}}},
		{"toCIDRSet through a CiliumCIDRGroup", world("203.0.113.9"), 443, want{true, true, []string{eg + " .spec.egress[2].toCIDRSet[0] allow port.spec.egress[2].toPorts[0].ports[0]"}}},
		{"outside the group", world("198.51.100.1"), 443, want{false, true, sel}},
		{"egressDeny", world("203.0.113.9"), 25, want{false, true, []string{eg + " .spec.egressDeny[0].toEntities[0] deny port.spec.egressDeny[0].toPorts[0].ports[0]"}}},
		{"host needs a rule on egress", reserved(ClassHost, "192.168.0.1"), 53, want{false, true, sel}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			check(t, f.e.Egress(f.pod("cil/eg"), c.dst, c.port, "TCP"), c.want)
		})
	}
	v := f.e.Egress(f.pod("cil/eg"), world("198.51.100.1"), 443, "TCP")
	if len(v.Caveats) != 1 || !strings.Contains(v.Caveats[0], "toFQDNs not evaluated") {
		t.Errorf("caveats %q", v.Caveats)
	}
	c := f.e.Check(f.peer("cil/eg"), f.peer("cil/api"), 8080, "TCP")
	if c.Allowed || !c.Egress.Allowed || c.Ingress.Allowed || c.Reason != c.Ingress.Reason {
		t.Errorf("eg→api: %+v", c)
	}
	// Egress from a pod with only ingress policy: not isolated.
	check(t, f.e.Egress(f.pod("cil/quiet"), world("1.2.3.4"), 80, "TCP"), want{true, false, nil})
}

func TestCiliumOptions(t *testing.T) {
	// policy-cidr-match-mode=nodes: CIDR rules match node identities.
	f := load(t, Options{Engine: EngineCilium, CIDRMatchNodes: true}, "cilium.yaml")
	check(t, f.e.Ingress(reserved(ClassRemoteNode, "172.17.0.1"), f.pod("cil/api"), 8085, "TCP"),
		want{true, true, []string{"CiliumNetworkPolicy/cil/api .spec.ingress[3].fromCIDRSet[0] allow port.spec.ingress[3].toPorts[0].ports[0]"}})
	// Still never a Cilium pod by its address.
	check(t, f.e.Ingress(Peer{Class: ClassPod, Pod: f.pod("cil/fe"), IP: netip.MustParseAddr("172.17.0.9")}, f.pod("cil/api"), 8085, "TCP"),
		want{false, true, []string{"CiliumNetworkPolicy/cil/api .spec.endpointSelector select", "CiliumClusterwideNetworkPolicy/deny-bad-host .spec.endpointSelector select"}})

	f = load(t, Options{Engine: EngineCilium, HostRequiresPolicy: true}, "cilium.yaml")
	check(t, f.e.Ingress(reserved(ClassHost, "192.168.0.1"), f.pod("cil/quiet"), 8080, "TCP"),
		want{false, true, []string{"CiliumNetworkPolicy/cil/quiet .spec.endpointSelector select"}})

	f = load(t, Options{Engine: EngineCilium, CiliumEnforcement: EnforceAlways}, "cilium.yaml")
	v := f.e.Ingress(f.peer("cil/fe"), f.pod("cil/plain"), 80, "TCP")
	check(t, v, want{false, true, nil})
	if !strings.Contains(v.Reason, "enforcement mode is always") {
		t.Errorf("reason %q", v.Reason)
	}
	check(t, f.e.Egress(f.pod("cil/plain"), world("1.2.3.4"), 80, "TCP"), want{false, true, nil})
	check(t, f.e.Ingress(reserved(ClassHost, ""), f.pod("cil/plain"), 80, "TCP"), want{true, true, nil})
	check(t, f.e.Ingress(world("1.2.3.4"), f.pod("cil/open"), 80, "TCP"), want{false, true, nil})

	f = load(t, Options{Engine: EngineCilium, CiliumEnforcement: EnforceNever}, "cilium.yaml")
	check(t, f.e.Ingress(f.peer("cil/fe"), f.pod("cil/quiet"), 80, "TCP"), want{true, false, nil})
	check(t, f.e.Ingress(world("172.17.0.66"), f.pod("cil/api"), 8085, "TCP"), want{true, false, nil})

	// Dual-stack: unknown addresses are world-ipv4/-ipv6; entity world
	// covers both.
	f = load(t, Options{Engine: EngineCilium, DualStack: true}, "cilium.yaml")
	p := f.e.CiliumView(f.pod("ext/fe"), false, netip.Addr{})
	if p.Class != ClassWorldIPv4 {
		t.Fatalf("dual-stack view %+v", p)
	}
	check(t, f.e.Ingress(p, f.pod("cil/worker"), 443, "TCP"), want{true, true, []string{"CiliumNetworkPolicy/cil/worker .spec.ingress[1].fromEntities[0] allow port.spec.ingress[1].toPorts[0].ports[0]"}})
	if p := f.e.WorldPeer(netip.MustParseAddr("2001:db8::1")); p.Class != ClassWorldIPv6 {
		t.Errorf("IPv6 world peer %+v", p)
	}

	for _, bad := range []Options{{Engine: "calico"}, {CiliumEnforcement: "sometimes"}} {
		if _, err := New(f.s, bad); err == nil {
			t.Errorf("New(%+v) accepted", bad)
		}
	}
}

// Cilium kinds are inert under a generic engine.
func TestCiliumKindsIgnoredByKubernetesEngine(t *testing.T) {
	f := load(t, Options{}, "cilium.yaml")
	check(t, f.e.Ingress(world("1.2.3.4"), f.pod("cil/quiet"), 80, "TCP"), want{true, false, nil})
	if got := len(f.e.Policies()); got != 1 {
		t.Errorf("%d policies, want the one NetworkPolicy", got)
	}
}

func TestCiliumIntrospection(t *testing.T) {
	f := load(t, Options{Engine: EngineCilium}, "cilium.yaml")
	names := func(objs []*snapshot.Object) string {
		var s []string
		for _, o := range objs {
			s = append(s, o.Key.Namespace+"/"+o.Key.Name)
		}
		return strings.Join(s, " ")
	}
	ccnp := f.s.Get(KindCiliumClusterwideNetworkPolicy, "", "deny-bad-host")
	if got := names(f.e.SelectedPods(ccnp)); got != "cil/api" {
		t.Errorf("SelectedPods(deny-bad-host) = %q", got)
	}
	multi := f.s.Get(KindCiliumNetworkPolicy, "cil", "multi")
	if got := names(f.e.SelectedPods(multi)); got != "cil/multi" {
		t.Errorf("SelectedPods(multi) = %q", got)
	}
	sels := f.e.PoliciesSelecting(f.pod("cil/api"))
	if len(sels) != 2 || sels[0].Policy.Key.Name != "api" || sels[1].Policy != ccnp || !sels[1].Isolates[Ingress] || sels[1].Isolates[Egress] {
		t.Errorf("PoliciesSelecting(cil/api) = %+v", sels)
	}
	api := f.e.IngressPeers(f.s.Get(KindCiliumNetworkPolicy, "cil", "api"))
	if api.OnlySelectors() || len(api.Selectors) != 3 || len(api.CIDRs) != 1 || len(api.Reserved) != 1 || len(api.WorldOrNode) != 0 {
		t.Errorf("IngressPeers(api) = %+v", api)
	}
	worker := f.e.IngressPeers(f.s.Get(KindCiliumNetworkPolicy, "cil", "worker"))
	if worker.OnlySelectors() || len(worker.WorldOrNode) != 2 {
		t.Errorf("IngressPeers(worker) = %+v", worker)
	}
	if s := f.e.IngressPeers(multi); !s.OnlySelectors() {
		t.Errorf("IngressPeers(multi) = %+v", s)
	}
}

func TestProblems(t *testing.T) {
	f := load(t, Options{Engine: EngineCilium}, "cilium.yaml", "problems.yaml")
	var got []string
	for _, p := range f.e.Problems() {
		got = append(got, p.Error())
	}
	wantProblems := []string{
		`NetworkPolicy/cil/bad .spec.ingress[0].from[0]: ipBlock.cidr: netip.ParsePrefix("10.0.0.0/33"): prefix length out of range`,
		`CiliumNetworkPolicy/cil/bad .spec.ingress[0].fromEntities[0]: unknown entity "everyone"`,
		`CiliumNetworkPolicy/cil/bad .spec.ingress[1].fromCIDRSet[0].cidrGroupRef: CiliumCIDRGroup "missing" is not in the input`,
		`CiliumNetworkPolicy/cil/elsewhere .spec.endpointSelector: namespace [ext] in the endpointSelector: Cilium replaces it by the policy's namespace cil`,
	}
	if strings.Join(got, "\n") != strings.Join(wantProblems, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantProblems, "\n"))
	}
	// The readable peer of the same rule still works; the broken ones
	// match nothing.
	check(t, f.e.Ingress(f.peer("cil/fe"), f.pod("cil/plain"), 80, "TCP"), want{true, true, []string{"NetworkPolicy/cil/bad .spec.ingress[0].from[1] allow"}})
	// A CNP selects in its own namespace whatever namespace its
	// endpointSelector names.
	check(t, f.e.Ingress(world("10.0.0.1"), f.pod("cil/plain"), 80, "TCP"), want{true, true, []string{"CiliumNetworkPolicy/cil/elsewhere .spec.ingress[0].fromEntities[0] allow"}})
	k := load(t, Options{}, "cilium.yaml", "problems.yaml")
	check(t, k.e.Ingress(world("10.0.0.1"), k.pod("cil/plain"), 80, "TCP"), want{false, true, []string{"NetworkPolicy/cil/bad .spec.podSelector select"}})
}

func TestDetectOptionsAndFact(t *testing.T) {
	s := analysistest.Load(t, "testdata/cilium_config.yaml")
	opt, src := DetectOptions(s)
	want := Options{Engine: EngineCilium, CiliumEnforcement: EnforceAlways, CIDRMatchNodes: true, ClusterName: "c1", DualStack: true, HostRequiresPolicy: true}
	if opt != want || src != "ConfigMap ConfigMap/kube-system/cilium-config" {
		t.Errorf("DetectOptions = %+v, %q", opt, src)
	}
	opt, src = DetectOptions(analysistest.Load(t, "testdata/incident_d.yaml"))
	if opt.Engine != EngineCilium || !strings.Contains(src, "CiliumNode") {
		t.Errorf("from CiliumNode: %+v, %q", opt, src)
	}
	opt, _ = DetectOptions(analysistest.Load(t, "testdata/k8s.yaml"))
	if opt.Engine != EngineKubernetes {
		t.Errorf("k8s only: %+v", opt)
	}

	snap := analysistest.Load(t, "testdata/cilium.yaml", "testdata/problems.yaml")
	var got *Evaluator
	probe := &analysis.Analyzer{Code: "MD" + "999", Name: "probe", Severity: analysis.Info, Summary: "s", Doc: "d",
		Requires: []*analysis.Fact{Fact}, Reads: Reads,
		Run: func(p *analysis.Pass) error { got = p.ResultOf(Fact).(*Evaluator); return nil }}
	res := analysis.Run(context.Background(), snap, analysis.RunConfig{Analyzers: []*analysis.Analyzer{probe}})
	if len(res.Errors) > 0 || got == nil {
		t.Fatalf("fact: %v", res.Errors)
	}
	if got.Options().Engine != EngineCilium || !strings.Contains(got.OptionsSource(), "CiliumNetworkPolicy") || len(got.Problems()) != 4 {
		t.Errorf("fact evaluator: %+v %q %v", got.Options(), got.OptionsSource(), got.Problems())
	}
	if len(res.NotChecked) == 0 {
		t.Errorf("problems not reported as not checked: %+v", res)
	}
}

// CIDRPeers lists every address-range peer with its rule, direction, role,
// spec selector and ports, for NetworkPolicy ipBlocks and Cilium CIDR rules
// alike (a cidrGroupRef resolved to its CIDRs).
func TestCIDRPeers(t *testing.T) {
	render := func(cps []CIDRPeer) string {
		var out []string
		for _, cp := range cps {
			s := fmt.Sprintf("%s %s %s sel=%s %s", cp.Rule.String(), cp.Direction, cp.Rule.Role, cp.Selector, cp.CIDR)
			for _, ex := range cp.Except {
				s += " -" + ex.String()
			}
			for _, p := range cp.Ports {
				s += fmt.Sprintf(" %s%s:%d-%d%s", p.Path, p.Proto, p.Port, p.End, p.Name)
			}
			out = append(out, s)
		}
		return strings.Join(out, "\n")
	}
	c := load(t, Options{Engine: EngineCilium}, "cilium.yaml")
	for _, tc := range []struct {
		obj  *snapshot.Object
		want string
	}{
		{c.s.Get(KindCiliumNetworkPolicy, "cil", "api"),
			"CiliumNetworkPolicy/cil/api .spec.ingress[3].fromCIDRSet[0] ingress allow sel=.spec.endpointSelector 172.16.0.0/12 -172.16.5.0/24 .spec.ingress[3].toPorts[0].ports[0]TCP:8080-8090"},
		{c.s.Get(KindCiliumClusterwideNetworkPolicy, "", "deny-bad-host"),
			"CiliumClusterwideNetworkPolicy/deny-bad-host .spec.ingressDeny[0].fromCIDR[0] ingress deny sel=.spec.endpointSelector 172.17.0.66/32"},
		{c.s.Get(KindCiliumNetworkPolicy, "cil", "eg"),
			"CiliumNetworkPolicy/cil/eg .spec.egress[2].toCIDRSet[0] egress allow sel=.spec.endpointSelector 203.0.113.0/24 .spec.egress[2].toPorts[0].ports[0]:443-443"},
		{c.s.Get(KindCiliumNetworkPolicy, "cil", "multi"), ""},
	} {
		if got := render(c.e.CIDRPeers(tc.obj)); got != tc.want {
			t.Errorf("CIDRPeers(%s):\n%s\nwant:\n%s", tc.obj.Ref(), got, tc.want)
		}
	}
	k := load(t, Options{}, "k8s.yaml")
	got := render(k.e.CIDRPeers(k.s.Get(KindNetworkPolicy, "app", "egress")))
	want := "NetworkPolicy/app/egress .spec.egress[1].to[0] egress allow sel=.spec.podSelector 0.0.0.0/0 -10.0.0.0/8 .spec.egress[1].ports[0]TCP:443-443"
	if got != want {
		t.Errorf("CIDRPeers(egress):\n%s\nwant:\n%s", got, want)
	}
	if k.e.CIDRPeers(c.s.Get(KindCiliumNetworkPolicy, "cil", "api")) != nil {
		t.Error("CIDRPeers of an object the evaluator does not hold should be nil")
	}
}

func TestCiliumConfig(t *testing.T) {
	if cm := CiliumConfig(analysistest.Load(t, "testdata/cilium_config.yaml")); cm == nil || cm.Ref() != "ConfigMap/kube-system/cilium-config" {
		t.Errorf("CiliumConfig = %v", cm)
	}
	if cm := CiliumConfig(analysistest.Load(t, "testdata/incident_d.yaml")); cm != nil {
		t.Errorf("no cilium-config in the input: got %s", cm.Ref())
	}
}
