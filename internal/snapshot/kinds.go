package snapshot

import "k8s.io/apimachinery/pkg/runtime/schema"

// Group-kinds analyzers refer to. Versions do not matter for identity.
var (
	KindPod         = schema.GroupKind{Kind: "Pod"}
	KindService     = schema.GroupKind{Kind: "Service"}
	KindConfigMap   = schema.GroupKind{Kind: "ConfigMap"}
	KindSecret      = schema.GroupKind{Kind: "Secret"}
	KindNamespace   = schema.GroupKind{Kind: "Namespace"}
	KindNode        = schema.GroupKind{Kind: "Node"}
	KindDeployment  = schema.GroupKind{Group: "apps", Kind: "Deployment"}
	KindDaemonSet   = schema.GroupKind{Group: "apps", Kind: "DaemonSet"}
	KindStatefulSet = schema.GroupKind{Group: "apps", Kind: "StatefulSet"}
	KindReplicaSet  = schema.GroupKind{Group: "apps", Kind: "ReplicaSet"}
	KindJob         = schema.GroupKind{Group: "batch", Kind: "Job"}
	KindCronJob     = schema.GroupKind{Group: "batch", Kind: "CronJob"}

	KindVirtualService  = schema.GroupKind{Group: "networking.istio.io", Kind: "VirtualService"}
	KindDestinationRule = schema.GroupKind{Group: "networking.istio.io", Kind: "DestinationRule"}
	KindGateway         = schema.GroupKind{Group: "networking.istio.io", Kind: "Gateway"}
	KindServiceEntry    = schema.GroupKind{Group: "networking.istio.io", Kind: "ServiceEntry"}
	KindSidecar         = schema.GroupKind{Group: "networking.istio.io", Kind: "Sidecar"}
	KindEnvoyFilter     = schema.GroupKind{Group: "networking.istio.io", Kind: "EnvoyFilter"}
	KindPeerAuth        = schema.GroupKind{Group: "security.istio.io", Kind: "PeerAuthentication"}
	KindAuthzPolicy     = schema.GroupKind{Group: "security.istio.io", Kind: "AuthorizationPolicy"}
	KindRequestAuth     = schema.GroupKind{Group: "security.istio.io", Kind: "RequestAuthentication"}
	KindWorkloadEntry   = schema.GroupKind{Group: "networking.istio.io", Kind: "WorkloadEntry"}
	KindWorkloadGroup   = schema.GroupKind{Group: "networking.istio.io", Kind: "WorkloadGroup"}
	KindProxyConfig     = schema.GroupKind{Group: "networking.istio.io", Kind: "ProxyConfig"}
	KindTelemetry       = schema.GroupKind{Group: "telemetry.istio.io", Kind: "Telemetry"}
	KindWasmPlugin      = schema.GroupKind{Group: "extensions.istio.io", Kind: "WasmPlugin"}
	KindTrafficExt      = schema.GroupKind{Group: "extensions.istio.io", Kind: "TrafficExtension"}

	KindMutatingWebhook   = schema.GroupKind{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration"}
	KindValidatingWebhook = schema.GroupKind{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"}
	// CustomResourceDefinitions and Gateway API kinds are not in client-go's
	// scheme: they decode as *unstructured.Unstructured.
	KindCRD        = schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}
	KindK8sGateway = schema.GroupKind{Group: "gateway.networking.k8s.io", Kind: "Gateway"}
	KindHTTPRoute  = schema.GroupKind{Group: "gateway.networking.k8s.io", Kind: "HTTPRoute"}
	KindGRPCRoute  = schema.GroupKind{Group: "gateway.networking.k8s.io", Kind: "GRPCRoute"}
)

// WorkloadKinds are the kinds that carry a pod spec.
var WorkloadKinds = []schema.GroupKind{KindPod, KindDeployment, KindDaemonSet, KindStatefulSet, KindReplicaSet, KindJob, KindCronJob}

// KindServiceAccount identifies workload identities (AuthorizationPolicy principals).
var KindServiceAccount = schema.GroupKind{Kind: "ServiceAccount"}
