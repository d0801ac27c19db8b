package istio

import (
	"fmt"
	"sort"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/kb"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// meshHostClaim is one mesh-bound VirtualService claiming a host.
type meshHostClaim struct {
	vs   *snapshot.Object
	host int // index in spec.hosts
}

// MeshVSHostConflict: several mesh-bound VirtualServices claim the same
// host for the same sidecars.
var MeshVSHostConflict = &analysis.Analyzer{
	Code:     "MD213",
	Name:     "mesh-vs-host-conflict",
	Severity: analysis.Error,
	Summary:  "Several VirtualServices bound to the mesh define the same host for the same namespaces; sidecars use only one of them and ignore the others' routes.",
	Doc:      doc("MD213"),
	Inputs:   []analysis.Input{vsInput},
	Reads:    reads(nil),
	Requires: []*analysis.Fact{RegistryFact},
	Run: func(p *analysis.Pass) error {
		r := p.ResultOf(RegistryFact).(*Registry)
		meshDefault := r.Mesh.Config.GetDefaultVirtualServiceExportTo()
		type scopedHost struct{ scope, fqdn string }
		idx := map[scopedHost][]meshHostClaim{}
		var keys []scopedHost
		usage := map[*snapshot.Object]meshHTTPUsage{}
		for _, vs := range r.VirtualServices() {
			if !boundToMesh(vs) {
				continue
			}
			u := meshHTTPUsageOf(vs)
			if !u.any() {
				continue // no http route a sidecar can use: TCP and TLS routes are taken from every VirtualService
			}
			usage[vs] = u
			spec := virtualService(vs)
			scopes := vsScopes(spec.GetExportTo(), meshDefault, vs.Key.Namespace)
			for i, h := range spec.GetHosts() {
				fqdn := FQDN(h, vs.Key.Namespace)
				for _, s := range scopes {
					k := scopedHost{s, fqdn}
					list := idx[k]
					if n := len(list); n > 0 && list[n-1].vs == vs {
						continue // the same VirtualService names the host twice
					}
					if len(list) == 0 {
						keys = append(keys, k)
					}
					idx[k] = append(list, meshHostClaim{vs: vs, host: i})
				}
			}
		}
		// One conflict per host, listener port set and set of
		// VirtualServices; the namespaces where it holds are gathered.
		type conflict struct {
			fqdn   string
			claims []meshHostClaim // winner first
			ports  []uint32        // 0: any port no route names (the host's ports are unknown)
			scopes []string
		}
		byKey := map[string]*conflict{}
		var order []string
		for _, k := range keys {
			var claims []meshHostClaim
			if k.scope == "*" {
				claims = append(claims, idx[k]...)
			} else {
				claims = append(claims, idx[k]...)
				claims = append(claims, idx[scopedHost{"*", k.fqdn}]...)
			}
			if len(claims) < 2 {
				continue
			}
			sortClaims(claims, meshDefault, k.scope)
			from := k.scope
			if from == "*" {
				from = claims[0].vs.Key.Namespace
			}
			// Sidecars build one route table per listener port; on each, the
			// first VirtualService with routes for that port takes the host.
			type portUsers struct {
				users []meshHostClaim
				ports []uint32
			}
			groups := map[string]*portUsers{}
			var gorder []string
			for _, port := range hostHTTPPorts(r, k.fqdn, from, claims, usage) {
				var users []meshHostClaim
				for _, c := range claims {
					if usage[c.vs].covers(port) {
						users = append(users, c)
					}
				}
				if len(users) < 2 {
					continue
				}
				var refs []string
				for _, c := range users {
					refs = append(refs, c.vs.Ref())
				}
				gk := strings.Join(refs, "\x00")
				if groups[gk] == nil {
					groups[gk] = &portUsers{users: users}
					gorder = append(gorder, gk)
				}
				groups[gk].ports = append(groups[gk].ports, port)
			}
			for _, gk := range gorder {
				g := groups[gk]
				ck := k.fqdn + "\x00" + gk + "\x00" + fmt.Sprint(g.ports)
				c := byKey[ck]
				if c == nil {
					c = &conflict{fqdn: k.fqdn, claims: g.users, ports: g.ports}
					byKey[ck] = c
					order = append(order, ck)
				}
				c.scopes = append(c.scopes, k.scope)
			}
		}
		for _, ck := range order {
			c := byKey[ck]
			win, losers := c.claims[0], c.claims[1:]
			var names []string
			for _, l := range losers {
				names = append(names, l.vs.Ref())
			}
			objs := make([]*snapshot.Object, len(c.claims))
			for i, cl := range c.claims {
				objs[i] = cl.vs
			}
			where := "sidecars in every namespace"
			if c.scopes[0] != "*" {
				sort.Strings(c.scopes)
				where = "sidecars in namespace(s) " + strings.Join(c.scopes, ", ")
			}
			why := orderText(objs)
			var sev analysis.Severity
			if s := c.scopes[0]; claimClass(win.vs, meshDefault, s) != claimClass(c.claims[1].vs, meshDefault, s) {
				// The winner is chosen by visibility, not by age: a
				// namespace overriding a shared VirtualService, which may
				// be deliberate.
				why = "sidecars take VirtualServices private to their namespace first, then those exported to it by name, then those exported to every namespace"
				sev = analysis.Warning
			}
			loser := losers[0]
			f := analysis.Finding{
				Severity:  sev,
				Subject:   loser.vs.Key,
				Message:   fmt.Sprintf("VirtualServices %s and %s are both bound to the mesh and both have http routes for host %s%s for %s: sidecars do not merge them, %s wins (%s) and the http routes of %s for %s%s are ignored.", win.vs.Ref(), strings.Join(names, ", "), c.fqdn, portsText(c.ports), where, win.vs.Ref(), why, strings.Join(names, ", "), c.fqdn, portsText(c.ports)),
				Locations: []analysis.Location{analysis.LocationOf(loser.vs, snapshot.P("spec", "hosts", loser.host))},
				Evidence: []string{
					fmt.Sprintf("%s spec.hosts[%d]: %s (exportTo %s)", win.vs.Ref(), win.host, virtualService(win.vs).GetHosts()[win.host], exportText(win.vs)),
				},
				Remedy:  overrideNote(sev) + fmt.Sprintf("Keep one mesh VirtualService per host: move the http routes of %s into %s (or make one a delegate of the other), or narrow exportTo so that they are not visible in the same namespaces.", strings.Join(names, ", "), win.vs.Ref()),
				Related: []analysis.Related{analysis.RelatedOf(win.vs, "the VirtualService sidecars use for this host")},
				Key:     c.fqdn + portKey(c.ports) + "@" + strings.Join(c.scopes, ","),
			}
			for _, l := range losers {
				f.Evidence = append(f.Evidence, fmt.Sprintf("%s spec.hosts[%d]: %s (exportTo %s)", l.vs.Ref(), l.host, virtualService(l.vs).GetHosts()[l.host], exportText(l.vs)))
				if l != loser {
					f.Related = append(f.Related, analysis.RelatedOf(l.vs, "another VirtualService ignored for this host"))
				}
			}
			p.Report(f)
		}
		return nil
	},
}

// claimClass is where a sidecar of namespace scope ("*": any namespace)
// finds a VirtualService: 0 private to its namespace, 1 exported to it by
// name, 2 public. istiod takes them in that order, each group oldest
// first, and the first one for a host wins.
func claimClass(vs *snapshot.Object, meshDefault []string, scope string) int {
	s := vsScopes(virtualService(vs).GetExportTo(), meshDefault, vs.Key.Namespace)
	switch {
	case scope == "*" || len(s) == 1 && s[0] == "*":
		return 2
	case vs.Key.Namespace == scope:
		return 0
	}
	return 1
}

// sortClaims orders the claims as a sidecar of namespace scope takes them.
func sortClaims(claims []meshHostClaim, meshDefault []string, scope string) {
	sort.SliceStable(claims, func(i, j int) bool {
		ci, cj := claimClass(claims[i].vs, meshDefault, scope), claimClass(claims[j].vs, meshDefault, scope)
		if ci != cj {
			return ci < cj
		}
		return olderFirst(claims[i].vs, claims[j].vs)
	})
}

func exportText(vs *snapshot.Object) string {
	exp := virtualService(vs).GetExportTo()
	if len(exp) == 0 {
		return "not set"
	}
	return "[" + strings.Join(exp, ", ") + "]"
}

func overrideNote(sev analysis.Severity) string {
	if sev == analysis.Warning {
		return "If the namespace-local VirtualService is a deliberate override, copy into it every route of the shared one it should keep. Otherwise: "
	}
	return ""
}

// meshHTTPUsage is where a VirtualService has http routes a sidecar can use:
// translateRoute drops, for a sidecar listener port, every route whose
// matches all name another port or only gateways other than mesh.
type meshHTTPUsage struct {
	all   bool
	ports map[uint32]bool
}

func meshHTTPUsageOf(vs *snapshot.Object) meshHTTPUsage {
	u := meshHTTPUsage{ports: map[uint32]bool{}}
	for _, route := range virtualService(vs).GetHttp() {
		if len(route.GetMatch()) == 0 {
			u.all = true
			continue
		}
		for _, m := range route.GetMatch() {
			if gws := m.GetGateways(); len(gws) > 0 && !containsString(gws, "mesh") {
				continue
			}
			if m.GetPort() == 0 {
				u.all = true
			} else {
				u.ports[m.GetPort()] = true
			}
		}
	}
	return u
}

func (u meshHTTPUsage) any() bool { return u.all || len(u.ports) > 0 }

// covers tells whether the VirtualService has routes for listener port p
// (0: a port no route names).
func (u meshHTTPUsage) covers(p uint32) bool { return u.all || p != 0 && u.ports[p] }

// hostHTTPPorts lists the ports on which sidecars build HTTP route tables
// for a host: its Service or ServiceEntry ports that carry HTTP or an
// undeclared (sniffed) protocol. When the registry does not know the host,
// the ports the VirtualServices' routes name, and 0 for any other port.
func hostHTTPPorts(r *Registry, fqdn, from string, claims []meshHostClaim, usage map[*snapshot.Object]meshHTTPUsage) []uint32 {
	seen := map[uint32]bool{}
	var out []uint32
	add := func(p uint32) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	known := false
	for _, svc := range r.Services(fqdn, from) {
		known = true
		for _, sp := range servicePorts(svc.Spec) {
			if sp.proxied() && (sp.Proto.IsHTTP() || sp.Proto == kb.ProtoUnsupported) {
				add(uint32(sp.SP.Port))
			}
		}
	}
	for _, e := range r.Entries(fqdn, from) {
		known = true
		for _, sp := range e.Spec.GetPorts() {
			if p := seProtocol(sp); p.IsHTTP() || p == kb.ProtoUnsupported {
				add(sp.GetNumber())
			}
		}
	}
	if known {
		sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
		return out
	}
	for _, c := range claims {
		for p := range usage[c.vs].ports {
			add(p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return append(out, 0)
}

func portsText(ports []uint32) string {
	if len(ports) == 1 && ports[0] == 0 {
		return ""
	}
	var ps []string
	for _, p := range ports {
		if p == 0 {
			ps = append(ps, "any other port")
		} else {
			ps = append(ps, fmt.Sprint(p))
		}
	}
	if len(ps) == 1 {
		return " on port " + ps[0]
	}
	return " on ports " + strings.Join(ps, ", ")
}

func portKey(ports []uint32) string {
	if len(ports) == 1 && ports[0] == 0 {
		return ""
	}
	return ":" + fmt.Sprint(ports)
}
