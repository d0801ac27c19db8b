package istio

import (
	"fmt"
	"sort"
	"strings"

	netv1alpha3 "istio.io/api/networking/v1alpha3"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// routeDests returns the destinations (with weights) of every http, tls and
// tcp route of a VirtualService, keyed by "kind[i]".
type routeEntry struct {
	kind  string
	index int
	dests []weighted
}

func routeEntries(spec *netv1alpha3.VirtualService) []routeEntry {
	var out []routeEntry
	for i, h := range spec.GetHttp() {
		e := routeEntry{kind: "http", index: i}
		for _, rd := range h.GetRoute() {
			e.dests = append(e.dests, weighted{rd.GetDestination(), rd.GetWeight()})
		}
		out = append(out, e)
	}
	for i, t := range spec.GetTls() {
		e := routeEntry{kind: "tls", index: i}
		for _, rd := range t.GetRoute() {
			e.dests = append(e.dests, weighted{rd.GetDestination(), rd.GetWeight()})
		}
		out = append(out, e)
	}
	for i, t := range spec.GetTcp() {
		e := routeEntry{kind: "tcp", index: i}
		for _, rd := range t.GetRoute() {
			e.dests = append(e.dests, weighted{rd.GetDestination(), rd.GetWeight()})
		}
		out = append(out, e)
	}
	return out
}

// clusterKey names the Envoy cluster a destination resolves to: its host
// (as an FQDN in the VirtualService's namespace), subset and port number
// (0 when the destination names none).
func clusterKey(d *netv1alpha3.Destination, ns string) string {
	return fmt.Sprintf("%s|%s|%d", FQDN(d.GetHost(), ns), d.GetSubset(), d.GetPort().GetNumber())
}

// VSRepeatedDestination is Kiali's KIA1105: one route lists the same
// destination (host, subset and port) more than once.
var VSRepeatedDestination = &analysis.Analyzer{
	Code:     "MD220",
	Name:     "vs-repeated-destination",
	Severity: analysis.Warning,
	Summary:  "A VirtualService route lists the same destination (host, subset and port) more than once: every entry goes to one cluster, which receives their combined weight, so the split is not the one written (usually one entry meant another subset).",
	Doc:      doc("MD220"),
	Inputs:   []analysis.Input{vsInput},
	Reads:    reads(nil),
	Requires: []*analysis.Fact{RegistryFact},
	Run: func(p *analysis.Pass) error {
		r := p.ResultOf(RegistryFact).(*Registry)
		for _, vs := range r.VirtualServices() {
			spec := virtualService(vs)
			for _, e := range routeEntries(spec) {
				byCluster := map[string][]int{}
				var order []string
				for j, d := range e.dests {
					if d.dest.GetHost() == "" {
						continue
					}
					k := clusterKey(d.dest, vs.Key.Namespace)
					if byCluster[k] == nil {
						order = append(order, k)
					}
					byCluster[k] = append(byCluster[k], j)
				}
				var total int32
				for _, d := range e.dests {
					total += d.weight
				}
				for _, k := range order {
					idx := byCluster[k]
					if len(idx) < 2 {
						continue
					}
					var parts []string
					var sum int32
					for _, j := range idx {
						parts = append(parts, fmt.Sprintf("route[%d] weight %d", j, e.dests[j].weight))
						sum += e.dests[j].weight
					}
					first := e.dests[idx[0]].dest
					share := ""
					if len(e.dests) > 1 && total > 0 {
						share = fmt.Sprintf(" — %s of the route's traffic", pct(sum, total))
					}
					var locs []analysis.Location
					for _, j := range idx[1:] {
						locs = append(locs, analysis.LocationOf(vs, snapshot.P("spec", e.kind, e.index, "route", j, "destination")))
					}
					p.Report(analysis.Finding{
						Subject:   vs.Key,
						Message:   fmt.Sprintf("%s %s[%d] lists destination %s %d times (%s): all of them go to the same cluster, which receives their combined weight %d%s; no other destination gets that share, so the route does not split traffic as written.", vs.Ref(), e.kind, e.index, destText(first), len(idx), strings.Join(parts, ", "), sum, share),
						Locations: locs,
						Evidence:  []string{fmt.Sprintf("%s[%d] destinations: %s", e.kind, e.index, destList(e.dests))},
						Remedy:    "Keep one entry per destination with the sum of the weights, or change the repeated entry to the subset (or host) it was meant for.",
						Key:       fmt.Sprintf("%s[%d] %s", e.kind, e.index, k),
					})
				}
			}
		}
		return nil
	},
}

func pct(part, total int32) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.1f", float64(part)*100/float64(total)), "0"), ".") + "%"
}

