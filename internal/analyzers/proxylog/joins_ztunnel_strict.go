package proxylog

import (
	"fmt"
	"strconv"

	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/istio"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// ZtunnelStrictPlaintext joins the rejections of plaintext connections to
// the STRICT PeerAuthentication behind them.
var ZtunnelStrictPlaintext = &analysis.Analyzer{
	Code:     "MD615",
	Name:     "log-ztunnel-strict-mtls-plaintext-rejected",
	Severity: analysis.Error,
	Summary:  "ztunnel closed plaintext connections to an ambient workload as \"explicitly denied by\" the policy istiod derives from a STRICT PeerAuthentication (istio_converted_static_strict, converted_peer_authentication_<name>): the client is not in the mesh, and the PeerAuthentication in force for that port refuses connections without an mTLS identity.",
	Doc:      doc("MD615"),
	Inputs:   []analysis.Input{analysis.AccessLogGroups(), analysis.Kinds(snapshot.KindPeerAuth)},
	Reads: func() map[schema.GroupKind][]string {
		r := istio.MembershipReads()
		r[snapshot.KindPod] = append(r[snapshot.KindPod], "status.podIP", "status.podIPs")
		return r
	}(),
	Requires: []*analysis.Fact{istio.PeerAuthFact},
	Run:      runZtunnelStrict,
}

// strictHit is a plaintext connection a STRICT PeerAuthentication refuses.
type strictHit struct {
	line ztunnelLine
	pod  *snapshot.Object
	pa   *snapshot.Object
	at   snapshot.Path
}

func runZtunnelStrict(p *analysis.Pass) error {
	pa := p.ResultOf(istio.PeerAuthFact).(*istio.PeerAuths)
	pods := newZtunnelPods(p.Snapshot)
	al := p.Snapshot.AccessLogs()
	for i := range al.Summary.Groups {
		g := &al.Summary.Groups[i]
		rj, ok := parseRejection(g.Key.Error)
		if g.Failures == 0 || !ok || !rj.peerAuthDerived() {
			continue
		}
		var hits []strictHit
		for _, l := range ztunnelSamples(g) {
			if l.outbound || !l.dst.IsValid() || l.identity != "" || l.err != g.Key.Error {
				continue // the derived DENY matches connections without an identity only
			}
			t := l.target()
			pod := pods.find(l.dstNS, l.dstWorkload, t.Addr())
			if pod == nil {
				p.NotChecked("ztunnel STRICT rejection toward %s/%s: the input lacks that Pod", l.dstNS, l.dstWorkload)
				continue
			}
			res := pa.Mode(pod.Key.Namespace, pod.Labels, int32(t.Port()))
			if res.Mode != istio.ModeStrict || len(res.From) == 0 {
				continue // PERMISSIVE now: fixed since the lines were written
			}
			deciding := res.From[len(res.From)-1] // the last policy consulted set the mode
			at := snapshot.P("spec", "mtls", "mode")
			if typed, ok := deciding.Typed.(*securityv1.PeerAuthentication); ok {
				if pm, ok := typed.Spec.GetPortLevelMtls()[uint32(t.Port())]; ok && pm.GetMode() == istio.ModeStrict && len(typed.Spec.GetSelector().GetMatchLabels()) > 0 {
					at = snapshot.P("spec", "portLevelMtls", strconv.Itoa(int(t.Port())), "mode")
				}
			}
			hits = append(hits, strictHit{line: l, pod: pod, pa: deciding, at: at})
		}
		if len(hits) == 0 {
			continue
		}
		var lines []ztunnelLine
		for _, h := range hits {
			lines = append(lines, h.line)
		}
		f := ztunnelFinding(g, al.Summary.Matched, lines)
		seenLoc := map[string]bool{}
		for _, h := range hits {
			if k := h.pa.Ref() + h.at.String(); !seenLoc[k] {
				seenLoc[k] = true
				f.Locations = append(f.Locations, analysis.LocationOf(h.pa, h.at))
			}
		}
		addLogLocations(&f, lines, al.Writers)
		h := hits[0]
		t := h.line.target()
		f.Subject = h.pa.Key
		f.Related = []analysis.Related{analysis.RelatedOf(h.pod, "the ambient workload that refuses plaintext")}
		client := fmt.Sprintf("%s, which the input does not hold (another node, a load balancer, or a pod not listed)", h.line.src.Addr())
		if src := pods.find(h.line.srcNS, h.line.srcWorkload, h.line.src.Addr()); src != nil {
			m := istio.MembershipOf(p.Snapshot, src)
			client = fmt.Sprintf("%s (dataplane %s: %s)", src.Ref(), m.Dataplane, m.Why)
			f.Related = append(f.Related, analysis.RelatedOf(src, "the client, which sends plaintext"))
		}
		f.Evidence = append(f.Evidence, fmt.Sprintf("PeerAuthentication in force for %s port %d: STRICT (%s %s)", h.pod.Ref(), t.Port(), h.pa.Ref(), h.at), "client: "+client)
		f.Message = fmt.Sprintf("ztunnel closed %s to %s port %d from %s with %q: %s sets mTLS STRICT for that port, which istiod sends ztunnel as a DENY of connections without an identity, and the client connects in plaintext — it is not in the mesh.", plural(g.Failures, "connection"), h.pod.Ref(), t.Port(), client, g.Key.Error, h.pa.Ref())
		f.Message += othersNote(g, lines)
		f.Remedy = fmt.Sprintf("Put the client in the mesh (label its namespace istio.io/dataplane-mode=ambient, or inject a sidecar), or — if it must stay outside — let this port accept plaintext: a PeerAuthentication in namespace %s selecting %s with portLevelMtls {%d: {mode: PERMISSIVE}} (or mode PERMISSIVE).", h.pod.Key.Namespace, labels.Set(h.pod.Labels).String(), t.Port())
		p.Report(f)
	}
	return nil
}
