package istio

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/facts"
	"github.com/meshdoctor/meshdoctor/internal/kb"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/version"
)

var serviceInput = analysis.Kinds(snapshot.KindService)

// systemNamespaces are the namespaces istioctl leaves out of its Service
// checks: Kubernetes' own and kind's local-path provisioner.
var systemNamespaces = map[string]bool{
	"kube-system": true, "kube-public": true, "kube-node-lease": true, "local-path-storage": true,
}

// isControlPlane is istioctl's test for Istio's own objects: a label with
// key "istio" (any value, as on gateways and istiod) or release=istio.
func isControlPlane(lbls map[string]string) bool {
	_, ok := lbls["istio"]
	return ok || lbls["release"] == "istio"
}

// skipService tells whether a Service belongs to the platform or the
// control plane, whose port names are not the user's to fix.
func skipService(o *snapshot.Object) bool {
	return systemNamespaces[o.Key.Namespace] || isControlPlane(o.Labels)
}

// svcPort is one Service port with the protocol Istio gives it.
type svcPort struct {
	SP    corev1.ServicePort
	Index int
	Proto kb.Protocol
}

func servicePorts(svc *corev1.Service) []svcPort {
	out := make([]svcPort, 0, len(svc.Spec.Ports))
	for i, sp := range svc.Spec.Ports {
		out = append(out, svcPort{SP: sp, Index: i, Proto: kb.ServicePortProtocol(sp.Port, sp.Name, string(sp.Protocol), sp.AppProtocol)})
	}
	return out
}

// proxied tells whether sidecars intercept the port at all: Istio
// redirects TCP only (UDP and SCTP pass by).
func (p svcPort) proxied() bool {
	return p.SP.Protocol == "" || p.SP.Protocol == corev1.ProtocolTCP
}

// protocolField is the field that declares (or should declare) a port's
// protocol: appProtocol when written, else the name.
func (p svcPort) protocolField() snapshot.Path {
	at := snapshot.P("spec", "ports", p.Index)
	if p.SP.AppProtocol != nil {
		return at.Child("appProtocol")
	}
	return at.Child("name")
}

func (p svcPort) describe() string {
	s := fmt.Sprintf("port %d", p.SP.Port)
	if p.SP.Name != "" {
		s += fmt.Sprintf(" (name %q", p.SP.Name)
	} else {
		s += " (unnamed"
	}
	if p.SP.AppProtocol != nil {
		s += fmt.Sprintf(", appProtocol %q", *p.SP.AppProtocol)
	}
	return s + ")"
}

func (p svcPort) targetText() string {
	if p.SP.TargetPort.String() == "0" || p.SP.TargetPort.String() == "" {
		return fmt.Sprint(p.SP.Port)
	}
	return p.SP.TargetPort.String()
}

// serverFirstPorts are well-known ports of protocols where the server
// speaks first and the client waits for its greeting, beyond the four
// Istio already treats as TCP when undeclared (25, 53, 3306, 27017; of
// those only SMTP and MySQL are truly server-first, and they still hang
// when they reach the Service on another port).
var serverFirstPorts = map[int32]string{
	21:   "FTP",
	25:   "SMTP",
	110:  "POP3",
	143:  "IMAP",
	587:  "SMTP submission",
	3306: "MySQL",
	4222: "NATS",
	5900: "VNC (RFB)",
}

// serverFirstNames are port-name (or appProtocol) prefixes naming such
// protocols; Istio does not recognise them, so the port is sniffed.
var serverFirstNames = map[string]string{
	"ftp": "FTP", "smtp": "SMTP", "submission": "SMTP submission", "pop3": "POP3", "imap": "IMAP",
	"nats": "NATS", "vnc": "VNC (RFB)", "rfb": "VNC (RFB)", "mariadb": "MySQL (MariaDB)",
}

// implicitTLSPorts are the well-known ports of the TLS-wrapped variants
// (SMTPS/submissions, FTPS, IMAPS, POP3S): the client sends a TLS
// ClientHello first, so sniffing does not stall.
var implicitTLSPorts = map[int32]bool{465: true, 990: true, 993: true, 995: true}

// implicitTLSNames are name tokens that say the port is TLS-wrapped.
var implicitTLSNames = map[string]bool{"imaps": true, "pop3s": true, "smtps": true, "ftps": true, "submissions": true}

