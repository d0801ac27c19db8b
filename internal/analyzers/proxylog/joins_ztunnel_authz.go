package proxylog

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	secv1beta1 "istio.io/api/security/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/accesslog"
	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/facts"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/istio"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// ZtunnelAuthzRejection joins ztunnel's policy rejections to the
// AuthorizationPolicy that causes them.
var ZtunnelAuthzRejection = &analysis.Analyzer{
	Code:     "MD614",
	Name:     "log-ztunnel-authorization-policy-rejection",
	Severity: analysis.Error,
	Summary:  "ztunnel closed connections to an ambient workload with \"connection closed due to policy rejection\": the DENY AuthorizationPolicy the line names matches them, or the workload's ALLOW policies admit none of them — by identity, namespace, address or port, or because their only matching rules use HTTP attributes, which istiod leaves out of what it sends ztunnel.",
	Doc:      doc("MD614"),
	Inputs:   []analysis.Input{analysis.AccessLogGroups(), analysis.Kinds(snapshot.KindAuthzPolicy)},
	Reads: map[schema.GroupKind][]string{
		snapshot.KindAuthzPolicy: {"spec"},
		snapshot.KindPod:         {"status.podIP", "status.podIPs", "spec.hostNetwork"},
	},
	Requires: []*analysis.Fact{facts.MeshConfig},
	Run:      runZtunnelAuthz,
}

// ztunnel's AuthorizationPolicyRejection (src/proxy.rs) and the reasons
// AuthorizationRejectionError prints after it; older ztunnel printed no
// reason.
const (
	policyRejection  = "connection closed due to policy rejection"
	rejectNotAllowed = "allow policies exist, but none allowed"
	rejectDeniedBy   = "explicitly denied by: "
	// Names istiod gives the DENY policies it derives from
	// PeerAuthentications (pilot/pkg/model/authentication.go,
	// .../ambient/authorization.go).
	staticStrictPolicy = "istio_converted_static_strict"
	convertedPAPrefix  = "converted_peer_authentication_"
)

// rejection takes a rejection error apart: its reason, and for an
// explicit denial the policy's namespace and name.
type rejection struct {
	reason   string
	ns, name string
}

func parseRejection(e string) (rejection, bool) {
	rest, ok := strings.CutPrefix(e, policyRejection)
	if !ok {
		return rejection{}, false
	}
	r := rejection{reason: strings.TrimPrefix(rest, ": ")}
	if ref, ok := strings.CutPrefix(r.reason, rejectDeniedBy); ok {
		r.ns, r.name, _ = strings.Cut(ref, "/")
	}
	return r, true
}

// peerAuthDerived tells a denial by a policy istiod derives from a
// PeerAuthentication.
func (r rejection) peerAuthDerived() bool {
	return r.name == staticStrictPolicy || strings.HasPrefix(r.name, convertedPAPrefix)
}

// conn is the connection a sample's authorization saw.
func (l *ztunnelLine) conn() istio.ZtunnelConn {
	t := l.target()
	return istio.ZtunnelConn{Identity: l.identity, SrcIP: l.src.Addr().Unmap(), DstIP: t.Addr().Unmap(), DstPort: t.Port()}
}

// peer names the connection's source for messages.
func (l *ztunnelLine) peer() string {
	if l.identity != "" {
		return strings.TrimPrefix(l.identity, "spiffe://")
	}
	return l.src.Addr().String() + " (plaintext, no identity)"
}

// authzHit is a sample the configuration explains.
type authzHit struct {
	line ztunnelLine
	pod  *snapshot.Object // nil when the input lacks it
	// deny is the DENY policy that matches; allows the ALLOW policies, none
	// of which admits the connection.
	deny   *istio.ZtunnelVerdict
	allows []istio.ZtunnelVerdict
}

