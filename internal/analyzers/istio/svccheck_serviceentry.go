package istio

import (
	"fmt"
	"sort"
	"strings"

	netv1alpha3 "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/facts"
	"github.com/meshdoctor/meshdoctor/internal/kb"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/version"
)

var seInput = analysis.Kinds(snapshot.KindServiceEntry)

// seProtocol is the protocol Istio gives a ServiceEntry port: its protocol
// field parsed case-insensitively; empty means sniffed.
func seProtocol(p *netv1alpha3.ServicePort) kb.Protocol { return kb.ParseProtocol(p.GetProtocol()) }

// opaqueTCP: the sidecar proxies the port as bytes and can tell its
// destinations apart only by address (TCP, Mongo, MySQL, Redis, and
// sniffed ports whose traffic is not HTTP).
func opaqueTCP(p kb.Protocol) bool {
	return p == kb.ProtoUnsupported || p.IsTCP() && !p.IsTLS()
}

func protocolText(p *netv1alpha3.ServicePort) string {
	if p.GetProtocol() == "" {
		return "no protocol (sniffed)"
	}
	return "protocol " + p.GetProtocol()
}

// portField points at a ServiceEntry port's protocol, or the port.
func portField(i int) snapshot.Path { return snapshot.P("spec", "ports", i, "protocol") }

// drTLSOrigination finds a DestinationRule (in any namespace: clients pick
// among them by namespace) whose SIMPLE or MUTUAL TLS setting applies to
// host's port.
func (r *Registry) drTLSOrigination(host string, port uint32) (*DestRule, clientTLS, bool) {
	cands := append([]*DestRule(nil), r.rules[host]...)
	for _, d := range r.wildRules {
		if hostSubsetOf(host, d.Host) {
			cands = append(cands, d)
		}
	}
	for _, d := range cands {
		for _, ct := range clientTLSSettings(d.Spec) {
			m := ct.tls.GetMode()
			if m != netv1alpha3.ClientTLSSettings_SIMPLE && m != netv1alpha3.ClientTLSSettings_MUTUAL {
				continue
			}
			if ct.port == port || ct.port == 0 && !ct.overridden[port] {
				return d, ct, true
			}
		}
	}
	return nil, clientTLS{}, false
}

// ---- MD236 (IST0134) ----

const (
	dnsCaptureKey      = "ISTIO_META_DNS_CAPTURE"
	dnsAutoAllocateKey = "ISTIO_META_DNS_AUTO_ALLOCATE"
	ipAutoallocateEnv  = "PILOT_ENABLE_IP_AUTOALLOCATE"
	// autoallocateOptOut is the ServiceEntry label that opts out of the
	// controller-based allocation.
	autoallocateOptOut = "networking.istio.io/enable-autoallocate-ip"
)

// ipAutoallocateDefault is the release from which istiod's IP allocation
// controller is on by default.
var ipAutoallocateDefault = version.MustParse("1.25.0")

// allocation says whether sidecars use addresses Istio allocates for
// ServiceEntries without addresses: they need DNS capture and either the
// proxy-side (ISTIO_META_DNS_AUTO_ALLOCATE) or the istiod-side
// (PILOT_ENABLE_IP_AUTOALLOCATE) allocation.
type allocation struct {
	dnsCapture bool
	proxySide  bool
	// istiodSide: 1 on, 0 off, -1 unknown (istiod not in the input).
	istiodSide int
	why        []string
}

