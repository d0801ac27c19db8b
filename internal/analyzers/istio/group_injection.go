package istio

import "github.com/meshdoctor/meshdoctor/internal/analysis"

// injectionChecks: Injection, proxy versions, annotations and webhooks (MD105–MD129).
var injectionChecks = []*analysis.Analyzer{
	NamespaceNotInjected, PodMissingProxy, NamespaceMultipleInjectionLabels, NamespaceInjectedByDefault,
	ImageAutoWithoutInjection, ProxyImageOutdated, ProxyControlPlaneSkew, ProxyVersionsMixed,
	AnnotationMisplaced, AnnotationUnknown, AnnotationInvalid, AnnotationDeprecated,
	WebhookServiceMissing, WebhookInjectionOverlap, NegativeCondition, GatewayAPICRDTooOld,
}