func runZtunnelAuthz(p *analysis.Pass) error {
	root := p.ResultOf(facts.MeshConfig).(*facts.Mesh).RootNamespace()
	pods := newZtunnelPods(p.Snapshot)
	al := p.Snapshot.AccessLogs()
	for i := range al.Summary.Groups {
		g := &al.Summary.Groups[i]
		rj, ok := parseRejection(g.Key.Error)
		if g.Failures == 0 || !ok || rj.peerAuthDerived() {
			continue
		}
		if rj.name == "" && rj.reason != "" && rj.reason != rejectNotAllowed {
			continue // workload not found / mismatch: ztunnel's state, not a policy
		}
		var hits []authzHit
		for _, l := range ztunnelSamples(g) {
			if l.outbound || !l.dst.IsValid() || l.err != g.Key.Error {
				continue // the destination's ztunnel decides and logs the rejection
			}
			t := l.target()
			pod := pods.find(l.dstNS, l.dstWorkload, t.Addr())
			if h, ok := explainRejection(p, root, rj, l, pod); ok {
				hits = append(hits, h)
			}
		}
		if len(hits) > 0 {
			reportAuthz(p, g, al, hits)
		}
	}
	return nil
}

// explainRejection decides whether the configuration explains one
// rejected connection.
func explainRejection(p *analysis.Pass, root string, rj rejection, l ztunnelLine, pod *snapshot.Object) (authzHit, bool) {
	c := l.conn()
	h := authzHit{line: l, pod: pod}
	if rj.name != "" {
		o := p.Snapshot.Get(snapshot.KindAuthzPolicy, rj.ns, rj.name)
		if o == nil {
			if !p.Snapshot.Has(snapshot.KindAuthzPolicy) {
				p.NotChecked("ztunnel rejection by %s/%s: the input has no AuthorizationPolicies", rj.ns, rj.name)
			}
			return h, false // deleted since: the rejections predate the input
		}
		typed, ok := o.Typed.(*securityv1.AuthorizationPolicy)
		if !ok || !istio.ZtunnelEnforces(o) || typed.Spec.GetAction() != secv1beta1.AuthorizationPolicy_DENY {
			return h, false
		}
		switch {
		case pod != nil:
			if pols, _ := istio.ZtunnelPolicies(p.Snapshot, root, pod); !contains(pols, o) {
				return h, false // it no longer applies to the workload
			}
		case typed.Spec.GetSelector() != nil || (rj.ns != l.dstNS && rj.ns != root):
			p.NotChecked("ztunnel rejection by %s: the input lacks Pod %s/%s, so whether the policy still selects it is unknown", o.Ref(), l.dstNS, l.dstWorkload)
			return h, false
		}
		v := istio.ZtunnelEvaluate(o, c)
		if v.Match == istio.NoMatch {
			return h, false // its rules no longer match the connection
		}
		h.deny = &v
		return h, true
	}
	if pod == nil {
		p.NotChecked("ztunnel policy rejection toward %s/%s: the input lacks that Pod, so the AuthorizationPolicies that select it are unknown", l.dstNS, l.dstWorkload)
		return h, false
	}
	pols, unreadable := istio.ZtunnelPolicies(p.Snapshot, root, pod)
	if len(unreadable) > 0 {
		p.NotChecked("ztunnel policy rejection toward %s: %s could not be read, and may admit or deny the connection", pod.Ref(), unreadable[0].Ref())
		return h, false
	}
	var allows []istio.ZtunnelVerdict
	for _, o := range pols {
		v := istio.ZtunnelEvaluate(o, c)
		switch {
		case v.Deny && v.Match == istio.Matches && rj.reason == "":
			// Older ztunnel printed no reason: a DENY that matches is it.
			h.deny = &v
			return h, true
		case v.Deny && v.Match != istio.NoMatch:
			return h, false // ztunnel would name the DENY policy now
		case !v.Deny && v.Match != istio.NoMatch:
			return h, false // an ALLOW policy admits (or may admit) it now
		case !v.Deny:
			allows = append(allows, v)
		}
	}
	if len(allows) == 0 {
		return h, false // no ALLOW policy applies now: everything is admitted
	}
	h.allows = allows
	return h, true
}

func contains(objs []*snapshot.Object, o *snapshot.Object) bool {
	for _, x := range objs {
		if x == o {
			return true
		}
	}
	return false
}

