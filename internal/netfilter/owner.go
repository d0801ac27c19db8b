package netfilter

import "strings"

// Owner is the component that wrote a chain or rule.
type Owner uint8

// Owners. OwnerBuiltin marks the kernel's hook chains, which every
// component appends to; their rules each have their own owner.
const (
	OwnerUnknown Owner = iota
	OwnerBuiltin
	OwnerIstioSidecar
	OwnerIstioAmbientPod
	OwnerIstioAmbientHost
	OwnerMirrord
	OwnerCilium
	OwnerKubeProxy
	OwnerCalico
	OwnerFlannel
	OwnerLinkerd
	OwnerKuma
)

var ownerNames = [...]string{
	OwnerUnknown:          "unknown",
	OwnerBuiltin:          "builtin",
	OwnerIstioSidecar:     "istio-sidecar",
	OwnerIstioAmbientPod:  "istio-ambient-pod",
	OwnerIstioAmbientHost: "istio-ambient-host",
	OwnerMirrord:          "mirrord",
	OwnerCilium:           "cilium",
	OwnerKubeProxy:        "kube-proxy",
	OwnerCalico:           "calico",
	OwnerFlannel:          "flannel",
	OwnerLinkerd:          "linkerd",
	OwnerKuma:             "kuma",
}

// String returns the owner's stable kebab-case name.
func (o Owner) String() string {
	if int(o) < len(ownerNames) {
		return ownerNames[o]
	}
	return "unknown"
}

// IsComponent reports whether o names a component (not unknown or builtin).
func (o Owner) IsComponent() bool { return o > OwnerBuiltin && int(o) < len(ownerNames) }

// IsIstio reports whether o is one of Istio's data-plane modes.
func (o Owner) IsIstio() bool {
	return o == OwnerIstioSidecar || o == OwnerIstioAmbientPod || o == OwnerIstioAmbientHost
}

// Istio chain names (tools/istio-iptables and cni/pkg/iptables).
const (
	chainIstioOutput = "ISTIO_OUTPUT"
	chainIstioPrert  = "ISTIO_PRERT"
	chainIstioPostrt = "ISTIO_POSTRT"
)

// ChainOwner names the owner of an iptables chain from its name alone.
// It returns OwnerUnknown for names it does not know and for ISTIO_OUTPUT,
// which sidecar and ambient in-pod capture share: there the parsers decide
// from the chain's table, its rules and the rest of the rule set.
func ChainOwner(name string) Owner {
	switch {
	case name == chainIstioPrert:
		return OwnerIstioAmbientPod
	case name == chainIstioPostrt:
		return OwnerIstioAmbientHost
	case name == chainIstioOutput:
		return OwnerUnknown
	case strings.HasPrefix(name, "ISTIO_"):
		// Sidecar chains, and any other ISTIO_ chain from older or newer
		// istio-iptables.
		return OwnerIstioSidecar
	case strings.HasPrefix(name, "ztunnel-"):
		// Node-level ambient redirection of Istio 1.20 and before, which
		// lived in the host netns.
		return OwnerIstioAmbientHost
	case strings.HasPrefix(name, "CILIUM_"), strings.HasPrefix(name, "OLD_CILIUM_"):
		return OwnerCilium
	case strings.HasPrefix(name, "KUBE-"):
		// kube-proxy's chains, plus the few kubelet writes (KUBE-FIREWALL,
		// KUBE-KUBELET-CANARY, KUBE-IPTABLES-HINT): one Kubernetes node owner.
		return OwnerKubeProxy
	case strings.HasPrefix(name, "cali-"):
		return OwnerCalico
	case strings.HasPrefix(name, "FLANNEL-"):
		return OwnerFlannel
	case strings.HasPrefix(name, "PROXY_INIT_"):
		return OwnerLinkerd
	case strings.HasPrefix(name, "KUMA_"):
		return OwnerKuma
	case strings.HasPrefix(name, "MIRRORD_"), strings.HasPrefix(name, "MRD"):
		// MIRRORD_INPUT/OUTPUT/STANDARD/EXCLUDE_FROM_MESH (and the old
		// MIRRORD_INPUT_xxxxx reject chain), MRDIN_/MRDOUT_/MRDSTD_/MRDMSH_<id>,
		// MRD_ROUTE_LOCALNET.
		return OwnerMirrord
	}
	return OwnerUnknown
}

// commentOwner names the owner a rule comment points to, if any.
func commentOwner(c string) Owner {
	switch {
	case c == "":
		return OwnerUnknown
	case strings.HasPrefix(c, "cilium-feeder:"), strings.HasPrefix(c, "cilium:"):
		return OwnerCilium
	case strings.HasPrefix(c, "kubernetes "), strings.HasPrefix(c, "kube-proxy"):
		// "kubernetes service portals", "kubernetes forwarding rules", ...
		return OwnerKubeProxy
	case strings.HasPrefix(c, "cali:"):
		return OwnerCalico
	case strings.HasPrefix(c, "flanneld "):
		return OwnerFlannel
	case strings.HasPrefix(c, "proxy-init/"):
		return OwnerLinkerd
	}
	return OwnerUnknown
}

// nftTableOwner names the owner of a native nft table, for the chains in it
// that no chain-level rule claims.
func nftTableOwner(name string) Owner {
	switch {
	case strings.HasPrefix(name, "istio-ambient-"):
		return OwnerIstioAmbientPod
	case strings.HasPrefix(name, "istio-proxy-"):
		return OwnerIstioSidecar
	case name == "kube-proxy":
		return OwnerKubeProxy
	}
	return OwnerUnknown
}
