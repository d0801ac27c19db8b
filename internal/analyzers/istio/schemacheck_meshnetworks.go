package istio

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// meshNetworksConsequence replaces the webhook consequence: meshNetworks
// lives in the istio ConfigMap, which no webhook validates; istiod
// validates it when it loads the mesh networks.
const meshNetworksConsequence = "No webhook checks the istio ConfigMap, so the change is accepted, but istiod's ValidateMeshNetworks rejects the whole meshNetworks configuration when it loads it, so the networks, endpoints and gateways written there do not take effect and cross-network traffic is not routed through the east-west gateways they name"

// validateMeshNetworks follows agent.ValidateMeshNetworks (validateNetwork
// for every network) on the meshNetworks key of the istio ConfigMap. A key that does not parse is left to
// MD130's not-checked note.
func validateMeshNetworks(out *schemaIssues, cm *snapshot.Object) {
	c, ok := cm.Typed.(*corev1.ConfigMap)
	if !ok {
		return
	}
	raw := c.Data["meshNetworks"]
	if strings.TrimSpace(raw) == "" {
		return
	}
	mn, err := parseMeshNetworks(raw)
	if err != nil {
		return
	}
	s := issueSink{obj: cm, out: out, consequence: meshNetworksConsequence}
	add := func(at snapshot.Path, rule, problem, value, remedy string) {
		s.err(at, rule, "validateNetwork", problem, value, remedy)
	}
	root := snapshot.P("data", "meshNetworks", "networks")
	for _, name := range sortedKeys(mn.GetNetworks()) {
		nw := mn.GetNetworks()[name]
		for j, ep := range nw.GetEndpoints() {
			at := root.Child(name, "endpoints", j)
			if cidr := ep.GetFromCidr(); cidr != "" {
				if err := validateIPSubnet(cidr); err != nil {
					add(at.Child("fromCidr"), "network-cidr", fmt.Sprintf("network %q: fromCidr %v", name, err), cidr, "Write an IP address or a CIDR block, e.g. 10.10.0.0/16.")
				}
			}
			if reg := ep.GetFromRegistry(); reg != "" && !isDNS1123Label(reg) {
				add(at.Child("fromRegistry"), "network-registry", fmt.Sprintf("network %q: registry name %q is not a DNS-1123 label", name, reg), reg, "Use the cluster ID as written in istiod's CLUSTER_ID or the remote secret's key (letters, digits and '-').")
			}
		}
		for k, gw := range nw.GetGateways() {
			at := root.Child(name, "gateways", k)
			if svc := gw.GetRegistryServiceName(); svc != "" {
				if err := validateFQDN(svc); err != nil {
					add(at.Child("registryServiceName"), "network-gateway", fmt.Sprintf("network %q: registryServiceName: %v", name, err), svc, "Use the gateway Service's fully qualified name, e.g. istio-eastwestgateway.istio-system.svc.cluster.local.")
				}
			}
			if a := gw.GetAddress(); a != "" && !isIP(a) && validateFQDN(a) != nil {
				add(at.Child("address"), "network-gateway", fmt.Sprintf("network %q: gateway address %q is neither an IP address nor a DNS name", name, a), a, "Use the gateway's IP address (or, with RESOLVE_HOSTNAME_GATEWAYS on, its DNS name).")
			}
			if !validPort(int64(gw.GetPort())) {
				add(at.Child("port"), "port", fmt.Sprintf("network %q: gateway port %d is outside 1–65535", name, gw.GetPort()), fmt.Sprint(gw.GetPort()), "Use the east-west gateway's port for cross-network traffic, usually 15443.")
			}
		}
	}
}
