package istio

import "github.com/meshdoctor/meshdoctor/internal/analysis"

// Analyzers returns the Istio configuration checks.
func Analyzers() []*analysis.Analyzer {
	return []*analysis.Analyzer{
		VSHostNotFound, VSSubsetNotFound, SubsetNoPods,
		VSGatewayNotFound, VSHostNotInGateway, GatewayRouteMismatch,
		GatewaySelectorNoWorkload, GatewayCredential,
		VSDestinationPort, VSFaultWithRetries, EnvoyFilterRelative, EnvoyFilterOpMisuse,
		DRTLSConflictsMTLS, DRNoCACertificates,
	}
}
