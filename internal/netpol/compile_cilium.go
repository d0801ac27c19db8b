package netpol

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// The subset of cilium.io/v2 Rule read here. It is decoded from the
// unstructured object through JSON, so field names follow the CRD; fields
// it does not model are reported as caveats when they change the answer.
type cRule struct {
	EndpointSelector  *metav1.LabelSelector `json:"endpointSelector"`
	NodeSelector      *metav1.LabelSelector `json:"nodeSelector"`
	Ingress           []cDirRule            `json:"ingress"`
	IngressDeny       []cDirRule            `json:"ingressDeny"`
	Egress            []cDirRule            `json:"egress"`
	EgressDeny        []cDirRule            `json:"egressDeny"`
	EnableDefaultDeny *struct {
		Ingress *bool `json:"ingress"`
		Egress  *bool `json:"egress"`
	} `json:"enableDefaultDeny"`
}

// cDirRule holds the fields of both IngressRule and EgressRule; the
// direction decides which are read.
type cDirRule struct {
	FromEndpoints []metav1.LabelSelector `json:"fromEndpoints"`
	FromEntities  []string               `json:"fromEntities"`
	FromCIDR      []string               `json:"fromCIDR"`
	FromCIDRSet   []cCIDRRule            `json:"fromCIDRSet"`
	FromRequires  []json.RawMessage      `json:"fromRequires"`
	FromNodes     []json.RawMessage      `json:"fromNodes"`
	FromGroups    []json.RawMessage      `json:"fromGroups"`

	ToEndpoints []metav1.LabelSelector `json:"toEndpoints"`
	ToEntities  []string               `json:"toEntities"`
	ToCIDR      []string               `json:"toCIDR"`
	ToCIDRSet   []cCIDRRule            `json:"toCIDRSet"`
	ToRequires  []json.RawMessage      `json:"toRequires"`
	ToNodes     []json.RawMessage      `json:"toNodes"`
	ToGroups    []json.RawMessage      `json:"toGroups"`
	ToServices  []json.RawMessage      `json:"toServices"`
	ToFQDNs     []json.RawMessage      `json:"toFQDNs"`

	ToPorts []cPortRule       `json:"toPorts"`
	ICMPs   []json.RawMessage `json:"icmps"`
}

type cCIDRRule struct {
	CIDR              string                `json:"cidr"`
	CIDRGroupRef      string                `json:"cidrGroupRef"`
	CIDRGroupSelector *metav1.LabelSelector `json:"cidrGroupSelector"`
	Except            []string              `json:"except"`
}

type cPortRule struct {
	Ports []cPortProtocol `json:"ports"`
	Rules json.RawMessage `json:"rules"`
}

type cPortProtocol struct {
	Port     flexString `json:"port"`
	EndPort  int32      `json:"endPort"`
	Protocol string     `json:"protocol"`
}

// flexString accepts a JSON string or number (a port written unquoted).
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("port is neither a string nor a number: %s", b)
	}
	*f = flexString(n.String())
	return nil
}

// entities are the names Cilium accepts in fromEntities/toEntities.
var entities = map[string]bool{
	"all": true, "world": true, "world-ipv4": true, "world-ipv6": true, "cluster": true, "host": true,
	"remote-node": true, "kube-apiserver": true, "ingress": true, "health": true, "init": true,
	"unmanaged": true, "none": true,
}

// compileCilium compiles a CiliumNetworkPolicy (namespaced) or
// CiliumClusterwideNetworkPolicy: its spec and every entry of specs.
func (c *compiler) compileCilium(o *snapshot.Object, flavor policyFlavor) *policy {
	u, ok := o.Typed.(*unstructured.Unstructured)
	if !ok {
		c.problem(o, nil, fmt.Errorf("expected an unstructured object, got %T", o.Typed))
		return nil
	}
	pol := &policy{obj: o, flavor: flavor}
	if raw, ok := u.Object["spec"]; ok && raw != nil {
		c.ciliumSpec(pol, snapshot.P("spec"), raw)
	}
	if raw, ok := u.Object["specs"].([]any); ok {
		for i, r := range raw {
			c.ciliumSpec(pol, snapshot.P("specs", i), r)
		}
	}
	return pol
}

