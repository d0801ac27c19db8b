package netpol

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// Evaluator answers "does policy let this traffic through?" over one
// snapshot. New compiles and indexes every policy once, by namespace (and
// clusterwide), so a query costs O(policies of the pod's namespace +
// clusterwide policies), never a scan of the snapshot. It is immutable
// and safe for concurrent use.
type Evaluator struct {
	s           *snapshot.Snapshot
	opt         Options
	source      string
	policies    []*policy
	byObj       map[*snapshot.Object]*policy
	byNS        map[string][]*spec
	clusterwide []*spec
	nsLabels    map[string]map[string]string
	problems    []Problem
}

type compiler struct {
	s        *snapshot.Snapshot
	problems []Problem
}

func (c *compiler) problem(o *snapshot.Object, at snapshot.Path, err error) {
	c.problems = append(c.problems, Problem{Policy: o, Path: at, Err: err})
}

// New compiles the snapshot's policies for the engine in opt. Parts of
// policies that cannot be read are listed by Problems and match nothing.
// It fails only on invalid options.
func New(s *snapshot.Snapshot, opt Options) (*Evaluator, error) {
	opt, err := opt.normalized()
	if err != nil {
		return nil, err
	}
	e := &Evaluator{
		s: s, opt: opt,
		byObj:    map[*snapshot.Object]*policy{},
		byNS:     map[string][]*spec{},
		nsLabels: map[string]map[string]string{},
	}
	for _, ns := range s.List(snapshot.KindNamespace) {
		l := make(map[string]string, len(ns.Labels)+1)
		for k, v := range ns.Labels {
			l[k] = v
		}
		l[labelNamespaceName] = ns.Key.Name
		e.nsLabels[ns.Key.Name] = l
	}
	c := &compiler{s: s}
	add := func(p *policy) {
		if p == nil {
			return
		}
		e.policies = append(e.policies, p)
		e.byObj[p.obj] = p
		for _, sp := range p.specs {
			if p.flavor == flavorCCNP {
				e.clusterwide = append(e.clusterwide, sp)
			} else {
				e.byNS[p.obj.Key.Namespace] = append(e.byNS[p.obj.Key.Namespace], sp)
			}
		}
	}
	for _, o := range s.List(KindNetworkPolicy) {
		add(c.compileK8s(o))
	}
	// Only Cilium enforces its own kinds; under a generic engine they are
	// inert objects.
	if opt.Engine == EngineCilium {
		for _, o := range s.List(KindCiliumNetworkPolicy) {
			add(c.compileCilium(o, flavorCNP))
		}
		for _, o := range s.List(KindCiliumClusterwideNetworkPolicy) {
			add(c.compileCilium(o, flavorCCNP))
		}
	}
	e.problems = c.problems
	return e, nil
}

// Options returns the normalized options in force.
func (e *Evaluator) Options() Options { return e.opt }

// OptionsSource says where the options came from (set by Fact).
func (e *Evaluator) OptionsSource() string { return e.source }

// Problems lists the parts of policies that could not be read.
func (e *Evaluator) Problems() []Problem { return e.problems }

// Role says how a rule took part in a verdict.
type Role string

const (
	// RoleAllow is a rule that admits the traffic.
	RoleAllow Role = "allow"
	// RoleDeny is a Cilium ingressDeny/egressDeny rule that matches; deny
	// takes precedence over every allow.
	RoleDeny Role = "deny"
	// RoleSelect is a policy whose selector isolates the pod in the
	// direction, when no rule admits the traffic: every such policy is
	// listed so a finding can name them all.
	RoleSelect Role = "select"
)

// RuleRef points at the part of a policy that decided. Report it with
// analysis.LocationOf(ref.Policy, ref.Path) for file:line.
type RuleRef struct {
	Policy *snapshot.Object
	Role   Role
	// Path is the rule (spec.ingress[0], specs[1].ingressDeny[0]) or, for
	// RoleSelect, the selector (spec.podSelector, spec.endpointSelector).
	Path snapshot.Path
	// Peer is the peer entry that matched (spec.ingress[0].from[1]); nil
	// when the rule admits any peer, and for RoleSelect.
	Peer snapshot.Path
	// Port is the port entry that matched; nil when the rule has none.
	Port snapshot.Path
}

// String renders Kind/ns/name at the rule's path.
func (r RuleRef) String() string {
	at := r.Path
	if r.Peer != nil {
		at = r.Peer
	}
	return r.Policy.Ref() + " " + at.String()
}

