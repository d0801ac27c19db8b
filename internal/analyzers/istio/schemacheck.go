package istio

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/facts"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// schemaIssue is one violation of Istio's validation rules: an error the
// validating webhook rejects, or a warning it prints and accepts.
type schemaIssue struct {
	Obj     *snapshot.Object
	Path    snapshot.Path
	Warning bool
	// Envoy marks an error Istio's validation lets through but Envoy
	// rejects when istiod pushes it (a NACK).
	Envoy bool
	// Rule is a short stable name of the rule (it feeds the fingerprint).
	Rule    string
	Problem string
	Value   string
	Remedy  string
	// Upstream is the Istio validation function the rule follows.
	Upstream string
	// Severity and Consequence, when set, replace the analyzer's severity
	// and the standard consequence text (rules that depend on the Istio
	// release).
	Severity    analysis.Severity
	Consequence string
}

// schemaIssues is the result of validating every Istio object once; MD010
// reports the errors and MD011 the warnings.
type schemaIssues struct {
	errs, warns []schemaIssue
	// labels caches labelProblem per key and value while the issues are
	// collected: subsets and selectors repeat a few labels thousands of
	// times, and each check is two regular expressions.
	labels map[[2]string]string
}

// labelProblem is labelProblem, remembered.
func (out *schemaIssues) labelProblem(k, v string) string {
	kv := [2]string{k, v}
	if p, ok := out.labels[kv]; ok {
		return p
	}
	if out.labels == nil {
		out.labels = map[[2]string]string{}
	}
	p := labelProblem(k, v)
	out.labels[kv] = p
	return p
}

// issueSink collects the issues of one object.
type issueSink struct {
	obj  *snapshot.Object
	out  *schemaIssues
	vers *facts.Versions
	// consequence, when set, replaces the standard consequence of every
	// issue (configuration istiod validates itself, not the webhook).
	consequence string
}

func (s issueSink) err(at snapshot.Path, rule, upstream, problem, value, remedy string) {
	s.out.errs = append(s.out.errs, schemaIssue{Obj: s.obj, Path: at, Rule: rule, Upstream: upstream, Problem: problem, Value: value, Remedy: remedy, Consequence: s.consequence})
}

// envoyErr records a value Istio accepts but Envoy rejects: the finding
// says so instead of blaming the webhook.
func (s issueSink) envoyErr(at snapshot.Path, rule, upstream, problem, value, remedy string) {
	s.out.errs = append(s.out.errs, schemaIssue{Obj: s.obj, Path: at, Envoy: true, Rule: rule, Upstream: upstream, Problem: problem, Value: value, Remedy: remedy, Consequence: s.consequence})
}

func (s issueSink) warn(at snapshot.Path, rule, upstream, problem, value, remedy string) {
	s.out.warns = append(s.out.warns, schemaIssue{Obj: s.obj, Path: at, Warning: true, Rule: rule, Upstream: upstream, Problem: problem, Value: value, Remedy: remedy, Consequence: s.consequence})
}

// schemaValidators validate one kind each.
var schemaValidators = []struct {
	kind schema.GroupKind
	run  func(issueSink)
}{
	{snapshot.KindVirtualService, validateVirtualServiceObj},
	{snapshot.KindDestinationRule, validateDestinationRuleObj},
	{snapshot.KindGateway, validateGatewayObj},
	{snapshot.KindServiceEntry, validateServiceEntryObj},
	{snapshot.KindSidecar, validateSidecarObj},
	{snapshot.KindEnvoyFilter, validateEnvoyFilterObj},
	{snapshot.KindAuthzPolicy, validateAuthorizationPolicyObj},
	{snapshot.KindPeerAuth, validatePeerAuthenticationObj},
	{snapshot.KindRequestAuth, validateRequestAuthenticationObj},
	{snapshot.KindTelemetry, validateTelemetryObj},
	{snapshot.KindWorkloadEntry, validateWorkloadEntryObj},
	{snapshot.KindWorkloadGroup, validateWorkloadGroupObj},
	{snapshot.KindProxyConfig, validateProxyConfigObj},
	{snapshot.KindWasmPlugin, validateWasmPluginObj},
	{snapshot.KindTrafficExt, validateTrafficExtensionObj},
}

func schemaKinds() []schema.GroupKind {
	out := make([]schema.GroupKind, len(schemaValidators))
	for i, v := range schemaValidators {
		out[i] = v.kind
	}
	return out
}

