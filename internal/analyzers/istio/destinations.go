package istio

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

var vsInput = analysis.Kinds(snapshot.KindVirtualService)

// VSHostNotFound: a route sends traffic to a host no Service or
// ServiceEntry defines.
var VSHostNotFound = &analysis.Analyzer{
	Code:     "MD201",
	Name:     "vs-destination-host-not-found",
	Severity: analysis.Error,
	Summary:  "A VirtualService routes or mirrors to a host that no Service or ServiceEntry defines (503 NR/NC, or traffic sent nowhere).",
	Doc:      doc("MD201"),
	Inputs:   []analysis.Input{vsInput},
	Reads:    reads(nil),
	Requires: []*analysis.Fact{RegistryFact},
	Run: func(p *analysis.Pass) error {
		r := p.ResultOf(RegistryFact).(*Registry)
		for _, vs := range r.VirtualServices() {
			for _, d := range Destinations(vs) {
				host := d.Dest.GetHost()
				dh := r.resolveDestination(host, vs.Key.Namespace)
				fqdn, alt := dh.fqdn, dh.alt
				switch dh.state {
				case HostUnknown:
					p.NotChecked("destination hosts of %s: %s", vs.Ref(), dh.why)
					continue
				case HostFound:
					continue
				}
				f := analysis.Finding{
					Subject:   vs.Key,
					Message:   fmt.Sprintf("%s %s %q, but no Service or ServiceEntry defines %s: %s", vs.Ref(), verb(d), host, fqdn, consequence(d)),
					Locations: []analysis.Location{analysis.LocationOf(vs, d.Path().Child("host"))},
					Evidence:  []string{fmt.Sprintf("%s.host: %s (resolved in namespace %s to %s)", d.Path(), host, vs.Key.Namespace, fqdn)},
					Remedy:    "Point the destination at an existing Service (name.namespace.svc.cluster.local) or define the external host with a ServiceEntry.",
					Key:       d.Path().String(),
				}
				if alt != nil {
					f.Remedy = fmt.Sprintf("Istio reads a host with a dot literally; write the Service's full name %s.", alt.Host)
					f.Related = append(f.Related, analysis.RelatedOf(alt.Object, "the Service the host probably means"))
					f.Evidence = append(f.Evidence, fmt.Sprintf("Service %s exists: %q is taken literally because it contains a dot", alt.Object.Ref(), host))
				}
				p.Report(f)
			}
		}
		return nil
	},
}

func consequence(d RouteDest) string {
	if d.Mirror {
		return "Envoy has no cluster for it, so nothing is mirrored."
	}
	return "Envoy has no cluster for it, so requests on this route fail (503, flag NC)."
}

func verb(d RouteDest) string {
	if d.Mirror {
		return "mirrors to"
	}
	return "routes to"
}

// VSSubsetNotFound: a destination names a subset no DestinationRule for its
// host defines.
var VSSubsetNotFound = &analysis.Analyzer{
	Code:     "MD202",
	Name:     "vs-destination-subset-not-found",
	Severity: analysis.Error,
	Summary:  "A VirtualService destination names a subset that no DestinationRule for that host defines (503 NC: cluster not found).",
	Doc:      doc("MD202"),
	Inputs:   []analysis.Input{vsInput},
	Reads:    reads(nil),
	Requires: []*analysis.Fact{RegistryFact},
	Run: func(p *analysis.Pass) error {
		r := p.ResultOf(RegistryFact).(*Registry)
		for _, vs := range r.VirtualServices() {
			for _, d := range Destinations(vs) {
				subset := d.Dest.GetSubset()
				if subset == "" {
					continue
				}
				dh := r.resolveDestination(d.Dest.GetHost(), vs.Key.Namespace)
				if dh.state == HostMissing {
					continue // MD201 reports the host itself
				}
				fqdn := dh.fqdn
				drs := r.DestinationRules(fqdn, vs.Key.Namespace)
				if len(drs) == 0 && !p.Snapshot.Has(snapshot.KindDestinationRule) {
					p.NotChecked("subsets of %s: the input has no DestinationRules", vs.Ref())
					continue
				}
				var defined []string
				found := false
				for _, dr := range drs {
					for _, s := range dr.Spec.GetSubsets() {
						defined = append(defined, s.GetName()+" ("+dr.Object.Ref()+")")
						if s.GetName() == subset {
							found = true
						}
					}
				}
				if found {
					continue
				}
				f := analysis.Finding{
					Subject: vs.Key,
					Message: fmt.Sprintf("%s %s subset %q of %s, but no DestinationRule for that host defines it: the route points at cluster outbound|%s|%s|%s, which does not exist, so Envoy answers 503 with flag NC.",
						vs.Ref(), verb(d), subset, fqdn, portText(d.Dest.GetPort().GetNumber()), subset, fqdn),
					Locations: []analysis.Location{analysis.LocationOf(vs, d.Path().Child("subset"))},
					Evidence:  []string{fmt.Sprintf("%s.subset: %s", d.Path(), subset)},
					Remedy:    fmt.Sprintf("Define subset %q (with the labels of its pods) in the DestinationRule for %s, or remove the subset from the route.", subset, fqdn),
					Key:       d.Path().String(),
				}
				if len(drs) == 0 {
					f.Evidence = append(f.Evidence, "no DestinationRule visible from namespace "+vs.Key.Namespace+" has host "+fqdn)
				} else {
					sort.Strings(defined)
					f.Evidence = append(f.Evidence, "subsets defined for the host: "+orNone(defined))
					for _, dr := range drs {
						f.Related = append(f.Related, analysis.RelatedOf(dr.Object, "DestinationRule for "+fqdn))
					}
				}
				p.Report(f)
			}
		}
		return nil
	},
}

