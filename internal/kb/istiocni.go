// Package kb is meshdoctor's knowledge base: facts about mesh and CNI
// releases, Envoy and Cilium vocabularies, shared by analyzers, `explain`
// and the docs.
package kb

import "github.com/meshdoctor/meshdoctor/internal/version"

// IstioCNIEnvFromConfigMap is the release (1.23.0, istio/istio#51050) in
// which the istio-cni DaemonSet stopped listing its settings as env entries
// and started reading them with envFrom from ConfigMap istio-cni-config,
// whose cni_network_config key was removed.
var IstioCNIEnvFromConfigMap = version.MustParse("1.23.0")

// IstioCNINetNSFix is the first istio-cni release whose ambient node agent
// never picks the host netns for a pod (istio/istio#55170, backported to
// 1.24.4; 1.25.0 and later have it): before it, a CRI-O pod's conmon,
// which runs in the host netns, could be taken for the pod (incident a).
var IstioCNINetNSFix = version.MustParse("1.24.4")

// IstioCNILegacyConfigKey is the ConfigMap key pre-1.23 charts read through
// the CNI_NETWORK_CONFIG env entry.
const (
	IstioCNILegacyConfigKey = "cni_network_config"
	IstioCNILegacyConfigEnv = "CNI_NETWORK_CONFIG"
	IstioCNIConfigMap       = "istio-cni-config"
	IstioCNIDaemonSet       = "istio-cni-node"
	IstioCNIContainer       = "install-cni"
)

// IstioCNIEnv122Only are the env entries the 1.22 chart set on the
// install-cni container that 1.23+ charts no longer set (they moved into
// the ConfigMap read by envFrom, or were dropped). On a 1.23+ DaemonSet an
// explicit entry with one of these names is left over from an old install.
var IstioCNIEnv122Only = map[string]bool{
	"CNI_NETWORK_CONFIG": true, "CNI_CONF_NAME": true, "CNI_NET_DIR": true, "CHAINED_CNI_PLUGIN": true,
	"REPAIR_ENABLED": true, "AMBIENT_DNS_CAPTURE": true, "AMBIENT_ENABLED": true, "LOG_LEVEL": true,
	"REPAIR_LABEL_PODS": true, "REPAIR_DELETE_PODS": true, "REPAIR_REPAIR_PODS": true,
	"REPAIR_INIT_CONTAINER_NAME": true, "REPAIR_BROKEN_POD_LABEL_KEY": true, "REPAIR_BROKEN_POD_LABEL_VALUE": true,
}

// InstallerManagers are field managers of tools that install mesh
// components with server-side apply: what they do not own, they never prune.
var InstallerManagers = map[string]string{
	"istio-operator":       "istioctl install / the Istio operator",
	"istioctl":             "istioctl",
	"helm":                 "Helm",
	"argocd-controller":    "Argo CD",
	"kustomize-controller": "Flux",
	"kubectl":              "kubectl apply --server-side",
}

// BenignManagers own fields legitimately alongside an installer: controllers
// and rollout tooling. Their fields are never reported as hand edits.
var BenignManagers = map[string]bool{
	"kube-controller-manager": true, "kube-scheduler": true, "kubelet": true,
	"kubectl-rollout": true, "horizontal-pod-autoscaler": true, "vpa-updater": true, "vpa-recommender": true,
	"cluster-autoscaler": true,
	// Argo CD syncing client-side records Update operations; it prunes by
	// its own rules, so what it owns is not a forgotten hand edit.
	"argocd-controller": true, "argocd-application-controller": true,
}

// HandEditManagers are managers of one-off manual changes.
var HandEditManagers = map[string]string{
	"kubectl-edit": "kubectl edit", "kubectl-client-side-apply": "kubectl apply (client-side)",
	"kubectl-patch": "kubectl patch", "kubectl-set": "kubectl set", "kubectl-replace": "kubectl replace",
	"kubectl-create": "kubectl create", "before-first-apply": "an edit made before the first server-side apply",
	"kubectl-label": "kubectl label", "kubectl-annotate": "kubectl annotate",
}
