package istio

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// In ambient mode ztunnel carries traffic at layer 4 only. Everything
// layer 7 — HTTP routing, DestinationRule traffic policy, HTTP conditions
// of AuthorizationPolicies, JWT validation, telemetry and Wasm — runs on a
// waypoint, and only for the traffic ztunnel sends there: traffic to a
// Service (or a pod) that an istio.io/use-waypoint label on it or on its
// Namespace binds to a waypoint Gateway that takes that kind of traffic
// (istio.io/waypoint-for: service, the default, or all). Waypoints apply
// only policies attached with targetRefs (to themselves or to a Service
// bound to them); selector and namespace-wide policies go to ztunnel,
// which drops what it cannot see. This file decides, from the labels,
// which waypoint (if any) serves a Service, for the ambient L7 checks
// MD260 and MD323.

// waypointForLabel says which traffic a waypoint Gateway takes.
const waypointForLabel = "istio.io/waypoint-for"

// waypointReads are the fields serviceWaypoint reads.
var waypointReads = map[schema.GroupKind][]string{
	snapshot.KindService:    {"metadata.labels", "spec.selector"},
	snapshot.KindNamespace:  {"metadata.labels"},
	snapshot.KindK8sGateway: {"metadata.labels", "spec.gatewayClassName"},
}

// ambientService is what the input says about a Service's traffic in
// ambient mode.
type ambientService struct {
	Svc *snapshot.Object
	// Ambient: the Service's namespace enrols its pods in ambient mode
	// and none of the Service's workloads runs a sidecar (or is
	// undecidable).
	Ambient bool
	// NSLabel is where the namespace's dataplane-mode label is written.
	NS *snapshot.Object
	// Waypoint is the waypoint named by istio.io/use-waypoint ("" when
	// none), WaypointNS its namespace, EnrolledBy the object carrying the
	// label (the Service or its Namespace).
	Waypoint, WaypointNS string
	EnrolledBy           *snapshot.Object
	// Served: a waypoint takes the Service's traffic. Problem says why
	// not, Gateway is the waypoint Gateway when found.
	Served  bool
	Problem string
	Gateway *snapshot.Object
	// Known is false when the input lacks what decides (the Namespace or
	// the Gateways); Why says what.
	Known bool
	Why   string
}

// serviceWaypoint judges a Service: in ambient mode, and served by a
// waypoint. w answers the dataplane of its workloads.
func serviceWaypoint(s *snapshot.Snapshot, w *workloadIndex, svc *snapshot.Object) ambientService {
	a := ambientService{Svc: svc, Known: true}
	ns := svc.Key.Namespace
	a.NS = s.Get(snapshot.KindNamespace, "", ns)
	if a.NS == nil {
		a.Known, a.Why = false, "the input has no Namespace "+ns
		return a
	}
	if ok, _ := ambientNamespace(s, ns); !ok {
		return a
	}
	// The Service's workloads: any sidecar (or undecidable) one applies
	// sidecar-side config, and a Service without a selector has none we
	// can judge.
	sel := serviceSelector(svc)
	if len(sel) == 0 {
		return a
	}
	ls := labels.SelectorFromSet(sel)
	if len(w.selectOther(ns, ls)) > 0 {
		return a
	}
	for _, wl := range w.selectIn(ns, ls) {
		if waypointWorkload(wl) {
			continue
		}
		if d := w.dataplane(wl); d == DataplaneSidecar || d == DataplaneUnknown {
			return a
		}
	}
	a.Ambient = true
	// istio.io/use-waypoint on the Service wins over the Namespace's, "none"
	// included; istio.io/use-waypoint-namespace is read beside it.
	for _, o := range []*snapshot.Object{svc, a.NS} {
		v, ok := o.Labels[useWaypointLabel]
		if !ok {
			continue
		}
		a.EnrolledBy = o
		if v != "" && v != "none" {
			a.Waypoint, a.WaypointNS = v, o.Labels[useWaypointNSLabel]
			if a.WaypointNS == "" {
				a.WaypointNS = ns
			}
		}
		break
	}
	if a.Waypoint == "" {
		a.Problem = "no istio.io/use-waypoint label on " + svc.Ref() + " or on Namespace " + ns
		if a.EnrolledBy != nil {
			a.Problem = fmt.Sprintf("%s has istio.io/use-waypoint=%q (opted out of waypoints)", a.EnrolledBy.Ref(), a.EnrolledBy.Labels[useWaypointLabel])
		}
		return a
	}
	if !s.Has(snapshot.KindK8sGateway) && !s.Listed(snapshot.KindK8sGateway) {
		// Enrolled; whether the Gateway exists is unknown: take it as served.
		a.Served = true
		return a
	}
	a.Gateway = s.Get(snapshot.KindK8sGateway, a.WaypointNS, a.Waypoint)
	switch {
	case a.Gateway == nil && !s.Covers(snapshot.KindK8sGateway, a.WaypointNS):
		a.Served = true // the input holds no Gateways of that namespace
	case a.Gateway == nil:
		a.Problem = fmt.Sprintf("%s names waypoint %s/%s, but no Gateway %s exists in namespace %s", a.EnrolledBy.Ref(), a.WaypointNS, a.Waypoint, a.Waypoint, a.WaypointNS)
	default:
		switch f := a.Gateway.Labels[waypointForLabel]; f {
		case "workload", "none":
			a.Problem = fmt.Sprintf("waypoint %s has %s=%s: it takes no traffic addressed to a Service", a.Gateway.Ref(), waypointForLabel, f)
		default:
			a.Served = true
		}
	}
	return a
}

