package istio

import (
	"fmt"
	"strings"

	netv1alpha3 "istio.io/api/networking/v1alpha3"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/istioref"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// How istiod builds a gateway's TCP and TLS filter chains from several
// VirtualServices (pilot/pkg/networking/core/gateway.go):
//
//   - buildGatewayNetworkFiltersFromTCPRoutes, for a plain TCP server or a
//     TLS server terminated into TCP: it walks VirtualServicesForGateway in
//     order, skips those whose hosts do not meet the server's
//     (pickMatchingGatewayHosts), and returns the filters of the first tcp
//     rule whose match holds (l4MultiMatch: only port and gateways are
//     evaluated) and that has a route. Every later tcp rule, of that or any
//     other VirtualService, is never used on that server.
//   - buildGatewayNetworkFiltersFromTLSRoutes, for a PASSTHROUGH server: in
//     the same order, one filter chain per tls match that holds, unless one
//     of its sniHosts is already claimed on that listener port and bind
//     (model.CheckDuplicates, exact names, shared by every passthrough
//     server of the listener): then the whole match is skipped ("duplicate
//     SNI host names").
//
// Unlike http routes, nothing is sorted: the first VirtualService wins.

// l4Rule is one tcp rule, or one tls match, of a VirtualService.
type l4Rule struct {
	vs       *snapshot.Object
	kind     string // "tcp" or "tls"
	rule     int
	match    int // -1: the rule has no match
	sni      []string
	group    int
	position int
	certain  bool
	server   int // rank of the server on its listener
}

func (r *l4Rule) path() snapshot.Path {
	if r.match < 0 {
		return snapshot.P("spec", r.kind, r.rule)
	}
	return snapshot.P("spec", r.kind, r.rule, "match", r.match)
}

func (r *l4Rule) text() string {
	s := fmt.Sprintf("%s %s[%d]", r.vs.Ref(), r.kind, r.rule)
	if r.match >= 0 {
		s += fmt.Sprintf(" match[%d]", r.match)
	}
	return s
}

// precedes tells whether a is certainly used before b.
func (r *l4Rule) precedes(b *l4Rule, fixedServers bool) bool {
	if r.server != b.server {
		return fixedServers && r.server < b.server
	}
	if r.group != b.group {
		return r.group < b.group
	}
	return r.certain && b.certain && r.position < b.position
}

// l4Holds is l4SingleMatch: a gateway evaluates only port and gateways.
func l4Holds(port uint32, gateways []string, serverPort uint32, vsNS, gwKey string) bool {
	if port != 0 && port != serverPort {
		return false
	}
	if len(gateways) == 0 {
		return true
	}
	for _, g := range gateways {
		if g != "mesh" && istioref.GatewayRef(g, vsNS) == gwKey {
			return true
		}
	}
	return false
}

// vsMeetsServer is pickMatchingGatewayHosts not empty.
func vsMeetsServer(ps placedServer, vs *snapshot.Object) bool {
	var vsHosts []string
	for _, h := range virtualService(vs).GetHosts() {
		vsHosts = append(vsHosts, FQDN(h, vs.Key.Namespace))
	}
	return len(hostIntersection(serverHostsFor(ps.hosts, vs.Key.Namespace), vsHosts)) > 0
}

// l4Shadows reports the tcp rules and tls matches of the VirtualServices
// bound to one proxy's Gateways that istiod never uses because another
// VirtualService's rule takes the server first.
func l4Shadows(r *Registry, m *mergedProxy, byGateway map[string][]*snapshot.Object, proxyNS string) []analysis.Finding {
	var out []analysis.Finding
	type lkey struct {
		port uint32
		bind string
	}
	tlsClaims := map[lkey]map[string]*l4Rule{} // listener → SNI host → the match that holds it
	serverRank := map[lkey]int{}
	fixed := map[lkey]bool{}
	firstGW := map[lkey]*Gateway{}
	for i, ps := range m.placed {
		if _, gone := m.dropped[i]; gone {
			continue
		}
		srv := ps.server()
		kind := serverRoutes(srv)
		if kind == "http" || srv.GetTls().GetMode() == netv1alpha3.ServerTLSSettings_AUTO_PASSTHROUGH {
			continue
		}
		gwKey := ps.g.Object.Key.Namespace + "/" + ps.g.Object.Key.Name
		port := srv.GetPort().GetNumber()
		lk := lkey{ps.lk.port, ps.lk.bind}
		if _, ok := firstGW[lk]; !ok {
			firstGW[lk], fixed[lk] = ps.g, true
		} else if g := firstGW[lk]; g != ps.g && (creationTime(g.Object).IsZero() || creationTime(ps.g.Object).IsZero()) {
			fixed[lk] = false
		}
		rank := serverRank[lk]
		serverRank[lk]++
		list, groups := gatewayVSOrder(r, byGateway[gwKey], proxyNS)
		var winner *l4Rule
		for vi, vs := range list {
			if !vsMeetsServer(ps, vs) {
				continue
			}
			spec := virtualService(vs)
			base := l4Rule{vs: vs, kind: kind, group: groups[vi], position: vi, certain: !creationTime(vs).IsZero(), server: rank}
			if kind == "tcp" {
				for ri, rule := range spec.GetTcp() {
					if len(rule.GetRoute()) == 0 {
						continue
					}
					holds, at := len(rule.GetMatch()) == 0, -1
					for mi, mt := range rule.GetMatch() {
						if l4Holds(mt.GetPort(), mt.GetGateways(), port, vs.Key.Namespace, gwKey) {
							holds, at = true, mi
							break
						}
					}
					if !holds {
						continue
					}
					rt := base
					rt.rule, rt.match = ri, at
					if winner == nil {
						winner = &rt
						break
					}
					if winner.vs != vs {
						out = append(out, l4Finding(m, srv, port, &rt, winner, !winner.precedes(&rt, true),
							fmt.Sprintf("the gateway forwards every connection of the %s server on port %d with the first tcp rule that applies, and %s comes first", srv.GetPort().GetProtocol(), port, winner.text())))
					}
					break
				}
				continue
			}
			if tlsClaims[lk] == nil {
				tlsClaims[lk] = map[string]*l4Rule{}
			}
			for ri, rule := range spec.GetTls() {
				if len(rule.GetRoute()) == 0 {
					continue
				}
				for mi, mt := range rule.GetMatch() {
					if !l4Holds(mt.GetPort(), mt.GetGateways(), port, vs.Key.Namespace, gwKey) {
						continue
					}
					rt := base
					rt.rule, rt.match, rt.sni = ri, mi, mt.GetSniHosts()
					var by *l4Rule
					var dups []string
					for _, h := range mt.GetSniHosts() {
						if prev, ok := tlsClaims[lk][h]; ok {
							dups = append(dups, h)
							if by == nil {
								by = prev
							}
						}
					}
					if len(dups) == 0 {
						for _, h := range mt.GetSniHosts() {
							tlsClaims[lk][h] = &rt
						}
						continue
					}
					if by.vs == vs {
						continue // within one VirtualService: not a merge effect
					}
					how := fmt.Sprintf("%s claimed SNI %s on this listener first, and istiod skips a tls match that repeats a claimed SNI host (\"duplicate SNI host names\")", by.text(), strings.Join(dups, ", "))
					if len(dups) < len(mt.GetSniHosts()) {
						how += "; the whole match is skipped, so its other SNI hosts get no filter chain either"
					}
					out = append(out, l4Finding(m, srv, port, &rt, by, !by.precedes(&rt, fixed[lk]), how))
				}
			}
		}
	}
	return out
}

func l4Finding(m *mergedProxy, srv *netv1alpha3.Server, port uint32, e, by *l4Rule, mutual bool, how string) analysis.Finding {
	if mutual {
		how = fmt.Sprintf("it and %s compete for the same connections and only the one istiod takes first is used; which one depends on the VirtualServices' creation times, which the input does not carry (created in the same second, istiod orders them by name, and %s wins)", by.text(), by.text())
	}
	what := "connections"
	if e.kind == "tls" {
		what = "TLS connections with SNI " + strings.Join(e.sni, ", ")
	}
	return analysis.Finding{
		Subject: e.vs.Key,
		Message: fmt.Sprintf("%s is never used on the gateway for %s: several VirtualServices bound to the gateway apply to its %s server on port %d, and %s.", e.text(), what, srv.GetPort().GetProtocol(), port, how),
		Locations: []analysis.Location{
			analysis.LocationOf(e.vs, e.path()),
			analysis.LocationOf(by.vs, by.path()),
		},
		Evidence: []string{
			fmt.Sprintf("%s server, port %d, on %s", srv.GetPort().GetProtocol(), port, m.gp.Describe()),
			"istiod walks the VirtualServices bound to the gateway in order: private to the gateway's namespace, exported to it, then public, each oldest first (creationTimestamp, then name, then namespace); tcp: the first rule that applies takes the server; tls: the first match to claim an SNI host keeps it",
		},
		Remedy: remedyL4[e.kind],
		Key:    e.kind + "|" + e.path().String(),
	}
}

var remedyL4 = map[string]string{
	"tcp": "Keep the tcp route of a gateway TCP server in one VirtualService, or give the VirtualServices different servers (another port, or a tcp match on a port only one of them serves); delete the unused rule if it duplicates the other.",
	"tls": "Claim each SNI host in one tls match of one VirtualService (move the route here, or drop the host from the earlier match); delete the unused match if it duplicates the other.",
}
