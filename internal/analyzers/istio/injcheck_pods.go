package istio

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

var injPodReads = mergeReads(injWorkloadReads(),
	map[schema.GroupKind][]string{snapshot.KindPod: {"status.phase", "spec.nodeName"}})

// PodMissingProxy: an admitted pod without the sidecar the injector would
// give it now.
var PodMissingProxy = &analysis.Analyzer{
	Code:     "MD106",
	Name:     "pod-missing-proxy",
	Severity: analysis.Warning,
	Summary:  "A running pod has no istio-proxy although its namespace and labels ask for injection: it was created before injection was enabled, or the webhook failed.",
	Doc:      doc("MD106"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindPod)},
	Reads:    injPodReads,
	Requires: []*analysis.Fact{InjectionFact},
	Run: func(p *analysis.Pass) error {
		s := p.Snapshot
		inj := p.ResultOf(InjectionFact).(*Injection)
		for _, o := range s.List(snapshot.KindPod) {
			pod := o.Typed.(*corev1.Pod)
			if injSystemNamespace(o.Key.Namespace) || HasProxy(&pod.Spec) || pod.Annotations[AmbientRedirection] == "enabled" {
				continue
			}
			if !podAdmitted(o) {
				continue // a manifest: it passes through the injector when applied
			}
			if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
				continue // finished: nothing left to mesh
			}
			d := inj.Decide(s, o.Key.Namespace, pod.Labels, pod.Annotations, pod.Spec.HostNetwork)
			if !d.Known {
				p.NotChecked("injection of %s: %s", o.Ref(), d.Why)
				continue
			}
			if !d.Inject {
				continue
			}
			owner, restart := podOwner(pod)
			p.Report(analysis.Finding{
				Subject:   o.Key,
				Message:   fmt.Sprintf("%s runs without an istio-proxy container although a pod created now would be injected (%s): it was created before injection was enabled for it, or the injection webhook was unavailable when it was admitted. Its traffic bypasses the mesh: no mTLS, no routing rules, and peers with STRICT mTLS reset its connections.", o.Ref(), d.Why),
				Locations: []analysis.Location{analysis.LocationOf(o, snapshot.P("spec", "containers"))},
				Evidence:  []string{"containers: " + containerNames(&pod.Spec), "injection applies: " + d.Why, owner},
				Remedy:    restart,
				Key:       o.Key.Name,
			})
		}
		return nil
	},
}

func containerNames(spec *corev1.PodSpec) string {
	var names []string
	for _, c := range spec.InitContainers {
		names = append(names, c.Name+" (init)")
	}
	for _, c := range spec.Containers {
		names = append(names, c.Name)
	}
	return orNone(names)
}

// podOwner names the controller of a pod and the command that recreates
// its pods.
func podOwner(pod *corev1.Pod) (evidence, remedy string) {
	if len(pod.OwnerReferences) == 0 {
		return "no owner (a bare pod)", fmt.Sprintf("Re-create the pod (`kubectl delete pod %s -n %s` and apply it again) so that it passes through the injector.", pod.Name, pod.Namespace)
	}
	ref := pod.OwnerReferences[0]
	kind, name := ref.Kind, ref.Name
	if kind == "ReplicaSet" {
		if h := pod.Labels["pod-template-hash"]; h != "" && strings.HasSuffix(name, "-"+h) {
			kind, name = "Deployment", strings.TrimSuffix(name, "-"+h)
		}
	}
	if kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet" {
		return "owned by " + kind + " " + name, fmt.Sprintf("Restart the workload so that its pods are re-created through the injector: `kubectl rollout restart %s/%s -n %s`; if the pods still lack the proxy, check the injection webhook (istiod logs, `kubectl get events`).", strings.ToLower(kind), name, pod.Namespace)
	}
	return "owned by " + kind + " " + name, fmt.Sprintf("Delete pod %s so that %s %s re-creates it through the injector.", pod.Name, kind, name)
}

// ImageAutoWithoutInjection: `image: auto` is a placeholder the injector
// replaces; without injection it is pulled as is and fails.
var ImageAutoWithoutInjection = &analysis.Analyzer{
	Code:     "MD109",
	Name:     "image-auto-without-injection",
	Severity: analysis.Warning,
	Summary:  "An istio-proxy container has `image: auto`, but no injection webhook will rewrite it: the pod fails with ImagePullBackOff.",
	Doc:      doc("MD109"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.WorkloadKinds...)},
	Reads:    injPodReads,
	Requires: []*analysis.Fact{InjectionFact},
	Run: func(p *analysis.Pass) error {
		s := p.Snapshot
		inj := p.ResultOf(InjectionFact).(*Injection)
		for _, gk := range snapshot.WorkloadKinds {
			for _, o := range s.List(gk) {
				spec, at, podLabels, _ := snapshot.PodSpecOf(o)
				idx := autoProxy(spec)
				if idx < 0 || gk != snapshot.KindPod && ownedByPresent(s, o) {
					continue // a ReplicaSet or Job: judged on its controller
				}
				f := analysis.Finding{
					Subject:   o.Key,
					Locations: []analysis.Location{analysis.LocationOf(o, at.Child("containers", idx, "image"))},
					Remedy:    "Let the injector select the pod: label the namespace istio-injection=enabled (or istio.io/rev=<revision>) or the pod template sidecar.istio.io/inject=\"true\", and check no sidecar.istio.io/inject=\"false\" is set; `image: auto` only works through injection.",
					Key:       o.Key.Name,
				}
				if pod, ok := o.Typed.(*corev1.Pod); ok && (pod.UID != "" || !pod.CreationTimestamp.IsZero() || pod.Spec.NodeName != "") {
					f.Severity = analysis.Error
					f.Message = fmt.Sprintf("%s was admitted with istio-proxy image \"auto\": the injector did not rewrite it, so the kubelet tries to pull an image named \"auto\" and the pod stays in ImagePullBackOff.", o.Ref())
					f.Evidence = []string{"containers[" + fmt.Sprint(idx) + "] istio-proxy image: auto", "the pod is admitted (uid, creation time or node set)"}
					f.Remedy = "Fix injection for the pod, then delete it so that it is re-created through the injector. " + f.Remedy
					p.Report(f)
					continue
				}
				d := inj.Decide(s, o.Key.Namespace, podLabels, snapshot.PodAnnotationsOf(o), spec.HostNetwork)
				if !d.Known {
					p.NotChecked("injection of %s: %s", o.Ref(), d.Why)
					continue
				}
				if d.Inject {
					continue
				}
				source := "the webhooks of Istio's charts (the input has no active Istio injection webhook)"
				if inj.HooksKnown {
					f.Severity = analysis.Error
					source = "the MutatingWebhookConfigurations of the input"
				}
				f.Message = fmt.Sprintf("%s has an istio-proxy container with image \"auto\", but no injection applies to its pods (%s): the placeholder is never replaced and every pod stays in ImagePullBackOff.", o.Ref(), d.Why)
				f.Evidence = []string{"containers[" + fmt.Sprint(idx) + "] istio-proxy image: auto", "judged from " + source, "pod labels " + labelSetText(podLabels)}
				p.Report(f)
			}
		}
		return nil
	},
}

// autoProxy returns the index of an istio-proxy container with image auto.
func autoProxy(spec *corev1.PodSpec) int {
	for i, c := range spec.Containers {
		if c.Name == ProxyContainer && c.Image == "auto" {
			return i
		}
	}
	return -1
}
