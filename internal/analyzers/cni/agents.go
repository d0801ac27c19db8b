package cni

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/facts"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/istio"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// IstioCNINotReady reports nodes that run ambient pods without a ready
// istio-cni node agent.
var IstioCNINotReady = &analysis.Analyzer{
	Code:     "MD401",
	Name:     "istio-cni-not-ready-for-ambient",
	Severity: analysis.Error,
	Summary:  "A node runs ambient pods but has no ready istio-cni node agent: new pods there cannot be added to the mesh (the CNI plugin hands each one to the agent and fails its sandbox when it cannot), and pods are not re-captured after restarts.",
	Doc:      doc("MD401"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindPod)},
	Reads:    agentReads(),
	Run:      func(p *analysis.Pass) error { return runAgent(p, cniAgent) },
}

// ZtunnelNotReady reports nodes that run ambient pods without a ready
// ztunnel.
var ZtunnelNotReady = &analysis.Analyzer{
	Code:     "MD402",
	Name:     "ztunnel-not-ready-for-ambient",
	Severity: analysis.Error,
	Summary:  "A node runs ambient pods but has no ready ztunnel: their traffic is redirected to ztunnel's ports inside each pod, where nothing listens, so connections to and from those pods fail.",
	Doc:      doc("MD402"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindPod)},
	Reads:    agentReads(),
	Run:      func(p *analysis.Pass) error { return runAgent(p, ztunnelAgent) },
}

// agentReads are the fields the node-agent checks read.
func agentReads() map[schema.GroupKind][]string {
	return map[schema.GroupKind][]string{
		snapshot.KindPod: slices.Concat([]string{"spec.nodeName", "spec.hostNetwork", "spec.containers.name", "spec.containers.image", "spec.initContainers.name", "spec.initContainers.image", "status.phase"},
			snapshot.PodConditionReads(), snapshot.ContainerStatusReads()),
		snapshot.KindNamespace: {},
		snapshot.KindDaemonSet: {"spec.template.spec.containers.name", "status"},
	}
}

// nodeAgent describes one per-node mesh component the ambient dataplane
// needs on every node that runs ambient pods.
type nodeAgent struct {
	what      string // "istio-cni node agent"
	daemonSet func(*snapshot.Object) bool
	// podLabel recognises the agent's pods when no owner reference names a
	// DaemonSet of the input.
	podLabel func(map[string]string) bool
	effect   string
	remedy   string
}

var cniAgent = nodeAgent{
	what:      "istio-cni node agent",
	daemonSet: facts.IsIstioCNI,
	podLabel:  func(l map[string]string) bool { return l["k8s-app"] == "istio-cni-node" },
	effect:    "new pods scheduled there cannot be added to the ambient mesh (the CNI plugin hands each pod to the agent and fails the sandbox when the agent does not answer), and running pods are not re-captured",
	remedy:    "Find why the agent pod is not ready (`kubectl -n %[1]s describe pod %[2]s`, `kubectl -n %[1]s logs %[2]s -c install-cni`) and fix that first — for example a stale env entry after an upgrade (MD103), a missing ConfigMap key (MD101), or a node taint the DaemonSet does not tolerate. Until it is ready, keep new ambient workloads off the node (`kubectl cordon %[3]s`).",
}

var ztunnelAgent = nodeAgent{
	what:      "ztunnel",
	daemonSet: isZtunnel,
	podLabel:  func(l map[string]string) bool { return l["app"] == "ztunnel" },
	effect:    "their traffic is still redirected, inside each pod, to ztunnel's ports 15001/15006/15008, where nothing listens, so connections to and from those pods are refused or hang",
	remedy:    "Find why ztunnel is not ready (`kubectl -n %[1]s describe pod %[2]s`, `kubectl -n %[1]s logs %[2]s`; it needs istiod reachable and the istio-cni agent on the node) and fix it. To restore traffic at once, drain the node (`kubectl drain %[3]s --ignore-daemonsets`) or take the namespaces out of ambient (`istio.io/dataplane-mode=none`) until ztunnel runs.",
}

func isZtunnel(o *snapshot.Object) bool {
	return o.Key.Name == "ztunnel" || o.Labels["app"] == "ztunnel"
}