func (c *compiler) ciliumSpec(pol *policy, at snapshot.Path, raw any) {
	o := pol.obj
	b, err := json.Marshal(raw)
	if err != nil {
		c.problem(o, at, fmt.Errorf("re-encoding the rule: %w", err))
		return
	}
	var r cRule
	if err := json.Unmarshal(b, &r); err != nil {
		c.problem(o, at, fmt.Errorf("reading the rule: %w", err))
		return
	}
	sp := &spec{pol: pol, path: at, selPath: at.Child("endpointSelector")}
	switch {
	case r.EndpointSelector != nil:
		sel, err := newCSelector(r.EndpointSelector)
		if err != nil {
			c.problem(o, sp.selPath, err)
			break
		}
		if pol.flavor == flavorCNP {
			sel = c.ownNamespace(o, sp.selPath, sel)
		}
		sp.epSel, sp.selectsPods = sel, true
	case r.NodeSelector != nil:
		// A host policy: it selects nodes, which are never the pods asked
		// about here.
		sp.selPath = at.Child("nodeSelector")
	default:
		c.problem(o, at, fmt.Errorf("neither endpointSelector nor nodeSelector"))
	}
	// matchesInit: Cilium adds no namespace requirement to peers of a rule
	// that selects initializing endpoints (they have no labels yet).
	_, initSel := lookupReq(sp.epSel, sourceReserved, string(ClassInit))
	for d, lists := range [2][2][]cDirRule{{r.Ingress, r.IngressDeny}, {r.Egress, r.EgressDeny}} {
		dir := Direction(d)
		name := [2][2]string{{"ingress", "ingressDeny"}, {"egress", "egressDeny"}}[d]
		for i := range lists[0] {
			sp.allow[dir] = append(sp.allow[dir], c.ciliumRule(pol, at.Child(name[0], i), dir, &lists[0][i], initSel))
		}
		for i := range lists[1] {
			sp.deny[dir] = append(sp.deny[dir], c.ciliumRule(pol, at.Child(name[1], i), dir, &lists[1][i], initSel))
		}
		// enableDefaultDeny defaults to true for each direction with rules.
		sp.has[dir] = len(lists[0]) > 0 || len(lists[1]) > 0
		sp.isolates[dir] = sp.has[dir]
		if r.EnableDefaultDeny != nil {
			if v := [2]*bool{r.EnableDefaultDeny.Ingress, r.EnableDefaultDeny.Egress}[d]; v != nil && !*v {
				sp.isolates[dir] = false
			}
		}
	}
	pol.specs = append(pol.specs, sp)
}

// ownNamespace drops a k8s:io.kubernetes.pod.namespace requirement from a
// CNP's endpointSelector: Cilium overwrites it with the policy's namespace
// (and logs the "illegal namespace match" when they differ), so a CNP
// only ever selects pods of its own namespace.
func (c *compiler) ownNamespace(o *snapshot.Object, at snapshot.Path, sel cSelector) cSelector {
	out := cSelector{reqs: make([]cRequirement, 0, len(sel.reqs))}
	for _, r := range sel.reqs {
		if r.source == sourceK8s && r.key == labelNamespace && r.op == metav1.LabelSelectorOpIn {
			if len(r.values) != 1 || r.values[0] != o.Key.Namespace {
				c.problem(o, at, fmt.Errorf("namespace %v in the endpointSelector: Cilium replaces it by the policy's namespace %s", r.values, o.Key.Namespace))
			}
			continue
		}
		out.reqs = append(out.reqs, r)
	}
	return out
}

func lookupReq(s cSelector, source, key string) (cRequirement, bool) {
	for _, r := range s.reqs {
		if r.source == source && r.key == key {
			return r, true
		}
	}
	return cRequirement{}, false
}

