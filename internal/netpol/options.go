package netpol

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// Engine is the implementation that enforces policy. The engines differ in
// how they identify a peer (by IP, or by Cilium identity) and in which
// policy kinds they read.
type Engine string

const (
	// EngineKubernetes is a generic NetworkPolicy implementation that
	// matches peers by IP (Calico, kube-router, Antrea, ...): ipBlock
	// matches any address in range, pod IPs and node IPs included.
	// Cilium policies are ignored (nothing enforces them).
	EngineKubernetes Engine = "kubernetes"
	// EngineCilium evaluates NetworkPolicy, CiliumNetworkPolicy and
	// CiliumClusterwideNetworkPolicy together as Cilium does: peers are
	// identities, and CIDR rules (ipBlock included) match only addresses
	// Cilium does not know as endpoints (world), and node addresses only
	// with CIDRMatchNodes.
	EngineCilium Engine = "cilium"
)

// Cilium policy enforcement modes (agent flag enable-policy, Helm
// policyEnforcementMode).
const (
	EnforceDefault = "default"
	EnforceAlways  = "always"
	EnforceNever   = "never"
)

// Options configure an Evaluator. The zero value is a generic Kubernetes
// engine.
type Options struct {
	// Engine defaults to EngineKubernetes.
	Engine Engine
	// CiliumEnforcement is the Cilium enforcement mode: "default" (also
	// ""), "always" or "never".
	CiliumEnforcement string
	// CIDRMatchNodes is Cilium's policy-cidr-match-mode=nodes: CIDR rules
	// and ipBlock then also match the host, remote-node and kube-apiserver
	// identities by address.
	CIDRMatchNodes bool
	// ClusterName is Cilium's cluster-name (the cluster entity selects
	// pods with it); "" means "default".
	ClusterName string
	// DualStack makes CiliumView classify unknown addresses as world-ipv4
	// or world-ipv6 instead of world, as Cilium does when both families
	// are enabled.
	DualStack bool
	// HostRequiresPolicy is Cilium's allow-localhost=policy: traffic from
	// the local host (kubelet probes) then needs a rule like any other
	// instead of being allowed into local endpoints.
	HostRequiresPolicy bool
}

func (o Options) normalized() (Options, error) {
	switch o.Engine {
	case "":
		o.Engine = EngineKubernetes
	case EngineKubernetes, EngineCilium:
	default:
		return o, fmt.Errorf("netpol: unknown engine %q (want %q or %q)", o.Engine, EngineKubernetes, EngineCilium)
	}
	switch o.CiliumEnforcement {
	case "":
		o.CiliumEnforcement = EnforceDefault
	case EnforceDefault, EnforceAlways, EnforceNever:
	default:
		return o, fmt.Errorf("netpol: unknown Cilium policy enforcement mode %q (want default, always or never)", o.CiliumEnforcement)
	}
	if o.ClusterName == "" {
		o.ClusterName = "default"
	}
	return o, nil
}

// ciliumConfigName is the agent's ConfigMap in a standard install.
const ciliumConfigName = "cilium-config"

// DetectOptions derives Options from the snapshot: the Cilium engine when
// the cilium-config ConfigMap (kube-system, or the only one anywhere) or
// any Cilium policy or CiliumNode is present, with the mode, CIDR match
// mode, cluster name, address families and allow-localhost read from the
// ConfigMap. source says what the options rest on, for evidence.
func DetectOptions(s *snapshot.Snapshot) (opt Options, source string) {
	cm := CiliumConfig(s)
	if cm == nil {
		for _, gk := range []struct {
			has  bool
			what string
		}{
			{s.Has(KindCiliumNetworkPolicy), "CiliumNetworkPolicy objects"},
			{s.Has(KindCiliumClusterwideNetworkPolicy), "CiliumClusterwideNetworkPolicy objects"},
			{s.Has(KindCiliumNode), "CiliumNode objects"},
		} {
			if gk.has {
				return Options{Engine: EngineCilium}, "Cilium assumed from " + gk.what + "; cilium-config not in the input, Cilium defaults used"
			}
		}
		return Options{Engine: EngineKubernetes}, "no Cilium configuration or objects: a generic NetworkPolicy engine assumed"
	}
	data := cm.Typed.(*corev1.ConfigMap).Data
	opt = Options{
		Engine:             EngineCilium,
		CiliumEnforcement:  strings.TrimSpace(data["enable-policy"]),
		CIDRMatchNodes:     strings.Contains(data["policy-cidr-match-mode"], "nodes"),
		ClusterName:        strings.TrimSpace(data["cluster-name"]),
		DualStack:          data["enable-ipv4"] == "true" && data["enable-ipv6"] == "true",
		HostRequiresPolicy: strings.TrimSpace(data["allow-localhost"]) == "policy",
	}
	if _, err := opt.normalized(); err != nil {
		opt.CiliumEnforcement = EnforceDefault
		return opt, fmt.Sprintf("ConfigMap %s (enable-policy %q not understood, default assumed)", cm.Ref(), data["enable-policy"])
	}
	return opt, "ConfigMap " + cm.Ref()
}

// CiliumConfig returns the cilium-config ConfigMap DetectOptions reads:
// the one in kube-system, else the only one in the input; nil when there is
// none or several (two installs, and no way to tell which one enforces).
// Checks whose answer hinges on one setting use it to tell "set to the
// default" from "not in the input".
func CiliumConfig(s *snapshot.Snapshot) *snapshot.Object {
	if cm := s.Get(snapshot.KindConfigMap, "kube-system", ciliumConfigName); cm != nil {
		if _, ok := cm.Typed.(*corev1.ConfigMap); ok {
			return cm
		}
	}
	var found *snapshot.Object
	for _, ns := range s.Namespaces() {
		cm := s.Get(snapshot.KindConfigMap, ns, ciliumConfigName)
		if cm == nil {
			continue
		}
		if _, ok := cm.Typed.(*corev1.ConfigMap); !ok {
			continue
		}
		if found != nil {
			return nil // two installs: do not guess
		}
		found = cm
	}
	return found
}
