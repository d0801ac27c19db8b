package istio

import (
	"fmt"
	"sort"
	"strings"

	secv1beta1 "istio.io/api/security/v1beta1"
	extensionsv1alpha1 "istio.io/client-go/pkg/apis/extensions/v1alpha1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	telemetryv1 "istio.io/client-go/pkg/apis/telemetry/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/facts"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// AmbientL7PolicyNoWaypoint: layer-7 policy for ambient workloads that no
// proxy enforces at layer 7 (Kiali KIA0109, KIA0110 and the
// RequestAuthentication, Telemetry and WasmPlugin forms of KIA1109–1117).
// Two ways to get there: a targetRef to a Service no waypoint serves (only
// waypoints apply targetRef policies), or a selector (or, for an
// AuthorizationPolicy, no selector) that reaches only ambient workloads,
// whose policies ztunnel applies without their HTTP parts.
var AmbientL7PolicyNoWaypoint = &analysis.Analyzer{
	Code:     "MD323",
	Name:     "ambient-l7-policy-no-waypoint",
	Severity: analysis.Warning,
	Summary:  "An AuthorizationPolicy, RequestAuthentication, Telemetry or WasmPlugin for ambient workloads is enforced by no layer-7 proxy: it targets a Service no waypoint serves, or it reaches ambient workloads by selector, which only ztunnel applies (and ztunnel sees no HTTP).",
	Doc:      doc("MD323"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindAuthzPolicy, snapshot.KindRequestAuth, snapshot.KindTelemetry, snapshot.KindWasmPlugin)},
	Reads:    mergeReads(secMembershipReads(), policySpecReads(), otherWorkloadReads(), waypointReads),
	Requires: []*analysis.Fact{facts.MeshConfig},
	Run: func(p *analysis.Pass) error {
		root := p.ResultOf(facts.MeshConfig).(*facts.Mesh).RootNamespace()
		c := &ambientPolicyChecker{p: p, s: p.Snapshot, w: newWorkloadIndex(p.Snapshot), memo: map[string]*ambientSelection{}}
		for _, gk := range []schema.GroupKind{snapshot.KindAuthzPolicy, snapshot.KindRequestAuth, snapshot.KindTelemetry, snapshot.KindWasmPlugin} {
			for _, o := range p.Snapshot.List(gk) {
				sp, ok := scopedPolicyOf(o)
				switch {
				case !ok:
				case len(sp.TargetRefs) > 0:
					c.targetRefs(sp)
				case o.Key.Namespace != root:
					c.selector(sp)
				}
			}
		}
		return nil
	},
}

type ambientPolicyChecker struct {
	p    *analysis.Pass
	s    *snapshot.Snapshot
	w    *workloadIndex
	memo map[string]*ambientSelection
}

// targetRefs reports each targetRef to a Service of an ambient namespace
// that no waypoint serves.
func (c *ambientPolicyChecker) targetRefs(sp scopedPolicy) {
	o := sp.Object
	for i, ref := range sp.TargetRefs {
		if ref.GetKind() != "Service" || (ref.GetGroup() != "" && ref.GetGroup() != "core") {
			continue
		}
		if ref.GetNamespace() != "" && ref.GetNamespace() != o.Key.Namespace {
			continue // not allowed (validation); schema checks report it
		}
		svc := c.s.Get(snapshot.KindService, o.Key.Namespace, ref.GetName())
		if svc == nil {
			continue // a missing target is another finding
		}
		a := serviceWaypoint(c.s, c.w, svc)
		if !a.Known {
			c.p.NotChecked("waypoint of %s (targeted by %s): %s", svc.Ref(), o.Ref(), a.Why)
			continue
		}
		if !a.Ambient || a.Served {
			continue
		}
		path := targetRefPath(o, i)
		f := analysis.Finding{
			Subject:   o.Key,
			Message:   fmt.Sprintf("%s attaches to %s with targetRefs, but no waypoint serves that Service (%s): only waypoints apply targetRef policies and ztunnel ignores them, so %s.", o.Ref(), svc.Ref(), a.Problem, policyEffect(o.Key.GroupKind())),
			Locations: append([]analysis.Location{analysis.LocationOf(o, path)}, a.locations()...),
			Evidence:  append([]string{fmt.Sprintf("%s: Service %s", path, ref.GetName())}, a.evidence()...),
			Related:   []analysis.Related{analysis.RelatedOf(svc, "the target, in ambient mode without a waypoint")},
			Remedy:    a.remedy(),
			Key:       fmt.Sprintf("target-%d", i),
		}
		c.p.Report(f)
	}
}

