package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/meshdoctor/meshdoctor/internal/istioref"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/source/files"
)

// A scoped read (Source.Namespace, `analyze -n NS`) must never make a check
// report something about NS that a full read would not: a check that finds
// "nothing selected" or "not found" where the objects were simply not read
// would be a false positive. So:
//
//   - Kinds other namespaces' objects are visible through, or that are few,
//     are still listed everywhere: Istio's configuration (exportTo defaults to
//     every namespace, gateways serve every namespace's routes), Services,
//     Namespaces, Nodes, webhooks, CRDs, Gateway API kinds and the
//     cluster-scoped Cilium kinds.
//   - The per-workload kinds (perWorkload: Pods and every controller kind,
//     ConfigMaps, Secrets, ServiceAccounts, network policies, endpoints) are
//     kept only in the namespaces analyzing NS can need: NS; the mesh's
//     system namespaces (istio-system, kube-system, the mesh root namespace
//     and the namespaces of the istio and cilium-config ConfigMaps, istiod,
//     Istio's webhooks and the Cilium, istio-cni and ztunnel DaemonSets);
//     the namespaces NS's objects name (destination and DestinationRule
//     hosts name.ns.svc…, gateways ns/name, principals …/ns/X/sa/…,
//     namespace fields); and those of the workloads of the Gateways in NS or
//     bound by NS's VirtualServices, wherever their labels match (Istio
//     matches gateway selectors in every namespace).
//   - Every one of those namespaces is kept whole, and every per-workload
//     kind is marked listed there and only there (Result.Listed), so the
//     snapshot's Covers and CoversWorkloads tell the checks that the other
//     namespaces are unknown, not empty: they then say "not checked"
//     instead of reporting. No controller kind may stay cluster-wide: one
//     listed kind is enough for CoversWorkloads to trust a namespace.
//   - A per-workload kind is read whole across the cluster (what -A pays)
//     and then narrowed, unless listing it namespace by namespace costs
//     fewer requests: its first cluster-wide page says how many objects
//     remain (remainingItemCount), and only a kind whose remaining pages
//     outnumber the scoped namespaces and the probes it needs is listed
//     namespace by namespace, after selected LISTs (the istio ConfigMaps,
//     istiod, each gateway selector's pods and Deployments) have found the
//     namespaces in it. So -n never costs more requests than -A (but for
//     a kind whose size the server does not report). A kind read whole is
//     split into items and only the scope's are parsed (narrow.go), so
//     reading whole costs requests and bytes, not parsing the cluster.
//   - The DaemonSets are always read whole, so that the node-agent checks
//     know every Cilium, istio-cni and ztunnel DaemonSet of the cluster is
//     in the scope (Result.NodeAgentsListed).
//
// A Gateway without a selector selects gateway pods in every namespace; the
// read then keeps the per-workload kinds everywhere (Result.Widened).

// ScopedNamespace is a namespace a scoped read listed the per-workload kinds
// in, and why it was needed.
type ScopedNamespace struct {
	Name string
	Why  string
}

// perWorkload tells whether a kind grows with the workloads of a namespace:
// a scoped read lists it only in the namespaces it needs.
func perWorkload(gk schema.GroupKind) bool {
	switch gk {
	case schema.GroupKind{Kind: "Pod"}, schema.GroupKind{Kind: "ConfigMap"}, schema.GroupKind{Kind: "Secret"},
		schema.GroupKind{Kind: "ServiceAccount"}, schema.GroupKind{Kind: "Endpoints"},
		schema.GroupKind{Group: "apps", Kind: "Deployment"}, schema.GroupKind{Group: "apps", Kind: "ReplicaSet"},
		schema.GroupKind{Group: "apps", Kind: "StatefulSet"}, schema.GroupKind{Group: "apps", Kind: "DaemonSet"},
		schema.GroupKind{Group: "batch", Kind: "Job"}, schema.GroupKind{Group: "batch", Kind: "CronJob"},
		schema.GroupKind{Group: "discovery.k8s.io", Kind: "EndpointSlice"},
		schema.GroupKind{Group: "networking.k8s.io", Kind: "NetworkPolicy"},
		schema.GroupKind{Group: "cilium.io", Kind: "CiliumEndpoint"},
		schema.GroupKind{Group: "cilium.io", Kind: "CiliumNetworkPolicy"}:
		return true
	}
	return false
}

