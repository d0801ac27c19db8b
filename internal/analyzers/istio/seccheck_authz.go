package istio

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	secv1beta1 "istio.io/api/security/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/facts"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

func authzPolicy(o *snapshot.Object) *secv1beta1.AuthorizationPolicy {
	if ap, ok := o.Typed.(*securityv1.AuthorizationPolicy); ok {
		return &ap.Spec
	}
	return nil
}

// sourceValue is one value of a rule's source (or a `when` condition) and
// where it is written.
type sourceValue struct {
	field   string // namespaces, notPrincipals, when:source.namespace, ...
	negated bool
	value   string
	rule    int
	path    snapshot.Path
}

// sourceValues lists the values of the named source fields of every rule.
func sourceValues(ap *secv1beta1.AuthorizationPolicy, fields ...string) []sourceValue {
	var out []sourceValue
	want := map[string]bool{}
	for _, f := range fields {
		want[f] = true
	}
	for i, r := range ap.GetRules() {
		for j, from := range r.GetFrom() {
			s := from.GetSource()
			at := snapshot.P("spec", "rules", i, "from", j, "source")
			for _, fv := range []struct {
				name string
				vals []string
			}{
				{"namespaces", s.GetNamespaces()}, {"notNamespaces", s.GetNotNamespaces()},
				{"principals", s.GetPrincipals()}, {"notPrincipals", s.GetNotPrincipals()},
				{"serviceAccounts", s.GetServiceAccounts()}, {"notServiceAccounts", s.GetNotServiceAccounts()},
				{"requestPrincipals", s.GetRequestPrincipals()}, {"notRequestPrincipals", s.GetNotRequestPrincipals()},
			} {
				if !want[fv.name] {
					continue
				}
				for k, v := range fv.vals {
					out = append(out, sourceValue{field: fv.name, negated: strings.HasPrefix(fv.name, "not"), value: v, rule: i, path: at.Child(fv.name, k)})
				}
			}
		}
		for j, c := range r.GetWhen() {
			if !want["when:"+c.GetKey()] && !(want["when:request.auth.*"] && strings.HasPrefix(c.GetKey(), "request.auth.")) {
				continue
			}
			for k, v := range c.GetValues() {
				out = append(out, sourceValue{field: "when " + c.GetKey(), value: v, rule: i, path: snapshot.P("spec", "rules", i, "when", j, "values", k)})
			}
		}
	}
	return out
}

// actionOf names a policy's action (ALLOW when unset).
func actionOf(ap *secv1beta1.AuthorizationPolicy) secv1beta1.AuthorizationPolicy_Action {
	return ap.GetAction()
}

// neverMatchEffect says what a condition that never matches does in a rule
// of a policy with action a.
func neverMatchEffect(a secv1beta1.AuthorizationPolicy_Action) string {
	switch a {
	case secv1beta1.AuthorizationPolicy_DENY:
		return "the DENY rule never fires for these requests, so they are not blocked"
	case secv1beta1.AuthorizationPolicy_CUSTOM:
		return "these requests are never sent to the external authorizer"
	case secv1beta1.AuthorizationPolicy_AUDIT:
		return "these requests are never audited"
	}
	return "the ALLOW rule never admits these requests, so they are denied (403 'RBAC: access denied') unless another ALLOW rule matches"
}

