package cni

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// Cilium's kinds, read as unstructured objects (meshdoctor does not link
// Cilium's Go module).
var (
	KindCiliumNode      = schema.GroupKind{Group: "cilium.io", Kind: "CiliumNode"}
	KindCiliumEndpoint  = schema.GroupKind{Group: "cilium.io", Kind: "CiliumEndpoint"}
	KindCiliumPolicy    = schema.GroupKind{Group: "cilium.io", Kind: "CiliumNetworkPolicy"}
	KindCiliumCCNP      = schema.GroupKind{Group: "cilium.io", Kind: "CiliumClusterwideNetworkPolicy"}
	KindNetworkPolicy   = schema.GroupKind{Group: "networking.k8s.io", Kind: "NetworkPolicy"}
	ciliumAgentPodLabel = "k8s-app"
)

// Coverage is which nodes and pods Cilium manages: traffic from the others
// reaches Cilium-managed pods without an identity Cilium knows.
type Coverage struct {
	// Known is false when the input holds no sign of Cilium at all.
	Known bool
	// Nodes maps every node seen (Node objects, pods' nodeName) to how
	// Cilium covers it.
	Nodes map[string]*NodeCoverage
	// Unmanaged lists the pods (not hostNetwork, running) that Cilium does
	// not manage: on a node without a ready agent, without a
	// CiliumEndpoint, or with an IP outside every CiliumNode's podCIDRs.
	Unmanaged []UnmanagedPod

	sorted []*NodeCoverage
}

// NodeCoverage is one node.
type NodeCoverage struct {
	Name    string
	Managed bool
	// Why says how Managed was decided, for evidence.
	Why string
	// Agent is the node's cilium agent pod, if any.
	Agent *snapshot.Object
	// PodCIDRs are the node's pod ranges: the CiliumNode's
	// spec.ipam.podCIDRs for managed nodes, else the Node's spec.podCIDRs.
	PodCIDRs []netip.Prefix
	// NodePodCIDRs are the Node object's spec.podCIDRs, whatever Cilium
	// allocates: during a migration with the agent on every node they are
	// the old CNI's ranges.
	NodePodCIDRs []netip.Prefix
	// Node is the Node object, if in the input.
	Node *snapshot.Object
	// InternalIPs are the node's addresses (for SNATed traffic).
	InternalIPs []netip.Addr
	// Addresses are every address the node is known by, each once in the
	// order found: the Node's InternalIP and ExternalIP, the CiliumNode's,
	// and the IPs of the node's running hostNetwork pods (which are node
	// addresses). Cilium maps them to a node identity (host, remote-node,
	// kube-apiserver), never to a CIDR identity.
	Addresses []NodeAddress
	// CiliumNode is the node's CiliumNode, if in the input: Cilium's own
	// registry of the nodes whose addresses it maps to node identities.
	CiliumNode *snapshot.Object
}

// NodeAddress is one address of a node and where it was read.
type NodeAddress struct {
	IP netip.Addr
	// From says where: "InternalIP", "ExternalIP", "CiliumNode InternalIP",
	// "hostNetwork pod kube-system/x".
	From string
}

// addAddress records ip once.
func (n *NodeCoverage) addAddress(ip netip.Addr, from string) {
	ip = ip.Unmap()
	for _, a := range n.Addresses {
		if a.IP == ip {
			return
		}
	}
	n.Addresses = append(n.Addresses, NodeAddress{IP: ip, From: from})
}

// UnmanagedPod is a pod whose traffic Cilium cannot attribute.
type UnmanagedPod struct {
	Pod  *snapshot.Object
	Node string
	IPs  []netip.Addr
	Why  string
}

