package istio

import "github.com/meshdoctor/meshdoctor/internal/analysis"

// Analyzers returns the Istio configuration checks. Each family of checks
// lists its analyzers in its own file (the group_*.go files).
func Analyzers() []*analysis.Analyzer {
	var out []*analysis.Analyzer
	for _, group := range [][]*analysis.Analyzer{
		routingChecks, gatewayChecks, serviceChecks, securityChecks, injectionChecks, schemaChecks,
	} {
		out = append(out, group...)
	}
	return out
}

// routingChecks: VirtualService destinations, gateway binding, EnvoyFilters
// and DestinationRule TLS.
var routingChecks = []*analysis.Analyzer{
	VSHostNotFound, VSSubsetNotFound, SubsetNoPods,
	VSGatewayNotFound, VSHostNotInGateway, GatewayRouteMismatch,
	GatewaySelectorNoWorkload, GatewayCredential,
	VSDestinationPort, VSFaultWithRetries, EnvoyFilterRelative, EnvoyFilterOpMisuse, EnvoyFilterMergeUntyped,
	DRTLSConflictsMTLS, DRNoCACertificates,
	VSRepeatedDestination, DRSubsetWithoutLabels, DRMergeIgnored, ExportToNamespaceNotFound, // Kiali parity (kiali_*.go)
	AmbientL7RouteNoWaypoint,
}