// ambientPod tells whether a scheduled, running pod is meant to have its
// traffic captured by ambient, and why. Unlike istio.MembershipOf, which
// trusts the agent's redirection annotation on admitted pods, it also
// counts pods whose labels ask for ambient: when the agent is down, that
// annotation is exactly what never gets written.
func ambientPod(s *snapshot.Snapshot, o *snapshot.Object) (bool, string) {
	pod, ok := o.Typed.(*corev1.Pod)
	if !ok || pod.Spec.NodeName == "" || pod.Spec.HostNetwork || istio.HasProxy(&pod.Spec) ||
		pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return false, ""
	}
	if pod.Annotations[istio.AmbientRedirection] == "enabled" {
		return true, "annotation " + istio.AmbientRedirection + "=enabled"
	}
	switch pod.Labels[istio.DataplaneModeLabel] {
	case "none":
		return false, ""
	case "ambient":
		return true, "label " + istio.DataplaneModeLabel + "=ambient"
	}
	if ns := s.Get(snapshot.KindNamespace, "", o.Key.Namespace); ns != nil && ns.Labels[istio.DataplaneModeLabel] == "ambient" {
		return true, "namespace label " + istio.DataplaneModeLabel + "=ambient"
	}
	return false, ""
}

// ambientByNode groups the ambient pods by node, nodes sorted.
func ambientByNode(s *snapshot.Snapshot) (nodes []string, pods map[string][]*snapshot.Object, why map[*snapshot.Object]string) {
	pods = map[string][]*snapshot.Object{}
	why = map[*snapshot.Object]string{}
	for _, o := range s.List(snapshot.KindPod) {
		if ok, w := ambientPod(s, o); ok {
			n := o.Typed.(*corev1.Pod).Spec.NodeName
			if pods[n] == nil {
				nodes = append(nodes, n)
			}
			pods[n] = append(pods[n], o)
			why[o] = w
		}
	}
	sort.Strings(nodes)
	return nodes, pods, why
}

func runAgent(p *analysis.Pass, a nodeAgent) error {
	s := p.Snapshot
	nodes, ambient, why := ambientByNode(s)
	if len(nodes) == 0 {
		return nil
	}
	var sets []*snapshot.Object
	owned := map[string]*snapshot.Object{} // namespace/name of a DaemonSet → it
	for _, o := range s.List(snapshot.KindDaemonSet) {
		if a.daemonSet(o) {
			sets = append(sets, o)
			owned[o.Key.Namespace+"/"+o.Key.Name] = o
		}
	}
	agentPods := map[string][]*snapshot.Object{} // node → agent pods
	podsSeen := map[string]bool{}                // namespaces with agent pods
	for _, o := range s.List(snapshot.KindPod) {
		if agentPodOf(o, owned, a) {
			agentPods[o.Typed.(*corev1.Pod).Spec.NodeName] = append(agentPods[o.Typed.(*corev1.Pod).Spec.NodeName], o)
			podsSeen[o.Key.Namespace] = true
		}
	}
	podsKnown := len(podsSeen) > 0
	for _, ds := range sets {
		podsKnown = podsKnown || s.Covers(snapshot.KindPod, ds.Key.Namespace)
	}
	switch {
	case len(sets) == 0 && !podsKnown:
		if s.NodeAgentsListed() {
			reportMissing(p, a, nodes, ambient, why)
		} else {
			p.NotChecked("no %s DaemonSet or pod in the input: whether nodes %s have a ready %s was not checked", a.what, strings.Join(nodes, ", "), a.what)
		}
		return nil
	case !podsKnown:
		reportFromDaemonSet(p, a, sets, nodes)
		return nil
	}
	for _, n := range nodes {
		reportNode(p, a, n, agentPods[n], sets, ambient[n], why)
	}
	return nil
}

// agentPodOf tells whether o is a pod of the agent: owned by one of its
// DaemonSets, or labelled as the chart labels it.
func agentPodOf(o *snapshot.Object, sets map[string]*snapshot.Object, a nodeAgent) bool {
	pod, ok := o.Typed.(*corev1.Pod)
	if !ok || pod.Spec.NodeName == "" {
		return false
	}
	for _, ref := range pod.OwnerReferences {
		if ref.Kind == "DaemonSet" && sets[o.Key.Namespace+"/"+ref.Name] != nil {
			return true
		}
	}
	return a.podLabel(o.Labels)
}

