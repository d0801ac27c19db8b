package istio

import (
	"fmt"
	"sort"
	"strings"

	netv1alpha3 "istio.io/api/networking/v1alpha3"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/istioref"
	"github.com/meshdoctor/meshdoctor/internal/kb"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// serverHostAdmits tells whether a Gateway server host ("ns/dnsName",
// "./dnsName", "*/dnsName" or "dnsName") written in namespace gwNS exposes
// host of a VirtualService in namespace vsNS.
func serverHostAdmits(serverHost, gwNS, host, vsNS string) bool {
	ns, dns, ok := strings.Cut(serverHost, "/")
	if !ok {
		ns, dns = "*", serverHost
	}
	switch ns {
	case "*":
	case ".":
		if vsNS != gwNS {
			return false
		}
	default:
		if ns != vsNS {
			return false
		}
	}
	return hostsMatch(dns, host)
}

// serverAdmitsAny tells whether server s of Gateway g exposes any of the
// hosts of a VirtualService in namespace vsNS.
func serverAdmitsAny(g *Gateway, s *netv1alpha3.Server, hosts []string, vsNS string) bool {
	for _, sh := range s.GetHosts() {
		for _, h := range hosts {
			if serverHostAdmits(sh, g.Object.Key.Namespace, h, vsNS) {
				return true
			}
		}
	}
	return false
}

// serverRoutes names what a Gateway server does with a connection and so
// which VirtualService routes apply to it: "http" (plain HTTP, or HTTPS
// terminated at the gateway), "tls" (TLS passed through, routed by SNI) or
// "tcp" (TCP, or TLS terminated into TCP).
func serverRoutes(s *netv1alpha3.Server) string {
	p := kb.ParseProtocol(s.GetPort().GetProtocol())
	switch {
	case p.IsTLS():
		switch s.GetTls().GetMode() {
		case netv1alpha3.ServerTLSSettings_PASSTHROUGH, netv1alpha3.ServerTLSSettings_AUTO_PASSTHROUGH:
			return "tls"
		}
		if p == kb.ProtoHTTPS {
			return "http"
		}
		return "tcp"
	case p.IsHTTP():
		return "http"
	}
	return "tcp"
}

// terminates tells whether a server terminates TLS.
func terminates(s *netv1alpha3.Server) bool {
	return kb.ParseProtocol(s.GetPort().GetProtocol()).IsTLS() && serverRoutes(s) != "tls"
}

// boundGateways resolves the gateways a VirtualService binds to. "mesh" is
// left out; a VirtualService without gateways binds to mesh only.
func boundGateways(vs *snapshot.Object) (refs []string, paths []snapshot.Path) {
	spec := virtualService(vs)
	for i, g := range spec.GetGateways() {
		if g == "mesh" {
			continue
		}
		refs = append(refs, istioref.GatewayRef(g, vs.Key.Namespace))
		paths = append(paths, snapshot.P("spec", "gateways", i))
	}
	return refs, paths
}

// boundToMesh tells whether a VirtualService applies to sidecars: no
// gateways at all, or "mesh" among them.
func boundToMesh(vs *snapshot.Object) bool {
	gws := virtualService(vs).GetGateways()
	if len(gws) == 0 {
		return true
	}
	for _, g := range gws {
		if g == "mesh" {
			return true
		}
	}
	return false
}

// existingGateways returns the gateway references of a VirtualService
// (mesh left out) and those of them that exist.
func (r *Registry) existingGateways(vs *snapshot.Object) (refs []string, gws []*Gateway) {
	refs, _ = boundGateways(vs)
	for _, ref := range refs {
		if g := r.Gateway(ref); g != nil {
			gws = append(gws, g)
		}
	}
	return refs, gws
}

// exposedBy tells whether any server of gws exposes host to namespace vsNS.
func exposedBy(gws []*Gateway, host, vsNS string) bool {
	for _, g := range gws {
		for _, s := range g.Spec.GetServers() {
			if serverAdmitsAny(g, s, []string{host}, vsNS) {
				return true
			}
		}
	}
	return false
}

// serverHostList lists "ns/gateway: host" for every server host, sorted.
func serverHostList(gws []*Gateway) []string {
	var out []string
	for _, g := range gws {
		for _, s := range g.Spec.GetServers() {
			for _, sh := range s.GetHosts() {
				out = append(out, g.Object.Key.Namespace+"/"+g.Object.Key.Name+": "+sh)
			}
		}
	}
	sort.Strings(out)
	return out
}

// VSGatewayNotFound: a VirtualService binds to a Gateway that does not exist.
var VSGatewayNotFound = &analysis.Analyzer{
	Code:     "MD204",
	Name:     "vs-gateway-not-found",
	Severity: analysis.Error,
	Summary:  "A VirtualService binds to a Gateway that does not exist, so its routes are not served on any gateway.",
	Doc:      doc("MD204"),
	Inputs:   []analysis.Input{vsInput},
	Reads:    reads(nil),
	Requires: []*analysis.Fact{RegistryFact},
	Run: func(p *analysis.Pass) error {
		r := p.ResultOf(RegistryFact).(*Registry)
		byName := map[string][]*Gateway{}
		for _, g := range r.Gateways() {
			byName[g.Object.Key.Name] = append(byName[g.Object.Key.Name], g)
		}
		for _, vs := range r.VirtualServices() {
			refs, paths := boundGateways(vs)
			for i, ref := range refs {
				if r.Gateway(ref) != nil || isInternalGatewayRef(ref) {
					continue // internal Gateway API gateways: MD218
				}
				ns, name, _ := strings.Cut(ref, "/")
				similar := byName[name]
				if !p.Snapshot.Covers(snapshot.KindGateway, ns) && len(similar) == 0 {
					p.NotChecked("gateway %s of %s: the input has no Gateways in namespace %s", ref, vs.Ref(), ns)
					continue
				}
				written := virtualService(vs).GetGateways()[paths[i][2].(int)]
				f := analysis.Finding{
					Subject:   vs.Key,
					Message:   fmt.Sprintf("%s binds to gateway %q, which resolves to Gateway %s and does not exist: no gateway serves these routes (clients of the gateway get 404, flag NR).", vs.Ref(), written, ref),
					Locations: []analysis.Location{analysis.LocationOf(vs, paths[i])},
					Evidence:  []string{fmt.Sprintf("gateways[%d]: %s (a name without a namespace means the VirtualService's namespace %s)", paths[i][2], written, vs.Key.Namespace)},
					Remedy:    "Reference the Gateway as <namespace>/<name>, or create it.",
					Key:       ref,
				}
				for _, g := range similar {
					f.Related = append(f.Related, analysis.RelatedOf(g.Object, "a Gateway of that name in another namespace"))
					f.Remedy = fmt.Sprintf("Reference it with its namespace: %s/%s.", g.Object.Key.Namespace, name)
				}
				p.Report(f)
			}
		}
		return nil
	},
}

// VSHostNotInGateway: a VirtualService host that none of the servers of a
// Gateway it binds to exposes.
var VSHostNotInGateway = &analysis.Analyzer{
	Code:     "MD205",
	Name:     "vs-host-not-in-gateway",
	Severity: analysis.Warning,
	Summary:  "A VirtualService bound to a Gateway lists a host that no server of that Gateway exposes, so requests for it get 404 at the gateway.",
	Doc:      doc("MD205"),
	Inputs:   []analysis.Input{vsInput, analysis.Kinds(snapshot.KindGateway)},
	Reads:    reads(nil),
	Requires: []*analysis.Fact{RegistryFact},
	Run: func(p *analysis.Pass) error {
		r := p.ResultOf(RegistryFact).(*Registry)
		for _, vs := range r.VirtualServices() {
			refs, gws := r.existingGateways(vs)
			if len(gws) == 0 {
				continue
			}
			// A VirtualService also bound to mesh legitimately lists hosts
			// (the in-cluster names) that only sidecars serve: it is wrong
			// only when its gateways expose none of its hosts.
			hosts := virtualService(vs).GetHosts()
			var missing []int
			for i, h := range hosts {
				if !exposedBy(gws, h, vs.Key.Namespace) {
					missing = append(missing, i)
				}
			}
			if len(missing) == 0 || boundToMesh(vs) && len(missing) < len(hosts) {
				continue
			}
			offered := serverHostList(gws)
			for _, i := range missing {
				h := hosts[i]
				f := analysis.Finding{
					Subject:   vs.Key,
					Message:   fmt.Sprintf("%s lists host %q, but no server of its gateways (%s) exposes it for namespace %s: the gateway has no route for that host and answers 404.", vs.Ref(), h, strings.Join(refs, ", "), vs.Key.Namespace),
					Locations: []analysis.Location{analysis.LocationOf(vs, snapshot.P("spec", "hosts", i))},
					Evidence:  []string{"gateway server hosts: " + orNone(offered)},
					Remedy:    fmt.Sprintf("Add %q (or a wildcard covering it, with a namespace part that admits %s) to a server of the Gateway, or remove the host from the VirtualService.", h, vs.Key.Namespace),
					Key:       h,
				}
				for _, g := range gws {
					f.Related = append(f.Related, analysis.RelatedOf(g.Object, "a Gateway the VirtualService binds to"))
				}
				p.Report(f)
			}
		}
		return nil
	},
}

// GatewayRouteMismatch: the route type of a VirtualService does not fit
// what the gateway servers for its hosts do with TLS.
var GatewayRouteMismatch = &analysis.Analyzer{
	Code:     "MD206",
	Name:     "gateway-route-type-mismatch",
	Severity: analysis.Error,
	Summary:  "A VirtualService's route type does not fit its Gateway servers: tls routes behind servers that terminate TLS, or http routes behind servers that pass TLS through.",
	Doc:      doc("MD206"),
	Inputs:   []analysis.Input{vsInput, analysis.Kinds(snapshot.KindGateway)},
	Reads:    reads(nil),
	Requires: []*analysis.Fact{RegistryFact},
	Run: func(p *analysis.Pass) error {
		r := p.ResultOf(RegistryFact).(*Registry)
		for _, vs := range r.VirtualServices() {
			spec := virtualService(vs)
			_, gws := r.existingGateways(vs)
			kinds := map[string][]string{} // route kind the servers need -> servers
			for _, g := range gws {
				for si, s := range g.Spec.GetServers() {
					if serverAdmitsAny(g, s, spec.GetHosts(), vs.Key.Namespace) {
						k := serverRoutes(s)
						kinds[k] = append(kinds[k], fmt.Sprintf("%s servers[%d] (port %d %s, tls mode %s)", g.Object.Ref(), si, s.GetPort().GetNumber(), s.GetPort().GetProtocol(), tlsModeText(s)))
					}
				}
			}
			if len(kinds) == 0 {
				continue
			}
			check := func(kind, field string, n int, why, remedy string) {
				if n == 0 || len(kinds[kind]) > 0 {
					return
				}
				sev := analysis.Error
				if len(spec.GetHttp())+len(spec.GetTls())+len(spec.GetTcp()) > n {
					sev = analysis.Warning // other routes still serve; these are dead
				}
				var servers []string
				for _, v := range kinds {
					servers = append(servers, v...)
				}
				sort.Strings(servers)
				p.Report(analysis.Finding{
					Severity:  sev,
					Subject:   vs.Key,
					Message:   fmt.Sprintf("%s has %s routes, but %s; they never match and requests get no route (404 or a reset).", vs.Ref(), field, why),
					Locations: []analysis.Location{analysis.LocationOf(vs, snapshot.P("spec", field))},
					Evidence:  append([]string{fmt.Sprintf("%d %s route(s) in the VirtualService", n, field)}, servers...),
					Remedy:    remedy,
					Key:       field,
				})
			}
			check("tls", "tls", len(spec.GetTls()), "every gateway server for its hosts terminates TLS (or speaks plain HTTP/TCP), so the gateway sees decrypted traffic, not a TLS handshake with SNI",
				"Route terminated traffic with http routes (match on authority/URI), or set the server's tls.mode to PASSTHROUGH if the backend must terminate TLS.")
			check("http", "http", len(spec.GetHttp()), "every gateway server for its hosts passes TLS through or is plain TCP, so the gateway never parses HTTP",
				"Route passed-through TLS with tls routes matching sniHosts, or terminate TLS at the gateway (tls.mode SIMPLE with a credentialName) to use http routes.")
		}
		return nil
	},
}

func tlsModeText(s *netv1alpha3.Server) string {
	if s.GetTls() == nil {
		return "none"
	}
	return s.GetTls().GetMode().String()
}