// AuthzSourceNotFound: a namespace, principal or service account in an
// AuthorizationPolicy source that names nothing in the cluster.
var AuthzSourceNotFound = &analysis.Analyzer{
	Code:     "MD304",
	Name:     "authz-source-not-found",
	Severity: analysis.Warning,
	Summary:  "An AuthorizationPolicy source names a namespace or a service account (in principals or serviceAccounts) that does not exist, so that value never matches a request.",
	Doc:      doc("MD304"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindAuthzPolicy), analysis.Kinds(snapshot.KindNamespace, snapshot.KindServiceAccount)},
	Reads:    map[schema.GroupKind][]string{snapshot.KindAuthzPolicy: {"spec"}},
	Requires: []*analysis.Fact{facts.MeshConfig},
	Run: func(p *analysis.Pass) error {
		mesh := p.ResultOf(facts.MeshConfig).(*facts.Mesh)
		// "cluster.local" always stands for the local trust domain: istiod
		// rewrites it to the trust domain and its aliases
		// (trustdomain.Bundle.ReplaceTrustDomainAliases).
		domains := map[string]bool{mesh.TrustDomain(): true, "cluster.local": true}
		for _, a := range mesh.Config.GetTrustDomainAliases() {
			domains[a] = true
		}
		nsx := newNamespaceIndex(p.Snapshot, mesh.RootNamespace())
		for _, o := range p.Snapshot.List(snapshot.KindAuthzPolicy) {
			ap := authzPolicy(o)
			if ap == nil {
				continue
			}
			for _, sv := range sourceValues(ap, "namespaces", "notNamespaces", "principals", "notPrincipals", "serviceAccounts", "notServiceAccounts") {
				var ns, sa, what string
				switch sv.field {
				case "namespaces", "notNamespaces":
					ns, what = sv.value, "namespace"
				case "principals", "notPrincipals":
					if strings.Contains(sv.value, "*") {
						continue
					}
					parts := strings.Split(sv.value, "/")
					if len(parts) != 5 || parts[1] != "ns" || parts[3] != "sa" || !domains[parts[0]] {
						continue // another trust domain, or not a Kubernetes identity
					}
					ns, sa = parts[2], parts[4]
				case "serviceAccounts", "notServiceAccounts":
					var ok bool
					if ns, sa, ok = strings.Cut(sv.value, "/"); !ok || strings.Contains(sv.value, "*") {
						continue
					}
				}
				f := analysis.Finding{
					Subject:   o.Key,
					Locations: []analysis.Location{analysis.LocationOf(o, sv.path)},
					Key:       sv.path.String(),
				}
				effect := neverMatchEffect(actionOf(ap))
				if sv.negated {
					effect = "the exclusion excludes nothing, so the rule still applies to every source"
				}
				switch {
				case what == "namespace" && nsx.known() && !nsx.matches(ns):
					f.Message = fmt.Sprintf("%s rule %d lists %s %q, which matches no Namespace in the cluster: %s.", o.Ref(), sv.rule, sv.field, ns, effect)
					f.Evidence = []string{fmt.Sprintf("%s: %q", sv.path, ns), fmt.Sprintf("the input lists %d Namespaces; none matches", len(nsx.names))}
					f.Remedy = fmt.Sprintf("Correct %q to an existing namespace name (`kubectl get ns`), or remove it.", ns)
				case what == "" && nsx.known() && !nsx.set[ns]:
					f.Message = fmt.Sprintf("%s rule %d lists %s %q, whose namespace %s does not exist: no workload has that identity, so %s.", o.Ref(), sv.rule, sv.field, sv.value, ns, effect)
					f.Evidence = []string{fmt.Sprintf("%s: %q", sv.path, sv.value), fmt.Sprintf("no Namespace %s among the %d in the input", ns, len(nsx.names))}
					f.Remedy = fmt.Sprintf("Correct the namespace in %q (the form is <trust domain>/ns/<namespace>/sa/<service account>).", sv.value)
				case what == "" && p.Snapshot.Covers(snapshot.KindServiceAccount, ns) && p.Snapshot.Get(snapshot.KindServiceAccount, ns, sa) == nil:
					f.Message = fmt.Sprintf("%s rule %d lists %s %q, but namespace %s has no ServiceAccount %s: no workload has that identity, so %s.", o.Ref(), sv.rule, sv.field, sv.value, ns, sa, effect)
					f.Evidence = []string{fmt.Sprintf("%s: %q", sv.path, sv.value), fmt.Sprintf("ServiceAccounts of %s in the input: %s", ns, saNames(p.Snapshot, ns))}
					f.Remedy = fmt.Sprintf("Use the service account the client pods run as (`kubectl get pod -n %s -o jsonpath='{..serviceAccountName}'`), or create ServiceAccount %s/%s.", ns, ns, sa)
				default:
					continue
				}
				p.Report(f)
			}
		}
		return nil
	},
}

func saNames(s *snapshot.Snapshot, ns string) string {
	var out []string
	for _, o := range s.InNamespace(snapshot.KindServiceAccount, ns) {
		out = append(out, o.Key.Name)
	}
	sort.Strings(out)
	return orNone(analysis.FirstN(out, 8))
}

