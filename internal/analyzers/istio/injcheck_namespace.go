package istio

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/facts"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

var nsInput = analysis.Kinds(snapshot.KindNamespace)

// nsWorkloads lists the pods and controllers of a namespace, leaving out
// those whose controller is listed too.
func nsWorkloads(s *snapshot.Snapshot, ns string) []*snapshot.Object {
	var out []*snapshot.Object
	for _, gk := range snapshot.WorkloadKinds {
		for _, o := range s.InNamespace(gk, ns) {
			if !ownedByPresent(s, o) {
				out = append(out, o)
			}
		}
	}
	return out
}

// meshEvidence names what in the input shows Istio is installed; "" when
// nothing does (then a namespace without labels is no finding).
func meshEvidence(s *snapshot.Snapshot, inj *Injection) string {
	for _, o := range s.List(snapshot.KindDeployment) {
		if facts.IsIstiod(o) {
			return "istiod runs (" + o.Ref() + ")"
		}
	}
	if len(inj.Hooks) > 0 {
		return "injection webhook " + inj.Hooks[0].Name() + " is installed"
	}
	for _, v := range inj.Values {
		return "injector " + v.Object.Ref() + " is installed"
	}
	for _, o := range s.List(snapshot.KindNamespace) {
		if o.Labels[NamespaceInjection] == "enabled" || o.Labels[RevisionLabel] != "" {
			return "namespace " + o.Key.Name + " is labelled for injection"
		}
	}
	return ""
}

// meshedWorkload returns a workload of the list that joins the mesh by its
// own labels or proxy, and why.
func meshedWorkload(s *snapshot.Snapshot, ws []*snapshot.Object) (*snapshot.Object, string) {
	for _, w := range ws {
		m := MembershipOf(s, w)
		if m.Dataplane == DataplaneSidecar || m.Dataplane == DataplaneAmbient {
			return w, m.Why
		}
		if _, _, l, ok := snapshot.PodSpecOf(w); ok && l[RevisionLabel] != "" {
			return w, "label " + RevisionLabel + "=" + l[RevisionLabel]
		}
	}
	return nil, ""
}

func workloadSample(ws []*snapshot.Object) string {
	names := make([]string, 0, len(ws))
	for _, w := range ws {
		names = append(names, w.Key.Kind+" "+w.Key.Name)
	}
	return strings.Join(analysis.FirstN(names, 3), ", ")
}

var nsReads = mergeReads(membershipReads(), injWorkloadReads()) // MD105 calls MembershipOf

// NamespaceNotInjected: a namespace with workloads and no word about
// injection, in a cluster that runs Istio.
var NamespaceNotInjected = &analysis.Analyzer{
	Code:     "MD105",
	Name:     "namespace-not-injected",
	Severity: analysis.Info,
	Summary:  "A namespace with workloads carries no injection or dataplane label although Istio is installed: its pods run outside the mesh.",
	Doc:      doc("MD105"),
	Inputs:   []analysis.Input{nsInput},
	Reads:    nsReads,
	Requires: []*analysis.Fact{InjectionFact},
	Run: func(p *analysis.Pass) error {
		s := p.Snapshot
		inj := p.ResultOf(InjectionFact).(*Injection)
		evidence := meshEvidence(s, inj)
		if evidence == "" {
			return nil
		}
		if v := inj.Values[""]; v != nil && v.EnableByDefault {
			return nil // every namespace is injected: MD108
		}
		for _, ns := range s.List(snapshot.KindNamespace) {
			name := ns.Key.Name
			if injSystemNamespace(name) || hasAnyLabel(ns.Labels, NamespaceInjection, RevisionLabel, DataplaneModeLabel) {
				continue
			}
			if platformNamespace(name) {
				continue // the platform's own: not the user's to label
			}
			ws := injectableWorkloads(nsWorkloads(s, name))
			if len(ws) == 0 {
				continue // nothing would be injected
			}
			if w, _ := meshedWorkload(s, ws); w != nil {
				continue // the namespace's workloads opt in one by one
			}
			p.Report(analysis.Finding{
				Subject:   ns.Key,
				Message:   fmt.Sprintf("Namespace %s has no %s, %s or %s label, so none of its %d workloads (%s) gets a sidecar: their traffic is plain text, outside mesh policy and telemetry, and STRICT mTLS peers refuse it.", name, NamespaceInjection, RevisionLabel, DataplaneModeLabel, len(ws), workloadSample(ws)),
				Locations: []analysis.Location{analysis.LocationOf(ns, snapshot.P("metadata", "name"))},
				Evidence:  []string{"namespace labels " + labelSetText(ns.Labels), "no workload of the namespace runs a proxy or carries " + InjectLabel + "=true / " + RevisionLabel, "Istio is installed: " + evidence},
				Remedy:    fmt.Sprintf("Decide and say so: `kubectl label namespace %s istio-injection=enabled` (or istio.io/rev=<revision>) and restart its workloads, or `kubectl label namespace %s istio-injection=disabled` to mark it as deliberately outside the mesh.", name, name),
				Key:       name,
			})
		}
		return nil
	},
}

// platformNamespace reports namespaces a Kubernetes distribution creates
// and manages for itself (kube-*, OpenShift's openshift-*, GKE's gke-* and
// gmp-*): their workloads are the platform's, which reconciles or forbids
// changes, so whether they join the mesh is not a decision the user makes
// with a namespace label.
func platformNamespace(ns string) bool {
	for _, p := range []string{"kube-", "openshift-", "gke-", "gmp-"} {
		if strings.HasPrefix(ns, p) {
			return true
		}
	}
	return ns == "openshift"
}