func destList(ds []weighted) string {
	var out []string
	for _, d := range ds {
		out = append(out, fmt.Sprintf("%s (weight %d)", destText(d.dest), d.weight))
	}
	return strings.Join(out, "; ")
}

// DRSubsetWithoutLabels is Kiali's KIA0209: a subset without labels selects
// every endpoint of the host (istiod's endpoint filter is "subset labels ⊆
// endpoint labels", which the empty set always passes).
var DRSubsetWithoutLabels = &analysis.Analyzer{
	Code:     "MD221",
	Name:     "dr-subset-without-labels",
	Severity: analysis.Warning,
	Summary:  "A DestinationRule subset has no labels, so it selects every endpoint of its host: a route that splits traffic between it and another subset of the host sends part of the \"other\" share to that subset's pods as well.",
	Doc:      doc("MD221"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindDestinationRule)},
	Reads:    reads(nil),
	Requires: []*analysis.Fact{RegistryFact},
	Run: func(p *analysis.Pass) error {
		r := p.ResultOf(RegistryFact).(*Registry)
		// splits: host FQDN → subset → the routes that split traffic
		// between that subset and another subset of the same host.
		splits := map[string]map[string][]string{}
		for _, vs := range r.VirtualServices() {
			for _, e := range routeEntries(virtualService(vs)) {
				subsets := map[string]map[string]bool{}
				for _, d := range e.dests {
					h := FQDN(d.dest.GetHost(), vs.Key.Namespace)
					if subsets[h] == nil {
						subsets[h] = map[string]bool{}
					}
					subsets[h][d.dest.GetSubset()] = true
				}
				for h, set := range subsets {
					if len(set) < 2 {
						continue
					}
					for s := range set {
						if s == "" {
							continue
						}
						if splits[h] == nil {
							splits[h] = map[string][]string{}
						}
						splits[h][s] = append(splits[h][s], fmt.Sprintf("%s %s[%d]", vs.Ref(), e.kind, e.index))
					}
				}
			}
		}
		for _, o := range p.Snapshot.List(snapshot.KindDestinationRule) {
			dr := r.ruleByObject[o]
			if dr == nil {
				continue
			}
			for i, s := range dr.Spec.GetSubsets() {
				if len(s.GetLabels()) > 0 || s.GetName() == "" {
					continue
				}
				f := analysis.Finding{
					Subject:   o.Key,
					Locations: []analysis.Location{analysis.LocationOf(o, snapshot.P("spec", "subsets", i))},
					Evidence:  []string{fmt.Sprintf("spec.subsets[%d] (%s): no labels; host %s", i, s.GetName(), dr.Host)},
					Key:       "subset " + s.GetName(),
				}
				var users []string
				if !wildcarded(dr.Host) {
					users = splits[dr.Host][s.GetName()]
					sort.Strings(users)
				}
				if len(users) > 0 {
					f.Message = fmt.Sprintf("%s subset %q has no labels, so it selects every endpoint of %s, including those of the other subsets; %s split traffic between it and another subset, so the pods of that other subset receive traffic through %q too and the split is not the one written.", o.Ref(), s.GetName(), dr.Host, strings.Join(users, ", "), s.GetName())
					f.Remedy = fmt.Sprintf("Give subset %q the labels of the pods it is meant for (e.g. version: %s).", s.GetName(), s.GetName())
					f.Evidence = append(f.Evidence, "routes splitting between it and another subset: "+strings.Join(users, ", "))
				} else {
					f.Severity = analysis.Info
					f.Message = fmt.Sprintf("%s subset %q has no labels, so it selects every endpoint of %s: it behaves like the host without a subset (plus the subset's own traffic policy). If it was meant for one version of the workload, its labels are missing.", o.Ref(), s.GetName(), dr.Host)
					f.Remedy = fmt.Sprintf("Add the labels of the pods subset %q is meant for; if it deliberately covers every endpoint, nothing needs to change.", s.GetName())
				}
				p.Report(f)
			}
		}
		return nil
	},
}
