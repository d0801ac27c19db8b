package istio

import "github.com/meshdoctor/meshdoctor/internal/analysis"

// gatewayChecks: Gateway and VirtualService host conflicts, certificates and ports (MD213–MD229).
var gatewayChecks = []*analysis.Analyzer{
	MeshVSHostConflict, IngressBypassesSubsets, GatewayDuplicateCertificate,
	GatewayServerConflict, GatewayPortNotOnService, VSInternalGatewayRef,
	VSRouteWeights, GatewayVSMergeShadow, GatewaySNIFromLBWithoutSNI,
	K8sGatewayClassNotFound, ReferenceGrantNamespaceNotFound, // Kiali parity (kiali_gatewayapi.go)
}