// targetRefPath is where the i-th of a policy's targetRefs is written
// (scopedPolicyOf reads targetRef only when targetRefs is empty).
func targetRefPath(o *snapshot.Object, i int) snapshot.Path {
	var many int
	switch v := o.Typed.(type) {
	case *securityv1.AuthorizationPolicy:
		many = len(v.Spec.GetTargetRefs())
	case *securityv1.RequestAuthentication:
		many = len(v.Spec.GetTargetRefs())
	case *telemetryv1.Telemetry:
		many = len(v.Spec.GetTargetRefs())
	case *extensionsv1alpha1.WasmPlugin:
		many = len(v.Spec.GetTargetRefs())
	}
	if many == 0 {
		return snapshot.P("spec", "targetRef")
	}
	return snapshot.P("spec", "targetRefs", i)
}

// l7Field is a layer-7 field of a policy: where it is written and what it
// says.
type l7Field struct {
	path snapshot.Path
	what string
}

// l7Fields lists what of a selector (or namespace-wide) policy needs a
// layer-7 proxy: the HTTP attributes of an ALLOW or DENY policy's rules
// (JWT conditions are MD307's), a Telemetry's tracing, access logging and
// metrics, a WasmPlugin as a whole. RequestAuthentications by selector
// on ambient workloads are MD303's.
func l7Fields(o *snapshot.Object) []l7Field {
	var out []l7Field
	switch v := o.Typed.(type) {
	case *securityv1.AuthorizationPolicy:
		a := v.Spec.GetAction()
		if a != secv1beta1.AuthorizationPolicy_ALLOW && a != secv1beta1.AuthorizationPolicy_DENY {
			return nil
		}
		for ri, r := range v.Spec.GetRules() {
			if ruleHasJWT(r) {
				continue // MD307
			}
			out = append(out, ruleHTTPFields(r, snapshot.P("spec", "rules", ri))...)
		}
	case *telemetryv1.Telemetry:
		if len(v.Spec.GetTracing()) > 0 {
			out = append(out, l7Field{snapshot.P("spec", "tracing"), "tracing"})
		}
		if len(v.Spec.GetAccessLogging()) > 0 {
			out = append(out, l7Field{snapshot.P("spec", "accessLogging"), "access logging"})
		}
		if len(v.Spec.GetMetrics()) > 0 {
			out = append(out, l7Field{snapshot.P("spec", "metrics"), "metrics"})
		}
	case *extensionsv1alpha1.WasmPlugin:
		out = append(out, l7Field{snapshot.P("spec", "url"), fmt.Sprintf("Wasm plugin %q", v.Spec.GetUrl())})
	}
	return out
}

// ruleHasJWT tells whether a rule matches on request principals or
// request.auth.* (what MD307 reports for ambient workloads).
func ruleHasJWT(r *secv1beta1.Rule) bool {
	for _, f := range r.GetFrom() {
		if len(f.GetSource().GetRequestPrincipals()) > 0 || len(f.GetSource().GetNotRequestPrincipals()) > 0 {
			return true
		}
	}
	for _, w := range r.GetWhen() {
		if strings.HasPrefix(w.GetKey(), "request.auth.") {
			return true
		}
	}
	return false
}

