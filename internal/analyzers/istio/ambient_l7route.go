package istio

import (
	"fmt"
	"strings"

	netv1alpha3 "istio.io/api/networking/v1alpha3"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// AmbientL7RouteNoWaypoint: HTTP/TLS routing of a mesh VirtualService, or
// layer-7 traffic policy of a DestinationRule, for a Service in ambient
// mode that no waypoint serves, in a mesh where no proxy would apply it on
// the client side (Kiali KIA0210, KIA0211 and the VirtualService forms of
// KIA1109–1117).
var AmbientL7RouteNoWaypoint = &analysis.Analyzer{
	Code:     "MD260",
	Name:     "ambient-l7-route-no-waypoint",
	Severity: analysis.Warning,
	Summary:  "A VirtualService's HTTP/TLS routes or a DestinationRule's layer-7 traffic policy is for an ambient Service that no waypoint serves, and no sidecar or gateway would apply it: ztunnel ignores both, so nothing does.",
	Doc:      doc("MD260"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindVirtualService, snapshot.KindDestinationRule)},
	Reads:    reads(secMembershipReads(), otherWorkloadReads(), waypointReads, gatewayWorkloadReads),
	Requires: []*analysis.Fact{RegistryFact},
	Run: func(p *analysis.Pass) error {
		r := p.ResultOf(RegistryFact).(*Registry)
		c := &ambientRouteChecker{p: p, r: r, w: newWorkloadIndex(p.Snapshot), memo: map[*snapshot.Object]ambientService{}}
		for _, o := range r.VirtualServices() {
			vs := virtualService(o)
			if vs == nil || !boundToMesh(o) {
				continue
			}
			var l7 []l7Field
			if len(vs.GetHttp()) > 0 {
				l7 = append(l7, l7Field{snapshot.P("spec", "http"), fmt.Sprintf("%d HTTP route(s)", len(vs.GetHttp()))})
			}
			if len(vs.GetTls()) > 0 {
				l7 = append(l7, l7Field{snapshot.P("spec", "tls"), fmt.Sprintf("%d TLS route(s)", len(vs.GetTls()))})
			}
			if len(l7) == 0 {
				continue
			}
			for i, h := range vs.GetHosts() {
				c.check(o, l7, FQDN(h, o.Key.Namespace), snapshot.P("spec", "hosts", i), false)
			}
		}
		for _, o := range p.Snapshot.List(snapshot.KindDestinationRule) {
			dr := r.ruleByObject[o]
			if dr == nil || dr.Host == "" || dr.Spec.GetWorkloadSelector() != nil {
				continue
			}
			if l7 := drL7Fields(dr.Spec); len(l7) > 0 {
				c.check(o, l7, dr.Host, snapshot.P("spec", "host"), true)
			}
		}
		return nil
	},
}

type ambientRouteChecker struct {
	p    *analysis.Pass
	r    *Registry
	w    *workloadIndex
	memo map[*snapshot.Object]ambientService
	// proxies: whether some client runs a sidecar (or may), and whether
	// some gateway proxy exists; computed on first need.
	proxies    *[2]bool
	proxyKnown bool
}

// clientProxies tells whether a sidecar (or a VM or custom workload, or
// an undecidable one) or a gateway proxy runs anywhere: sidecars apply
// mesh VirtualServices and DestinationRules to what they send, gateways
// apply DestinationRules. known is false when the input does not hold the
// workloads of every namespace.
func (c *ambientRouteChecker) clientProxies() (sidecar, gateway, known bool) {
	if c.proxies == nil {
		var pr [2]bool
		c.proxyKnown = c.w.allCovered()
		if len(c.w.selectOther(snapshot.AllNamespaces, labels.Everything())) > 0 {
			pr[0] = true
		}
		for _, wl := range c.w.selectIn(snapshot.AllNamespaces, labels.Everything()) {
			if waypointWorkload(wl) {
				continue
			}
			switch c.w.dataplane(wl) {
			case DataplaneSidecar, DataplaneUnknown:
				if looksLikeGatewayProxy(wl) {
					pr[1] = true
				} else {
					pr[0] = true
				}
			}
		}
		c.proxies = &pr
	}
	return c.proxies[0], c.proxies[1], c.proxyKnown
}

