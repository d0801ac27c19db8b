package istio

import (
	"fmt"
	"sort"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// IngressBypassesSubsets: a gateway route sends traffic to a host without a
// subset while the host's mesh VirtualService splits its traffic by subset.
var IngressBypassesSubsets = &analysis.Analyzer{
	Code:     "MD214",
	Name:     "ingress-bypasses-subset-split",
	Severity: analysis.Warning,
	Summary:  "A VirtualService bound to a Gateway routes to a host without a subset while the host's mesh VirtualService splits traffic by subset; requests from the gateway ignore that split.",
	Doc:      doc("MD214"),
	Inputs:   []analysis.Input{vsInput, analysis.Kinds(snapshot.KindGateway)},
	Reads:    reads(nil),
	Requires: []*analysis.Fact{RegistryFact},
	Run: func(p *analysis.Pass) error {
		r := p.ResultOf(RegistryFact).(*Registry)
		// Mesh VirtualServices that split a host of theirs by subset, by
		// that host's FQDN, with the subsets they use.
		type split struct {
			vs      *snapshot.Object
			subsets []string
		}
		splits := map[string][]split{}
		for _, vs := range r.VirtualServices() {
			if !boundToMesh(vs) {
				continue
			}
			own := map[string]bool{}
			for _, h := range virtualService(vs).GetHosts() {
				if !wildcarded(h) {
					own[FQDN(h, vs.Key.Namespace)] = true
				}
			}
			subsets := map[string][]string{}
			for _, d := range Destinations(vs) {
				if d.Kind != "http" || d.Mirror || d.Dest.GetSubset() == "" {
					continue
				}
				if h := FQDN(d.Dest.GetHost(), vs.Key.Namespace); own[h] && !containsString(subsets[h], d.Dest.GetSubset()) {
					subsets[h] = append(subsets[h], d.Dest.GetSubset())
				}
			}
			for h, ss := range subsets {
				splits[h] = append(splits[h], split{vs: vs, subsets: ss})
			}
		}
		if len(splits) == 0 {
			return nil
		}
		meshDefault := r.Mesh.Config.GetDefaultVirtualServiceExportTo()
		// A gateway proxy uses only the VirtualServices visible in the
		// Gateway's namespace.
		visible := func(vs *snapshot.Object, gws []*Gateway) []*Gateway {
			scopes := vsScopes(virtualService(vs).GetExportTo(), meshDefault, vs.Key.Namespace)
			var out []*Gateway
			for _, g := range gws {
				if containsString(scopes, "*") || containsString(scopes, g.Object.Key.Namespace) {
					out = append(out, g)
				}
			}
			return out
		}
		// Delegates carry no gateways: they apply where their roots do.
		delegateRoots := map[string][]ingressBinding{}
		for _, vs := range r.VirtualServices() {
			_, gws := r.existingGateways(vs)
			if gws = visible(vs, gws); len(gws) == 0 {
				continue
			}
			for _, h := range virtualService(vs).GetHttp() {
				if d := h.GetDelegate(); d.GetName() != "" {
					ns := d.GetNamespace()
					if ns == "" {
						ns = vs.Key.Namespace
					}
					k := ns + "/" + d.GetName()
					delegateRoots[k] = append(delegateRoots[k], ingressBinding{vs, gws})
				}
			}
		}
		for _, vs := range r.VirtualServices() {
			var bindings []ingressBinding
			delegate := len(virtualService(vs).GetHosts()) == 0
			if delegate {
				bindings = delegateRoots[vs.Key.Namespace+"/"+vs.Key.Name]
			} else if _, gws := r.existingGateways(vs); len(visible(vs, gws)) > 0 {
				bindings = []ingressBinding{{vs, visible(vs, gws)}}
			}
			if len(bindings) == 0 {
				continue
			}
			var refs []string
			for _, b := range bindings {
				for _, g := range b.gws {
					if ref := g.Object.Key.Namespace + "/" + g.Object.Key.Name; !containsString(refs, ref) {
						refs = append(refs, ref)
					}
				}
			}
			bound := "bound to gateway " + strings.Join(refs, ", ")
			if delegate {
				var roots []string
				for _, b := range bindings {
					roots = append(roots, b.root.Ref())
				}
				bound = "a delegate of " + strings.Join(roots, ", ") + ", which " + map[bool]string{true: "is", false: "are"}[len(roots) == 1] + " bound to gateway " + strings.Join(refs, ", ")
			}
			for _, d := range Destinations(vs) {
				if d.Kind != "http" || d.Mirror || d.Dest.GetSubset() != "" {
					continue
				}
				fqdn := FQDN(d.Dest.GetHost(), vs.Key.Namespace)
				var found []split
				for _, s := range splits[fqdn] {
					if s.vs == vs {
						continue // its own routes
					}
					exempt := true
					for _, b := range bindings {
						exempt = exempt && splitFirstAtGateway(r, s.vs, b, fqdn, visible)
					}
					if exempt {
						continue // the split's catch-all comes first in the gateway's virtual host
					}
					found = append(found, s)
				}
				if len(found) == 0 {
					continue
				}
				sort.Slice(found, func(i, j int) bool { return found[i].vs.Ref() < found[j].vs.Ref() })
				var names, ev []string
				var rel []analysis.Related
				for _, s := range found {
					names = append(names, s.vs.Ref())
					ev = append(ev, fmt.Sprintf("%s (bound to mesh) routes %s to subsets %s", s.vs.Ref(), fqdn, strings.Join(s.subsets, ", ")))
					rel = append(rel, analysis.RelatedOf(s.vs, "the mesh VirtualService whose subset split the gateway does not apply"))
				}
				p.Report(analysis.Finding{
					Subject:   vs.Key,
					Message:   fmt.Sprintf("%s, %s, routes to %s without a subset, while %s splits traffic to %s by subset for sidecars: a gateway applies only the routes of VirtualServices bound to it for its hosts, so requests entering through the gateway go to every pod of %s and the subset split has no effect on them.", vs.Ref(), bound, d.Dest.GetHost(), strings.Join(names, ", "), fqdn, fqdn),
					Locations: []analysis.Location{analysis.LocationOf(vs, d.Path().Child("host"))},
					Evidence:  append([]string{fmt.Sprintf("%s %s: host %s, no subset", vs.Ref(), d.Path().String(), d.Dest.GetHost())}, ev...),
					Remedy:    fmt.Sprintf("Repeat the subset routes (subset and weight per destination) in %s's route for %s, or serve the gateway host from the mesh VirtualService alone: add the gateway to its spec.gateways next to mesh and the gateway host to its hosts, and remove the route without a subset from %s (at the gateway, routes of VirtualServices for one host are merged oldest first, so an older catch-all hides the split).", vs.Ref(), d.Dest.GetHost(), vs.Ref()),
					Related:   rel,
					Key:       d.Path().String(),
				})
			}
		}
		return nil
	},
}

// ingressBinding is a VirtualService whose routes a gateway uses (for a
// delegate, its root) and the Gateways it is bound to and visible from.
type ingressBinding struct {
	root *snapshot.Object
	gws  []*Gateway
}

// splitFirstAtGateway tells whether the subset split of mesh VirtualService
// split also applies at the gateway where binding b routes to fqdn: split is
// bound to one of its Gateways (and visible there), names the same host in
// spec.hosts (so both land in one virtual host), is older (its routes come
// first there) and splits fqdn in a route without matches (which catches
// every request before b's routes).
func splitFirstAtGateway(r *Registry, split *snapshot.Object, b ingressBinding, fqdn string, visible func(*snapshot.Object, []*Gateway) []*Gateway) bool {
	if !olderFirst(split, b.root) || !catchAllSplit(split, fqdn) {
		return false
	}
	_, own := r.existingGateways(split)
	for _, g := range visible(split, own) {
		if !containsGateway(b.gws, g) {
			continue
		}
		for _, hs := range virtualService(split).GetHosts() {
			for _, hv := range virtualService(b.root).GetHosts() {
				if strings.EqualFold(hs, hv) && exposedBy([]*Gateway{g}, hv, b.root.Key.Namespace) && exposedBy([]*Gateway{g}, hs, split.Key.Namespace) {
					return true
				}
			}
		}
	}
	return false
}

// catchAllSplit tells whether vs has an http route without matches that
// sends fqdn to subsets.
func catchAllSplit(vs *snapshot.Object, fqdn string) bool {
	for _, h := range virtualService(vs).GetHttp() {
		if len(h.GetMatch()) > 0 {
			continue
		}
		for _, rd := range h.GetRoute() {
			if rd.GetDestination().GetSubset() != "" && FQDN(rd.GetDestination().GetHost(), vs.Key.Namespace) == fqdn {
				return true
			}
		}
		return false // later routes are never reached
	}
	return false
}

func containsGateway(gws []*Gateway, g *Gateway) bool {
	for _, x := range gws {
		if x == g {
			return true
		}
	}
	return false
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
