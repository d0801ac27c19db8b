package istio

import "github.com/meshdoctor/meshdoctor/internal/analysis"

// serviceChecks: Service ports, protocols, ServiceEntries and DestinationRule hosts (MD230–MD249).
var serviceChecks = []*analysis.Analyzer{
	ServicePortProtocolUnknown, ExternalNamePortCatchAll, ServerFirstSniffed,
	MultiServiceProtocolConflict, HeadlessHTTPStrict, AppRunsAsProxyUID,
	SEAddressesRequired, SEConflictingProtocol, SEHTTPOnTLSPort, SEDoubleTLS, SEStaticNoEndpoints,
	SETargetPortIgnored,
	DRHostUnknown,
	WorkloadGroupDuplicateLabels, // Kiali parity (kiali_workloadgroups.go)
}
