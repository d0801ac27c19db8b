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
)

// WorkloadKinds are the kinds that carry a pod spec.
var WorkloadKinds = []schema.GroupKind{KindPod, KindDeployment, KindDaemonSet, KindStatefulSet, KindReplicaSet, KindJob, KindCronJob}
