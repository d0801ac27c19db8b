package istio

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/workload"
	"github.com/meshdoctor/meshdoctor/internal/kb"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// waypointManaged is the gateway.istio.io/managed value of waypoint Deployments.
const (
	waypointManaged = "istio.io-mesh-controller"
)

// inboundClass is how a sidecar's inbound listener handles a protocol.
func inboundClass(p kb.Protocol) string {
	switch {
	case p == kb.ProtoUnsupported:
		return "sniffed"
	case p.IsHTTP():
		return "HTTP"
	default:
		return "TCP"
	}
}

// topLevelWorkloads returns the objects that carry a pod spec and that no
// controller in the input owns, in input order: a Deployment rather than
// its ReplicaSets and Pods, a standalone Pod on its own.
func topLevelWorkloads(s *snapshot.Snapshot, own *workload.Ownership) []*snapshot.Object {
	var out []*snapshot.Object
	for _, gk := range snapshot.WorkloadKinds {
		for _, o := range s.List(gk) {
			if own.Controller(o) == nil {
				out = append(out, o)
			}
		}
	}
	return out
}

// servicedPort is a Service port that reaches a workload's container port.
type servicedPort struct {
	svc  *snapshot.Object
	port svcPort
}

// servicePortsByWorkload indexes the proxied ports of every Service with a
// selector by the workloads and pods it selects (those keep accepts).
func servicePortsByWorkload(s *snapshot.Snapshot, keep func(*snapshot.Object) bool) map[*snapshot.Object][]servicedPort {
	byWorkload := map[*snapshot.Object][]servicedPort{}
	for _, o := range s.List(snapshot.KindService) {
		svc, ok := o.Typed.(*corev1.Service)
		if !ok || len(svc.Spec.Selector) == 0 || svc.Spec.Type == corev1.ServiceTypeExternalName {
			continue
		}
		var proxied []servicedPort
		for _, sp := range servicePorts(svc) {
			if sp.proxied() {
				proxied = append(proxied, servicedPort{svc: o, port: sp})
			}
		}
		if len(proxied) == 0 {
			continue
		}
		sel := labels.SelectorFromSet(svc.Spec.Selector)
		for _, targets := range [2][]*snapshot.Object{s.SelectWorkloads(o.Key.Namespace, sel), s.SelectPods(o.Key.Namespace, sel)} {
			for _, w := range targets {
				if keep(w) {
					byWorkload[w] = append(byWorkload[w], proxied...)
				}
			}
		}
	}
	return byWorkload
}

// MultiServiceProtocolConflict covers IST0116/IST0137: Services selecting
// the same sidecar workload disagree on a container port's protocol.
var MultiServiceProtocolConflict = &analysis.Analyzer{
	Code:     "MD233",
	Name:     "services-conflicting-port-protocol",
	Severity: analysis.Warning,
	Summary:  "Several Services select the same sidecar workload and give one container port different protocols (HTTP, TCP or sniffed): the inbound listener takes one of them and the other Service's traffic is handled with the wrong protocol.",
	Doc:      doc("MD233"),
	Inputs:   []analysis.Input{serviceInput, analysis.Kinds(snapshot.WorkloadKinds...)},
	Reads: func() map[schema.GroupKind][]string {
		m := reads(membershipReads(), templateReads("spec.containers.ports"))
		m[snapshot.KindPod] = append(m[snapshot.KindPod], "spec.containers.ports")
		return m
	}(),
	Requires: []*analysis.Fact{RegistryFact, workload.OwnershipFact},
	Run: func(p *analysis.Pass) error {
		s := p.Snapshot
		own := p.ResultOf(workload.OwnershipFact).(*workload.Ownership)
		// Index: workload → the Service ports that reach it. Each Service
		// selects through the label index, so the cost is the matches.
		byWorkload := servicePortsByWorkload(s, func(w *snapshot.Object) bool { return own.Controller(w) == nil })
		for _, w := range topLevelWorkloads(s, own) {
			ports := byWorkload[w]
			if len(ports) < 2 {
				continue
			}
			spec, _, podLabels, _ := snapshot.PodSpecOf(w)
			if w.Labels[gatewayManagedLabel] == waypointManaged || isControlPlane(w.Labels) || isControlPlane(podLabels) {
				continue
			}
			m := MembershipOf(s, w)
			if m.Dataplane == DataplaneUnknown {
				p.NotChecked("Service port protocols of %s: %s", w.Ref(), m.Why)
				continue
			}
			if m.Dataplane != DataplaneSidecar {
				continue // no sidecar inbound listener to conflict on
			}
			groups := map[int32][]servicedPort{}
			var order []int32
			for _, sp := range ports {
				cp := containerPort(spec, sp.port.SP)
				if _, seen := groups[cp]; !seen {
					order = append(order, cp)
				}
				groups[cp] = append(groups[cp], sp)
			}
			for _, cp := range order {
				reportPortConflict(p, w, m, cp, groups[cp])
			}
		}
		return nil
	},
}

