package proxylog

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/accesslog"
	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/istio"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// The joins read access logs and the configuration of the upstreams they
// name; the registry fact declares what it decodes of Services,
// DestinationRules and VirtualServices.
var (
	joinInputs = []analysis.Input{analysis.AccessLogGroups(), analysis.Kinds(snapshot.KindService, snapshot.KindDestinationRule, snapshot.KindVirtualService)}
	joinReads  = map[schema.GroupKind][]string{snapshot.KindPod: append([]string{"status.phase"}, snapshot.PodConditionReads()...)}
)

// NCSubsetMissing joins 503 NC failures to the subset no DestinationRule
// defines.
var NCSubsetMissing = &analysis.Analyzer{
	Code:     "MD602",
	Name:     "log-nc-subset-not-defined",
	Severity: analysis.Error,
	Summary:  "Proxies answered 503 NC (no cluster) toward a subset that no DestinationRule for the host defines; the VirtualService route that names it is the cause.",
	Doc:      doc("MD602"),
	Inputs:   joinInputs,
	Reads:    joinReads,
	Requires: []*analysis.Fact{istio.RegistryFact},
	Run:      runNC,
}

// UHNoEndpoints joins 503 UH failures to the subset or Service that
// selects no ready pod.
var UHNoEndpoints = &analysis.Analyzer{
	Code:     "MD603",
	Name:     "log-uh-no-ready-pods",
	Severity: analysis.Error,
	Summary:  "Proxies answered 503 UH (no healthy upstream) toward a Service or subset whose selector picks no pod, or only pods that are not ready.",
	Doc:      doc("MD603"),
	Inputs:   joinInputs,
	Reads:    joinReads,
	Requires: []*analysis.Fact{istio.RegistryFact},
	Run:      runUH,
}

// failingGroups calls fn with every failure group carrying flag, its
// parsed cluster and the namespace its requests came from ("" unknown).
func failingGroups(p *analysis.Pass, flag string, fn func(g *accesslog.Group, c accesslog.Cluster, from string)) {
	al := p.Snapshot.AccessLogs()
	for i := range al.Summary.Groups {
		g := &al.Summary.Groups[i]
		if g.Failures == 0 || !hasFlag(g.Key.Flags, flag) {
			continue
		}
		c := g.Cluster()
		if c.Direction != accesslog.DirOutbound || c.Service == "" {
			continue
		}
		from := ""
		if w, ok := al.Writers[g.First.File]; ok {
			from = w.Namespace
		}
		fn(g, c, from)
	}
}

func hasFlag(flags, flag string) bool {
	for _, f := range accesslog.SplitFlags(flags) {
		if f == flag {
			return true
		}
	}
	return false
}

// clientNS is the namespace visibility is judged from: the writer's, else
// the host's own (a client in the service's namespace sees what it does).
func clientNS(from, fqdn string) string {
	if from != "" {
		return from
	}
	if _, ns, ok := istio.ServiceOfHost(fqdn); ok {
		return ns
	}
	return ""
}

// logFinding starts a finding about a log group joined to config.
func logFinding(g *accesslog.Group, total int64) analysis.Finding {
	n := failures(g)
	f := analysis.Finding{Key: g.Key.String(), Evidence: sampleEvidence(g)}
	f.Evidence = append(f.Evidence, fmt.Sprintf("%d of %d records (%.1f%%), first %s, last %s", n, total, 100*float64(n)/float64(max(total, 1)), seen(g.First), seen(g.Last)))
	return f
}

// failures is how many of a joined group's requests failed. Older Envoy
// logs a 426 low_version refusal with no response flag, and a 4xx without
// a flag is not counted as a failure by the scanner; a join picks such a
// group by its code and details, so every record of it failed.
func failures(g *accesslog.Group) int64 {
	if g.Failures == 0 {
		return g.Count
	}
	return g.Failures
}

// logLocation is the group's first sample, as the last location of a
// joined finding (the config object comes first).
func logLocation(g *accesslog.Group, al *snapshot.AccessLogs) analysis.Location {
	return sampleLocations(g, al.Writers)[0]
}

func runNC(p *analysis.Pass) error {
	r := p.ResultOf(istio.RegistryFact).(*istio.Registry)
	al := p.Snapshot.AccessLogs()
	failingGroups(p, "NC", func(g *accesslog.Group, c accesslog.Cluster, from string) {
		if c.Subset == "" {
			return
		}
		ns := clientNS(from, c.Service)
		drs := r.DestinationRules(c.Service, ns)
		if len(drs) == 0 && !p.Snapshot.Has(snapshot.KindDestinationRule) {
			p.NotChecked("503 NC toward subset %s of %s: the input has no DestinationRules", c.Subset, c.Service)
			return
		}
		var defined []string
		for _, dr := range drs {
			for _, s := range dr.Spec.GetSubsets() {
				if s.GetName() == c.Subset {
					return // defined now: the failures predate it, or come from elsewhere
				}
				defined = append(defined, s.GetName()+" ("+dr.Object.Ref()+")")
			}
		}
		f := logFinding(g, al.Summary.Matched)
		f.Subject = subject(g)
		for _, vs := range r.VirtualServices() {
			for _, d := range istio.Destinations(vs) {
				if d.Dest.GetSubset() == c.Subset && istio.FQDN(d.Dest.GetHost(), vs.Key.Namespace) == c.Service {
					if len(f.Locations) == 0 {
						f.Subject = vs.Key
					}
					f.Locations = append(f.Locations, analysis.LocationOf(vs, d.Path().Child("subset")))
				}
			}
		}
		f.Locations = append(f.Locations, logLocation(g, al))
		sort.Strings(defined)
		if len(defined) == 0 {
			defined = []string{"none"}
		}
		f.Evidence = append(f.Evidence, fmt.Sprintf("subsets defined for %s (seen from namespace %s): %s", c.Service, ns, strings.Join(defined, ", ")))
		for _, dr := range drs {
			f.Related = append(f.Related, analysis.RelatedOf(dr.Object, "DestinationRule for "+c.Service))
		}
		f.Message = fmt.Sprintf("%s failed with 503 NC toward cluster %s: no DestinationRule for %s defines subset %q, so the cluster a route points at does not exist.", plural(g.Failures, "request"), c.Name, c.Service, c.Subset)
		f.Remedy = fmt.Sprintf("Define subset %q (with its pods' labels) in the DestinationRule for %s, or remove the subset from the VirtualService route; then check `istioctl proxy-config cluster <pod> --fqdn %s` lists %s.", c.Subset, c.Service, c.Service, c.Name)
		p.Report(f)
	})
	return nil
}

