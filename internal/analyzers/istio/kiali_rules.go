package istio

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// DRMergeIgnored is Kiali's KIA0201, narrowed to what istiod really drops.
// istiod merges the DestinationRules of one namespace for one host that
// have no workloadSelector (and, from 1.22 with enhanced merging, the same
// exportTo) into the oldest one (pilot/pkg/model/destination_rule.go,
// mergeDestinationRule): subsets with new names are appended, a subset
// whose name is already there is dropped, and a later rule's top-level
// trafficPolicy is used only when no earlier rule has one.
var DRMergeIgnored = &analysis.Analyzer{
	Code:     "MD222",
	Name:     "dr-merge-ignored",
	Severity: analysis.Warning,
	Summary:  "Several DestinationRules of one namespace for the same host are merged by istiod, which keeps the oldest rule's top-level trafficPolicy and the first subset of each name: another rule's trafficPolicy or same-named subset is silently ignored.",
	Doc:      doc("MD222"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindDestinationRule)},
	Reads:    reads(nil),
	Requires: []*analysis.Fact{RegistryFact},
	Run: func(p *analysis.Pass) error {
		r := p.ResultOf(RegistryFact).(*Registry)
		groups := map[string][]*DestRule{}
		var keys []string
		for _, o := range p.Snapshot.List(snapshot.KindDestinationRule) {
			dr := r.ruleByObject[o]
			if dr == nil || dr.Host == "" || dr.Spec.GetWorkloadSelector() != nil {
				continue
			}
			exp := append([]string(nil), dr.Spec.GetExportTo()...)
			sort.Strings(exp)
			k := o.Key.Namespace + "|" + dr.Host + "|" + strings.Join(dedup(exp), ",")
			if groups[k] == nil {
				keys = append(keys, k)
			}
			groups[k] = append(groups[k], dr)
		}
		for _, k := range keys {
			g := groups[k]
			if len(g) < 2 {
				continue
			}
			sort.SliceStable(g, func(a, b int) bool { return olderFirst(g[a].Object, g[b].Object) })
			objs := make([]*snapshot.Object, len(g))
			for i, d := range g {
				objs[i] = d.Object
			}
			order := orderText(objs)
			var policyOwner *DestRule
			subsetOwner := map[string]*DestRule{}
			for _, d := range g {
				if d.Spec.GetTrafficPolicy() != nil {
					if policyOwner == nil {
						policyOwner = d
					} else {
						p.Report(analysis.Finding{
							Subject:   d.Object.Key,
							Message:   fmt.Sprintf("%s and %s both set a top-level trafficPolicy for %s in namespace %s: istiod merges the two rules and keeps only %s's trafficPolicy (%s); %s's is ignored entirely, not merged field by field.", d.Object.Ref(), policyOwner.Object.Ref(), d.Host, d.Object.Key.Namespace, policyOwner.Object.Ref(), order, d.Object.Ref()),
							Locations: []analysis.Location{analysis.LocationOf(d.Object, snapshot.P("spec", "trafficPolicy"))},
							Related:   []analysis.Related{analysis.RelatedOf(policyOwner.Object, "the rule whose trafficPolicy istiod keeps")},
							Evidence:  []string{fmt.Sprintf("DestinationRules for %s in %s without workloadSelector: %s", d.Host, d.Object.Key.Namespace, refList(objs, 5))},
							Remedy:    fmt.Sprintf("Keep one DestinationRule per host: move the settings of %s's trafficPolicy into %s's (or merge the two rules).", d.Object.Ref(), policyOwner.Object.Ref()),
							Key:       "trafficPolicy",
						})
					}
				}
				for i, s := range d.Spec.GetSubsets() {
					owner := subsetOwner[s.GetName()]
					if owner == nil {
						subsetOwner[s.GetName()] = d
						continue
					}
					if owner == d {
						continue // duplicate names within one rule: Istio validation rejects them
					}
					p.Report(analysis.Finding{
						Subject:   d.Object.Key,
						Message:   fmt.Sprintf("%s defines subset %q for %s, which %s in the same namespace already defines: istiod merges the rules and drops the later subset (%s), so its labels and traffic policy are ignored.", d.Object.Ref(), s.GetName(), d.Host, owner.Object.Ref(), order),
						Locations: []analysis.Location{analysis.LocationOf(d.Object, snapshot.P("spec", "subsets", i))},
						Related:   []analysis.Related{analysis.RelatedOf(owner.Object, "the rule whose subset istiod keeps")},
						Evidence:  []string{fmt.Sprintf("DestinationRules for %s in %s without workloadSelector: %s", d.Host, d.Object.Key.Namespace, refList(objs, 5))},
						Remedy:    fmt.Sprintf("Define subset %q in one DestinationRule only (rename one of them, or delete the duplicate).", s.GetName()),
						Key:       "subset " + s.GetName(),
					})
				}
			}
		}
		return nil
	},
}