// CiliumCoverage computes Coverage once per run.
var CiliumCoverage = &analysis.Fact{
	Name: "cilium-coverage",
	Doc:  "Which nodes run a ready cilium agent (or have a CiliumNode), their pod CIDRs, and the pods Cilium does not manage.",
	Reads: map[schema.GroupKind][]string{
		snapshot.KindPod: slices.Concat([]string{"spec.nodeName", "spec.hostNetwork", "status.phase", "status.podIP", "status.podIPs"},
			snapshot.PodConditionReads(), snapshot.ContainerStatusReads()),
		snapshot.KindNode:      {"spec.podCIDR", "spec.podCIDRs", "status.addresses"},
		snapshot.KindDaemonSet: {"spec.template.spec.containers.name"},
		KindCiliumNode:         {"spec.ipam.podCIDRs", "spec.addresses"},
		KindCiliumEndpoint:     {"status.networking.addressing", "status.networking.node"},
	},
	Run: runCoverage,
}

func runCoverage(p *analysis.Pass) (any, error) {
	s := p.Snapshot
	c := &Coverage{Nodes: map[string]*NodeCoverage{}}
	node := func(name string) *NodeCoverage {
		n := c.Nodes[name]
		if n == nil {
			n = &NodeCoverage{Name: name}
			c.Nodes[name] = n
		}
		return n
	}
	for _, o := range s.List(snapshot.KindNode) {
		n := node(o.Key.Name)
		n.Node = o
		if nd, ok := o.Typed.(*corev1.Node); ok {
			cidrs := nd.Spec.PodCIDRs
			if len(cidrs) == 0 && nd.Spec.PodCIDR != "" {
				cidrs = []string{nd.Spec.PodCIDR}
			}
			n.PodCIDRs = parsePrefixes(cidrs)
			n.NodePodCIDRs = n.PodCIDRs
			for _, a := range nd.Status.Addresses {
				if a.Type != corev1.NodeInternalIP && a.Type != corev1.NodeExternalIP {
					continue
				}
				ip, err := netip.ParseAddr(a.Address)
				if err != nil {
					continue
				}
				n.addAddress(ip, string(a.Type))
				if a.Type == corev1.NodeInternalIP {
					n.InternalIPs = append(n.InternalIPs, ip)
				}
			}
		}
	}
	// CiliumNodes: Cilium's own record of the nodes it manages.
	var ciliumCIDRs []netip.Prefix
	for _, o := range s.List(KindCiliumNode) {
		c.Known = true
		n := node(o.Key.Name)
		n.CiliumNode = o
		u, ok := o.Typed.(*unstructured.Unstructured)
		if !ok {
			continue
		}
		// CiliumInternalIP (cilium_host) lies in the pod CIDR: only the
		// addresses the node itself has are kept.
		addrs, _, _ := unstructured.NestedSlice(u.Object, "spec", "addresses")
		for _, raw := range addrs {
			a, _ := raw.(map[string]any)
			typ, _ := a["type"].(string)
			s, _ := a["ip"].(string)
			if typ != string(corev1.NodeInternalIP) && typ != string(corev1.NodeExternalIP) {
				continue
			}
			if ip, err := netip.ParseAddr(s); err == nil {
				n.addAddress(ip, "CiliumNode "+typ)
			}
		}
		cidrs, _, _ := unstructured.NestedStringSlice(u.Object, "spec", "ipam", "podCIDRs")
		if ps := parsePrefixes(cidrs); len(ps) > 0 {
			n.PodCIDRs = ps
			ciliumCIDRs = append(ciliumCIDRs, ps...)
		}
		n.Managed, n.Why = true, "has CiliumNode "+o.Key.Name
	}
	// Agent pods decide where the agent runs and is ready.
	agentsKnown := false
	for _, o := range s.List(snapshot.KindPod) {
		pod, ok := o.Typed.(*corev1.Pod)
		if !ok || pod.Spec.NodeName == "" {
			continue
		}
		nc := node(pod.Spec.NodeName)
		if pod.Spec.HostNetwork && pod.Status.Phase == corev1.PodRunning {
			for _, ip := range podIPs(pod) {
				nc.addAddress(ip, "hostNetwork pod "+o.Key.Namespace+"/"+o.Key.Name)
			}
		}
		if o.Labels[ciliumAgentPodLabel] != "cilium" {
			continue
		}
		c.Known, agentsKnown = true, true
		n := node(pod.Spec.NodeName)
		r := readiness(pod)
		if n.Agent == nil || r.ready {
			n.Agent = o
		}
	}
	if agentsKnown {
		for _, n := range c.Nodes {
			switch {
			case n.Agent == nil:
				n.Managed, n.Why = false, "no cilium agent pod runs on it"
			case !readiness(n.Agent.Typed.(*corev1.Pod)).ready:
				n.Managed, n.Why = false, "its cilium agent "+n.Agent.Key.Name+" is not ready"
			default:
				n.Managed, n.Why = true, "cilium agent "+n.Agent.Key.Name+" is ready"
			}
		}
	} else if c.Known {
		for _, n := range c.Nodes {
			if !n.Managed {
				n.Why = "no CiliumNode for the node"
			}
		}
	}
	for _, n := range c.Nodes {
		c.sorted = append(c.sorted, n)
	}
	sort.Slice(c.sorted, func(i, j int) bool { return c.sorted[i].Name < c.sorted[j].Name })
	if !c.Known {
		return c, nil
	}
	// Pods: on an unmanaged node, or (migration with the agent everywhere)
	// without a CiliumEndpoint or outside every Cilium pod CIDR.
	endpoints := map[string]bool{}
	endpointNS := map[string]bool{}
	for _, o := range s.List(KindCiliumEndpoint) {
		endpoints[o.Key.Namespace+"/"+o.Key.Name] = true
		endpointNS[o.Key.Namespace] = true
	}
	for _, o := range s.List(snapshot.KindPod) {
		pod, ok := o.Typed.(*corev1.Pod)
		if !ok || pod.Spec.HostNetwork || pod.Spec.NodeName == "" || pod.Status.Phase != corev1.PodRunning {
			continue
		}
		ips := podIPs(pod)
		n := c.Nodes[pod.Spec.NodeName]
		why := ""
		switch {
		case n != nil && !n.Managed:
			why = fmt.Sprintf("runs on node %s (%s)", n.Name, n.Why)
		case endpointNS[o.Key.Namespace] && !endpoints[o.Key.Namespace+"/"+o.Key.Name]:
			why = "has no CiliumEndpoint"
		case len(ciliumCIDRs) > 0 && len(ips) > 0 && !anyContains(ciliumCIDRs, ips[0]):
			why = fmt.Sprintf("its IP %s lies outside every CiliumNode's podCIDRs", ips[0])
		}
		if why != "" {
			c.Unmanaged = append(c.Unmanaged, UnmanagedPod{Pod: o, Node: pod.Spec.NodeName, IPs: ips, Why: why})
		}
	}
	sort.SliceStable(c.Unmanaged, func(i, j int) bool { return c.Unmanaged[i].Pod.Ref() < c.Unmanaged[j].Pod.Ref() })
	return c, nil
}

// SortedNodes returns the nodes by name.
func (c *Coverage) SortedNodes() []*NodeCoverage { return c.sorted }

// NodeOfIP returns the node whose pod CIDRs hold ip.
func (c *Coverage) NodeOfIP(ip netip.Addr) *NodeCoverage {
	for _, n := range c.SortedNodes() {
		if anyContains(n.PodCIDRs, ip) {
			return n
		}
	}
	return nil
}

func podIPs(pod *corev1.Pod) []netip.Addr {
	var out []netip.Addr
	for _, p := range pod.Status.PodIPs {
		if ip, err := netip.ParseAddr(p.IP); err == nil {
			out = append(out, ip)
		}
	}
	if len(out) == 0 {
		if ip, err := netip.ParseAddr(pod.Status.PodIP); err == nil {
			out = append(out, ip)
		}
	}
	return out
}

func parsePrefixes(ss []string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
		}
	}
	return out
}

func anyContains(ps []netip.Prefix, ip netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
