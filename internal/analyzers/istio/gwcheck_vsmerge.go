package istio

import (
	"fmt"
	"strconv"

	"google.golang.org/protobuf/proto"
	netv1alpha3 "istio.io/api/networking/v1alpha3"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/istioref"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// How istiod builds a gateway's HTTP virtual host from several
// VirtualServices (pilot/pkg/networking/core/gateway.go,
// buildGatewayHTTPRouteConfig): for each server of the route configuration
// (the merged Gateways' servers, oldest Gateway first), it walks the
// VirtualServices bound to the server's Gateway as
// PushContext.VirtualServicesForGateway lists them — those private to the
// proxy's namespace, then those exported to it by name, then public ones,
// each group in sortConfigByCreationTime order (creation time, then name,
// then namespace) — and appends each one's routes to the virtual host of
// every host in the intersection of server and VirtualService hosts. Then
// route.SortVHostRoutes moves every catch-all route (path prefix "/" or
// regex ".*" with no header or query condition) to the end, keeping the
// order of the others. So an earlier VirtualService's default route does
// not hide a later one's specific routes, but an earlier specific route
// (prefix "/api") does hide a later one it covers ("/api/v2"), and only
// the first VirtualService's default route is ever used.

// vhostRoute is one Envoy route of a merged gateway virtual host: one
// match (or the match-less rule) of one VirtualService http rule.
type vhostRoute struct {
	vs       *snapshot.Object
	rule     int
	match    int                           // -1: the rule has no match
	m        *netv1alpha3.HTTPMatchRequest // the conditions Envoy evaluates; nil matches all
	catchAll bool
	server   int  // index of the server whose walk appended it
	group    int  // 0 private, 1 exported, 2 public (VirtualServicesForGateway)
	ownDead  bool // covered by an earlier route of its own VirtualService (MD013/MD014)
	gw       *Gateway
	certain  bool // the VirtualService carries a creationTimestamp
	position int  // rank of the VirtualService in its Gateway's list
	port     uint32
}

func (r *vhostRoute) path() snapshot.Path {
	if r.match < 0 {
		return snapshot.P("spec", "http", r.rule)
	}
	return snapshot.P("spec", "http", r.rule, "match", r.match)
}

func (r *vhostRoute) text() string {
	s := ruleName(virtualService(r.vs), "http", r.rule)
	if r.match >= 0 {
		s += fmt.Sprintf(" match[%d]", r.match)
	}
	return r.vs.Ref() + " " + s
}

// envoyMatch returns the part of a match Envoy evaluates, and whether
// istiod emits the match on this gateway at all (TranslateRoute and
// sourceMatchHTTP: port, gateways, sourceLabels and sourceNamespace are
// decided when the route is built). known is false when that cannot be
// decided from the input.
func envoyMatch(m *netv1alpha3.HTTPMatchRequest, vsNS, gwKey string, port uint32, proxyNS string, proxyLabels map[string]string) (out *netv1alpha3.HTTPMatchRequest, emitted, known bool) {
	if m == nil {
		return nil, true, true
	}
	if m.GetPort() != 0 && m.GetPort() != port {
		return nil, false, true
	}
	if len(m.GetGateways()) > 0 {
		found := false
		for _, g := range m.GetGateways() {
			if g != "mesh" && istioref.GatewayRef(g, vsNS) == gwKey {
				found = true
			}
		}
		if !found {
			return nil, false, true
		}
	} else {
		if len(m.GetSourceLabels()) > 0 {
			if proxyLabels == nil {
				return nil, false, false
			}
			if !labels.SelectorFromSet(m.GetSourceLabels()).Matches(labels.Set(proxyLabels)) {
				return nil, false, true
			}
		}
		if m.GetSourceNamespace() != "" {
			if proxyNS == "" {
				return nil, false, false
			}
			if m.GetSourceNamespace() != proxyNS {
				return nil, false, true
			}
		}
	}
	if p, ok := m.GetUri().GetMatchType().(*netv1alpha3.StringMatch_Prefix); ok && p.Prefix == "" {
		return nil, false, false // whether istiod counts it as a catch-all is not decided here
	}
	c := proto.Clone(m).(*netv1alpha3.HTTPMatchRequest)
	c.Port, c.Gateways, c.SourceLabels, c.SourceNamespace, c.Name, c.StatPrefix = 0, nil, nil, "", "", ""
	return c, true, true
}

// isEnvoyCatchAll is route.IsCatchAllRoute on the route istiod builds from
// m: path prefix "/" or regex ".*", and no header (scheme, method and
// authority are headers too) or query parameter condition.
func isEnvoyCatchAll(m *netv1alpha3.HTTPMatchRequest) bool {
	if m == nil {
		return true
	}
	if m.GetScheme() != nil || m.GetMethod() != nil || m.GetAuthority() != nil ||
		len(m.GetHeaders()) > 0 || len(m.GetWithoutHeaders()) > 0 || len(m.GetQueryParams()) > 0 {
		return false
	}
	u := m.GetUri()
	if u == nil || u.GetMatchType() == nil {
		return true
	}
	switch t := u.GetMatchType().(type) {
	case *netv1alpha3.StringMatch_Prefix:
		return t.Prefix == "/"
	case *netv1alpha3.StringMatch_Regex:
		return t.Regex == ".*"
	}
	return false
}

// gatewayVSOrder lists, for a Gateway "ns/name", the VirtualServices bound
// to it, each with its VirtualServicesForGateway group for a proxy in
// namespace proxyNS ("" unknown: only public ones, whose group is certain).
func gatewayVSOrder(r *Registry, bound []*snapshot.Object, proxyNS string) (out []*snapshot.Object, groups []int) {
	meshDefault := r.Mesh.Config.GetDefaultVirtualServiceExportTo()
	for g := 0; g < 3; g++ {
		for _, vs := range bound {
			scopes := vsScopes(virtualService(vs).GetExportTo(), meshDefault, vs.Key.Namespace)
			grp := -1
			switch {
			case len(scopes) == 1 && scopes[0] == "*":
				grp = 2
			case proxyNS == "":
			case proxyNS == vs.Key.Namespace && containsString(scopes, proxyNS):
				grp = 0
			case containsString(scopes, proxyNS):
				grp = 1
			}
			if grp == g {
				out = append(out, vs)
				groups = append(groups, g)
			}
		}
	}
	return out, groups
}

// hostIntersection is host.Names.Intersection: for each pair, the more
// specific of the two when one covers the other.
func hostIntersection(serverHosts, vsHosts []string) []string {
	var out []string
	for _, h := range serverHosts {
		for _, o := range vsHosts {
			var x string
			switch {
			case hostSubsetOf(h, o):
				x = h
			case hostSubsetOf(o, h):
				x = o
			default:
				continue
			}
			if !containsString(out, x) {
				out = append(out, x)
			}
		}
	}
	return out
}

// serverHostsFor is host.NamesForNamespace on sanitized server hosts: the
// hosts of the server offered to VirtualServices of namespace ns.
func serverHostsFor(hosts []string, ns string) []string {
	var out []string
	for _, h := range hosts {
		hns, name, ok := cutNS(h)
		if !ok || hns == "*" || hns == ns {
			out = append(out, name)
		}
	}
	return out
}

func cutNS(h string) (ns, name string, ok bool) {
	for i := 0; i < len(h); i++ {
		if h[i] == '/' {
			return h[:i], h[i+1:], true
		}
	}
	return "", h, false
}

// routeConfigKey groups the servers of a proxy whose HTTP routes share one
// route configuration (gatewayRDSRouteName): plain HTTP servers by port and
// bind, HTTPS servers by port, port name, Gateway and bind. The listener
// port is part of the key too, so that servers are grouped only when
// they certainly share a listener.
func routeConfigKey(ps placedServer) string {
	srv := ps.server()
	num := strconv.Itoa(int(srv.GetPort().GetNumber()))
	lk := strconv.Itoa(int(ps.lk.port)) + "|" + ps.lk.bind
	if terminates(srv) {
		return "https|" + num + "|" + srv.GetPort().GetName() + "|" + ps.g.Object.Key.Namespace + "/" + ps.g.Object.Key.Name + "|" + lk
	}
	return "http|" + num + "|" + lk
}

// hasDelegate tells whether a VirtualService delegates any rule: istiod
// merges the delegate's routes in its place, which this check does not
// replay.
func hasDelegate(vs *netv1alpha3.VirtualService) bool {
	for _, h := range vs.GetHttp() {
		if h.GetDelegate() != nil {
			return true
		}
	}
	return false
}

// GatewayVSMergeShadow: several VirtualServices bound to one gateway proxy
// name the same host; istiod concatenates their routes, and a route of an
// earlier one takes every request of a later one's route.
var GatewayVSMergeShadow = &analysis.Analyzer{
	Code:     "MD224",
	Name:     "gateway-vs-merge-shadowed-route",
	Severity: analysis.Warning,
	Summary:  "Several VirtualServices bound to one gateway proxy define the same host; istiod concatenates their HTTP routes (a route of one takes every request a route of another was written for), uses only the first tcp rule that applies to a TCP server, and keeps only the first tls match to claim an SNI host, so the other route never matches.",
	Doc:      doc("MD224"),
	Inputs:   []analysis.Input{vsInput},
	Reads:    reads(gatewayWorkloadReads, listenerReads),
	Requires: []*analysis.Fact{RegistryFact, gatewayProxiesFact},
	Run: func(p *analysis.Pass) error {
		r := p.ResultOf(RegistryFact).(*Registry)
		byGateway := map[string][]*snapshot.Object{}
		byGatewayL4 := map[string][]*snapshot.Object{} // with tcp or tls routes
		for _, vs := range r.VirtualServices() {
			spec := virtualService(vs)
			if spec == nil || len(spec.GetHosts()) == 0 {
				continue
			}
			http := len(spec.GetHttp()) > 0 && !hasDelegate(spec)
			l4 := len(spec.GetTcp()) > 0 || len(spec.GetTls()) > 0
			if !http && !l4 {
				continue
			}
			refs, _ := boundGateways(vs)
			seen := map[string]bool{}
			for _, ref := range refs {
				if !seen[ref] && !isInternalGatewayRef(ref) {
					seen[ref] = true
					if http {
						byGateway[ref] = append(byGateway[ref], vs)
					}
					if l4 {
						byGatewayL4[ref] = append(byGatewayL4[ref], vs)
					}
				}
			}
		}
		for _, list := range byGateway {
			sortOlderFirst(list)
		}
		for _, list := range byGatewayL4 {
			sortOlderFirst(list)
		}
		done := map[string]bool{}
		for _, gp := range p.ResultOf(gatewayProxiesFact).([]*gatewayProxy) {
			m := mergeProxy(p.Snapshot, gp)
			var proxyLabels map[string]string
			if gp.Sample != nil {
				proxyLabels = gp.Sample.Labels
				if gp.Sample.Key.GroupKind() != snapshot.KindPod {
					_, _, proxyLabels, _ = snapshot.PodSpecOf(gp.Sample)
				}
			}
			configs := map[string][]int{}
			var order []string
			for i, ps := range m.placed {
				if _, gone := m.dropped[i]; gone || serverRoutes(ps.server()) != "http" {
					continue
				}
				k := routeConfigKey(ps)
				if configs[k] == nil {
					order = append(order, k)
				}
				configs[k] = append(configs[k], i)
			}
			var found []analysis.Finding
			for _, k := range order {
				found = append(found, vhostShadows(r, m, configs[k], byGateway, gp.Namespace, proxyLabels)...)
			}
			found = append(found, l4Shadows(r, m, byGatewayL4, gp.Namespace)...)
			for _, f := range found {
				key := f.Subject.String() + "|" + f.Key
				if !done[key] {
					done[key] = true
					p.Report(f)
				}
			}
		}
		return nil
	},
}

func sortOlderFirst(list []*snapshot.Object) {
	for i := 1; i < len(list); i++ {
		for j := i; j > 0 && olderFirst(list[j], list[j-1]); j-- {
			list[j], list[j-1] = list[j-1], list[j]
		}
	}
}

// vhostShadows builds the virtual hosts of one route configuration and
// returns a finding for each route another VirtualService's earlier route
// always takes.
func vhostShadows(r *Registry, m *mergedProxy, servers []int, byGateway map[string][]*snapshot.Object, proxyNS string, proxyLabels map[string]string) []analysis.Finding {
	vhosts := map[string][]*vhostRoute{}
	var hostOrder []string
	type entryKey struct {
		vs          *snapshot.Object
		rule, match int
	}
	seen := map[string]map[entryKey]bool{}
	// Virtual hosts a server redirects to HTTPS (RequireTls ALL) serve no
	// route: left out.
	redirected := map[string]bool{}
	for si, idx := range servers {
		ps := m.placed[idx]
		redirect := ps.server().GetTls().GetHttpsRedirect()
		if redirect {
			for _, h := range ps.hosts {
				redirected[bareHost(h)] = true
			}
		}
		gwKey := ps.g.Object.Key.Namespace + "/" + ps.g.Object.Key.Name
		port := ps.server().GetPort().GetNumber()
		list, groups := gatewayVSOrder(r, byGateway[gwKey], proxyNS)
		for vi, vs := range list {
			spec := virtualService(vs)
			var vsHosts []string
			for _, h := range spec.GetHosts() {
				vsHosts = append(vsHosts, FQDN(h, vs.Key.Namespace))
			}
			inter := hostIntersection(serverHostsFor(ps.hosts, vs.Key.Namespace), vsHosts)
			if len(inter) == 0 {
				continue
			}
			// BuildHTTPRoutesForVirtualService: the routes this gateway
			// gets, up to the first catch-all.
			var routes []*vhostRoute
		rules:
			for ri, h := range spec.GetHttp() {
				ms := h.GetMatch()
				if len(ms) == 0 {
					routes = append(routes, &vhostRoute{vs: vs, rule: ri, match: -1, catchAll: true})
					break
				}
				for mi, mr := range ms {
					em, emitted, known := envoyMatch(mr, vs.Key.Namespace, gwKey, port, proxyNS, proxyLabels)
					if !known {
						break rules // this and later routes may or may not exist: left out
					}
					if !emitted {
						continue
					}
					rt := &vhostRoute{vs: vs, rule: ri, match: mi, m: em, catchAll: isEnvoyCatchAll(em)}
					routes = append(routes, rt)
					if rt.catchAll {
						break rules
					}
				}
			}
			for i, rt := range routes {
				for _, prev := range routes[:i] {
					if covers(prev.m, rt.m) {
						rt.ownDead = true
						break
					}
				}
				rt.server, rt.group, rt.gw, rt.position, rt.port = si, groups[vi], ps.g, vi, port
				rt.certain = !creationTime(vs).IsZero()
			}
			for _, h := range inter {
				if redirect {
					redirected[h] = true
				}
				if seen[h] == nil {
					seen[h] = map[entryKey]bool{}
					hostOrder = append(hostOrder, h)
				}
				for _, rt := range routes {
					k := entryKey{rt.vs, rt.rule, rt.match}
					if seen[h][k] {
						continue
					}
					seen[h][k] = true
					cp := *rt
					vhosts[h] = append(vhosts[h], &cp)
				}
			}
		}
	}
	// The servers' order is certain when they are of one Gateway, or of
	// Gateways that all carry a creationTimestamp.
	fixed := true
	for _, idx := range servers {
		g := m.placed[idx].g
		if g != m.placed[servers[0]].g && (creationTime(g.Object).IsZero() || creationTime(m.placed[servers[0]].g.Object).IsZero()) {
			fixed = false
		}
	}
	var out []analysis.Finding
	for _, h := range hostOrder {
		if redirected[h] {
			continue
		}
		// route.SortVHostRoutes: catch-alls last, order kept otherwise.
		var envoy []*vhostRoute
		for _, rt := range vhosts[h] {
			if !rt.catchAll {
				envoy = append(envoy, rt)
			}
		}
		for _, rt := range vhosts[h] {
			if rt.catchAll {
				envoy = append(envoy, rt)
			}
		}
		for i, e := range envoy {
			if e.ownDead {
				continue
			}
			var by *vhostRoute
			mutual := false
			for _, s := range envoy[:i] {
				if s.vs == e.vs || !covers(s.m, e.m) {
					continue
				}
				if s.catchAll != e.catchAll || fixed && precedesCertainly(s, e) {
					by, mutual = s, false
					break
				}
				if by == nil && covers(e.m, s.m) {
					by, mutual = s, true
				}
			}
			if by != nil {
				out = append(out, shadowFinding(m, h, e, by, mutual))
			}
		}
	}
	return out
}

// precedesCertainly tells whether s's VirtualService is appended before
// e's whatever the objects' real creation times (the input may not carry
// them), given a certain server order: by server, by
// VirtualServicesForGateway group, or by creation order when both
// VirtualServices carry a creationTimestamp.
func precedesCertainly(s, e *vhostRoute) bool {
	if s.server != e.server {
		return s.server < e.server
	}
	if s.group != e.group {
		return s.group < e.group
	}
	return s.certain && e.certain && s.position < e.position
}

func shadowFinding(m *mergedProxy, host string, e, s *vhostRoute, mutual bool) analysis.Finding {
	how := fmt.Sprintf("%s comes first and matches every request it matches", s.text())
	if s.catchAll && e.catchAll {
		how = fmt.Sprintf("both are catch-all routes, which istiod moves to the end of the merged routes in VirtualService order; %s comes first and takes every request", s.text())
	}
	order := "istiod appends the VirtualServices' routes in its order: by server, then VirtualServices private to the gateway's namespace, exported to it, then public, each oldest first (creationTimestamp, then name, then namespace)"
	if mutual {
		how = fmt.Sprintf("it and %s match the same requests, so only the one appended first is ever used. Which one that is depends on the VirtualServices' creation times, which the input does not carry; if they were created in the same second istiod orders them by name and %s wins", s.text(), s.text())
	}
	ev := []string{
		fmt.Sprintf("host %s, port %d, on %s", host, e.port, m.gp.Describe()),
		order,
		"catch-all routes (prefix \"/\" or regex \".*\" without header or query conditions) are moved to the end (route.SortVHostRoutes); other routes keep their order",
	}
	return analysis.Finding{
		Subject: e.vs.Key,
		Message: fmt.Sprintf("%s never matches on the gateway for host %s: several VirtualServices bound to the gateway define the host and istiod merges their routes into one virtual host, where %s.", e.text(), host, how),
		Locations: []analysis.Location{
			analysis.LocationOf(e.vs, e.path()),
			analysis.LocationOf(s.vs, s.path()),
		},
		Evidence: ev,
		Remedy:   "Define each host's gateway routes in one VirtualService (merge them, most specific match first and the catch-all last), or keep one root VirtualService per host and move the others' routes into delegate VirtualServices; if the routes are duplicates, delete the unused one.",
		Key:      e.path().String(),
	}
}
