package proxylog

import (
	"fmt"
	"strings"

	netv1alpha3 "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"

	"github.com/meshdoctor/meshdoctor/internal/accesslog"
	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/istio"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// UOConnectionPool joins 503 UO (upstream overflow) failures to the
// DestinationRule connection-pool limits that tripped.
var UOConnectionPool = &analysis.Analyzer{
	Code:     "MD604",
	Name:     "log-uo-connection-pool-limits",
	Severity: analysis.Error,
	Summary:  "Proxies answered 503 UO (upstream overflow: a circuit breaker tripped) toward a host whose DestinationRule sets connection-pool limits; those limits are what rejects the requests.",
	Doc:      doc("MD604"),
	Inputs:   joinInputs,
	Reads:    joinReads,
	Requires: []*analysis.Fact{istio.RegistryFact},
	Run:      runUO,
}

// FIWithRetries joins fault-injected failures to the route that also
// retries or times out.
var FIWithRetries = &analysis.Analyzer{
	Code:     "MD605",
	Name:     "log-fault-injection-with-retries",
	Severity: analysis.Warning,
	Summary:  "Proxies logged injected faults (FI/DI) on a VirtualService route that also sets retries or a timeout: the injected aborts are never retried, so what looks like an outage (or a passing resilience test) is the fault configuration itself.",
	Doc:      doc("MD605"),
	Inputs:   joinInputs,
	Reads:    joinReads,
	Requires: []*analysis.Fact{istio.RegistryFact},
	Run:      runFI,
}

// policySetting finds the most specific setting of a traffic policy that
// applies to a subset and port, with its path: the subset's port-level
// settings, the subset's policy, the rule's port-level settings, the
// rule's policy. get reads the setting from a policy level, nil when unset.
func policySetting[T any](dr *netv1alpha3.DestinationRule, subset string, port int, field string,
	get func(*netv1alpha3.TrafficPolicy) *T, getPort func(*netv1alpha3.TrafficPolicy_PortTrafficPolicy) *T) (*T, snapshot.Path) {
	type level struct {
		tp   *netv1alpha3.TrafficPolicy
		path snapshot.Path
	}
	var levels []level
	for i, s := range dr.GetSubsets() {
		if s.GetName() == subset && s.GetTrafficPolicy() != nil {
			levels = append(levels, level{s.GetTrafficPolicy(), snapshot.P("spec", "subsets", i, "trafficPolicy")})
		}
	}
	if dr.GetTrafficPolicy() != nil {
		levels = append(levels, level{dr.GetTrafficPolicy(), snapshot.P("spec", "trafficPolicy")})
	}
	for _, l := range levels {
		for i, pl := range l.tp.GetPortLevelSettings() {
			if v := getPort(pl); int(pl.GetPort().GetNumber()) == port && v != nil {
				return v, l.path.Child("portLevelSettings", i, field)
			}
		}
		if v := get(l.tp); v != nil {
			return v, l.path.Child(field)
		}
	}
	return nil, nil
}

// poolAt is the connection pool that applies to a subset and port.
func poolAt(dr *netv1alpha3.DestinationRule, subset string, port int) (*netv1alpha3.ConnectionPoolSettings, snapshot.Path) {
	return policySetting(dr, subset, port, "connectionPool", (*netv1alpha3.TrafficPolicy).GetConnectionPool, (*netv1alpha3.TrafficPolicy_PortTrafficPolicy).GetConnectionPool)
}

// poolLimits lists the limits a connection pool sets.
func poolLimits(cp *netv1alpha3.ConnectionPoolSettings) []string {
	var out []string
	if n := cp.GetTcp().GetMaxConnections(); n > 0 {
		out = append(out, fmt.Sprintf("tcp.maxConnections: %d", n))
	}
	h := cp.GetHttp()
	if n := h.GetHttp1MaxPendingRequests(); n > 0 {
		out = append(out, fmt.Sprintf("http.http1MaxPendingRequests: %d", n))
	}
	if n := h.GetHttp2MaxRequests(); n > 0 {
		out = append(out, fmt.Sprintf("http.http2MaxRequests: %d", n))
	}
	if n := h.GetMaxRequestsPerConnection(); n > 0 {
		out = append(out, fmt.Sprintf("http.maxRequestsPerConnection: %d", n))
	}
	if n := h.GetMaxRetries(); n > 0 {
		out = append(out, fmt.Sprintf("http.maxRetries: %d", n))
	}
	if n := h.GetMaxConcurrentStreams(); n > 0 {
		out = append(out, fmt.Sprintf("http.maxConcurrentStreams: %d", n))
	}
	return out
}

func runUO(p *analysis.Pass) error {
	r := p.ResultOf(istio.RegistryFact).(*istio.Registry)
	al := p.Snapshot.AccessLogs()
	failingGroups(p, "UO", func(g *accesslog.Group, c accesslog.Cluster, from string) {
		for _, dr := range r.DestinationRules(c.Service, clientNS(from, c.Service)) {
			cp, at := poolAt(dr.Spec, c.Subset, c.Port)
			limits := poolLimits(cp)
			if len(limits) == 0 {
				continue
			}
			f := logFinding(g, al.Summary.Matched)
			f.Subject = dr.Object.Key
			f.Locations = []analysis.Location{analysis.LocationOf(dr.Object, at), logLocation(g, al)}
			f.Evidence = append(f.Evidence, fmt.Sprintf("%s %s: %s", dr.Object.Ref(), at, strings.Join(limits, ", ")))
			f.Message = fmt.Sprintf("%s failed with 503 UO toward %s: the circuit breaker of %s (%s) rejected them. Envoy answers UO when a connection-pool limit is reached — pending requests, connections or concurrent requests — instead of queueing.", plural(g.Failures, "request"), c.Name, dr.Object.Ref(), strings.Join(limits, ", "))
			f.Remedy = fmt.Sprintf("Raise the limits of %s to what the callers really send (or remove them to get Envoy's defaults), or scale the upstream; check `istioctl proxy-config cluster <client pod> --fqdn %s -o json` for circuitBreakers, and the upstream_rq_pending_overflow stat (`pilot-agent request GET stats | grep %s`).", at, c.Service, c.Service)
			p.Report(f)
			return
		}
	})
	return nil
}

func runFI(p *analysis.Pass) error {
	r := p.ResultOf(istio.RegistryFact).(*istio.Registry)
	al := p.Snapshot.AccessLogs()
	for i := range al.Summary.Groups {
		g := &al.Summary.Groups[i]
		if g.Failures == 0 || !hasFlag(g.Key.Flags, "FI") && !hasFlag(g.Key.Flags, "DI") {
			continue
		}
		c := g.Cluster()
		for _, vs := range r.VirtualServices() {
			spec, ok := vs.Typed.(*networkingv1.VirtualService)
			if !ok {
				continue
			}
			for j, h := range spec.Spec.GetHttp() {
				if h.GetFault() == nil || (h.GetRetries().GetAttempts() == 0 && h.GetTimeout() == nil) || !routeMatches(h, vs.Key.Namespace, g.Key.Route, c.Service) {
					continue
				}
				var with []string
				if n := h.GetRetries().GetAttempts(); n != 0 {
					with = append(with, fmt.Sprintf("retries (attempts %d)", n))
				}
				if h.GetTimeout() != nil {
					with = append(with, "timeout "+h.GetTimeout().AsDuration().String())
				}
				at := snapshot.P("spec", "http", j, "fault")
				f := logFinding(g, al.Summary.Matched)
				f.Subject = vs.Key
				f.Locations = []analysis.Location{analysis.LocationOf(vs, at), logLocation(g, al)}
				f.Evidence = append(f.Evidence, fmt.Sprintf("%s http[%d] sets fault and %s", vs.Ref(), j, strings.Join(with, " and ")))
				f.Message = fmt.Sprintf("%s were failed on purpose by the fault injection of %s http[%d] (flags %s), a route that also sets %s: the fault filter acts before the router, so the injected aborts are not retried and injected delays are not cut by the timeout — these failures come from the test configuration, not the upstream.", plural(g.Failures, "request"), vs.Ref(), j, g.Key.Flags, strings.Join(with, " and "))
				f.Remedy = "If the fault is a leftover, remove it. To test retries, inject the fault in the callee (its own VirtualService, or an EnvoyFilter on SIDECAR_INBOUND) and keep retries/timeout on the caller's route."
				p.Report(f)
			}
		}
	}
	return nil
}

// routeMatches tells whether a log group came through http route h: by the
// route's name when the log has one, else by a destination host.
func routeMatches(h *netv1alpha3.HTTPRoute, ns, route, service string) bool {
	if route != "" && route != "-" && route != "default" {
		return h.GetName() == route
	}
	for _, d := range h.GetRoute() {
		if istio.FQDN(d.GetDestination().GetHost(), ns) == service {
			return true
		}
	}
	return false
}
