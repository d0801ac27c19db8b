package istio

import (
	"fmt"
	"sort"
	"strconv"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/facts"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// policyEffect says what a policy of a kind would have done, for messages.
func policyEffect(gk schema.GroupKind) string {
	switch gk {
	case snapshot.KindAuthzPolicy:
		return "its access rules are enforced by no proxy (an ALLOW or DENY meant to protect a workload protects nothing)"
	case snapshot.KindRequestAuth:
		return "no proxy validates the JWTs it describes, and request principals stay empty"
	case snapshot.KindPeerAuth:
		return "its mTLS mode applies to no proxy"
	case snapshot.KindSidecar:
		return "its egress/ingress settings reach no proxy; the selected workloads keep the namespace default"
	case snapshot.KindTelemetry:
		return "its metrics, access-logging and tracing settings reach no proxy; the workloads keep the namespace and mesh-wide Telemetry"
	}
	return "it applies to no proxy"
}

// PolicySelectorNoWorkload: a workload-scoped policy whose selector picks no
// workload in the mesh (IST0127; IST0101 "selector" for Sidecars and
// Telemetries), or a
// RequestAuthentication whose selector reaches only ambient workloads.
var PolicySelectorNoWorkload = &analysis.Analyzer{
	Code:     "MD303",
	Name:     "policy-selector-no-workload",
	Severity: analysis.Warning,
	Summary:  "An AuthorizationPolicy, RequestAuthentication, PeerAuthentication, Sidecar or Telemetry selects no workload that runs a mesh proxy (for a RequestAuthentication: only ambient workloads, where no proxy validates JWTs), so it has no effect.",
	Doc:      doc("MD303"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindAuthzPolicy, snapshot.KindRequestAuth, snapshot.KindPeerAuth, snapshot.KindSidecar, snapshot.KindTelemetry)},
	Reads:    mergeReads(secMembershipReads(), policySpecReads(), otherWorkloadReads()),
	Requires: []*analysis.Fact{facts.MeshConfig},
	Run: func(p *analysis.Pass) error {
		root := p.ResultOf(facts.MeshConfig).(*facts.Mesh).RootNamespace()
		c := &scopeChecker{w: newWorkloadIndex(p.Snapshot), root: root, memo: map[string]*scopeSummary{}}
		for _, gk := range []schema.GroupKind{snapshot.KindAuthzPolicy, snapshot.KindRequestAuth, snapshot.KindPeerAuth, snapshot.KindSidecar, snapshot.KindTelemetry} {
			for _, o := range p.Snapshot.List(gk) {
				sp, ok := scopedPolicyOf(o)
				if !ok || len(sp.TargetRefs) > 0 {
					continue // attached by targetRef: not a selector policy
				}
				c.check(p, sp, gk)
			}
		}
		return nil
	},
}

// scopeSummary is what a selection (scope and selector) picks, computed
// once per distinct selection.
type scopeSummary struct {
	selected int
	// proxied: a selected workload runs a sidecar, is undecidable, or is
	// a VM or custom-controller workload (taken as in the mesh).
	proxied bool
	// none and ambient list the selected workloads without a proxy and in
	// ambient mode (sorted; complete only when proxied is false).
	none, ambient []*snapshot.Object
	// waypoints counts selected waypoint workloads (not in proxied).
	waypoints int
}

type scopeChecker struct {
	w    *workloadIndex
	root string
	memo map[string]*scopeSummary
}

func (c *scopeChecker) summary(scope string, sel map[string]string) *scopeSummary {
	key := selectorKey(scope, sel)
	if sum, ok := c.memo[key]; ok {
		return sum
	}
	sum := &scopeSummary{}
	c.memo[key] = sum
	ls := labels.SelectorFromSet(sel)
	if other := c.w.selectOther(scope, ls); len(other) > 0 {
		sum.selected, sum.proxied = len(other), true
		return sum
	}
	objs := c.w.selectIn(scope, ls)
	sum.selected = len(objs)
	for _, wl := range objs {
		if waypointWorkload(wl) {
			sum.waypoints++
			continue
		}
		switch c.w.dataplane(wl) {
		case DataplaneNone:
			sum.none = append(sum.none, wl)
		case DataplaneAmbient:
			sum.ambient = append(sum.ambient, wl)
		default:
			sum.proxied = true
			return sum
		}
	}
	byRef := func(l []*snapshot.Object) {
		sort.Slice(l, func(i, j int) bool { return l[i].Ref() < l[j].Ref() })
	}
	byRef(sum.none)
	byRef(sum.ambient)
	return sum
}