func reportAuthz(p *analysis.Pass, g *accesslog.Group, al *snapshot.AccessLogs, hits []authzHit) {
	var lines []ztunnelLine
	for _, h := range hits {
		lines = append(lines, h.line)
	}
	f := ztunnelFinding(g, al.Summary.Matched, lines)
	seenLoc := map[string]bool{}
	addLoc := func(o *snapshot.Object, at snapshot.Path) {
		k := o.Ref() + at.String()
		if seenLoc[k] {
			return
		}
		seenLoc[k] = true
		if len(f.Locations) == 0 {
			f.Subject = o.Key
		}
		f.Locations = append(f.Locations, analysis.LocationOf(o, at))
	}
	h := hits[0]
	t := h.line.target()
	toward := fmt.Sprintf("%s port %d", orDash(g.Key.Service), t.Port())
	if h.pod != nil {
		toward += " (" + h.pod.Ref() + ")"
		f.Related = append(f.Related, analysis.RelatedOf(h.pod, "the workload ztunnel refused connections to"))
	}
	var peers []string
	for _, x := range hits {
		peers = appendUnique(peers, x.line.peer())
	}
	if h.deny != nil {
		var matched []string
		for _, x := range hits {
			for _, r := range x.deny.Rules {
				if r.Match == istio.NoMatch {
					continue
				}
				addLoc(x.deny.Policy, r.Path)
				matched = appendUnique(matched, fmt.Sprintf("rule %d %s", r.Index, r.Match))
				ev := fmt.Sprintf("%s: %s %s %s the connection from %s to %s", x.line.where(), x.deny.Policy.Ref(), r.Path, r.Match, x.line.peer(), x.line.target())
				if r.Match == istio.MayMatch {
					ev += " (" + r.Why + ")"
				}
				f.Evidence = append(f.Evidence, ev)
			}
		}
		addLogLocations(&f, lines, al.Writers)
		f.Message = fmt.Sprintf("ztunnel closed %s to %s from %s with %q: DENY policy %s applies to the workload and its %s the connection.", plural(g.Failures, "connection"), toward, strings.Join(peers, ", "), g.Key.Error, h.deny.Policy.Ref(), strings.Join(matched, " and "))
		f.Message += othersNote(g, lines)
		f.Remedy = fmt.Sprintf("If this traffic is meant to pass, narrow the DENY rule of %s so it no longer matches %s (or delete the policy); `istioctl ztunnel-config policy` shows what ztunnel enforces.", h.deny.Policy.Ref(), strings.Join(peers, ", "))
		p.Report(f)
		return
	}
	var reasons, names []string
	http := false
	for _, x := range hits {
		for _, v := range x.allows {
			names = appendUnique(names, v.Policy.Ref())
			if len(v.Rules) == 0 {
				addLoc(v.Policy, snapshot.P("spec"))
				reasons = appendUnique(reasons, v.Policy.Ref()+" has no rules, so it admits nothing (allow-nothing)")
				continue
			}
			for _, r := range v.Rules {
				addLoc(v.Policy, r.Path)
				http = http || strings.Contains(r.Why, "HTTP attributes")
				reasons = appendUnique(reasons, fmt.Sprintf("%s rule %d: %s", v.Policy.Ref(), r.Index, r.Why))
			}
		}
	}
	addLogLocations(&f, lines, al.Writers)
	sort.Strings(names)
	f.Evidence = append(f.Evidence, reasons...)
	which := "ALLOW policy " + names[0] + " applies to the workload and does not admit the connection"
	if len(names) > 1 {
		which = "ALLOW policies " + strings.Join(names, ", ") + " apply to the workload and none admits the connection"
	}
	f.Message = fmt.Sprintf("ztunnel closed %s to %s from %s with %q: %s — %s.", plural(g.Failures, "connection"), toward, strings.Join(peers, ", "), g.Key.Error, which, strings.Join(reasons, "; "))
	f.Message += othersNote(g, lines)
	remedy := fmt.Sprintf("Add a rule for the caller to the ALLOW policy meant to admit it — for example from.source.principals: [%s] — or correct the rule that names it", strconv.Quote(h.line.peerPrincipal()))
	if h.line.identity == "" {
		remedy = "The caller is plaintext (not in the mesh), so no principal or namespace rule can admit it: put it in the mesh (ambient or a sidecar), or admit its address with from.source.ipBlocks"
	}
	if http {
		remedy += "; rules with HTTP attributes are enforced only by a waypoint: attach such policies to the waypoint with targetRefs (and enroll the workload with istio.io/use-waypoint), and keep an L4 rule (principals, namespaces, ports) for ztunnel"
	}
	f.Remedy = remedy + ". `istioctl ztunnel-config policy` shows what ztunnel enforces."
	p.Report(f)
}

// peerPrincipal is the source's principal as policies write it.
func (l *ztunnelLine) peerPrincipal() string { return strings.TrimPrefix(l.identity, "spiffe://") }

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
