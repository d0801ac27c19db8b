package istio

import "github.com/meshdoctor/meshdoctor/internal/analysis"

// schemaChecks: Schema and semantic validation, route reachability, Telemetry and multicluster config (MD010–MD039, MD130–MD139, MD250–MD259).
var schemaChecks = []*analysis.Analyzer{
	SchemaValidationError, SchemaWarning, DeprecatedField, VSUnreachableRule, VSIneffectiveMatch,
	MeshNetworksUnknownRegistry, ExternalControlPlaneConfig, ExternalControlPlaneIP,
	TelemetryEmptyProviders, TelemetryConflictingSelectors, TelemetryMultipleDefaults, TelemetryUnknownProvider,
}
