package netpol

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/analysis/analysistest"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// fixture is a loaded snapshot with an evaluator.
type fixture struct {
	t *testing.T
	s *snapshot.Snapshot
	e *Evaluator
}

func load(t *testing.T, opt Options, files ...string) *fixture {
	t.Helper()
	for i, f := range files {
		files[i] = "testdata/" + f
	}
	s := analysistest.Load(t, files...)
	e, err := New(s, opt)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, s: s, e: e}
}

func (f *fixture) pod(ref string) *snapshot.Object {
	f.t.Helper()
	ns, name, _ := strings.Cut(ref, "/")
	o := f.s.Get(snapshot.KindPod, ns, name)
	if o == nil {
		f.t.Fatalf("no pod %s", ref)
	}
	return o
}

func (f *fixture) peer(ref string) Peer { return f.e.PodPeer(f.pod(ref)) }

func world(ip string) Peer { return Peer{Class: ClassWorld, IP: netip.MustParseAddr(ip)} }

// want is an expected verdict: allowed or not, and the deciding refs as
// "Kind/ns/name path role" (peer path when a peer matched).
type want struct {
	allowed  bool
	isolated bool
	deciding []string
}

func refs(v Verdict) []string {
	var out []string
	for _, r := range v.Deciding {
		s := r.String() + " " + string(r.Role)
		if r.Port != nil {
			s += " port" + r.Port.String()
		}
		out = append(out, s)
	}
	return out
}

func check(t *testing.T, v Verdict, w want) {
	t.Helper()
	if v.Allowed != w.allowed || v.Isolated != w.isolated {
		t.Errorf("allowed=%v isolated=%v, want allowed=%v isolated=%v (%s)", v.Allowed, v.Isolated, w.allowed, w.isolated, v.Reason)
	}
	got, exp := strings.Join(refs(v), "\n"), strings.Join(w.deciding, "\n")
	if got != exp {
		t.Errorf("deciding:\n%s\nwant:\n%s\n(%s)", got, exp, v.Reason)
	}
}

func TestKubernetesIngress(t *testing.T) {
	for _, engine := range []Engine{EngineKubernetes, EngineCilium} {
		t.Run(string(engine), func(t *testing.T) {
			f := load(t, Options{Engine: engine}, "k8s.yaml")
			webAllow := "NetworkPolicy/app/web-allow"
			sel := func(p string) string { return p + " .spec.podSelector select" }
			cases := []struct {
				name  string
				src   Peer
				dst   string
				port  uint16
				proto string
				want  want
			}{
				{"named port resolved on the destination", f.peer("app/client"), "app/web", 8080, "", want{true, true, []string{webAllow + " .spec.ingress[0].from[0] allow port.spec.ingress[0].ports[0]"}}},
				{"port not named in the rule", f.peer("app/client"), "app/web", 9090, "TCP", want{false, true, []string{sel(webAllow)}}},
				{"named port of another protocol (dns is UDP, the rule TCP)", f.peer("app/client"), "app/web", 53, "UDP", want{false, true, []string{sel(webAllow)}}},
				{"podSelector alone is the policy's namespace only", f.peer("other/client"), "app/web", 8080, "TCP", want{false, true, []string{sel(webAllow)}}},
				{"namespaceSelector AND podSelector in one peer", f.peer("mon/prom"), "app/web", 9090, "TCP", want{true, true, []string{webAllow + " .spec.ingress[1].from[0] allow port.spec.ingress[1].ports[0]"}}},
				{"namespace matches but pod does not (AND)", f.peer("mon/grafana"), "app/web", 9090, "TCP", want{false, true, []string{sel(webAllow)}}},
				{"separate peers are ORed: namespaceSelector", f.peer("other/peer"), "app/web", 53, "udp", want{true, true, []string{webAllow + " .spec.ingress[2].from[0] allow port.spec.ingress[2].ports[0]"}}},
				{"separate peers are ORed: podSelector", f.peer("app/db"), "app/web", 53, "UDP", want{true, true, []string{webAllow + " .spec.ingress[2].from[1] allow port.spec.ingress[2].ports[0]"}}},
				{"protocol must match", f.peer("other/peer"), "app/web", 53, "TCP", want{false, true, []string{sel(webAllow)}}},
				{"ipBlock, no ports: every port", world("192.168.5.5"), "app/web", 1234, "TCP", want{true, true, []string{webAllow + " .spec.ingress[3].from[0] allow"}}},
				{"ipBlock except", world("192.168.1.7"), "app/web", 1234, "TCP", want{false, true, []string{sel(webAllow)}}},
				{"endPort low bound", world("8.8.8.8"), "app/range", 30000, "TCP", want{true, true, []string{"NetworkPolicy/app/range .spec.ingress[0] allow port.spec.ingress[0].ports[0]"}}},
				{"endPort high bound", f.peer("app/client"), "app/range", 30010, "TCP", want{true, true, []string{"NetworkPolicy/app/range .spec.ingress[0] allow port.spec.ingress[0].ports[0]"}}},
				{"past endPort", f.peer("app/client"), "app/range", 30011, "TCP", want{false, true, []string{sel("NetworkPolicy/app/range")}}},
				{"below port", f.peer("app/client"), "app/range", 29999, "TCP", want{false, true, []string{sel("NetworkPolicy/app/range")}}},
				{"policyTypes Ingress without rules denies all", f.peer("app/client"), "app/isolated", 80, "TCP", want{false, true, []string{sel("NetworkPolicy/app/isolated")}}},
				{"a pod can reach itself", f.peer("app/isolated"), "app/isolated", 80, "TCP", want{true, false, nil}},
				{"policyTypes absent with egress rules: Ingress still isolated", f.peer("app/client"), "app/egress", 80, "TCP", want{false, true, []string{sel("NetworkPolicy/app/egress")}}},
				{"policyTypes Egress only: ingress rules ignored, not isolated", f.peer("app/client"), "app/eo", 80, "TCP", want{true, false, nil}},
				{"pod no policy selects", world("1.2.3.4"), "app/free", 80, "TCP", want{true, false, nil}},
				{"empty podSelector selects all, empty peer podSelector all of the namespace", f.peer("other/client"), "other/peer", 80, "TCP", want{true, true, []string{"NetworkPolicy/other/same-namespace .spec.ingress[0].from[0] allow"}}},
				{"empty podSelector: other namespaces denied", f.peer("app/client"), "other/peer", 80, "TCP", want{false, true, []string{sel("NetworkPolicy/other/same-namespace")}}},
				{"namespace not in input: name label assumed", f.peer("ghost/g"), "mon/grafana", 3000, "TCP", want{true, true, []string{"NetworkPolicy/mon/from-ghost .spec.ingress[0].from[0] allow port.spec.ingress[0].ports[0]"}}},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					check(t, f.e.Ingress(c.src, f.pod(c.dst), c.port, c.proto), c.want)
				})
			}
			// The engines differ on ipBlock over pod IPs: a generic engine
			// matches the address; Cilium knows other/client as an endpoint.
			v := f.e.Ingress(f.peer("other/client"), f.pod("app/web"), 7000, "TCP")
			if engine == EngineKubernetes {
				check(t, v, want{true, true, []string{webAllow + " .spec.ingress[4].from[0] allow port.spec.ingress[4].ports[0]"}})
			} else {
				check(t, v, want{false, true, []string{sel(webAllow)}})
			}
		})
	}
}

