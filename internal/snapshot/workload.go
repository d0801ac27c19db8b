package snapshot

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// PodSpecOf returns the pod spec an object runs, the path to it inside the
// object, and the labels its pods carry. ok is false for kinds without one.
func PodSpecOf(o *Object) (spec *corev1.PodSpec, at Path, podLabels map[string]string, ok bool) {
	tmpl := func(t *corev1.PodTemplateSpec, prefix Path) (*corev1.PodSpec, Path, map[string]string, bool) {
		return &t.Spec, prefix.Child("spec"), t.Labels, true
	}
	switch v := o.Typed.(type) {
	case *corev1.Pod:
		return &v.Spec, P("spec"), v.Labels, true
	case *appsv1.Deployment:
		return tmpl(&v.Spec.Template, P("spec", "template"))
	case *appsv1.DaemonSet:
		return tmpl(&v.Spec.Template, P("spec", "template"))
	case *appsv1.StatefulSet:
		return tmpl(&v.Spec.Template, P("spec", "template"))
	case *appsv1.ReplicaSet:
		return tmpl(&v.Spec.Template, P("spec", "template"))
	case *batchv1.Job:
		return tmpl(&v.Spec.Template, P("spec", "template"))
	case *batchv1.CronJob:
		return tmpl(&v.Spec.JobTemplate.Spec.Template, P("spec", "jobTemplate", "spec", "template"))
	}
	return nil, nil, nil, false
}

// Container is one container of a pod spec with its path.
type Container struct {
	C    *corev1.Container
	Path Path
	Init bool
}

// Containers lists the init and regular containers of a pod spec, with the
// path of each relative to the object.
func Containers(spec *corev1.PodSpec, at Path) []Container {
	out := make([]Container, 0, len(spec.InitContainers)+len(spec.Containers))
	for i := range spec.InitContainers {
		out = append(out, Container{C: &spec.InitContainers[i], Path: at.Child("initContainers", i), Init: true})
	}
	for i := range spec.Containers {
		out = append(out, Container{C: &spec.Containers[i], Path: at.Child("containers", i)})
	}
	return out
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
