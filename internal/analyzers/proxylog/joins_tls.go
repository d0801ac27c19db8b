package proxylog

import (
	"fmt"
	"strings"

	netv1alpha3 "istio.io/api/networking/v1alpha3"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/meshdoctor/meshdoctor/internal/accesslog"
	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/istio"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// TLSConflictsStrict joins UF/UC failures to a DestinationRule whose TLS
// mode makes clients send plaintext or their own TLS to STRICT workloads.
var TLSConflictsStrict = &analysis.Analyzer{
	Code:     "MD606",
	Name:     "log-uf-uc-dr-tls-vs-strict-mtls",
	Severity: analysis.Error,
	Summary:  "Proxies logged 503 UF/UC toward a host whose DestinationRule sets TLS mode DISABLE, SIMPLE or MUTUAL while its workloads' PeerAuthentication is STRICT: the server sidecars reject what the clients send.",
	Doc:      doc("MD606"),
	Inputs:   joinInputs,
	Reads:    map[schema.GroupKind][]string{snapshot.KindPod: append([]string{"status.phase", "spec.containers.ports"}, snapshot.PodConditionReads()...)},
	Requires: []*analysis.Fact{istio.RegistryFact, istio.PeerAuthFact},
	Run:      runTLS,
}

// tlsAt is the client TLS setting that applies to a subset and port, with
// the path of its mode.
func tlsAt(dr *netv1alpha3.DestinationRule, subset string, port int) (*netv1alpha3.ClientTLSSettings, snapshot.Path) {
	tls, at := policySetting(dr, subset, port, "tls", (*netv1alpha3.TrafficPolicy).GetTls, (*netv1alpha3.TrafficPolicy_PortTrafficPolicy).GetTls)
	if tls == nil {
		return nil, nil
	}
	return tls, at.Child("mode")
}

func runTLS(p *analysis.Pass) error {
	r := p.ResultOf(istio.RegistryFact).(*istio.Registry)
	pa := p.ResultOf(istio.PeerAuthFact).(*istio.PeerAuths)
	al := p.Snapshot.AccessLogs()
	for i := range al.Summary.Groups {
		g := &al.Summary.Groups[i]
		if g.Failures == 0 || !hasFlag(g.Key.Flags, "UF") && !hasFlag(g.Key.Flags, "UC") {
			continue
		}
		c := g.Cluster()
		if c.Direction != accesslog.DirOutbound || c.Service == "" {
			continue
		}
		from := ""
		if w, ok := al.Writers[g.First.File]; ok {
			from = w.Namespace
		}
		ns := clientNS(from, c.Service)
		svcs := r.Services(c.Service, ns)
		if len(svcs) == 0 {
			continue
		}
		svc := svcs[0]
		for _, dr := range r.DestinationRules(c.Service, ns) {
			tls, at := tlsAt(dr.Spec, c.Subset, c.Port)
			mode := tls.GetMode()
			if tls == nil || mode == netv1alpha3.ClientTLSSettings_ISTIO_MUTUAL {
				continue
			}
			target := int32(0)
			for _, sp := range svc.Spec.Spec.Ports {
				if int(sp.Port) == c.Port && sp.TargetPort.Type == intstr.Int {
					target = sp.TargetPort.IntVal
					if target == 0 {
						target = sp.Port
					}
				}
			}
			var strict []string
			var deciding *snapshot.Object
			for _, o := range p.Snapshot.ServiceBackends(svc.Object).Pods {
				res := pa.Mode(o.Key.Namespace, o.Labels, target)
				if res.Mode == istio.ModeStrict && len(res.From) > 0 {
					strict = append(strict, o.Key.Name)
					if deciding == nil {
						deciding = res.From[0]
					}
				}
			}
			if len(strict) == 0 {
				continue
			}
			f := logFinding(g, al.Summary.Matched)
			f.Subject = dr.Object.Key
			f.Locations = []analysis.Location{analysis.LocationOf(dr.Object, at), analysis.LocationOf(deciding, snapshot.P("spec", "mtls", "mode")), logLocation(g, al)}
			f.Related = []analysis.Related{analysis.RelatedOf(deciding, "PeerAuthentication that makes the backends STRICT")}
			f.Evidence = append(f.Evidence, fmt.Sprintf("%s %s: %s", dr.Object.Ref(), at, mode), fmt.Sprintf("backends under STRICT mTLS (%s): %s", deciding.Ref(), strings.Join(strict, ", ")))
			sends := "plaintext"
			if mode != netv1alpha3.ClientTLSSettings_DISABLE {
				sends = "their own TLS (" + mode.String() + ")"
			}
			f.Message = fmt.Sprintf("%s failed with %s toward %s: %s sets tls.mode %s, so clients send %s, while %s makes the backends accept only Istio mTLS; their sidecars reset the connection.", plural(g.Failures, "request"), g.Key.Flags, c.Name, dr.Object.Ref(), mode, sends, deciding.Ref())
			f.Remedy = fmt.Sprintf("Set tls.mode ISTIO_MUTUAL in %s (or remove the tls block: auto mTLS then picks Istio mTLS), or make the workloads PERMISSIVE while clients migrate. Check with `istioctl proxy-config cluster <client pod> --fqdn %s -o json` (transportSocket).", dr.Object.Ref(), c.Service)
			p.Report(f)
			break
		}
	}
	return nil
}
