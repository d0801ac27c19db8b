package istio

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/facts"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// SidecarRootSelector is Kiali's KIA1006. istiod takes as the mesh-wide
// default only a root-namespace Sidecar whose workloadSelector is nil
// (pilot/pkg/model/push_context.go, initSidecarScopes: rootNSConfig); one
// with a workloadSelector is an ordinary Sidecar of the root namespace and
// applies only to the root namespace's own workloads that it selects.
var SidecarRootSelector = &analysis.Analyzer{
	Code:     "MD319",
	Name:     "sidecar-root-namespace-selector",
	Severity: analysis.Warning,
	Summary:  "A Sidecar in the mesh root namespace has a workloadSelector: it is not the mesh-wide default, and applies only to the root namespace's own workloads that it selects.",
	Doc:      doc("MD319"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindSidecar)},
	Reads:    map[schema.GroupKind][]string{snapshot.KindSidecar: {"spec.workloadSelector"}},
	Requires: []*analysis.Fact{facts.MeshConfig},
	Run: func(p *analysis.Pass) error {
		root := p.ResultOf(facts.MeshConfig).(*facts.Mesh).RootNamespace()
		var defaults []*snapshot.Object
		for _, o := range p.Snapshot.InNamespace(snapshot.KindSidecar, root) {
			if sc := sidecarSpec(o); sc != nil && sc.GetWorkloadSelector() == nil {
				defaults = append(defaults, o)
			}
		}
		for _, o := range p.Snapshot.InNamespace(snapshot.KindSidecar, root) {
			sc := sidecarSpec(o)
			if sc == nil || sc.GetWorkloadSelector() == nil {
				continue
			}
			sel := sc.GetWorkloadSelector().GetLabels()
			f := analysis.Finding{
				Subject:   o.Key,
				Message:   fmt.Sprintf("%s is in the mesh root namespace %s but has a workloadSelector: istiod uses only a selector-less Sidecar of the root namespace as the mesh-wide default, so this one applies only to workloads of %s itself that match %s, not to the other namespaces.", o.Ref(), root, root, labelText(sel)),
				Locations: []analysis.Location{analysis.LocationOf(o, snapshot.P("spec", "workloadSelector"))},
				Evidence:  []string{"mesh root namespace: " + root, "spec.workloadSelector.labels: " + labelText(sel)},
				Remedy:    fmt.Sprintf("For a mesh-wide default, remove the workloadSelector from %s (keep one selector-less Sidecar in %s); for specific workloads, move the Sidecar into their namespace with the selector.", o.Ref(), root),
				Key:       "root-selector",
			}
			if len(defaults) > 0 {
				f.Evidence = append(f.Evidence, "mesh-wide default in force: "+refList(defaults, 3))
				f.Related = []analysis.Related{analysis.RelatedOf(defaults[0], "the selector-less root Sidecar istiod uses mesh-wide")}
			} else {
				f.Evidence = append(f.Evidence, "no selector-less Sidecar in "+root+": namespaces without their own Sidecar get no egress scoping")
			}
			p.Report(f)
		}
		return nil
	},
}

// PeerAuthConflictingSelectors is Kiali's KIA0003 for PeerAuthentication:
// istiod composes a workload's policy from one workload-level
// PeerAuthentication, the oldest whose selector matches
// (pilot/pkg/security/authn/policy_applier.go, ComposePeerAuthentication).
// Selectors in the root namespace are ignored there, so they are not
// counted. Several RequestAuthentications on one workload are all applied
// and are not reported.
var PeerAuthConflictingSelectors = &analysis.Analyzer{
	Code:     "MD320",
	Name:     "peerauth-conflicting-selectors",
	Severity: analysis.Warning,
	Summary:  "Several PeerAuthentications with selectors select the same workload; istiod applies only the oldest of them to it and ignores the rest.",
	Doc:      doc("MD320"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindPeerAuth)},
	Reads:    mergeReads(secMembershipReads(), map[schema.GroupKind][]string{snapshot.KindPeerAuth: {"spec.selector"}}),
	Requires: []*analysis.Fact{facts.MeshConfig},
	Run: func(p *analysis.Pass) error {
		root := p.ResultOf(facts.MeshConfig).(*facts.Mesh).RootNamespace()
		w := newWorkloadIndex(p.Snapshot)
		byNS, nss := policiesByNamespace(p.Snapshot, snapshot.KindPeerAuth)
		for _, ns := range nss {
			if ns == root {
				continue // selectors in the root namespace are ignored by istiod
			}
			// workload → policies, oldest first; any mesh proxy counts
			picked, order := w.policiesPerWorkload(ns, byNS[ns], func(d Dataplane) bool { return d != DataplaneNone })
			// One finding per ignored policy: the workloads where an older
			// policy wins over it.
			type loss struct {
				winners map[*snapshot.Object]bool
				wls     []*snapshot.Object
			}
			lost := map[*snapshot.Object]*loss{}
			for _, wl := range order {
				pas := picked[wl]
				if len(pas) < 2 {
					continue
				}
				dated := allDated(pas)
				for i, pa := range pas {
					if i == 0 && dated {
						continue // the oldest applies
					}
					l := lost[pa]
					if l == nil {
						l = &loss{winners: map[*snapshot.Object]bool{}}
						lost[pa] = l
					}
					for j, other := range pas {
						if j != i && (!dated || j == 0) {
							l.winners[other] = true
						}
					}
					l.wls = append(l.wls, wl)
				}
			}
			for _, sp := range byNS[ns] {
				l := lost[sp.Object]
				if l == nil {
					continue
				}
				var winners []*snapshot.Object
				for _, o := range byNS[ns] {
					if l.winners[o.Object] {
						winners = append(winners, o.Object)
					}
				}
				all := append(append([]*snapshot.Object(nil), winners...), sp.Object)
				f := analysis.Finding{
					Subject:   sp.Object.Key,
					Message:   fmt.Sprintf("%s and %s both select %s: %s, so %s's mTLS settings never reach those workloads.", sp.Object.Ref(), refList(winners, 3), refList(l.wls, 3), winnerText(all)+" entirely (mtls and portLevelMtls alike)", sp.Object.Ref()),
					Locations: []analysis.Location{analysis.LocationOf(sp.Object, sp.SelectorPath)},
					Evidence:  []string{"selector.matchLabels: " + labelText(sp.Selector)},
					Remedy:    "Make the selectors disjoint (one PeerAuthentication per workload), or merge the settings (mtls, portLevelMtls) into the policy that wins and delete the other.",
					Key:       "conflict",
				}
				for _, o := range winners {
					osp, _ := scopedPolicyOf(o)
					f.Evidence = append(f.Evidence, fmt.Sprintf("%s selector.matchLabels: %s (created %s)", o.Ref(), labelText(osp.Selector), creationText(o)))
					f.Related = append(f.Related, analysis.RelatedOf(o, "selects the same workloads"))
				}
				f.Evidence = append(f.Evidence, fmt.Sprintf("%s created %s", sp.Object.Ref(), creationText(sp.Object)), "selected by both: "+refList(l.wls, 5))
				p.Report(f)
			}
		}
		return nil
	},
}

