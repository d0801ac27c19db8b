package istio

import (
	"fmt"
	"sort"
	"strings"

	netv1alpha3 "istio.io/api/networking/v1alpha3"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// VSDestinationPort: a destination without a port toward a multi-port
// Service, or with a port the Service does not have.
var VSDestinationPort = &analysis.Analyzer{
	Code:     "MD209",
	Name:     "vs-destination-port",
	Severity: analysis.Error,
	Summary:  "A VirtualService destination names a port its Service does not expose, or names none although the Service exposes several.",
	Doc:      doc("MD209"),
	Inputs:   []analysis.Input{vsInput},
	Reads:    reads(nil),
	Requires: []*analysis.Fact{RegistryFact},
	Run: func(p *analysis.Pass) error {
		r := p.ResultOf(RegistryFact).(*Registry)
		for _, vs := range r.VirtualServices() {
			for _, d := range Destinations(vs) {
				fqdn := FQDN(d.Dest.GetHost(), vs.Key.Namespace)
				ports, owner := r.hostPorts(fqdn, vs.Key.Namespace)
				if owner == nil || len(ports) == 0 {
					continue
				}
				n := d.Dest.GetPort().GetNumber()
				if !(n == 0 && len(ports) > 1 || n != 0 && !containsPort(ports, n)) {
					continue // the port is right: nothing to describe
				}
				var list []string
				for _, n := range ports {
					list = append(list, fmt.Sprint(n))
				}
				have := strings.Join(list, ", ")
				f := analysis.Finding{
					Subject:  vs.Key,
					Evidence: []string{fmt.Sprintf("%s exposes ports %s", owner.Ref(), have)},
					Related:  []analysis.Related{analysis.RelatedOf(owner, "the destination host")},
					Key:      d.Path().String(),
				}
				switch {
				case n == 0 && len(ports) > 1:
					f.Message = fmt.Sprintf("%s %s %s without a port, but %s exposes several ports (%s): gateways and TCP/TLS routes cannot tell which one to use, so traffic may go to the wrong port or nowhere.", vs.Ref(), verb(d), d.Dest.GetHost(), owner.Ref(), have)
					f.Locations = []analysis.Location{analysis.LocationOf(vs, d.Path().Child("host"))}
					f.Remedy = fmt.Sprintf("Add port.number (one of %s) to the destination.", have)
					if refs, _ := boundGateways(vs); d.Kind == "http" && len(refs) == 0 {
						f.Severity = analysis.Warning // sidecars fall back to the listener's port
					}
				default:
					f.Message = fmt.Sprintf("%s %s %s port %d, but %s exposes only %s: Envoy has no cluster outbound|%d||%s and answers 503 (NC).", vs.Ref(), verb(d), d.Dest.GetHost(), n, owner.Ref(), have, n, fqdn)
					f.Locations = []analysis.Location{analysis.LocationOf(vs, d.Path().Child("port", "number"))}
					f.Remedy = fmt.Sprintf("Use the Service port (one of %s), not the container port.", have)
					if owner.Key.GroupKind() == snapshot.KindService {
						f.Evidence = append(f.Evidence, "a destination port is the Service's port, not its targetPort")
					}
				}
				p.Report(f)
			}
		}
		return nil
	},
}

func containsPort(ports []uint32, n uint32) bool {
	for _, p := range ports {
		if p == n {
			return true
		}
	}
	return false
}

// hostPorts returns the sorted ports of the Service or ServiceEntry that
// defines fqdn for clients in namespace from, and that object.
func (r *Registry) hostPorts(fqdn, from string) ([]uint32, *snapshot.Object) {
	if s := r.Services(fqdn, from); len(s) > 0 {
		var out []uint32
		for _, sp := range s[0].Spec.Spec.Ports {
			out = append(out, uint32(sp.Port))
		}
		sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
		return out, s[0].Object
	}
	if e := r.Entries(fqdn, from); len(e) == 1 {
		var out []uint32
		for _, sp := range e[0].Spec.GetPorts() {
			out = append(out, sp.GetNumber())
		}
		sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
		return out, e[0].Object
	}
	return nil, nil
}

// VSFaultWithRetries: fault injection on a route that also retries or
// times out.
var VSFaultWithRetries = &analysis.Analyzer{
	Code:     "MD210",
	Name:     "vs-fault-with-retries",
	Severity: analysis.Warning,
	Summary:  "A VirtualService http route combines fault injection with retries or a timeout; Istio does not apply them together as expected.",
	Doc:      doc("MD210"),
	Inputs:   []analysis.Input{vsInput},
	Reads:    reads(nil),
	Requires: []*analysis.Fact{RegistryFact},
	Run: func(p *analysis.Pass) error {
		r := p.ResultOf(RegistryFact).(*Registry)
		for _, vs := range r.VirtualServices() {
			for i, h := range virtualService(vs).GetHttp() {
				if h.GetFault() == nil {
					continue
				}
				var with []string
				if h.GetRetries() != nil && h.GetRetries().GetAttempts() != 0 {
					with = append(with, fmt.Sprintf("retries (attempts %d)", h.GetRetries().GetAttempts()))
				}
				if h.GetTimeout() != nil {
					with = append(with, "timeout "+h.GetTimeout().AsDuration().String())
				}
				if len(with) == 0 {
					continue
				}
				at := snapshot.P("spec", "http", i)
				p.Report(analysis.Finding{
					Subject:   vs.Key,
					Message:   fmt.Sprintf("%s http[%d] injects faults (%s) and also sets %s: the fault filter runs before the router, so injected aborts are not retried and injected delays are not cut by the route timeout — the test does not exercise the resilience settings it seems to.", vs.Ref(), i, faultText(h.GetFault()), strings.Join(with, " and ")),
					Locations: []analysis.Location{analysis.LocationOf(vs, at.Child("fault"))},
					Evidence:  []string{fmt.Sprintf("http[%d].fault: %s", i, faultText(h.GetFault())), fmt.Sprintf("http[%d]: %s", i, strings.Join(with, ", "))},
					Remedy:    "Inject the fault where the retries cannot see it: in the callee's VirtualService or an EnvoyFilter on the upstream proxy (SIDECAR_INBOUND), and keep retries/timeout on the caller's route.",
					Key:       at.String(),
				})
			}
		}
		return nil
	},
}

func faultText(f *netv1alpha3.HTTPFaultInjection) string {
	var parts []string
	if f.GetAbort() != nil {
		parts = append(parts, fmt.Sprintf("abort %d", f.GetAbort().GetHttpStatus()))
	}
	if f.GetDelay() != nil {
		parts = append(parts, "delay "+f.GetDelay().GetFixedDelay().AsDuration().String())
	}
	return orNone(parts)
}
