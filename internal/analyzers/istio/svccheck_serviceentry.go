package istio

import (
	"fmt"
	"sort"
	"strings"

	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
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
			if none && (se.Spec.GetWorkloadSelector() != nil || len(se.Spec.GetEndpoints()) > 0) {
				// Passthrough with endpoints: sidecars build one listener
				// per endpoint address, not 0.0.0.0:<port> (listener.go).
				continue
			}
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

// sorted returns the namespaces named, sorted.
func (a exportSet) sorted() []string {
	out := make([]string, 0, len(a.ns))
	for n := range a.ns {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// redisFilterEnv turns on Envoy's Redis proxy for REDIS ports; Mongo and
// MySQL filters only decode (and stop decoding on bytes they cannot
// parse), so those ports behave as TCP.
const redisFilterEnv = "PILOT_ENABLE_REDIS_FILTER"

// seClass is the kind of outbound listener (and cluster) a sidecar builds
// for a ServiceEntry port. Ports whose classes are equal are handled alike
// whichever definition a sidecar keeps: TLS and HTTPS are both routed by
// SNI; MONGO, MYSQL (and REDIS while the Redis proxy is off) are TCP.
func seClass(p *netv1alpha3.ServicePort, redisProxy bool) string {
	if p.GetProtocol() == "" {
		return "sniffing"
	}
	switch seProtocol(p) {
	case kb.ProtoHTTP, kb.ProtoHTTPProxy:
		return "HTTP/1.1"
	case kb.ProtoHTTP2, kb.ProtoGRPC, kb.ProtoGRPCWeb:
		return "HTTP/2"
	case kb.ProtoHTTPS, kb.ProtoTLS:
		return "SNI-routed TLS"
	case kb.ProtoTCP, kb.ProtoMongo, kb.ProtoMySQL:
		return "TCP"
	case kb.ProtoRedis:
		if redisProxy {
			return "Redis proxy"
		}
		return "TCP"
	case kb.ProtoUDP:
		return "UDP"
	}
	return strings.ToUpper(p.GetProtocol())
}

// sePort is one port of one host of a ServiceEntry.
type sePort struct {
	obj   *snapshot.Object
	index int
	port  *netv1alpha3.ServicePort
	class string
	// conflict is the first conflicting view the port takes part in.
	conflict *seConflict
}

// seConflict is a set of definitions of one host and port that some
// namespace chooses among, with differing classes.
type seConflict struct {
	viewer string // "" for every namespace without its own entry
	own    bool   // the viewer's own entries disagree
	reps   map[string][]*sePort
}

const repsPerClass = 3

// sePortView indexes the definitions of one host:port by who sees them,
// as seHost does for entries.
type sePortView struct {
	ports    []*sePort
	all      []*sePort
	own      map[string][]*sePort
	explicit map[string][]*sePort
	viewers  []string
}

func (v *sePortView) add(sp *sePort, vis exportSet) {
	ns := sp.obj.Key.Namespace
	v.ports = append(v.ports, sp)
	seen := func(n string) bool { return len(v.own[n]) > 0 || len(v.explicit[n]) > 0 }
	if vis.all || vis.ns[ns] {
		if !seen(ns) {
			v.viewers = append(v.viewers, ns)
		}
		v.own[ns] = append(v.own[ns], sp)
	}
	if vis.all {
		v.all = append(v.all, sp)
		return
	}
	for _, n := range vis.sorted() {
		if n == ns {
			continue
		}
		if !seen(n) {
			v.viewers = append(v.viewers, n)
		}
		v.explicit[n] = append(v.explicit[n], sp)
	}
}

// classReps groups ports by class, keeping a few of each.
func classReps(into map[string][]*sePort, ports []*sePort) map[string][]*sePort {
	if into == nil {
		into = map[string][]*sePort{}
	}
	for _, sp := range ports {
		if len(into[sp.class]) < repsPerClass {
			into[sp.class] = append(into[sp.class], sp)
		} else if _, ok := into[sp.class]; !ok {
			into[sp.class] = nil
		}
	}
	return into
}

// conflicts finds, in linear time, every namespace view of the host:port
// whose candidate definitions differ in class, and marks the ports
// involved. A namespace with entries of its own sees only those; others
// see the entries exported to them by name and those exported everywhere.
func (v *sePortView) conflicts() {
	allReps := classReps(nil, v.all)
	var allConflict *seConflict
	if len(allReps) > 1 {
		allConflict = &seConflict{reps: allReps}
	}
	mark := func(ports []*sePort, c *seConflict) {
		for _, sp := range ports {
			if sp.conflict == nil {
				sp.conflict = c
			}
		}
	}
	for _, n := range v.viewers {
		if own := v.own[n]; len(own) > 0 {
			if reps := classReps(nil, own); len(reps) > 1 {
				mark(own, &seConflict{viewer: n, own: true, reps: reps})
			}
			continue
		}
		ex := v.explicit[n]
		reps := classReps(nil, ex)
		for c, ps := range allReps {
			for _, sp := range ps {
				if len(reps[c]) < repsPerClass {
					reps[c] = append(reps[c], sp)
				}
			}
			if _, ok := reps[c]; !ok {
				reps[c] = nil
			}
		}
		if len(reps) < 2 {
			continue
		}
		c := &seConflict{viewer: n, reps: reps}
		mark(ex, c)
		if allConflict == nil {
			allConflict = c
		}
	}
	if allConflict != nil {
		mark(v.all, allConflict)
	}
}

// SEConflictingProtocol is IST0177: ServiceEntries that one namespace
// chooses among give one host and port protocols handled differently.
var SEConflictingProtocol = &analysis.Analyzer{
	Code:     "MD237",
	Name:     "serviceentry-conflicting-protocol",
	Severity: analysis.Warning,
	Summary:  "ServiceEntries that a namespace's sidecars choose among (none in that namespace itself) define one host and port with protocols that need different listeners: clients get only one of them, so traffic of the other protocol is mishandled.",
	Doc:      doc("MD237"),
	Inputs:   []analysis.Input{seInput},
	Reads:    reads(map[schema.GroupKind][]string{snapshot.KindDeployment: {"spec.template.spec.containers.name", "spec.template.spec.containers.image", "spec.template.spec.containers.env"}}),
	Requires: []*analysis.Fact{RegistryFact, facts.ComponentVersions},
	Run: func(p *analysis.Pass) error {
		redis := false
		for _, d := range istiods(p.Snapshot, p.ResultOf(facts.ComponentVersions).(*facts.Versions)) {
			if on, set := d.envBool(redisFilterEnv); set && on {
				redis = true
			}
		}
		byKey := map[string]*sePortView{}
		var keys []string
		for _, o := range p.Snapshot.List(snapshot.KindServiceEntry) {
			se, ok := o.Typed.(*networkingv1.ServiceEntry)
			if !ok {
				continue
			}
			vis := exportsOf(se.Spec.GetExportTo(), o.Key.Namespace)
			for _, h := range se.Spec.GetHosts() {
				for i, port := range se.Spec.GetPorts() {
					class := seClass(port, redis)
					if class == "UDP" {
						continue // not captured by sidecars
					}
					k := fmt.Sprintf("%s:%d", h, port.GetNumber())
					v := byKey[k]
					if v == nil {
						v = &sePortView{own: map[string][]*sePort{}, explicit: map[string][]*sePort{}}
						byKey[k] = v
						keys = append(keys, k)
					}
					v.add(&sePort{obj: o, index: i, port: port, class: class}, vis)
				}
			}
		}
		for _, k := range keys {
			v := byKey[k]
			if len(v.ports) < 2 {
				continue
			}
			v.conflicts()
			for _, a := range v.ports {
				if a.conflict != nil {
					reportSEConflict(p, k, a)
				}
			}
		}
		return nil
	},
}

func reportSEConflict(p *analysis.Pass, k string, a *sePort) {
	c := a.conflict
	var classes []string
	for cl := range c.reps {
		classes = append(classes, cl)
	}
	sort.Strings(classes)
	f := analysis.Finding{
		Subject:   a.obj.Key,
		Locations: []analysis.Location{analysis.LocationOf(a.obj, portField(a.index))},
		Evidence:  []string{fmt.Sprintf("%s spec.ports[%d]: %s → %s listener", a.obj.Ref(), a.index, protocolText(a.port), a.class)},
		Key:       k,
	}
	var others []string
	related := map[*snapshot.Object]bool{a.obj: true}
	for _, cl := range classes {
		if cl == a.class {
			continue
		}
		for _, b := range c.reps[cl] {
			others = append(others, fmt.Sprintf("%s (%s)", b.obj.Ref(), protocolText(b.port)))
			f.Evidence = append(f.Evidence, fmt.Sprintf("%s spec.ports[%d]: %s → %s listener", b.obj.Ref(), b.index, protocolText(b.port), b.class))
			if !related[b.obj] {
				related[b.obj] = true
				f.Related = append(f.Related, analysis.RelatedOf(b.obj, "defines the same host and port"))
			}
		}
	}
	var who string
	switch {
	case c.viewer == "":
		who = "every namespace that has no entry of its own for the host sees them all"
	case c.own:
		who = fmt.Sprintf("namespace %s defines both itself (Istio merges a namespace's entries and keeps one definition of the port)", c.viewer)
	default:
		who = fmt.Sprintf("namespace %s sees them all and has no entry of its own for the host, which would take precedence", c.viewer)
	}
	f.Evidence = append(f.Evidence, who)
	f.Message = fmt.Sprintf("%s defines %s with %s (%s listener), but %s defines it with another protocol, and %s: its sidecars keep one definition (the oldest entry's), so traffic of the other protocol does not match that listener's filter chains and falls through to the passthrough chain (PassthroughCluster under ALLOW_ANY, bypassing these entries; BlackHoleCluster under REGISTRY_ONLY) or is proxied with the wrong protocol.",
		a.obj.Ref(), k, protocolText(a.port), a.class, strings.Join(others, ", "), who)
	f.Remedy = "Define each host and port once with the protocol it really carries (merge the ServiceEntries), or restrict their exportTo so no namespace chooses between them (an entry in a client's own namespace takes precedence)."
	p.Report(f)
}

// ---- TLS origination as clients see it (MD238, MD239) ----

// seTLS evaluates, per client namespace, which ServiceEntry a sidecar uses
// for a host and which DestinationRule applies to it.
type seTLS struct {
	drs     *drIndex
	ses     *seIndex
	clients map[string][]string // host → namespaces whose DestinationRule choice may differ (hosts exported everywhere)
}

// seTLSFact builds the per-client views once for MD238 and MD239.
var seTLSFact = &analysis.Fact{
	Name:     "serviceentry-client-views",
	Doc:      "ServiceEntries by host and DestinationRules by namespace, to tell which entry and rule each client namespace uses.",
	Reads:    reads(),
	Requires: []*analysis.Fact{RegistryFact},
	Run: func(p *analysis.Pass) (any, error) {
		r := p.ResultOf(RegistryFact).(*Registry)
		t := &seTLS{drs: newDRIndex(r), ses: newSEIndex(r), clients: map[string][]string{}}
		for h, sh := range t.ses.hosts {
			if len(sh.all) == 0 {
				continue
			}
			// Namespaces with a rule of their own for h, one per distinct
			// TLS setting: an entry exported everywhere is judged once per
			// setting, not once per namespace. Namespaces with entries of
			// their own see only those; namespaces named in exportTo are
			// added per entry (clientsOf).
			sigs := map[string]bool{}
			for _, c := range t.drs.clientNamespaces(h) {
				rules := t.drs.local[c].match(h)
				if len(rules) == 0 || len(sh.own[c]) > 0 {
					continue
				}
				if sig := tlsSignature(rules); !sigs[sig] {
					sigs[sig] = true
					t.clients[h] = append(t.clients[h], c)
				}
			}
		}
		return t, nil // read-only from here: analyzers may run concurrently
	},
}

// clientsOf lists the client namespaces to evaluate for entry e and host
// h: its own namespace, those it is exported to by name, "" (every
// namespace without rules or entries of its own) when exported everywhere,
// then the namespaces whose DestinationRule choice for h differs (one per
// distinct TLS setting), and those the rules of e's or the root namespace
// name in exportTo. Only namespaces that choose among e's definitions are
// returned. The cost is bounded by e's and those rules' exportTo lists and
// the number of distinct settings, not by the number of namespaces.
func (t *seTLS) clientsOf(e *Entry, h string) []string {
	sh := t.ses.hosts[h]
	vis := t.ses.vis[e]
	ns := e.Object.Key.Namespace
	var out []string
	seen := map[string]bool{}
	add := func(c string) {
		if !seen[c] && sh.seesEntry(c, e, vis) {
			seen[c] = true
			out = append(out, c)
		}
	}
	add(ns)
	for _, n := range vis.sorted() {
		add(n)
	}
	if vis.all {
		add("")
		for _, c := range t.clients[h] {
			add(c)
		}
	}
	// Namespaces the rules of the entry's namespace or of the root
	// namespace are exported to by name.
	for _, src := range []string{ns, t.drs.root} {
		for _, d := range t.drs.exported[src].match(h) {
			for _, n := range d.Spec.GetExportTo() {
				if n != "." && n != "*" && n != "~" && n != src {
					add(n)
				}
			}
		}
	}
	return out
}

// tlsSignature summarises the TLS settings of a namespace's rules for a
// host: namespaces with equal signatures originate TLS alike.
func tlsSignature(rules []*DestRule) string {
	var b strings.Builder
	for _, d := range rules {
		for _, ct := range clientTLSSettings(d.Spec) {
			var over []int
			for p := range ct.overridden {
				over = append(over, int(p))
			}
			sort.Ints(over)
			fmt.Fprintf(&b, "%s/%d/%s/%v;", ct.subset, ct.port, ct.tls.GetMode(), over)
		}
	}
	return b.String()
}

// originating finds among rules (one namespace's, for one host) a TLS
// origination (SIMPLE or MUTUAL) that applies to port, rule-wide or for
// the port; subsets too when withSubsets.
func originating(rules []*DestRule, port uint32, withSubsets bool) (*DestRule, clientTLS, bool) {
	for _, d := range rules {
		for _, ct := range clientTLSSettings(d.Spec) {
			if ct.subset != "" && !withSubsets {
				continue
			}
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

func clientText(c string) string {
	if c == "" {
		return "clients in namespaces without a DestinationRule or ServiceEntry of their own for the host"
	}
	return "clients in namespace " + c
}

// anySEPort tells whether some ServiceEntry has a port that ok accepts.
func anySEPort(s *snapshot.Snapshot, ok func(*netv1alpha3.ServicePort) bool) bool {
	for _, o := range s.List(snapshot.KindServiceEntry) {
		if se, isSE := o.Typed.(*networkingv1.ServiceEntry); isSE {
			for _, sp := range se.Spec.GetPorts() {
				if ok(sp) {
					return true
				}
			}
		}
	}
	return false
}

// anyOrigination tells whether some DestinationRule originates TLS
// (SIMPLE or MUTUAL) outside subsets.
func anyOrigination(r *Registry) bool {
	for _, d := range r.ruleByObject {
		for _, ct := range clientTLSSettings(d.Spec) {
			if m := ct.tls.GetMode(); ct.subset == "" && (m == netv1alpha3.ClientTLSSettings_SIMPLE || m == netv1alpha3.ClientTLSSettings_MUTUAL) {
				return true
			}
		}
	}
	return false
}

// entries returns the ServiceEntries in input order.
func (t *seTLS) entries() []*Entry { return t.ses.order }

// ---- MD238: port 443 declared HTTP ----

// SEHTTPOnTLSPort: a ServiceEntry declares port 443 as HTTP without TLS
// origination.
var SEHTTPOnTLSPort = &analysis.Analyzer{
	Code:     "MD238",
	Name:     "serviceentry-https-port-declared-http",
	Severity: analysis.Warning,
	Summary:  "A ServiceEntry declares port 443 as HTTP and the DestinationRule its clients use originates no TLS there: HTTPS connections miss the entry's HTTP listener and fall through to the passthrough chain — bypassing the entry under ALLOW_ANY, failing under REGISTRY_ONLY or with an auto-allocated address.",
	Doc:      doc("MD238"),
	Inputs:   []analysis.Input{seInput},
	Reads: reads(map[schema.GroupKind][]string{
		snapshot.KindServiceEntry: {"status.addresses"},
		snapshot.KindDeployment:   {"spec.template.spec.containers.name", "spec.template.spec.containers.image", "spec.template.spec.containers.env"},
	}),
	Requires: []*analysis.Fact{RegistryFact, facts.ComponentVersions, seTLSFact},
	Run: func(p *analysis.Pass) error {
		r := p.ResultOf(RegistryFact).(*Registry)
		alloc := meshAllocation(p.Snapshot, r.Mesh, p.ResultOf(facts.ComponentVersions).(*facts.Versions))
		registryOnly := r.Mesh.Config.GetOutboundTrafficPolicy().GetMode() == meshv1alpha1.MeshConfig_OutboundTrafficPolicy_REGISTRY_ONLY
		if !anySEPort(p.Snapshot, func(sp *netv1alpha3.ServicePort) bool { return sp.GetNumber() == 443 && seProtocol(sp).IsHTTP() }) {
			return nil // spare building the client views
		}
		t := p.ResultOf(seTLSFact).(*seTLS)
		for _, e := range t.entries() {
			o := e.Object
			se := o.Typed.(*networkingv1.ServiceEntry)
			for i, port := range se.Spec.GetPorts() {
				if port.GetNumber() != 443 || !seProtocol(port).IsHTTP() {
					continue
				}
				if tp := port.GetTargetPort(); tp != 0 && tp != 443 {
					continue // plaintext on 443 forwarded to another port: deliberate
				}
				if !p.Snapshot.Has(snapshot.KindDestinationRule) {
					p.NotChecked("port 443 of %s: the input has no DestinationRules, which could originate TLS for it", o.Ref())
					continue
				}
				client, host, found := "", "", false
				for _, h := range se.Spec.GetHosts() {
					for _, c := range t.clientsOf(e, h) {
						if _, _, ok := originating(t.drs.forClient(h, c, o.Key.Namespace), 443, true); !ok {
							client, host, found = c, h, true
							break
						}
					}
					if found {
						break
					}
				}
				if !found {
					continue // every client's sidecar originates TLS: the app sends plaintext
				}
				reportHTTPOn443(p, se, o, i, port, client, host, registryOnly, alloc)
			}
		}
		return nil
	},
}

func reportHTTPOn443(p *analysis.Pass, se *networkingv1.ServiceEntry, o *snapshot.Object, i int, port *netv1alpha3.ServicePort, client, host string, registryOnly bool, alloc allocation) {
	mode := "ALLOW_ANY"
	if registryOnly {
		mode = "REGISTRY_ONLY"
	}
	// With DNS capture and an allocated address, the client dials the VIP.
	vip := 0 // 1: the client dials an allocated VIP; -1: unknown
	wild := wildcarded(host)
	if alloc.dnsCapture && len(se.Spec.GetAddresses()) == 0 && se.Spec.GetResolution() != netv1alpha3.ServiceEntry_NONE && !wild {
		optOut := o.Labels[autoallocateOptOut] == "false"
		switch {
		case len(se.Status.GetAddresses()) > 0, alloc.proxySide, alloc.istiodSide == 1 && !optOut:
			vip = 1
		case alloc.istiodSide == -1 && !optOut:
			vip = -1
		}
	}
	var consequence string
	sev := analysis.Info
	switch {
	case registryOnly:
		sev = analysis.Warning
		consequence = "with outboundTrafficPolicy REGISTRY_ONLY that chain goes to BlackHoleCluster: the connection is closed during the handshake (the client sees a reset; the access log shows BlackHoleCluster)"
	case vip == 1:
		sev = analysis.Warning
		consequence = fmt.Sprintf("with DNS capture the client resolved %s to the address Istio allocated for the entry, so PassthroughCluster forwards the connection to that VIP, which is not routable: it times out or is reset", firstHost([]string{host}))
	default:
		consequence = "with outboundTrafficPolicy ALLOW_ANY that chain forwards it through PassthroughCluster to the address dialled: the request works, but bypasses this entry — its DestinationRule (connection pool, outlier detection), routing and per-service telemetry do not apply"
		if vip == -1 {
			consequence += fmt.Sprintf("; if istiod allocates addresses (%s, on by default from %s; its version is not in the input), the client dials that unroutable VIP instead and the connection fails", ipAutoallocateEnv, ipAutoallocateDefault)
		}
	}
	f := analysis.Finding{
		Subject:  o.Key,
		Severity: sev,
		Message: fmt.Sprintf("%s declares port 443 of %s with %s, and no DestinationRule that %s use originates TLS on it. An HTTPS client (https://%s) sends a TLS handshake, which the sidecar's HTTP filter chain on port 443 (plaintext HTTP/1.1 and h2c only) does not match, so the connection falls to the listener's passthrough chain; %s.",
			o.Ref(), strings.Join(se.Spec.GetHosts(), ", "), protocolText(port), clientText(client), firstHost([]string{host}), consequence),
		Locations: []analysis.Location{analysis.LocationOf(o, portField(i))},
		Evidence: []string{
			fmt.Sprintf("spec.ports[%d]: number 443, %s", i, protocolText(port)),
			fmt.Sprintf("no DestinationRule used by %s for %s sets tls.mode SIMPLE or MUTUAL on port 443", clientText(client), host),
			fmt.Sprintf("meshConfig.outboundTrafficPolicy.mode: %s", mode),
		},
		Remedy: "Declare the port as protocol: TLS (name tls-…) so sidecars route HTTPS by SNI through this entry; or, to have the sidecar originate TLS, let the app send plaintext HTTP (e.g. to port 80 with targetPort: 443) and add a DestinationRule with tls.mode SIMPLE for port 443.",
		Key:    fmt.Sprintf("port/%d", port.GetNumber()),
	}
	if vip != 0 {
		f.Evidence = append(f.Evidence, alloc.why...)
	}
	p.Report(f)
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
	Summary:  "A ServiceEntry port carries TLS from the app (protocol HTTPS or TLS) and the DestinationRule its clients use originates TLS on it as well: the server receives TLS inside TLS and the handshake fails.",
	Doc:      doc("MD239"),
	Inputs:   []analysis.Input{seInput, analysis.Kinds(snapshot.KindDestinationRule)},
	Reads:    reads(nil),
	Requires: []*analysis.Fact{RegistryFact, seTLSFact},
	Run: func(p *analysis.Pass) error {
		r := p.ResultOf(RegistryFact).(*Registry)
		plain := routedPlain(r)
		if !anySEPort(p.Snapshot, func(sp *netv1alpha3.ServicePort) bool { return seProtocol(sp).IsTLS() }) || !anyOrigination(r) {
			return nil // spare building the client views
		}
		t := p.ResultOf(seTLSFact).(*seTLS)
		for _, e := range t.entries() {
			o := e.Object
			se := o.Typed.(*networkingv1.ServiceEntry)
			for i, port := range se.Spec.GetPorts() {
				if !seProtocol(port).IsTLS() {
					continue
				}
				for _, h := range se.Spec.GetHosts() {
					// A VirtualService that routes http or tcp traffic to
					// this port sends plaintext: origination is then right
					// (the egress-gateway TLS origination pattern).
					if plainRouteTo(plain[h], port.GetNumber()) != nil {
						continue
					}
					var dr *DestRule
					var ct clientTLS
					client := ""
					for _, c := range t.clientsOf(e, h) {
						if d, s, ok := originating(t.drs.forClient(h, c, o.Key.Namespace), port.GetNumber(), false); ok {
							dr, ct, client = d, s, c
							break
						}
					}
					if dr == nil {
						continue
					}
					p.Report(analysis.Finding{
						Subject: o.Key,
						Message: fmt.Sprintf("%s declares port %d of %s as %s, so the app sends TLS, and %s, the DestinationRule %s use for the host, also originates TLS there (tls.mode %s): the sidecar wraps the app's TLS in a second TLS session, the server cannot read it, and requests fail ('wrong version number' / 503 UF with a TLS error).",
							o.Ref(), port.GetNumber(), h, port.GetProtocol(), dr.Object.Ref(), clientText(client), ct.tls.GetMode()),
						Locations: []analysis.Location{
							analysis.LocationOf(o, portField(i)),
							analysis.LocationOf(dr.Object, ct.path.Child("mode")),
						},
						Evidence: []string{
							fmt.Sprintf("%s spec.ports[%d]: number %d, protocol %s", o.Ref(), i, port.GetNumber(), port.GetProtocol()),
							fmt.Sprintf("%s %s: mode %s", dr.Object.Ref(), ct.path, ct.tls.GetMode()),
							fmt.Sprintf("%s use %s (own namespace first, then the entry's, then the root namespace, as exported)", clientText(client), dr.Object.Ref()),
							"no VirtualService routes http or tcp (plaintext) traffic to this host and port",
						},
						Remedy:  fmt.Sprintf("Either let the app speak TLS and remove the DestinationRule's tls block for port %d, or let the app send plaintext: declare an HTTP port (e.g. 80 with targetPort: %d) and keep tls.mode %s for it.", port.GetNumber(), port.GetNumber(), ct.tls.GetMode()),
						Related: []analysis.Related{analysis.RelatedOf(dr.Object, "originates TLS for the host")},
						Key:     fmt.Sprintf("%s:%d", h, port.GetNumber()),
					})
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
