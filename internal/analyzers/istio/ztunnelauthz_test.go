package istio

import (
	"net/netip"
	"sort"
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/analysis/analysistest"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

func TestZtunnelEvaluate(t *testing.T) {
	s := analysistest.Load(t, "testdata/ztunnel/authz.yaml")
	web := ZtunnelConn{Identity: "spiffe://cluster.local/ns/shop/sa/web", SrcIP: netip.MustParseAddr("10.0.1.10"), DstIP: netip.MustParseAddr("10.0.2.20"), DstPort: 8080}
	plain := ZtunnelConn{SrcIP: netip.MustParseAddr("10.9.0.1"), DstIP: web.DstIP, DstPort: 8080}
	other := web
	other.Identity = "spiffe://cluster.local/ns/billing/sa/web"
	other.SrcIP = netip.MustParseAddr("10.0.3.3")
	for _, tc := range []struct {
		policy string
		conn   ZtunnelConn
		want   Match
		why    string // part of the deciding rule's reason
	}{
		{"principal-exact", web, Matches, ""},
		{"principal-exact", other, NoMatch, `principals requires ["cluster.local/ns/shop/sa/web"] (the peer is cluster.local/ns/billing/sa/web)`},
		{"principal-exact", plain, NoMatch, "plaintext"},
		{"principal-suffix", other, Matches, ""},
		// ztunnel compares trust domains as written; aliases may apply
		{"principal-other-td", web, MayMatch, ""},
		{"not-principals-any", plain, Matches, ""},
		{"not-principals-any", web, NoMatch, "notPrincipals excludes"},
		{"namespaces", web, Matches, ""},
		{"namespaces", other, NoMatch, `namespaces requires ["shop"]`},
		// a bare name is in the policy's namespace
		{"service-accounts", web, Matches, ""},
		{"service-accounts", other, NoMatch, "serviceAccounts requires"},
		{"ports", web, Matches, ""},
		{"not-ports", web, NoMatch, "the connection is to port 8080"},
		{"ip-blocks", web, Matches, ""},
		{"ip-blocks", other, NoMatch, "the peer is 10.0.3.3"},
		{"when-l4", web, Matches, ""},
		{"when-l4", other, NoMatch, "source.namespace values"},
		// an ALLOW rule with HTTP attributes is left out for ztunnel
		{"allow-http", web, NoMatch, "HTTP attributes (methods)"},
		{"allow-when-http", web, NoMatch, "HTTP attributes (when request.headers[x-user])"},
		// a DENY rule keeps its L4 part
		{"deny-http", web, MayMatch, ""},
		{"deny-http-other", web, NoMatch, "principals requires"},
		{"allow-nothing", web, NoMatch, ""},
		{"allow-all", plain, Matches, ""},
	} {
		o := s.Get(snapshot.KindAuthzPolicy, "shop", tc.policy)
		if o == nil {
			t.Fatalf("no policy %s", tc.policy)
		}
		v := ZtunnelEvaluate(o, tc.conn)
		if v.Match != tc.want {
			t.Errorf("%s with %s: %s, want %s (%+v)", tc.policy, tc.conn.Identity, v.Match, tc.want, v.Rules)
			continue
		}
		if tc.why != "" && (len(v.Rules) == 0 || !strings.Contains(v.Rules[0].Why, tc.why)) {
			t.Errorf("%s with %s: reason %+v lacks %q", tc.policy, tc.conn.Identity, v.Rules, tc.why)
		}
	}
}

func TestZtunnelPolicies(t *testing.T) {
	s := analysistest.Load(t, "testdata/ztunnel/authz.yaml")
	pod := s.Get(snapshot.KindPod, "shop", "api-1")
	var got []string
	pols, unreadable := ZtunnelPolicies(s, "istio-system", pod)
	if len(unreadable) > 0 {
		t.Errorf("unreadable: %v", unreadable)
	}
	for _, o := range pols {
		got = append(got, o.Key.Namespace+"/"+o.Key.Name)
	}
	sort.Strings(got)
	// Not: other-workload (selector), waypoint-only (targetRefs), custom
	// (CUSTOM), other-namespace.
	for _, absent := range []string{"shop/other-workload", "shop/waypoint-only", "shop/custom", "billing/other-namespace"} {
		for _, g := range got {
			if g == absent {
				t.Errorf("%s does not apply to ztunnel for shop/api-1: %v", absent, got)
			}
		}
	}
	for _, present := range []string{"istio-system/mesh-wide", "shop/selects-api", "shop/allow-all", "shop/deny-http"} {
		found := false
		for _, g := range got {
			found = found || g == present
		}
		if !found {
			t.Errorf("%s applies to shop/api-1: %v", present, got)
		}
	}
}