// serviceSelector is a Service's pod selector.
func serviceSelector(svc *snapshot.Object) map[string]string {
	if s, ok := svc.Typed.(*corev1.Service); ok {
		return s.Spec.Selector
	}
	return nil
}

// ambientLocations points at the labels that put a Service's traffic in
// ambient mode and, when present, the one that opts it out of waypoints.
func (a ambientService) locations() []analysis.Location {
	out := []analysis.Location{analysis.LocationOf(a.NS, snapshot.P("metadata", "labels", DataplaneModeLabel))}
	if a.EnrolledBy != nil {
		out = append(out, analysis.LocationOf(a.EnrolledBy, snapshot.P("metadata", "labels", useWaypointLabel)))
	}
	return out
}

// evidence lists why the Service's traffic reaches no waypoint.
func (a ambientService) evidence() []string {
	out := []string{fmt.Sprintf("namespace %s: label %s=ambient", a.Svc.Key.Namespace, DataplaneModeLabel), a.Problem}
	if a.Gateway != nil {
		out = append(out, fmt.Sprintf("waypoint %s: gatewayClassName %s", a.Gateway.Ref(), k8sGatewayClass(a.Gateway)))
	}
	return out
}

// remedy says how to put a waypoint in the Service's path.
func (a ambientService) remedy() string {
	ns, name := a.Svc.Key.Namespace, a.Svc.Key.Name
	switch {
	case a.Gateway != nil:
		return fmt.Sprintf("Set %s=service (or all) on Gateway %s (`kubectl label gateway -n %s %s %s=service --overwrite`), or point the Service at a waypoint that takes service traffic.", waypointForLabel, a.Gateway.Ref(), a.Gateway.Key.Namespace, a.Gateway.Key.Name, waypointForLabel)
	case a.Waypoint != "":
		return fmt.Sprintf("Deploy the waypoint the label names: `istioctl waypoint apply -n %s --name %s`, or correct the %s label.", a.WaypointNS, a.Waypoint, useWaypointLabel)
	case a.EnrolledBy != nil && a.EnrolledBy.Key.GroupKind() == snapshot.KindService:
		return fmt.Sprintf("Remove the opt-out so the namespace waypoint serves the Service (`kubectl label service -n %s %s %s-`), or deploy one for it: `istioctl waypoint apply -n %s --enroll-namespace`.", ns, name, useWaypointLabel, ns)
	}
	return fmt.Sprintf("Deploy a waypoint and enrol the namespace: `istioctl waypoint apply -n %s --enroll-namespace` (or just the Service: `kubectl label service -n %s %s %s=<waypoint>`).", ns, ns, name, useWaypointLabel)
}

// k8sGatewayClass reads a Gateway API Gateway's class.
func k8sGatewayClass(o *snapshot.Object) string {
	if u, ok := o.Typed.(*unstructured.Unstructured); ok {
		if c, _, _ := unstructured.NestedString(u.Object, "spec", "gatewayClassName"); c != "" {
			return c
		}
	}
	return "(not set)"
}