func reportPortConflict(p *analysis.Pass, w *snapshot.Object, m Membership, cp int32, ports []servicedPort) {
	// HTTP and sniffed agree in effect: sniffing detects the HTTP. Only a
	// TCP port against HTTP (or, less surely, against sniffing) conflicts.
	var tcp, http, sniffed bool
	for _, sp := range ports {
		switch inboundClass(sp.port.Proto) {
		case "TCP":
			tcp = true
		case "HTTP":
			http = true
		default:
			sniffed = true
		}
	}
	if !tcp || !http && !sniffed {
		return
	}
	classes := map[string][]string{}
	for _, sp := range ports {
		c := inboundClass(sp.port.Proto)
		classes[c] = append(classes[c], fmt.Sprintf("%s %s → %s", sp.svc.Ref(), sp.port.describe(), sp.port.Proto))
	}
	var names []string
	for c := range classes {
		names = append(names, c)
	}
	sort.Strings(names)
	var evidence []string
	for _, c := range names {
		evidence = append(evidence, fmt.Sprintf("%s: %s", c, strings.Join(classes[c], "; ")))
	}
	evidence = append(evidence, fmt.Sprintf("%s has a sidecar (%s)", w.Ref(), m.Why))
	f := analysis.Finding{
		Subject: w.Key,
		Message: fmt.Sprintf("Services selecting %s give its container port %d different protocols (%s): a sidecar builds one inbound filter chain per container port with a single protocol — istiod keeps the oldest Service's and reports a listener conflict — so traffic arriving through the other Service(s) is handled with the wrong protocol: non-HTTP traffic on an HTTP chain fails, HTTP on a TCP chain loses routing, retries and L7 policy.",
			w.Ref(), cp, strings.Join(names, ", ")),
		Evidence: evidence,
		Remedy:   fmt.Sprintf("Give every Service port that targets container port %d the same protocol (port name prefix or appProtocol) — or leave it undeclared on the Service that should not force TCP (sniffing still detects HTTP) — or point the Services at different container ports.", cp),
		Related:  []analysis.Related{analysis.RelatedOf(w, "the workload both Services select")},
		Key:      fmt.Sprintf("targetPort/%d", cp),
	}
	if !http {
		f.Severity = analysis.Info
		f.Message = fmt.Sprintf("Services selecting %s disagree on container port %d: one declares TCP, another leaves the protocol to sniffing. A sidecar builds one inbound filter chain per container port — istiod keeps the oldest Service's protocol — so if TCP is kept, HTTP arriving through the sniffed Service is handled as opaque TCP (no L7 policy, routing or HTTP metrics at the server); if sniffing is kept, a protocol whose server speaks first stalls.",
			w.Ref(), cp)
	}
	seen := map[*snapshot.Object]bool{}
	for _, sp := range ports {
		f.Locations = append(f.Locations, analysis.LocationOf(sp.svc, sp.port.protocolField()))
		if !seen[sp.svc] {
			seen[sp.svc] = true
			f.Related = append(f.Related, analysis.RelatedOf(sp.svc, "selects the workload"))
		}
	}
	p.Report(f)
}
