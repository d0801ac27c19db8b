package istio

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	secv1beta1 "istio.io/api/security/v1beta1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// ztunnel enforces AuthorizationPolicies at layer 4 on the connections it
// accepts for an ambient workload. istiod converts each policy for it
// (pilot/pkg/serviceregistry/kube/controller/ambient/authorization.go:
// convertAuthorizationPolicy, handleRule) and ztunnel matches the result
// (src/rbac.rs Authorization::matches; src/state.rs assert_rbac: any
// matching DENY denies, else no ALLOW allows, else a matching ALLOW
// allows). What follows reproduces both so that a check can say which
// policy refused a connection ztunnel logged, and why. Where the two
// projects' versions disagree, the answer is MayMatch rather than a guess.

// ZtunnelConn is a connection as ztunnel's inbound authorization sees it.
type ZtunnelConn struct {
	// Identity is the peer's SPIFFE identity
	// (spiffe://<trust domain>/ns/<ns>/sa/<sa>); empty for plaintext.
	Identity string
	SrcIP    netip.Addr
	// DstIP and DstPort are the workload's address and the port the
	// connection is for (the HBONE target, not 15008).
	DstIP   netip.Addr
	DstPort uint16
}

// Match is a three-valued answer: a policy or rule matches, does not, or
// may (its outcome depends on what differs between versions or on a
// trust-domain alias).
type Match int8

// Match values.
const (
	NoMatch Match = iota
	MayMatch
	Matches
)

func (m Match) String() string {
	switch m {
	case Matches:
		return "matches"
	case MayMatch:
		return "may match"
	}
	return "does not match"
}

// or and not are Kleene's three-valued disjunction and negation (a
// conjunction is the smaller of its operands).
func (m Match) or(o Match) Match { return max(m, o) }
func (m Match) not() Match       { return Matches - m }

// ZtunnelRule is how one rule of a policy treats a connection.
type ZtunnelRule struct {
	Index int
	Match Match
	// Path is the rule (spec.rules[i]).
	Path snapshot.Path
	// Why says, for a rule that does not (or may) match, the first
	// condition that decides it, in words.
	Why string
}

// ZtunnelVerdict is how one AuthorizationPolicy treats a connection.
type ZtunnelVerdict struct {
	Policy *snapshot.Object
	Deny   bool
	Match  Match
	Rules  []ZtunnelRule
}

// ZtunnelEnforces tells whether ztunnel enforces the AuthorizationPolicy
// at all: ALLOW and DENY policies that attach by selector or to a whole
// namespace. Policies with targetRef(s) are for waypoints and gateways;
// CUSTOM and AUDIT are not converted for ztunnel.
func ZtunnelEnforces(o *snapshot.Object) bool {
	ap := authzPolicy(o)
	if ap == nil {
		return false
	}
	if sp, _ := scopedPolicyOf(o); len(sp.TargetRefs) > 0 {
		return false
	}
	a := ap.GetAction()
	return a == secv1beta1.AuthorizationPolicy_ALLOW || a == secv1beta1.AuthorizationPolicy_DENY
}

// ZtunnelPolicies returns the AuthorizationPolicies ztunnel enforces on
// connections to pod: those of its namespace and of the root namespace
// without a selector (namespace-wide and mesh-wide), and those whose
// selector matches its labels. Unreadable lists the policies of those
// namespaces that could not be decoded: what they do is unknown.
func ZtunnelPolicies(s *snapshot.Snapshot, root string, pod *snapshot.Object) (pols, unreadable []*snapshot.Object) {
	nss := []string{pod.Key.Namespace}
	if root != "" && root != pod.Key.Namespace {
		nss = append(nss, root)
	}
	for _, ns := range nss {
		for _, o := range s.InNamespace(snapshot.KindAuthzPolicy, ns) {
			if authzPolicy(o) == nil {
				unreadable = append(unreadable, o)
				continue
			}
			if !ZtunnelEnforces(o) {
				continue
			}
			if sel := authzPolicy(o).GetSelector(); sel != nil && !labels.SelectorFromSet(sel.GetMatchLabels()).Matches(labels.Set(pod.Labels)) {
				continue
			}
			pols = append(pols, o)
		}
	}
	return pols, unreadable
}

