package istio

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	netv1alpha3 "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/facts"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

func sidecarSpec(o *snapshot.Object) *netv1alpha3.Sidecar {
	if sc, ok := o.Typed.(*networkingv1.Sidecar); ok {
		return &sc.Spec
	}
	return nil
}

// policiesByNamespace groups the input's policies of kind gk (Sidecars,
// PeerAuthentications) by namespace, oldest first: the one istiod prefers
// when several apply.
func policiesByNamespace(s *snapshot.Snapshot, gk schema.GroupKind) (map[string][]scopedPolicy, []string) {
	objs := append([]*snapshot.Object(nil), s.List(gk)...)
	sort.SliceStable(objs, func(i, j int) bool { return older(objs[i], objs[j]) })
	out := map[string][]scopedPolicy{}
	for _, o := range objs {
		if sp, ok := scopedPolicyOf(o); ok {
			out[o.Key.Namespace] = append(out[o.Key.Namespace], sp)
		}
	}
	return out, sortedKeys(out)
}

// namespaceDefaults returns the policies that select no workload: the
// namespace's default (or the mesh's, in the root namespace).
func namespaceDefaults(policies []scopedPolicy) []*snapshot.Object {
	var out []*snapshot.Object
	for _, sp := range policies {
		if !sp.selects() {
			out = append(out, sp.Object)
		}
	}
	return out
}

// ambientNamespace tells whether a Namespace enrols its pods in ambient
// mode without asking for sidecars.
func ambientNamespace(s *snapshot.Snapshot, ns string) (bool, string) {
	n := s.Get(snapshot.KindNamespace, "", ns)
	if n == nil || n.Labels[DataplaneModeLabel] != "ambient" || n.Labels[NamespaceInjection] == "enabled" || n.Labels[RevisionLabel] != "" {
		return false, ""
	}
	return true, "namespace label " + DataplaneModeLabel + "=ambient"
}

func sidecarReads() map[schema.GroupKind][]string {
	return mergeReads(secMembershipReads(), map[schema.GroupKind][]string{snapshot.KindSidecar: {"spec"}})
}

func winnerText(list []*snapshot.Object) string {
	for _, o := range list {
		if t := creation(o); t.IsZero() {
			return "istiod applies only one of them — the oldest by creationTimestamp — and ignores the others"
		}
	}
	return "istiod applies only the oldest, " + list[0].Ref() + ", and ignores the others"
}

// SidecarConflictingSelectors: a pod selected by several Sidecars (IST0110).
var SidecarConflictingSelectors = &analysis.Analyzer{
	Code:     "MD311",
	Name:     "sidecar-conflicting-selectors",
	Severity: analysis.Warning,
	Summary:  "Several Sidecars with workload selectors select the same pod; istiod applies only one of them.",
	Doc:      doc("MD311"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindSidecar)},
	Reads:    sidecarReads(),
	Run: func(p *analysis.Pass) error {
		w := newWorkloadIndex(p.Snapshot)
		byNS, nss := policiesByNamespace(p.Snapshot, snapshot.KindSidecar)
		for _, ns := range nss {
			// workload → Sidecars; only sidecar proxies read them
			picked, order := w.policiesPerWorkload(ns, byNS[ns], func(d Dataplane) bool { return d != DataplaneNone && d != DataplaneAmbient })
			type conflict struct {
				others map[*snapshot.Object]bool
				wls    []*snapshot.Object
			}
			per := map[*snapshot.Object]*conflict{}
			for _, wl := range order {
				scs := picked[wl]
				if len(scs) < 2 {
					continue
				}
				for _, sc := range scs {
					c := per[sc]
					if c == nil {
						c = &conflict{others: map[*snapshot.Object]bool{}}
						per[sc] = c
					}
					c.wls = append(c.wls, wl)
					for _, other := range scs {
						if other != sc {
							c.others[other] = true
						}
					}
				}
			}
			for _, sp := range byNS[ns] {
				c := per[sp.Object]
				if c == nil {
					continue
				}
				all := []*snapshot.Object{sp.Object}
				for _, sc := range byNS[ns] {
					if c.others[sc.Object] {
						all = append(all, sc.Object)
					}
				}
				sort.SliceStable(all, func(i, j int) bool { return older(all[i], all[j]) })
				f := analysis.Finding{
					Subject:   sp.Object.Key,
					Message:   fmt.Sprintf("%s and %s both select %s: %s, so the egress and ingress settings of the rest never reach those pods.", sp.Object.Ref(), refList(all[1:], 3), refList(c.wls, 3), winnerText(all)),
					Locations: []analysis.Location{analysis.LocationOf(sp.Object, sp.SelectorPath)},
					Evidence:  []string{"workloadSelector: " + labelText(sp.Selector)},
					Remedy:    "Make the workload selectors disjoint (one Sidecar per workload), or merge the Sidecars into one.",
					Key:       "conflict",
				}
				for _, other := range all {
					if other == sp.Object {
						continue
					}
					osp, _ := scopedPolicyOf(other)
					f.Evidence = append(f.Evidence, fmt.Sprintf("%s workloadSelector: %s", other.Ref(), labelText(osp.Selector)))
					f.Related = append(f.Related, analysis.RelatedOf(other, "selects the same pods"))
				}
				f.Evidence = append(f.Evidence, "selected by both: "+refList(c.wls, 5))
				p.Report(f)
			}
		}
		return nil
	},
}