func reportNode(p *analysis.Pass, a nodeAgent, node string, agents, sets []*snapshot.Object, ambient []*snapshot.Object, why map[*snapshot.Object]string) {
	var notReady []*snapshot.Object
	for _, o := range agents {
		r := readiness(o.Typed.(*corev1.Pod))
		switch {
		case r.ready:
			return
		case !r.known:
			p.NotChecked("%s has no status: whether node %s has a ready %s was not checked", o.Ref(), node, a.what)
			return
		}
		notReady = append(notReady, o)
	}
	f := analysis.Finding{
		Subject:  snapshot.Key{Kind: "Node", Name: node},
		Evidence: []string{fmt.Sprintf("%d ambient pod(s) on node %s: %s (%s)", len(ambient), node, refList(ambient, 3), why[ambient[0]])},
	}
	for _, o := range ambient[:min(3, len(ambient))] {
		f.Related = append(f.Related, analysis.RelatedOf(o, "ambient pod on "+node))
	}
	if len(notReady) > 0 {
		o := notReady[0]
		r := readiness(o.Typed.(*corev1.Pod))
		f.Locations = []analysis.Location{analysis.LocationOf(o, r.at)}
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s on %s: %s", o.Ref(), node, r.why))
		f.Message = fmt.Sprintf("Node %s runs %d ambient pod(s), but its %s %s is not ready (%s): %s.", node, len(ambient), a.what, o.Key.Name, r.short, a.effect)
		f.Remedy = fmt.Sprintf(a.remedy, o.Key.Namespace, o.Key.Name, node)
	} else {
		if len(sets) == 0 {
			p.NotChecked("no %s pod on node %s, and no DaemonSet of it in the input to say whether one should run there", a.what, node)
			return
		}
		ds := sets[0]
		f.Locations = []analysis.Location{analysis.LocationOf(ds, snapshot.P("spec", "template", "spec"))}
		f.Evidence = append(f.Evidence, fmt.Sprintf("no pod of %s runs on node %s", ds.Ref(), node))
		f.Message = fmt.Sprintf("Node %s runs %d ambient pod(s), but no %s pod runs there (%s): %s.", node, len(ambient), a.what, ds.Ref(), a.effect)
		f.Remedy = fmt.Sprintf("Find why %s schedules no pod on %s: its nodeSelector, affinity and tolerations against the node's labels and taints (`kubectl describe node %s`, `kubectl -n %s describe ds %s`). Make it tolerate the node's taints, or keep ambient workloads off that node.", ds.Ref(), node, node, ds.Key.Namespace, ds.Key.Name)
		f.Related = append(f.Related, analysis.RelatedOf(ds, "the "+a.what+" DaemonSet"))
	}
	p.Report(f)
}

// reportMissing: a live cluster with no agent DaemonSet anywhere.
func reportMissing(p *analysis.Pass, a nodeAgent, nodes []string, ambient map[string][]*snapshot.Object, why map[*snapshot.Object]string) {
	first := ambient[nodes[0]][0]
	total := 0
	for _, n := range nodes {
		total += len(ambient[n])
	}
	p.Report(analysis.Finding{
		Subject:   first.Key,
		Locations: []analysis.Location{analysis.LocationOf(first, snapshot.P("metadata"))},
		Evidence:  []string{fmt.Sprintf("%s: %s", first.Ref(), why[first]), "no DaemonSet of the " + a.what + " in any namespace of the cluster"},
		Message:   fmt.Sprintf("%d pod(s) on %d node(s) are enrolled in ambient mode, but the cluster runs no %s at all: %s.", total, len(nodes), a.what, a.effect),
		Remedy:    "Install the ambient components (`istioctl install --set profile=ambient`, or the istio/cni and istio/ztunnel Helm charts with profile=ambient), or take the namespaces out of ambient (remove the istio.io/dataplane-mode=ambient label).",
	})
}

// reportFromDaemonSet: the agent's pods are not in the input; the
// DaemonSet's own status still says whether some node lacks a ready one.
func reportFromDaemonSet(p *analysis.Pass, a nodeAgent, sets []*snapshot.Object, nodes []string) {
	for _, o := range sets {
		ds, ok := o.Typed.(*appsv1.DaemonSet)
		if !ok || ds.Status.DesiredNumberScheduled == 0 || ds.Status.NumberReady >= ds.Status.DesiredNumberScheduled {
			if ok && ds.Status.DesiredNumberScheduled == 0 && ds.Status.ObservedGeneration == 0 {
				p.NotChecked("%s has no status and its pods are not in the input: whether nodes %s have a ready %s was not checked", o.Ref(), strings.Join(nodes, ", "), a.what)
			}
			continue
		}
		st := ds.Status
		p.Report(analysis.Finding{
			Subject:   o.Key,
			Locations: []analysis.Location{analysis.LocationOf(o, snapshot.P("status", "numberReady"))},
			Evidence:  []string{fmt.Sprintf("%s status: desiredNumberScheduled=%d numberReady=%d numberUnavailable=%d", o.Ref(), st.DesiredNumberScheduled, st.NumberReady, st.NumberUnavailable), "nodes running ambient pods: " + strings.Join(nodes, ", ")},
			Message:   fmt.Sprintf("%s has %d of %d pods ready while ambient pods run on %d node(s); on a node whose %s is not ready, %s. (The agent's pods are not in the input, so the nodes affected could not be named.)", o.Ref(), st.NumberReady, st.DesiredNumberScheduled, len(nodes), a.what, a.effect),
			Remedy:    fmt.Sprintf("List the agent's pods and where they run (`kubectl -n %s get pods -o wide -l %s`), then fix the ones not ready; include them in the input to let meshdoctor name the nodes.", o.Key.Namespace, selectorText(ds)),
		})
	}
}