func TestKubernetesEgress(t *testing.T) {
	f := load(t, Options{}, "k8s.yaml")
	eg := "NetworkPolicy/app/egress"
	cases := []struct {
		name string
		dst  Peer
		port uint16
		want want
	}{
		{"named port resolved on the destination pod", f.peer("app/db"), 5432, want{true, true, []string{eg + " .spec.egress[0].to[0] allow port.spec.egress[0].ports[0]"}}},
		{"named port other number", f.peer("app/db"), 5433, want{false, true, []string{eg + " .spec.podSelector select"}}},
		{"ipBlock 0.0.0.0/0", world("8.8.8.8"), 443, want{true, true, []string{eg + " .spec.egress[1].to[0] allow port.spec.egress[1].ports[0]"}}},
		{"ipBlock except", world("10.9.9.9"), 443, want{false, true, []string{eg + " .spec.podSelector select"}}},
		{"other pod", f.peer("app/web"), 8080, want{false, true, []string{eg + " .spec.podSelector select"}}},
		{"own node always allowed", Peer{Class: ClassHost}, 10250, want{true, true, nil}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			check(t, f.e.Egress(f.pod("app/egress"), c.dst, c.port, "TCP"), c.want)
		})
	}
	check(t, f.e.Egress(f.pod("app/eo"), world("8.8.8.8"), 53, "UDP"), want{false, true, []string{"NetworkPolicy/app/egress-only .spec.podSelector select"}})
	check(t, f.e.Egress(f.pod("app/web"), world("8.8.8.8"), 53, "UDP"), want{true, false, nil})
}