// implicitTLS tells whether the port probably carries a protocol wrapped
// in TLS from the first byte, by its name or (target) port.
func (p svcPort) implicitTLS() bool {
	names := []string{p.SP.Name}
	if p.SP.AppProtocol != nil {
		names = append(names, *p.SP.AppProtocol)
	}
	for _, n := range names {
		for _, tok := range strings.FieldsFunc(strings.ToLower(n), func(r rune) bool { return r == '-' || r == '_' || r == '.' || r == '/' }) {
			if implicitTLSNames[tok] || strings.Contains(tok, "tls") || strings.Contains(tok, "ssl") {
				return true
			}
		}
	}
	return implicitTLSPorts[p.SP.Port] || implicitTLSPorts[int32(intValue(p.SP.TargetPort))]
}

// serverFirst tells which server-first protocol a sniffed port probably
// carries, and why we think so. Ports that are probably TLS-wrapped are
// not server-first: the TLS client speaks first.
func (p svcPort) serverFirst() (proto, why string, ok bool) {
	if p.Proto != kb.ProtoUnsupported || !p.proxied() || p.implicitTLS() {
		return "", "", false
	}
	name := p.SP.Name
	what := "name"
	if p.SP.AppProtocol != nil {
		name, what = *p.SP.AppProtocol, "appProtocol"
	}
	prefix := strings.ToLower(name)
	if i := strings.IndexByte(prefix, '-'); i >= 0 {
		prefix = prefix[:i]
	}
	if proto, ok := serverFirstNames[prefix]; ok {
		return proto, fmt.Sprintf("%s %q names %s", what, name, proto), true
	}
	if proto, ok := serverFirstPorts[p.SP.Port]; ok {
		return proto, fmt.Sprintf("port %d is %s's well-known port", p.SP.Port, proto), true
	}
	if t := int32(intValue(p.SP.TargetPort)); t != 0 {
		if proto, ok := serverFirstPorts[t]; ok {
			return proto, fmt.Sprintf("targetPort %d is %s's well-known port", t, proto), true
		}
	}
	return "", "", false
}

// detectionStall says how long a sniffed connection whose server speaks
// first waits: until meshConfig.protocolDetectionTimeout, which current
// Istio leaves unset (no timeout).
func detectionStall(r *Registry) string {
	if d := r.Mesh.Config.GetProtocolDetectionTimeout(); d != nil {
		if d.AsDuration() == 0 {
			return "until the client gives up (meshConfig.protocolDetectionTimeout: 0s, no detection timeout)"
		}
		return fmt.Sprintf("for meshConfig.protocolDetectionTimeout (%s) on every connection before the proxy falls back to TCP", d.AsDuration())
	}
	return "until the client gives up (meshConfig.protocolDetectionTimeout is unset: current Istio has no detection timeout)"
}

// serviceReads: the registry's Service fields plus spec.externalName.
var serviceReads = map[schema.GroupKind][]string{snapshot.KindService: {"spec.externalName"}}

// ServicePortProtocolUnknown is IST0118: a port Istio must sniff.
var ServicePortProtocolUnknown = &analysis.Analyzer{
	Code:     "MD230",
	Name:     "service-port-protocol-unknown",
	Severity: analysis.Info,
	Summary:  "A Service port declares no protocol Istio recognises (by name prefix or appProtocol), so sidecars sniff it: HTTP-only features and non-HTTP protocols depend on detection.",
	Doc:      doc("MD230"),
	Inputs:   []analysis.Input{serviceInput},
	Reads:    reads(serviceReads),
	Requires: []*analysis.Fact{RegistryFact},
	Run: func(p *analysis.Pass) error {
		stall := detectionStall(p.ResultOf(RegistryFact).(*Registry))
		for _, o := range p.Snapshot.List(snapshot.KindService) {
			svc, ok := o.Typed.(*corev1.Service)
			if !ok || skipService(o) || svc.Spec.Type == corev1.ServiceTypeExternalName {
				continue // ExternalName ports: MD231
			}
			for _, sp := range servicePorts(svc) {
				if sp.Proto != kb.ProtoUnsupported || !sp.proxied() {
					continue
				}
				if _, _, sf := sp.serverFirst(); sf {
					continue // MD232 says more
				}
				p.Report(analysis.Finding{
					Subject: o.Key,
					Message: fmt.Sprintf("%s %s declares no protocol Istio recognises: sidecars sniff the first bytes the client sends, route HTTP/1.1 and HTTP/2 as HTTP and everything else (TLS included) as opaque TCP, so HTTP routing, retries and metrics depend on detection; a protocol whose server speaks first stalls, because the sidecar waits for client bytes that never come — %s (see MD232).",
						o.Ref(), sp.describe(), stall),
					Locations: []analysis.Location{analysis.LocationOf(o, sp.protocolField())},
					Evidence:  []string{fmt.Sprintf("spec.ports[%d]: %s, targetPort %s → protocol %s (sniffed)", sp.Index, sp.describe(), sp.targetText(), sp.Proto)},
					Remedy:    "Declare the protocol: name the port <protocol>[-<suffix>] (http-web, grpc-api, tcp-db, tls-...) or set appProtocol (http, http2, grpc, tcp, tls, kubernetes.io/h2c).",
					Key:       fmt.Sprintf("port/%d", sp.SP.Port),
				})
			}
		}
		return nil
	},
}