func (c *scopeChecker) check(p *analysis.Pass, sp scopedPolicy, gk schema.GroupKind) {
	w, root := c.w, c.root
	o := sp.Object
	ns := o.Key.Namespace
	if gk == snapshot.KindPeerAuth && sp.selects() && ns == root {
		p.Report(analysis.Finding{
			Subject:   o.Key,
			Message:   fmt.Sprintf("%s is in the mesh root namespace %s and has a workload selector: istiod ignores workload-level PeerAuthentications in the root namespace, so %s.", o.Ref(), root, policyEffect(gk)),
			Locations: []analysis.Location{analysis.LocationOf(o, sp.SelectorPath)},
			Evidence:  []string{"root namespace: " + root, "selector: " + labelText(sp.Selector)},
			Remedy:    "Move the PeerAuthentication into the namespace of the workloads it selects, or drop the selector to make it the mesh-wide policy.",
			Key:       "root-selector",
		})
		return
	}
	if !sp.selects() && (ns == root || gk == snapshot.KindSidecar) {
		return // mesh-wide, or a namespace-default Sidecar
	}
	// A Telemetry's selector picks only workloads of its own namespace, the
	// root one included (applicableTelemetries in istio
	// pilot/pkg/model/telemetry.go); so do PeerAuthentication and Sidecar.
	scope := ns
	if sp.selects() && ns == root && (gk == snapshot.KindAuthzPolicy || gk == snapshot.KindRequestAuth) {
		scope = snapshot.AllNamespaces // root-namespace selectors apply in every namespace
	}
	known := w.covered(ns)
	if scope == snapshot.AllNamespaces {
		known = w.allCovered()
	}
	sum := c.summary(scope, sp.Selector)
	if sum.proxied {
		return // in the mesh (or undecidable): the policy applies
	}
	if sum.waypoints > 0 && (sp.selects() || gk != snapshot.KindRequestAuth) {
		return // a waypoint's pods: MD315 judges selectors on them
	}
	if sum.waypoints > 0 && len(sum.ambient) == 0 {
		return // a namespace-wide RequestAuthentication beside only a waypoint
	}
	// Ambient workloads take AuthorizationPolicies and PeerAuthentications
	// (ztunnel enforces them) and a Sidecar on them is MD314's; only a
	// RequestAuthentication has no effect there.
	if len(sum.ambient) > 0 && gk != snapshot.KindRequestAuth {
		return
	}
	where := "namespace " + ns
	if scope == snapshot.AllNamespaces {
		where = "any namespace (a selector in the root namespace " + root + " applies mesh-wide)"
	}
	f := analysis.Finding{Subject: o.Key}
	sel := "all workloads of " + where
	if sp.selects() {
		sel = "labels " + labelText(sp.Selector)
		f.Locations = []analysis.Location{analysis.LocationOf(o, sp.SelectorPath)}
		f.Evidence = []string{"selector: " + labelText(sp.Selector)}
	} else {
		f.Locations = []analysis.Location{analysis.LocationOf(o, snapshot.P("metadata", "namespace"))}
		f.Evidence = []string{"no selector: applies to every workload of namespace " + ns}
	}
	if sum.selected == 0 {
		if !known {
			p.NotChecked("workloads of %s: the input has no Pods or workloads of %s", o.Ref(), where)
			return
		}
		f.Message = fmt.Sprintf("%s selects %s, but no Pod or workload in %s carries them: %s.", o.Ref(), sel, where, policyEffect(o.Key.GroupKind()))
		f.Evidence = append(f.Evidence, "searched: Pods, else Deployment/StatefulSet/DaemonSet/Job pod templates, WorkloadEntries, WorkloadGroups and custom resources with a pod template, in "+where)
		if gk == snapshot.KindTelemetry && ns == root && sp.selects() {
			f.Message += " A Telemetry selector in the root namespace picks only workloads of that namespace, not of the whole mesh."
		}
		f.Remedy = "Correct spec.selector.matchLabels to the labels the workload's pods carry (`kubectl get pods -n " + ns + " --show-labels`), or delete the policy if the workload is gone."
		if gk == snapshot.KindSidecar {
			f.Remedy = "Correct spec.workloadSelector.labels to the labels the workload's pods carry (`kubectl get pods -n " + ns + " --show-labels`), or delete the Sidecar if the workload is gone."
		}
		f.Key = "none"
		p.Report(f)
		return
	}
	if len(sum.ambient) > 0 {
		reportRequestAuthOnAmbient(p, w, f, sp, sum)
		return
	}
	f.Message = fmt.Sprintf("%s selects only workloads without a mesh proxy (%s): %s.", o.Ref(), refList(sum.none, 3), policyEffect(o.Key.GroupKind()))
	for i, wl := range sum.none {
		if i == 3 {
			break
		}
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s: %s", wl.Ref(), w.membership(wl).Why))
		f.Related = append(f.Related, analysis.RelatedOf(wl, "selected, but runs no proxy"))
	}
	f.Remedy = "Add the workloads to the mesh (label the namespace istio-injection=enabled or istio.io/dataplane-mode=ambient and restart the pods), or remove the policy: without a proxy nothing enforces it."
	f.Key = "no-proxy"
	p.Report(f)
}