func meshAllocation(s *snapshot.Snapshot, mesh *facts.Mesh, vers *facts.Versions) allocation {
	md := mesh.Config.GetDefaultConfig().GetProxyMetadata()
	a := allocation{dnsCapture: md[dnsCaptureKey] == "true", proxySide: md[dnsAutoAllocateKey] == "true", istiodSide: -1}
	a.why = append(a.why, fmt.Sprintf("meshConfig.defaultConfig.proxyMetadata %s=%q, %s=%q (%s)", dnsCaptureKey, md[dnsCaptureKey], dnsAutoAllocateKey, md[dnsAutoAllocateKey], mesh.Source))
	if md[ipAutoallocateEnv] == "true" { // where istioctl looks for it
		a.istiodSide = 1
		a.why = append(a.why, "proxyMetadata "+ipAutoallocateEnv+"=true")
		return a
	}
	for _, o := range s.List(snapshot.KindDeployment) {
		if !facts.IsIstiod(o) {
			continue
		}
		if d, ok := o.Typed.(*appsv1.Deployment); ok {
			for _, c := range d.Spec.Template.Spec.Containers {
				for _, e := range c.Env {
					if e.Name == ipAutoallocateEnv && e.ValueFrom == nil {
						a.istiodSide = 0
						if strings.EqualFold(e.Value, "true") {
							a.istiodSide = 1
						}
						a.why = append(a.why, fmt.Sprintf("%s env %s=%q", o.Ref(), ipAutoallocateEnv, e.Value))
						return a
					}
				}
			}
		}
	}
	if old, known := istiodBefore(vers, ipAutoallocateDefault); known {
		a.istiodSide = 1
		if old {
			a.istiodSide = 0
		}
		a.why = append(a.why, fmt.Sprintf("istiod %s: %s defaults to %v", vers.Istiod[0].Version, ipAutoallocateEnv, !old))
	}
	return a
}

// SEAddressesRequired is IST0134: a ServiceEntry without addresses whose
// TCP ports make sidecars match every address on the port.
var SEAddressesRequired = &analysis.Analyzer{
	Code:     "MD236",
	Name:     "serviceentry-tcp-without-addresses",
	Severity: analysis.Warning,
	Summary:  "A ServiceEntry with TCP (or undeclared) ports has no addresses and gets none allocated: sidecars listen on 0.0.0.0:<port> for it and send every unmatched TCP connection on that port to its endpoints.",
	Doc:      doc("MD236"),
	Inputs:   []analysis.Input{seInput},
	Reads: reads(map[schema.GroupKind][]string{
		snapshot.KindServiceEntry: {"status.addresses"},
		snapshot.KindDeployment:   {"spec.template.spec.containers.name", "spec.template.spec.containers.image", "spec.template.spec.containers.env"},
	}),
	Requires: []*analysis.Fact{RegistryFact, facts.ComponentVersions},
	Run: func(p *analysis.Pass) error {
		r := p.ResultOf(RegistryFact).(*Registry)
		alloc := meshAllocation(p.Snapshot, r.Mesh, p.ResultOf(facts.ComponentVersions).(*facts.Versions))
		for _, o := range p.Snapshot.List(snapshot.KindServiceEntry) {
			se, ok := o.Typed.(*networkingv1.ServiceEntry)
			if !ok || len(se.Spec.GetAddresses()) > 0 {
				continue
			}
			var tcp []int
			for i, port := range se.Spec.GetPorts() {
				if opaqueTCP(seProtocol(port)) {
					tcp = append(tcp, i)
				}
			}
			if len(tcp) == 0 {
				continue
			}
			none := se.Spec.GetResolution() == netv1alpha3.ServiceEntry_NONE
			wild := false
			for _, h := range se.Spec.GetHosts() {
				wild = wild || wildcarded(h)
			}
			evidence := append([]string{}, alloc.why...)
			if alloc.dnsCapture && !none && !wild {
				switch {
				case len(se.Status.GetAddresses()) > 0:
					continue // allocated, and DNS capture hands it out
				case alloc.proxySide:
					continue
				case alloc.istiodSide == 1 && o.Labels[autoallocateOptOut] != "false":
					continue
				case alloc.istiodSide == -1 && o.Labels[autoallocateOptOut] != "false":
					p.NotChecked("addresses of %s: DNS capture is on, and whether istiod allocates addresses (%s, on by default from %s) depends on its version, which the input lacks", o.Ref(), ipAutoallocateEnv, ipAutoallocateDefault)
					continue
				}
			}
			var why string
			switch {
			case none:
				why = "resolution NONE gets no allocated address"
			case wild:
				why = "a wildcard host gets no allocated address"
			case !alloc.dnsCapture:
				why = "DNS capture is off, so sidecars do not use allocated addresses"
			default:
				why = "no address allocation is enabled"
			}
			evidence = append(evidence, why)
			for _, i := range tcp {
				port := se.Spec.GetPorts()[i]
				f := analysis.Finding{
					Subject: o.Key,
					Message: fmt.Sprintf("%s has no addresses and port %d has %s, and %s: sidecars listen on 0.0.0.0:%d for it, so every TCP connection on port %d to an address no other Service claims is sent to %s's endpoints — connections to other external servers on that port reach the wrong one.",
						o.Ref(), port.GetNumber(), protocolText(port), why, port.GetNumber(), port.GetNumber(), strings.Join(se.Spec.GetHosts(), ", ")),
					Locations: []analysis.Location{analysis.LocationOf(o, portField(i))},
					Evidence:  append([]string{fmt.Sprintf("spec.addresses: none; spec.ports[%d]: %d %s", i, port.GetNumber(), protocolText(port))}, evidence...),
					Remedy:    "Set spec.addresses to the service's IP(s) or CIDR, or enable DNS capture (meshConfig.defaultConfig.proxyMetadata ISTIO_META_DNS_CAPTURE: \"true\") with address auto-allocation so each host gets its own VIP.",
					Key:       fmt.Sprintf("port/%d", port.GetNumber()),
				}
				if none {
					f.Severity = analysis.Info
					f.Message = fmt.Sprintf("%s (resolution NONE) has no addresses and port %d has %s: sidecars listen on 0.0.0.0:%d for it, so every TCP connection on port %d to an address no other Service claims is attributed to %s and gets its DestinationRule and telemetry (it still reaches its original destination).",
						o.Ref(), port.GetNumber(), protocolText(port), port.GetNumber(), port.GetNumber(), strings.Join(se.Spec.GetHosts(), ", "))
					f.Remedy = "If the entry is meant for particular servers, set spec.addresses to their IPs or CIDR; if it is meant to admit all traffic on the port, nothing breaks, but give it a dedicated port."
				}
				p.Report(f)
			}
		}
		return nil
	},
}

