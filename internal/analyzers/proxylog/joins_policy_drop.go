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

// UFPolicyDrop joins connect failures to the network policy that drops
// the caller, as the enforcing CNI sees it (incident d).
var UFPolicyDrop = &analysis.Analyzer{
	Code:     "MD610",
	Name:     "log-uf-network-policy-drop",
	Severity: analysis.Error,
	Summary:  "Proxies logged 503 UF (connection failure or timeout) toward pods whose network policy drops the calling proxy's pod as the CNI sees it — for a caller on a node Cilium does not manage, as world.",
	Doc:      doc("MD610"),
	Inputs:   []analysis.Input{analysis.AccessLogGroups(), analysis.Kinds(netpol.PolicyKinds...)},
	Reads: map[schema.GroupKind][]string{
		snapshot.KindPod: {"status.podIP", "status.podIPs", "spec.nodeName"},
	},
	Requires: []*analysis.Fact{cni.CiliumCoverage, netpol.Fact},
	Run:      runPolicyDrop,
}

// connectFailed tells a group of failed or timed-out connects.
func connectFailed(k accesslog.Key) bool {
	if !hasFlag(k.Flags, "UF") && !hasFlag(k.Flags, "UT") && !hasFlag(k.Flags, "URX") {
		return false
	}
	d := strings.ToLower(k.Details)
	return d == "" || d == "-" || strings.Contains(d, "connection_failure") || strings.Contains(d, "connection_timeout") || strings.Contains(d, "timeout")
}

func runPolicyDrop(p *analysis.Pass) error {
	cov := p.ResultOf(cni.CiliumCoverage).(*cni.Coverage)
	ev, _ := p.ResultOf(netpol.Fact).(*netpol.Evaluator)
	if ev == nil {
		return nil
	}
	podByIP := map[netip.Addr]*snapshot.Object{}
	for _, o := range p.Snapshot.List(snapshot.KindPod) {
		if pod, ok := o.Typed.(*corev1.Pod); ok && !pod.Spec.HostNetwork {
			if ip := netpol.PodIP(o); ip.IsValid() {
				podByIP[ip] = o
			}
		}
	}
	al := p.Snapshot.AccessLogs()
	for i := range al.Summary.Groups {
		g := &al.Summary.Groups[i]
		if g.Failures == 0 || !connectFailed(g.Key) {
			continue
		}
		rec, ok := sampleRecord(g)
		if !ok {
			continue
		}
		caller := writerPod(p.Snapshot, al, g, rec)
		up, _ := rec.Value(accesslog.FieldUpstreamHost)
		ap, err := netip.ParseAddrPort(string(up))
		if caller == nil || err != nil {
			continue
		}
		dst := podByIP[ap.Addr()]
		if dst == nil {
			continue
		}
		managed := true
		if cov.Known {
			if n := cov.Nodes[caller.Typed.(*corev1.Pod).Spec.NodeName]; n != nil {
				managed = n.Managed
			}
		}
		src := ev.PodPeer(caller)
		if ev.Options().Engine == netpol.EngineCilium {
			src = ev.CiliumView(caller, managed, netip.Addr{})
		}
		v := ev.Ingress(src, dst, ap.Port(), "TCP")
		if v.Allowed {
			continue
		}
		f := logFinding(g, al.Summary.Matched)
		var refs []string
		for _, r := range v.Deciding {
			if len(f.Locations) == 0 {
				f.Subject = r.Policy.Key
			}
			f.Locations = append(f.Locations, analysis.LocationOf(r.Policy, r.Path))
			refs = append(refs, r.String())
		}
		if len(f.Locations) == 0 {
			continue
		}
		f.Locations = append(f.Locations, logLocation(g, al))
		f.Related = []analysis.Related{analysis.RelatedOf(caller, "the calling proxy's pod"), analysis.RelatedOf(dst, "the upstream pod the connects went to")}
		f.Evidence = append(f.Evidence, fmt.Sprintf("upstream host %s is %s", ap, dst.Ref()), "verdict: "+v.Reason)
		cause := fmt.Sprintf("the network policy of %s drops connections from %s on port %d (%s)", dst.Ref(), caller.Ref(), ap.Port(), strings.Join(refs, "; "))
		if !managed {
			asPod := ev.Ingress(ev.PodPeer(caller), dst, ap.Port(), "TCP")
			n := cov.Nodes[caller.Typed.(*corev1.Pod).Spec.NodeName]
			f.Evidence = append(f.Evidence, fmt.Sprintf("the caller runs on node %s, which Cilium does not manage (%s): Cilium sees it as %s", n.Name, n.Why, src.Class))
			if asPod.Allowed {
				cause = fmt.Sprintf("%s would admit %s as the pod it is, but the caller runs on node %s, which Cilium does not manage, so Cilium sees its connections as %s and drops them (POLICY_DENIED) — incident (d); MD410 names the rule and the fix", dst.Ref(), caller.Ref(), n.Name, src.Class)
			}
		}
		f.Message = fmt.Sprintf("%s failed with %s (%s) toward %s: %s.", plural(g.Failures, "request"), g.Key.Flags, g.Key.Details, ap, cause)
		f.Remedy = "Confirm the drops where the policy is enforced (`hubble observe --verdict DROPPED --to-pod " + dst.Key.Namespace + "/" + dst.Key.Name + "`, or `cilium monitor --type drop` on the node), then admit the caller: fix the policy's peers, or — during a CNI migration — keep enforcement off until every node runs Cilium (see MD410)."
		p.Report(f)
	}
	return nil
}
