package snapshot

import (
	"iter"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// PodSpecOf returns the pod spec an object runs, the path to it inside the
// object, and the labels its pods carry. ok is false for kinds without one.
func PodSpecOf(o *Object) (spec *corev1.PodSpec, at Path, podLabels map[string]string, ok bool) {
	switch v := o.Typed.(type) {
	case *corev1.Pod:
		return &v.Spec, podSpecPath, v.Labels, true
	case *appsv1.Deployment:
		return &v.Spec.Template.Spec, templateSpecPath, v.Spec.Template.Labels, true
	case *appsv1.DaemonSet:
		return &v.Spec.Template.Spec, templateSpecPath, v.Spec.Template.Labels, true
	case *appsv1.StatefulSet:
		return &v.Spec.Template.Spec, templateSpecPath, v.Spec.Template.Labels, true
	case *appsv1.ReplicaSet:
		return &v.Spec.Template.Spec, templateSpecPath, v.Spec.Template.Labels, true
	case *batchv1.Job:
		return &v.Spec.Template.Spec, templateSpecPath, v.Spec.Template.Labels, true
	case *batchv1.CronJob:
		return &v.Spec.JobTemplate.Spec.Template.Spec, cronJobSpecPath, v.Spec.JobTemplate.Spec.Template.Labels, true
	}
	return nil, nil, nil, false
}

// The paths of pod specs, shared: checks ask for them for every workload
// in every pass, and paths are never modified (Child copies).
var (
	podSpecPath      = P("spec")
	templateSpecPath = P("spec", "template", "spec")
	cronJobSpecPath  = P("spec", "jobTemplate", "spec", "template", "spec")
)

// Container is one container of a pod spec; Path says where it is.
type Container struct {
	C    *corev1.Container
	Init bool
	// spec and index locate it: the path is built only when a finding
	// needs it, as checks walk every container of every workload.
	spec  Path
	index int
}

// Path is the container's path relative to the object
// (spec.template.spec.containers[2]).
func (c Container) Path() Path {
	list := "containers"
	if c.Init {
		list = "initContainers"
	}
	return c.spec.Child(list, c.index)
}

// Containers lists the init and regular containers of a pod spec, with the
// path of each relative to the object.
func Containers(spec *corev1.PodSpec, at Path) iter.Seq[Container] {
	return func(yield func(Container) bool) {
		for i := range spec.InitContainers {
			if !yield(Container{C: &spec.InitContainers[i], Init: true, spec: at, index: i}) {
				return
			}
		}
		for i := range spec.Containers {
			if !yield(Container{C: &spec.Containers[i], spec: at, index: i}) {
				return
			}
		}
	}
}

// PodAnnotationsOf returns the annotations the pods of o carry (the pod's
// own, or its template's); nil for kinds without a pod spec.
func PodAnnotationsOf(o *Object) map[string]string {
	switch v := o.Typed.(type) {
	case *corev1.Pod:
		return v.Annotations
	case *appsv1.Deployment:
		return v.Spec.Template.Annotations
	case *appsv1.DaemonSet:
		return v.Spec.Template.Annotations
	case *appsv1.StatefulSet:
		return v.Spec.Template.Annotations
	case *appsv1.ReplicaSet:
		return v.Spec.Template.Annotations
	case *batchv1.Job:
		return v.Spec.Template.Annotations
	case *batchv1.CronJob:
		return v.Spec.JobTemplate.Spec.Template.Annotations
	}
	return nil
}

// PodConditionReads are the parts of a Pod's conditions that readiness
// checks read: which condition, its status and why. The timestamps are
// left out, so they are never decoded.
func PodConditionReads() []string {
	return []string{"status.conditions.type", "status.conditions.status", "status.conditions.reason", "status.conditions.message"}
}

// ContainerStatusReads are the parts of a Pod's container statuses, init
// containers' included, that container-state evidence reads: name,
// readiness, restarts, and the state (for a terminated container its exit
// code, reason and message; not its timestamps or container ID).
func ContainerStatusReads() []string {
	var out []string
	for _, list := range []string{"status.containerStatuses.", "status.initContainerStatuses."} {
		for _, f := range []string{"name", "ready", "restartCount", "state.waiting", "state.running", "state.terminated.exitCode", "state.terminated.reason", "state.terminated.message"} {
			out = append(out, list+f)
		}
	}
	return out
}