// ---- MD237 (IST0177) ----

// exportSet is where an object is visible: all namespaces, or a set.
type exportSet struct {
	all bool
	ns  map[string]bool
}

func exportsOf(exportTo []string, ns string) exportSet {
	if len(exportTo) == 0 {
		return exportSet{all: true}
	}
	out := exportSet{ns: map[string]bool{}}
	for _, e := range exportTo {
		switch e {
		case "*":
			return exportSet{all: true}
		case ".":
			out.ns[ns] = true
		case "~":
		default:
			out.ns[e] = true
		}
	}
	return out
}

func (a exportSet) overlaps(b exportSet) bool {
	switch {
	case a.all && b.all:
		return true
	case a.all:
		return len(b.ns) > 0
	case b.all:
		return len(a.ns) > 0
	}
	for n := range a.ns {
		if b.ns[n] {
			return true
		}
	}
	return false
}

// seHostPort is one port of one host of a ServiceEntry.
type seHostPort struct {
	obj   *snapshot.Object
	index int
	port  *netv1alpha3.ServicePort
	proto string
	vis   exportSet
}

func protoKey(p *netv1alpha3.ServicePort) string {
	if pr := seProtocol(p); pr != kb.ProtoUnsupported {
		return string(pr)
	}
	if p.GetProtocol() == "" {
		return "(none: sniffed)"
	}
	return strings.ToUpper(p.GetProtocol())
}

