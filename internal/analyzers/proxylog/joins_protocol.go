package proxylog

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	netv1alpha3 "istio.io/api/networking/v1alpha3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/accesslog"
	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/istio"
	"github.com/meshdoctor/meshdoctor/internal/kb"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// UPEServerProtocol joins 502 UPE failures to the Service (or
// ServiceEntry) port Istio treats as HTTP while the server behind it
// answers something else.
var UPEServerProtocol = &analysis.Analyzer{
	Code:     "MD612",
	Name:     "log-upe-http-port-non-http-server",
	Severity: analysis.Error,
	Summary:  "Proxies logged 502 UPE (upstream protocol error) toward a port Istio treats as HTTP — by its name, its appProtocol, or by sniffing an HTTP client — while the server answers something Envoy cannot parse as the HTTP it speaks there: another protocol, TLS, a reply without an HTTP status line, or HTTP/1.x where Envoy speaks HTTP/2.",
	Doc:      doc("MD612"),
	Inputs:   []analysis.Input{analysis.AccessLogGroups(), analysis.Kinds(snapshot.KindService, snapshot.KindServiceEntry)},
	Reads: map[schema.GroupKind][]string{
		// The pods are read to find the proxy that wrote an inbound line
		// and the container port a named targetPort means.
		snapshot.KindPod: {"status.podIP", "status.podIPs", "spec.hostNetwork", "spec.containers.name", "spec.containers.ports", "spec.initContainers.name"},
	},
	Requires: []*analysis.Fact{istio.RegistryFact},
	Run:      runUPE,
}

// portChoice is the protocol Istio gives a port, why, and the field that
// decides it.
type portChoice struct {
	proto kb.Protocol
	why   string
	at    snapshot.Path
}

// httpLike tells the ports whose traffic Envoy's HTTP codecs parse:
// declared HTTP, HTTP/2 or gRPC, or sniffed (an HTTP client's requests
// then go out as HTTP). Opaque TCP, TLS and the other protocols never
// reach an HTTP codec, so they cannot produce UPE.
func (c portChoice) httpLike() bool { return c.proto.IsHTTP() || c.proto == kb.ProtoUnsupported }

// servicePortChoice says how Istio picks the protocol of a Kubernetes
// Service port (pkg/config/kube/conversion.go ConvertProtocol): appProtocol
// replaces the name when set; the name counts up to its first '-'.
func servicePortChoice(i int, sp corev1.ServicePort) portChoice {
	c := portChoice{proto: kb.ServicePortProtocol(sp.Port, sp.Name, string(sp.Protocol), sp.AppProtocol), at: snapshot.P("spec", "ports", i)}
	switch {
	case sp.AppProtocol != nil && c.proto == kb.ProtoUnsupported:
		c.why = fmt.Sprintf("appProtocol %q names no protocol Istio knows, and it replaces the port name, so Istio sniffs the protocol from the client's first bytes", *sp.AppProtocol)
		c.at = c.at.Child("appProtocol")
	case sp.AppProtocol != nil:
		c.why = fmt.Sprintf("appProtocol %q, which wins over the port name", *sp.AppProtocol)
		c.at = c.at.Child("appProtocol")
	case c.proto == kb.ProtoUnsupported && sp.Name == "":
		c.why = "the port has neither a name nor an appProtocol, so Istio sniffs the protocol from the client's first bytes"
	case c.proto == kb.ProtoUnsupported:
		c.why = fmt.Sprintf("port name %q starts with no protocol Istio knows and appProtocol is unset, so Istio sniffs the protocol from the client's first bytes", sp.Name)
		c.at = c.at.Child("name")
	default:
		c.why = fmt.Sprintf("port name %q, read up to its first '-'", sp.Name)
		c.at = c.at.Child("name")
	}
	return c
}

// entryPortChoice is the same for a ServiceEntry port, whose protocol is
// a field of its own (empty: sniffed).
func entryPortChoice(i int, sp *netv1alpha3.ServicePort) portChoice {
	c := portChoice{proto: kb.ParseProtocol(sp.GetProtocol()), at: snapshot.P("spec", "ports", i)}
	if sp.GetProtocol() == "" {
		c.why = "the port declares no protocol, so Istio sniffs the protocol from the client's first bytes"
		return c
	}
	c.why = fmt.Sprintf("protocol %s", sp.GetProtocol())
	c.at = c.at.Child("protocol")
	return c
}