func selectorText(ds *appsv1.DaemonSet) string {
	if ds.Spec.Selector == nil || len(ds.Spec.Selector.MatchLabels) == 0 {
		return "<selector>"
	}
	var kv []string
	for k, v := range ds.Spec.Selector.MatchLabels {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

// ready is a pod's readiness with the status field that proves it.
type ready struct {
	ready bool
	known bool   // the pod has a status at all
	short string // "CrashLoopBackOff", "Ready=False"
	why   string // the full evidence
	at    snapshot.Path
}

// readiness reads a pod's Ready condition and, when it is not ready, the
// first container state that says why.
func readiness(pod *corev1.Pod) ready {
	if pod.Status.Phase == "" && len(pod.Status.Conditions) == 0 && len(pod.Status.ContainerStatuses) == 0 {
		return ready{}
	}
	r := ready{known: true, short: "not ready", at: snapshot.P("status")}
	cond := -1
	for i, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			cond = i
		}
	}
	if cond >= 0 {
		c := pod.Status.Conditions[cond]
		if c.Status == corev1.ConditionTrue {
			return ready{ready: true, known: true}
		}
		r.short = "Ready=" + string(c.Status)
		r.why = strings.TrimSpace(fmt.Sprintf("condition Ready=%s %s %s", c.Status, c.Reason, c.Message))
		r.at = snapshot.P("status", "conditions", cond, "status")
	} else if pod.Status.Phase != "" {
		r.short = "phase " + string(pod.Status.Phase)
		r.why = "phase " + string(pod.Status.Phase) + ", no Ready condition"
		r.at = snapshot.P("status", "phase")
	}
	for _, list := range []struct {
		field string
		st    []corev1.ContainerStatus
	}{{"initContainerStatuses", pod.Status.InitContainerStatuses}, {"containerStatuses", pod.Status.ContainerStatuses}} {
		for i, cs := range list.st {
			switch {
			case cs.State.Waiting != nil && cs.State.Waiting.Reason != "":
				r.short = cs.State.Waiting.Reason
				r.why = strings.TrimSpace(fmt.Sprintf("container %s waiting: %s %s", cs.Name, cs.State.Waiting.Reason, cs.State.Waiting.Message))
				r.at = snapshot.P("status", list.field, i, "state", "waiting", "reason")
				return r
			case cs.State.Terminated != nil && cs.State.Terminated.ExitCode != 0:
				r.short = "container " + cs.Name + " exited " + fmt.Sprint(cs.State.Terminated.ExitCode)
				r.why = strings.TrimSpace(fmt.Sprintf("container %s terminated: exit code %d %s %s", cs.Name, cs.State.Terminated.ExitCode, cs.State.Terminated.Reason, cs.State.Terminated.Message))
				r.at = snapshot.P("status", list.field, i, "state", "terminated")
				return r
			case !cs.Ready && list.field == "containerStatuses" && cs.State.Running != nil:
				r.short = "container " + cs.Name + " running, not ready"
				r.why = fmt.Sprintf("container %s running but failing its readiness probe (restarts: %d)", cs.Name, cs.RestartCount)
				r.at = snapshot.P("status", list.field, i, "ready")
				return r
			}
		}
	}
	if r.why == "" {
		r.why = "no Ready condition"
	}
	return r
}

// refList names up to n objects, then how many more.
func refList(os []*snapshot.Object, n int) string {
	names := make([]string, 0, len(os))
	for _, o := range os {
		names = append(names, o.Key.Namespace+"/"+o.Key.Name)
	}
	return strings.Join(analysis.FirstN(names, n), ", ")
}