// SEConflictingProtocol is IST0177: ServiceEntries visible to the same
// clients give one host and port different protocols.
var SEConflictingProtocol = &analysis.Analyzer{
	Code:     "MD237",
	Name:     "serviceentry-conflicting-protocol",
	Severity: analysis.Warning,
	Summary:  "Several ServiceEntries visible to the same namespaces define one host and port with different protocols: clients get only one of them, so traffic is handled with the wrong protocol.",
	Doc:      doc("MD237"),
	Inputs:   []analysis.Input{seInput},
	Reads:    reads(nil),
	Requires: []*analysis.Fact{RegistryFact},
	Run: func(p *analysis.Pass) error {
		byKey := map[string][]seHostPort{}
		var keys []string
		for _, o := range p.Snapshot.List(snapshot.KindServiceEntry) {
			se, ok := o.Typed.(*networkingv1.ServiceEntry)
			if !ok {
				continue
			}
			vis := exportsOf(se.Spec.GetExportTo(), o.Key.Namespace)
			for _, h := range se.Spec.GetHosts() {
				for i, port := range se.Spec.GetPorts() {
					k := fmt.Sprintf("%s:%d", h, port.GetNumber())
					if _, ok := byKey[k]; !ok {
						keys = append(keys, k)
					}
					byKey[k] = append(byKey[k], seHostPort{obj: o, index: i, port: port, proto: protoKey(port), vis: vis})
				}
			}
		}
		for _, k := range keys {
			group := byKey[k]
			for i, a := range group {
				var others []seHostPort
				for j, b := range group {
					if i != j && b.obj != a.obj && b.proto != a.proto && a.vis.overlaps(b.vis) {
						others = append(others, b)
					}
				}
				if len(others) == 0 {
					continue
				}
				protos := map[string]bool{a.proto: true}
				var names []string
				f := analysis.Finding{
					Subject:   a.obj.Key,
					Locations: []analysis.Location{analysis.LocationOf(a.obj, portField(a.index))},
					Evidence:  []string{fmt.Sprintf("%s spec.ports[%d]: %s", a.obj.Ref(), a.index, protocolText(a.port))},
					Key:       k,
				}
				for _, b := range others {
					protos[b.proto] = true
					names = append(names, b.obj.Ref())
					f.Evidence = append(f.Evidence, fmt.Sprintf("%s spec.ports[%d]: %s", b.obj.Ref(), b.index, protocolText(b.port)))
					f.Related = append(f.Related, analysis.RelatedOf(b.obj, "defines the same host and port"))
				}
				var plist []string
				for pr := range protos {
					plist = append(plist, pr)
				}
				sort.Strings(plist)
				f.Message = fmt.Sprintf("%s and %s define %s with conflicting protocols (%s) and are visible to common namespaces: a client's sidecar uses only one definition of the host, so connections are handled with the other entry's protocol (HTTP parsing of TLS or opaque bytes fails; TCP handling loses HTTP routing).",
					a.obj.Ref(), strings.Join(names, ", "), k, strings.Join(plist, ", "))
				f.Remedy = "Define each host and port once with its real protocol (merge the ServiceEntries), or restrict their exportTo so no namespace sees both."
				p.Report(f)
			}
		}
		return nil
	},
}

// ---- MD238: port 443 declared HTTP ----

// SEHTTPOnTLSPort: a ServiceEntry declares port 443 as HTTP without TLS
// origination.
var SEHTTPOnTLSPort = &analysis.Analyzer{
	Code:     "MD238",
	Name:     "serviceentry-https-port-declared-http",
	Severity: analysis.Warning,
	Summary:  "A ServiceEntry declares port 443 as HTTP and no DestinationRule originates TLS there: clients that speak HTTPS to it have their TLS handshake parsed as HTTP and fail.",
	Doc:      doc("MD238"),
	Inputs:   []analysis.Input{seInput},
	Reads:    reads(nil),
	Requires: []*analysis.Fact{RegistryFact},
	Run: func(p *analysis.Pass) error {
		r := p.ResultOf(RegistryFact).(*Registry)
		for _, o := range p.Snapshot.List(snapshot.KindServiceEntry) {
			se, ok := o.Typed.(*networkingv1.ServiceEntry)
			if !ok {
				continue
			}
			for i, port := range se.Spec.GetPorts() {
				if port.GetNumber() != 443 || !seProtocol(port).IsHTTP() {
					continue
				}
				if t := port.GetTargetPort(); t != 0 && t != 443 {
					continue // plaintext on 443 forwarded to another port: deliberate
				}
				if !p.Snapshot.Has(snapshot.KindDestinationRule) {
					p.NotChecked("port 443 of %s: the input has no DestinationRules, which could originate TLS for it", o.Ref())
					continue
				}
				originated := false
				for _, h := range se.Spec.GetHosts() {
					if _, _, ok := r.drTLSOrigination(h, 443); ok {
						originated = true
					}
				}
				if originated {
					continue // the app sends plaintext to 443 and the sidecar adds TLS
				}
				p.Report(analysis.Finding{
					Subject: o.Key,
					Message: fmt.Sprintf("%s declares port 443 of %s with %s, and no DestinationRule originates TLS for it: a client that speaks HTTPS (https://%s) sends a TLS handshake that the sidecar parses as HTTP — the client sees 'wrong version number' and the access log 400 DPE.",
						o.Ref(), strings.Join(se.Spec.GetHosts(), ", "), protocolText(port), firstHost(se.Spec.GetHosts())),
					Locations: []analysis.Location{analysis.LocationOf(o, portField(i))},
					Evidence: []string{
						fmt.Sprintf("spec.ports[%d]: number 443, %s", i, protocolText(port)),
						"no DestinationRule for these hosts sets tls.mode SIMPLE or MUTUAL on port 443",
					},
					Remedy: "Declare the port as protocol: TLS (or HTTPS) with name tls-/https-; or, to have the sidecar originate TLS, let the app send plaintext to port 80 with targetPort: 443 and add a DestinationRule with tls.mode SIMPLE.",
					Key:    fmt.Sprintf("port/%d", port.GetNumber()),
				})
			}
		}
		return nil
	},
}

