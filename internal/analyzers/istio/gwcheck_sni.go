package istio

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"

	netv1alpha3 "istio.io/api/networking/v1alpha3"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// AWS Service annotations of the in-tree cloud provider: a LoadBalancer
// Service with no load balancer type (and no loadBalancerClass) gets a
// Classic Load Balancer; a certificate makes it terminate the client's TLS,
// and a backend protocol of ssl or https makes it open a new TLS connection
// to the pods. Classic Load Balancers do not support SNI (AWS, "HTTPS
// listeners for your Classic Load Balancer"), so that connection carries
// none. Network and Application Load Balancers are left out: whether they
// send SNI to TLS targets is not established here.
const (
	awsSSLCert         = "service.beta.kubernetes.io/aws-load-balancer-ssl-cert"
	awsSSLPorts        = "service.beta.kubernetes.io/aws-load-balancer-ssl-ports"
	awsBackendProtocol = "service.beta.kubernetes.io/aws-load-balancer-backend-protocol"
	awsLBType          = "service.beta.kubernetes.io/aws-load-balancer-type"
)

// lbReencryptsWithoutSNI tells whether the load balancer of a Service
// terminates TLS and re-encrypts towards the pods without SNI, and on which
// Service ports (nil: every port).
func lbReencryptsWithoutSNI(svc *corev1.Service, ann map[string]string) (ports map[string]bool, ok bool) {
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || strings.TrimSpace(ann[awsSSLCert]) == "" {
		return nil, false
	}
	if strings.TrimSpace(ann[awsLBType]) != "" || svc.Spec.LoadBalancerClass != nil {
		return nil, false // not a Classic Load Balancer
	}
	switch strings.ToLower(strings.TrimSpace(ann[awsBackendProtocol])) {
	case "ssl", "https":
	default:
		return nil, false
	}
	list := strings.TrimSpace(ann[awsSSLPorts])
	if list == "" || list == "*" {
		return nil, true
	}
	ports = map[string]bool{}
	for _, p := range strings.Split(list, ",") {
		ports[strings.TrimSpace(p)] = true
	}
	return ports, true
}

// sniOnlyServer tells whether a server picks connections by SNI against
// specific host names only: an HTTPS or TLS server (not ISTIO_MUTUAL or
// AUTO_PASSTHROUGH, which mesh clients reach with an Istio SNI) with no "*"
// host that a connection without SNI would fall to.
func sniOnlyServer(s *netv1alpha3.Server) bool {
	if s.GetTls() == nil || !serverSpeaksTLS(s) {
		return false
	}
	switch s.GetTls().GetMode() {
	case netv1alpha3.ServerTLSSettings_ISTIO_MUTUAL, netv1alpha3.ServerTLSSettings_AUTO_PASSTHROUGH:
		return false
	}
	for _, h := range s.GetHosts() {
		if _, name, _ := cutNS(h); name == "*" {
			return false
		}
	}
	return len(s.GetHosts()) > 0
}

func serverSpeaksTLS(s *netv1alpha3.Server) bool {
	p := strings.ToUpper(s.GetPort().GetProtocol())
	return p == "HTTPS" || p == "TLS"
}