// authzIndex holds the AuthorizationPolicies by namespace.
type authzIndex struct {
	root  string
	byNS  map[string][]*snapshot.Object
	allow map[string]int // ALLOW policies with rules, by namespace
}

func newAuthzIndex(s *snapshot.Snapshot, root string) *authzIndex {
	ix := &authzIndex{root: root, byNS: map[string][]*snapshot.Object{}, allow: map[string]int{}}
	for _, o := range s.List(snapshot.KindAuthzPolicy) {
		ap := authzPolicy(o)
		if ap == nil {
			continue
		}
		ix.byNS[o.Key.Namespace] = append(ix.byNS[o.Key.Namespace], o)
		if ap.GetAction() == secv1beta1.AuthorizationPolicy_ALLOW && len(ap.GetRules()) > 0 {
			ix.allow[o.Key.Namespace]++
		}
	}
	return ix
}

// AuthzPolicyWithoutRules: an AuthorizationPolicy with no rules. ALLOW:
// the "allow-nothing" policy, which denies every request; other actions:
// a policy that never matches.
var AuthzPolicyWithoutRules = &analysis.Analyzer{
	Code:     "MD305",
	Name:     "authz-policy-without-rules",
	Severity: analysis.Info,
	Summary:  "An AuthorizationPolicy has no rules: with ALLOW it denies every request to its workloads (the allow-nothing policy); with AUDIT it never matches.",
	Doc:      doc("MD305"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindAuthzPolicy)},
	Reads:    mergeReads(secMembershipReads(), policySpecReads()),
	Requires: []*analysis.Fact{facts.MeshConfig},
	Run: func(p *analysis.Pass) error {
		root := p.ResultOf(facts.MeshConfig).(*facts.Mesh).RootNamespace()
		ix := newAuthzIndex(p.Snapshot, root)
		for _, o := range p.Snapshot.List(snapshot.KindAuthzPolicy) {
			ap := authzPolicy(o)
			if ap == nil || len(ap.GetRules()) > 0 {
				continue
			}
			switch ap.GetAction() {
			case secv1beta1.AuthorizationPolicy_DENY, secv1beta1.AuthorizationPolicy_CUSTOM:
				continue // rejected by validation: MD010 reports it
			case secv1beta1.AuthorizationPolicy_AUDIT:
				p.Report(analysis.Finding{
					Severity:  analysis.Warning,
					Subject:   o.Key,
					Message:   fmt.Sprintf("%s has action %s but no rules: a policy without rules matches no request, so it never %s.", o.Ref(), ap.GetAction(), "audits anything"),
					Locations: []analysis.Location{analysis.LocationOf(o, snapshot.P("spec", "action"))},
					Evidence:  []string{"spec.action: " + ap.GetAction().String(), "spec.rules: none"},
					Remedy:    "Add the rules the policy is meant to match; to match every request use `rules: [{}]` (one empty rule).",
					Key:       "no-rules",
				})
				continue
			}
			reportAllowNothing(p, ix, o)
		}
		return nil
	},
}

