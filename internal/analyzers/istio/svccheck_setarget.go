package istio

import (
	"fmt"
	"sort"
	"strings"

	netv1alpha3 "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/facts"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/version"
)

// ---- MD242: ServiceEntry targetPort without effect ----
//
// Upstream (istio/istio pilot/pkg/serviceregistry/serviceentry/conversion.go,
// convertEndpoint): the port of a ServiceEntry endpoint is chosen as
// "unix address > endpoint ports[<port name>] > port.targetPort >
// port.number". An endpoint that maps the port by name (or is a unix://
// socket) therefore never uses targetPort.
//
// For resolution NONE, convertServices records targetPort as
// PassthroughTargetPorts, which the cluster builder turns into the
// ORIGINAL_DST cluster's upstream_port_override. That exists from Istio 1.22
// behind ENABLE_RESOLUTION_NONE_TARGET_PORT (default true); istioctl's
// upgrade precheck (checkPassthroughTargetPorts, from 1.21) says a NONE
// targetPort "previously did nothing". Before 1.22, or with the flag off,
// sidecars send the connection to the port the client dialled.

// noneTargetPortSince is the release from which resolution NONE honours
// targetPort.
var noneTargetPortSince = version.MustParse("1.22.0")

// noneTargetPortFlagGone bounds the releases in which we rely on
// ENABLE_RESOLUTION_NONE_TARGET_PORT=false: only 1.22.x is confirmed.
var noneTargetPortFlagGone = version.MustParse("1.23.0")

const noneTargetPortEnv = "ENABLE_RESOLUTION_NONE_TARGET_PORT"

// SETargetPortIgnored reports a ServiceEntry port's targetPort that Istio
// does not apply.
var SETargetPortIgnored = &analysis.Analyzer{
	Code:     "MD242",
	Name:     "serviceentry-targetport-ignored",
	Severity: analysis.Warning,
	Summary:  "A ServiceEntry port's targetPort has no effect: every endpoint maps the port by name, or resolution NONE on an istiod that ignores targetPort there; traffic goes to another port than the targetPort says.",
	Doc:      doc("MD242"),
	Inputs:   []analysis.Input{seInput},
	Reads: reads(map[schema.GroupKind][]string{
		snapshot.KindDeployment:    {"spec.template.spec.containers.name", "spec.template.spec.containers.image", "spec.template.spec.containers.env"},
		snapshot.KindPod:           {"spec.containers.ports"},
		snapshot.KindWorkloadEntry: {"spec"},
	}),
	Requires: []*analysis.Fact{facts.ComponentVersions},
	Run: func(p *analysis.Pass) error {
		var none *noneTargetPort // computed on first use
		for _, o := range p.Snapshot.List(snapshot.KindServiceEntry) {
			se, ok := o.Typed.(*networkingv1.ServiceEntry)
			if !ok {
				continue
			}
			for i, port := range se.Spec.GetPorts() {
				tp := port.GetTargetPort()
				if tp == 0 {
					continue
				}
				if se.Spec.GetResolution() == netv1alpha3.ServiceEntry_NONE {
					if tp == port.GetNumber() {
						continue
					}
					if none == nil {
						none = noneTargetPortSupport(p.Snapshot, p.ResultOf(facts.ComponentVersions).(*facts.Versions))
					}
					if none.ignored {
						p.Report(noneFinding(o, i, port, none))
					}
					continue
				}
				if f, ok := endpointsOverride(o, se.Spec.GetEndpoints(), i, port); ok {
					p.Report(f)
				} else if f, ok := selectedOverride(p.Snapshot, o, se, i, port); ok {
					p.Report(f)
				}
			}
		}
		return nil
	},
}

