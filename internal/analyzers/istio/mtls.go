package istio

import (
	"fmt"
	"strconv"

	netv1alpha3 "istio.io/api/networking/v1alpha3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/facts"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/version"
)

// clientTLS is one TLS setting of a DestinationRule and where it is written.
type clientTLS struct {
	tls    *netv1alpha3.ClientTLSSettings
	path   snapshot.Path
	port   uint32 // 0: every port
	subset string
	// overridden lists the ports whose own setting replaces a policy-wide one.
	overridden map[uint32]bool
}

// clientTLSSettings lists the explicit TLS settings of a DestinationRule:
// the rule-wide one, per port, and per subset (and subset port).
func clientTLSSettings(dr *netv1alpha3.DestinationRule) []clientTLS {
	var out []clientTLS
	add := func(tp *netv1alpha3.TrafficPolicy, at snapshot.Path, subset string) {
		if tp == nil {
			return
		}
		if tp.GetTls() != nil {
			over := map[uint32]bool{}
			for _, pl := range tp.GetPortLevelSettings() {
				if pl.GetTls() != nil {
					over[pl.GetPort().GetNumber()] = true
				}
			}
			out = append(out, clientTLS{tls: tp.GetTls(), path: at.Child("tls"), subset: subset, overridden: over})
		}
		for i, pl := range tp.GetPortLevelSettings() {
			if pl.GetTls() != nil {
				out = append(out, clientTLS{tls: pl.GetTls(), path: at.Child("portLevelSettings", i, "tls"), port: pl.GetPort().GetNumber(), subset: subset})
			}
		}
	}
	add(dr.GetTrafficPolicy(), snapshot.P("spec", "trafficPolicy"), "")
	for i, s := range dr.GetSubsets() {
		add(s.GetTrafficPolicy(), snapshot.P("spec", "subsets", i, "trafficPolicy"), s.GetName())
	}
	return out
}

// DRTLSConflictsMTLS: a DestinationRule makes clients send plaintext or
// non-Istio TLS to workloads whose PeerAuthentication requires Istio mTLS.
var DRTLSConflictsMTLS = &analysis.Analyzer{
	Code:     "MD301",
	Name:     "dr-tls-conflicts-strict-mtls",
	Severity: analysis.Error,
	Summary:  "A DestinationRule's TLS mode (DISABLE, SIMPLE or MUTUAL) makes clients send plaintext or non-Istio TLS to workloads whose PeerAuthentication is STRICT: every request fails with 503.",
	Doc:      doc("MD301"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindDestinationRule), analysis.Kinds(snapshot.KindPeerAuth)},
	// Backends by label and their container ports (for named target
	// ports); PeerAuthentications are read by the PeerAuthFact.
	Reads:    reads(templateReads("metadata.labels", "spec.containers.ports"), map[schema.GroupKind][]string{snapshot.KindPod: {"spec.containers.ports"}}),
	Requires: []*analysis.Fact{RegistryFact, PeerAuthFact},
	Run: func(p *analysis.Pass) error {
		r := p.ResultOf(RegistryFact).(*Registry)
		pa := p.ResultOf(PeerAuthFact).(*PeerAuths)
		for _, o := range p.Snapshot.List(snapshot.KindDestinationRule) {
			dr := r.ruleByObject[o]
			if dr == nil {
				continue
			}
			for _, ct := range clientTLSSettings(dr.Spec) {
				mode := ct.tls.GetMode()
				if mode == netv1alpha3.ClientTLSSettings_ISTIO_MUTUAL {
					continue
				}
				if wildcarded(dr.Host) {
					reportWildcardConflict(p, pa, dr, ct)
					continue
				}
				reportServiceConflict(p, r, pa, dr, ct)
			}
		}
		return nil
	},
}

func clientEffect(mode netv1alpha3.ClientTLSSettings_TLSmode) string {
	if mode == netv1alpha3.ClientTLSSettings_DISABLE {
		return "clients send plaintext, the server's sidecar requires mTLS and resets the connection (503 UC, 'upstream connect error or disconnect/reset before headers. reset reason: connection termination')"
	}
	return "clients originate their own TLS instead of Istio mTLS, the server's sidecar rejects the handshake (503 UF/URX, 'TLS error' in the reset reason)"
}

// serviceBackends returns the pods a Service selects or, when the input
// holds none of them, the pod templates of the workloads it selects: the
// backends whose sidecars the mTLS and headless checks look at.
func serviceBackends(s *snapshot.Snapshot, svc *snapshot.Object) []*snapshot.Object {
	be := s.ServiceBackends(svc)
	if len(be.Pods) == 0 {
		return be.Workloads
	}
	return be.Pods
}