func portText(n uint32) string {
	if n == 0 {
		return "<port>"
	}
	return fmt.Sprint(n)
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// SubsetNoPods: a DestinationRule subset whose labels, with its Service's
// selector, match no pod.
var SubsetNoPods = &analysis.Analyzer{
	Code:     "MD203",
	Name:     "dr-subset-selects-no-pods",
	Severity: analysis.Error,
	Summary:  "A DestinationRule subset's labels select no pod of its Service: traffic routed to it fails with 503 UH (no healthy upstream).",
	Doc:      doc("MD203"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindDestinationRule)},
	Reads:    reads(templateReads("metadata.labels")),
	Requires: []*analysis.Fact{RegistryFact},
	Run: func(p *analysis.Pass) error {
		r := p.ResultOf(RegistryFact).(*Registry)
		for _, o := range p.Snapshot.List(snapshot.KindDestinationRule) {
			dr := r.ruleByObject[o]
			if dr == nil || wildcarded(dr.Host) {
				continue
			}
			svcs := r.services[dr.Host]
			if _, ns, ok := ServiceOfHost(dr.Host); ok && len(svcs) == 0 && !p.Snapshot.Covers(snapshot.KindService, ns) {
				p.NotChecked("subsets of %s: the input has no Services of namespace %s", o.Ref(), ns)
				continue
			}
			if len(svcs) == 0 || len(svcs[0].Spec.Spec.Selector) == 0 {
				continue // external host, or endpoints not chosen by selector
			}
			svc := svcs[0]
			ns := svc.Object.Key.Namespace
			usePods := p.Snapshot.Covers(snapshot.KindPod, ns)
			if !usePods && !p.Snapshot.CoversWorkloads(ns) {
				p.NotChecked("subsets of %s: the input has no Pods or workloads in namespace %s", o.Ref(), ns)
				continue
			}
			for i, s := range dr.Spec.GetSubsets() {
				if len(s.GetLabels()) == 0 {
					continue
				}
				set := labels.Set{}
				for k, v := range svc.Spec.Spec.Selector {
					set[k] = v
				}
				conflict := false
				for k, v := range s.GetLabels() {
					if old, ok := set[k]; ok && old != v {
						conflict = true
					}
					set[k] = v
				}
				sel := labels.SelectorFromSet(set)
				var n int
				what := "pods"
				if usePods {
					n = len(p.Snapshot.SelectPods(ns, sel))
				} else {
					n = len(p.Snapshot.SelectWorkloads(ns, sel))
					what = "workload pod templates"
				}
				if n > 0 && !conflict {
					continue
				}
				f := analysis.Finding{
					Subject: o.Key,
					Message: fmt.Sprintf("Subset %q of %s selects no pod of Service %s: no %s in namespace %s carry %s, so the subset's cluster has no endpoints and requests routed to it fail with 503 UH.",
						s.GetName(), o.Ref(), svc.Object.Ref(), what, ns, sel),
					Locations: []analysis.Location{analysis.LocationOf(o, snapshot.P("spec", "subsets", i, "labels"))},
					Evidence: []string{
						fmt.Sprintf("subset %s labels: %s", s.GetName(), labels.Set(s.GetLabels())),
						fmt.Sprintf("Service %s selector: %s", svc.Object.Ref(), labels.Set(svc.Spec.Spec.Selector)),
					},
					Remedy: "Make the subset's labels match labels the Service's pods carry (check `kubectl get pods -n " + ns + " --show-labels`), or remove the subset and the routes to it.",
					Key:    s.GetName(),
				}
				if conflict {
					f.Evidence = append(f.Evidence, "the subset contradicts the Service's selector on a label both set")
				}
				f.Related = append(f.Related, analysis.RelatedOf(svc.Object, "the DestinationRule's host"))
				p.Report(f)
			}
		}
		return nil
	},
}
