package facts

import (
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/kb"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/version"
)

// Component is one installed mesh component and its version.
type Component struct {
	Object  *snapshot.Object
	Version version.V
	// From says where the version was read (image tag, label, ConfigMap key).
	From string
}

// Versions maps each kind of mesh component to what is installed.
type Versions struct {
	Istiod  []Component
	CNI     []Component
	Ztunnel []Component
}

// CNIFor returns the istio-cni component whose DaemonSet is o, if known.
func (v *Versions) CNIFor(o *snapshot.Object) (Component, bool) {
	for _, c := range v.CNI {
		if c.Object == o {
			return c, true
		}
	}
	return Component{}, false
}

// ComponentVersions finds istiod, istio-cni and ztunnel and their versions:
// from the main container's image tag, else the chart's version labels,
// else (istio-cni) the CURRENT_AGENT_VERSION key of its ConfigMap.
var ComponentVersions = &analysis.Fact{
	Name: "component-versions",
	Doc:  "Versions of istiod, istio-cni and ztunnel, from image tags, labels or CURRENT_AGENT_VERSION.",
	Reads: map[schema.GroupKind][]string{
		snapshot.KindDeployment: {"spec.template.spec.containers.name", "spec.template.spec.containers.image"},
		snapshot.KindDaemonSet:  {"spec.template.spec.containers.name", "spec.template.spec.containers.image"},
		snapshot.KindConfigMap:  {"data"},
	},
	Run: func(p *analysis.Pass) (any, error) {
		s := p.Snapshot
		v := &Versions{}
		for _, o := range s.List(snapshot.KindDeployment) {
			if IsIstiod(o) {
				if c, ok := componentVersion(s, o, "discovery"); ok {
					v.Istiod = append(v.Istiod, c)
				}
			}
		}
		for _, o := range s.List(snapshot.KindDaemonSet) {
			switch {
			case IsIstioCNI(o):
				if c, ok := componentVersion(s, o, kb.IstioCNIContainer); ok {
					v.CNI = append(v.CNI, c)
				}
			case o.Key.Name == "ztunnel" || o.Labels["app"] == "ztunnel":
				if c, ok := componentVersion(s, o, "istio-proxy"); ok {
					v.Ztunnel = append(v.Ztunnel, c)
				}
			}
		}
		return v, nil
	},
}

// IsIstiod recognises an istiod Deployment.
func IsIstiod(o *snapshot.Object) bool {
	return o.Labels["app"] == "istiod" || o.Key.Name == "istiod" || len(o.Key.Name) > 7 && o.Key.Name[:7] == "istiod-"
}

// IsIstioCNI recognises the istio-cni node agent DaemonSet by name, label
// or its install-cni container.
func IsIstioCNI(o *snapshot.Object) bool {
	if o.Key.Name == kb.IstioCNIDaemonSet || o.Labels["k8s-app"] == kb.IstioCNIDaemonSet {
		return true
	}
	ds, ok := o.Typed.(*appsv1.DaemonSet)
	if !ok {
		return false
	}
	for _, c := range ds.Spec.Template.Spec.Containers {
		if c.Name == kb.IstioCNIContainer {
			return true
		}
	}
	return false
}

func componentVersion(s *snapshot.Snapshot, o *snapshot.Object, container string) (Component, bool) {
	spec, _, _, ok := snapshot.PodSpecOf(o)
	if !ok {
		return Component{}, false
	}
	cs := append([]corev1.Container(nil), spec.Containers...)
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].Name == container && cs[j].Name != container })
	for _, c := range cs {
		if v, ok := version.FromImage(c.Image); ok {
			return Component{Object: o, Version: v, From: "image " + c.Image}, true
		}
	}
	for _, l := range []string{"app.kubernetes.io/version", "operator.istio.io/version"} {
		if v, ok := version.Parse(o.Labels[l]); ok {
			return Component{Object: o, Version: v, From: "label " + l}, true
		}
	}
	if IsIstioCNI(o) {
		if cm := s.Get(snapshot.KindConfigMap, o.Key.Namespace, kb.IstioCNIConfigMap); cm != nil {
			if v, ok := version.Parse(cm.Typed.(*corev1.ConfigMap).Data["CURRENT_AGENT_VERSION"]); ok {
				return Component{Object: o, Version: v, From: "ConfigMap " + cm.Ref() + " CURRENT_AGENT_VERSION"}, true
			}
		}
	}
	return Component{}, false
}