func runUH(p *analysis.Pass) error {
	r := p.ResultOf(istio.RegistryFact).(*istio.Registry)
	al := p.Snapshot.AccessLogs()
	failingGroups(p, "UH", func(g *accesslog.Group, c accesslog.Cluster, from string) {
		ns := clientNS(from, c.Service)
		svcs := r.Services(c.Service, ns)
		if len(svcs) == 0 || len(svcs[0].Spec.Spec.Selector) == 0 {
			return // not a Kubernetes Service with a selector: endpoints are not ours to judge
		}
		svc := svcs[0]
		svcNS := svc.Object.Key.Namespace
		if !p.Snapshot.Covers(snapshot.KindPod, svcNS) {
			p.NotChecked("503 UH toward %s: the input has no Pods of namespace %s", c.Service, svcNS)
			return
		}
		sel := labels.Set{}
		for k, v := range svc.Spec.Spec.Selector {
			sel[k] = v
		}
		at := analysis.LocationOf(svc.Object, snapshot.P("spec", "selector"))
		subject := svc.Object.Key
		what := "Service " + svc.Object.Ref() + " selector " + sel.String()
		var related []analysis.Related
		if c.Subset != "" {
			found := false
			for _, dr := range r.DestinationRules(c.Service, ns) {
				for i, s := range dr.Spec.GetSubsets() {
					if s.GetName() != c.Subset {
						continue
					}
					for k, v := range s.GetLabels() {
						sel[k] = v
					}
					at = analysis.LocationOf(dr.Object, snapshot.P("spec", "subsets", i, "labels"))
					subject = dr.Object.Key
					what = fmt.Sprintf("subset %s of %s (with the Service's selector: %s)", c.Subset, dr.Object.Ref(), sel.String())
					related = append(related, analysis.RelatedOf(svc.Object, "the Service of "+c.Service))
					found = true
				}
			}
			if !found {
				return // MD602's case (NC), or a subset defined elsewhere
			}
		}
		pods := p.Snapshot.SelectPods(svcNS, labels.SelectorFromSet(sel))
		var ready, notReady []*snapshot.Object
		for _, o := range pods {
			pod, ok := o.Typed.(*corev1.Pod)
			if !ok {
				continue
			}
			if podReady(pod) {
				ready = append(ready, o)
			} else {
				notReady = append(notReady, o)
			}
		}
		if len(ready) > 0 {
			return // endpoints exist now: outlier ejection or a past outage; not this join
		}
		f := logFinding(g, al.Summary.Matched)
		f.Subject = subject
		f.Locations = []analysis.Location{at, logLocation(g, al)}
		f.Related = related
		if len(notReady) == 0 {
			f.Message = fmt.Sprintf("%s failed with 503 UH toward %s: %s selects no pod, so the cluster has no endpoints.", plural(g.Failures, "request"), c.Name, what)
			f.Evidence = append(f.Evidence, fmt.Sprintf("pods of namespace %s matching %s: none", svcNS, sel.String()))
			f.Remedy = "Make the labels match the pods' labels (`kubectl get pods -n " + svcNS + " --show-labels`), or deploy the workload they name; `istioctl proxy-config endpoint <pod> --cluster \"" + c.Name + "\"` must then list endpoints."
		} else {
			var names []string
			for _, o := range notReady {
				names = append(names, o.Key.Name)
			}
			f.Message = fmt.Sprintf("%s failed with 503 UH toward %s: every pod %s selects is not ready (%s), so the cluster has no healthy endpoint.", plural(g.Failures, "request"), c.Name, what, strings.Join(names, ", "))
			f.Evidence = append(f.Evidence, fmt.Sprintf("pods selected, none ready: %s", strings.Join(names, ", ")))
			for _, o := range notReady {
				f.Related = append(f.Related, analysis.RelatedOf(o, "selected, not ready"))
			}
			f.Remedy = "Find why the pods are not ready (`kubectl describe pod`, their readiness probes and logs) and fix that; the 503s stop when one becomes ready."
		}
		p.Report(f)
	})
	return nil
}

func podReady(pod *corev1.Pod) bool {
	if pod.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return true // running without conditions: a hand-written pod
}
