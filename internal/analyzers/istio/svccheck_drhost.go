package istio

import (
	"fmt"
	"strings"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// meshWideHost tells whether a wildcard host covers every Service of the
// mesh (*, *.local, *.cluster.local, *.svc.cluster.local): such rules set
// mesh-wide policy and are never "unknown".
func meshWideHost(h string) bool {
	return h == "*" || wildcarded(h) && strings.HasSuffix(".svc."+DomainSuffix, h[1:])
}

// hostSuffixes indexes every ServiceEntry host by each of its dot
// suffixes, so that a wildcard "*.example.com" is answered by one lookup
// of ".example.com" (linear in the hosts' labels, not hosts × rules).
func hostSuffixes(s *snapshot.Snapshot) map[string]bool {
	out := map[string]bool{}
	for _, o := range s.List(snapshot.KindServiceEntry) {
		se, ok := o.Typed.(*networkingv1.ServiceEntry)
		if !ok {
			continue
		}
		for _, h := range se.Spec.GetHosts() {
			h = strings.TrimPrefix(h, "*")
			for i := 0; i < len(h); i++ {
				if h[i] == '.' {
					out[h[i:]] = true
				}
			}
		}
	}
	return out
}

// wildcardKnown tells whether some ServiceEntry host overlaps the wildcard
// w (= "*" + suffix): a host ending in the suffix (or a more specific
// wildcard), found in suffixes, or a wildcard entry covering w, found by
// looking up each wildcard that covers w.
func wildcardKnown(w string, suffixes map[string]bool, wildEntries map[string][]*Entry) bool {
	if suffixes[w[1:]] {
		return true
	}
	return coveredByWildcard(w, wildEntries)
}

// coveredByWildcard tells whether a wildcard ServiceEntry host covers h.
func coveredByWildcard(h string, wildEntries map[string][]*Entry) bool {
	found := false
	eachWildcardCover(h, func(w string) bool {
		_, found = wildEntries[w]
		return !found
	})
	return found
}

// DRHostUnknown is IST0174: a DestinationRule whose host no Service or
// ServiceEntry defines.
var DRHostUnknown = &analysis.Analyzer{
	Code:     "MD241",
	Name:     "dr-host-unknown",
	Severity: analysis.Warning,
	Summary:  "A DestinationRule's host matches no Service or ServiceEntry: its traffic policy, TLS settings and subsets apply to nothing.",
	Doc:      doc("MD241"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindDestinationRule)},
	Reads:    reads(nil),
	Requires: []*analysis.Fact{RegistryFact},
	Run: func(p *analysis.Pass) error {
		r := p.ResultOf(RegistryFact).(*Registry)
		var suffixes map[string]bool
		for _, o := range p.Snapshot.List(snapshot.KindDestinationRule) {
			dr := r.ruleByObject[o]
			if dr == nil || dr.Host == "" || meshWideHost(dr.Host) {
				continue
			}
			host := dr.Spec.GetHost()
			if wildcarded(dr.Host) {
				if name, _, ok := ServiceOfHost(dr.Host); ok && name == "*" {
					continue // *.ns.svc.cluster.local: a namespace-wide policy
				}
				if !p.Snapshot.Has(snapshot.KindServiceEntry) {
					p.NotChecked("host of %s: the input has no ServiceEntries", o.Ref())
					continue
				}
				if suffixes == nil {
					suffixes = hostSuffixes(p.Snapshot)
				}
				if wildcardKnown(dr.Host, suffixes, r.wildEntries) {
					continue
				}
			} else {
				// Visibility is not required: the rule may be exported to
				// namespaces that see the host even when its own does not.
				if len(r.services[dr.Host]) > 0 || len(r.entries[dr.Host]) > 0 {
					continue
				}
				if coveredByWildcard(dr.Host, r.wildEntries) {
					continue
				}
				if _, ns, ok := ServiceOfHost(dr.Host); ok {
					if !p.Snapshot.Covers(snapshot.KindService, ns) {
						p.NotChecked("host of %s: the input has no Services of namespace %s", o.Ref(), ns)
						continue
					}
				} else if alt := r.guessService(host); alt == nil && !p.Snapshot.Has(snapshot.KindServiceEntry) {
					p.NotChecked("host of %s: the input has no ServiceEntries", o.Ref())
					continue
				}
			}
			f := analysis.Finding{
				Subject:   o.Key,
				Message:   fmt.Sprintf("%s has host %q (%s), which no Service or ServiceEntry defines: its traffic policy, TLS settings and subsets apply to no traffic, and routes that name its subsets fail.", o.Ref(), host, dr.Host),
				Locations: []analysis.Location{analysis.LocationOf(o, snapshot.P("spec", "host"))},
				Evidence:  []string{fmt.Sprintf("spec.host: %s (resolved in namespace %s to %s)", host, o.Key.Namespace, dr.Host)},
				Remedy:    "Set spec.host to an existing Service (name, or name.namespace.svc.cluster.local) or to a ServiceEntry host, or delete the DestinationRule.",
				Key:       "host",
			}
			if alt := r.guessService(host); alt != nil {
				f.Remedy = fmt.Sprintf("Istio reads a host with a dot literally; write the Service's full name %s.", alt.Host)
				f.Related = append(f.Related, analysis.RelatedOf(alt.Object, "the Service the host probably means"))
				f.Evidence = append(f.Evidence, fmt.Sprintf("Service %s exists: %q is taken literally because it contains a dot", alt.Object.Ref(), host))
			} else if _, ns, ok := ServiceOfHost(dr.Host); ok {
				f.Evidence = append(f.Evidence, fmt.Sprintf("the input holds Services of namespace %s, none named as the host", ns))
			}
			p.Report(f)
		}
		return nil
	},
}
