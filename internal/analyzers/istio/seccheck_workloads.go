package istio

import (
	"sort"
	"strings"

	typev1beta1 "istio.io/api/type/v1beta1"
	extensionsv1alpha1 "istio.io/client-go/pkg/apis/extensions/v1alpha1"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	telemetryv1 "istio.io/client-go/pkg/apis/telemetry/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
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
	dp     map[*snapshot.Object]Dataplane
	allCov *bool
	// other holds, by namespace, the workloads that are neither Pods nor
	// built-in controllers: VMs (WorkloadEntry, WorkloadGroup) and custom
	// controllers with a pod template (Argo Rollouts, ...). Built on first
	// use.
	other    map[string][]otherWorkload
	otherAll []otherWorkload
}

// otherWorkload is a VM or custom-controller workload and the labels its
// proxy (or pods) carry.
type otherWorkload struct {
	Object *snapshot.Object
	Labels map[string]string
	// What says where the labels are read, for evidence.
	What string
}

func newWorkloadIndex(s *snapshot.Snapshot) *workloadIndex {
	return &workloadIndex{s: s, mode: map[*snapshot.Object]Membership{}, dp: map[*snapshot.Object]Dataplane{}}
}

// selectorKey identifies a selection: the scope (a namespace or
// snapshot.AllNamespaces) and the selector's labels, for memoising results
// per distinct selection rather than per policy.
func selectorKey(scope string, sel map[string]string) string {
	return scope + "|" + labels.SelectorFromSet(sel).String()
}

// covered tells whether the input holds the workloads of namespace ns.
func (w *workloadIndex) covered(ns string) bool {
	return w.s.Covers(snapshot.KindPod, ns) || w.s.CoversWorkloads(ns)
}

// selectIn returns the workloads of namespace ns (or every namespace, with
// snapshot.AllNamespaces) that sel picks: the Pods and the controllers'
// pod templates (what will run), so that an input holding some Pods of a
// namespace but only the Deployment of another workload misses nothing.
func (w *workloadIndex) selectIn(ns string, sel labels.Selector) []*snapshot.Object {
	return append(w.s.SelectPods(ns, sel), w.s.SelectWorkloads(ns, sel)...)
}

// otherWorkloadReads are the fields selectOther reads. Custom resources
// are decoded whole whatever is declared.
func otherWorkloadReads() map[schema.GroupKind][]string {
	return map[schema.GroupKind][]string{
		snapshot.KindWorkloadEntry: {"spec.labels"},
		snapshot.KindWorkloadGroup: {"spec.metadata.labels"},
	}
}

// selectOther returns the VM and custom-controller workloads of namespace
// ns (or every namespace) whose labels sel matches. Policies select VMs by
// the labels of their WorkloadEntry (or of the WorkloadGroup that
// registers them), and custom controllers such as Argo Rollouts run pods
// with the labels of their spec.template.
func (w *workloadIndex) selectOther(ns string, sel labels.Selector) []otherWorkload {
	if w.other == nil {
		w.other = map[string][]otherWorkload{}
		add := func(o *snapshot.Object, l map[string]string, what string) {
			if len(l) > 0 {
				w.other[o.Key.Namespace] = append(w.other[o.Key.Namespace], otherWorkload{o, l, what})
			}
		}
		for _, o := range w.s.List(snapshot.KindWorkloadEntry) {
			if we, ok := o.Typed.(*networkingv1.WorkloadEntry); ok {
				add(o, we.Spec.GetLabels(), "spec.labels (a VM's proxy)")
			}
		}
		for _, o := range w.s.List(snapshot.KindWorkloadGroup) {
			if wg, ok := o.Typed.(*networkingv1.WorkloadGroup); ok {
				add(o, wg.Spec.GetMetadata().GetLabels(), "spec.metadata.labels (the VMs it registers)")
			}
		}
		for _, o := range w.s.Objects() {
			if u, ok := o.Typed.(*unstructured.Unstructured); ok && o.Key.Namespace != "" {
				if l, ok := customTemplateLabels(u); ok {
					add(o, l, "spec.template.metadata.labels (the pods it runs)")
				}
			}
		}
		for _, n := range sortedKeys(w.other) {
			w.otherAll = append(w.otherAll, w.other[n]...)
		}
	}
	cands := w.other[ns]
	if ns == snapshot.AllNamespaces {
		cands = w.otherAll
	}
	var out []otherWorkload
	for _, c := range cands {
		if sel.Matches(labels.Set(c.Labels)) {
			out = append(out, c)
		}
	}
	return out
}

// customTemplateLabels reads the pod template labels of a custom resource
// that runs pods (spec.template with metadata.labels and containers), as
// Argo Rollouts, OpenKruise CloneSets or Knative revisions do.
func customTemplateLabels(u *unstructured.Unstructured) (map[string]string, bool) {
	cs, found, err := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
	if err != nil || !found || len(cs) == 0 {
		return nil, false
	}
	l, found, err := unstructured.NestedStringMap(u.Object, "spec", "template", "metadata", "labels")
	if err != nil || !found {
		return nil, false
	}
	return l, true
}

// dataplane is the dataplane a policy can count on for a workload. A Pod
// without a proxy whose labels and namespace ask for injection is taken as
// undecided: the input may hold the manifest rather than the admitted pod
// (and a pod that missed injection is the injection checks' finding).
// Results are cached per object.
func (w *workloadIndex) dataplane(o *snapshot.Object) Dataplane {
	if d, ok := w.dp[o]; ok {
		return d
	}
	d := w.membership(o).Dataplane
	if d == DataplaneNone && o.Key.GroupKind() == snapshot.KindPod {
		asTemplate := *o
		asTemplate.Key.Kind = "PodTemplate"
		if MembershipOf(w.s, &asTemplate).Dataplane != DataplaneNone {
			d = DataplaneUnknown
		}
	}
	w.dp[o] = d
	return d
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
	names := make([]string, 0, len(objs))
	for _, o := range objs {
		names = append(names, o.Ref())
	}
	return strings.Join(analysis.FirstN(names, max), ", ")
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

// policiesPerWorkload maps each workload of namespace ns that policies
// with selectors select (and whose dataplane counts) to those policies, in
// their order; order lists the workloads as first selected.
func (w *workloadIndex) policiesPerWorkload(ns string, policies []scopedPolicy, counts func(Dataplane) bool) (picked map[*snapshot.Object][]*snapshot.Object, order []*snapshot.Object) {
	picked = map[*snapshot.Object][]*snapshot.Object{}
	for _, sp := range policies {
		if !sp.selects() {
			continue
		}
		for _, wl := range w.selectIn(ns, sp.labelSelector()) {
			if !counts(w.dataplane(wl)) {
				continue
			}
			if len(picked[wl]) == 0 {
				order = append(order, wl)
			}
			picked[wl] = append(picked[wl], sp.Object)
		}
	}
	return picked, order
}