func dedup(sorted []string) []string {
	var out []string
	for i, s := range sorted {
		if i == 0 || s != sorted[i-1] {
			out = append(out, s)
		}
	}
	return out
}

// exportToReads: the exportTo fields of the three kinds that have one, and
// the Namespaces.
var exportToReads = map[schema.GroupKind][]string{
	snapshot.KindVirtualService:  {"spec.exportTo"},
	snapshot.KindDestinationRule: {"spec.exportTo"},
	snapshot.KindServiceEntry:    {"spec.exportTo"},
	snapshot.KindNamespace:       {},
}

// exportToOf returns an object's spec.exportTo.
func exportToOf(o *snapshot.Object) []string {
	switch t := o.Typed.(type) {
	case *networkingv1.VirtualService:
		return t.Spec.GetExportTo()
	case *networkingv1.DestinationRule:
		return t.Spec.GetExportTo()
	case *networkingv1.ServiceEntry:
		return t.Spec.GetExportTo()
	}
	return nil
}

// ExportToNamespaceNotFound is Kiali's KIA0005: exportTo names a namespace
// that does not exist, judged only against a complete Namespace list.
var ExportToNamespaceNotFound = &analysis.Analyzer{
	Code:     "MD223",
	Name:     "exportto-namespace-not-found",
	Severity: analysis.Warning,
	Summary:  "A VirtualService, DestinationRule or ServiceEntry exports itself (exportTo) to a namespace that does not exist: that entry makes it visible nowhere (a typo leaves the intended namespace without it).",
	Doc:      doc("MD223"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindVirtualService, snapshot.KindDestinationRule, snapshot.KindServiceEntry), analysis.Kinds(snapshot.KindNamespace)},
	Reads:    exportToReads,
	Requires: []*analysis.Fact{RegistryFact},
	Run: func(p *analysis.Pass) error {
		r := p.ResultOf(RegistryFact).(*Registry)
		nsx := newNamespaceIndex(p.Snapshot, r.Mesh.RootNamespace())
		for _, gk := range []schema.GroupKind{snapshot.KindVirtualService, snapshot.KindDestinationRule, snapshot.KindServiceEntry} {
			for _, o := range p.Snapshot.List(gk) {
				exp := exportToOf(o)
				var missing []string
				var idx []int
				for i, e := range exp {
					if e == "." || e == "*" || e == "~" || e == "" || nsx.set[e] {
						continue
					}
					missing = append(missing, e)
					idx = append(idx, i)
				}
				if len(missing) == 0 {
					continue
				}
				if !nsx.known() {
					p.NotChecked("exportTo of %s: the input does not list every Namespace", o.Ref())
					continue
				}
				var locs []analysis.Location
				for _, i := range idx {
					locs = append(locs, analysis.LocationOf(o, snapshot.P("spec", "exportTo", i)))
				}
				consequence := "those entries make it visible to no namespace"
				if len(missing) == len(exp) {
					consequence = "no entry names an existing namespace, so no proxy sees it at all"
				}
				p.Report(analysis.Finding{
					Subject:   o.Key,
					Message:   fmt.Sprintf("%s exports itself to %s, which the input's complete Namespace list does not hold: %s (if a name is a typo, the namespace meant does not see it).", o.Ref(), quoteList(missing), consequence),
					Locations: locs,
					Evidence:  []string{fmt.Sprintf("spec.exportTo: [%s]; namespaces listed: %d", strings.Join(exp, ", "), len(nsx.names))},
					Remedy:    "Correct the namespace name, remove the entry, or create the namespace if it is still to come.",
					Key:       "exportTo",
				})
			}
		}
		return nil
	},
}