// Verdict is the answer for one direction.
type Verdict struct {
	Direction Direction
	Allowed   bool
	// Isolated: some policy (or Cilium's always mode) puts the pod in
	// default deny in this direction.
	Isolated bool
	// Deciding lists the allow rules that admit the traffic, or the deny
	// rules that drop it, or — when nothing admits it — every policy
	// isolating the pod (RoleSelect).
	Deciding []RuleRef
	Reason   string
	// Caveats name what the verdict could not take into account (layer-7
	// rules, toFQDNs, unknown namespace labels or addresses, ...).
	Caveats []string
}

// Connection is the verdict on both ends of a connection.
type Connection struct {
	Allowed bool
	// Egress is nil when the source is not an endpoint the engine
	// enforces policy on (not a ClassPod peer with a Pod); Ingress is nil
	// likewise for the destination.
	Egress, Ingress *Verdict
	Reason          string
}

// Check evaluates a connection from src to dst: the source's egress and
// the destination's ingress must both allow it. Policy applies to the
// destination port the packet carries when it reaches the pod (after
// Service DNAT, before any in-pod redirect such as Istio's): for ambient
// HBONE that is 15008, not the application port.
func (e *Evaluator) Check(src, dst Peer, port uint16, proto string) Connection {
	var c Connection
	if (src.Class == ClassPod || src.Class == "") && src.Pod != nil {
		v := e.evaluate(Egress, src.Pod, dst, port, proto)
		c.Egress = &v
	}
	if (dst.Class == ClassPod || dst.Class == "") && dst.Pod != nil {
		v := e.evaluate(Ingress, dst.Pod, src, port, proto)
		c.Ingress = &v
	}
	c.Allowed = true
	c.Reason = "allowed"
	for _, v := range []*Verdict{c.Egress, c.Ingress} {
		if v != nil && !v.Allowed {
			c.Allowed, c.Reason = false, v.Reason
			break
		}
	}
	return c
}

// Ingress evaluates traffic from src into the pod dst (a Pod, or a
// workload for its pod template) on port/proto (TCP when "").
func (e *Evaluator) Ingress(src Peer, dst *snapshot.Object, port uint16, proto string) Verdict {
	return e.evaluate(Ingress, dst, src, port, proto)
}

// Egress evaluates traffic from the pod src to dst on port/proto.
func (e *Evaluator) Egress(src *snapshot.Object, dst Peer, port uint16, proto string) Verdict {
	return e.evaluate(Egress, src, dst, port, proto)
}

// query is one evaluation in progress.
type query struct {
	dir     Direction
	subject *remote // the pod whose policies apply
	other   *remote // the peer at the other end
	port    uint16
	proto   string
	caveats map[string]bool
}

func (q *query) caveat(s string) {
	if q.caveats == nil {
		q.caveats = map[string]bool{}
	}
	q.caveats[s] = true
}

