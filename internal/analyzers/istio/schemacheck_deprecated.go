package istio

import (
	"fmt"
	"strings"

	netv1alpha3 "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/facts"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// deprecatedUse is one deprecated field set in an object.
type deprecatedUse struct {
	path        snapshot.Path
	field, repl string
	value       string
	// effect says what the deprecated field does today.
	effect string
}

// vsDeprecations: fields of VirtualService marked deprecated in the API.
// fault.delay.percent is what Istio's deprecation analyzer reports
// (IST0002); mirrorPercent is a warning of validateHTTPRoute (IST0133).
func vsDeprecations(vs *netv1alpha3.VirtualService) []deprecatedUse {
	var out []deprecatedUse
	for i, h := range vs.GetHttp() {
		at := snapshot.P("spec", "http", i)
		if d := h.GetFault().GetDelay(); d != nil && delayPercent(d) > 0 {
			out = append(out, deprecatedUse{at.Child("fault", "delay", "percent"), "fault.delay.percent", "fault.delay.percentage.value", fmt.Sprint(delayPercent(d)),
				"still honoured when percentage is unset, but slated for removal"})
		}
		if mp, ok := mirrorPercent(h); ok {
			out = append(out, deprecatedUse{at.Child("mirrorPercent"), "mirrorPercent", "mirrorPercentage.value", fmt.Sprint(mp),
				"still honoured, but slated for removal"})
		}
		if ao := corsAllowOrigin(h.GetCorsPolicy()); len(ao) > 0 {
			out = append(out, deprecatedUse{at.Child("corsPolicy", "allowOrigin"), "corsPolicy.allowOrigin", "corsPolicy.allowOrigins (string matches)", fmt.Sprint(ao),
				"hidden from the API docs, and current istiod may ignore it"})
		}
	}
	return out
}

// drDeprecations: fields of DestinationRule marked deprecated in the API
// (validateOutlierDetection and validateLoadBalancer warn on the first two).
func drDeprecations(dr *netv1alpha3.DestinationRule) []deprecatedUse {
	var out []deprecatedUse
	visit := func(at snapshot.Path, od *netv1alpha3.OutlierDetection, lb *netv1alpha3.LoadBalancerSettings) {
		if consecutiveErrors(od) != 0 {
			out = append(out, deprecatedUse{at.Child("outlierDetection", "consecutiveErrors"), "outlierDetection.consecutiveErrors", "consecutive5xxErrors or consecutiveGatewayErrors", fmt.Sprint(consecutiveErrors(od)),
				"counts only 502/503/504 as errors (it is mapped to consecutiveGatewayErrors), which surprises most users"})
		}
		if ch := lb.GetConsistentHash(); ch != nil && minimumRingSize(ch) != 0 {
			out = append(out, deprecatedUse{at.Child("loadBalancer", "consistentHash", "minimumRingSize"), "consistentHash.minimumRingSize", "consistentHash.ringHash.minimumRingSize", fmt.Sprint(minimumRingSize(ch)),
				"still honoured, but slated for removal"})
		}
		if w := warmupDurationSecs(lb); w != nil {
			out = append(out, deprecatedUse{at.Child("loadBalancer", "warmupDurationSecs"), "loadBalancer.warmupDurationSecs", "loadBalancer.warmup.duration", w.AsDuration().String(),
				"still honoured (ROUND_ROBIN and LEAST_REQUEST) when warmup is unset, but slated for removal"})
		}
		if leastConn(lb) {
			out = append(out, deprecatedUse{at.Child("loadBalancer", "simple"), "loadBalancer.simple: LEAST_CONN", "LEAST_REQUEST", "LEAST_CONN",
				"treated as LEAST_REQUEST"})
		}
	}
	policy := func(at snapshot.Path, tp *netv1alpha3.TrafficPolicy) {
		if tp == nil {
			return
		}
		visit(at, tp.GetOutlierDetection(), tp.GetLoadBalancer())
		for i, pl := range tp.GetPortLevelSettings() {
			visit(at.Child("portLevelSettings", i), pl.GetOutlierDetection(), pl.GetLoadBalancer())
		}
	}
	policy(snapshot.P("spec", "trafficPolicy"), dr.GetTrafficPolicy())
	for i, s := range dr.GetSubsets() {
		policy(snapshot.P("spec", "subsets", i, "trafficPolicy"), s.GetTrafficPolicy())
	}
	return out
}

// rbacKinds are the rbac.istio.io kinds Istio removed in 1.6: nothing
// reads them since AuthorizationPolicy replaced them.
var rbacKinds = []schema.GroupKind{
	{Group: "rbac.istio.io", Kind: "ClusterRbacConfig"}, {Group: "rbac.istio.io", Kind: "RbacConfig"},
	{Group: "rbac.istio.io", Kind: "ServiceRole"}, {Group: "rbac.istio.io", Kind: "ServiceRoleBinding"},
}

// lightstepProviders names the MeshConfig extension providers of the
// Lightstep type (deprecated: Lightstep accepts OpenTelemetry).
func lightstepProviders(m *facts.Mesh) map[string]bool {
	out := map[string]bool{}
	for _, ep := range m.Config.GetExtensionProviders() {
		//lint:ignore SA1019 finding uses of the deprecated provider is the point
		if ep.GetLightstep() != nil {
			out[ep.GetName()] = true
		}
	}
	return out
}

// DeprecatedField: a deprecated field is in use.
var DeprecatedField = &analysis.Analyzer{
	Code:     "MD012",
	Name:     "istio-deprecated-field",
	Severity: analysis.Warning,
	Summary:  "An Istio object uses a field, a kind or a telemetry provider Istio marks deprecated or has removed; it may stop working (or already does nothing).",
	Doc:      doc("MD012"),
	Inputs: []analysis.Input{analysis.Kinds(append([]schema.GroupKind{snapshot.KindVirtualService, snapshot.KindDestinationRule,
		snapshot.KindTelemetry, snapshot.KindCRD}, rbacKinds...)...)},
	Reads: map[schema.GroupKind][]string{snapshot.KindVirtualService: {"spec"}, snapshot.KindDestinationRule: {"spec"},
		snapshot.KindTelemetry: {"spec.tracing"}},
	Requires: []*analysis.Fact{facts.MeshConfig},
	Run: func(p *analysis.Pass) error {
		report := func(o *snapshot.Object, uses []deprecatedUse) {
			for _, u := range uses {
				p.Report(analysis.Finding{
					Subject:   o.Key,
					Message:   fmt.Sprintf("%s sets the deprecated %s (%s); it is %s.", o.Ref(), u.field, u.path.String(), u.effect),
					Locations: []analysis.Location{analysis.LocationOf(o, u.path)},
					Evidence:  []string{fmt.Sprintf("%s: %s", u.path.String(), u.value)},
					Remedy:    fmt.Sprintf("Use %s instead of %s.", u.repl, u.field),
					Key:       u.path.String(),
				})
			}
		}
		for _, o := range p.Snapshot.List(snapshot.KindVirtualService) {
			if vs := virtualService(o); vs != nil {
				report(o, vsDeprecations(vs))
			}
		}
		for _, o := range p.Snapshot.List(snapshot.KindDestinationRule) {
			if dr, ok := o.Typed.(*networkingv1.DestinationRule); ok {
				report(o, drDeprecations(&dr.Spec))
			}
		}
		removed := func(o *snapshot.Object, what string, remedy string) {
			p.Report(analysis.Finding{
				Subject:   o.Key,
				Message:   fmt.Sprintf("%s is %s, removed in Istio 1.6: nothing reads it, so whatever access rules it was meant to set are not in force.", o.Ref(), what),
				Locations: []analysis.Location{analysis.LocationOf(o, nil)},
				Evidence:  []string{fmt.Sprintf("%s %s", o.Key.GroupKind().String(), o.Key.Name)},
				Remedy:    remedy,
				Key:       o.Key.Name,
			})
		}
		for _, gk := range rbacKinds {
			for _, o := range p.Snapshot.List(gk) {
				removed(o, "a "+gk.Kind+" of the rbac.istio.io API", "Express the rule as an AuthorizationPolicy (security.istio.io), then delete the "+gk.Kind+".")
			}
		}
		for _, o := range p.Snapshot.List(snapshot.KindCRD) {
			if strings.HasSuffix(o.Key.Name, ".rbac.istio.io") {
				removed(o, "the definition of an rbac.istio.io kind", "Move any remaining objects of it to AuthorizationPolicy, then `kubectl delete crd "+o.Key.Name+"`.")
			}
		}
		if ls := lightstepProviders(p.ResultOf(facts.MeshConfig).(*facts.Mesh)); len(ls) > 0 {
			for _, o := range p.Snapshot.List(snapshot.KindTelemetry) {
				t := telemetrySpec(o)
				for i, tr := range t.GetTracing() {
					for j, pr := range tr.GetProviders() {
						if !ls[pr.GetName()] {
							continue
						}
						at := snapshot.P("spec", "tracing", i, "providers", j, "name")
						p.Report(analysis.Finding{
							Subject:   o.Key,
							Message:   fmt.Sprintf("%s sends traces to %q, a Lightstep extension provider: Istio deprecated the Lightstep provider type (Lightstep ingests OpenTelemetry), and a later release removes it.", o.Ref(), pr.GetName()),
							Locations: []analysis.Location{analysis.LocationOf(o, at)},
							Evidence:  []string{fmt.Sprintf("%s: %s", at.String(), pr.GetName()), fmt.Sprintf("mesh config extensionProviders: %s is of type lightstep", pr.GetName())},
							Remedy:    fmt.Sprintf("Define an `opentelemetry` extension provider for Lightstep's OTLP endpoint in the mesh config and point the Telemetry at it instead of %s.", pr.GetName()),
							Key:       at.String(),
						})
					}
				}
			}
		}
		return nil
	},
}
