package istio

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// UseWaypointNotFound: an istio.io/use-waypoint label that sends an ambient
// namespace's, Service's or workload's traffic to no waypoint: the Gateway
// it names does not exist, or it takes no traffic of that kind
// (istio.io/waypoint-for). Kiali KIA1313 (workload.ambient.waypointnotfound),
// for Namespaces and Services too.
var UseWaypointNotFound = &analysis.Analyzer{
	Code:     "MD324",
	Name:     "use-waypoint-not-found",
	Severity: analysis.Warning,
	Summary:  "An istio.io/use-waypoint label on an ambient Namespace, Service or workload names a waypoint Gateway that does not exist, or one whose istio.io/waypoint-for excludes that traffic: no waypoint takes it, and the layer-7 policy and routing meant for it apply to nothing.",
	Doc:      doc("MD324"),
	Inputs:   []analysis.Input{analysis.Kinds(append([]schema.GroupKind{snapshot.KindNamespace, snapshot.KindService}, snapshot.WorkloadKinds...)...)},
	Reads:    mergeReads(secMembershipReads(), waypointReads),
	Run: func(p *analysis.Pass) error {
		s := p.Snapshot
		w := newWorkloadIndex(s)
		for _, o := range s.List(snapshot.KindNamespace) {
			if ok, _ := ambientNamespace(s, o.Key.Name); ok {
				checkUseWaypoint(p, o, o.Labels, o.Key.Name, snapshot.P("metadata", "labels"), "")
			}
		}
		for _, o := range s.List(snapshot.KindService) {
			if ok, _ := ambientNamespace(s, o.Key.Namespace); ok {
				checkUseWaypoint(p, o, o.Labels, o.Key.Namespace, snapshot.P("metadata", "labels"), "service")
			}
		}
		for _, wl := range w.selectIn(snapshot.AllNamespaces, labels.SelectorFromSet(nil)) {
			l := labelsOf(wl)
			if _, ok := l[useWaypointLabel]; !ok || waypointWorkload(wl) || w.dataplane(wl) != DataplaneAmbient {
				continue
			}
			checkUseWaypoint(p, wl, l, wl.Key.Namespace, podLabelsPath(wl), "workload")
		}
		return nil
	},
}

// podLabelsPath is where a Pod, or a controller's pod template, keeps its
// labels.
func podLabelsPath(o *snapshot.Object) snapshot.Path {
	prefix := templatePrefix[o.Key.GroupKind()]
	var out snapshot.Path
	for _, e := range strings.Split(strings.TrimSuffix(prefix, "."), ".") {
		if e != "" {
			out = append(out, e)
		}
	}
	return append(out, "metadata", "labels")
}

// checkUseWaypoint judges the use-waypoint label of o (with labels l, in
// namespace ns); traffic is "service" or "workload" for what the label
// redirects ("" for a Namespace, which redirects both).
func checkUseWaypoint(p *analysis.Pass, o *snapshot.Object, l map[string]string, ns string, labelsPath snapshot.Path, traffic string) {
	name := l[useWaypointLabel]
	if name == "" || name == "none" {
		return
	}
	wpNS := l[useWaypointNSLabel]
	if wpNS == "" {
		wpNS = ns
	}
	s := p.Snapshot
	if !s.Covers(snapshot.KindK8sGateway, wpNS) {
		return // the input holds no Gateways of that namespace
	}
	loc := analysis.LocationOf(o, labelsPath.Child(useWaypointLabel))
	f := analysis.Finding{Subject: o.Key, Locations: []analysis.Location{loc}, Key: traffic}
	f.Evidence = []string{fmt.Sprintf("%s: %s=%s", labelsPath.Child(useWaypointLabel), useWaypointLabel, name)}
	if l[useWaypointNSLabel] != "" {
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s=%s", useWaypointNSLabel, wpNS))
	}
	gw := s.Get(snapshot.KindK8sGateway, wpNS, name)
	if gw == nil {
		f.Message = fmt.Sprintf("%s is labelled %s=%s, but no Gateway %s exists in namespace %s: no waypoint takes its traffic, so the layer-7 policy (targetRef AuthorizationPolicies, RequestAuthentications, Telemetry, WasmPlugins) and routing meant for it apply to nothing.", o.Ref(), useWaypointLabel, name, name, wpNS)
		f.Evidence = append(f.Evidence, "Gateways of namespace "+wpNS+" in the input: "+gatewayNames(s, wpNS))
		f.Remedy = fmt.Sprintf("Deploy the waypoint: `istioctl waypoint apply -n %s --name %s`, or correct the label to the name of an existing waypoint Gateway.", wpNS, name)
		p.Report(f)
		return
	}
	class := k8sGatewayClass(gw)
	takes, labelled := gw.Labels[waypointForLabel]
	if !labelled {
		if class != waypointClass {
			return // the default of other classes is not judged
		}
		takes = "service"
	}
	var bad bool
	switch traffic {
	case "service":
		bad = takes == "workload" || takes == "none"
	case "workload":
		bad = takes == "service" || takes == "none"
	default:
		bad = takes == "none"
	}
	if !bad {
		return
	}
	what := map[string]string{"service": "traffic addressed to a Service", "workload": "traffic addressed to a pod", "": "any traffic"}[traffic]
	effect := "the layer-7 policy and routing meant for it apply to nothing"
	if traffic == "workload" {
		effect = "traffic addressed to its pods' IPs gets no layer-7 processing, and policies attached to that waypoint do not reach it (traffic through a Service follows the Service's waypoint)"
	}
	f.Message = fmt.Sprintf("%s is labelled %s=%s, but that waypoint (%s) takes %s=%s and so no %s: %s.", o.Ref(), useWaypointLabel, name, gw.Ref(), waypointForLabel, takes, what, effect)
	if !labelled {
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s: no %s label (class %s: service traffic only)", gw.Ref(), waypointForLabel, class))
	} else {
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s: %s=%s", gw.Ref(), waypointForLabel, takes))
	}
	f.Locations = append(f.Locations, analysis.LocationOf(gw, snapshot.P("metadata", "labels", waypointForLabel)))
	f.Related = []analysis.Related{analysis.RelatedOf(gw, "the waypoint named")}
	want := "service"
	if traffic == "workload" {
		want = "workload"
	}
	f.Remedy = fmt.Sprintf("Label the waypoint for this traffic: `kubectl label gateway -n %s %s %s=%s --overwrite` (or all), or point the label at a waypoint that takes it.", gw.Key.Namespace, gw.Key.Name, waypointForLabel, want)
	p.Report(f)
}

// gatewayNames lists the Gateway API Gateways of a namespace.
func gatewayNames(s *snapshot.Snapshot, ns string) string {
	var names []string
	for _, g := range s.InNamespace(snapshot.KindK8sGateway, ns) {
		names = append(names, g.Key.Name)
	}
	return strings.Join(analysis.FirstN(names, 5), ", ")
}