// endpointsOverride: every inline endpoint sets its own port for the
// ServiceEntry port (or is a unix socket), and at least one differs from
// targetPort.
func endpointsOverride(o *snapshot.Object, eps []*netv1alpha3.WorkloadEntry, i int, port *netv1alpha3.ServicePort) (analysis.Finding, bool) {
	if len(eps) == 0 {
		return analysis.Finding{}, false
	}
	tp := port.GetTargetPort()
	differs := false
	ports := map[string]bool{}
	var evidence []string
	for j, ep := range eps {
		addr := ep.GetAddress()
		if strings.HasPrefix(addr, "unix://") {
			evidence = append(evidence, fmt.Sprintf("spec.endpoints[%d]: %s (a unix socket: no port)", j, addr))
			ports["the socket "+addr] = true
			differs = true
			continue
		}
		n, ok := ep.GetPorts()[port.GetName()]
		if !ok || n == 0 {
			return analysis.Finding{}, false // this endpoint uses targetPort
		}
		if n != tp {
			differs = true
		}
		ports[fmt.Sprintf("%s:%d", addr, n)] = true
		evidence = append(evidence, fmt.Sprintf("spec.endpoints[%d]: %s, ports[%s]: %d", j, addr, port.GetName(), n))
	}
	if !differs {
		return analysis.Finding{}, false // targetPort is redundant but says the same
	}
	dest := make([]string, 0, len(ports))
	for k := range ports {
		dest = append(dest, k)
	}
	sort.Strings(dest)
	ev := append([]string{fmt.Sprintf("spec.ports[%d]: name %s, number %d, targetPort %d", i, port.GetName(), port.GetNumber(), tp)}, evidence...)
	return analysis.Finding{
		Subject: o.Key,
		Message: fmt.Sprintf("%s port %s (%d) sets targetPort %d, but every endpoint sets its own port for %s, which takes precedence: the targetPort has no effect and traffic goes to %s.",
			o.Ref(), port.GetName(), port.GetNumber(), tp, port.GetName(), strings.Join(dest, ", ")),
		Locations: []analysis.Location{analysis.LocationOf(o, snapshot.P("spec", "ports", i, "targetPort"))},
		Evidence:  ev,
		Remedy:    fmt.Sprintf("Decide which port the backends listen on: if it is %d, remove ports.%s from the endpoints (they then use targetPort); otherwise remove targetPort from port %s, so the config says what Istio does.", tp, port.GetName(), port.GetName()),
		Key:       fmt.Sprintf("endpoints/%s", port.GetName()),
	}, true
}

// selectedOverride: a ServiceEntry with a workloadSelector (and no inline
// endpoints) takes its endpoints from the WorkloadEntries and Pods it
// selects, and each of them maps the port by name before targetPort is
// looked at (conversion.go convertWorkloadInstanceToServiceInstance: the
// WorkloadEntry's ports[name], or the Pod's first named TCP container port
// of that name, per kube/controller/pod.go getPortMap). When every
// selected workload maps it, and one to another port, targetPort is
// unused. Nothing is said when the input holds no selected workload.
func selectedOverride(s *snapshot.Snapshot, o *snapshot.Object, se *networkingv1.ServiceEntry, i int, port *netv1alpha3.ServicePort) (analysis.Finding, bool) {
	ws := se.Spec.GetWorkloadSelector()
	if ws == nil || len(se.Spec.GetEndpoints()) > 0 {
		return analysis.Finding{}, false
	}
	sel := labels.SelectorFromSet(ws.GetLabels())
	tp := port.GetTargetPort()
	differs := false
	var evidence []string
	var related []analysis.Related
	n := 0
	for _, we := range s.InNamespace(snapshot.KindWorkloadEntry, o.Key.Namespace) {
		w, ok := we.Typed.(*networkingv1.WorkloadEntry)
		if !ok || !sel.Matches(labels.Set(w.Spec.GetLabels())) {
			continue
		}
		n++
		addr := w.Spec.GetAddress()
		mapped, ok := w.Spec.GetPorts()[port.GetName()]
		switch {
		case strings.HasPrefix(addr, "unix://"):
			evidence = append(evidence, fmt.Sprintf("%s: %s (a unix socket: no port)", we.Ref(), addr))
			differs = true
		case ok && mapped > 0:
			differs = differs || mapped != tp
			evidence = append(evidence, fmt.Sprintf("%s: ports[%s]: %d", we.Ref(), port.GetName(), mapped))
		default:
			return analysis.Finding{}, false // this workload uses targetPort
		}
		related = append(related, analysis.RelatedOf(we, "selected workload that maps the port by name"))
	}
	for _, po := range s.SelectPods(o.Key.Namespace, sel) {
		pod, ok := po.Typed.(*corev1.Pod)
		if !ok {
			continue
		}
		n++
		mapped := namedTCPPort(pod, port.GetName())
		if mapped == 0 {
			return analysis.Finding{}, false
		}
		differs = differs || mapped != tp
		evidence = append(evidence, fmt.Sprintf("%s: container port %s is %d", po.Ref(), port.GetName(), mapped))
		related = append(related, analysis.RelatedOf(po, "selected pod with a container port of that name"))
	}
	if n == 0 || !differs {
		return analysis.Finding{}, false
	}
	sort.Strings(evidence)
	ev := append([]string{fmt.Sprintf("spec.ports[%d]: name %s, number %d, targetPort %d; spec.workloadSelector selects %d workload(s)", i, port.GetName(), port.GetNumber(), tp, n)}, analysis.FirstN(evidence, 5)...)
	return analysis.Finding{
		Subject: o.Key,
		Message: fmt.Sprintf("%s port %s (%d) sets targetPort %d, but every workload its workloadSelector selects maps %s to a port of its own (a WorkloadEntry's ports.%s, a Pod's container port named %s), which takes precedence: the targetPort has no effect.",
			o.Ref(), port.GetName(), port.GetNumber(), tp, port.GetName(), port.GetName(), port.GetName()),
		Locations: []analysis.Location{analysis.LocationOf(o, snapshot.P("spec", "ports", i, "targetPort"))},
		Related:   related[:min(3, len(related))],
		Evidence:  ev,
		Remedy:    fmt.Sprintf("Decide which port the workloads listen on: if it is %d, remove ports.%s from the WorkloadEntries (and rename the Pods' container port %s) so that targetPort applies; otherwise remove targetPort from port %s, so the config says what Istio does.", tp, port.GetName(), port.GetName(), port.GetName()),
		Key:       fmt.Sprintf("selector/%s", port.GetName()),
	}, true
}