// GatewaySNIFromLBWithoutSNI: a Gateway server that selects connections by
// SNI behind a load balancer that re-encrypts without SNI (guide 1.8.5).
var GatewaySNIFromLBWithoutSNI = &analysis.Analyzer{
	Code:     "MD243",
	Name:     "gateway-sni-hosts-behind-lb-without-sni",
	Severity: analysis.Error,
	Summary:  "A Gateway HTTPS/TLS server lists only specific hosts, so Envoy selects it by SNI, but the gateway Service's AWS Classic Load Balancer terminates TLS and opens a new TLS connection to the gateway without SNI: no server matches and the handshake is reset.",
	Doc:      doc("MD243"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindGateway), analysis.Kinds(snapshot.KindService)},
	Reads: reads(gatewayWorkloadReads, templateReads("spec.containers.ports"), map[schema.GroupKind][]string{
		snapshot.KindService: {"metadata.annotations", "spec.loadBalancerClass"},
		snapshot.KindPod:     {"spec.containers.ports"},
	}),
	Requires: []*analysis.Fact{RegistryFact},
	Run: func(p *analysis.Pass) error {
		r := p.ResultOf(RegistryFact).(*Registry)
		scoped, _ := gatewayScope(p.Snapshot)
		done := map[string]bool{}
		for _, g := range r.Gateways() {
			servers := g.Spec.GetServers()
			has := false
			for _, s := range servers {
				if sniOnlyServer(s) {
					has = true
				}
			}
			if !has {
				continue
			}
			_, objs, _ := selectGatewayWorkloads(r, g, scoped)
			for _, o := range objs {
				spec, _, podLabels, _ := snapshot.PodSpecOf(o)
				named := namedContainerPorts(spec)
				for _, so := range p.Snapshot.InNamespace(snapshot.KindService, o.Key.Namespace) {
					svc, ok := so.Typed.(*corev1.Service)
					if !ok || len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(podLabels)) {
						continue
					}
					sslPorts, ok := lbReencryptsWithoutSNI(svc, so.Annotations)
					if !ok {
						continue
					}
					for _, sp := range svc.Spec.Ports {
						if sslPorts != nil && !sslPorts[strconv.Itoa(int(sp.Port))] && !sslPorts[sp.Name] {
							continue
						}
						target := sp.Port
						switch {
						case sp.TargetPort.Type == intstr.String && sp.TargetPort.StrVal != "":
							n, ok := named[sp.TargetPort.StrVal]
							if !ok {
								continue
							}
							target = n
						case sp.TargetPort.IntVal != 0:
							target = sp.TargetPort.IntVal
						}
						for si, s := range servers {
							n := s.GetPort().GetNumber()
							if !sniOnlyServer(s) || (n != uint32(sp.Port) && n != uint32(target)) {
								continue
							}
							key := g.Object.Key.String() + "|" + strconv.Itoa(si) + "|" + so.Key.String()
							if done[key] {
								continue
							}
							done[key] = true
							p.Report(analysis.Finding{
								Subject: g.Object.Key,
								Message: fmt.Sprintf("%s server %d (%s %d) lists only the hosts %s, so Envoy picks it by the SNI of the TLS handshake; but %s has a load balancer certificate and backend protocol %q on port %d: its AWS Classic Load Balancer (no load balancer type set) terminates the client's TLS and, as Classic Load Balancers do not support SNI, opens a new TLS connection to the gateway without SNI, which matches no server, so the gateway resets the handshake (NR filter_chain_not_found) and clients see a TLS or 502/503 error from the load balancer.",
									g.Object.Ref(), si, s.GetPort().GetProtocol(), n, strings.Join(s.GetHosts(), ", "), so.Ref(), so.Annotations[awsBackendProtocol], sp.Port),
								Locations: []analysis.Location{
									analysis.LocationOf(g.Object, snapshot.P("spec", "servers", si, "hosts")),
									analysis.LocationOf(so, snapshot.P("metadata", "annotations", awsBackendProtocol)),
								},
								Evidence: []string{
									fmt.Sprintf("servers[%d]: port %d %s, tls.mode %s, hosts %s", si, n, s.GetPort().GetProtocol(), s.GetTls().GetMode(), strings.Join(s.GetHosts(), ", ")),
									fmt.Sprintf("%s: %s set, %s: %s, port %d → target %d", so.Ref(), awsSSLCert, awsBackendProtocol, so.Annotations[awsBackendProtocol], sp.Port, target),
								},
								Remedy:  fmt.Sprintf("Either let the load balancer pass TLS through (remove %s and set %s: tcp on %s, so the client's ClientHello with its SNI reaches the gateway), or accept connections without SNI on this server: hosts: [\"*\"] (route per host with VirtualServices).", awsSSLCert, awsBackendProtocol, so.Ref()),
								Related: []analysis.Related{analysis.RelatedOf(o, "a gateway workload the Gateway selects")},
								Key:     fmt.Sprintf("servers[%d]|%s", si, so.Key.String()),
							})
						}
					}
				}
			}
		}
		return nil
	},
}