// SidecarMultipleDefaults: more than one selector-less Sidecar in a
// namespace (IST0111).
var SidecarMultipleDefaults = &analysis.Analyzer{
	Code:     "MD312",
	Name:     "sidecar-multiple-defaults",
	Severity: analysis.Warning,
	Summary:  "A namespace has more than one Sidecar without a workload selector; istiod uses only one of them as the namespace default.",
	Doc:      doc("MD312"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindSidecar)},
	Reads:    sidecarReads(),
	Run: func(p *analysis.Pass) error {
		byNS, nss := policiesByNamespace(p.Snapshot, snapshot.KindSidecar)
		for _, ns := range nss {
			defaults := namespaceDefaults(byNS[ns])
			if len(defaults) < 2 {
				continue
			}
			if amb, _ := ambientNamespace(p.Snapshot, ns); amb {
				continue // no sidecars to configure: MD314
			}
			for _, o := range defaults {
				f := analysis.Finding{
					Subject:   o.Key,
					Message:   fmt.Sprintf("%s is one of %d Sidecars without a workload selector in namespace %s (%s): %s, so the egress and ingress settings of the rest apply nowhere.", o.Ref(), len(defaults), ns, refList(defaults, 4), winnerText(defaults)),
					Locations: []analysis.Location{analysis.LocationOf(o, snapshot.P("spec"))},
					Evidence:  []string{fmt.Sprintf("Sidecars without workloadSelector in %s: %s", ns, refList(defaults, 6))},
					Remedy:    "Keep one namespace-wide Sidecar (merge the egress hosts into it) and give the others a workloadSelector.",
					Key:       "default",
				}
				for _, other := range defaults {
					if other != o {
						f.Related = append(f.Related, analysis.RelatedOf(other, "another namespace-wide Sidecar"))
					}
				}
				p.Report(f)
			}
		}
		return nil
	},
}

