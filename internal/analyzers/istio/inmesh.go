package istio

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// Labels and annotations that decide whether a workload joins the mesh.
const (
	InjectLabel        = "sidecar.istio.io/inject" // label (annotation is the legacy form)
	NamespaceInjection = "istio-injection"         // enabled / disabled
	RevisionLabel      = "istio.io/rev"
	DataplaneModeLabel = "istio.io/dataplane-mode" // ambient / none
	AmbientRedirection = "ambient.istio.io/redirection"
	ProxyContainer     = "istio-proxy"
)

// Dataplane is how a workload's traffic reaches the mesh.
type Dataplane int

const (
	// DataplaneUnknown: the input lacks what decides it (the Namespace).
	DataplaneUnknown Dataplane = iota
	DataplaneNone
	DataplaneSidecar
	DataplaneAmbient
)

func (d Dataplane) String() string {
	return [...]string{"unknown", "none", "sidecar", "ambient"}[d]
}

// Membership is a workload's dataplane and the label or container that
// decided it, for evidence.
type Membership struct {
	Dataplane Dataplane
	Why       string
}

// membershipReads are the fields MembershipOf reads.
func membershipReads() map[schema.GroupKind][]string {
	// HasProxy reads only the containers' names and images: declaring whole
	// containers would decode every probe, env and volume mount of every pod.
	pod := []string{"metadata.labels", "metadata.annotations", "spec.containers.name", "spec.containers.image", "spec.initContainers.name", "spec.initContainers.image", "spec.hostNetwork"}
	out := templateReads(pod...)
	out[snapshot.KindPod] = append(pod, "spec.nodeName", "status.phase")
	out[snapshot.KindNamespace] = []string{"metadata.labels"}
	return out
}

// HasProxy reports whether a pod spec carries the injected sidecar.
func HasProxy(spec *corev1.PodSpec) bool {
	for _, list := range [][]corev1.Container{spec.Containers, spec.InitContainers} {
		for i := range list {
			if list[i].Name == ProxyContainer && list[i].Image != "" {
				return true
			}
		}
	}
	return false
}

// MembershipOf judges an admitted Pod by what it runs, and a controller (or
// a Pod manifest not admitted yet) by what its pods will run once admitted:
// an injected proxy; else what the default injection webhooks and the
// injector decide (Injection.Decide); else the pod's and the namespace's
// ambient labels. A Pod counts as admitted when it has a status phase, a
// node, a uid or a creation time (what the API server and the scheduler
// add); a manifest from a repository has none of them.
func MembershipOf(s *snapshot.Snapshot, o *snapshot.Object) Membership {
	spec, _, podLabels, ok := snapshot.PodSpecOf(o)
	if !ok {
		return Membership{DataplaneNone, "not a workload"}
	}
	ann := snapshot.PodAnnotationsOf(o)
	if HasProxy(spec) {
		return Membership{DataplaneSidecar, "runs an istio-proxy container"}
	}
	if o.Key.GroupKind() == snapshot.KindPod && podAdmitted(o) {
		// An admitted pod runs what it runs, whatever its labels ask for.
		if ann[AmbientRedirection] == "enabled" {
			return Membership{DataplaneAmbient, "annotation " + AmbientRedirection + "=enabled"}
		}
		return Membership{DataplaneNone, "no istio-proxy container"}
	}
	// A controller or a Pod manifest: what the injection webhooks (as Istio's charts install
	// them) and the injector would do with its pods, then ambient.
	d := (&Injection{}).Decide(s, o.Key.Namespace, podLabels, ann, spec.HostNetwork)
	switch {
	case !d.Known:
		return Membership{DataplaneUnknown, d.Why}
	case d.Inject:
		return Membership{DataplaneSidecar, d.Why}
	case spec.HostNetwork:
		return Membership{DataplaneNone, d.Why}
	case podLabels[DataplaneModeLabel] == "none":
		return Membership{DataplaneNone, "label " + DataplaneModeLabel + "=none"}
	case podLabels[DataplaneModeLabel] == "ambient":
		return Membership{DataplaneAmbient, "label " + DataplaneModeLabel + "=ambient"}
	}
	if ns := s.Get(snapshot.KindNamespace, "", o.Key.Namespace); ns != nil && ns.Labels[DataplaneModeLabel] == "ambient" {
		return Membership{DataplaneAmbient, "namespace label " + DataplaneModeLabel + "=ambient"}
	}
	return Membership{DataplaneNone, d.Why}
}

// podAdmitted tells whether a Pod object went through the API server (it
// has a status phase, a node, a uid or a creation time) rather than being a
// manifest that the injector will see when it is applied.
func podAdmitted(o *snapshot.Object) bool {
	pod, ok := o.Typed.(*corev1.Pod)
	return ok && (pod.Status.Phase != "" || pod.UID != "" || !pod.CreationTimestamp.IsZero() || pod.Spec.NodeName != "")
}

// MembershipReads declares the fields MembershipOf reads, for checks of
// other packages that call it.
func MembershipReads() map[schema.GroupKind][]string { return secMembershipReads() }