// reportServiceConflict checks a DestinationRule for one Service host
// against the mode of each backend port it covers.
func reportServiceConflict(p *analysis.Pass, r *Registry, pa *PeerAuths, dr *DestRule, ct clientTLS) {
	svcs := r.services[dr.Host]
	if len(svcs) == 0 {
		return
	}
	svc := svcs[0]
	backends := serviceBackends(p.Snapshot, svc.Object)
	subsetSel := labels.Everything()
	for _, ss := range dr.Spec.GetSubsets() {
		if ct.subset != "" && ss.GetName() == ct.subset {
			subsetSel = labels.SelectorFromSet(ss.GetLabels())
		}
	}
	for _, sp := range svc.Spec.Spec.Ports {
		if ct.port != 0 && uint32(sp.Port) != ct.port || ct.overridden[uint32(sp.Port)] {
			continue
		}
		for _, b := range backends {
			spec, _, podLabels, ok := snapshot.PodSpecOf(b)
			if !ok || !subsetSel.Matches(labels.Set(podLabels)) {
				continue // a subset's setting reaches only the subset's pods
			}
			port := containerPort(spec, sp)
			res := pa.Mode(svc.Object.Key.Namespace, podLabels, port)
			if res.Mode != ModeStrict {
				continue
			}
			f := analysis.Finding{
				Subject: dr.Object.Key,
				Message: fmt.Sprintf("%s sets tls.mode %s for %s port %d%s, but %s requires mTLS there (STRICT): %s.",
					dr.Object.Ref(), ct.tls.GetMode(), dr.Host, sp.Port, subsetText(ct.subset), b.Ref(), clientEffect(ct.tls.GetMode())),
				Locations: []analysis.Location{analysis.LocationOf(dr.Object, ct.path.Child("mode"))},
				Evidence: []string{
					fmt.Sprintf("%s: mode %s", ct.path, ct.tls.GetMode()),
					fmt.Sprintf("effective PeerAuthentication for %s port %d: STRICT (from %s)", b.Ref(), port, res.From[0].Ref()),
				},
				Remedy: "Use tls.mode ISTIO_MUTUAL (or remove the tls block and let auto mTLS choose) for in-mesh destinations; keep DISABLE/SIMPLE only for workloads without a sidecar, or relax the PeerAuthentication to PERMISSIVE for that port.",
				Key:    fmt.Sprintf("%s/%d", ct.path, sp.Port),
			}
			for _, o := range res.From {
				f.Related = append(f.Related, analysis.RelatedOf(o, "PeerAuthentication in force"))
			}
			f.Related = append(f.Related, analysis.RelatedOf(b, "a backend of "+svc.Object.Ref()))
			p.Report(f)
			break // one backend proves it for this port
		}
	}
}

// reportWildcardConflict checks a namespace- or mesh-wide DestinationRule
// (*.ns.svc.cluster.local, *.local, *) against the namespace or mesh
// PeerAuthentication.
func reportWildcardConflict(p *analysis.Pass, pa *PeerAuths, dr *DestRule, ct clientTLS) {
	var res Resolved
	scope := ""
	if name, ns, ok := ServiceOfHost(dr.Host); ok && name == "*" {
		res, scope = pa.NamespaceMode(ns), "namespace "+ns
	} else if dr.Host == "*" || dr.Host == "*.local" || dr.Host == "*."+DomainSuffix || dr.Host == "*.svc."+DomainSuffix {
		res, scope = pa.NamespaceMode(pa.root), "the mesh"
	} else {
		return
	}
	if res.Mode != ModeStrict {
		return
	}
	f := analysis.Finding{
		Subject:   dr.Object.Key,
		Message:   fmt.Sprintf("%s sets tls.mode %s for %s, but PeerAuthentication makes %s STRICT: %s.", dr.Object.Ref(), ct.tls.GetMode(), dr.Host, scope, clientEffect(ct.tls.GetMode())),
		Locations: []analysis.Location{analysis.LocationOf(dr.Object, ct.path.Child("mode"))},
		Evidence: []string{
			fmt.Sprintf("%s: mode %s", ct.path, ct.tls.GetMode()),
			fmt.Sprintf("PeerAuthentication for %s: STRICT (from %s)", scope, res.From[0].Ref()),
		},
		Remedy: "Set tls.mode ISTIO_MUTUAL in the wide DestinationRule (or remove its tls block), or make the PeerAuthentication PERMISSIVE until every client sends mTLS.",
		Key:    ct.path.String(),
	}
	for _, o := range res.From {
		f.Related = append(f.Related, analysis.RelatedOf(o, "PeerAuthentication in force"))
	}
	p.Report(f)
}

func subsetText(s string) string {
	if s == "" {
		return ""
	}
	return " (subset " + s + ")"
}