// SidecarOnAmbient: a Sidecar whose workloads run in ambient mode, where
// there is no sidecar proxy to configure (IST0167).
var SidecarOnAmbient = &analysis.Analyzer{
	Code:     "MD314",
	Name:     "sidecar-on-ambient",
	Severity: analysis.Warning,
	Summary:  "A Sidecar applies only to ambient-mode workloads, which run no sidecar proxy: it has no effect.",
	Doc:      doc("MD314"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindSidecar)},
	Reads:    sidecarReads(),
	Requires: []*analysis.Fact{facts.MeshConfig},
	Run: func(p *analysis.Pass) error {
		root := p.ResultOf(facts.MeshConfig).(*facts.Mesh).RootNamespace()
		w := newWorkloadIndex(p.Snapshot)
		for _, o := range p.Snapshot.List(snapshot.KindSidecar) {
			sp, ok := scopedPolicyOf(o)
			ns := o.Key.Namespace
			if !ok || (!sp.selects() && ns == root) {
				continue
			}
			var ambient []*snapshot.Object
			proxied := false
			for _, wl := range w.selectIn(ns, sp.labelSelector()) {
				switch w.dataplane(wl) {
				case DataplaneAmbient:
					ambient = append(ambient, wl)
				case DataplaneSidecar, DataplaneUnknown:
					proxied = true
				}
			}
			if proxied {
				continue
			}
			f := analysis.Finding{Subject: o.Key, Key: "ambient"}
			nsAmbient, why := ambientNamespace(p.Snapshot, ns)
			switch {
			case len(ambient) > 0:
				f.Evidence = []string{fmt.Sprintf("%s: %s", ambient[0].Ref(), w.membership(ambient[0]).Why)}
				f.Related = []analysis.Related{analysis.RelatedOf(ambient[0], "ambient workload, no sidecar proxy")}
			case !sp.selects() && nsAmbient:
				f.Evidence = []string{"namespace " + ns + ": " + why}
			default:
				continue
			}
			what := "the workloads it selects (" + refList(ambient, 3) + ") run"
			if !sp.selects() {
				what = "namespace " + ns + " runs its workloads"
			}
			f.Message = fmt.Sprintf("%s configures sidecar proxies, but %s in ambient mode, with no sidecar: the Sidecar has no effect (ztunnel and waypoints ignore it).", o.Ref(), what)
			f.Locations = []analysis.Location{analysis.LocationOf(o, sp.SelectorPath)}
			if !sp.selects() {
				f.Locations = []analysis.Location{analysis.LocationOf(o, snapshot.P("spec"))}
			}
			f.Remedy = "Delete the Sidecar, or move the workloads back to sidecar mode (istio-injection=enabled, without istio.io/dataplane-mode=ambient) if its settings are needed. Egress scoping in ambient is done on the waypoint."
			p.Report(f)
		}
		return nil
	},
}

// vsHostIndex indexes VirtualService hosts by namespace (resolved).
func vsHostIndex(r *Registry) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, vs := range r.VirtualServices() {
		ns := vs.Key.Namespace
		for _, h := range virtualService(vs).GetHosts() {
			if out[ns] == nil {
				out[ns] = map[string]bool{}
			}
			if out["*"] == nil {
				out["*"] = map[string]bool{}
			}
			out[ns][FQDN(h, ns)] = true
			out["*"][FQDN(h, ns)] = true
		}
	}
	return out
}