// reportRequestAuthOnAmbient: a selector RequestAuthentication that reaches
// only ambient workloads (and maybe some without a proxy). ztunnel handles
// no HTTP and validates no JWT; waypoints apply only RequestAuthentications
// attached with targetRefs.
func reportRequestAuthOnAmbient(p *analysis.Pass, w *workloadIndex, f analysis.Finding, sp scopedPolicy, sum *scopeSummary) {
	o := sp.Object
	f.Message = fmt.Sprintf("%s selects only ambient-mode workloads (%s)", o.Ref(), refList(sum.ambient, 3))
	if len(sum.none) > 0 {
		f.Message += fmt.Sprintf(" and workloads without a mesh proxy (%s)", refList(sum.none, 3))
	}
	f.Message += ": ztunnel validates no JWT, and waypoints apply only RequestAuthentications attached with targetRefs, so no proxy validates the JWTs it describes and request principals stay empty."
	waypoint, wpNS := addAmbientSample(&f, w, sum.ambient, "ambient workload: no sidecar validates JWTs")
	target := "{group: gateway.networking.k8s.io, kind: Gateway, name: <waypoint>}"
	where := ""
	if waypoint != "" {
		target = "{group: gateway.networking.k8s.io, kind: Gateway, name: " + waypoint + "}"
		f.Evidence = append(f.Evidence, "waypoint in use: "+waypoint)
		if wpNS != "" && wpNS != o.Key.Namespace {
			where = fmt.Sprintf(", from namespace %s (the waypoint's)", wpNS)
			f.Evidence[len(f.Evidence)-1] += " (namespace " + wpNS + ")"
		}
	}
	f.Remedy = fmt.Sprintf("Attach it to the waypoint these workloads use with spec.targetRefs: [%s] instead of a selector%s (deploy a waypoint with `istioctl waypoint apply -n %s --enroll-namespace` if there is none), or to their Service (kind: Service, group: \"\"); attach the AuthorizationPolicies that check the JWT the same way.", target, where, o.Key.Namespace)
	f.Key = "ambient"
	p.Report(f)
}

// addAmbientSample adds the first three ambient workloads to f, each as
// evidence (why it is ambient) and as related with why, and returns the
// first waypoint they use with its namespace label: both JWT-on-ambient
// checks (MD303, MD307) show the same sample and point the remedy at it.
func addAmbientSample(f *analysis.Finding, w *workloadIndex, ambient []*snapshot.Object, why string) (waypoint, ns string) {
	for i, wl := range ambient {
		if i == 3 {
			break
		}
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s: %s", wl.Ref(), w.membership(wl).Why))
		f.Related = append(f.Related, analysis.RelatedOf(wl, why))
		if waypoint == "" {
			waypoint, ns = useWaypoint(w.s, wl)
		}
	}
	return waypoint, ns
}