// The kinds a scoped read looks into to find the namespaces it needs.
var (
	kindPod          = schema.GroupKind{Kind: "Pod"}
	kindConfigMap    = schema.GroupKind{Kind: "ConfigMap"}
	kindService      = schema.GroupKind{Kind: "Service"}
	kindNamespace    = schema.GroupKind{Kind: "Namespace"}
	kindDeployment   = schema.GroupKind{Group: "apps", Kind: "Deployment"}
	kindDaemonSet    = schema.GroupKind{Group: "apps", Kind: "DaemonSet"}
	kindIstioGateway = schema.GroupKind{Group: "networking.istio.io", Kind: "Gateway"}
	kindVirtualSvc   = schema.GroupKind{Group: "networking.istio.io", Kind: "VirtualService"}
	kindMutatingWH   = schema.GroupKind{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration"}
	kindValidatingWH = schema.GroupKind{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"}
)

// systemNamespaces are listed in every scoped read: where Istio installs by
// default and where Kubernetes (and often the CNI and istio-cni) run.
func systemNamespaces() []string { return []string{"istio-system", "kube-system"} }

// scopePlan collects the namespaces to list, each with the first reason
// found for it.
type scopePlan struct {
	why   map[string]string
	widen string
}

func (p *scopePlan) add(ns, why string) {
	if ns == "" || ns == "*" || ns == "." || ns == "~" {
		return
	}
	if _, ok := p.why[ns]; !ok {
		p.why[ns] = why
	}
}

// loadScoped is Load for Source.Namespace. Phase 1 lists every kind that
// is not per-workload everywhere, and requests the first page of each
// per-workload kind across the cluster. A kind is then read whole (its
// first page, and the rest of the cluster-wide list) unless listing it
// namespace by namespace costs fewer requests: a scoped read never costs
// more than the full one, and only kinds of many pages are listed
// namespace by namespace. The namespaces analysis needs are found in what
// was read (and, for those kinds, by selected LISTs: the istio ConfigMaps,
// istiod, the gateways' workloads); phase 2 lists the larger per-workload
// kinds in those namespaces only. Either way the per-workload kinds are
// kept, and marked listed, in those namespaces only, so that every check
// sees the same scope whatever the cluster's size.
//
// The DaemonSets are always read whole (a cluster has few): the node-agent
// checks then know that no Cilium, istio-cni or ztunnel DaemonSet outside
// the scope was missed (Result.NodeAgentsListed), and answer as -A does.
func (s *Source) loadScoped(ctx context.Context, client rest.Interface, jobs []job, res *Result) {
	namespaces, rest := s.listNamespaces(ctx, client, jobs, res)
	var global, local []job
	byKind := map[schema.GroupKind]resource{}
	for _, j := range rest {
		byKind[j.gk] = j.r
		if perWorkload(j.gk) && j.r.namespaced {
			local = append(local, j)
		} else {
			global = append(global, j)
		}
	}
	plan := &scopePlan{why: map[string]string{}}
	plan.add(s.Namespace, "the namespace analyzed (-n)")
	for _, ns := range s.AlsoNamespaces {
		plan.add(ns, "holds objects of the --also files")
	}
	for _, ns := range systemNamespaces() {
		plan.add(ns, "a system namespace (Istio's default, Kubernetes')")
	}

	// A kind the user may not list cluster-wide is listed in each
	// namespace instead; when the user may not list the namespaces either
	// (a user with a Role in NS only), in those the scope is known to
	// need so far, so that what NS's Role allows is still read.
	where := namespaces
	if len(where) == 0 {
		for ns := range plan.why {
			where = append(where, ns)
		}
		sort.Strings(where)
	}

	// Phase 1.
	parts := make([]Result, len(global))
	heads := make([]headPage, len(local))
	headErrs := make([]error, len(local))
	s.concurrently(ctx, len(global)+len(local), func(i int) {
		if i < len(global) {
			parts[i] = s.listKind(ctx, client, global[i].gk, global[i].r, where)
			return
		}
		k := i - len(global)
		heads[k], headErrs[k] = s.head(ctx, client, local[k].r, s.metaOnly(local[k].gk))
	}, func(i int, err error) {
		if i < len(global) {
			parts[i] = Result{Errors: []files.InputError{callError("LIST "+global[i].r.gvr.Resource, err)}}
			return
		}
		headErrs[i-len(global)] = err
	})
	res.add(parts...)
	gws, widen := scopedGateways(s.Namespace, res.Objects)
	plan.widen = widen

	selectors := map[string]labels.Selector{}
	for _, g := range gws {
		sel := labels.SelectorFromSet(g.selector)
		selectors[sel.String()] = sel
	}
	var sels []labels.Selector
	for _, sel := range selectors {
		sels = append(sels, sel)
	}
	// The per-workload kinds read whole: the DaemonSets parsed (whole), the
	// others split into items, parsed at the end in the scope only (raws);
	// whole also holds the raw kinds' objects the scope is found from.
	whole := map[schema.GroupKind][]*snapshot.Object{}
	raws := map[schema.GroupKind]*rawKind{}
	var pending []int // heads of kinds of more than a page, undecided
	var failed []job  // cluster-wide LIST failed (forbidden, say)
	// finish reads the kinds local[k] whole from their heads; a kind whose
	// rest fails (an expired continue token, say) is listed namespace by
	// namespace, where errors are reported. It returns the objects parsed.
	finish := func(ks []int) []*snapshot.Object {
		objs := make([][]*snapshot.Object, len(ks))
		rks := make([]*rawKind, len(ks))
		errs := make([]error, len(ks))
		s.concurrently(ctx, len(ks), func(i int) {
			j := local[ks[i]]
			if j.gk == kindDaemonSet {
				objs[i], errs[i] = s.pages(ctx, client, j.gk, j.r, "", s.metaOnly(j.gk), &heads[ks[i]])
				return
			}
			rks[i], errs[i] = s.fetchRaw(ctx, client, j, &heads[ks[i]], sels)
			if errs[i] == nil {
				objs[i] = rks[i].relevant
			}
		}, func(i int, err error) { errs[i] = err })
		var read []*snapshot.Object
		for i, k := range ks {
			heads[k].body = nil
			if errs[i] != nil {
				s.logf("cluster-wide LIST failed, listing by namespace", "list", local[k].r.gvr.Resource, "error", errs[i])
				failed = append(failed, local[k])
				continue
			}
			whole[local[k].gk] = objs[i]
			if rks[i] != nil {
				raws[local[k].gk] = rks[i]
			}
			read = append(read, objs[i]...)
		}
		return read
	}
	var now []int
	for k, j := range local {
		switch {
		case headErrs[k] != nil:
			failed = append(failed, j)
		case heads[k].cont == "" || j.gk == kindDaemonSet || plan.widen != "":
			now = append(now, k)
		default:
			pending = append(pending, k)
		}
	}
	seen := append(append([]*snapshot.Object(nil), res.Objects...), finish(now)...)

	// The namespaces analysis needs, as far as known without probes.
	scopeFromObjects(plan, s.Namespace, seen)
	if plan.widen != "" {
		s.widened(ctx, client, local, whole, raws, where, plan.widen, res)
		return
	}
	// A kind of more than a page costs, listed namespace by namespace, its
	// head (already paid), one LIST per scoped namespace at least, and the
	// probes that find the namespaces in it; read whole, the rest of its
	// pages. Read whole when that is no more.
	scoped := int64(len(plan.namespaces(s.Namespace, namespaces, res.Listed)))
	var more, large []int
	for _, k := range pending {
		if n := heads[k].restPages(s.limit()); n >= 0 && n <= scoped+probeCost(local[k].gk, len(selectors)) {
			more = append(more, k)
		} else {
			large = append(large, k)
		}
	}
	scopeFromObjects(plan, s.Namespace, finish(more))
	isLarge := map[schema.GroupKind]bool{}
	for _, k := range large {
		isLarge[local[k].gk] = true
	}
	for _, j := range failed {
		isLarge[j.gk] = true
	}
	s.runSystemProbes(ctx, client, byKind, isLarge, plan)
	s.gatewayWorkloads(ctx, client, byKind, whole, isLarge, gws, plan)
	if plan.widen != "" {
		finish(large)
		s.widened(ctx, client, local, whole, raws, where, plan.widen, res)
		return
	}
	res.Scope = plan.namespaces(s.Namespace, namespaces, res.Listed)
	// The scope is known: a kind whose remaining pages are no more than its
	// namespaces is still cheaper read whole.
	var cheap []int
	for _, k := range large {
		if n := heads[k].restPages(s.limit()); n >= 0 && n <= int64(len(res.Scope)) {
			cheap = append(cheap, k)
		} else {
			heads[k].body = nil
			failed = append(failed, local[k])
		}
	}
	finish(cheap)
	in := map[string]bool{}
	for _, sn := range res.Scope {
		in[sn.Name] = true
	}
	for _, j := range local {
		objs, ok := whole[j.gk]
		if !ok {
			continue
		}
		kept := Result{}
		if rk := raws[j.gk]; rk != nil {
			kept.Objects = s.objects(rk, func(ns string) bool { return in[ns] })
		} else {
			for _, o := range objs {
				if in[o.Key.Namespace] {
					kept.Objects = append(kept.Objects, o)
				}
			}
		}
		for _, sn := range res.Scope {
			kept.Listed = append(kept.Listed, Scope{Kind: j.gk, Namespace: sn.Name})
		}
		res.add(kept)
	}
	_, res.NodeAgentsListed = whole[kindDaemonSet]
	// Phase 2.
	type unit struct {
		j  job
		ns string
	}
	var units []unit
	for _, j := range failed {
		res.ByNamespace = append(res.ByNamespace, j.gk)
		for _, sn := range res.Scope {
			units = append(units, unit{j, sn.Name})
		}
	}
	out := make([]Result, len(units))
	s.concurrently(ctx, len(units), func(i int) {
		out[i] = s.listIn(ctx, client, units[i].j, units[i].ns)
	}, func(i int, err error) {
		out[i] = Result{Errors: []files.InputError{callError("LIST "+describeList(units[i].j.r, units[i].ns), err)}}
	})
	res.add(out...)
	s.noteMetadataOnly(local, res)
}

// probeCost is the number of selected LISTs a kind of more than a page
// costs a scoped read (systemProbes, and gatewayWorkloads' one per
// gateway selector).
func probeCost(gk schema.GroupKind, selectors int) int64 {
	switch gk {
	case kindConfigMap:
		return 2
	case kindDeployment:
		return 1 + int64(selectors)
	case kindPod:
		return int64(selectors)
	}
	return 0
}

// widened ends a scoped read that must keep the per-workload kinds of
// every namespace: the kinds read whole are kept whole, and the others
// are listed everywhere.
func (s *Source) widened(ctx context.Context, client rest.Interface, local []job, whole map[schema.GroupKind][]*snapshot.Object, raws map[schema.GroupKind]*rawKind, namespaces []string, why string, res *Result) {
	res.Widened = why
	var rest []job
	for _, j := range local {
		if objs, ok := whole[j.gk]; ok {
			if rk := raws[j.gk]; rk != nil {
				objs = s.objects(rk, nil)
			}
			res.add(Result{Objects: objs, Listed: []Scope{{Kind: j.gk}}})
		} else {
			rest = append(rest, j)
		}
	}
	res.add(s.listJobs(ctx, client, rest, namespaces)...)
	s.noteMetadataOnly(local, res)
}

// metaOnly tells whether kind gk is read as metadata only.
func (s *Source) metaOnly(gk schema.GroupKind) bool {
	return gk == schema.GroupKind{Kind: "Secret"} && !s.ReadSecrets
}

// noteMetadataOnly records the per-workload kinds read without their data.
func (s *Source) noteMetadataOnly(local []job, res *Result) {
	for _, j := range local {
		if s.metaOnly(j.gk) && !slices.Contains(res.MetadataOnly, j.gk) {
			res.MetadataOnly = append(res.MetadataOnly, j.gk)
		}
	}
}

// namespaces returns the planned namespaces, sorted, the analyzed one
// first. When the Namespace kind was listed, the namespaces that do not
// exist are left out (nothing to list there) except the analyzed one.
func (p *scopePlan) namespaces(analyzed string, existing []string, listed []Scope) []ScopedNamespace {
	known := false
	for _, sc := range listed {
		known = known || sc.Kind == kindNamespace && sc.Namespace == ""
	}
	exists := map[string]bool{}
	for _, ns := range existing {
		exists[ns] = true
	}
	var out []ScopedNamespace
	for ns, why := range p.why {
		if ns != analyzed && known && !exists[ns] {
			continue
		}
		out = append(out, ScopedNamespace{Name: ns, Why: why})
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i].Name == analyzed) != (out[j].Name == analyzed) {
			return out[i].Name == analyzed
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// listIn lists one per-workload kind in one namespace of a scoped read.
func (s *Source) listIn(ctx context.Context, c rest.Interface, j job, ns string) Result {
	objs, err := s.list(ctx, c, j.gk, j.r, ns, s.metaOnly(j.gk))
	if err != nil {
		return Result{Errors: []files.InputError{listError(j.r, ns, err)}}
	}
	return Result{Objects: objs, Listed: []Scope{{Kind: j.gk, Namespace: ns}}}
}

// scopeFromObjects adds the system namespaces what was read shows (the
// istio and cilium-config ConfigMaps and the mesh root namespace, istiod's
// Deployments and Services, Istio's webhooks, the node agents' DaemonSets)
// and the namespaces the analyzed namespace's objects name.
func scopeFromObjects(plan *scopePlan, analyzed string, objs []*snapshot.Object) {
	for _, o := range objs {
		gk, name, ns := o.Key.GroupKind(), o.Key.Name, o.Key.Namespace
		switch {
		case gk == kindConfigMap && name == "istio":
			plan.add(ns, "holds the mesh ConfigMap "+ns+"/istio")
			if cm, ok := o.Typed.(*corev1.ConfigMap); ok {
				plan.add(rootNamespace(cm.Data["mesh"]), "the mesh root namespace (ConfigMap "+ns+"/istio)")
			}
		case gk == kindConfigMap && name == "cilium-config":
			plan.add(ns, "holds Cilium's ConfigMap "+ns+"/cilium-config")
		case (gk == kindDeployment || gk == kindService) && (o.Labels["app"] == "istiod" || name == "istiod" || strings.HasPrefix(name, "istiod-")):
			plan.add(ns, "runs istiod ("+o.Ref()+")")
		case (gk == kindMutatingWH || gk == kindValidatingWH) && strings.Contains(name, "istio"):
			for _, ref := range references(o) {
				plan.add(ref, "serves Istio's webhook "+o.Ref())
			}
		case gk == kindDaemonSet && nodeAgent(o):
			plan.add(ns, "runs a node agent the checks read ("+o.Ref()+")")
		case ns == analyzed && !perWorkload(gk) || gk == kindNamespace && name == analyzed:
			// Not the per-workload kinds: those are read whole only in a
			// small cluster, and the scope must not depend on its size.
			for _, ref := range references(o) {
				plan.add(ref, "named by "+o.Ref())
			}
		}
	}
}

// nodeAgent tells whether a DaemonSet is one the CNI and ambient checks
// read: Cilium's agent, istio-cni's or ztunnel (by name, label or
// container).
func nodeAgent(o *snapshot.Object) bool {
	is := func(s string) bool {
		return strings.Contains(s, "cilium") || strings.Contains(s, "istio-cni") || strings.Contains(s, "install-cni") || strings.Contains(s, "ztunnel")
	}
	if is(o.Key.Name) || is(o.Labels["k8s-app"]) || is(o.Labels["app"]) {
		return true
	}
	if ds, ok := o.Typed.(*appsv1.DaemonSet); ok {
		for _, c := range ds.Spec.Template.Spec.Containers {
			if is(c.Name) {
				return true
			}
		}
	}
	return false
}

// rootNamespace reads meshConfig.rootNamespace from the mesh key of the
// istio ConfigMap ("" when unset or unreadable).
func rootNamespace(mesh string) string {
	var mc struct {
		RootNamespace string `json:"rootNamespace"`
	}
	if yaml.Unmarshal([]byte(mesh), &mc) != nil {
		return ""
	}
	return mc.RootNamespace
}

// Patterns of namespace names inside field values.
var (
	// name.ns.svc[.cluster.local], *.ns.svc…, also inside URLs.
	svcHostRE = regexp.MustCompile(`\.([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\.svc(?:$|[^-a-z0-9])`)
	// SPIFFE-style principals: cluster.local/ns/X/sa/Y.
	principalRE = regexp.MustCompile(`/ns/([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)/sa/`)
	// ns/name: gateway references, Sidecar and Gateway hosts.
	nsSlashRE = regexp.MustCompile(`^([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)/[^/]+$`)
)

// references returns the namespaces an object's fields name. It reads the
// object as JSON and looks at every string, so that it needs no knowledge
// of each kind's fields: a namespace named by mistake only costs LISTs of
// a namespace (nonexistent ones are dropped), a missed one would cost a
// check that says "not checked".
func references(o *snapshot.Object) []string {
	b, err := json.Marshal(o.Typed)
	if err != nil {
		return nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil
	}
	var out []string
	var walk func(key string, v any)
	walk = func(key string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				walk(k, e)
			}
		case []any:
			for _, e := range x {
				walk(key, e)
			}
		case string:
			if k := strings.ToLower(key); strings.HasSuffix(k, "namespace") || strings.HasSuffix(k, "namespaces") {
				out = append(out, x)
			}
			for _, m := range svcHostRE.FindAllStringSubmatch(x, -1) {
				out = append(out, m[1])
			}
			for _, m := range principalRE.FindAllStringSubmatch(x, -1) {
				out = append(out, m[1])
			}
			if m := nsSlashRE.FindStringSubmatch(x); m != nil {
				out = append(out, m[1])
			}
		}
	}
	walk("", v)
	// Its own namespace (metadata.namespace) is no reference.
	own := o.Key.Namespace
	if own == "" && o.Key.Kind == "Namespace" {
		own = o.Key.Name
	}
	return slices.DeleteFunc(out, func(ns string) bool { return ns == own })
}

// gatewayRef is a Gateway a scoped read must find the workloads of.
type gatewayRef struct {
	key      string // ns/name
	selector map[string]string
	via      string // why it is in scope
}

// scopedGateways returns the Istio Gateways of the analyzed namespace and
// those its VirtualServices bind to, with their selectors; widen is set
// when one of them has no selector.
func scopedGateways(analyzed string, objs []*snapshot.Object) (gws []gatewayRef, widen string) {
	byKey := map[string]*snapshot.Object{}
	for _, o := range objs {
		if o.Key.GroupKind() == kindIstioGateway {
			byKey[o.Key.Namespace+"/"+o.Key.Name] = o
		}
	}
	want := map[string]string{}
	for _, o := range objs {
		if o.Key.Namespace != analyzed {
			continue
		}
		switch o.Key.GroupKind() {
		case kindIstioGateway:
			want[o.Key.Namespace+"/"+o.Key.Name] = "a Gateway of " + analyzed
		case kindVirtualSvc:
			for _, g := range specStrings(o, "gateways") {
				if g == "mesh" {
					continue
				}
				if k := istioref.GatewayRef(g, analyzed); want[k] == "" {
					want[k] = "bound by " + o.Ref()
				}
			}
		}
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		o := byKey[k]
		if o == nil {
			continue // not found: MD204 says so; there are no workloads to find
		}
		sel := specStringMap(o, "selector")
		if len(sel) == 0 {
			return nil, "Gateway " + k + " (" + want[k] + ") has no selector: it configures gateway pods in every namespace"
		}
		gws = append(gws, gatewayRef{key: k, selector: sel, via: want[k]})
	}
	return gws, ""
}

// specStrings returns the strings of spec.<field> of an object.
func specStrings(o *snapshot.Object, field string) []string {
	spec := specOf(o)
	list, _ := spec[field].([]any)
	var out []string
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// specStringMap returns spec.<field> of an object as a string map.
func specStringMap(o *snapshot.Object, field string) map[string]string {
	spec := specOf(o)
	m, _ := spec[field].(map[string]any)
	out := map[string]string{}
	for k, v := range m {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

// specOf is an object's spec as generic JSON (typed Istio objects marshal
// through their protobuf JSON form).
func specOf(o *snapshot.Object) map[string]any {
	b, err := json.Marshal(o.Typed)
	if err != nil {
		return nil
	}
	var v struct {
		Spec map[string]any `json:"spec"`
	}
	if json.Unmarshal(b, &v) != nil {
		return nil
	}
	return v.Spec
}

// gatewayWorkloads adds, for each Gateway, its own namespace and those of
// the pods and Deployments its selector matches anywhere in the cluster:
// in what was read whole, else with one label-selected LIST per selector.
func (s *Source) gatewayWorkloads(ctx context.Context, c rest.Interface, byKind map[schema.GroupKind]resource, whole map[schema.GroupKind][]*snapshot.Object, isLarge map[schema.GroupKind]bool, gws []gatewayRef, plan *scopePlan) {
	type q struct {
		gw gatewayRef
		r  resource
	}
	var qs []q
	probed := map[string]bool{}
	for _, g := range gws {
		ns, _, _ := strings.Cut(g.key, "/")
		plan.add(ns, "holds Gateway "+g.key+" ("+g.via+")")
		sel := labels.SelectorFromSet(g.selector)
		for _, gk := range []schema.GroupKind{kindPod, kindDeployment} {
			r, served := byKind[gk]
			switch {
			case !served:
			case isLarge[gk]:
				if k := gk.String() + " " + sel.String(); !probed[k] {
					probed[k] = true
					qs = append(qs, q{g, r})
				}
			default:
				for _, o := range whole[gk] {
					if _, _, tl, ok := snapshot.PodSpecOf(o); ok && sel.Matches(labels.Set(tl)) {
						plan.add(o.Key.Namespace, "runs the workloads of Gateway "+g.key+" ("+o.Ref()+")")
					}
				}
			}
		}
	}
	found := make([][]probeItem, len(qs))
	errs := make([]error, len(qs))
	s.concurrently(ctx, len(qs), func(i int) {
		found[i], errs[i] = s.probe(ctx, c, qs[i].r, map[string]string{"labelSelector": labels.SelectorFromSet(qs[i].gw.selector).String()})
	}, func(i int, err error) { errs[i] = err })
	for i, x := range qs {
		if errs[i] != nil {
			// The Gateway's workloads may then be missed, and its checks
			// would judge a namespace not read as empty: widen instead.
			plan.widen = fmt.Sprintf("the workloads of Gateway %s could not be looked up (%v)", x.gw.key, errs[i])
			return
		}
		for _, it := range found[i] {
			plan.add(it.Namespace, "runs the workloads of Gateway "+x.gw.key+" ("+x.r.gvr.Resource+" "+it.Namespace+"/"+it.Name+")")
		}
	}
}

// systemProbe is a label- or field-selected LIST across the cluster whose
// results name system namespaces.
type systemProbe struct {
	r      resource
	params map[string]string
	use    func(plan *scopePlan, it probeItem)
}

func (p systemProbe) describe() string {
	var parts []string
	for k, v := range p.params {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return p.r.gvr.Resource + " " + strings.Join(parts, " ")
}

// systemProbes are the LISTs that find the mesh's system namespaces in
// the kinds too large to have been read whole: the istio ConfigMaps (their
// namespaces and the root namespace they set), the cilium-config
// ConfigMaps, the istiod Deployments and the node agents' DaemonSets.
func systemProbes(byKind map[schema.GroupKind]resource, isLarge map[schema.GroupKind]bool) []systemProbe {
	var out []systemProbe
	if r, ok := byKind[kindConfigMap]; ok && isLarge[kindConfigMap] {
		out = append(out, systemProbe{r: r, params: map[string]string{"fieldSelector": "metadata.name=istio"}, use: func(plan *scopePlan, it probeItem) {
			plan.add(it.Namespace, "holds the mesh ConfigMap "+it.Namespace+"/istio")
			plan.add(rootNamespace(it.Data["mesh"]), "the mesh root namespace (ConfigMap "+it.Namespace+"/istio)")
		}})
		out = append(out, systemProbe{r: r, params: map[string]string{"fieldSelector": "metadata.name=cilium-config"}, use: func(plan *scopePlan, it probeItem) {
			plan.add(it.Namespace, "holds Cilium's ConfigMap "+it.Namespace+"/cilium-config")
		}})
	}
	if r, ok := byKind[kindDeployment]; ok && isLarge[kindDeployment] {
		out = append(out, systemProbe{r: r, params: map[string]string{"labelSelector": "app=istiod"}, use: func(plan *scopePlan, it probeItem) {
			plan.add(it.Namespace, "runs istiod (Deployment "+it.Namespace+"/"+it.Name+")")
		}})
	}
	if r, ok := byKind[kindDaemonSet]; ok && isLarge[kindDaemonSet] {
		// The charts' labels of Cilium's agent, istio-cni and ztunnel.
		for _, sel := range []string{"k8s-app=cilium", "k8s-app=istio-cni-node", "app=ztunnel"} {
			out = append(out, systemProbe{r: r, params: map[string]string{"labelSelector": sel}, use: func(plan *scopePlan, it probeItem) {
				plan.add(it.Namespace, "runs a node agent the checks read (DaemonSet "+it.Namespace+"/"+it.Name+")")
			}})
		}
	}
	return out
}

// runSystemProbes runs the system probes concurrently and adds what they
// find to the plan. A failed probe is logged, not an input error: the
// objects themselves are still listed (or not) in phase 2, only a system
// namespace may be missed.
func (s *Source) runSystemProbes(ctx context.Context, c rest.Interface, byKind map[schema.GroupKind]resource, isLarge map[schema.GroupKind]bool, plan *scopePlan) {
	probes := systemProbes(byKind, isLarge)
	found := make([][]probeItem, len(probes))
	errs := make([]error, len(probes))
	s.concurrently(ctx, len(probes), func(i int) {
		found[i], errs[i] = s.probe(ctx, c, probes[i].r, probes[i].params)
	}, func(i int, err error) { errs[i] = err })
	for i, p := range probes {
		if errs[i] != nil {
			s.logf("namespace probe failed", "probe", p.describe(), "error", probeError(errs[i]))
			continue
		}
		for _, it := range found[i] {
			p.use(plan, it)
		}
	}
}

// probeError is a failed probe's reason, for the log.
func probeError(err error) string {
	if apierrors.IsForbidden(err) {
		return "forbidden"
	}
	return err.Error()
}

// probeItem is what a probe keeps of each object.
type probeItem struct {
	Namespace, Name string
	Data            map[string]string
}

// probe reads every page (of Source.PageSize objects, as every LIST) of a
// selected LIST across the cluster, keeping
// only names, namespaces and (ConfigMaps) data. Its objects do not enter
// the snapshot: a selected LIST does not cover a namespace.
func (s *Source) probe(ctx context.Context, c rest.Interface, r resource, params map[string]string) ([]probeItem, error) {
	var out []probeItem
	cont := ""
	for {
		req := c.Get().AbsPath(listPath(r, "")...).Param("limit", fmt.Sprint(s.limit()))
		for k, v := range params {
			req = req.Param(k, v)
		}
		if cont != "" {
			req = req.Param("continue", cont)
		}
		if r.gvr.Resource != "configmaps" {
			// Names and namespaces are all a probe needs of a Pod.
			req = req.SetHeader("Accept", "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1")
		}
		body, err := doWithRetry(ctx, req)
		if err != nil {
			return out, err
		}
		var page struct {
			Metadata struct {
				Continue string `json:"continue"`
			} `json:"metadata"`
			Items []struct {
				Metadata struct {
					Name      string `json:"name"`
					Namespace string `json:"namespace"`
				} `json:"metadata"`
				Data map[string]string `json:"data"`
			} `json:"items"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return out, fmt.Errorf("reading the %s LIST: %w", r.gvr.Resource, err)
		}
		for _, it := range page.Items {
			out = append(out, probeItem{Namespace: it.Metadata.Namespace, Name: it.Metadata.Name, Data: it.Data})
		}
		if cont = page.Metadata.Continue; cont == "" {
			return out, nil
		}
	}
}