func reportAllowNothing(p *analysis.Pass, ix *authzIndex, o *snapshot.Object) {
	sp, _ := scopedPolicyOf(o)
	ns := o.Key.Namespace
	var scope string
	switch {
	case len(sp.TargetRefs) > 0:
		scope = "the resources its targetRefs name"
	case ns == ix.root && !sp.selects():
		scope = "every workload in the mesh"
		for _, n := range ix.allow {
			if n > 0 {
				return // the documented deny-by-default baseline, completed by ALLOW policies
			}
		}
	case !sp.selects():
		scope = "every workload of namespace " + ns
	default:
		scope = "the workloads with labels " + labelText(sp.Selector) + " in namespace " + ns
	}
	if ix.allow[ns]+ix.allow[ix.root] > 0 {
		return // other ALLOW policies admit chosen requests: the allow-nothing policy is the usual baseline
	}
	f := analysis.Finding{
		Subject:   o.Key,
		Message:   fmt.Sprintf("%s is an ALLOW policy without rules: it matches no request, and because an ALLOW policy applies, %s deny every request (403 'RBAC: access denied'; TCP connections are closed). No other ALLOW policy in %s or the root namespace admits any request. This is the documented allow-nothing policy: fine if the lockdown is intended.", o.Ref(), scope, ns),
		Locations: []analysis.Location{analysis.LocationOf(o, snapshot.P("spec"))},
		Evidence:  []string{"spec.rules: none, action ALLOW", fmt.Sprintf("ALLOW policies with rules in %s or %s: none", ns, ix.root)},
		Remedy:    "If requests should reach these workloads, add ALLOW policies for them (or rules to this one: `rules: [{}]` allows everything); if not, nothing to change.",
		Key:       "allow-nothing",
	}
	// Evidence that traffic is expected: the same namespace fine-tunes
	// which requests to deny, audit or send to an external authorizer.
	for _, other := range ix.byNS[ns] {
		oap := authzPolicy(other)
		if other == o || oap.GetAction() == secv1beta1.AuthorizationPolicy_ALLOW || len(oap.GetRules()) == 0 {
			continue
		}
		osp, _ := scopedPolicyOf(other)
		if sp.selects() && osp.selects() && !labels.SelectorFromSet(osp.Selector).Matches(labels.Set(sp.Selector)) && !labels.SelectorFromSet(sp.Selector).Matches(labels.Set(osp.Selector)) {
			continue
		}
		f.Severity = analysis.Warning
		f.Message = fmt.Sprintf("%s is an ALLOW policy without rules: it matches no request, so %s deny every request (403 'RBAC: access denied'). Yet %s (%s) selects the same workloads to filter requests, which only makes sense if some are meant to get through: no ALLOW policy in %s or the root namespace admits any.", o.Ref(), scope, other.Ref(), oap.GetAction(), ns)
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s: action %s with %d rule(s)", other.Ref(), oap.GetAction(), len(oap.GetRules())))
		f.Related = append(f.Related, analysis.RelatedOf(other, "filters requests the allow-nothing policy already denies"))
		f.Remedy = "Add an ALLOW policy (or rules in this one) for the requests that should get through; `rules: [{}]` allows every request and leaves the filtering to the other policies."
		break
	}
	p.Report(f)
}

// identityFields are the source conditions that need a peer identity,
// which only mTLS carries.
var identityFields = []string{"principals", "namespaces", "serviceAccounts", "when:source.principal", "when:source.namespace", "when:source.serviceAccount"}

// AuthzIdentityWithoutMTLS: principals or namespaces conditions on
// workloads that still accept plaintext.
var AuthzIdentityWithoutMTLS = &analysis.Analyzer{
	Code:     "MD306",
	Name:     "authz-identity-without-strict-mtls",
	Severity: analysis.Warning,
	Summary:  "An AuthorizationPolicy matches on source principals or namespaces for workloads whose PeerAuthentication is not STRICT: plaintext requests carry no identity, so DENY rules let them through (and ALLOW rules deny them).",
	Doc:      doc("MD306"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindAuthzPolicy)},
	Reads: mergeReads(secMembershipReads(), policySpecReads(), templateReads("spec.containers.ports"),
		map[schema.GroupKind][]string{snapshot.KindPod: {"spec.containers.ports"}}),
	Requires: []*analysis.Fact{facts.MeshConfig, PeerAuthFact},
	Run: func(p *analysis.Pass) error {
		root := p.ResultOf(facts.MeshConfig).(*facts.Mesh).RootNamespace()
		pt := &plaintextIndex{
			w: newWorkloadIndex(p.Snapshot), pa: p.ResultOf(PeerAuthFact).(*PeerAuths), root: root,
			denies: newPlaintextDenyIndex(p.Snapshot), memo: map[string][]plainPort{},
		}
		for _, o := range p.Snapshot.List(snapshot.KindAuthzPolicy) {
			ap := authzPolicy(o)
			sp, _ := scopedPolicyOf(o)
			if ap == nil || len(sp.TargetRefs) > 0 {
				continue
			}
			action := ap.GetAction()
			if action != secv1beta1.AuthorizationPolicy_ALLOW && action != secv1beta1.AuthorizationPolicy_DENY {
				continue
			}
			byRule := map[int][]sourceValue{}
			for _, sv := range sourceValues(ap, identityFields...) {
				byRule[sv.rule] = append(byRule[sv.rule], sv)
			}
			scope := o.Key.Namespace
			if scope == root {
				scope = snapshot.AllNamespaces
			}
			for _, ri := range sortedInts(byRule) {
				rule := ap.GetRules()[ri]
				if identitylessEntry(rule, action) {
					continue // the same rule already decides requests without a peer identity
				}
				hits := pt.hits(scope, sp.Selector, rulePortList(rule))
				if len(hits) == 0 {
					continue
				}
				reportIdentityWithoutMTLS(p, o, ri, action, byRule[ri][0], hits)
			}
		}
		return nil
	},
}