func (c *compiler) ciliumRule(pol *policy, at snapshot.Path, dir Direction, r *cDirRule, initSel bool) *rule {
	o := pol.obj
	ru := &rule{path: at}
	eps, ents, cidrs, cidrSets := r.FromEndpoints, r.FromEntities, r.FromCIDR, r.FromCIDRSet
	prefix := "from"
	if dir == Egress {
		eps, ents, cidrs, cidrSets = r.ToEndpoints, r.ToEntities, r.ToCIDR, r.ToCIDRSet
		prefix = "to"
	}
	for j := range eps {
		pp := at.Child(prefix+"Endpoints", j)
		sel, err := newCSelector(&eps[j])
		if err != nil {
			c.problem(o, pp, err)
			ru.peers = append(ru.peers, &peerRule{path: pp, kind: peerNever})
			continue
		}
		ru.peers = append(ru.peers, &peerRule{path: pp, kind: peerEndpoints, csel: c.scopeEndpoints(pol, sel, initSel)})
	}
	for j, ent := range ents {
		pp := at.Child(prefix+"Entities", j)
		if !entities[ent] {
			c.problem(o, pp, fmt.Errorf("unknown entity %q", ent))
			ru.peers = append(ru.peers, &peerRule{path: pp, kind: peerNever})
			continue
		}
		ru.peers = append(ru.peers, &peerRule{path: pp, kind: peerEntity, entity: ent})
	}
	for j, s := range cidrs {
		pp := at.Child(prefix+"CIDR", j)
		p, err := parseCIDR(s)
		if err != nil {
			c.problem(o, pp, err)
			ru.peers = append(ru.peers, &peerRule{path: pp, kind: peerNever})
			continue
		}
		ru.peers = append(ru.peers, &peerRule{path: pp, kind: peerCIDR, cidr: p})
	}
	for j, cs := range cidrSets {
		pp := at.Child(prefix+"CIDRSet", j)
		ru.peers = append(ru.peers, c.cidrSet(o, pp, cs)...)
	}
	// Peers this evaluation cannot resolve from objects: they match nothing
	// here, and the verdict says so.
	unresolved := []struct {
		n    int
		name string
	}{
		{len(r.FromRequires) + len(r.ToRequires), prefix + "Requires (deprecated; narrows other peers, ignored here)"},
		{len(r.FromNodes) + len(r.ToNodes), prefix + "Nodes"},
		{len(r.FromGroups) + len(r.ToGroups), prefix + "Groups"},
		{len(r.ToServices), "toServices"},
		{len(r.ToFQDNs), "toFQDNs"},
	}
	l3 := len(ru.peers) > 0
	for _, u := range unresolved {
		if u.n > 0 {
			l3 = true
			ru.caveats = append(ru.caveats, fmt.Sprintf("%s %s not evaluated", at, u.name))
		}
	}
	for k, pr := range r.ToPorts {
		if len(pr.Rules) > 0 && string(pr.Rules) != "null" {
			ru.caveats = append(ru.caveats, fmt.Sprintf("%s.toPorts[%d].rules: layer-7 rules further restrict what is allowed here", at, k))
		}
		if len(pr.Ports) == 0 {
			ru.ports = append(ru.ports, portRule{path: at.Child("toPorts", k)})
			continue
		}
		for l, pp := range pr.Ports {
			p := at.Child("toPorts", k, "ports", l)
			port, err := ciliumPort(p, pp)
			if err != nil {
				c.problem(o, p, err)
				port = portRule{path: p, proto: "none"}
			}
			ru.ports = append(ru.ports, port)
		}
	}
	ru.icmpOnly = len(r.ICMPs) > 0 && len(r.ToPorts) == 0
	// A rule with only a port part admits every peer; a rule with neither
	// admits none (`ingress: [{}]` is Cilium's idiom for default deny).
	ru.anyPeer = !l3 && (len(r.ToPorts) > 0 || len(r.ICMPs) > 0)
	return ru
}

