package workload

import (
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// Ownership links pods and ReplicaSets to the controllers in the snapshot
// that made them, so a problem in a template is reported once, on the
// controller, with its pods as the observed effect.
type Ownership struct {
	controller map[*snapshot.Object]*snapshot.Object
	pods       map[*snapshot.Object][]*snapshot.Object
}

// Controller returns the controlling owner of o present in the snapshot.
func (w *Ownership) Controller(o *snapshot.Object) *snapshot.Object { return w.controller[o] }

// Pods returns the pods o controls, directly or through ReplicaSets.
func (w *Ownership) Pods(o *snapshot.Object) []*snapshot.Object { return w.pods[o] }

// OwnershipFact resolves controller owner references. A pod whose
// ReplicaSet is absent is linked to the Deployment the ReplicaSet name
// points at (<deployment>-<hash>), since users often export deployments
// and pods but not ReplicaSets.
var OwnershipFact = &analysis.Fact{
	Name:  "ownership",
	Doc:   "Controller owner of each Pod and ReplicaSet, and the pods of each controller.",
	Reads: map[schema.GroupKind][]string{}, // owner references live in metadata
	Run: func(p *analysis.Pass) (any, error) {
		s := p.Snapshot
		w := &Ownership{controller: map[*snapshot.Object]*snapshot.Object{}, pods: map[*snapshot.Object][]*snapshot.Object{}}
		for _, gk := range []schema.GroupKind{snapshot.KindReplicaSet, snapshot.KindPod, snapshot.KindJob} {
			for _, o := range s.List(gk) {
				if c := findController(s, o); c != nil {
					w.controller[o] = c
				}
			}
		}
		for _, pod := range s.List(snapshot.KindPod) {
			for c := w.controller[pod]; c != nil; c = w.controller[c] {
				w.pods[c] = append(w.pods[c], pod)
			}
		}
		return w, nil
	},
}

func findController(s *snapshot.Snapshot, o *snapshot.Object) *snapshot.Object {
	acc, err := meta.Accessor(o.Typed)
	if err != nil {
		return nil
	}
	ref := metav1.GetControllerOfNoCopy(acc)
	if ref == nil {
		return nil
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return nil
	}
	if c := s.Get(schema.GroupKind{Group: gv.Group, Kind: ref.Kind}, o.Key.Namespace, ref.Name); c != nil {
		return c
	}
	if ref.Kind == "ReplicaSet" {
		if i := strings.LastIndexByte(ref.Name, '-'); i > 0 {
			return s.Get(snapshot.KindDeployment, o.Key.Namespace, ref.Name[:i])
		}
	}
	return nil
}

// candidate is a finding about one object, keyed so the same problem on a
// controller and on the pods it made can be merged.
type candidate struct {
	obj   *snapshot.Object
	key   string
	build func(affected []*snapshot.Object) analysis.Finding
}

// reportMerged reports candidates, folding each into the nearest
// controller that has the same problem; folded objects become the
// controller's affected objects.
func reportMerged(p *analysis.Pass, own *Ownership, cands []candidate) {
	type id struct {
		obj *snapshot.Object
		key string
	}
	has := map[id]bool{}
	for _, c := range cands {
		has[id{c.obj, c.key}] = true
	}
	affected := map[id][]*snapshot.Object{}
	var roots []candidate
	for _, c := range cands {
		folded := false
		for anc := own.Controller(c.obj); anc != nil; anc = own.Controller(anc) {
			if has[id{anc, c.key}] {
				if c.obj.Key.Kind == "Pod" {
					affected[id{anc, c.key}] = append(affected[id{anc, c.key}], c.obj)
				}
				folded = true
				break
			}
		}
		if !folded {
			roots = append(roots, c)
		}
	}
	for _, c := range roots {
		p.Report(c.build(affected[id{c.obj, c.key}]))
	}
}

// podStateEvidence describes what affected pods show for one container:
// the waiting reason and message the kubelet recorded, when present.
func podStateEvidence(pods []*snapshot.Object, container string) []string {
	var out []string
	for _, po := range pods {
		pod, ok := po.Typed.(*corev1.Pod)
		if !ok {
			continue
		}
		state := "no status for container " + container
		for _, st := range slices.Concat(pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses) {
			if st.Name != container {
				continue
			}
			switch {
			case st.State.Waiting != nil:
				state = "waiting: " + st.State.Waiting.Reason
				if st.State.Waiting.Message != "" {
					state += ": " + st.State.Waiting.Message
				}
			case st.State.Running != nil:
				state = "running"
			case st.State.Terminated != nil:
				state = "terminated: " + st.State.Terminated.Reason
			}
		}
		node := ""
		if pod.Spec.NodeName != "" {
			node = " on " + pod.Spec.NodeName
		}
		out = append(out, "pod "+po.Key.Namespace+"/"+po.Key.Name+node+": "+container+" "+state)
	}
	return out
}
