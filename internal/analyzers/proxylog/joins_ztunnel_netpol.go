package proxylog

import (
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/accesslog"
	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/cni"
	"github.com/meshdoctor/meshdoctor/internal/netpol"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// ZtunnelConnectPolicyDrop joins ztunnel connect timeouts to the network
// policy that drops them.
var ZtunnelConnectPolicyDrop = &analysis.Analyzer{
	Code:     "MD613",
	Name:     "log-ztunnel-connect-network-policy-drop",
	Severity: analysis.Error,
	Summary:  "ztunnel logged outbound connects that timed out — HBONE to port 15008 (\"maybe a NetworkPolicy is blocking HBONE port 15008\") or plain TCP — toward pods whose ingress policy, or the source pod's egress policy, drops that connection as the CNI sees it: ambient carries pod-to-pod traffic to port 15008, not to the application's port.",
	Doc:      doc("MD613"),
	Inputs:   []analysis.Input{analysis.AccessLogGroups(), analysis.Kinds(netpol.PolicyKinds...)},
	Reads: map[schema.GroupKind][]string{
		snapshot.KindPod: {"status.podIP", "status.podIPs", "spec.nodeName", "spec.hostNetwork"},
	},
	Requires: []*analysis.Fact{cni.CiliumCoverage, netpol.Fact},
	Run:      runZtunnelPolicyDrop,
}

// connectTimedOut tells the errors of an outbound connect that got no
// answer within ztunnel's connect timeout (src/proxy.rs: freebind_connect
// wraps tokio's Elapsed, "deadline has elapsed", in a TimedOut io error).
// Toward :15008 the connection pool turns it into
// MaybeHBONENetworkPolicyError; a plain-TCP connect returns it as an io
// error, and so did the pool before that variant existed.
func connectTimedOut(e string) bool {
	l := strings.ToLower(e)
	return strings.HasPrefix(l, "connection timed out, maybe a networkpolicy is blocking hbone port 15008") ||
		l == "io error: deadline has elapsed"
}

// dropped is a sample whose connect the policy drops.
type dropped struct {
	line     ztunnelLine
	src, dst *snapshot.Object
	v        netpol.Verdict
	// appAllowed: the same source may reach the HBONE target's own port
	// (dst.hbone_addr) — the policy admits the application, not HBONE.
	appAllowed bool
	srcView    netpol.Peer
	managed    bool
}

func runZtunnelPolicyDrop(p *analysis.Pass) error {
	cov := p.ResultOf(cni.CiliumCoverage).(*cni.Coverage)
	ev, _ := p.ResultOf(netpol.Fact).(*netpol.Evaluator)
	if ev == nil {
		return nil
	}
	pods := newZtunnelPods(p.Snapshot)
	al := p.Snapshot.AccessLogs()
	for i := range al.Summary.Groups {
		g := &al.Summary.Groups[i]
		if g.Failures == 0 || !connectTimedOut(g.Key.Error) {
			continue
		}
		var hits []dropped
		for _, l := range ztunnelSamples(g) {
			if !l.outbound || !l.dst.IsValid() || !connectTimedOut(l.err) {
				continue // inbound connects stay inside the pod, where no policy applies
			}
			dst := pods.byIP[l.dst.Addr().Unmap()]
			src := pods.find(l.srcNS, l.srcWorkload, l.src.Addr())
			if dst == nil || src == nil {
				continue
			}
			// In-pod ambient: ztunnel opens the connection inside the source
			// pod's network namespace, so the CNI sees the source pod (as
			// Cilium sees it: a pod on a node it does not manage is world).
			managed := nodeManaged(cov, src)
			srcView := ev.PodPeer(src)
			if ev.Options().Engine == netpol.EngineCilium {
				srcView = ev.CiliumView(src, managed, netip.Addr{})
			}
			c := ev.Check(srcView, ev.PodPeer(dst), l.dst.Port(), "TCP")
			if c.Allowed {
				continue
			}
			v := c.Egress
			if v == nil || v.Allowed {
				v = c.Ingress
				if ev.Options().Engine == netpol.EngineCilium && !nodeManaged(cov, dst) {
					continue // no Cilium agent there enforces the destination's ingress
				}
			}
			if v == nil || len(v.Deciding) == 0 {
				continue
			}
			h := dropped{line: l, src: src, dst: dst, v: *v, srcView: srcView, managed: managed}
			if l.dst.Port() == hbonePort && l.hbone.IsValid() && l.hbone.Addr().Unmap() == l.dst.Addr().Unmap() {
				h.appAllowed = ev.Check(srcView, ev.PodPeer(dst), l.hbone.Port(), "TCP").Allowed
			}
			hits = append(hits, h)
		}
		if len(hits) > 0 {
			reportZtunnelDrop(p, g, al, hits)
		}
	}
	return nil
}

func reportZtunnelDrop(p *analysis.Pass, g *accesslog.Group, al *snapshot.AccessLogs, hits []dropped) {
	var lines []ztunnelLine
	for _, h := range hits {
		lines = append(lines, h.line)
	}
	f := ztunnelFinding(g, al.Summary.Matched, lines)
	seenRef := map[string]bool{}
	for _, h := range hits {
		for _, r := range h.v.Deciding {
			k := r.Policy.Ref() + " " + r.Path.String()
			if seenRef[k] {
				continue
			}
			seenRef[k] = true
			if len(f.Locations) == 0 {
				f.Subject = r.Policy.Key
			}
			f.Locations = append(f.Locations, analysis.LocationOf(r.Policy, r.Path))
		}
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s: %s → %s is %s → %s; verdict: %s", h.line.where(), h.line.src, h.line.dst, h.src.Ref(), h.dst.Ref(), h.v.Reason))
	}
	addLogLocations(&f, lines, al.Writers)
	h := hits[0]
	f.Related = []analysis.Related{analysis.RelatedOf(h.src, "the source pod (ztunnel connects from its network namespace)"), analysis.RelatedOf(h.dst, "the pod ztunnel connected to")}
	port := h.line.dst.Port()
	var refs []string
	isolatedOnly := true
	for _, r := range h.v.Deciding {
		refs = append(refs, r.String())
		isolatedOnly = isolatedOnly && r.Role == netpol.RoleSelect
	}
	how := "denied by " + strings.Join(refs, "; ")
	if isolatedOnly {
		how = "isolated by " + strings.Join(refs, "; ") + ", and no rule admits it"
	}
	side := fmt.Sprintf("the ingress policy of %s drops connections from %s on port %d", h.dst.Ref(), h.src.Ref(), port)
	if h.v.Direction == netpol.Egress {
		side = fmt.Sprintf("the egress policy of %s drops its connections to %s on port %d", h.src.Ref(), h.dst.Ref(), port)
	}
	what := "plain-TCP connects"
	if port == hbonePort {
		what = "HBONE connects"
	}
	f.Message = fmt.Sprintf("%s through ztunnel toward %s failed with %q: the %s to %s timed out because %s (%s).", plural(g.Failures, "connection"), orDash(g.Key.Service), g.Key.Error, what, h.line.dst, side, how)
	if h.appAllowed {
		f.Message += fmt.Sprintf(" The policy admits the application's port %d between the two pods, but ambient carries pod-to-pod traffic over HBONE to port %d, which it does not admit (MD413 finds such policies without logs).", h.line.hbone.Port(), hbonePort)
	}
	if !h.managed {
		f.Message += fmt.Sprintf(" The source runs on a node Cilium does not manage, so Cilium sees it as %s.", h.srcView.Class)
	}
	f.Message += othersNote(g, lines)
	if port == hbonePort {
		f.Remedy = fmt.Sprintf("Admit TCP %d from the same peers in the rule that admits the application's port (ingress of %s; and egress of %s if a policy isolates its egress); confirm with `hubble observe --verdict DROPPED --to-port %d` or the CNI's drop counters.", hbonePort, h.dst.Ref(), h.src.Ref(), hbonePort)
	} else {
		f.Remedy = fmt.Sprintf("Admit TCP %d from %s in the policy named above, or fix its peers; confirm with `hubble observe --verdict DROPPED --to-port %d` or the CNI's drop counters.", port, h.src.Ref(), port)
	}
	p.Report(f)
}

// nodeManaged tells whether Cilium manages the pod's node (true when
// unknown, as MD610 takes it).
func nodeManaged(cov *cni.Coverage, pod *snapshot.Object) bool {
	if cov.Known {
		if n := cov.Nodes[pod.Typed.(*corev1.Pod).Spec.NodeName]; n != nil {
			return n.Managed
		}
	}
	return true
}