// namedTCPPort is the first TCP container port of the pod with that name,
// 0 when none (getPortMap upstream; a missing protocol means TCP).
func namedTCPPort(pod *corev1.Pod, name string) uint32 {
	for _, c := range pod.Spec.Containers {
		for _, cp := range c.Ports {
			if cp.Name == name && (cp.Protocol == "" || cp.Protocol == corev1.ProtocolTCP) {
				return uint32(cp.ContainerPort)
			}
		}
	}
	return 0
}

type noneTargetPort struct {
	ignored bool
	fix     string // how to make istiod apply targetPort
	why     []string
	related []analysis.Related
}

// noneTargetPortSupport: does istiod ignore targetPort for resolution NONE?
// Only when every istiod in the input is known to: older than 1.22, or a
// 1.22.x run with ENABLE_RESOLUTION_NONE_TARGET_PORT=false.
func noneTargetPortSupport(s *snapshot.Snapshot, vers *facts.Versions) *noneTargetPort {
	out := &noneTargetPort{}
	if old, known := istiodBefore(vers, noneTargetPortSince); known && old {
		out.ignored = true
		out.fix = "Upgrade istiod to 1.22 or later (leaving " + noneTargetPortEnv + " at its default, true)"
		for _, c := range vers.Istiod {
			out.why = append(out.why, fmt.Sprintf("istiod %s (%s): resolution NONE honours targetPort only from Istio 1.22", c.Version, c.From))
			if c.Object != nil {
				out.related = append(out.related, analysis.RelatedOf(c.Object, "istiod "+c.Version.String()))
			}
		}
		return out
	}
	// The flag is honoured only where we know it exists: 1.22 introduced it;
	// later Istio releases dropped it (current conversion.go applies
	// targetPort unconditionally) and we have not pinned down in which, so
	// an istiod of another or unknown version is taken to apply targetPort.
	known := map[*snapshot.Object]version.V{}
	for _, c := range vers.Istiod {
		if c.Object != nil {
			known[c.Object] = c.Version
		}
	}
	n, off := 0, 0
	var why []string
	var rel []analysis.Related
	for _, o := range s.List(snapshot.KindDeployment) {
		if !facts.IsIstiod(o) {
			continue
		}
		d, ok := o.Typed.(*appsv1.Deployment)
		if !ok {
			continue
		}
		n++
		if v, ok := known[o]; !ok || !v.AtLeast(noneTargetPortSince) || v.AtLeast(noneTargetPortFlagGone) {
			continue
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			for _, e := range c.Env {
				if e.Name == noneTargetPortEnv && e.ValueFrom == nil && strings.EqualFold(e.Value, "false") {
					off++
					why = append(why, fmt.Sprintf("%s (istiod %s) env %s=%q", o.Ref(), known[o], noneTargetPortEnv, e.Value))
					rel = append(rel, analysis.RelatedOf(o, noneTargetPortEnv+"=false"))
				}
			}
		}
	}
	if n > 0 && off == n {
		out.ignored, out.why, out.related = true, why, rel
		out.fix = "Remove " + noneTargetPortEnv + "=false from istiod's environment (the compatibility setting; its default is true)"
	}
	return out
}

func noneFinding(o *snapshot.Object, i int, port *netv1alpha3.ServicePort, none *noneTargetPort) analysis.Finding {
	tp := port.GetTargetPort()
	return analysis.Finding{
		Subject: o.Key,
		Message: fmt.Sprintf("%s has resolution NONE and port %s (%d) sets targetPort %d, which this istiod ignores for NONE: sidecars forward connections to the address and port the client dialled (%d), not to %d.",
			o.Ref(), port.GetName(), port.GetNumber(), tp, port.GetNumber(), tp),
		Locations: []analysis.Location{analysis.LocationOf(o, snapshot.P("spec", "ports", i, "targetPort"))},
		Evidence:  append([]string{"spec.resolution: NONE", fmt.Sprintf("spec.ports[%d]: name %s, number %d, targetPort %d", i, port.GetName(), port.GetNumber(), tp)}, none.why...),
		Remedy:    fmt.Sprintf("%s; or have clients dial port %d directly; or list the backends in spec.endpoints with resolution STATIC (or DNS), where targetPort %d is applied.", none.fix, tp, tp),
		Related:   none.related,
		Key:       fmt.Sprintf("none/%s", port.GetName()),
	}
}
