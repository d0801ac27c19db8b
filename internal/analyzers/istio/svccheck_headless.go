package istio

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// HeadlessHTTPStrict: an HTTP port of a headless Service whose pods
// require mTLS. Requests a sidecar client addresses to a pod IP match no
// route of the shared HTTP listener and leave through PassthroughCluster
// in plaintext, which the server's sidecar rejects.
var HeadlessHTTPStrict = &analysis.Analyzer{
	Code:     "MD234",
	Name:     "headless-http-port-strict-mtls",
	Severity: analysis.Info,
	Summary:  "A headless Service declares an HTTP port whose pods require STRICT mTLS: in-mesh clients that address a pod by IP (Host = the IP) are passed through in plaintext and get 503 UC.",
	Doc:      doc("MD234"),
	Inputs:   []analysis.Input{serviceInput, analysis.Kinds(snapshot.KindPeerAuth)},
	Reads: func() map[schema.GroupKind][]string {
		m := reads(membershipReads(), templateReads("spec.containers.ports"), map[schema.GroupKind][]string{snapshot.KindService: {"spec.clusterIP"}})
		m[snapshot.KindPod] = append(m[snapshot.KindPod], "spec.containers.ports")
		return m
	}(),
	Requires: []*analysis.Fact{RegistryFact, PeerAuthFact},
	Run: func(p *analysis.Pass) error {
		pa := p.ResultOf(PeerAuthFact).(*PeerAuths)
		var byWorkload map[*snapshot.Object][]servicedPort // built on first need
		for _, o := range p.Snapshot.List(snapshot.KindService) {
			svc, ok := o.Typed.(*corev1.Service)
			if !ok || svc.Spec.ClusterIP != corev1.ClusterIPNone || len(svc.Spec.Selector) == 0 || skipService(o) {
				continue
			}
			backends := serviceBackends(p.Snapshot, o)
			for _, sp := range servicePorts(svc) {
				if !sp.Proto.IsHTTP() || !sp.proxied() {
					continue
				}
				for _, b := range backends {
					spec, _, podLabels, ok := snapshot.PodSpecOf(b)
					if !ok || MembershipOf(p.Snapshot, b).Dataplane != DataplaneSidecar {
						continue
					}
					port := containerPort(spec, sp.SP)
					res := pa.Mode(o.Key.Namespace, podLabels, port)
					if res.Mode != ModeStrict {
						continue
					}
					f := analysis.Finding{
						Subject: o.Key,
						Message: fmt.Sprintf("Headless Service %s declares %s as %s, and its pods (e.g. %s) require mTLS on container port %d (STRICT): a sidecar client's HTTP listener routes by Host, so a request sent to a pod IP with the IP as Host (Prometheus-style scrapes, clients that resolve endpoints themselves) matches no route, leaves through PassthroughCluster in plaintext, and the server's sidecar rejects it — 503 UC. Requests by Service or per-pod DNS name work.",
							o.Ref(), sp.describe(), sp.Proto, b.Ref(), port),
						Locations: []analysis.Location{analysis.LocationOf(o, sp.protocolField())},
						Evidence: []string{
							"spec.clusterIP: None",
							fmt.Sprintf("spec.ports[%d]: %s → protocol %s", sp.Index, sp.describe(), sp.Proto),
							fmt.Sprintf("effective PeerAuthentication for %s port %d: STRICT (from %s)", b.Ref(), port, res.From[0].Ref()),
						},
						Remedy: fmt.Sprintf("If clients reach the pods by IP, declare the port as TCP (name tcp-%s or appProtocol: tcp) so sidecars build per-pod listeners that use mTLS; otherwise make clients send the Service name (%s) as Host.", portSuffix(sp.SP.Name), o.Key.Name+"."+o.Key.Namespace),
						Key:    fmt.Sprintf("port/%d", sp.SP.Port),
					}
					for _, po := range res.From {
						f.Related = append(f.Related, analysis.RelatedOf(po, "PeerAuthentication in force"))
					}
					f.Related = append(f.Related, analysis.RelatedOf(b, "a backend of "+o.Ref()))
					if byWorkload == nil {
						byWorkload = servicePortsByWorkload(p.Snapshot, func(*snapshot.Object) bool { return true })
					}
					if other := httpPortOnContainerPort(byWorkload[b], o, spec, port); other != nil {
						// Declaring TCP here would make the two Services
						// disagree on the container port (MD233).
						f.Remedy = fmt.Sprintf("If clients reach the pods by IP, leave this port's protocol undeclared (a name without a protocol prefix, e.g. %q, and no appProtocol): sidecars build per-pod listeners with mTLS for sniffed headless ports too and still detect HTTP, and it stays consistent with %s %s, which declares container port %d HTTP — naming it tcp-… would make the two Services disagree on that port (MD233). Otherwise make clients send the Service name (%s) as Host.",
							portSuffix(sp.SP.Name), other.svc.Ref(), other.port.describe(), port, o.Key.Name+"."+o.Key.Namespace)
						f.Related = append(f.Related, analysis.RelatedOf(other.svc, fmt.Sprintf("also targets container port %d, as HTTP", port)))
						f.Evidence = append(f.Evidence, fmt.Sprintf("%s %s also targets container port %d of %s, as %s", other.svc.Ref(), other.port.describe(), port, b.Ref(), other.port.Proto))
					}
					p.Report(f)
					break // one backend proves it for this port
				}
			}
		}
		return nil
	},
}

// httpPortOnContainerPort finds another Service's HTTP port that reaches
// the same container port of a backend.
func httpPortOnContainerPort(ports []servicedPort, self *snapshot.Object, spec *corev1.PodSpec, cp int32) *servicedPort {
	for i, sp := range ports {
		if sp.svc != self && sp.port.Proto.IsHTTP() && containerPort(spec, sp.port.SP) == cp {
			return &ports[i]
		}
	}
	return nil
}

// portSuffix is what follows the protocol prefix of a port name, or the
// name itself.
func portSuffix(name string) string {
	for i := 0; i < len(name); i++ {
		if name[i] == '-' && i+1 < len(name) {
			return name[i+1:]
		}
	}
	if name == "" || name == "http" || name == "http2" || name == "grpc" {
		return "web"
	}
	return name
}
