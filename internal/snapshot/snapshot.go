package snapshot

import (
	"sort"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

type kindNS struct {
	gk schema.GroupKind
	ns string
}

type labelKey struct {
	ns, key, value string
}

// Duplicate records an object identity that appeared more than once; the
// first occurrence is kept.
type Duplicate struct {
	Kept, Dropped *Object
}

// Snapshot is the read-only view every analyzer receives. Build it once with
// a Builder; lookups are map hits, never scans over all objects.
type Snapshot struct {
	objects    []*Object
	byKey      map[Key]*Object
	byKind     map[schema.GroupKind][]*Object
	byKindNS   map[kindNS][]*Object
	podByLabel labelIndex
	// tmplByLabel indexes controllers (Deployment, DaemonSet, ...) by the
	// labels of the pods they create.
	tmplByLabel labelIndex
	duplicates  []Duplicate
	// listed are the kinds a live source listed completely, per namespace
	// or in AllNamespaces; unserved are the kinds a live cluster does not
	// serve, with why.
	listed   map[kindNS]bool
	unserved map[schema.GroupKind]string
	// nodeAgentsListed: every node agent's DaemonSet of the cluster is in
	// the snapshot, though the DaemonSets are not (a scoped live read).
	nodeAgentsListed bool
	nodes            []*Node
	logs             []*ContainerLog
	// accessLogs are the access-log groups, nil when none were read.
	accessLogs *AccessLogs
	// cilium is the output of Cilium and Hubble commands read.
	cilium []*CiliumOutput
}

// Builder accumulates objects and then freezes them into a Snapshot.
type Builder struct {
	s *Snapshot
}

// NewBuilder starts an empty snapshot.
func NewBuilder() *Builder {
	return &Builder{s: &Snapshot{
		byKey:       map[Key]*Object{},
		byKind:      map[schema.GroupKind][]*Object{},
		byKindNS:    map[kindNS][]*Object{},
		podByLabel:  newLabelIndex(0),
		tmplByLabel: newLabelIndex(0),
		listed:      map[kindNS]bool{},
		unserved:    map[schema.GroupKind]string{},
	}}
}

// Reserve sizes an empty Builder's indexes for n objects, so that adding
// a large input does not rehash them again and again. It does nothing once
// objects were added.
func (b *Builder) Reserve(n int) {
	s := b.s
	if len(s.objects) > 0 || n <= 0 {
		return
	}
	s.byKey = make(map[Key]*Object, n)
	s.objects = make([]*Object, 0, n)
	s.podByLabel = newLabelIndex(n)
	s.tmplByLabel = newLabelIndex(n / 2)
}

// MarkListed records that every object of kind gk in namespace ns
// (AllNamespaces for every namespace) is in the snapshot, even if there is
// none: a live LIST that succeeded.
func (b *Builder) MarkListed(gk schema.GroupKind, ns string) {
	b.s.listed[kindNS{gk, ns}] = true
}

// MarkNodeAgentsListed records that every DaemonSet of a node agent
// (Cilium's, istio-cni's, ztunnel's) in the cluster is in the snapshot,
// though not every DaemonSet is: a live read scoped to a namespace that
// listed the DaemonSets everywhere and kept those of its scope, which
// holds the agents' namespaces.
func (b *Builder) MarkNodeAgentsListed() { b.s.nodeAgentsListed = true }

// MarkUnserved records that a live read has no object of kind gk because
// the cluster does not serve it or the user may list it nowhere, and why.
func (b *Builder) MarkUnserved(gk schema.GroupKind, why string) {
	b.s.unserved[gk] = why
}

// AddUnlessPresent inserts o unless an object with its identity is already
// in: an overlay (local files over a live cluster) added first wins without
// counting as a duplicate.
func (b *Builder) AddUnlessPresent(o *Object) bool {
	if _, ok := b.s.byKey[o.Key]; ok {
		return false
	}
	b.Add(o)
	return true
}

// Add inserts an object. An identity seen before is recorded as a duplicate
// and the first one wins.
func (b *Builder) Add(o *Object) {
	if b.keep(o) {
		b.indexKind(o)
		b.indexLabels(o, true, true)
	}
}

// AddAll adds objects in order, like Add on each. The indexes are filled
// side by side — the pods' labels, the most work, in two halves — for a
// large input, indexing is most of the time between reading the last file
// and the first check.
func (b *Builder) AddAll(objs []*Object) {
	kept := make([]*Object, 0, len(objs))
	for _, o := range objs {
		if b.keep(o) {
			kept = append(kept, o)
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for _, o := range kept {
			b.indexKind(o)
			if o.Key.GroupKind() != KindPod {
				b.indexLabels(o, true, true)
			}
		}
	})
	wg.Go(func() {
		for _, o := range kept {
			if o.Key.GroupKind() == KindPod {
				b.indexLabels(o, false, true)
			}
		}
	})
	for _, o := range kept {
		if o.Key.GroupKind() == KindPod {
			b.indexLabels(o, true, false)
		}
	}
	wg.Wait()
}

// keep records o under its key, or as a duplicate of the object already
// there; it tells whether o is new.
func (b *Builder) keep(o *Object) bool {
	s := b.s
	if prev, ok := s.byKey[o.Key]; ok {
		s.duplicates = append(s.duplicates, Duplicate{Kept: prev, Dropped: o})
		return false
	}
	s.byKey[o.Key] = o
	s.objects = append(s.objects, o)
	return true
}

// indexKind and indexLabels fill disjoint indexes, so they may run
// concurrently (AddAll), as may indexLabels on the two halves of a label
// index or on pods and on the rest.
func (b *Builder) indexKind(o *Object) {
	s := b.s
	gk := o.Key.GroupKind()
	s.byKind[gk] = append(s.byKind[gk], o)
	kn := kindNS{gk, o.Key.Namespace}
	s.byKindNS[kn] = append(s.byKindNS[kn], o)
}

// indexLabels adds a pod by its labels, or a controller by its pod
// template's, to the namespace half of its label index, the
// all-namespaces half, or both.
func (b *Builder) indexLabels(o *Object, inNS, all bool) {
	x, l := b.s.podByLabel, o.Labels
	if o.Key.GroupKind() != KindPod {
		_, _, tl, ok := PodSpecOf(o)
		if !ok {
			return
		}
		x, l = b.s.tmplByLabel, tl
	}
	if inNS {
		addLabels(x.inNS, o.Key.Namespace, l, o)
	}
	if all {
		addLabels(x.all, AllNamespaces, l, o)
	}
}

// labelIndex finds objects by one label, in a namespace (inNS) or in any
// (all, under AllNamespaces), each list in load order. The halves are
// separate maps so that they can be filled side by side.
type labelIndex struct {
	inNS, all map[labelKey][]*Object
}

func newLabelIndex(n int) labelIndex {
	return labelIndex{inNS: make(map[labelKey][]*Object, n), all: make(map[labelKey][]*Object, n/4)}
}

// addLabels files o under each of its labels l in one half of an index.
func addLabels(half map[labelKey][]*Object, ns string, l map[string]string, o *Object) {
	for k, v := range l {
		lk := labelKey{ns, k, v}
		half[lk] = append(half[lk], o)
	}
}

// of returns the half that answers for namespace ns.
func (x labelIndex) of(ns string) map[labelKey][]*Object {
	if ns == AllNamespaces {
		return x.all
	}
	return x.inNS
}

// Build freezes the snapshot. The Builder must not be used afterwards.
func (b *Builder) Build() *Snapshot {
	s := b.s
	b.s = nil
	return s
}

// Objects returns every object in load order.
func (s *Snapshot) Objects() []*Object { return s.objects }

// AddNode adds one node's dataplane state.
func (b *Builder) AddNode(n *Node) { b.s.nodes = append(b.s.nodes, n) }

// AddLog adds a container's log.
func (b *Builder) AddLog(l *ContainerLog) { b.s.logs = append(b.s.logs, l) }

// Logs returns the container logs, in the order they were added.
func (s *Snapshot) Logs() []*ContainerLog { return s.logs }

// Nodes returns the nodes' dataplane states, in the order they were added.
func (s *Snapshot) Nodes() []*Node { return s.nodes }

// Len is the number of distinct objects.
func (s *Snapshot) Len() int { return len(s.objects) }

// Get returns one object or nil.
func (s *Snapshot) Get(gk schema.GroupKind, namespace, name string) *Object {
	return s.byKey[Key{Group: gk.Group, Kind: gk.Kind, Namespace: namespace, Name: name}]
}

// List returns every object of a kind, in load order.
// The slice is the snapshot's own, read by checks running concurrently:
// copy it before sorting or changing it.
func (s *Snapshot) List(gk schema.GroupKind) []*Object { return s.byKind[gk] }

// InNamespace returns the objects of a kind in one namespace; like List's,
// the slice must not be changed.
func (s *Snapshot) InNamespace(gk schema.GroupKind, namespace string) []*Object {
	return s.byKindNS[kindNS{gk, namespace}]
}

// Has tells whether any object of the kind is present.
func (s *Snapshot) Has(gk schema.GroupKind) bool { return len(s.byKind[gk]) > 0 }

// Covers tells whether the snapshot can be trusted to hold every object of
// kind gk in namespace ns, so that "not found" means absent rather than
// unknown: a live source listed that kind there (or everywhere), or the
// input holds at least one object of that kind in that namespace (a user
// who exports a namespace's ConfigMaps exports all of them).
func (s *Snapshot) Covers(gk schema.GroupKind, ns string) bool {
	return len(s.byKindNS[kindNS{gk, ns}]) > 0 || s.listed[kindNS{gk, AllNamespaces}] || s.listed[kindNS{gk, ns}]
}

// CoversWorkloads tells whether the snapshot holds every controller (the
// workload kinds other than Pod) of namespace ns, by Covers.
func (s *Snapshot) CoversWorkloads(ns string) bool {
	for _, gk := range WorkloadKinds[1:] {
		if s.Covers(gk, ns) {
			return true
		}
	}
	return false
}

// Listed tells whether a live source listed kind gk in every namespace.
func (s *Snapshot) Listed(gk schema.GroupKind) bool { return s.listed[kindNS{gk, AllNamespaces}] }

// NodeAgentsListed tells whether the snapshot holds every node agent's
// DaemonSet of the cluster (Cilium, istio-cni, ztunnel), so that finding
// none means none runs: the DaemonSets were listed everywhere, or a scoped
// read vouches for the agents' (MarkNodeAgentsListed).
func (s *Snapshot) NodeAgentsListed() bool {
	return s.nodeAgentsListed || s.listed[kindNS{KindDaemonSet, AllNamespaces}]
}

// Unserved returns why a live read lacks kind gk entirely: not served, or
// forbidden everywhere ("" when it was read or the snapshot is not live).
func (s *Snapshot) Unserved(gk schema.GroupKind) string { return s.unserved[gk] }

// Duplicates lists identities seen more than once.
func (s *Snapshot) Duplicates() []Duplicate { return s.duplicates }

// Namespaces returns the sorted namespaces that hold at least one object.
func (s *Snapshot) Namespaces() []string {
	seen := map[string]bool{}
	for kn := range s.byKindNS {
		if kn.ns != "" {
			seen[kn.ns] = true
		}
	}
	out := make([]string, 0, len(seen))
	for ns := range seen {
		out = append(out, ns)
	}
	sort.Strings(out)
	return out
}

// AllNamespaces, given as the namespace to SelectPods or SelectWorkloads,
// selects across every namespace (as Istio gateway selectors do).
const AllNamespaces = "*"

// SelectPods returns the pods in namespace ns matched by a label selector.
// Equality requirements are answered from the label index (the smallest
// posting list is filtered), so the cost is O(matches), not O(pods).
// An empty selector selects every pod of the namespace.
func (s *Snapshot) SelectPods(ns string, sel labels.Selector) []*Object {
	all := func() []*Object {
		if ns == AllNamespaces {
			return s.List(KindPod)
		}
		return s.InNamespace(KindPod, ns)
	}
	if sel == nil || sel.Empty() {
		return all()
	}
	return selectIndexed(sel, ns, s.podByLabel.of(ns), all,
		func(o *Object) map[string]string { return o.Labels })
}

// SelectWorkloads returns the controllers in namespace ns whose pod
// template labels a selector matches: what a Service or policy will select
// once their pods run, even when no Pod is in the input.
func (s *Snapshot) SelectWorkloads(ns string, sel labels.Selector) []*Object {
	all := func() []*Object {
		var out []*Object
		for _, gk := range WorkloadKinds[1:] {
			if ns == AllNamespaces {
				out = append(out, s.List(gk)...)
			} else {
				out = append(out, s.InNamespace(gk, ns)...)
			}
		}
		return out
	}
	if sel == nil || sel.Empty() {
		return all()
	}
	return selectIndexed(sel, ns, s.tmplByLabel.of(ns), all, func(o *Object) map[string]string {
		_, _, tl, _ := PodSpecOf(o)
		return tl
	})
}

// Backends is what a Service sends traffic to.
type Backends struct {
	Pods      []*Object
	Workloads []*Object
}

// ServiceBackends returns the pods and the controllers' pod templates that
// a Service's selector matches. A Service without a selector (endpoints
// managed by hand) has none.
func (s *Snapshot) ServiceBackends(svc *Object) Backends {
	sv, ok := svc.Typed.(*corev1.Service)
	if !ok || len(sv.Spec.Selector) == 0 {
		return Backends{}
	}
	sel := labels.SelectorFromSet(sv.Spec.Selector)
	return Backends{Pods: s.SelectPods(svc.Key.Namespace, sel), Workloads: s.SelectWorkloads(svc.Key.Namespace, sel)}
}

// selectIndexed filters the smallest posting list among the selector's
// equality requirements (or every candidate when it has none).
func selectIndexed(sel labels.Selector, ns string, index map[labelKey][]*Object, all func() []*Object, labelsOf func(*Object) map[string]string) []*Object {
	reqs, _ := sel.Requirements()
	var best []*Object
	found := false
	for _, r := range reqs {
		if v, ok := equalityValue(r); ok {
			cand := index[labelKey{ns, r.Key(), v}]
			if !found || len(cand) < len(best) {
				best, found = cand, true
			}
		}
	}
	if !found {
		best = all()
	}
	var out []*Object
	for _, o := range best {
		if sel.Matches(labels.Set(labelsOf(o))) {
			out = append(out, o)
		}
	}
	return out
}

func equalityValue(r labels.Requirement) (string, bool) {
	switch r.Operator() {
	case "=", "==", "in":
		// ValuesUnsorted copies a slice; Values would build a set.
		if vs := r.ValuesUnsorted(); len(vs) == 1 {
			return vs[0], true
		}
	}
	return "", false
}