// Labels that name the waypoint a namespace, Service or pod sends its
// traffic through, and the waypoint's namespace when it is another one.
const (
	useWaypointLabel   = "istio.io/use-waypoint"
	useWaypointNSLabel = "istio.io/use-waypoint-namespace"
)

// useWaypoint returns the waypoint named by a workload's pod labels or its
// Namespace, if any ("none" opts out), and the namespace label beside it.
func useWaypoint(s *snapshot.Snapshot, wl *snapshot.Object) (name, ns string) {
	if l := labelsOf(wl); l[useWaypointLabel] != "" {
		if l[useWaypointLabel] == "none" {
			return "", ""
		}
		return l[useWaypointLabel], l[useWaypointNSLabel]
	}
	if n := s.Get(snapshot.KindNamespace, "", wl.Key.Namespace); n != nil && n.Labels[useWaypointLabel] != "none" {
		return n.Labels[useWaypointLabel], n.Labels[useWaypointNSLabel]
	}
	return "", ""
}

// Labels that mark Kubernetes Gateway API gateway pods and waypoints.
const (
	GatewayNameLabel    = "gateway.networking.k8s.io/gateway-name"
	gatewayClassLabel   = "gateway.networking.k8s.io/gateway-class-name"
	gatewayManagedLabel = "gateway.istio.io/managed"
	waypointController  = "istio.io-mesh-controller"
	waypointClass       = "istio-waypoint"
	selectorGatewayEnv  = "ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY"
)

func isWaypoint(l map[string]string) bool {
	return l[gatewayManagedLabel] == waypointController || l[gatewayClassLabel] == waypointClass
}

// waypointWorkload tells whether a workload is a waypoint's (a Gateway API
// gateway of the waypoint class): istiod applies no selector or
// namespace-wide policy to it, only those attached with targetRef.
func waypointWorkload(wl *snapshot.Object) bool {
	l := labelsOf(wl)
	_, gw := l[GatewayNameLabel]
	return gw && isWaypoint(l)
}

// k8sGatewayWorkloads indexes, by namespace, the Pods (else pod templates)
// of Gateway API gateways: one pass over the workloads.
func k8sGatewayWorkloads(s *snapshot.Snapshot) map[string][]*snapshot.Object {
	out := map[string][]*snapshot.Object{}
	for _, o := range s.List(snapshot.KindPod) {
		if _, ok := o.Labels[GatewayNameLabel]; ok {
			out[o.Key.Namespace] = append(out[o.Key.Namespace], o)
		}
	}
	for _, gk := range snapshot.WorkloadKinds[1:] {
		for _, o := range s.List(gk) {
			if s.Covers(snapshot.KindPod, o.Key.Namespace) {
				continue
			}
			if _, ok := labelsOf(o)[GatewayNameLabel]; ok {
				out[o.Key.Namespace] = append(out[o.Key.Namespace], o)
			}
		}
	}
	return out
}

// istiodsSetFlag tells whether every istiod Deployment of the input (at
// least one) sets the boolean environment variable name to want, with the
// last one that does as evidence. A flag only some istiod Deployments set
// cannot be relied on, so the gateway-scope and selector-policy flags count
// as set only when all agree.
func istiodsSetFlag(s *snapshot.Snapshot, name string, want bool) (all bool, evidence string) {
	n, set := 0, 0
	for _, o := range s.List(snapshot.KindDeployment) {
		if !facts.IsIstiod(o) {
			continue
		}
		n++
		if v, ok := envValue(o, name); ok {
			if b, err := strconv.ParseBool(v); err == nil && b == want {
				set++
				evidence = fmt.Sprintf("%s sets %s=%s", o.Ref(), name, v)
			}
		}
	}
	return n > 0 && set == n, evidence
}

// envValue returns the literal value of an environment variable of any
// container of a workload.
func envValue(o *snapshot.Object, name string) (string, bool) {
	spec, _, _, ok := snapshot.PodSpecOf(o)
	if !ok {
		return "", false
	}
	for _, c := range spec.Containers {
		for _, e := range c.Env {
			if e.Name == name && e.ValueFrom == nil {
				return e.Value, true
			}
		}
	}
	return "", false
}