// containerPort maps a Service port to the container port PeerAuthentication
// port-level settings use.
func containerPort(spec *corev1.PodSpec, sp corev1.ServicePort) int32 {
	tp := sp.TargetPort
	if n := intValue(tp); n != 0 {
		return int32(n)
	}
	if tp.StrVal != "" {
		for _, c := range spec.Containers {
			for _, cp := range c.Ports {
				if cp.Name == tp.StrVal {
					return cp.ContainerPort
				}
			}
		}
	}
	return sp.Port
}

// intValue is IntOrString.IntValue without the error value Atoi makes
// for a port name (every named targetPort of every Service, every check).
func intValue(v intstr.IntOrString) int {
	if v.Type == intstr.Int {
		return int(v.IntVal)
	}
	if !signedDigits(v.StrVal) {
		return 0 // what IntValue returns for a name
	}
	n, _ := strconv.Atoi(v.StrVal)
	return n
}

// verifyByDefault is the release from which sidecars verify server
// certificates against the OS trust store when a DestinationRule gives no
// caCertificates (VERIFY_CERTIFICATE_AT_CLIENT defaults to true).
var verifyByDefault = version.MustParse("1.20.0")

// DRNoCACertificates: TLS origination without a CA to verify the server.
var DRNoCACertificates = &analysis.Analyzer{
	Code:     "MD302",
	Name:     "dr-tls-without-ca",
	Severity: analysis.Warning,
	Summary:  "A DestinationRule originates TLS (SIMPLE or MUTUAL) without caCertificates: the server is verified only against the system trust store (Istio 1.20+), or not at all on older proxies.",
	Doc:      doc("MD302"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindDestinationRule)},
	Reads:    reads(nil),
	Requires: []*analysis.Fact{RegistryFact, facts.ComponentVersions},
	Run: func(p *analysis.Pass) error {
		r := p.ResultOf(RegistryFact).(*Registry)
		old, known := istiodBefore(p.ResultOf(facts.ComponentVersions).(*facts.Versions), verifyByDefault)
		for _, o := range p.Snapshot.List(snapshot.KindDestinationRule) {
			dr := r.ruleByObject[o]
			if dr == nil {
				continue
			}
			for _, ct := range clientTLSSettings(dr.Spec) {
				t := ct.tls
				mode := t.GetMode()
				if mode != netv1alpha3.ClientTLSSettings_SIMPLE && mode != netv1alpha3.ClientTLSSettings_MUTUAL {
					continue
				}
				if t.GetCaCertificates() != "" || t.GetInsecureSkipVerify().GetValue() || (t.GetCredentialName() != "" && dr.Spec.GetWorkloadSelector() != nil) {
					continue
				}
				f := analysis.Finding{
					Severity:  analysis.Info,
					Subject:   o.Key,
					Message:   fmt.Sprintf("%s originates TLS (%s) to %s%s without caCertificates: the proxy checks the server certificate against the OS trust store only, so a private CA fails verification (503 UF, CERTIFICATE_VERIFY_FAILED) and no pinning to your CA happens.", o.Ref(), mode, dr.Host, scopeText(ct)),
					Locations: []analysis.Location{analysis.LocationOf(o, ct.path.Child("mode"))},
					Evidence:  []string{fmt.Sprintf("%s: mode %s, caCertificates unset", ct.path, mode)},
					Remedy:    "Set caCertificates (a file in the proxy) or a credentialName Secret with ca.crt for the CA that signs the server; set insecureSkipVerify: true only if skipping verification is intended.",
					Key:       ct.path.String(),
				}
				switch {
				case known && old:
					f.Severity = analysis.Warning
					f.Message = fmt.Sprintf("%s originates TLS (%s) to %s%s without caCertificates, and istiod is older than %s: the proxy does not verify the server certificate at all.", o.Ref(), mode, dr.Host, scopeText(ct), verifyByDefault)
				case !known:
					f.Evidence = append(f.Evidence, "istiod version not in the input: proxies before 1.20 would not verify the server at all")
				}
				p.Report(f)
			}
		}
		return nil
	},
}

// scopeText names the port and subset a TLS setting is limited to, if any.
func scopeText(ct clientTLS) string {
	s := ""
	if ct.port != 0 {
		s = fmt.Sprintf(" port %d", ct.port)
	}
	return s + subsetText(ct.subset)
}

// istiodBefore tells whether every istiod found is older than v.
func istiodBefore(vers *facts.Versions, v version.V) (older, known bool) {
	if len(vers.Istiod) == 0 {
		return false, false
	}
	for _, c := range vers.Istiod {
		if c.Version.AtLeast(v) {
			return false, true
		}
	}
	return true, true
}
