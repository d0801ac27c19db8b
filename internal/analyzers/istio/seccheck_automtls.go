package istio

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"

	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/facts"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// AutoMTLSOffPlaintextToStrict: with enableAutoMtls false, a client sidecar
// originates Istio mTLS only where a DestinationRule says ISTIO_MUTUAL
// (pilot/pkg/networking/core/cluster_tls.go, buildUpstreamTLSSettings:
// no DestinationRule TLS and !autoMTLSEnabled → no TLS at all), so a host
// no DestinationRule covers gets plaintext, which STRICT servers reject.
var AutoMTLSOffPlaintextToStrict = &analysis.Analyzer{
	Code:     "MD317",
	Name:     "auto-mtls-off-plaintext-to-strict",
	Severity: analysis.Error,
	Summary:  "The mesh sets enableAutoMtls: false and no DestinationRule sets a TLS mode for a Service whose sidecar workloads are STRICT: client sidecars send plaintext and every request fails with 503.",
	Doc:      doc("MD317"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindService), analysis.Kinds(snapshot.KindPeerAuth)},
	// Backends by label, their container ports (named target ports) and
	// what decides their dataplane; headless Services are left to MD234.
	// The mesh configuration and PeerAuthentications are read by facts.
	Reads: reads(secMembershipReads(), templateReads("metadata.labels", "spec.containers.ports"),
		map[schema.GroupKind][]string{
			snapshot.KindPod:     {"metadata.labels", "spec.containers.ports"},
			snapshot.KindService: {"spec.clusterIP"},
		}),
	Requires: []*analysis.Fact{facts.MeshConfig, RegistryFact, PeerAuthFact},
	Run: func(p *analysis.Pass) error {
		mesh := p.ResultOf(facts.MeshConfig).(*facts.Mesh)
		if mesh.AutoMTLS() {
			return nil
		}
		r := p.ResultOf(RegistryFact).(*Registry)
		pa := p.ResultOf(PeerAuthFact).(*PeerAuths)
		meshLoc := autoMTLSLocation(p, mesh)
		for _, o := range p.Snapshot.List(snapshot.KindService) {
			svc, ok := o.Typed.(*corev1.Service)
			if !ok || len(svc.Spec.Selector) == 0 || svc.Spec.Type == corev1.ServiceTypeExternalName || svc.Spec.ClusterIP == corev1.ClusterIPNone {
				continue
			}
			reportPlaintextToStrict(p, r, pa, mesh, meshLoc, o, svc)
		}
		return nil
	},
}

// strictPort is a Service port that gets plaintext from client sidecars
// while a backend with a sidecar requires mTLS on it.
type strictPort struct {
	port    int32
	backend *snapshot.Object
	res     Resolved
	target  int32 // the container port PeerAuthentication sees
}

func reportPlaintextToStrict(p *analysis.Pass, r *Registry, pa *PeerAuths, mesh *facts.Mesh, meshLoc analysis.Location, o *snapshot.Object, svc *corev1.Service) {
	host := o.Key.Name + "." + o.Key.Namespace + ".svc." + DomainSuffix
	// Every DestinationRule for the host, in any namespace and whatever
	// its exportTo or workloadSelector: one that gives some clients a TLS
	// setting is enough to stay silent (MD301 judges the other modes).
	var settings []clientTLS
	for _, d := range allDestinationRules(r, host) {
		settings = append(settings, clientTLSSettings(d.Spec)...)
	}
	var backends []*snapshot.Object
	var members []Membership
	var bad []strictPort
	for _, sp := range svc.Spec.Ports {
		if tlsReachesPort(settings, uint32(sp.Port)) {
			continue
		}
		if backends == nil {
			backends = serviceBackends(p.Snapshot, o)
			members = make([]Membership, len(backends))
			for i, b := range backends {
				members[i] = MembershipOf(p.Snapshot, b)
			}
		}
		for i, b := range backends {
			if members[i].Dataplane != DataplaneSidecar {
				continue // no sidecar: plaintext is what it expects (or other checks judge it)
			}
			spec, _, podLabels, ok := snapshot.PodSpecOf(b)
			if !ok {
				continue
			}
			target := containerPort(spec, sp)
			if res := pa.Mode(o.Key.Namespace, podLabels, target); res.Mode == ModeStrict {
				bad = append(bad, strictPort{port: sp.Port, backend: b, res: res, target: target})
				break // one backend proves it for this port
			}
		}
	}
	if len(bad) == 0 {
		return
	}
	var ports []string
	for _, b := range bad {
		ports = append(ports, fmt.Sprint(b.port))
	}
	first := bad[0]
	decider := first.res.From[0]
	f := analysis.Finding{
		Subject: o.Key,
		Message: fmt.Sprintf("The mesh configuration (%s) sets enableAutoMtls: false and no DestinationRule sets a TLS mode for %s %s, so client sidecars send it plaintext; but %s requires mTLS there (STRICT, from %s): the server's sidecar resets every connection (503 UC/UF, 'upstream connect error or disconnect/reset before headers. reset reason: connection termination').",
			mesh.Source, host, proxylessPortsText(ports), first.backend.Ref(), decider.Ref()),
		Locations: []analysis.Location{meshLoc, analysis.LocationOf(decider, peerAuthModePath(decider, first.target))},
		Evidence:  []string{"meshConfig.enableAutoMtls: false (" + mesh.Source + ")"},
		Remedy:    autoMTLSRemedy(r, o, host),
		Related:   meshRelated(mesh),
		Key:       host,
	}
	for _, b := range bad {
		f.Evidence = append(f.Evidence, fmt.Sprintf("port %d: no DestinationRule tls setting; %s port %d is STRICT (from %s)", b.port, b.backend.Ref(), b.target, b.res.From[0].Ref()))
	}
	for _, pol := range first.res.From {
		f.Related = append(f.Related, analysis.RelatedOf(pol, "PeerAuthentication in force"))
	}
	f.Related = append(f.Related, analysis.RelatedOf(first.backend, "a backend of "+o.Ref()+" with a sidecar"))
	if d := ownDestinationRule(r, o, host); d != nil {
		f.Related = append(f.Related, analysis.RelatedOf(d.Object, "the DestinationRule for the host, without a TLS setting"))
	}
	p.Report(f)
}

