package istio

import (
	"fmt"

	netv1alpha3 "istio.io/api/networking/v1alpha3"
	networkingv1alpha3 "istio.io/client-go/pkg/apis/networking/v1alpha3"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

var envoyFilterReads = map[schema.GroupKind][]string{snapshot.KindEnvoyFilter: {"spec"}}

func envoyFilter(o *snapshot.Object) *netv1alpha3.EnvoyFilter {
	if ef, ok := o.Typed.(*networkingv1alpha3.EnvoyFilter); ok {
		return &ef.Spec
	}
	return nil
}

// relative tells whether a patch's effect depends on other filters being
// present or ordered (Istio's analyzer: INSERT_BEFORE/AFTER, and REPLACE
// and REMOVE of filters).
func relative(op netv1alpha3.EnvoyFilter_Patch_Operation, applyTo netv1alpha3.EnvoyFilter_ApplyTo) bool {
	switch op {
	case netv1alpha3.EnvoyFilter_Patch_INSERT_BEFORE, netv1alpha3.EnvoyFilter_Patch_INSERT_AFTER:
		return true
	case netv1alpha3.EnvoyFilter_Patch_REPLACE:
		return filterLevel(applyTo)
	case netv1alpha3.EnvoyFilter_Patch_REMOVE:
		return !routeLevel(applyTo)
	}
	return false
}

func filterLevel(a netv1alpha3.EnvoyFilter_ApplyTo) bool {
	return a == netv1alpha3.EnvoyFilter_HTTP_FILTER || a == netv1alpha3.EnvoyFilter_NETWORK_FILTER
}

func routeLevel(a netv1alpha3.EnvoyFilter_ApplyTo) bool {
	return a == netv1alpha3.EnvoyFilter_ROUTE_CONFIGURATION || a == netv1alpha3.EnvoyFilter_HTTP_ROUTE
}

// EnvoyFilterRelative: order-dependent patches without an explicit priority.
var EnvoyFilterRelative = &analysis.Analyzer{
	Code:     "MD211",
	Name:     "envoyfilter-relative-without-priority",
	Severity: analysis.Warning,
	Summary:  "An EnvoyFilter patch that inserts relative to, replaces or removes another filter has no priority, so its effect depends on creation order (and breaks across upgrades when it also matches a proxy version).",
	Doc:      doc("MD211"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindEnvoyFilter)},
	Reads:    envoyFilterReads,
	Run: func(p *analysis.Pass) error {
		for _, o := range p.Snapshot.List(snapshot.KindEnvoyFilter) {
			ef := envoyFilter(o)
			if ef == nil || ef.GetPriority() != 0 {
				continue
			}
			for i, cp := range ef.GetConfigPatches() {
				op := cp.GetPatch().GetOperation()
				if !relative(op, cp.GetApplyTo()) {
					continue
				}
				at := snapshot.P("spec", "configPatches", i)
				f := analysis.Finding{
					Subject: o.Key,
					Message: fmt.Sprintf("%s configPatches[%d] does %s on %s without a priority: EnvoyFilters are applied in creation order, so whether the filter it is relative to is already there depends on which object was created first — the guide's 'EnvoyFilter stopped working without changes'.",
						o.Ref(), i, op, cp.GetApplyTo()),
					Locations: []analysis.Location{analysis.LocationOf(o, at.Child("patch", "operation"))},
					Evidence:  []string{fmt.Sprintf("configPatches[%d]: applyTo %s, operation %s; spec.priority unset (0)", i, cp.GetApplyTo(), op)},
					Remedy:    "Set spec.priority (e.g. 10) so the order is explicit, or use an operation that does not depend on other filters (INSERT_FIRST, ADD).",
					Key:       at.String(),
				}
				if v := cp.GetMatch().GetProxy().GetProxyVersion(); v != "" {
					f.Message += fmt.Sprintf(" The patch also matches proxyVersion %q: during an upgrade old and new copies of the filter coexist and the relative position flips.", v)
					f.Evidence = append(f.Evidence, "match.proxy.proxyVersion: "+v)
				}
				p.Report(f)
			}
		}
		return nil
	},
}

// EnvoyFilterOpMisuse: operations Istio ignores for the object they target.
var EnvoyFilterOpMisuse = &analysis.Analyzer{
	Code:     "MD212",
	Name:     "envoyfilter-operation-ignored",
	Severity: analysis.Error,
	Summary:  "An EnvoyFilter patch uses an operation Istio ignores for its applyTo (REPLACE outside HTTP_FILTER/NETWORK_FILTER, ADD or REMOVE on ROUTE_CONFIGURATION/HTTP_ROUTE).",
	Doc:      doc("MD212"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindEnvoyFilter)},
	Reads:    envoyFilterReads,
	Run: func(p *analysis.Pass) error {
		for _, o := range p.Snapshot.List(snapshot.KindEnvoyFilter) {
			ef := envoyFilter(o)
			for i, cp := range ef.GetConfigPatches() {
				op, to := cp.GetPatch().GetOperation(), cp.GetApplyTo()
				var why, fix string
				switch {
				case op == netv1alpha3.EnvoyFilter_Patch_REPLACE && !filterLevel(to):
					why, fix = "REPLACE is only implemented for HTTP_FILTER and NETWORK_FILTER", "Use MERGE to change fields of the object, or REMOVE plus ADD."
				case op == netv1alpha3.EnvoyFilter_Patch_ADD && routeLevel(to):
					why, fix = "ADD does nothing on ROUTE_CONFIGURATION and HTTP_ROUTE", "Use MERGE to change a route configuration, or INSERT_FIRST/INSERT_BEFORE/INSERT_AFTER on HTTP_ROUTE to add a route."
				case op == netv1alpha3.EnvoyFilter_Patch_REMOVE && routeLevel(to):
					why, fix = "REMOVE does nothing on ROUTE_CONFIGURATION and HTTP_ROUTE", "Remove routes by changing the VirtualService, or MERGE the route configuration."
				default:
					continue
				}
				at := snapshot.P("spec", "configPatches", i)
				p.Report(analysis.Finding{
					Subject:   o.Key,
					Message:   fmt.Sprintf("%s configPatches[%d] does %s on %s, but %s: the patch is silently ignored.", o.Ref(), i, op, to, why),
					Locations: []analysis.Location{analysis.LocationOf(o, at.Child("patch", "operation"))},
					Evidence:  []string{fmt.Sprintf("configPatches[%d]: applyTo %s, operation %s", i, to, op)},
					Remedy:    fix,
					Key:       at.String(),
				})
			}
		}
		return nil
	},
}