// ZtunnelEvaluate matches the connection against the policy as ztunnel
// would after istiod's conversion. A policy without rules matches
// nothing; a rule without conditions matches everything. Within an ALLOW
// policy, a rule with HTTP attributes (hosts, methods, paths, request
// principals, remote IP blocks, non-L4 `when` keys) is left out for
// ztunnel and matches nothing; within a DENY policy istiod keeps the rule
// without them, which ztunnel versions treat differently: MayMatch.
func ZtunnelEvaluate(o *snapshot.Object, c ZtunnelConn) ZtunnelVerdict {
	ap := authzPolicy(o)
	v := ZtunnelVerdict{Policy: o, Deny: ap.GetAction() == secv1beta1.AuthorizationPolicy_DENY}
	id := parseSpiffe(c.Identity)
	for i, r := range ap.GetRules() {
		zr := ZtunnelRule{Index: i, Path: snapshot.P("spec", "rules", i)}
		zr.Match, zr.Why = evalRule(r, v.Deny, o.Key.Namespace, c, id)
		v.Match = v.Match.or(zr.Match)
		v.Rules = append(v.Rules, zr)
	}
	return v
}

// spiffeID is an identity taken apart; ok is false for an empty or
// non-SPIFFE identity.
type spiffeID struct {
	full           string // without spiffe://
	td, ns, sa     string
	ok, kubernetes bool
}

func parseSpiffe(s string) spiffeID {
	rest, ok := strings.CutPrefix(s, "spiffe://")
	if !ok || rest == "" {
		return spiffeID{}
	}
	id := spiffeID{full: rest, ok: true}
	parts := strings.Split(rest, "/")
	if len(parts) == 5 && parts[1] == "ns" && parts[3] == "sa" {
		id.td, id.ns, id.sa, id.kubernetes = parts[0], parts[2], parts[4], true
	}
	return id
}

// l4When are the `when` keys ztunnel can evaluate (istiod's
// l4WhenAttributes).
var l4When = map[string]bool{"source.ip": true, "source.namespace": true, "source.principal": true, "destination.ip": true, "destination.port": true}

// httpParts names the HTTP attributes a rule uses.
func httpParts(r *secv1beta1.Rule) []string {
	var out []string
	add := func(name string, n int) {
		if n > 0 {
			out = append(out, name)
		}
	}
	for _, t := range r.GetTo() {
		op := t.GetOperation()
		add("hosts", len(op.GetHosts()))
		add("notHosts", len(op.GetNotHosts()))
		add("methods", len(op.GetMethods()))
		add("notMethods", len(op.GetNotMethods()))
		add("paths", len(op.GetPaths()))
		add("notPaths", len(op.GetNotPaths()))
	}
	for _, f := range r.GetFrom() {
		s := f.GetSource()
		add("remoteIpBlocks", len(s.GetRemoteIpBlocks()))
		add("notRemoteIpBlocks", len(s.GetNotRemoteIpBlocks()))
		add("requestPrincipals", len(s.GetRequestPrincipals()))
		add("notRequestPrincipals", len(s.GetNotRequestPrincipals()))
	}
	for _, w := range r.GetWhen() {
		if !l4When[w.GetKey()] {
			out = append(out, "when "+w.GetKey())
		}
	}
	return out
}

// evalRule is ztunnel's rule match: every clause (to, from, each when)
// must match; a clause matches when any of its entries does.
func evalRule(r *secv1beta1.Rule, deny bool, policyNS string, c ZtunnelConn, id spiffeID) (Match, string) {
	if h := httpParts(r); len(h) > 0 && !deny {
		return NoMatch, fmt.Sprintf("it matches HTTP attributes (%s), which ztunnel does not see: istiod leaves such a rule out of the policy it sends ztunnel, so it admits nothing there (a waypoint enforces it)", strings.Join(h, ", "))
	}
	// A DENY rule keeps its L4 conditions; its HTTP-only entries become
	// entries without a condition (MayMatch below).
	m, why := Matches, ""
	clause := func(cm Match, cwhy string) {
		if cm < m {
			m, why = cm, cwhy
		}
	}
	if to := r.GetTo(); len(to) > 0 {
		cm := NoMatch
		var whys []string
		for _, t := range to {
			em, ew := evalOperation(t.GetOperation(), c)
			cm = cm.or(em)
			whys = append(whys, ew)
		}
		clause(cm, "to: "+strings.Join(whys, "; or "))
	}
	if from := r.GetFrom(); len(from) > 0 {
		cm := NoMatch
		var whys []string
		for _, f := range from {
			em, ew := evalSource(f.GetSource(), policyNS, c, id)
			cm = cm.or(em)
			whys = append(whys, ew)
		}
		clause(cm, "from: "+strings.Join(whys, "; or "))
	}
	for _, w := range r.GetWhen() {
		wm, ww := evalWhen(w, c, id)
		clause(wm, "when: "+ww)
	}
	return m, why
}