// ownDestinationRule is the DestinationRule for exactly host in the
// Service's namespace, without a workload selector, if there is one: a
// second rule for the same host there would conflict with it, so the remedy
// extends it instead.
func ownDestinationRule(r *Registry, o *snapshot.Object, host string) *DestRule {
	for _, d := range r.rules[host] {
		if d.Object.Key.Namespace == o.Key.Namespace && d.Spec.GetWorkloadSelector() == nil {
			return d
		}
	}
	return nil
}

func autoMTLSRemedy(r *Registry, o *snapshot.Object, host string) string {
	const auto = "Set enableAutoMtls: true in meshConfig (the default: client sidecars then send Istio mTLS to every workload that has a sidecar, plaintext to the others), or "
	if d := ownDestinationRule(r, o, host); d != nil {
		return auto + fmt.Sprintf("add tls: {mode: ISTIO_MUTUAL} under spec.trafficPolicy of %s (host %s).", d.Object.Ref(), host)
	}
	return auto + fmt.Sprintf("add a DestinationRule for the host: {apiVersion: networking.istio.io/v1, kind: DestinationRule, metadata: {name: %s, namespace: %s}, spec: {host: %s, trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}}.",
		o.Key.Name, o.Key.Namespace, host)
}

// allDestinationRules lists the DestinationRules whose host covers fqdn,
// exactly or by wildcard, in every namespace.
func allDestinationRules(r *Registry, fqdn string) []*DestRule {
	out := append([]*DestRule(nil), r.rules[fqdn]...)
	eachWildcardCover(fqdn, func(w string) bool {
		out = append(out, r.wildRules[w]...)
		return true
	})
	return out
}

// tlsReachesPort tells whether some TLS setting (rule-wide, for the port, or of
// a subset) reaches port.
func tlsReachesPort(settings []clientTLS, port uint32) bool {
	for _, ct := range settings {
		if ct.port == port || ct.port == 0 && !ct.overridden[port] {
			return true
		}
	}
	return false
}

// peerAuthModePath is the field of a PeerAuthentication that sets the mode
// for container port port: its port-level setting if it has one, else
// spec.mtls.mode.
func peerAuthModePath(o *snapshot.Object, port int32) snapshot.Path {
	if t, ok := o.Typed.(*securityv1.PeerAuthentication); ok && len(t.Spec.GetSelector().GetMatchLabels()) > 0 {
		if pm, ok := t.Spec.GetPortLevelMtls()[uint32(port)]; ok && port > 0 && pm.GetMode() != ModeUnset {
			return snapshot.P("spec", "portLevelMtls", fmt.Sprint(port), "mode")
		}
	}
	return snapshot.P("spec", "mtls", "mode")
}

// autoMTLSLocation is where enableAutoMtls: false is written: in the istio
// ConfigMap's mesh key, or on its line of the --mesh-config file.
func autoMTLSLocation(p *analysis.Pass, mesh *facts.Mesh) analysis.Location {
	if mesh.ConfigMap != nil {
		return analysis.LocationOf(mesh.ConfigMap, snapshot.P("data", "mesh", "enableAutoMtls"))
	}
	loc := analysis.Location{Field: "enableAutoMtls"}
	loc.File = p.Options.MeshConfigFile
	sc := bufio.NewScanner(bytes.NewReader(p.Options.MeshConfig))
	for n := 1; sc.Scan(); n++ {
		if k, _, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":"); ok && strings.Trim(k, `"'`) == "enableAutoMtls" {
			loc.Line, loc.Exact = n, true
			break
		}
	}
	return loc
}