// schemaReads: the validators read the spec of every kind they check.
var schemaReads = func() map[schema.GroupKind][]string {
	out := map[schema.GroupKind][]string{}
	for _, v := range schemaValidators {
		out[v.kind] = []string{"spec"}
	}
	// meshNetworks of the istio ConfigMap (and facts.MeshConfig's read).
	out[snapshot.KindConfigMap] = []string{"data"}
	return out
}()

// SchemaIssuesFact validates every Istio object once.
var SchemaIssuesFact = &analysis.Fact{
	Name:     "istio-schema-issues",
	Doc:      "Violations of Istio's validation rules (meshdoctor's own subset of pkg/config/validation), per object and field.",
	Reads:    schemaReads,
	Requires: []*analysis.Fact{facts.ComponentVersions},
	Run: func(p *analysis.Pass) (any, error) {
		out := &schemaIssues{}
		vers := p.ResultOf(facts.ComponentVersions).(*facts.Versions)
		for _, v := range schemaValidators {
			for _, o := range p.Snapshot.List(v.kind) {
				v.run(issueSink{obj: o, out: out, vers: vers})
			}
		}
		// The istio ConfigMap istiod reads (not facts.MeshConfig: a mesh
		// key that does not parse must not stop the other schema checks).
		if cm := facts.IstioConfigMap(p.Snapshot); cm != nil {
			validateMeshConfigMap(out, cm)
			validateMeshNetworks(out, cm)
		}
		return out, nil
	},
}

func reportSchemaIssue(p *analysis.Pass, is schemaIssue) {
	field := is.Path.String()
	var consequence string
	switch {
	case is.Warning:
		consequence = "Istio accepts the object but warns: it does not do what it seems to"
	case is.Envoy:
		consequence = "Istio's validation lets it through, but Envoy rejects the route (NACK): the proxies reject the whole route table holding it (every host on that port) and keep the previous version, so neither this change nor any later one to those routes takes effect until it is fixed"
	default:
		consequence = "Istio's validating webhook rejects the object (kubectl apply fails with `admission webhook \"validation.istio.io\" denied the request`), so this configuration is not in force"
	}
	if is.Consequence != "" {
		consequence = is.Consequence
	}
	ev := []string{fmt.Sprintf("%s: %s", field, is.Value)}
	switch {
	case is.Envoy:
		ev = append(ev, "Istio's "+is.Upstream+" accepts it; Envoy's route validation does not")
	case is.Upstream != "":
		ev = append(ev, "rule of Istio's "+is.Upstream)
	}
	p.Report(analysis.Finding{
		Severity:  is.Severity,
		Subject:   is.Obj.Key,
		Message:   fmt.Sprintf("%s %s: %s. %s.", is.Obj.Ref(), field, is.Problem, consequence),
		Locations: []analysis.Location{analysis.LocationOf(is.Obj, is.Path)},
		Evidence:  ev,
		Remedy:    is.Remedy,
		Key:       field + "|" + is.Rule,
	})
}

// SchemaValidationError: the object breaks a rule of Istio's validation.
var SchemaValidationError = &analysis.Analyzer{
	Code:     "MD010",
	Name:     "istio-schema-invalid",
	Severity: analysis.Error,
	Summary:  "An Istio object (or the istio ConfigMap's mesh or meshNetworks key) breaks one of Istio's validation rules, so the validating webhook (for TrafficExtension the API server, for the ConfigMap istiod) rejects it and it is not in force.",
	Doc:      doc("MD010"),
	Inputs:   []analysis.Input{analysis.Kinds(append(schemaKinds(), snapshot.KindConfigMap)...)},
	Reads:    schemaReads,
	Requires: []*analysis.Fact{SchemaIssuesFact},
	Run: func(p *analysis.Pass) error {
		for _, is := range p.ResultOf(SchemaIssuesFact).(*schemaIssues).errs {
			reportSchemaIssue(p, is)
		}
		return nil
	},
}

// SchemaWarning: the object is accepted with one of Istio's validation
// warnings.
var SchemaWarning = &analysis.Analyzer{
	Code:     "MD011",
	Name:     "istio-schema-warning",
	Severity: analysis.Warning,
	Summary:  "An Istio object is accepted with one of Istio's validation warnings: part of it is ignored or behaves differently than written.",
	Doc:      doc("MD011"),
	Inputs:   []analysis.Input{analysis.Kinds(schemaKinds()...)},
	Reads:    schemaReads,
	Requires: []*analysis.Fact{SchemaIssuesFact},
	Run: func(p *analysis.Pass) error {
		for _, is := range p.ResultOf(SchemaIssuesFact).(*schemaIssues).warns {
			reportSchemaIssue(p, is)
		}
		return nil
	},
}