func reportIdentityWithoutMTLS(p *analysis.Pass, o *snapshot.Object, ri int, action secv1beta1.AuthorizationPolicy_Action, sv sourceValue, hits []plainPort) {
	f := analysis.Finding{
		Subject:   o.Key,
		Locations: []analysis.Location{analysis.LocationOf(o, sv.path)},
		Evidence:  []string{fmt.Sprintf("%s: %q (needs the peer identity of an mTLS connection)", sv.path, sv.value)},
		Key:       fmt.Sprintf("rule-%d", ri),
	}
	// Only the first workloads are named: the list is shared by every
	// policy with the same selection, and may hold the whole mesh.
	var names []*snapshot.Object
	for i, h := range hits {
		if i == 3 {
			break
		}
		names = append(names, h.wl)
		port := ""
		if h.port != 0 {
			port = fmt.Sprintf(" port %d", h.port)
		}
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s%s: PeerAuthentication mode %s (%s)", h.wl.Ref(), port, h.res.Mode, modeSource(h.res)))
		if len(h.res.From) > 0 {
			f.Related = append(f.Related, analysis.RelatedOf(h.res.From[0], "PeerAuthentication in force for "+h.wl.Ref()))
		}
	}
	workloads := refList(names, 3)
	if len(hits) > 3 {
		workloads += fmt.Sprintf(", and %d more", len(hits)-3)
	}
	mode := hits[0].res.Mode
	if action == secv1beta1.AuthorizationPolicy_DENY {
		f.Message = fmt.Sprintf("%s rule %d denies by %s, but the workloads it applies to (%s) accept plaintext (mode %s): a plaintext request has no peer identity, so the DENY rule never matches it and a client outside the mesh (or one sending plaintext) bypasses the deny.", o.Ref(), ri, sv.field, workloads, mode)
		f.Remedy = "Make the PeerAuthentication of these workloads STRICT (spec.mtls.mode: STRICT), or also deny requests without an identity: add a DENY policy (or a `from` entry in this rule) with `source: {notPrincipals: [\"*\"]}`."
	} else {
		f.Severity = analysis.Info
		f.Message = fmt.Sprintf("%s rule %d allows by %s, and the workloads it applies to (%s) also accept plaintext (mode %s): a plaintext request has no peer identity, so clients without a sidecar connect but are denied with 403 by this rule. Fine when only mesh clients should get through; STRICT mTLS states that intent and rejects them at the handshake.", o.Ref(), ri, sv.field, workloads, mode)
		f.Remedy = "Make the PeerAuthentication of these workloads STRICT if only mesh clients should call them; if plaintext clients must get through, admit them in another `from` entry of this rule (e.g. `source: {ipBlocks: [...]}`)."
	}
	p.Report(f)
}

// identitylessEntry tells whether a rule already decides requests without
// a peer identity through another `from` entry (entries are ORed): for
// ALLOW, an entry with no principals/namespaces/serviceAccounts admits
// them (ipBlocks, requestPrincipals, negated identities); for DENY, an
// entry with only negated identities (notPrincipals, notNamespaces,
// notServiceAccounts) matches every one of them. A `when` on the peer
// identity applies to every entry, so it rules this out.
func identitylessEntry(r *secv1beta1.Rule, action secv1beta1.AuthorizationPolicy_Action) bool {
	for _, c := range r.GetWhen() {
		switch c.GetKey() {
		case "source.principal", "source.namespace", "source.serviceAccount":
			return false
		}
	}
	for _, from := range r.GetFrom() {
		s := from.GetSource()
		if s == nil || len(s.GetPrincipals())+len(s.GetNamespaces())+len(s.GetServiceAccounts()) > 0 {
			continue
		}
		if action == secv1beta1.AuthorizationPolicy_ALLOW || onlyNegatedIdentity(s) {
			return true
		}
	}
	return false
}