func (e *Evaluator) evaluate(dir Direction, subject *snapshot.Object, other Peer, port uint16, proto string) (v Verdict) {
	proto = strings.ToUpper(proto)
	if proto == "" {
		proto = "TCP"
	}
	v = Verdict{Direction: dir}
	q := &query{dir: dir, subject: e.prepare(e.PodPeer(subject)), other: e.prepare(other), port: port, proto: proto}
	what := fmt.Sprintf("%s %s %s on %s/%d", dir, peerPhrase(dir, q.other), subject.Ref(), proto, port)
	cilium := e.opt.Engine == EngineCilium
	if cilium && e.opt.CiliumEnforcement == EnforceNever {
		v.Allowed, v.Reason = true, what+": allowed, Cilium policy enforcement mode is never"
		return v
	}
	if q.other.Class == ClassPod && q.other.Pod == subject {
		v.Allowed, v.Reason = true, what+": allowed, a pod can always reach itself"
		return v
	}
	specs := e.selecting(q)
	for _, sp := range specs {
		v.Isolated = v.Isolated || sp.isolates[dir]
	}
	if cilium && e.opt.CiliumEnforcement == EnforceAlways {
		v.Isolated = true
	}
	// Named result: the caveats gathered while matching reach every return.
	defer func() { v.Caveats = sortedKeys(q.caveats) }()

	for _, sp := range specs {
		for _, r := range sp.deny[dir] {
			if ref, ok := e.matchRule(q, sp, r); ok {
				ref.Role = RoleDeny
				v.Deciding = append(v.Deciding, ref)
			}
		}
	}
	if len(v.Deciding) > 0 {
		v.Reason = fmt.Sprintf("%s: denied by %s (deny rules take precedence over allows)", what, refList(v.Deciding))
		return v
	}
	if q.other.Class == ClassHost {
		switch {
		case !cilium:
			v.Allowed, v.Reason = true, what+": allowed, traffic between a pod and its own node is always allowed by NetworkPolicy"
			return v
		case dir == Ingress && !e.opt.HostRequiresPolicy:
			v.Allowed, v.Reason = true, what+": allowed, Cilium lets the local host into its endpoints (allow-localhost)"
			return v
		}
	}
	if !v.Isolated {
		v.Allowed, v.Reason = true, fmt.Sprintf("%s: allowed, no policy isolates the pod for %s", what, dir)
		return v
	}
	for _, sp := range specs {
		for _, r := range sp.allow[dir] {
			if ref, ok := e.matchRule(q, sp, r); ok {
				ref.Role = RoleAllow
				v.Deciding = append(v.Deciding, ref)
			}
		}
	}
	if len(v.Deciding) > 0 {
		v.Allowed, v.Reason = true, fmt.Sprintf("%s: allowed by %s", what, refList(v.Deciding))
		return v
	}
	for _, sp := range specs {
		if sp.isolates[dir] {
			v.Deciding = append(v.Deciding, RuleRef{Policy: sp.pol.obj, Role: RoleSelect, Path: sp.selPath})
		}
	}
	switch {
	case len(v.Deciding) == 0:
		v.Reason = fmt.Sprintf("%s: denied, Cilium policy enforcement mode is always and no rule allows it", what)
	default:
		v.Reason = fmt.Sprintf("%s: denied, isolated by %s and no rule allows it", what, refList(v.Deciding))
	}
	return v
}

func peerPhrase(dir Direction, r *remote) string {
	if dir == Ingress {
		return "from " + r.String() + " to"
	}
	return "to " + r.String() + " from"
}

func refList(refs []RuleRef) string {
	names := make([]string, 0, len(refs))
	for _, r := range refs {
		names = append(names, r.String())
	}
	return strings.Join(analysis.FirstN(names, 3), ", ")
}

