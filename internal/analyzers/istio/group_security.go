package istio

import "github.com/meshdoctor/meshdoctor/internal/analysis"

// securityChecks: AuthorizationPolicy, RequestAuthentication, Sidecar and policy scope (MD303–MD329).
var securityChecks = []*analysis.Analyzer{
	PolicySelectorNoWorkload, AuthzSourceNotFound, AuthzPolicyWithoutRules, AuthzIdentityWithoutMTLS,
	AuthzJWTWithoutRequestAuthN, JWTClaimRouteWithoutRequestAuthN, RequestAuthJWTRule, JWKSFetchUnrestricted,
	SidecarConflictingSelectors, SidecarMultipleDefaults, SidecarEgressHostNotFound, SidecarOnAmbient,
	SelectorOnK8sGateway, DRIstioMutualToProxyless, AutoMTLSOffPlaintextToStrict, AuthzMethodNeverMatches,
	SidecarRootSelector, PeerAuthConflictingSelectors, PeerAuthMultipleDefaults, // Kiali parity (kiali_scope.go)
	WorkloadGroupSANotFound,                        // Kiali parity (kiali_workloadgroups.go)
	AmbientL7PolicyNoWaypoint, UseWaypointNotFound, // ambient waypoints (ambient_*.go)
}