// scopeEndpoints applies Cilium's namespace scoping to a fromEndpoints or
// toEndpoints selector (getEndpointSelector): selectors on reserved labels
// are left alone; a selector that names no namespace is limited to the
// policy's namespace (CNP) unless it selects on namespace labels, and to
// pods at all (namespace label present) in a clusterwide policy.
func (c *compiler) scopeEndpoints(pol *policy, sel cSelector, initSel bool) cSelector {
	if sel.hasSource(sourceReserved) || sel.hasKey(labelNamespace) {
		return sel
	}
	if pol.flavor == flavorCCNP {
		if initSel {
			return sel
		}
		return sel.with(cRequirement{source: sourceK8s, key: labelNamespace, op: metav1.LabelSelectorOpExists})
	}
	if sel.hasKeyPrefix(labelNamespaceMeta) {
		return sel
	}
	return sel.with(cRequirement{source: sourceK8s, key: labelNamespace, op: metav1.LabelSelectorOpIn, values: []string{pol.obj.Key.Namespace}})
}

func (c *compiler) cidrSet(o *snapshot.Object, at snapshot.Path, cs cCIDRRule) []*peerRule {
	var except []netip.Prefix
	for k, ex := range cs.Except {
		p, err := parseCIDR(ex)
		if err != nil {
			c.problem(o, at.Child("except", k), err)
			continue
		}
		except = append(except, p)
	}
	var prefixes []netip.Prefix
	switch {
	case cs.CIDR != "":
		p, err := parseCIDR(cs.CIDR)
		if err != nil {
			c.problem(o, at.Child("cidr"), err)
			return []*peerRule{{path: at, kind: peerNever}}
		}
		prefixes = []netip.Prefix{p}
	case cs.CIDRGroupRef != "":
		var err error
		if prefixes, err = c.cidrGroup(cs.CIDRGroupRef); err != nil {
			c.problem(o, at.Child("cidrGroupRef"), err)
			return []*peerRule{{path: at, kind: peerNever}}
		}
	default:
		c.problem(o, at, fmt.Errorf("cidrGroupSelector (or an empty CIDR set) is not evaluated"))
		return []*peerRule{{path: at, kind: peerNever}}
	}
	out := make([]*peerRule, 0, len(prefixes))
	for _, p := range prefixes {
		out = append(out, &peerRule{path: at, kind: peerCIDR, cidr: p, except: except})
	}
	return out
}

// cidrGroup resolves a CiliumCIDRGroup's spec.externalCIDRs.
func (c *compiler) cidrGroup(name string) ([]netip.Prefix, error) {
	g := c.s.Get(KindCiliumCIDRGroup, "", name)
	if g == nil {
		return nil, fmt.Errorf("CiliumCIDRGroup %q is not in the input", name)
	}
	u, ok := g.Typed.(*unstructured.Unstructured)
	if !ok {
		return nil, fmt.Errorf("CiliumCIDRGroup %q decoded as %T", name, g.Typed)
	}
	list, _, err := unstructured.NestedStringSlice(u.Object, "spec", "externalCIDRs")
	if err != nil {
		return nil, fmt.Errorf("CiliumCIDRGroup %q spec.externalCIDRs: %w", name, err)
	}
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		p, err := parseCIDR(s)
		if err != nil {
			return nil, fmt.Errorf("CiliumCIDRGroup %q: %w", name, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// parseCIDR reads a prefix, or a bare address as a single-host prefix
// (Cilium accepts both in fromCIDR).
func parseCIDR(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR or an address", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func ciliumPort(at snapshot.Path, pp cPortProtocol) (portRule, error) {
	pr := portRule{path: at, proto: strings.ToUpper(pp.Protocol)}
	switch pr.proto {
	case "", "ANY":
		pr.proto = ""
	case "TCP", "UDP", "SCTP":
	default:
		return pr, fmt.Errorf("protocol %q is not TCP, UDP, SCTP or ANY", pp.Protocol)
	}
	s := string(pp.Port)
	if s == "" || s == "0" {
		return pr, nil // every port
	}
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		// A named port; Cilium ignores endPort with it.
		pr.name = s
		return pr, nil
	}
	pr.port, pr.end = uint16(n), uint16(n)
	if pp.EndPort != 0 {
		if pp.EndPort < int32(n) || pp.EndPort > 65535 {
			return pr, fmt.Errorf("endPort %d not in [port, 65535]", pp.EndPort)
		}
		pr.end = uint16(pp.EndPort)
	}
	return pr, nil
}