// injectableWorkloads leaves out workloads no label could inject: those
// with hostNetwork (node agents: the injector never injects them).
func injectableWorkloads(ws []*snapshot.Object) []*snapshot.Object {
	var out []*snapshot.Object
	for _, w := range ws {
		if spec, _, _, ok := snapshot.PodSpecOf(w); ok && spec.HostNetwork {
			continue
		}
		out = append(out, w)
	}
	return out
}

func hasAnyLabel(m map[string]string, keys ...string) bool {
	for _, k := range keys {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}

// NamespaceMultipleInjectionLabels: labels that select different
// dataplanes or revisions; the webhooks honour only one.
var NamespaceMultipleInjectionLabels = &analysis.Analyzer{
	Code:     "MD107",
	Name:     "namespace-multiple-injection-labels",
	Severity: analysis.Warning,
	Summary:  "A namespace carries more than one of istio-injection, istio.io/rev and istio.io/dataplane-mode=ambient: only one takes effect, and it may not be the intended one.",
	Doc:      doc("MD107"),
	Inputs:   []analysis.Input{nsInput},
	Reads:    map[schema.GroupKind][]string{snapshot.KindNamespace: {}},
	Run: func(p *analysis.Pass) error {
		for _, ns := range p.Snapshot.List(snapshot.KindNamespace) {
			if injSystemNamespace(ns.Key.Name) {
				continue
			}
			l := ns.Labels
			inj, hasInj := l[NamespaceInjection]
			if hasInj && inj != "enabled" {
				continue // disabled (or any other value) wins: nothing is injected
			}
			var set []string
			if hasInj {
				set = append(set, NamespaceInjection+"="+inj)
			}
			rev, hasRev := l[RevisionLabel]
			if hasRev {
				set = append(set, RevisionLabel+"="+rev)
			}
			ambient := l[DataplaneModeLabel] == "ambient"
			if ambient {
				set = append(set, DataplaneModeLabel+"=ambient")
			}
			if len(set) < 2 {
				continue
			}
			var effect, at, remedy string
			switch {
			case hasInj && hasRev:
				effect = fmt.Sprintf("the webhooks select %s=enabled first, so pods get the default revision's sidecar and %s=%s is ignored", NamespaceInjection, RevisionLabel, rev)
				at, remedy = RevisionLabel, fmt.Sprintf("Keep one label: remove %s to use revision %s (`kubectl label namespace %s %s-`), or remove %s.", NamespaceInjection, rev, ns.Key.Name, NamespaceInjection, RevisionLabel)
			default:
				effect = "pods get a sidecar and ztunnel leaves pods with sidecars alone, so the ambient label has no effect on them"
				at, remedy = DataplaneModeLabel, fmt.Sprintf("Choose one dataplane: remove %s (and restart the workloads) to use ambient, or remove %s=ambient to keep sidecars.", strings.SplitN(set[0], "=", 2)[0], DataplaneModeLabel)
			}
			p.Report(analysis.Finding{
				Subject:   ns.Key,
				Message:   fmt.Sprintf("Namespace %s has %s: %s.", ns.Key.Name, strings.Join(set, " and "), effect),
				Locations: []analysis.Location{analysis.LocationOf(ns, snapshot.P("metadata", "labels", at))},
				Evidence:  []string{"namespace labels " + labelSetText(l)},
				Remedy:    remedy,
				Key:       strings.Join(set, ","),
			})
		}
		return nil
	},
}

// NamespaceInjectedByDefault: the injector injects every namespace that
// does not opt out, so an unlabelled namespace is in the mesh.
var NamespaceInjectedByDefault = &analysis.Analyzer{
	Code:     "MD108",
	Name:     "namespace-injected-by-default",
	Severity: analysis.Info,
	Summary:  "The injector enables namespaces by default (sidecarInjectorWebhook.enableNamespacesByDefault): an unlabelled namespace with workloads is injected without saying so.",
	Doc:      doc("MD108"),
	Inputs:   []analysis.Input{nsInput, analysis.Kinds(snapshot.KindConfigMap)},
	Reads:    nsReads,
	Requires: []*analysis.Fact{InjectionFact},
	Run: func(p *analysis.Pass) error {
		s := p.Snapshot
		v := p.ResultOf(InjectionFact).(*Injection).Values[""]
		if v == nil || !v.EnableByDefault {
			return nil
		}
		for _, ns := range s.List(snapshot.KindNamespace) {
			name := ns.Key.Name
			if injSystemNamespace(name) || hasAnyLabel(ns.Labels, NamespaceInjection, RevisionLabel) || ns.Labels[DataplaneModeLabel] == "ambient" {
				continue
			}
			ws := nsWorkloads(s, name)
			if len(ws) == 0 {
				continue
			}
			p.Report(analysis.Finding{
				Subject:   ns.Key,
				Message:   fmt.Sprintf("Namespace %s has no injection label, but %s enables injection in every namespace by default: its %d workloads (%s) get sidecars on their next restart whether or not that was intended.", name, v.Object.Ref(), len(ws), workloadSample(ws)),
				Locations: []analysis.Location{analysis.LocationOf(ns, snapshot.P("metadata", "name"))},
				Evidence:  []string{"namespace labels " + labelSetText(ns.Labels), v.Object.Ref() + " values: sidecarInjectorWebhook.enableNamespacesByDefault: true"},
				Related:   []analysis.Related{analysis.RelatedOf(v.Object, "the injector's values")},
				Remedy:    fmt.Sprintf("Make it explicit: `kubectl label namespace %s istio-injection=enabled`, or `istio-injection=disabled` to keep it out of the mesh.", name),
				Key:       name,
			})
		}
		return nil
	},
}