// SidecarEgressHostNotFound: a Sidecar egress host that imports nothing.
var SidecarEgressHostNotFound = &analysis.Analyzer{
	Code:     "MD313",
	Name:     "sidecar-egress-host-not-found",
	Severity: analysis.Warning,
	Summary:  "A Sidecar egress host names a namespace or a service that does not exist there so the proxy gets no route to it.",
	Doc:      doc("MD313"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindSidecar)},
	Reads:    reads(map[schema.GroupKind][]string{snapshot.KindSidecar: {"spec"}}),
	Requires: []*analysis.Fact{RegistryFact},
	Run: func(p *analysis.Pass) error {
		r := p.ResultOf(RegistryFact).(*Registry)
		nsx := newNamespaceIndex(p.Snapshot, r.Mesh.RootNamespace())
		var vsHosts map[string]map[string]bool
		for _, o := range p.Snapshot.List(snapshot.KindSidecar) {
			sc := sidecarSpec(o)
			if sc == nil {
				continue
			}
			scNS := o.Key.Namespace
			for i, eg := range sc.GetEgress() {
				for k, h := range eg.GetHosts() {
					ns, dns, ok := strings.Cut(h, "/")
					if !ok || ns == "~" {
						continue
					}
					if ns == "." {
						ns = scNS
					}
					at := snapshot.P("spec", "egress", i, "hosts", k)
					f := analysis.Finding{
						Subject:   o.Key,
						Locations: []analysis.Location{analysis.LocationOf(o, at)},
						Evidence:  []string{fmt.Sprintf("%s: %q", at, h)},
						Key:       at.String(),
					}
					effect := "the proxy gets no cluster or route for it: with outboundTrafficPolicy REGISTRY_ONLY requests fail (502, BlackHoleCluster); with ALLOW_ANY they leave through PassthroughCluster without mTLS, retries or routing rules"
					if ns != "*" && nsx.known() && !nsx.set[ns] {
						f.Message = fmt.Sprintf("%s egress[%d] imports %q, but namespace %s does not exist: %s.", o.Ref(), i, h, ns, effect)
						f.Evidence = append(f.Evidence, fmt.Sprintf("no Namespace %s among the %d in the input", ns, len(nsx.names)))
						f.Remedy = "Correct the namespace part of the host (namespace/dnsName) to an existing namespace, or use */" + dns + "."
						p.Report(f)
						continue
					}
					if dns == "*" || strings.HasPrefix(dns, "*") {
						continue
					}
					if _, err := netip.ParseAddr(dns); err == nil {
						continue
					}
					if !strings.Contains(dns, ".") {
						continue // a short name is rejected by validation: MD010 reports it
					}
					if vsHosts == nil {
						vsHosts = vsHostIndex(r)
					}
					found, known, elsewhere := egressHostFound(r, vsHosts, ns, scNS, dns)
					if found || !known {
						continue
					}
					f.Message = fmt.Sprintf("%s egress[%d] imports %q, but no Service, ServiceEntry or VirtualService in %s defines %s: %s.", o.Ref(), i, h, nsText(ns), dns, effect)
					f.Remedy = "Correct the host to a service that exists (namespace/FQDN), or add the ServiceEntry that defines it."
					if elsewhere != nil {
						f.Message = fmt.Sprintf("%s egress[%d] imports %q, but %s is defined by %s in namespace %s, not %s: the namespace part selects where the service is declared, so %s.", o.Ref(), i, h, dns, elsewhere.Ref(), elsewhere.Key.Namespace, ns, effect)
						f.Remedy = fmt.Sprintf("Use %s/%s (or */%s).", elsewhere.Key.Namespace, dns, dns)
						f.Related = []analysis.Related{analysis.RelatedOf(elsewhere, "defines the host in another namespace")}
					}
					p.Report(f)
				}
			}
		}
		return nil
	},
}

func nsText(ns string) string {
	if ns == "*" {
		return "any namespace"
	}
	return "namespace " + ns
}

// egressHostFound looks a Sidecar egress host up in namespace ns ("*":
// any) for a Sidecar of namespace from. known is false when the input
// lacks what could define it; elsewhere is a Service defining it in
// another namespace.
func egressHostFound(r *Registry, vsHosts map[string]map[string]bool, ns, from, fqdn string) (found, known bool, elsewhere *snapshot.Object) {
	in := func(o *snapshot.Object) bool { return ns == "*" || o.Key.Namespace == ns }
	for _, s := range r.Services(fqdn, from) {
		if in(s.Object) {
			return true, true, nil
		}
		elsewhere = s.Object
	}
	for _, e := range r.Entries(fqdn, from) {
		if in(e.Object) {
			return true, true, nil
		}
	}
	if vsHosts[ns][fqdn] { // "*" holds the hosts of every namespace
		return true, true, nil
	}
	if _, svcNS, ok := ServiceOfHost(fqdn); ok {
		return false, r.Snapshot.Covers(snapshot.KindService, svcNS), elsewhere
	}
	return false, r.Snapshot.Has(snapshot.KindServiceEntry), elsewhere
}