// upgrade is a DestinationRule or mesh setting that makes Istio speak
// HTTP/2 to an upstream declared HTTP/1.1 or sniffed.
type upgrade struct {
	dr   *istio.DestRule
	at   snapshot.Path
	mesh bool
}

func (u upgrade) on() bool { return u.dr != nil || u.mesh }

// h2Upgrade follows Istio's shouldH2Upgrade (pilot cluster_traffic_policy):
// outbound only; useClientProtocol never upgrades; a DestinationRule's
// h2UpgradePolicy UPGRADE upgrades any port, DO_NOT_UPGRADE none; else
// ports declared HTTP follow the mesh's h2UpgradePolicy.
func h2Upgrade(r *istio.Registry, host, ns, subset string, port int, c portChoice) upgrade {
	if c.proto != kb.ProtoHTTP && c.proto != kb.ProtoUnsupported {
		return upgrade{} // HTTP/2 and gRPC ports speak HTTP/2 already
	}
	for _, dr := range r.DestinationRules(host, ns) {
		cp, at := poolAt(dr.Spec, subset, port)
		h := cp.GetHttp()
		if h == nil {
			continue
		}
		switch {
		case h.GetUseClientProtocol():
			return upgrade{}
		case h.GetH2UpgradePolicy() == netv1alpha3.ConnectionPoolSettings_HTTPSettings_UPGRADE:
			return upgrade{dr: dr, at: at.Child("http", "h2UpgradePolicy")}
		case h.GetH2UpgradePolicy() == netv1alpha3.ConnectionPoolSettings_HTTPSettings_DO_NOT_UPGRADE:
			return upgrade{}
		}
		break // the most specific pool decides; DEFAULT defers to the mesh
	}
	if c.proto == kb.ProtoHTTP && r.Mesh.Config.GetH2UpgradePolicy() == meshv1alpha1.MeshConfig_UPGRADE {
		return upgrade{mesh: true}
	}
	return upgrade{}
}

// speaks is the HTTP version the proxy uses toward the upstream.
func speaks(c portChoice, up bool) string {
	switch {
	case c.proto == kb.ProtoHTTP2 || c.proto == kb.ProtoGRPC || c.proto == kb.ProtoGRPCWeb:
		return "HTTP/2 (cleartext)"
	case up:
		return "HTTP/2 (cleartext, upgraded by h2UpgradePolicy)"
	case c.proto == kb.ProtoUnsupported:
		return "the HTTP version the client used"
	}
	return "HTTP/1.1"
}

// upeTarget is the port a UPE group is joined to.
type upeTarget struct {
	obj    *snapshot.Object
	name   string // the port's name, "" for none
	number int
	choice portChoice
	// others are further Services whose ports reach the same pod port
	// (inbound), named as related objects.
	others []*snapshot.Object
	// probe is a command that shows what the server answers.
	probe string
}