// ExternalName Services became aliases of their target in Istio 1.21
// (ENABLE_EXTERNAL_NAME_ALIAS, opt-in from 1.20, default on from 1.21, the
// flag removed in 1.24): alias Services get no listeners of their own.
const externalNameAliasEnv = "ENABLE_EXTERNAL_NAME_ALIAS"

var (
	externalNameAliasFlag    = version.MustParse("1.20.0")
	externalNameAliasDefault = version.MustParse("1.21.0")
	externalNameAliasOnly    = version.MustParse("1.24.0")
)

// externalNameListeners tells whether an istiod builds listeners for
// ExternalName Services (the pre-alias behaviour), and why; known is false
// when neither its version nor the flag is in the input.
func externalNameListeners(d istiodInfo) (listeners, known bool, why string) {
	alias, set := d.envBool(externalNameAliasEnv)
	switch {
	case d.known && !d.version.AtLeast(externalNameAliasFlag):
		return true, true, fmt.Sprintf("%s runs Istio %s: before 1.20 ExternalName Services get listeners of their own", d.obj.Ref(), d.version)
	case d.known && d.version.AtLeast(externalNameAliasOnly):
		return false, true, fmt.Sprintf("%s runs Istio %s: ExternalName Services are always aliases from 1.24", d.obj.Ref(), d.version)
	case set:
		return !alias, true, fmt.Sprintf("%s env %s=%q", d.obj.Ref(), externalNameAliasEnv, d.env[externalNameAliasEnv])
	case d.known:
		old := !d.version.AtLeast(externalNameAliasDefault)
		return old, true, fmt.Sprintf("%s runs Istio %s: %s defaults to %v", d.obj.Ref(), d.version, externalNameAliasEnv, !old)
	}
	return false, false, ""
}

