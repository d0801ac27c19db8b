package istio

import (
	"fmt"
	"sort"
	"strings"

	netv1alpha3 "istio.io/api/networking/v1alpha3"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/facts"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/version"
)

// relativeWeights is the first istiod release whose validation accepts
// route weights that do not total 100 (istio/istio#39544); older ones
// reject them ("total destination weight N != 100").
var relativeWeights = version.MustParse("1.15.0")

// weighted is one destination of a route and its weight.
type weighted struct {
	dest   *netv1alpha3.Destination
	weight int32
}

// VSRouteWeights: route weights that total 0 (the route is rejected), or
// that do not total 100 (Istio normalises them).
var VSRouteWeights = &analysis.Analyzer{
	Code:     "MD219",
	Name:     "vs-route-weights",
	Severity: analysis.Error,
	Summary:  "A VirtualService route splits traffic across several destinations whose weights total 0 (Istio rejects it), or a total other than 100 (Istio uses them as proportions).",
	Doc:      doc("MD219"),
	Inputs:   []analysis.Input{vsInput},
	Reads:    reads(nil),
	Requires: []*analysis.Fact{RegistryFact, facts.ComponentVersions},
	Run: func(p *analysis.Pass) error {
		r := p.ResultOf(RegistryFact).(*Registry)
		old, known := istiodBefore(p.ResultOf(facts.ComponentVersions).(*facts.Versions), relativeWeights)
		for _, vs := range r.VirtualServices() {
			spec := virtualService(vs)
			check := func(kind string, i int, ds []weighted) {
				if len(ds) < 2 {
					return // a single destination takes all traffic whatever its weight
				}
				var total int32
				for _, d := range ds {
					total += d.weight
				}
				if total == 100 {
					return
				}
				var list []string
				for _, d := range ds {
					list = append(list, fmt.Sprintf("%s: %d", destText(d.dest), d.weight))
				}
				at := snapshot.P("spec", kind, i, "route")
				f := analysis.Finding{
					Subject:   vs.Key,
					Locations: []analysis.Location{analysis.LocationOf(vs, at)},
					Evidence:  []string{fmt.Sprintf("%s[%d] weights: %s (total %d)", kind, i, strings.Join(list, ", "), total)},
					Key:       fmt.Sprintf("%s[%d]", kind, i),
				}
				switch {
				case total == 0:
					f.Message = fmt.Sprintf("%s %s[%d] splits traffic across %d destinations whose weights total 0: Istio's validation rejects the VirtualService (\"total destination weight = 0\"); where it got in anyway, istiod drops every weight-0 destination and the route has nowhere to send traffic.", vs.Ref(), kind, i, len(ds))
					f.Remedy = "Give the destination(s) that should receive traffic a positive weight (e.g. 100 for the one that takes everything, 0 for the others)."
				case total != 100 && known && old:
					f.Message = fmt.Sprintf("%s %s[%d] has destination weights totalling %d, and istiod here is older than %s: its validation rejects the VirtualService (\"total destination weight %d != 100\").", vs.Ref(), kind, i, total, relativeWeights, total)
					f.Remedy = "Make the weights total 100, keeping the proportions: " + percentWeights(ds, total) + "."
					f.Evidence = append(f.Evidence, "istiod version: older than "+relativeWeights.String())
				case total != 100:
					f.Severity = analysis.Info
					f.Message = fmt.Sprintf("%s %s[%d] has destination weights totalling %d, not 100: Istio (1.15 and later) uses them as proportions, so the effective split is %s.", vs.Ref(), kind, i, total, normalised(ds, total))
					f.Remedy = "Nothing breaks; to make the intent obvious (and to stay valid on istiod older than 1.15), write weights that total 100: " + percentWeights(ds, total) + "."
					if !known {
						f.Evidence = append(f.Evidence, "istiod version not in the input: istiod before 1.15 rejects totals other than 100")
					}
				default:
					return
				}
				p.Report(f)
			}
			for i, h := range spec.GetHttp() {
				var ds []weighted
				for _, rd := range h.GetRoute() {
					ds = append(ds, weighted{rd.GetDestination(), rd.GetWeight()})
				}
				check("http", i, ds)
			}
			for i, t := range spec.GetTls() {
				var ds []weighted
				for _, rd := range t.GetRoute() {
					ds = append(ds, weighted{rd.GetDestination(), rd.GetWeight()})
				}
				check("tls", i, ds)
			}
			for i, t := range spec.GetTcp() {
				var ds []weighted
				for _, rd := range t.GetRoute() {
					ds = append(ds, weighted{rd.GetDestination(), rd.GetWeight()})
				}
				check("tcp", i, ds)
			}
		}
		return nil
	},
}

// normalised renders each destination's share of total in percent, as
// Envoy applies weights relative to their sum (weight-0 destinations are
// left out by istiod and get nothing).
func normalised(ds []weighted, total int32) string {
	var out []string
	for _, d := range ds {
		pct := float64(d.weight) * 100 / float64(total)
		out = append(out, fmt.Sprintf("%s %s%%", destText(d.dest), strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.1f", pct), "0"), ".")))
	}
	return strings.Join(out, ", ")
}

func destText(d *netv1alpha3.Destination) string {
	s := d.GetHost()
	if d.GetSubset() != "" {
		s += " subset " + d.GetSubset()
	}
	if d.GetPort().GetNumber() != 0 {
		s += fmt.Sprintf(" port %d", d.GetPort().GetNumber())
	}
	return s
}

// percentWeights rewrites weights as integers totalling 100 with the same
// proportions (largest remainder first).
func percentWeights(ds []weighted, total int32) string {
	type share struct {
		i    int
		w    int32
		frac int64
	}
	shares := make([]share, len(ds))
	var sum int32
	for i, d := range ds {
		w := d.weight * 100 / total
		shares[i] = share{i, w, int64(d.weight)*100 - int64(w)*int64(total)}
		sum += w
	}
	byFrac := make([]int, len(ds))
	for i := range byFrac {
		byFrac[i] = i
	}
	sort.SliceStable(byFrac, func(a, b int) bool { return shares[byFrac[a]].frac > shares[byFrac[b]].frac })
	for k := 0; sum < 100 && k < len(byFrac); k++ {
		shares[byFrac[k]].w++
		sum++
	}
	var out []string
	for i, d := range ds {
		out = append(out, fmt.Sprintf("%s weight %d", destText(d.dest), shares[i].w))
	}
	return strings.Join(out, ", ")
}