func runUPE(p *analysis.Pass) error {
	r := p.ResultOf(istio.RegistryFact).(*istio.Registry)
	al := p.Snapshot.AccessLogs()
	var byIP map[netip.Addr]*snapshot.Object // built when an inbound group needs it
	for i := range al.Summary.Groups {
		g := &al.Summary.Groups[i]
		if g.Failures == 0 || !hasFlag(g.Key.Flags, "UPE") {
			continue
		}
		c := g.Cluster()
		from := ""
		if w, ok := al.Writers[g.First.File]; ok {
			from = w.Namespace
		}
		var (
			t  upeTarget
			ok bool
		)
		switch {
		case (c.Direction == accesslog.DirOutbound || c.Direction == accesslog.DirInbound) && c.Service != "":
			// Outbound, or an inbound name from before Istio 1.10, which
			// carried the service and its port.
			t, ok = hostPort(r, c.Service, clientNS(from, c.Service), c.Port)
		case c.Direction == accesslog.DirInbound && c.Port != 0:
			if byIP == nil {
				byIP = podsByIP(p.Snapshot)
			}
			t, ok = podPort(p.Snapshot, al, g, byIP, c.Port)
		}
		if !ok || !t.choice.httpLike() {
			continue // not ours to judge, or an opaque port: UPE did not come from it
		}
		var up upgrade // inbound clusters are never upgraded
		if c.Direction == accesslog.DirOutbound {
			up = h2Upgrade(r, c.Service, clientNS(from, c.Service), c.Subset, c.Port, t.choice)
		}
		f := logFinding(g, al.Summary.Matched)
		f.Subject = t.obj.Key
		f.Locations = []analysis.Location{analysis.LocationOf(t.obj, t.choice.at)}
		if up.dr != nil {
			f.Locations = append(f.Locations, analysis.LocationOf(up.dr.Object, up.at))
		}
		f.Locations = append(f.Locations, logLocation(g, al))
		for _, o := range t.others {
			f.Related = append(f.Related, analysis.RelatedOf(o, "another Service that sends to the same pod port"))
		}
		ver := speaks(t.choice, up.on())
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s port %d: Istio treats it as %s — %s", t.obj.Ref(), t.number, protoWord(t.choice.proto), t.choice.why), "the proxy speaks "+ver+" to the server")
		cause := ""
		switch {
		case up.dr != nil:
			f.Evidence = append(f.Evidence, fmt.Sprintf("%s %s: UPGRADE", up.dr.Object.Ref(), up.at))
			cause = fmt.Sprintf(" %s sets h2UpgradePolicy UPGRADE, so the proxy speaks HTTP/2 to a server that may speak only HTTP/1.1.", up.dr.Object.Ref())
		case up.mesh:
			f.Evidence = append(f.Evidence, "meshConfig.h2UpgradePolicy: UPGRADE ("+r.Mesh.Source+")")
			cause = " The mesh's h2UpgradePolicy is UPGRADE, so the proxy speaks HTTP/2 to a server that may speak only HTTP/1.1."
		}
		code := "UPE"
		if g.Key.Code >= 0 {
			code = fmt.Sprintf("%d UPE", g.Key.Code)
		}
		answered := "another protocol, TLS, or a reply without an HTTP status line (HTTP/0.9-style)"
		if strings.HasPrefix(ver, "HTTP/2") {
			answered = "HTTP/1.x from a server that does not speak HTTP/2, another protocol, or TLS"
		}
		f.Message = fmt.Sprintf("%s failed with %s toward %s: Istio treats port %d of %s as %s — %s — so the proxy speaks %s to the server, and the server's answer was not valid for it: %s.%s",
			plural(g.Failures, "request"), code, c.Name, t.number, t.obj.Ref(), protoWord(t.choice.proto), t.choice.why, ver, answered, cause)
		f.Remedy = upeRemedy(t, up)
		p.Report(f)
	}
	return nil
}

// hostPort finds the port of the Service (else ServiceEntry) named by an
// upstream cluster.
func hostPort(r *istio.Registry, host, ns string, port int) (upeTarget, bool) {
	if svcs := r.Services(host, ns); len(svcs) > 0 {
		for i, sp := range svcs[0].Spec.Spec.Ports {
			if int(sp.Port) == port {
				return upeTarget{obj: svcs[0].Object, name: sp.Name, number: port, choice: servicePortChoice(i, sp), probe: clientProbe(host, port)}, true
			}
		}
		return upeTarget{}, false
	}
	for _, e := range r.Entries(host, ns) {
		for i, sp := range e.Spec.GetPorts() {
			if int(sp.GetNumber()) == port {
				return upeTarget{obj: e.Object, name: sp.GetName(), number: port, choice: entryPortChoice(i, sp), probe: clientProbe(host, port)}, true
			}
		}
	}
	return upeTarget{}, false
}

