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
		for _, vs := range r.VirtualServices() {
			refs, gws := r.existingGateways(vs)
			if len(gws) == 0 {
				continue
			}
			for _, d := range Destinations(vs) {
				if d.Kind != "http" || d.Mirror || d.Dest.GetSubset() != "" {
					continue
				}
				fqdn := FQDN(d.Dest.GetHost(), vs.Key.Namespace)
				var found []split
				for _, s := range splits[fqdn] {
					if s.vs == vs || sharesGateway(s.vs, refs) {
						continue // its own routes, or it is served by the same gateway
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
					Message:   fmt.Sprintf("%s, bound to gateway %s, routes to %s without a subset, while %s splits traffic to %s by subset for sidecars: a gateway applies only the VirtualServices bound to it, so requests entering through the gateway go to every pod of %s and the subset split has no effect on them.", vs.Ref(), strings.Join(refs, ", "), d.Dest.GetHost(), strings.Join(names, ", "), fqdn, fqdn),
					Locations: []analysis.Location{analysis.LocationOf(vs, d.Path.Child("host"))},
					Evidence:  append([]string{fmt.Sprintf("%s %s: host %s, no subset", vs.Ref(), d.Path.String(), d.Dest.GetHost())}, ev...),
					Remedy:    fmt.Sprintf("Repeat the subset routes (subset and weight per destination) in %s's route for %s, or bind the mesh VirtualService to the gateway as well (add the gateway to its spec.gateways next to mesh, with the gateway host in its hosts).", vs.Ref(), d.Dest.GetHost()),
					Related:   rel,
					Key:       d.Path.String(),
				})
			}
		}
		return nil
	},
}

// sharesGateway tells whether vs is bound to one of the gateways refs.
func sharesGateway(vs *snapshot.Object, refs []string) bool {
	own, _ := boundGateways(vs)
	for _, a := range own {
		for _, b := range refs {
			if a == b {
				return true
			}
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