func TestKubernetesHostAndCheck(t *testing.T) {
	f := load(t, Options{}, "k8s.yaml")
	v := f.e.Ingress(Peer{Class: ClassHost, IP: netip.MustParseAddr("192.168.0.1")}, f.pod("app/isolated"), 8080, "TCP")
	if !v.Allowed || !strings.Contains(v.Reason, "own node") {
		t.Errorf("host to an isolated pod: %+v", v)
	}
	c := f.e.Check(f.peer("app/egress"), f.peer("app/db"), 5432, "TCP")
	if !c.Allowed || c.Egress == nil || !c.Egress.Allowed || c.Ingress == nil || !c.Ingress.Allowed || c.Ingress.Isolated {
		t.Errorf("egress→db: %+v", c)
	}
	c = f.e.Check(f.peer("app/client"), f.peer("app/egress"), 80, "TCP")
	if c.Allowed || c.Egress == nil || !c.Egress.Allowed || c.Ingress == nil || c.Ingress.Allowed || c.Reason != c.Ingress.Reason {
		t.Errorf("client→egress: %+v", c)
	}
	c = f.e.Check(f.peer("app/egress"), f.peer("app/web"), 8080, "TCP")
	if c.Allowed || c.Reason != c.Egress.Reason {
		t.Errorf("egress→web: %+v", c)
	}
	// An external source: only the destination's ingress is evaluated.
	c = f.e.Check(world("192.168.5.5"), f.peer("app/web"), 80, "TCP")
	if !c.Allowed || c.Egress != nil || c.Ingress == nil {
		t.Errorf("world→web: %+v", c)
	}
}

func TestKubernetesCaveatsAndReasons(t *testing.T) {
	f := load(t, Options{}, "k8s.yaml")
	v := f.e.Ingress(f.peer("ghost/g"), f.pod("mon/grafana"), 3001, "TCP")
	if v.Allowed || len(v.Caveats) != 0 {
		t.Errorf("ports are checked before peers, so no caveat on another port: %+v", v)
	}
	v = f.e.Ingress(f.peer("ghost/g"), f.pod("app/web"), 53, "UDP")
	if v.Allowed || len(v.Caveats) != 1 || !strings.Contains(v.Caveats[0], "namespace ghost is not in the input") {
		t.Errorf("unknown namespace labels: %+v", v)
	}
	v = f.e.Ingress(Peer{Class: ClassWorld}, f.pod("app/web"), 80, "TCP")
	if v.Allowed || len(v.Caveats) != 1 || !strings.Contains(v.Caveats[0], "source address is unknown") {
		t.Errorf("unknown source address: %+v", v)
	}
	const wantReason = "ingress from pod app/client (10.1.0.12) to Pod/app/web on TCP/9090: denied, isolated by NetworkPolicy/app/web-allow .spec.podSelector and no rule allows it"
	if v := f.e.Ingress(f.peer("app/client"), f.pod("app/web"), 9090, ""); v.Reason != wantReason {
		t.Errorf("reason %q\nwant   %q", v.Reason, wantReason)
	}
}

func TestSelectionIntrospection(t *testing.T) {
	f := load(t, Options{}, "k8s.yaml")
	np := func(ref string) *snapshot.Object {
		ns, name, _ := strings.Cut(ref, "/")
		return f.s.Get(KindNetworkPolicy, ns, name)
	}
	names := func(objs []*snapshot.Object) string {
		var s []string
		for _, o := range objs {
			s = append(s, o.Key.Namespace+"/"+o.Key.Name)
		}
		return strings.Join(s, " ")
	}
	for ref, want := range map[string]string{
		"other/selects-nothing": "",
		"other/same-namespace":  "other/client other/peer",
		"app/web-allow":         "app/web",
	} {
		if got := names(f.e.SelectedPods(np(ref))); got != want {
			t.Errorf("SelectedPods(%s) = %q, want %q", ref, got, want)
		}
	}
	if got := f.e.SelectedPods(f.pod("app/web")); got != nil {
		t.Errorf("SelectedPods of a non-policy = %v", got)
	}
	sels := f.e.PoliciesSelecting(f.pod("app/egress"))
	if len(sels) != 1 || sels[0].Policy != np("app/egress") || !sels[0].Ingress || !sels[0].Egress || sels[0].Path.String() != ".spec.podSelector" {
		t.Errorf("PoliciesSelecting(app/egress) = %+v", sels)
	}
	sels = f.e.PoliciesSelecting(f.pod("app/eo"))
	if len(sels) != 1 || sels[0].Ingress || !sels[0].Egress {
		t.Errorf("PoliciesSelecting(app/eo) = %+v", sels)
	}
	if s := f.e.IngressPeers(np("app/web-allow")); s.OnlySelectors() || len(s.Selectors) != 4 || len(s.CIDRs) != 2 {
		t.Errorf("IngressPeers(web-allow) = %+v", s)
	}
	if s := f.e.IngressPeers(np("app/range")); s.OnlySelectors() || len(s.AnyPeer) != 1 {
		t.Errorf("IngressPeers(range) = %+v", s)
	}
	if s := f.e.IngressPeers(np("other/same-namespace")); !s.OnlySelectors() {
		t.Errorf("IngressPeers(same-namespace) = %+v", s)
	}
	if len(f.e.Problems()) != 0 {
		t.Errorf("problems: %v", f.e.Problems())
	}
}