// onlyNegatedIdentity: a source that sets only negated peer-identity
// fields, which every request without a peer identity matches.
func onlyNegatedIdentity(s *secv1beta1.Source) bool {
	neg := len(s.GetNotPrincipals()) + len(s.GetNotNamespaces()) + len(s.GetNotServiceAccounts())
	other := len(s.GetPrincipals()) + len(s.GetNamespaces()) + len(s.GetServiceAccounts()) +
		len(s.GetIpBlocks()) + len(s.GetNotIpBlocks()) + len(s.GetRemoteIpBlocks()) + len(s.GetNotRemoteIpBlocks()) +
		len(s.GetRequestPrincipals()) + len(s.GetNotRequestPrincipals())
	return neg > 0 && other == 0
}

// plainPort is a workload port that accepts plaintext (port 0: the
// workload as a whole) and the PeerAuthentication mode that decides it.
type plainPort struct {
	wl   *snapshot.Object
	port int32
	res  Resolved
}

// plaintextIndex answers, once per distinct (scope, selector, ports), which
// selected workloads accept plaintext on those ports and are not covered
// by a DENY policy that rejects requests without a peer identity.
type plaintextIndex struct {
	w      *workloadIndex
	pa     *PeerAuths
	root   string
	denies *plaintextDenyIndex
	memo   map[string][]plainPort
	// byWorkload caches the plaintext ports of a workload for rules not
	// limited by port.
	byWorkload map[*snapshot.Object]*plainPort
}

func (pt *plaintextIndex) hits(scope string, sel map[string]string, ports []int32) []plainPort {
	key := fmt.Sprintf("%s|%v", selectorKey(scope, sel), ports)
	if h, ok := pt.memo[key]; ok {
		return h
	}
	var out []plainPort
	for _, wl := range pt.w.selectIn(scope, labels.SelectorFromSet(sel)) {
		if pt.w.dataplane(wl) == DataplaneNone || waypointWorkload(wl) {
			continue // no proxy, or a waypoint: it takes only targetRef policies
		}
		if pl, ok := pt.plaintext(wl, ports); ok && !pt.denies.covers(wl, pl.port, pt.root) {
			out = append(out, pl)
		}
	}
	pt.memo[key] = out
	return out
}

// plaintext returns a port of wl that accepts plaintext: among ports when
// the rule is limited to them, else the workload as a whole or any of its
// container ports.
func (pt *plaintextIndex) plaintext(wl *snapshot.Object, ports []int32) (plainPort, bool) {
	spec, _, l, _ := snapshot.PodSpecOf(wl)
	ns := wl.Key.Namespace
	if len(ports) > 0 {
		for _, port := range ports {
			if res := pt.pa.Mode(ns, l, port); res.Mode != ModeStrict {
				return plainPort{wl, port, res}, true
			}
		}
		return plainPort{}, false
	}
	if pt.byWorkload == nil {
		pt.byWorkload = map[*snapshot.Object]*plainPort{}
	}
	if pl, ok := pt.byWorkload[wl]; ok {
		if pl == nil {
			return plainPort{}, false
		}
		return *pl, true
	}
	var found *plainPort
	if res := pt.pa.Mode(ns, l, 0); res.Mode != ModeStrict {
		found = &plainPort{wl, 0, res}
	} else if spec != nil {
	ports:
		for _, c := range spec.Containers {
			for _, cp := range c.Ports {
				if res := pt.pa.Mode(ns, l, cp.ContainerPort); res.Mode != ModeStrict {
					found = &plainPort{wl, cp.ContainerPort, res}
					break ports
				}
			}
		}
	}
	pt.byWorkload[wl] = found
	if found == nil {
		return plainPort{}, false
	}
	return *found, true
}