// podPort finds the Service port behind an inbound cluster (Istio 1.10+
// names only the pod port: inbound|8080||): the pod is the proxy that
// wrote the line, the ports those of the Services selecting it that send
// to that pod port. When they disagree on the protocol, which one Istio
// built the listener from is not known here, and nothing is returned.
func podPort(s *snapshot.Snapshot, al *snapshot.AccessLogs, g *accesslog.Group, byIP map[netip.Addr]*snapshot.Object, port int) (upeTarget, bool) {
	rec, ok := sampleRecord(g)
	if !ok {
		return upeTarget{}, false
	}
	px, ok := findProxy(s, al, g, rec, byIP, true)
	if !ok || !px.inbound && px.how != howWriter {
		return upeTarget{}, false
	}
	ports := inboundPorts(s, px.pod, port)
	if len(ports) == 0 {
		return upeTarget{}, false
	}
	var t upeTarget
	for n, sp := range ports {
		choice := servicePortChoice(sp.i, sp.port())
		if !choice.httpLike() {
			return upeTarget{}, false
		}
		if n == 0 {
			// From the istio-proxy container (uid 1337, never redirected),
			// localhost reaches the application itself.
			t = upeTarget{obj: sp.obj, name: sp.port().Name, number: int(sp.port().Port), choice: choice,
				probe: fmt.Sprintf("kubectl exec %s -n %s -c %s -- curl -sv http://localhost:%d/", px.pod.Key.Name, px.pod.Key.Namespace, istio.ProxyContainer, port)}
		} else if sp.obj != t.obj && !slices.Contains(t.others, sp.obj) {
			t.others = append(t.others, sp.obj)
		}
	}
	return t, true
}

// clientProbe asks a server directly from a client's proxy container.
func clientProbe(host string, port int) string {
	return fmt.Sprintf("kubectl exec <client pod> -c %s -- curl -sv http://%s/", istio.ProxyContainer, net.JoinHostPort(host, strconv.Itoa(port)))
}

// protoWord names a protocol in messages.
func protoWord(p kb.Protocol) string {
	if p == kb.ProtoUnsupported {
		return "undeclared (sniffed)"
	}
	return string(p)
}

// upeRemedy says what to change, by how Istio chose HTTP.
func upeRemedy(t upeTarget, up upgrade) string {
	// The new name keeps the old one's suffix: http-metrics → tcp-metrics.
	tcp := "tcp-" + t.name
	switch i := strings.IndexByte(t.name, '-'); {
	case t.name == "":
		tcp = "tcp-<name>"
	case i >= 0:
		tcp = "tcp-" + t.name[i+1:]
	case kb.ParseProtocol(t.name) != kb.ProtoUnsupported:
		tcp = "tcp" // a bare protocol name such as grpc
	}
	field := fmt.Sprintf("name port %d of %s %q (or set appProtocol: tcp)", t.number, t.obj.Ref(), tcp)
	if t.obj.Key.Kind == snapshot.KindServiceEntry.Kind {
		field = fmt.Sprintf("set protocol TCP on port %d of %s (TLS when the server speaks TLS, or originate TLS with a DestinationRule and keep HTTP)", t.number, t.obj.Ref())
	}
	var steps []string
	switch {
	case up.dr != nil:
		steps = append(steps, fmt.Sprintf("If the server speaks only HTTP/1.1, set h2UpgradePolicy DO_NOT_UPGRADE (or remove UPGRADE) in %s.", up.dr.Object.Ref()))
	case up.mesh:
		steps = append(steps, "If the server speaks only HTTP/1.1, give its host a DestinationRule with connectionPool.http.h2UpgradePolicy: DO_NOT_UPGRADE.")
	case t.choice.proto == kb.ProtoHTTP2 || t.choice.proto == kb.ProtoGRPC || t.choice.proto == kb.ProtoGRPCWeb:
		steps = append(steps, fmt.Sprintf("If the server speaks HTTP/1.1, declare the port HTTP instead (a name http-… or appProtocol: http): Envoy speaks HTTP/2 to ports declared %s.", t.choice.proto))
	}
	steps = append(steps, fmt.Sprintf("If the server does not speak HTTP/1.1 or HTTP/2 at all (a database, a custom binary protocol, TLS it terminates itself), %s so that the proxy forwards bytes instead of parsing HTTP.", field))
	steps = append(steps, "An HTTP/1.0 server that breaks the proxy's HTTP/1.1 parser must be made to answer HTTP/1.1 (or be treated as TCP): ISTIO_META_HTTP10 only lets proxies accept HTTP/1.0 from clients and changes nothing toward servers.")
	steps = append(steps, fmt.Sprintf("See what the server answers: `%s` (curl reports a reply without a status line as HTTP/0.9).", t.probe))
	return strings.Join(steps, " ")
}
