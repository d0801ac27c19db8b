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

// A MERGE patch of an HTTP_FILTER is skipped by istiod when the filter it
// matches has no typed_config (envoyfilter/listener_patch.go,
// mergeHTTPFilter: "skip this op as we would possibly have to do a merge of
// Any with struct"). Istio's own HTTP filters carry a typed_config; a filter
// an EnvoyFilter adds with config_discovery (ECDS) instead does not, so a
// MERGE aimed at it never applies.

// efInsert is an HTTP filter an EnvoyFilter patch adds.
type efInsert struct {
	o     *snapshot.Object
	patch int
	typed bool
}

func (in *efInsert) how() string {
	if _, ok := envoyFilter(in.o).GetConfigPatches()[in.patch].GetPatch().GetValue().GetFields()["config_discovery"]; ok {
		return " (its configuration comes from config_discovery)"
	}
	return ""
}

// efMayShare tells whether two EnvoyFilters can apply to one proxy: same
// namespace or one in the root namespace, and workload selectors that do
// not require different values of one label.
func efMayShare(a, b *snapshot.Object, root string) bool {
	an, bn := a.Key.Namespace, b.Key.Namespace
	if an != bn && an != root && bn != root {
		return false
	}
	al, bl := envoyFilter(a).GetWorkloadSelector().GetLabels(), envoyFilter(b).GetWorkloadSelector().GetLabels()
	for k, v := range al {
		if w, ok := bl[k]; ok && w != v {
			return false
		}
	}
	return true
}

// istioHTTPFilters are HTTP filters istiod builds itself, with a
// typed_config: a MERGE matching their name applies to them.
var istioHTTPFilters = map[string]bool{
	"envoy.filters.http.router": true, "envoy.filters.http.cors": true, "envoy.filters.http.fault": true,
	"envoy.filters.http.grpc_stats": true, "envoy.filters.http.grpc_web": true, "envoy.filters.http.jwt_authn": true,
	"envoy.filters.http.rbac": true, "envoy.filters.http.ext_authz": true, "envoy.filters.http.compressor": true,
	"istio.metadata_exchange": true, "istio.stats": true, "istio.alpn": true, "istio_authn": true,
}

func contextsMeet(a, b netv1alpha3.EnvoyFilter_PatchContext) bool {
	return a == b || a == netv1alpha3.EnvoyFilter_ANY || b == netv1alpha3.EnvoyFilter_ANY
}

// EnvoyFilterMergeUntyped: a MERGE onto an HTTP filter that is configured by
// config_discovery, not typed_config.
var EnvoyFilterMergeUntyped = &analysis.Analyzer{
	Code:     "MD244",
	Name:     "envoyfilter-merge-untyped-filter",
	Severity: analysis.Warning,
	Summary:  "An EnvoyFilter MERGEs into an HTTP filter that another EnvoyFilter adds without typed_config (configured by config_discovery): istiod skips a MERGE onto a filter that has no typed_config, so the patch never applies.",
	Doc:      doc("MD244"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindEnvoyFilter)},
	Reads:    reads(envoyFilterReads),
	Requires: []*analysis.Fact{RegistryFact},
	Run: func(p *analysis.Pass) error {
		r := p.ResultOf(RegistryFact).(*Registry)
		root := r.Mesh.RootNamespace()
		inserts := map[string][]efInsert{}
		list := p.Snapshot.List(snapshot.KindEnvoyFilter)
		for _, o := range list {
			for i, cp := range envoyFilter(o).GetConfigPatches() {
				if cp.GetApplyTo() != netv1alpha3.EnvoyFilter_HTTP_FILTER {
					continue
				}
				switch cp.GetPatch().GetOperation() {
				case netv1alpha3.EnvoyFilter_Patch_ADD, netv1alpha3.EnvoyFilter_Patch_INSERT_FIRST,
					netv1alpha3.EnvoyFilter_Patch_INSERT_BEFORE, netv1alpha3.EnvoyFilter_Patch_INSERT_AFTER,
					netv1alpha3.EnvoyFilter_Patch_REPLACE:
				default:
					continue
				}
				v := cp.GetPatch().GetValue().GetFields()
				name := v["name"].GetStringValue()
				if name == "" {
					continue
				}
				_, typed := v["typed_config"]
				if _, ok := v["typedConfig"]; ok {
					typed = true
				}
				inserts[name] = append(inserts[name], efInsert{o: o, patch: i, typed: typed})
			}
		}
		for _, o := range list {
			for i, cp := range envoyFilter(o).GetConfigPatches() {
				if cp.GetApplyTo() != netv1alpha3.EnvoyFilter_HTTP_FILTER || cp.GetPatch().GetOperation() != netv1alpha3.EnvoyFilter_Patch_MERGE {
					continue
				}
				name := cp.GetMatch().GetListener().GetFilterChain().GetFilter().GetSubFilter().GetName()
				ins := inserts[name]
				if name == "" || len(ins) == 0 || istioHTTPFilters[name] {
					continue // Istio's own filter of that name has a typed_config and is merged
				}
				var by *efInsert
				typedToo := false
				for k := range ins {
					in := &ins[k]
					icp := envoyFilter(in.o).GetConfigPatches()[in.patch]
					if !efMayShare(o, in.o, root) || !contextsMeet(cp.GetMatch().GetContext(), icp.GetMatch().GetContext()) {
						continue
					}
					if in.typed {
						typedToo = true
					} else if by == nil {
						by = in
					}
				}
				if by == nil || typedToo {
					continue // some proxies may get a typed filter of that name
				}
				at := snapshot.P("spec", "configPatches", i)
				iat := snapshot.P("spec", "configPatches", by.patch, "patch", "value")
				p.Report(analysis.Finding{
					Subject: o.Key,
					Message: fmt.Sprintf("%s configPatches[%d] MERGEs into HTTP filter %q, which %s configPatches[%d] adds without typed_config%s: istiod skips a MERGE onto a filter that has no typed_config, so this patch never applies and the filter keeps the configuration it has.",
						o.Ref(), i, name, by.o.Ref(), by.patch, by.how()),
					Locations: []analysis.Location{analysis.LocationOf(o, at.Child("patch", "operation")), analysis.LocationOf(by.o, iat)},
					Evidence: []string{
						fmt.Sprintf("configPatches[%d]: applyTo HTTP_FILTER, operation MERGE, subFilter %s", i, name),
						fmt.Sprintf("%s configPatches[%d]: %s of %s without typed_config", by.o.Ref(), by.patch, envoyFilter(by.o).GetConfigPatches()[by.patch].GetPatch().GetOperation(), name),
						"istio pilot/pkg/networking/core/envoyfilter/listener_patch.go mergeHTTPFilter: a filter with GetTypedConfig() == nil is skipped",
					},
					Remedy: fmt.Sprintf("Change the filter's configuration where it comes from (the config_discovery source, e.g. the WasmPlugin or the ECDS resource), or have %s add %q with a typed_config and keep the MERGE.", by.o.Ref(), name),
					Key:    at.String(),
				})
			}
		}
		return nil
	},
}