// ruleHTTPFields lists where a rule uses HTTP attributes (those httpParts
// names), each with its path.
func ruleHTTPFields(r *secv1beta1.Rule, rp snapshot.Path) []l7Field {
	var out []l7Field
	// Paths only for the fields set: this runs for every rule of every
	// policy, and most rules set none of these.
	add := func(n int, list string, i int, part, what string) {
		if n > 0 {
			out = append(out, l7Field{rp.Child(list, i, part, what), what})
		}
	}
	for ti, t := range r.GetTo() {
		op := t.GetOperation()
		add(len(op.GetHosts()), "to", ti, "operation", "hosts")
		add(len(op.GetNotHosts()), "to", ti, "operation", "notHosts")
		add(len(op.GetMethods()), "to", ti, "operation", "methods")
		add(len(op.GetNotMethods()), "to", ti, "operation", "notMethods")
		add(len(op.GetPaths()), "to", ti, "operation", "paths")
		add(len(op.GetNotPaths()), "to", ti, "operation", "notPaths")
	}
	for fi, f := range r.GetFrom() {
		s := f.GetSource()
		add(len(s.GetRemoteIpBlocks()), "from", fi, "source", "remoteIpBlocks")
		add(len(s.GetNotRemoteIpBlocks()), "from", fi, "source", "notRemoteIpBlocks")
	}
	for wi, w := range r.GetWhen() {
		if !l4When[w.GetKey()] {
			out = append(out, l7Field{rp.Child("when", wi, "key"), "when " + w.GetKey()})
		}
	}
	return out
}

// ambientSelection is what a selection (namespace and selector) picks when
// every workload it picks is in ambient mode (or has no proxy), with at
// least one ambient.
type ambientSelection struct {
	ambient []*snapshot.Object
}

func (c *ambientPolicyChecker) selection(ns string, sel map[string]string) *ambientSelection {
	key := selectorKey(ns, sel)
	if a, ok := c.memo[key]; ok {
		return a
	}
	a := &ambientSelection{}
	c.memo[key] = a
	ls := labels.SelectorFromSet(sel)
	if !c.w.covered(ns) || len(c.w.selectOther(ns, ls)) > 0 {
		return a
	}
	var amb []*snapshot.Object
	for _, wl := range c.w.selectIn(ns, ls) {
		if waypointWorkload(wl) {
			continue // waypoints take only targetRef policies (MD315)
		}
		switch c.w.dataplane(wl) {
		case DataplaneAmbient:
			amb = append(amb, wl)
		case DataplaneSidecar, DataplaneUnknown:
			return a // a sidecar applies the policy
		}
	}
	sortByRef(amb)
	a.ambient = amb
	return a
}