func firstHost(h []string) string {
	if len(h) == 0 {
		return ""
	}
	return strings.TrimPrefix(h[0], "*.")
}

// ---- MD239: double TLS ----

// routedPlain indexes the VirtualService destinations that carry plaintext
// (http and tcp routes) by resolved host.
func routedPlain(r *Registry) map[string][]RouteDest {
	out := map[string][]RouteDest{}
	for _, vs := range r.VirtualServices() {
		for _, d := range Destinations(vs) {
			if d.Kind == "tls" {
				continue
			}
			h := FQDN(d.Dest.GetHost(), vs.Key.Namespace)
			out[h] = append(out[h], d)
		}
	}
	return out
}

// SEDoubleTLS: a TLS port whose DestinationRule originates TLS again.
var SEDoubleTLS = &analysis.Analyzer{
	Code:     "MD239",
	Name:     "serviceentry-double-tls",
	Severity: analysis.Error,
	Summary:  "A ServiceEntry port carries TLS from the app (protocol HTTPS or TLS) and a DestinationRule originates TLS on it as well: the server receives TLS inside TLS and the handshake fails.",
	Doc:      doc("MD239"),
	Inputs:   []analysis.Input{seInput, analysis.Kinds(snapshot.KindDestinationRule)},
	Reads:    reads(nil),
	Requires: []*analysis.Fact{RegistryFact},
	Run: func(p *analysis.Pass) error {
		r := p.ResultOf(RegistryFact).(*Registry)
		plain := routedPlain(r)
		for _, o := range p.Snapshot.List(snapshot.KindServiceEntry) {
			se, ok := o.Typed.(*networkingv1.ServiceEntry)
			if !ok {
				continue
			}
			for i, port := range se.Spec.GetPorts() {
				if !seProtocol(port).IsTLS() {
					continue
				}
				for _, h := range se.Spec.GetHosts() {
					dr, ct, ok := r.drTLSOrigination(h, port.GetNumber())
					if !ok {
						continue
					}
					// A VirtualService that routes http or tcp traffic to
					// this port sends plaintext: origination is then right
					// (the egress-gateway TLS origination pattern).
					if via := plainRouteTo(plain[h], port.GetNumber()); via != nil {
						continue
					}
					f := analysis.Finding{
						Subject: o.Key,
						Message: fmt.Sprintf("%s declares port %d of %s as %s, so the app sends TLS, and %s also originates TLS there (tls.mode %s): the sidecar wraps the app's TLS in a second TLS session, the server cannot read it, and requests fail ('wrong version number' / 503 UF with a TLS error).",
							o.Ref(), port.GetNumber(), h, port.GetProtocol(), dr.Object.Ref(), ct.tls.GetMode()),
						Locations: []analysis.Location{
							analysis.LocationOf(o, portField(i)),
							analysis.LocationOf(dr.Object, ct.path.Child("mode")),
						},
						Evidence: []string{
							fmt.Sprintf("%s spec.ports[%d]: number %d, protocol %s", o.Ref(), i, port.GetNumber(), port.GetProtocol()),
							fmt.Sprintf("%s %s: mode %s", dr.Object.Ref(), ct.path, ct.tls.GetMode()),
							"no VirtualService routes http or tcp (plaintext) traffic to this host and port",
						},
						Remedy:  fmt.Sprintf("Either let the app speak TLS and remove the DestinationRule's tls block for port %d, or let the app send plaintext: declare an HTTP port (e.g. 80 with targetPort: %d) and keep tls.mode %s for it.", port.GetNumber(), port.GetNumber(), ct.tls.GetMode()),
						Related: []analysis.Related{analysis.RelatedOf(dr.Object, "originates TLS for the host")},
						Key:     fmt.Sprintf("%s:%d", h, port.GetNumber()),
					}
					p.Report(f)
					break
				}
			}
		}
		return nil
	},
}