// plaintextDeny is a DENY policy rule that matches every request without a
// peer identity (a `from` entry with only notPrincipals, notNamespaces or
// notServiceAccounts, or no `from` at all), on every port or on ports.
type plaintextDeny struct {
	Object *snapshot.Object
	sel    labels.Selector
	ports  map[int32]bool // nil: every port
}

// plaintextDenyIndex holds those DENY rules by namespace.
type plaintextDenyIndex struct {
	byNS map[string][]plaintextDeny
}

func newPlaintextDenyIndex(s *snapshot.Snapshot) *plaintextDenyIndex {
	ix := &plaintextDenyIndex{byNS: map[string][]plaintextDeny{}}
	for _, o := range s.List(snapshot.KindAuthzPolicy) {
		ap := authzPolicy(o)
		sp, _ := scopedPolicyOf(o)
		if ap == nil || len(sp.TargetRefs) > 0 || ap.GetAction() != secv1beta1.AuthorizationPolicy_DENY {
			continue
		}
		for _, r := range ap.GetRules() {
			if len(r.GetWhen()) > 0 {
				continue
			}
			ports, ok := onlyPorts(r)
			if !ok {
				continue
			}
			matchesAll := len(r.GetFrom()) == 0
			for _, from := range r.GetFrom() {
				if s := from.GetSource(); s != nil && onlyNegatedIdentity(s) {
					matchesAll = true
				}
			}
			if matchesAll {
				ix.byNS[o.Key.Namespace] = append(ix.byNS[o.Key.Namespace], plaintextDeny{o, sp.labelSelector(), ports})
			}
		}
	}
	return ix
}

// onlyPorts reads a rule's `to`: ok when every operation sets at most
// numeric ports (nil ports: no `to`, every port).
func onlyPorts(r *secv1beta1.Rule) (map[int32]bool, bool) {
	if len(r.GetTo()) == 0 {
		return nil, true
	}
	out := map[int32]bool{}
	for _, to := range r.GetTo() {
		op := to.GetOperation()
		if op == nil || len(op.GetPorts()) == 0 || len(op.GetNotPorts())+len(op.GetHosts())+len(op.GetNotHosts())+len(op.GetMethods())+len(op.GetNotMethods())+len(op.GetPaths())+len(op.GetNotPaths()) > 0 {
			return nil, false
		}
		for _, s := range op.GetPorts() {
			n, err := strconv.Atoi(s)
			if err != nil {
				return nil, false
			}
			out[int32(n)] = true
		}
	}
	return out, true
}

// covers tells whether a DENY rule of the workload's namespace or the root
// namespace rejects plaintext requests to port of wl (0: any port, which
// only a rule on every port covers).
func (ix *plaintextDenyIndex) covers(wl *snapshot.Object, port int32, root string) bool {
	if len(ix.byNS) == 0 {
		return false
	}
	l := labels.Set(labelsOf(wl))
	for _, ns := range []string{wl.Key.Namespace, root} {
		for _, d := range ix.byNS[ns] {
			if (d.ports == nil || (port != 0 && d.ports[port])) && d.sel.Matches(l) {
				return true
			}
		}
		if ns == root {
			break
		}
	}
	return false
}

func modeSource(r Resolved) string {
	if len(r.From) == 0 {
		return "no PeerAuthentication applies: PERMISSIVE by default"
	}
	return "from " + r.From[0].Ref()
}

func sortedInts[V any](m map[int]V) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

// rulePortList is rulePorts, sorted.
func rulePortList(r *secv1beta1.Rule) []int32 {
	m := rulePorts(r)
	if m == nil {
		return nil
	}
	out := make([]int32, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// rulePorts returns the numeric ports a rule is limited to, or nil when any
// operation of it is not limited by port.
func rulePorts(r *secv1beta1.Rule) map[int32]bool {
	if len(r.GetTo()) == 0 {
		return nil
	}
	out := map[int32]bool{}
	for _, to := range r.GetTo() {
		ps := to.GetOperation().GetPorts()
		if len(ps) == 0 {
			return nil
		}
		for _, s := range ps {
			n, err := strconv.Atoi(s)
			if err != nil {
				return nil
			}
			out[int32(n)] = true
		}
	}
	return out
}
