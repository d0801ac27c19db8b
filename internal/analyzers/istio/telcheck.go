package istio

import (
	"fmt"
	"sort"
	"strings"

	telv1alpha1 "istio.io/api/telemetry/v1alpha1"
	telemetryv1 "istio.io/client-go/pkg/apis/telemetry/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/facts"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

func telemetrySpec(o *snapshot.Object) *telv1alpha1.Telemetry {
	if t, ok := o.Typed.(*telemetryv1.Telemetry); ok {
		return &t.Spec
	}
	return nil
}

// validateTelemetryObj follows validation.ValidateTelemetry.
func validateTelemetryObj(s issueSink) {
	t := telemetrySpec(s.obj)
	if t == nil {
		return
	}
	spec := snapshot.P("spec")
	checkPolicyTarget(s, spec, t.GetSelector(), t.GetTargetRef(), t.GetTargetRefs(), "Telemetry")
	providers := func(at snapshot.Path, ps []*telv1alpha1.ProviderRef, up string) {
		for i, p := range ps {
			if p.GetName() == "" {
				s.err(at.Child("providers", i), "provider-name", "validateTelemetryProviders", "providers.name may not be empty", "name: \"\"", "Name a provider: an extensionProviders entry of MeshConfig, or a built-in one (envoy, prometheus).")
				return
			}
		}
	}
	for i, m := range t.GetMetrics() {
		at := spec.Child("metrics", i)
		providers(at, m.GetProviders(), "validateTelemetryMetrics")
		for j, o := range m.GetOverrides() {
			oat := at.Child("overrides", j)
			for _, name := range sortedKeys(o.GetTagOverrides()) {
				to := o.GetTagOverrides()[name]
				tat := oat.Child("tagOverrides", name)
				switch {
				case to.GetOperation() == telv1alpha1.MetricsOverrides_TagOverride_UPSERT && to.GetValue() == "":
					s.err(tat, "tag-upsert", "validateTelemetryMetrics", fmt.Sprintf("tag override %q upserts without a value", name), "operation UPSERT, value empty", "Give the value expression, e.g. value: request.host.")
				case to.GetOperation() == telv1alpha1.MetricsOverrides_TagOverride_REMOVE && to.GetValue() != "":
					s.err(tat, "tag-remove", "validateTelemetryMetrics", fmt.Sprintf("tag override %q removes the tag but sets a value", name), to.GetValue(), "Remove value, or use operation UPSERT.")
				}
			}
			if mm, ok := o.GetMatch().GetMetricMatch().(*telv1alpha1.MetricSelector_CustomMetric); ok && mm.CustomMetric == "" {
				s.err(oat.Child("match", "customMetric"), "custom-metric", "validateTelemetryMetrics", "customMetric may not be empty", `""`, "Name the metric.")
			}
		}
	}
	if len(t.GetTracing()) > 1 {
		s.warn(spec.Child("tracing"), "tracing-multiple", "validateTelemetryTracing", "several tracing entries are not supported: only the first is used", fmt.Sprintf("%d entries", len(t.GetTracing())), "Keep one tracing entry.")
	}
	for i, tr := range t.GetTracing() {
		at := spec.Child("tracing", i)
		if len(tr.GetProviders()) > 1 {
			s.warn(at.Child("providers"), "tracing-providers", "validateTelemetryTracing", "several tracing providers are not supported: only one is used", fmt.Sprintf("%d providers", len(tr.GetProviders())), "Keep one tracing provider.")
		}
		providers(at, tr.GetProviders(), "validateTelemetryTracing")
		if v := tr.GetRandomSamplingPercentage().GetValue(); v < 0 || v > 100 {
			s.err(at.Child("randomSamplingPercentage"), "sampling", "validateTelemetryTracing", fmt.Sprintf("randomSamplingPercentage %g is outside 0–100", v), fmt.Sprint(v), "Use a percentage between 0 and 100.")
		}
	}
	for i, l := range t.GetAccessLogging() {
		providers(spec.Child("accessLogging", i), l.GetProviders(), "validateTelemetryAccessLogging")
	}
}

var telemetryInput = analysis.Kinds(snapshot.KindTelemetry)

// givenMesh returns the mesh configuration if the input gave one (an istio
// ConfigMap or --mesh-config). Otherwise the configuration is Istio's
// defaults, which say nothing of the user's providers: givenMesh notes that
// the unknown settings could not be checked and returns nil.
func givenMesh(p *analysis.Pass, unknown string) *facts.Mesh {
	m := p.ResultOf(facts.MeshConfig).(*facts.Mesh)
	if m.Source == "Istio defaults" {
		p.NotChecked("the input holds no mesh configuration (istio ConfigMap or --mesh-config), so the %s are unknown", unknown)
		return nil
	}
	return m
}

// builtinProviders are the extension providers istiod defines itself and
// keeps next to the user's (pkg/config/mesh DefaultMeshConfig).
var builtinProviders = map[string]bool{"envoy": true, "prometheus": true, "stackdriver": true}

// TelemetryEmptyProviders: an accessLogging entry relies on default
// providers the mesh does not define.
var TelemetryEmptyProviders = &analysis.Analyzer{
	Code:     "MD250",
	Name:     "telemetry-no-default-access-log-provider",
	Severity: analysis.Warning,
	Summary:  "A Telemetry accessLogging entry names no provider and MeshConfig defines no default access-log provider, so the entry does nothing.",
	Doc:      doc("MD250"),
	Inputs:   []analysis.Input{telemetryInput},
	Reads:    map[schema.GroupKind][]string{snapshot.KindTelemetry: {"spec"}},
	Requires: []*analysis.Fact{facts.MeshConfig},
	Run: func(p *analysis.Pass) error {
		mesh := givenMesh(p, "default access-log providers")
		if mesh == nil {
			return nil
		}
		if len(mesh.Config.GetDefaultProviders().GetAccessLogging()) > 0 {
			return nil
		}
		for _, o := range p.Snapshot.List(snapshot.KindTelemetry) {
			t := telemetrySpec(o)
			for i, l := range t.GetAccessLogging() {
				// An entry that disables logging needs no provider.
				if len(l.GetProviders()) > 0 || l.GetDisabled().GetValue() {
					continue
				}
				at := snapshot.P("spec", "accessLogging", i)
				p.Report(analysis.Finding{
					Subject:   o.Key,
					Message:   fmt.Sprintf("%s accessLogging[%d] names no provider, and the mesh configuration (%s) has no defaultProviders.accessLogging: no access log is written for the workloads it selects.", o.Ref(), i, mesh.Source),
					Locations: []analysis.Location{analysis.LocationOf(o, at)},
					Evidence:  []string{fmt.Sprintf("accessLogging[%d].providers: []", i), "meshConfig.defaultProviders.accessLogging: [] (" + mesh.Source + ")"},
					Remedy:    "Name the provider in the entry (providers: [{name: envoy}]) or set meshConfig.defaultProviders.accessLogging: [envoy].",
					Related:   meshRelated(mesh),
					Key:       at.String(),
				})
			}
		}
		return nil
	},
}

func meshRelated(m *facts.Mesh) []analysis.Related {
	if m.ConfigMap == nil {
		return nil
	}
	return []analysis.Related{analysis.RelatedOf(m.ConfigMap, "the mesh configuration")}
}

// TelemetryUnknownProvider: a Telemetry names a provider the mesh does not
// define.
var TelemetryUnknownProvider = &analysis.Analyzer{
	Code:     "MD253",
	Name:     "telemetry-unknown-provider",
	Severity: analysis.Warning,
	Summary:  "A Telemetry names a provider that MeshConfig extensionProviders does not define, so that part of the Telemetry does nothing.",
	Doc:      doc("MD253"),
	Inputs:   []analysis.Input{telemetryInput},
	Reads:    map[schema.GroupKind][]string{snapshot.KindTelemetry: {"spec"}},
	Requires: []*analysis.Fact{facts.MeshConfig},
	Run: func(p *analysis.Pass) error {
		mesh := givenMesh(p, "extension providers")
		if mesh == nil {
			return nil
		}
		defined := map[string]bool{}
		var names []string
		for _, ep := range mesh.Config.GetExtensionProviders() {
			defined[ep.GetName()] = true
			names = append(names, ep.GetName())
		}
		for n := range builtinProviders {
			if !defined[n] {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		for _, o := range p.Snapshot.List(snapshot.KindTelemetry) {
			t := telemetrySpec(o)
			check := func(at snapshot.Path, what string, ps []*telv1alpha1.ProviderRef) {
				for i, pr := range ps {
					n := pr.GetName()
					if n == "" || defined[n] || builtinProviders[n] {
						continue
					}
					pat := at.Child("providers", i, "name")
					p.Report(analysis.Finding{
						Subject:   o.Key,
						Message:   fmt.Sprintf("%s %s names provider %q, which the mesh configuration (%s) does not define: istiod skips it, so this %s is not produced.", o.Ref(), at.String()[1:], n, mesh.Source, what),
						Locations: []analysis.Location{analysis.LocationOf(o, pat)},
						Evidence:  []string{fmt.Sprintf("provider %q", n), "defined providers: " + strings.Join(names, ", ")},
						Remedy:    fmt.Sprintf("Use one of the defined providers (%s), or add an extensionProviders entry named %q to the mesh configuration.", strings.Join(names, ", "), n),
						Related:   meshRelated(mesh),
						Key:       pat.String(),
					})
				}
			}
			for i, m := range t.GetMetrics() {
				check(snapshot.P("spec", "metrics", i), "metrics", m.GetProviders())
			}
			for i, tr := range t.GetTracing() {
				check(snapshot.P("spec", "tracing", i), "tracing", tr.GetProviders())
			}
			for i, l := range t.GetAccessLogging() {
				check(snapshot.P("spec", "accessLogging", i), "access logging", l.GetProviders())
			}
		}
		return nil
	},
}

// namespaceWideTelemetry: no selector and no targetRef(s).
func namespaceWideTelemetry(t *telv1alpha1.Telemetry) bool {
	return t.GetSelector() == nil && t.GetTargetRef() == nil && len(t.GetTargetRefs()) == 0
}

// objectNames lists the names of objs in their order. The Telemetry
// conflict checks name the whole set in messages and key findings by it.
func objectNames(objs []*snapshot.Object) []string {
	var names []string
	for _, o := range objs {
		names = append(names, o.Key.Name)
	}
	return names
}

// othersRelated relates a finding on self to every other object of its
// conflicting set, in set order, each with the same why.
func othersRelated(set []*snapshot.Object, self *snapshot.Object, why string) []analysis.Related {
	var rel []analysis.Related
	for _, o := range set {
		if o != self {
			rel = append(rel, analysis.RelatedOf(o, why))
		}
	}
	return rel
}

// TelemetryConflictingSelectors: several Telemetries select one workload.
var TelemetryConflictingSelectors = &analysis.Analyzer{
	Code:     "MD251",
	Name:     "telemetry-conflicting-selectors",
	Severity: analysis.Warning,
	Summary:  "Several Telemetries of a namespace select the same workload; istiod applies only one of them to it.",
	Doc:      doc("MD251"),
	Inputs:   []analysis.Input{telemetryInput},
	Reads: mergeReads(map[schema.GroupKind][]string{snapshot.KindTelemetry: {"spec"}, snapshot.KindPod: {}},
		templateReads("metadata.labels")),
	Run: func(p *analysis.Pass) error {
		// Per workload (pod, or pod template when the namespace has no
		// pods in the input), the Telemetries selecting it, in input order.
		selected := map[*snapshot.Object][]*snapshot.Object{}
		var order []*snapshot.Object
		for _, o := range p.Snapshot.List(snapshot.KindTelemetry) {
			t := telemetrySpec(o)
			ml := t.GetSelector().GetMatchLabels()
			if len(ml) == 0 {
				continue
			}
			s := labels.SelectorFromSet(ml)
			ns := o.Key.Namespace
			var objs []*snapshot.Object
			if p.Snapshot.Covers(snapshot.KindPod, ns) {
				objs = p.Snapshot.SelectPods(ns, s)
			} else {
				objs = p.Snapshot.SelectWorkloads(ns, s)
			}
			for _, w := range objs {
				if len(selected[w]) == 0 {
					order = append(order, w)
				}
				selected[w] = append(selected[w], o)
			}
		}
		// One finding per Telemetry and conflicting set, with the
		// workloads it concerns.
		type conflict struct {
			tels      []*snapshot.Object
			workloads []string
		}
		bySet := map[string]*conflict{}
		var sets []string
		for _, w := range order {
			ts := selected[w]
			if len(ts) < 2 {
				continue
			}
			k := strings.Join(objectNames(ts), ",")
			c := bySet[k]
			if c == nil {
				c = &conflict{tels: ts}
				bySet[k] = c
				sets = append(sets, k)
			}
			c.workloads = append(c.workloads, w.Ref())
		}
		for _, k := range sets {
			c := bySet[k]
			names := objectNames(c.tels)
			for _, t := range c.tels {
				rel := othersRelated(c.tels, t, "also selects the workload")
				shown := analysis.FirstN(c.workloads, 3)
				p.Report(analysis.Finding{
					Subject:   t.Key,
					Message:   fmt.Sprintf("%s and %d other Telemetries of namespace %s (%s) select the same workloads (%s): istiod applies only one Telemetry per workload, so the settings of the others are silently ignored for them.", t.Ref(), len(c.tels)-1, t.Key.Namespace, strings.Join(names, ", "), strings.Join(shown, ", ")),
					Locations: []analysis.Location{analysis.LocationOf(t, snapshot.P("spec", "selector"))},
					Evidence:  []string{"selected by " + strings.Join(names, ", ") + ": " + strings.Join(shown, ", ")},
					Remedy:    "Merge the Telemetries into one per workload, or make their selectors disjoint.",
					Related:   rel,
					Key:       k,
				})
			}
		}
		return nil
	},
}

// TelemetryMultipleDefaults: several namespace-wide Telemetries.
var TelemetryMultipleDefaults = &analysis.Analyzer{
	Code:     "MD252",
	Name:     "telemetry-multiple-namespace-defaults",
	Severity: analysis.Warning,
	Summary:  "A namespace holds several Telemetries without selector or targetRefs; istiod uses only one of them as the namespace default.",
	Doc:      doc("MD252"),
	Inputs:   []analysis.Input{telemetryInput},
	Reads:    map[schema.GroupKind][]string{snapshot.KindTelemetry: {"spec"}},
	Requires: []*analysis.Fact{facts.MeshConfig},
	Run: func(p *analysis.Pass) error {
		root := p.ResultOf(facts.MeshConfig).(*facts.Mesh).RootNamespace()
		byNS := map[string][]*snapshot.Object{}
		var nss []string
		for _, o := range p.Snapshot.List(snapshot.KindTelemetry) {
			if !namespaceWideTelemetry(telemetrySpec(o)) {
				continue
			}
			ns := o.Key.Namespace
			if len(byNS[ns]) == 0 {
				nss = append(nss, ns)
			}
			byNS[ns] = append(byNS[ns], o)
		}
		for _, ns := range nss {
			ts := byNS[ns]
			if len(ts) < 2 {
				continue
			}
			names := objectNames(ts)
			scope := "namespace " + ns
			if ns == root {
				scope = "the whole mesh (root namespace " + ns + ")"
			}
			for _, t := range ts {
				rel := othersRelated(ts, t, "another default Telemetry of the namespace")
				p.Report(analysis.Finding{
					Subject:   t.Key,
					Message:   fmt.Sprintf("%s is one of %d Telemetries without selector or targetRefs in namespace %s (%s): only one of them configures %s, and the settings of the others are silently ignored.", t.Ref(), len(ts), ns, strings.Join(names, ", "), scope),
					Locations: []analysis.Location{analysis.LocationOf(t, snapshot.P("metadata", "name"))},
					Evidence:  []string{"namespace-wide Telemetries in " + ns + ": " + strings.Join(names, ", ")},
					Remedy:    "Merge them into a single Telemetry for the namespace, or give the workload-specific ones a selector.",
					Related:   rel,
					Key:       "default-telemetry",
				})
			}
		}
		return nil
	},
}