func plainRouteTo(ds []RouteDest, port uint32) *RouteDest {
	for i, d := range ds {
		if n := d.Dest.GetPort().GetNumber(); n == 0 || n == port {
			return &ds[i]
		}
	}
	return nil
}

// ---- MD240: STATIC without endpoints ----

// SEStaticNoEndpoints: resolution STATIC with neither endpoints nor a
// workloadSelector.
var SEStaticNoEndpoints = &analysis.Analyzer{
	Code:     "MD240",
	Name:     "serviceentry-static-without-endpoints",
	Severity: analysis.Warning,
	Summary:  "A ServiceEntry with resolution STATIC has neither endpoints nor a workloadSelector: its cluster has no endpoints, so traffic to it fails (503 UH, or a reset TCP connection).",
	Doc:      doc("MD240"),
	Inputs:   []analysis.Input{seInput},
	Reads:    reads(nil),
	Requires: []*analysis.Fact{RegistryFact},
	Run: func(p *analysis.Pass) error {
		r := p.ResultOf(RegistryFact).(*Registry)
		vsHosts := virtualServiceHosts(r)
		for _, o := range p.Snapshot.List(snapshot.KindServiceEntry) {
			se, ok := o.Typed.(*networkingv1.ServiceEntry)
			if !ok || se.Spec.GetResolution() != netv1alpha3.ServiceEntry_STATIC || len(se.Spec.GetEndpoints()) > 0 || se.Spec.GetWorkloadSelector() != nil {
				continue
			}
			skip := false
			for _, h := range se.Spec.GetHosts() {
				if _, _, ok := ServiceOfHost(h); ok || len(r.services[h]) > 0 {
					skip = true // a Kubernetes Service supplies the endpoints
				}
				if vsHosts.covers(h) {
					skip = true // a VirtualService may route the host elsewhere
				}
			}
			if skip {
				continue
			}
			p.Report(analysis.Finding{
				Subject: o.Key,
				Message: fmt.Sprintf("%s resolves %s STATIC but lists no endpoints and no workloadSelector: the sidecars' cluster for it is empty, so HTTP requests get 503 UH (no healthy upstream) and TCP connections are reset.",
					o.Ref(), strings.Join(se.Spec.GetHosts(), ", ")),
				Locations: []analysis.Location{analysis.LocationOf(o, snapshot.P("spec", "resolution"))},
				Evidence:  []string{"spec.resolution: STATIC", "spec.endpoints: none", "spec.workloadSelector: none", "no VirtualService in the input routes these hosts elsewhere"},
				Remedy:    "List the IPs in spec.endpoints, select WorkloadEntries/pods with spec.workloadSelector, or use resolution DNS (the hosts are resolved) or NONE (traffic goes to the address the client dialled).",
				Key:       "resolution",
			})
		}
		return nil
	},
}

// claimedHosts is the hosts VirtualServices claim.
type claimedHosts struct {
	exact map[string]bool
	wild  []string
}

func virtualServiceHosts(r *Registry) claimedHosts {
	idx := claimedHosts{exact: map[string]bool{}}
	for _, o := range r.VirtualServices() {
		vs := virtualService(o)
		for _, h := range vs.GetHosts() {
			h = FQDN(h, o.Key.Namespace)
			if wildcarded(h) {
				idx.wild = append(idx.wild, h)
			} else {
				idx.exact[h] = true
			}
		}
	}
	return idx
}

func (x claimedHosts) covers(h string) bool {
	if x.exact[h] {
		return true
	}
	for _, w := range x.wild {
		if hostsMatch(h, w) {
			return true
		}
	}
	return false
}
