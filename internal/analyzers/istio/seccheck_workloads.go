package istio

import (
	"fmt"
	"sort"
	"strings"

	typev1beta1 "istio.io/api/type/v1beta1"
	extensionsv1alpha1 "istio.io/client-go/pkg/apis/extensions/v1alpha1"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	telemetryv1 "istio.io/client-go/pkg/apis/telemetry/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// scopedPolicy is the part of a workload-scoped Istio policy (authorization,
// authentication, telemetry, extension, Sidecar) that says where it applies.
type scopedPolicy struct {
	Object *snapshot.Object
	// Selector is the workload selector's labels; HasSelector tells a
	// written selector (even an empty one) from none.
	Selector    map[string]string
	HasSelector bool
	// SelectorPath is where the selector is written.
	SelectorPath snapshot.Path
	// TargetRefs lists targetRef and targetRefs (policy attachment).
	TargetRefs []*typev1beta1.PolicyTargetReference
}

// selects tells whether the policy names workloads by labels: a non-empty
// selector.
func (sp scopedPolicy) selects() bool { return len(sp.Selector) > 0 }

// labelSelector is the selector as a Kubernetes label selector (empty:
// everything).
func (sp scopedPolicy) labelSelector() labels.Selector {
	return labels.SelectorFromSet(sp.Selector)
}

// selectorPolicyKinds are the kinds scopedPolicyOf understands.
var selectorPolicyKinds = []schema.GroupKind{
	snapshot.KindAuthzPolicy, snapshot.KindRequestAuth, snapshot.KindPeerAuth,
	snapshot.KindSidecar, snapshot.KindTelemetry, snapshot.KindWasmPlugin,
}

// scopedPolicyOf reads the scope of a policy object; ok is false for other
// kinds.
func scopedPolicyOf(o *snapshot.Object) (scopedPolicy, bool) {
	sp := scopedPolicy{Object: o, SelectorPath: snapshot.P("spec", "selector", "matchLabels")}
	ws := func(s *typev1beta1.WorkloadSelector) {
		if s != nil {
			sp.HasSelector, sp.Selector = true, s.GetMatchLabels()
		}
	}
	refs := func(one *typev1beta1.PolicyTargetReference, many []*typev1beta1.PolicyTargetReference) {
		sp.TargetRefs = append(sp.TargetRefs, many...)
		if len(many) == 0 && one != nil {
			sp.TargetRefs = append(sp.TargetRefs, one)
		}
	}
	switch v := o.Typed.(type) {
	case *securityv1.AuthorizationPolicy:
		ws(v.Spec.GetSelector())
		refs(v.Spec.GetTargetRef(), v.Spec.GetTargetRefs())
	case *securityv1.RequestAuthentication:
		ws(v.Spec.GetSelector())
		refs(v.Spec.GetTargetRef(), v.Spec.GetTargetRefs())
	case *securityv1.PeerAuthentication:
		ws(v.Spec.GetSelector())
	case *telemetryv1.Telemetry:
		ws(v.Spec.GetSelector())
		refs(v.Spec.GetTargetRef(), v.Spec.GetTargetRefs())
	case *extensionsv1alpha1.WasmPlugin:
		ws(v.Spec.GetSelector())
		refs(v.Spec.GetTargetRef(), v.Spec.GetTargetRefs())
	case *networkingv1.Sidecar:
		sp.SelectorPath = snapshot.P("spec", "workloadSelector", "labels")
		if s := v.Spec.GetWorkloadSelector(); s != nil {
			sp.HasSelector, sp.Selector = true, s.GetLabels()
		}
	default:
		return sp, false
	}
	return sp, true
}

// secMembershipReads are the fields MembershipOf reads (membershipReads),
// with whole containers narrowed to the names and images it looks at:
// decoding every container costs memory on large inputs.
func secMembershipReads() map[schema.GroupKind][]string {
	out := map[schema.GroupKind][]string{}
	for gk, fields := range membershipReads() {
		for _, f := range fields {
			if strings.HasSuffix(f, "spec.containers") || strings.HasSuffix(f, "spec.initContainers") {
				out[gk] = append(out[gk], f+".name", f+".image")
				continue
			}
			out[gk] = append(out[gk], f)
		}
	}
	return out
}

// policySpecReads declares the spec of every policy kind scopedPolicyOf
// reads.
func policySpecReads() map[schema.GroupKind][]string {
	out := map[schema.GroupKind][]string{}
	for _, k := range selectorPolicyKinds {
		out[k] = []string{"spec"}
	}
	return out
}

// workloadIndex answers "which workloads of a namespace does a selector
// pick" from the snapshot's label indexes: the Pods of a namespace when the
// input holds any there, else the pod templates of its controllers (what
// will run). It caches the dataplane of each workload.
type workloadIndex struct {
	s      *snapshot.Snapshot
	mode   map[*snapshot.Object]Membership
	allCov *bool
}

func newWorkloadIndex(s *snapshot.Snapshot) *workloadIndex {
	return &workloadIndex{s: s, mode: map[*snapshot.Object]Membership{}}
}

// covered tells whether the input holds the workloads of namespace ns.
func (w *workloadIndex) covered(ns string) bool {
	return w.s.Covers(snapshot.KindPod, ns) || coversWorkloads(w.s, ns)
}

// selectIn returns the workloads of namespace ns (or every namespace, with
// snapshot.AllNamespaces) that sel picks: the Pods and the controllers'
// pod templates (what will run), so that an input holding some Pods of a
// namespace but only the Deployment of another workload misses nothing.
func (w *workloadIndex) selectIn(ns string, sel labels.Selector) []*snapshot.Object {
	return append(w.s.SelectPods(ns, sel), w.s.SelectWorkloads(ns, sel)...)
}

// dataplane is the dataplane a policy can count on for a workload. A Pod
// without a proxy whose labels and namespace ask for injection is taken as
// undecided: the input may hold the manifest rather than the admitted pod
// (and a pod that missed injection is the injection checks' finding).
func (w *workloadIndex) dataplane(o *snapshot.Object) Dataplane {
	m := w.membership(o)
	if m.Dataplane != DataplaneNone || o.Key.GroupKind() != snapshot.KindPod {
		return m.Dataplane
	}
	asTemplate := *o
	asTemplate.Key.Kind = "PodTemplate"
	if d := MembershipOf(w.s, &asTemplate).Dataplane; d != DataplaneNone {
		return DataplaneUnknown
	}
	return DataplaneNone
}

// membership caches MembershipOf.
func (w *workloadIndex) membership(o *snapshot.Object) Membership {
	m, ok := w.mode[o]
	if !ok {
		m = MembershipOf(w.s, o)
		w.mode[o] = m
	}
	return m
}

// allCovered tells whether the input can be trusted to hold the workloads
// of every namespace (for root-namespace policies whose selector applies
// mesh-wide): it lists Namespaces, and every one of them other than those
// Kubernetes keeps empty holds Pods or workloads in the input.
func (w *workloadIndex) allCovered() bool {
	if w.allCov != nil {
		return *w.allCov
	}
	nss := w.s.List(snapshot.KindNamespace)
	all := len(nss) > 0
	for _, n := range nss {
		switch n.Key.Name {
		case "kube-node-lease", "kube-public", "default":
			continue
		}
		if !w.covered(n.Key.Name) {
			all = false
			break
		}
	}
	w.allCov = &all
	return all
}

// labelsOf returns the labels a workload's pods carry.
func labelsOf(o *snapshot.Object) map[string]string {
	_, _, l, _ := snapshot.PodSpecOf(o)
	return l
}

// refList names up to max objects, then how many more.
func refList(objs []*snapshot.Object, max int) string {
	var names []string
	for i, o := range objs {
		if i == max {
			names = append(names, fmt.Sprintf("and %d more", len(objs)-max))
			break
		}
		names = append(names, o.Ref())
	}
	return strings.Join(names, ", ")
}

// labelText renders a label map deterministically (k=v,k=v).
func labelText(m map[string]string) string {
	if len(m) == 0 {
		return "(none)"
	}
	return labels.SelectorFromSet(m).String()
}

// namespaceIndex answers namespace-name patterns (exact, prefix*, *suffix,
// *) from the Namespace objects of the input in O(log n).
type namespaceIndex struct {
	names    []string // sorted
	reversed []string // each name reversed, sorted
	set      map[string]bool
	complete bool
}

// newNamespaceIndex indexes the Namespaces of the input, plus the mesh root
// namespace (which exists wherever Istio runs). The list is complete — a
// name missing from it does not exist — only when every namespace that
// holds objects in the input has its Namespace object too: a full export,
// not a few hand-written Namespaces.
func newNamespaceIndex(s *snapshot.Snapshot, root string) *namespaceIndex {
	ix := &namespaceIndex{set: map[string]bool{}}
	add := func(n string) {
		if !ix.set[n] {
			ix.set[n] = true
			ix.names = append(ix.names, n)
			ix.reversed = append(ix.reversed, reverse(n))
		}
	}
	for _, o := range s.List(snapshot.KindNamespace) {
		add(o.Key.Name)
	}
	ix.complete = len(ix.names) > 0
	for _, n := range s.Namespaces() {
		if !ix.set[n] {
			ix.complete = false
		}
	}
	add(root)
	sort.Strings(ix.names)
	sort.Strings(ix.reversed)
	return ix
}

func reverse(s string) string {
	r := []byte(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

// known tells whether the input lists every Namespace.
func (ix *namespaceIndex) known() bool { return ix.complete }

// matches tells whether an Istio string match (exact, "prefix*", "*suffix"
// or "*") names at least one listed namespace.
func (ix *namespaceIndex) matches(pattern string) bool {
	hasPrefix := func(list []string, p string) bool {
		i := sort.SearchStrings(list, p)
		return i < len(list) && strings.HasPrefix(list[i], p)
	}
	switch {
	case pattern == "*":
		return len(ix.names) > 0
	case strings.HasPrefix(pattern, "*"):
		return hasPrefix(ix.reversed, reverse(pattern[1:]))
	case strings.HasSuffix(pattern, "*"):
		return hasPrefix(ix.names, strings.TrimSuffix(pattern, "*"))
	}
	return ix.set[pattern]
}