// SelectorOnK8sGateway: a policy that picks a Gateway API gateway's pods by
// label instead of attaching to the Gateway with targetRef (IST0166).
var SelectorOnK8sGateway = &analysis.Analyzer{
	Code:     "MD315",
	Name:     "policy-selector-on-k8s-gateway",
	Severity: analysis.Info,
	Summary:  "An AuthorizationPolicy, RequestAuthentication, Telemetry or WasmPlugin selects a Kubernetes Gateway API gateway's pods by label instead of attaching with targetRef.",
	Doc:      doc("MD315"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindAuthzPolicy, snapshot.KindRequestAuth, snapshot.KindTelemetry, snapshot.KindWasmPlugin), analysis.Kinds(snapshot.WorkloadKinds...)},
	Reads: mergeReads(policySpecReads(), templateReads("metadata.labels"), map[schema.GroupKind][]string{
		snapshot.KindDeployment: {"spec.template.spec.containers.env"},
	}),
	Requires: []*analysis.Fact{facts.MeshConfig},
	Run: func(p *analysis.Pass) error {
		gws := k8sGatewayWorkloads(p.Snapshot)
		if len(gws) == 0 {
			return nil
		}
		root := p.ResultOf(facts.MeshConfig).(*facts.Mesh).RootNamespace()
		var allGws []*snapshot.Object
		for _, ns := range sortedKeys(gws) {
			allGws = append(allGws, gws[ns]...)
		}
		// Off only when every istiod sets it false.
		off, offWhy := istiodsSetFlag(p.Snapshot, selectorGatewayEnv, false)
		for _, gk := range []schema.GroupKind{snapshot.KindAuthzPolicy, snapshot.KindRequestAuth, snapshot.KindTelemetry, snapshot.KindWasmPlugin} {
			for _, o := range p.Snapshot.List(gk) {
				sp, ok := scopedPolicyOf(o)
				if !ok || !sp.selects() || len(sp.TargetRefs) > 0 {
					continue
				}
				cands := gws[o.Key.Namespace]
				if o.Key.Namespace == root {
					cands = allGws
				}
				sel := sp.labelSelector()
				var hit []*snapshot.Object
				waypoint := false
				for _, g := range cands {
					if sel.Matches(labels.Set(labelsOf(g))) {
						hit = append(hit, g)
						waypoint = waypoint || isWaypoint(labelsOf(g))
					}
				}
				if len(hit) == 0 {
					continue
				}
				gwName := labelsOf(hit[0])[GatewayNameLabel]
				f := analysis.Finding{
					Subject:   o.Key,
					Locations: []analysis.Location{analysis.LocationOf(o, sp.SelectorPath)},
					Evidence:  []string{"selector: " + labelText(sp.Selector)},
					Remedy:    fmt.Sprintf("Replace spec.selector with spec.targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: %s}] (the policy must be in the Gateway's namespace).", gwName),
				}
				for _, g := range hit {
					f.Evidence = append(f.Evidence, fmt.Sprintf("%s carries %s=%s", g.Ref(), GatewayNameLabel, labelsOf(g)[GatewayNameLabel]))
					f.Related = append(f.Related, analysis.RelatedOf(g, "Gateway API gateway workload the selector picks"))
				}
				switch {
				case waypoint:
					f.Severity = analysis.Warning
					f.Message = fmt.Sprintf("%s selects the pods of waypoint %s by label: waypoints never apply selector-based policies, only those attached with targetRef, so the policy has no effect there.", o.Ref(), gwName)
				case off:
					f.Severity = analysis.Warning
					f.Message = fmt.Sprintf("%s selects the pods of Kubernetes Gateway %s by label, but istiod runs with %s=false: Gateway API gateways ignore selector-based policies, so the policy has no effect on that gateway.", o.Ref(), gwName, selectorGatewayEnv)
					f.Evidence = append(f.Evidence, offWhy)
				default:
					f.Message = fmt.Sprintf("%s selects the pods of Kubernetes Gateway %s by label instead of attaching to the Gateway with targetRef: it applies only while istiod keeps %s=true (the default), and stops applying if it is turned off or the gateway is redeployed with other labels.", o.Ref(), gwName, selectorGatewayEnv)
				}
				p.Report(f)
			}
		}
		return nil
	},
}