// entry accumulates the fields of one match entry: all must hold.
type entry struct {
	m     Match
	why   string
	empty bool
}

func newEntry() *entry { return &entry{m: Matches, empty: true} }

// field applies one positive or negative list of an entry: a positive
// list needs one value to match, a negative one none.
func (e *entry) field(name string, negative bool, vals []string, match func(string) Match, subject string) {
	if len(vals) == 0 {
		return
	}
	e.empty = false
	res := NoMatch
	for _, v := range vals {
		res = res.or(match(v))
	}
	if negative {
		res = res.not()
	}
	if res < e.m {
		e.m = res
		verb := "requires"
		if negative {
			verb = "excludes"
		}
		e.why = fmt.Sprintf("%s %s %s (%s)", name, verb, quoteList(vals), subject)
	}
}

// result is the entry's answer. ztunnel skips a match entry with no
// condition at all; whether that makes the clause fail differs between
// versions, so such an entry may match.
func (e *entry) result() (Match, string) {
	if e.empty {
		return MayMatch, "an entry with no L4 condition (ztunnel versions differ on such an entry)"
	}
	return e.m, e.why
}

func quoteList(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = strconv.Quote(v)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func evalOperation(op *secv1beta1.Operation, c ZtunnelConn) (Match, string) {
	e := newEntry()
	port := func(v string) Match { return portIs(v, c.DstPort) }
	subject := fmt.Sprintf("the connection is to port %d", c.DstPort)
	e.field("ports", false, knownPorts(op.GetPorts()), port, subject)
	e.field("notPorts", true, knownPorts(op.GetNotPorts()), port, subject)
	return e.result()
}

func evalSource(s *secv1beta1.Source, policyNS string, c ZtunnelConn, id spiffeID) (Match, string) {
	e := newEntry()
	ip := func(v string) Match { return ipIn(v, c.SrcIP) }
	ipSubject := "the peer is " + c.SrcIP.String()
	idSubject := "the peer is plaintext, without an identity"
	if c.Identity != "" {
		idSubject = "the peer is " + strings.TrimPrefix(c.Identity, "spiffe://")
	}
	principal := func(v string) Match { return principalIs(v, id) }
	ns := func(v string) Match { return stringIs(v, id.ns) }
	sa := func(v string) Match { return serviceAccountIs(v, policyNS, id) }
	e.field("ipBlocks", false, knownIPs(s.GetIpBlocks()), ip, ipSubject)
	e.field("notIpBlocks", true, knownIPs(s.GetNotIpBlocks()), ip, ipSubject)
	e.field("namespaces", false, s.GetNamespaces(), ns, idSubject)
	e.field("notNamespaces", true, s.GetNotNamespaces(), ns, idSubject)
	e.field("principals", false, s.GetPrincipals(), principal, idSubject)
	e.field("notPrincipals", true, s.GetNotPrincipals(), principal, idSubject)
	e.field("serviceAccounts", false, s.GetServiceAccounts(), sa, idSubject)
	e.field("notServiceAccounts", true, s.GetNotServiceAccounts(), sa, idSubject)
	return e.result()
}

func evalWhen(w *secv1beta1.Condition, c ZtunnelConn, id spiffeID) (Match, string) {
	if !l4When[w.GetKey()] {
		// Only in a DENY rule (an ALLOW rule with it is left out).
		return MayMatch, w.GetKey() + " is an HTTP attribute, which ztunnel does not see"
	}
	e := newEntry()
	var match func(string) Match
	subject := ""
	switch w.GetKey() {
	case "source.ip":
		match, subject = func(v string) Match { return ipIn(v, c.SrcIP) }, "the peer is "+c.SrcIP.String()
	case "destination.ip":
		match, subject = func(v string) Match { return ipIn(v, c.DstIP) }, "the connection is to "+c.DstIP.String()
	case "destination.port":
		match, subject = func(v string) Match { return portIs(v, c.DstPort) }, fmt.Sprintf("the connection is to port %d", c.DstPort)
	case "source.namespace":
		match, subject = func(v string) Match { return stringIs(v, id.ns) }, "the peer's namespace is "+orPlain(id.ns)
	case "source.principal":
		match, subject = func(v string) Match { return principalIs(v, id) }, "the peer is "+orPlain(id.full)
	}
	vals, notVals := w.GetValues(), w.GetNotValues()
	if w.GetKey() == "source.ip" || w.GetKey() == "destination.ip" {
		vals, notVals = knownIPs(vals), knownIPs(notVals)
	}
	if w.GetKey() == "destination.port" {
		vals, notVals = knownPorts(vals), knownPorts(notVals)
	}
	e.field(w.GetKey()+" values", false, vals, match, subject)
	e.field(w.GetKey()+" notValues", true, notVals, match, subject)
	return e.result()
}

func orPlain(s string) string {
	if s == "" {
		return "none (plaintext)"
	}
	return s
}

// knownPorts keeps the values istiod converts (stringToPort): decimal
// ports; it drops the rest.
func knownPorts(vals []string) []string {
	var out []string
	for _, v := range vals {
		if p, err := strconv.ParseUint(v, 10, 32); err == nil && p <= 65535 {
			out = append(out, v)
		}
	}
	return out
}

// knownIPs keeps the addresses and prefixes istiod converts (stringToIP).
func knownIPs(vals []string) []string {
	var out []string
	for _, v := range vals {
		if _, ok := parseIPBlock(v); ok {
			out = append(out, v)
		}
	}
	return out
}

func parseIPBlock(v string) (netip.Prefix, bool) {
	if strings.Contains(v, "/") {
		p, err := netip.ParsePrefix(v)
		return p, err == nil
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}

func portIs(v string, port uint16) Match {
	p, _ := strconv.ParseUint(v, 10, 32)
	return matchIf(uint16(p) == port)
}

func ipIn(v string, ip netip.Addr) Match {
	p, ok := parseIPBlock(v)
	if !ok || !ip.IsValid() {
		return NoMatch
	}
	return matchIf(p.Masked().Contains(ip))
}

func matchIf(b bool) Match {
	if b {
		return Matches
	}
	return NoMatch
}

// stringIs is istiod's stringToMatch with ztunnel's StringMatch: "*"
// requires a non-empty value, "*x" a suffix, "x*" a prefix, else exact.
func stringIs(pattern, s string) Match {
	switch {
	case pattern == "*":
		return matchIf(s != "")
	case strings.HasPrefix(pattern, "*"):
		return matchIf(strings.HasSuffix(s, pattern[1:]))
	case strings.HasSuffix(pattern, "*"):
		return matchIf(strings.HasPrefix(s, pattern[:len(pattern)-1]))
	}
	return matchIf(s == pattern)
}

// principalIs matches a principal pattern against the identity without
// its spiffe:// prefix, as ztunnel does (plaintext matches nothing). The
// trust domain is compared as written; istiod's trust-domain aliasing is
// not applied for ztunnel in every version, so a pattern that differs
// from the identity only by its trust domain may match.
func principalIs(pattern string, id spiffeID) Match {
	if !id.ok {
		return NoMatch
	}
	if m := stringIs(pattern, id.full); m == Matches {
		return m
	}
	if td, rest, ok := strings.Cut(pattern, "/"); ok && id.kubernetes && td != id.td && !strings.Contains(td, "*") {
		if stringIs(id.td+"/"+rest, id.full) == Matches {
			return MayMatch
		}
	}
	return NoMatch
}

// serviceAccountIs matches a serviceAccounts value ("ns/sa", or a bare
// name in the policy's namespace, as istiod's stringToServiceAccountMatch
// reads it) against the identity's namespace and service account.
func serviceAccountIs(v, policyNS string, id spiffeID) Match {
	if !id.kubernetes {
		return NoMatch
	}
	ns, sa, ok := strings.Cut(v, "/")
	if !ok {
		ns, sa = policyNS, v
	}
	return matchIf(ns == id.ns && sa == id.sa)
}