func sortedKeys(m map[string]bool) []string {
	if len(m) == 0 {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// candidates are the specs that may select a pod of namespace ns.
func (e *Evaluator) candidates(ns string) [2][]*spec {
	return [2][]*spec{e.byNS[ns], e.clusterwide}
}

// selecting returns the specs with rules for q.dir that select q.subject.
func (e *Evaluator) selecting(q *query) []*spec {
	var out []*spec
	for _, list := range e.candidates(q.subject.Namespace) {
		for _, sp := range list {
			if sp.has[q.dir] && e.selects(sp, q.subject) {
				out = append(out, sp)
			}
		}
	}
	return out
}

// selects tells whether a spec's subject selector selects the pod.
func (e *Evaluator) selects(sp *spec, pod *remote) bool {
	if !sp.selectsPods {
		return false
	}
	switch sp.pol.flavor {
	case flavorK8s:
		return sp.pol.obj.Key.Namespace == pod.Namespace && sp.podSel.Matches(labels.Set(pod.Labels))
	case flavorCNP:
		return sp.pol.obj.Key.Namespace == pod.Namespace && sp.epSel.matches(pod.identity(e))
	default:
		return sp.epSel.matches(pod.identity(e))
	}
}

// matchRule tells whether a rule admits q's peer and port, and where.
func (e *Evaluator) matchRule(q *query, sp *spec, r *rule) (RuleRef, bool) {
	ref := RuleRef{Policy: sp.pol.obj, Path: r.path}
	portAt, ok := e.matchPorts(q, r)
	if !ok {
		return ref, false
	}
	ref.Port = portAt
	for _, c := range r.caveats {
		q.caveat(c)
	}
	if r.anyPeer {
		return ref, true
	}
	for _, p := range r.peers {
		if e.matchPeer(q, sp.pol, p) {
			ref.Peer = p.path
			return ref, true
		}
	}
	return ref, false
}

func (e *Evaluator) matchPorts(q *query, r *rule) (snapshot.Path, bool) {
	if r.icmpOnly {
		return nil, q.proto == "ICMP" || q.proto == "ICMPV6"
	}
	if len(r.ports) == 0 {
		return nil, true
	}
	for _, p := range r.ports {
		if p.proto != "" && p.proto != q.proto {
			continue
		}
		switch {
		case p.name != "":
			if e.namedPortIs(q, p.name, p.proto) {
				return p.path, true
			}
		case p.port == 0:
			return p.path, true
		case q.port >= p.port && q.port <= p.end:
			return p.path, true
		}
	}
	return nil, false
}

// namedPortIs resolves a named port against the destination pod's
// container ports — the selected pod on ingress, the peer on egress — and
// tells whether it is q.port/q.proto. Kubernetes resolves names on the
// destination in both directions; an egress destination the engine does
// not know as a pod has no named ports.
func (e *Evaluator) namedPortIs(q *query, name, proto string) bool {
	dst := q.subject.Pod
	if q.dir == Egress {
		dst = q.other.Pod
		if dst == nil || (e.opt.Engine == EngineCilium && q.other.Class != ClassPod) {
			return false
		}
	}
	spec, at, _, ok := snapshot.PodSpecOf(dst)
	if !ok {
		return false
	}
	for c := range snapshot.Containers(spec, at) {
		for _, cp := range c.C.Ports {
			cproto := string(cp.Protocol)
			if cproto == "" {
				cproto = string(corev1.ProtocolTCP)
			}
			if cp.Name == name && cproto == q.proto && (proto == "" || proto == cproto) && int(q.port) == int(cp.ContainerPort) {
				return true
			}
		}
	}
	return false
}

func (e *Evaluator) matchPeer(q *query, pol *policy, p *peerRule) bool {
	o := q.other
	switch p.kind {
	case peerK8s:
		if o.Class != ClassPod {
			return false
		}
		if p.nsSel == nil {
			return o.Namespace == pol.obj.Key.Namespace && p.podSel.Matches(labels.Set(o.Labels))
		}
		if !o.nsKnown {
			q.caveat(fmt.Sprintf("namespace %s is not in the input: only its %s label is known", o.Namespace, labelNamespaceName))
		}
		return p.nsSel.Matches(labels.Set(o.nsLabels)) && (p.podSel == nil || p.podSel.Matches(labels.Set(o.Labels)))
	case peerEndpoints:
		if o.Class == ClassPod && !o.nsKnown && p.csel.hasKeyPrefix(labelNamespaceMeta) {
			q.caveat(fmt.Sprintf("namespace %s is not in the input: only its %s label is known", o.Namespace, labelNamespaceName))
		}
		return p.csel.matches(o.identity(e))
	case peerEntity:
		return e.entityMatches(p.entity, o.Class)
	case peerCIDR:
		return e.cidrMatches(q, p)
	}
	return false
}

// cidrMatches applies ipBlock / CIDR rules. A generic engine matches any
// address, pod and node IPs included. Cilium matches only addresses it
// does not know as endpoints (the world identities) — a Cilium-managed pod
// is never matched by address — and node identities only with
// policy-cidr-match-mode=nodes.
func (e *Evaluator) cidrMatches(q *query, p *peerRule) bool {
	o := q.other
	if e.opt.Engine == EngineCilium {
		if !o.Class.isWorld() && !(e.opt.CIDRMatchNodes && o.Class.isNode()) {
			return false
		}
		if !o.IP.IsValid() && p.cidr.Bits() == 0 && o.Class.isWorld() {
			return true // 0.0.0.0/0 and ::/0 stand for world
		}
	}
	if !o.IP.IsValid() {
		q.caveat(fmt.Sprintf("the %s address is unknown: CIDR rules cannot match it", map[Direction]string{Ingress: "source", Egress: "destination"}[q.dir]))
		return false
	}
	ip := o.IP.Unmap()
	if !p.cidr.Contains(ip) {
		return false
	}
	for _, ex := range p.except {
		if ex.Contains(ip) {
			return false
		}
	}
	return true
}

// entityMatches maps Cilium entities to identity classes
// (pkg/policy/api/entity.go): cluster is every in-cluster identity, all is
// everything, world covers both families.
func (e *Evaluator) entityMatches(ent string, c Class) bool {
	switch ent {
	case "all":
		return true
	case "none":
		return false
	case "world":
		return c.isWorld()
	case "cluster":
		// Pods carry the local cluster's name label; reserved in-cluster
		// identities are listed by Cilium's InitEntities.
		return c == ClassPod || c == ClassHost || c == ClassRemoteNode || c == ClassInit || c == ClassIngress ||
			c == ClassHealth || c == ClassUnmanaged || c == ClassKubeAPIServer
	case "remote-node":
		// kube-apiserver nodes carry the remote-node label too.
		return c == ClassRemoteNode || c == ClassKubeAPIServer
	}
	return string(c) == ent
}