// selector reports a selector (or namespace-wide AuthorizationPolicy)
// policy with layer-7 content whose workloads all run in ambient mode.
func (c *ambientPolicyChecker) selector(sp scopedPolicy) {
	o := sp.Object
	gk := o.Key.GroupKind()
	if gk == snapshot.KindRequestAuth || (!sp.selects() && gk != snapshot.KindAuthzPolicy) {
		return // MD303; a namespace-wide Telemetry or WasmPlugin: left alone
	}
	fields := l7Fields(o)
	if len(fields) == 0 {
		return
	}
	ns := o.Key.Namespace
	sel := c.selection(ns, sp.Selector)
	if len(sel.ambient) == 0 {
		return
	}
	f := analysis.Finding{Subject: o.Key, Key: "selector", Locations: []analysis.Location{analysis.LocationOf(o, fields[0].path)}}
	attach := "its selector (" + labelText(sp.Selector) + ")"
	if sp.selects() {
		f.Locations = append(f.Locations, analysis.LocationOf(o, sp.SelectorPath))
	} else {
		attach = "having no selector (it applies to the whole namespace)"
	}
	if n := c.s.Get(snapshot.KindNamespace, "", ns); n != nil {
		if ok, _ := ambientNamespace(c.s, ns); ok {
			f.Locations = append(f.Locations, analysis.LocationOf(n, snapshot.P("metadata", "labels", DataplaneModeLabel)))
		}
	}
	for i, fl := range fields {
		if i == 3 {
			break
		}
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s: %s (layer 7)", fl.path, fl.what))
	}
	waypoint, wpNS := addAmbientSample(&f, c.w, sel.ambient, "ambient workload: no sidecar, and waypoints skip selector policies")
	what := make([]string, 0, len(fields))
	seen := map[string]bool{}
	for _, fl := range fields {
		if !seen[fl.what] {
			seen[fl.what] = true
			what = append(what, fl.what)
		}
	}
	wl := refList(sel.ambient, 3)
	switch gk {
	case snapshot.KindAuthzPolicy:
		eff := "Istiod drops these ALLOW rules for ztunnel: they admit no connection (denied unless another rule admits it)"
		if authzPolicy(o).GetAction() == secv1beta1.AuthorizationPolicy_DENY {
			eff = "Ztunnel cannot honour the HTTP conditions of these DENY rules: they deny by connection, whatever the request, or not at all, never per request as written"
		}
		f.Message = fmt.Sprintf("%s matches on HTTP attributes (%s) and reaches ambient workloads (%s) by %s: ztunnel enforces it and sees no HTTP, and waypoints apply only policies attached with targetRefs. %s.", o.Ref(), strings.Join(analysis.FirstN(what, 4), ", "), wl, attach, eff)
	default:
		f.Message = fmt.Sprintf("%s configures %s for ambient workloads (%s) by %s: ztunnel runs no Envoy filters and waypoints apply only policies attached with targetRefs, so %s.", o.Ref(), strings.Join(what, ", "), wl, attach, policyEffect(gk))
	}
	f.Remedy = selectorRemedy(c.s, o, sel.ambient, waypoint, wpNS)
	c.p.Report(f)
}

// selectorRemedy: attach with targetRefs to the workloads' Service (or
// their waypoint), with a waypoint deployed and enrolled.
func selectorRemedy(s *snapshot.Snapshot, o *snapshot.Object, ambient []*snapshot.Object, waypoint, wpNS string) string {
	ns := o.Key.Namespace
	target := "{group: \"\", kind: Service, name: <service>}"
	if svc := serviceOf(s, ambient[0]); svc != nil {
		target = fmt.Sprintf("{group: \"\", kind: Service, name: %s}", svc.Key.Name)
	}
	switch {
	case waypoint != "" && wpNS != "" && wpNS != ns:
		return fmt.Sprintf("Replace spec.selector with spec.targetRefs: [%s]; the workloads use waypoint %s of namespace %s, so a policy for the whole waypoint goes in that namespace with targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: %s}].", target, waypoint, wpNS, waypoint)
	case waypoint != "":
		return fmt.Sprintf("Replace spec.selector with spec.targetRefs: [%s], or [{group: gateway.networking.k8s.io, kind: Gateway, name: %s}] (the waypoint these workloads use) for everything it serves.", target, waypoint)
	}
	return fmt.Sprintf("Replace spec.selector with spec.targetRefs: [%s], and deploy a waypoint that serves it: `istioctl waypoint apply -n %s --enroll-namespace`.", target, ns)
}

// serviceOf returns a Service of wl's namespace whose selector picks its
// pods, or nil.
func serviceOf(s *snapshot.Snapshot, wl *snapshot.Object) *snapshot.Object {
	l := labels.Set(labelsOf(wl))
	for _, svc := range s.InNamespace(snapshot.KindService, wl.Key.Namespace) {
		if sel := serviceSelector(svc); len(sel) > 0 && labels.SelectorFromSet(sel).Matches(l) {
			return svc
		}
	}
	return nil
}

// sortByRef orders objects by reference.
func sortByRef(l []*snapshot.Object) {
	sort.Slice(l, func(i, j int) bool { return l[i].Ref() < l[j].Ref() })
}
