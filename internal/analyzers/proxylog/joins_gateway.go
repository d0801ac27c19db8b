package proxylog

import (
	"fmt"
	"net"
	"strings"

	netv1alpha3 "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/meshdoctor/meshdoctor/internal/accesslog"
	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/istio"
	"github.com/meshdoctor/meshdoctor/internal/istioref"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// NRGatewayNoRoute joins 404 NR at a gateway to the Gateway server or
// VirtualService that leaves the requested host without a route.
var NRGatewayNoRoute = &analysis.Analyzer{
	Code:     "MD608",
	Name:     "log-nr-gateway-host-without-route",
	Severity: analysis.Error,
	Summary:  "A gateway answered 404 NR (no route) for a host that none of its Gateway servers exposes, or that a server exposes but no VirtualService bound to that Gateway routes.",
	Doc:      doc("MD608"),
	Inputs:   []analysis.Input{analysis.AccessLogGroups(), analysis.Kinds(snapshot.KindGateway)},
	Reads:    joinReads,
	Requires: []*analysis.Fact{istio.RegistryFact},
	Run:      runNR,
}

// GatewaySNIMissing joins connections a gateway closed for want of a
// filter chain, from clients that sent no SNI, to the TLS servers that
// match by host name only (troubleshooting guide 1.8.5).
var GatewaySNIMissing = &analysis.Analyzer{
	Code:     "MD609",
	Name:     "log-gateway-tls-without-sni",
	Severity: analysis.Error,
	Summary:  "A gateway closed TLS connections that carried no SNI (NR filter_chain_not_found) while its HTTPS/TLS servers list only specific hosts: Envoy picks a server by SNI, so clients that send none — IP-address calls, load balancers that drop SNI — match none.",
	Doc:      doc("MD609"),
	Inputs:   []analysis.Input{analysis.AccessLogGroups(), analysis.Kinds(snapshot.KindGateway)},
	Reads:    joinReads,
	Requires: []*analysis.Fact{istio.RegistryFact},
	Run:      runSNI,
}

// sampleRecord parses a group's first sample line again, for the fields a
// group key does not keep (authority, SNI, the kubectl prefix's pod).
func sampleRecord(g *accesslog.Group) (*accesslog.Record, bool) {
	if len(g.Samples) == 0 {
		return nil, false
	}
	r := &accesslog.Record{}
	_, ok := accesslog.ParseLine([]byte(g.Samples[0].Text), r)
	return r, ok
}

// writerPod finds the pod whose proxy wrote a group: from the bundle's log
// path, else from a kubectl --prefix wrapper (by name, in any namespace).
func writerPod(s *snapshot.Snapshot, al *snapshot.AccessLogs, g *accesslog.Group, rec *accesslog.Record) *snapshot.Object {
	if w, ok := al.Writers[g.First.File]; ok {
		return s.Get(snapshot.KindPod, w.Namespace, w.Pod)
	}
	if rec == nil || len(rec.Pod) == 0 {
		return nil
	}
	name := string(rec.Pod)
	for _, o := range s.List(snapshot.KindPod) {
		if o.Key.Name == name {
			return o
		}
	}
	return nil
}

// gatewaysOf returns the Istio Gateways whose selector picks the pod.
func gatewaysOf(r *istio.Registry, pod *snapshot.Object) []*istio.Gateway {
	var out []*istio.Gateway
	for _, gw := range r.Gateways() {
		sel := gw.Spec.GetSelector()
		if len(sel) == 0 {
			continue
		}
		if labels.SelectorFromSet(sel).Matches(labels.Set(pod.Labels)) {
			out = append(out, gw)
		}
	}
	return out
}

// hostPart is a request's authority without its port.
func hostPart(authority string) string {
	if h, _, err := net.SplitHostPort(authority); err == nil {
		return h
	}
	return authority
}

// hostMatches tells whether a Gateway or VirtualService host (with its
// optional "namespace/" part) covers host.
func hostMatches(pattern, host string) bool {
	if _, h, ok := strings.Cut(pattern, "/"); ok {
		pattern = h
	}
	switch {
	case pattern == "*":
		return true
	case strings.HasPrefix(pattern, "*."):
		return strings.HasSuffix(host, pattern[1:])
	}
	return strings.EqualFold(pattern, host)
}

func anyHost(patterns []string, host string) bool {
	for _, p := range patterns {
		if hostMatches(p, host) {
			return true
		}
	}
	return false
}

// boundTo tells whether a VirtualService is bound to the Gateway ns/name.
func boundTo(vs *snapshot.Object, gwKey string) bool {
	spec, ok := vs.Typed.(*networkingv1.VirtualService)
	if !ok {
		return false
	}
	for _, ref := range spec.Spec.GetGateways() {
		if istioref.GatewayRef(ref, vs.Key.Namespace) == gwKey {
			return true
		}
	}
	return false
}

func runNR(p *analysis.Pass) error {
	r := p.ResultOf(istio.RegistryFact).(*istio.Registry)
	al := p.Snapshot.AccessLogs()
	for i := range al.Summary.Groups {
		g := &al.Summary.Groups[i]
		if g.Failures == 0 || !hasFlag(g.Key.Flags, "NR") || g.Key.Details != "route_not_found" {
			continue
		}
		rec, ok := sampleRecord(g)
		if !ok {
			continue
		}
		authority, _ := rec.Value(accesslog.FieldAuthority)
		host := hostPart(string(authority))
		pod := writerPod(p.Snapshot, al, g, rec)
		if host == "" || host == "-" || pod == nil {
			continue
		}
		for _, gw := range gatewaysOf(r, pod) {
			gwKey := gw.Object.Key.Namespace + "/" + gw.Object.Key.Name
			f := logFinding(g, al.Summary.Matched)
			f.Subject = gw.Object.Key
			f.Related = []analysis.Related{analysis.RelatedOf(pod, "the gateway pod that logged the 404s")}
			server := -1
			for si, s := range gw.Spec.GetServers() {
				if anyHost(s.GetHosts(), host) {
					server = si
					break
				}
			}
			if server < 0 {
				f.Locations = []analysis.Location{analysis.LocationOf(gw.Object, snapshot.P("spec", "servers")), logLocation(g, al)}
				f.Message = fmt.Sprintf("%s answered %s with 404 NR for host %q: no server of %s lists that host, so the gateway has no virtual host for it.", pod.Key.Name, plural(g.Failures, "request"), host, gw.Object.Ref())
				f.Remedy = fmt.Sprintf("Add %q to the hosts of a server of %s (and bind a VirtualService for it), or send the requests to a host the gateway serves.", host, gw.Object.Ref())
				p.Report(f)
				continue
			}
			bound := false
			var elsewhere *snapshot.Object
			for _, vs := range r.VirtualServices() {
				spec, ok := vs.Typed.(*networkingv1.VirtualService)
				if !ok || !anyHost(spec.Spec.GetHosts(), host) {
					continue
				}
				if boundTo(vs, gwKey) {
					bound = true
					break
				}
				if elsewhere == nil {
					elsewhere = vs
				}
			}
			if bound {
				continue // a route exists now: another cause (a match that does not fit)
			}
			if elsewhere != nil {
				f.Locations = []analysis.Location{analysis.LocationOf(elsewhere, snapshot.P("spec", "gateways")), analysis.LocationOf(gw.Object, snapshot.P("spec", "servers", server, "hosts")), logLocation(g, al)}
				f.Subject = elsewhere.Key
				f.Message = fmt.Sprintf("%s answered %s with 404 NR for host %q: %s exposes the host, and %s routes it, but that VirtualService is not bound to gateway %s (its gateways list does not name it), so the gateway has no route.", pod.Key.Name, plural(g.Failures, "request"), host, gw.Object.Ref(), elsewhere.Ref(), gwKey)
				f.Remedy = fmt.Sprintf("Add %q to spec.gateways of %s (keep \"mesh\" there if in-mesh clients use it too).", gwKey, elsewhere.Ref())
			} else {
				f.Locations = []analysis.Location{analysis.LocationOf(gw.Object, snapshot.P("spec", "servers", server, "hosts")), logLocation(g, al)}
				f.Message = fmt.Sprintf("%s answered %s with 404 NR for host %q: %s exposes the host, but no VirtualService for it is bound to that Gateway.", pod.Key.Name, plural(g.Failures, "request"), host, gw.Object.Ref())
				f.Remedy = fmt.Sprintf("Create a VirtualService with hosts [%q] and gateways [%q] routing to the backend.", host, gwKey)
			}
			p.Report(f)
		}
	}
	return nil
}

func runSNI(p *analysis.Pass) error {
	r := p.ResultOf(istio.RegistryFact).(*istio.Registry)
	al := p.Snapshot.AccessLogs()
	for i := range al.Summary.Groups {
		g := &al.Summary.Groups[i]
		if g.Failures == 0 || g.Key.Details != "filter_chain_not_found" {
			continue
		}
		rec, ok := sampleRecord(g)
		if !ok {
			continue
		}
		if sni, _ := rec.Value(accesslog.FieldRequestedServerName); len(sni) > 0 && string(sni) != "-" {
			continue // the client sent SNI: a host the gateway does not serve, not this case
		}
		pod := writerPod(p.Snapshot, al, g, rec)
		if pod == nil {
			continue
		}
		for _, gw := range gatewaysOf(r, pod) {
			for si, s := range gw.Spec.GetServers() {
				proto := strings.ToUpper(s.GetPort().GetProtocol())
				if proto != "HTTPS" && proto != "TLS" || anyHost(s.GetHosts(), "no-sni.invalid") || s.GetTls().GetMode() == netv1alpha3.ServerTLSSettings_ISTIO_MUTUAL {
					continue // a wildcard host matches without SNI
				}
				f := logFinding(g, al.Summary.Matched)
				f.Subject = gw.Object.Key
				f.Key = g.Key.String() + fmt.Sprint(si)
				f.Locations = []analysis.Location{analysis.LocationOf(gw.Object, snapshot.P("spec", "servers", si, "hosts")), logLocation(g, al)}
				f.Related = []analysis.Related{analysis.RelatedOf(pod, "the gateway pod that closed the connections")}
				f.Evidence = append(f.Evidence, fmt.Sprintf("%s servers[%d]: port %d %s, hosts %s", gw.Object.Ref(), si, s.GetPort().GetNumber(), proto, strings.Join(s.GetHosts(), ", ")))
				f.Message = fmt.Sprintf("%s closed %s with no SNI for want of a filter chain: server %d of %s (%s on port %d) matches clients by SNI against hosts %s, and these clients sent none — typically a call to the gateway's IP with a Host header, or a load balancer in front that does not forward SNI.", pod.Key.Name, plural(g.Failures, "connection"), si, gw.Object.Ref(), proto, s.GetPort().GetNumber(), strings.Join(s.GetHosts(), ", "))
				f.Remedy = "Make the clients send SNI (resolve the host name, e.g. `curl --resolve host:443:IP https://host/`; configure the load balancer to pass TLS through or to send SNI), or let the server match without it: hosts [\"*\"] on that server (one server per port then terminates every TLS connection)."
				p.Report(f)
			}
		}
	}
	return nil
}