// allDated tells whether every object carries a creationTimestamp, so
// that the oldest (the one istiod applies) is known.
func allDated(objs []*snapshot.Object) bool {
	for _, o := range objs {
		if t := creation(o); t.IsZero() {
			return false
		}
	}
	return true
}

func creationText(o *snapshot.Object) string {
	t := creation(o)
	if t.IsZero() {
		return "(no creationTimestamp in the input)"
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

// PeerAuthMultipleDefaults is Kiali's KIA0002 for PeerAuthentication:
// several selector-less policies (no selector, or empty matchLabels) in
// one namespace; istiod takes the oldest as the namespace policy (the
// mesh policy in the root namespace) and ignores the others.
var PeerAuthMultipleDefaults = &analysis.Analyzer{
	Code:     "MD321",
	Name:     "peerauth-multiple-namespace-defaults",
	Severity: analysis.Warning,
	Summary:  "A namespace has more than one PeerAuthentication without a selector; istiod uses only the oldest as the namespace (or, in the root namespace, mesh) policy.",
	Doc:      doc("MD321"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindPeerAuth)},
	Reads:    map[schema.GroupKind][]string{snapshot.KindPeerAuth: {"spec.selector"}},
	Requires: []*analysis.Fact{facts.MeshConfig},
	Run: func(p *analysis.Pass) error {
		root := p.ResultOf(facts.MeshConfig).(*facts.Mesh).RootNamespace()
		byNS, nss := policiesByNamespace(p.Snapshot, snapshot.KindPeerAuth)
		for _, ns := range nss {
			defaults := namespaceDefaults(byNS[ns])
			if len(defaults) < 2 {
				continue
			}
			scope := "the namespace policy of " + ns
			if ns == root {
				scope = "the mesh-wide policy (root namespace " + ns + ")"
			}
			losers := defaults
			if allDated(defaults) {
				losers = defaults[1:] // the oldest applies
			}
			for _, o := range losers {
				f := analysis.Finding{
					Subject:   o.Key,
					Message:   fmt.Sprintf("%s is one of %d PeerAuthentications without a selector in namespace %s (%s): only one of them is %s — %s.", o.Ref(), len(defaults), ns, refList(defaults, 4), scope, winnerText(defaults)+" entirely (mtls and portLevelMtls alike)"),
					Locations: []analysis.Location{analysis.LocationOf(o, snapshot.P("spec"))},
					Evidence:  []string{fmt.Sprintf("PeerAuthentications without selector in %s, oldest first: %s", ns, refList(defaults, 6))},
					Remedy:    fmt.Sprintf("Keep one selector-less PeerAuthentication in %s (merge mtls and portLevelMtls into it) and delete the others, or give them a selector for the workloads they are meant for.", ns),
					Key:       "default",
				}
				for _, d := range defaults {
					if d != o {
						f.Related = append(f.Related, analysis.RelatedOf(d, "another selector-less PeerAuthentication of the namespace"))
					}
				}
				for _, d := range defaults {
					f.Evidence = append(f.Evidence, fmt.Sprintf("%s created %s", d.Ref(), creationText(d)))
				}
				p.Report(f)
			}
		}
		return nil
	},
}
