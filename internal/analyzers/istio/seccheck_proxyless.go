package istio

import (
	"fmt"
	"strings"

	netv1alpha3 "istio.io/api/networking/v1alpha3"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// DRIstioMutualToProxyless: a DestinationRule forces Istio mTLS toward a
// Service whose every backend runs without a proxy, so nothing on the
// server side can terminate it.
var DRIstioMutualToProxyless = &analysis.Analyzer{
	Code:     "MD316",
	Name:     "dr-istio-mutual-to-proxyless",
	Severity: analysis.Error,
	Summary:  "A DestinationRule sets tls.mode ISTIO_MUTUAL for a Service whose backends all run without a sidecar or ztunnel: client sidecars send Istio mTLS to plaintext servers and every request fails.",
	Doc:      doc("MD316"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindDestinationRule)},
	// Backends by label (Service selector, subset labels) and what decides
	// their dataplane.
	Reads:    reads(membershipReads(), templateReads("metadata.labels")),
	Requires: []*analysis.Fact{RegistryFact},
	Run: func(p *analysis.Pass) error {
		r := p.ResultOf(RegistryFact).(*Registry)
		for _, o := range p.Snapshot.List(snapshot.KindDestinationRule) {
			dr := r.ruleByObject[o]
			if dr == nil || wildcarded(dr.Host) {
				continue
			}
			var settings []clientTLS
			for _, ct := range clientTLSSettings(dr.Spec) {
				if ct.tls.GetMode() == netv1alpha3.ClientTLSSettings_ISTIO_MUTUAL {
					settings = append(settings, ct)
				}
			}
			if len(settings) == 0 {
				continue
			}
			svcs := r.Services(dr.Host, o.Key.Namespace)
			// One Service for the host, and no ServiceEntry that could
			// define its endpoints instead.
			if len(svcs) != 1 || len(r.Entries(dr.Host, o.Key.Namespace)) > 0 {
				continue
			}
			svc := svcs[0]
			backends := serviceBackends(p.Snapshot, svc.Object)
			if len(backends) == 0 {
				continue
			}
			members := make([]Membership, len(backends))
			for i, b := range backends {
				members[i] = MembershipOf(p.Snapshot, b)
			}
			for _, ct := range settings {
				reportIstioMutualToProxyless(p, dr, svc, ct, backends, members)
			}
		}
		return nil
	},
}

// reportIstioMutualToProxyless reports one ISTIO_MUTUAL setting when the
// Service ports it governs are non-empty and every backend it reaches
// (those of its subset, if any) is known to run without a proxy.
func reportIstioMutualToProxyless(p *analysis.Pass, dr *DestRule, svc *Service, ct clientTLS, backends []*snapshot.Object, members []Membership) {
	var ports []string
	for _, sp := range svc.Spec.Spec.Ports {
		if ct.port != 0 && uint32(sp.Port) != ct.port || ct.overridden[uint32(sp.Port)] {
			continue
		}
		ports = append(ports, fmt.Sprint(sp.Port))
	}
	if len(ports) == 0 {
		return
	}
	sel, ok := subsetSelector(dr.Spec, ct.subset)
	if !ok {
		return
	}
	var reached []*snapshot.Object
	var why []string
	for i, b := range backends {
		_, _, podLabels, ok := snapshot.PodSpecOf(b)
		if !ok || !sel.Matches(labels.Set(podLabels)) {
			continue
		}
		if members[i].Dataplane != DataplaneNone {
			return // a proxy, ambient, or unknown: Istio mTLS may be terminated
		}
		reached = append(reached, b)
		if len(why) < maxProxylessEvidence {
			why = append(why, fmt.Sprintf("%s: %s", b.Ref(), members[i].Why))
		}
	}
	if len(reached) == 0 {
		return
	}
	f := analysis.Finding{
		Subject: dr.Object.Key,
		Message: fmt.Sprintf("%s sets tls.mode ISTIO_MUTUAL for %s %s%s, but every backend of %s (%s) runs without an Istio proxy: client sidecars originate Istio mTLS to servers that speak plaintext, so every request fails (503 UC, 'upstream connect error or disconnect/reset before headers'; TCP connections are reset).",
			dr.Object.Ref(), dr.Host, proxylessPortsText(ports), subsetText(ct.subset), svc.Object.Ref(), refList(reached, 3)),
		Locations: []analysis.Location{analysis.LocationOf(dr.Object, ct.path.Child("mode"))},
		Evidence:  append([]string{fmt.Sprintf("%s: mode ISTIO_MUTUAL", ct.path)}, why...),
		Remedy:    fmt.Sprintf("Remove the tls block at %s (auto mTLS sends plaintext to pods without a sidecar) or set tls.mode DISABLE for %s there; or inject the workloads (istio-injection=enabled on the namespace, then restart them).", ct.path, dr.Host),
		Related:   []analysis.Related{analysis.RelatedOf(svc.Object, "the destination host")},
		Key:       ct.path.String(),
	}
	if n := len(reached) - len(why); n > 0 {
		f.Evidence = append(f.Evidence, fmt.Sprintf("and %d more backends without a proxy", n))
	}
	for _, b := range reached[:len(why)] {
		f.Related = append(f.Related, analysis.RelatedOf(b, "a backend without a proxy"))
	}
	p.Report(f)
}

// maxProxylessEvidence bounds the backends listed in a finding.
const maxProxylessEvidence = 5

func proxylessPortsText(ports []string) string {
	if len(ports) == 1 {
		return "port " + ports[0]
	}
	return "ports " + strings.Join(ports, ", ")
}

// subsetSelector returns the labels a subset's setting reaches (every
// backend for a rule-wide setting); false if the subset is not found.
func subsetSelector(dr *netv1alpha3.DestinationRule, subset string) (labels.Selector, bool) {
	if subset == "" {
		return labels.Everything(), true
	}
	for _, ss := range dr.GetSubsets() {
		if ss.GetName() == subset {
			return labels.SelectorFromSet(ss.GetLabels()), true
		}
	}
	return nil, false
}