// ExternalNamePortCatchAll is IST0150: an ExternalName Service port that
// sidecars match on every address (before ExternalName aliases).
var ExternalNamePortCatchAll = &analysis.Analyzer{
	Code:     "MD231",
	Name:     "externalname-port-catch-all",
	Severity: analysis.Warning,
	Summary:  "An ExternalName Service port is TCP or undeclared and istiod predates ExternalName aliases (before 1.21, or ENABLE_EXTERNAL_NAME_ALIAS=false): with no cluster IP to match, sidecars send every connection on that port to unknown addresses to the external name.",
	Doc:      doc("MD231"),
	Inputs:   []analysis.Input{serviceInput},
	Reads: reads(serviceReads, map[schema.GroupKind][]string{
		snapshot.KindDeployment: {"spec.template.spec.containers.name", "spec.template.spec.containers.image", "spec.template.spec.containers.env"},
	}),
	Requires: []*analysis.Fact{RegistryFact, facts.ComponentVersions},
	Run: func(p *analysis.Pass) error {
		// Which istiod behaviour applies: any istiod that builds listeners
		// for ExternalName Services makes the check apply to its proxies.
		var why []string
		ds := istiods(p.Snapshot, p.ResultOf(facts.ComponentVersions).(*facts.Versions))
		listeners, unknown := false, len(ds) == 0
		for _, d := range ds {
			l, known, w := externalNameListeners(d)
			switch {
			case !known:
				unknown = true
			case l:
				listeners = true
				why = append(why, w)
			}
		}
		for _, o := range p.Snapshot.List(snapshot.KindService) {
			svc, ok := o.Typed.(*corev1.Service)
			if !ok || skipService(o) || svc.Spec.Type != corev1.ServiceTypeExternalName {
				continue
			}
			var ports []svcPort
			for _, sp := range servicePorts(svc) {
				if sp.proxied() && !sp.Proto.IsHTTP() && !sp.Proto.IsTLS() {
					ports = append(ports, sp) // HTTP is routed by Host, TLS by SNI
				}
			}
			if len(ports) == 0 {
				continue
			}
			if !listeners {
				if unknown {
					p.NotChecked("ports of %s: from Istio 1.21 ExternalName Services are aliases without listeners of their own, and the input lacks istiod's version (or %s)", o.Ref(), externalNameAliasEnv)
				}
				continue
			}
			for _, sp := range ports {
				how := "opaque TCP"
				if sp.Proto == kb.ProtoUnsupported {
					how = "sniffed (non-HTTP traffic falls through to TCP)"
				}
				p.Report(analysis.Finding{
					Subject: o.Key,
					Message: fmt.Sprintf("%s %s is %s, and istiod treats ExternalName Services as services of their own rather than aliases (%s). With no cluster IP, sidecars listen on 0.0.0.0:%d for it and forward every TCP connection on port %d to an address no other Service claims to %s — traffic meant for other hosts on that port reaches the wrong server.",
						o.Ref(), sp.describe(), how, strings.Join(why, "; "), sp.SP.Port, sp.SP.Port, svc.Spec.ExternalName),
					Locations: []analysis.Location{analysis.LocationOf(o, sp.protocolField())},
					Evidence: append([]string{
						fmt.Sprintf("spec.type: ExternalName (externalName %s)", svc.Spec.ExternalName),
						fmt.Sprintf("spec.ports[%d]: %s → protocol %s", sp.Index, sp.describe(), sp.Proto),
					}, why...),
					Remedy: "Declare the port as http-<suffix> or https-/tls-<suffix> (Host or SNI routing) if that is what it carries; for plain TCP use a ServiceEntry with addresses (or a dedicated port) instead of an ExternalName Service, or upgrade istiod to 1.21+ (or leave ENABLE_EXTERNAL_NAME_ALIAS on), where ExternalName Services are aliases.",
					Key:    fmt.Sprintf("port/%d", sp.SP.Port),
				})
			}
		}
		return nil
	},
}

// ServerFirstSniffed: a server-first protocol on a port Istio sniffs.
var ServerFirstSniffed = &analysis.Analyzer{
	Code:     "MD232",
	Name:     "server-first-protocol-sniffed",
	Severity: analysis.Warning,
	Summary:  "A Service port that Istio sniffs carries a server-first protocol (SMTP, MySQL, FTP, POP3, IMAP, NATS, VNC): the proxy waits for the client's first bytes while the client waits for the server's greeting.",
	Doc:      doc("MD232"),
	Inputs:   []analysis.Input{serviceInput},
	Reads:    reads(serviceReads),
	Requires: []*analysis.Fact{RegistryFact},
	Run: func(p *analysis.Pass) error {
		timeout := detectionStall(p.ResultOf(RegistryFact).(*Registry))
		for _, o := range p.Snapshot.List(snapshot.KindService) {
			svc, ok := o.Typed.(*corev1.Service)
			if !ok || skipService(o) {
				continue
			}
			for _, sp := range servicePorts(svc) {
				proto, why, ok := sp.serverFirst()
				if !ok {
					continue
				}
				p.Report(analysis.Finding{
					Subject: o.Key,
					Message: fmt.Sprintf("%s %s probably carries %s, a server-first protocol, but declares no protocol, so Istio sniffs it: the sidecar waits for the client's first bytes to detect HTTP while the %s client waits for the server's greeting — connections hang %s.",
						o.Ref(), sp.describe(), proto, proto, timeout),
					Locations: []analysis.Location{analysis.LocationOf(o, sp.protocolField())},
					Evidence: []string{
						why,
						fmt.Sprintf("spec.ports[%d]: %s → protocol %s (sniffed)", sp.Index, sp.describe(), sp.Proto),
					},
					Remedy: fmt.Sprintf("Declare the port as TCP: name it tcp-<suffix> (e.g. tcp-%s) or set appProtocol: tcp.", strings.ToLower(strings.Fields(proto)[0])),
					Key:    fmt.Sprintf("port/%d", sp.SP.Port),
				})
			}
		}
		return nil
	},
}