// check reports config (a VirtualService or a DestinationRule) with
// layer-7 fields for host when host is a Service in ambient mode that no
// waypoint serves and no client-side proxy would apply it.
func (c *ambientRouteChecker) check(o *snapshot.Object, l7 []l7Field, host string, hostPath snapshot.Path, dr bool) {
	if strings.HasPrefix(host, "*") {
		return
	}
	svcs := c.r.Services(host, o.Key.Namespace)
	if len(svcs) == 0 {
		return // not a Service of the cluster: other checks
	}
	svc := svcs[0].Object
	a, ok := c.memo[svc]
	if !ok {
		a = serviceWaypoint(c.r.Snapshot, c.w, svc)
		c.memo[svc] = a
	}
	if !a.Known {
		c.p.NotChecked("waypoint of %s (the host of %s): %s", svc.Ref(), o.Ref(), a.Why)
		return
	}
	if !a.Ambient || a.Served {
		return
	}
	sidecar, gateway, known := c.clientProxies()
	if !known {
		c.p.NotChecked("%s for ambient %s without a waypoint: the input does not hold the workloads of every namespace, so sidecar clients (which would apply it) cannot be ruled out", o.Ref(), svc.Ref())
		return
	}
	if sidecar || (dr && gateway) {
		return // a client-side proxy applies it to what it sends
	}
	what, applies := "routes by connection and ignores VirtualServices", "its routing (matches, weights, retries, timeouts, fault injection, TLS routes)"
	if dr {
		what, applies = "ignores DestinationRules", "its layer-7 traffic policy"
	}
	names := make([]string, 0, len(l7))
	for _, f := range l7 {
		names = append(names, f.what)
	}
	f := analysis.Finding{
		Subject:   o.Key,
		Message:   fmt.Sprintf("%s sets %s for %s, which runs in ambient mode, but no waypoint serves that Service (%s) and no workload of the input runs a sidecar: ztunnel %s, so %s applies to no request.", o.Ref(), strings.Join(names, ", "), svc.Ref(), a.Problem, what, applies),
		Locations: append([]analysis.Location{analysis.LocationOf(o, l7[0].path), analysis.LocationOf(o, hostPath)}, a.locations()...),
		Related:   []analysis.Related{analysis.RelatedOf(svc, "the destination, in ambient mode without a waypoint")},
		Remedy:    a.remedy(),
		Key:       svc.Ref(),
	}
	for _, fl := range l7 {
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s: %s (layer 7)", fl.path, fl.what))
	}
	f.Evidence = append(f.Evidence, fmt.Sprintf("%s: %s", hostPath, host))
	f.Evidence = append(f.Evidence, a.evidence()...)
	f.Evidence = append(f.Evidence, "no sidecar or gateway proxy among the workloads of the input: every client goes through ztunnel")
	if !dr {
		f.Evidence[len(f.Evidence)-1] = "no sidecar among the workloads of the input: every client goes through ztunnel (gateways apply only VirtualServices bound to them)"
	}
	c.p.Report(f)
}

// drL7Fields lists a DestinationRule's traffic policy that only an Envoy
// (sidecar, gateway or waypoint) applies: consistent hashing on HTTP
// headers, cookies or query parameters, HTTP connection-pool settings and
// outlier detection, at the top, per port or per subset.
func drL7Fields(dr *netv1alpha3.DestinationRule) []l7Field {
	var out []l7Field
	policy := func(tp *netv1alpha3.TrafficPolicy, p snapshot.Path) {
		if tp == nil {
			return
		}
		one := func(lb *netv1alpha3.LoadBalancerSettings, cp *netv1alpha3.ConnectionPoolSettings, od *netv1alpha3.OutlierDetection, p snapshot.Path) {
			if ch := lb.GetConsistentHash(); ch != nil && (ch.GetHttpHeaderName() != "" || ch.GetHttpCookie() != nil || ch.GetHttpQueryParameterName() != "") {
				out = append(out, l7Field{p.Child("loadBalancer", "consistentHash"), "consistent hashing on an HTTP header, cookie or query parameter"})
			}
			if cp.GetHttp() != nil {
				out = append(out, l7Field{p.Child("connectionPool", "http"), "HTTP connection pool"})
			}
			if od != nil {
				out = append(out, l7Field{p.Child("outlierDetection"), "outlier detection"})
			}
		}
		one(tp.GetLoadBalancer(), tp.GetConnectionPool(), tp.GetOutlierDetection(), p)
		for i, pl := range tp.GetPortLevelSettings() {
			one(pl.GetLoadBalancer(), pl.GetConnectionPool(), pl.GetOutlierDetection(), p.Child("portLevelSettings", i))
		}
	}
	policy(dr.GetTrafficPolicy(), snapshot.P("spec", "trafficPolicy"))
	for i, s := range dr.GetSubsets() {
		policy(s.GetTrafficPolicy(), snapshot.P("spec", "subsets", i, "trafficPolicy"))
	}
	return out
}
