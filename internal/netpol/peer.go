package netpol

import (
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// Class is what the enforcing engine takes a peer to be. For Cilium it is
// the identity class: a pod endpoint (identified by its labels) or one of
// the reserved identities (knowledge 4(v)).
type Class string

const (
	// ClassPod is a pod the engine knows by its labels and namespace.
	ClassPod Class = "pod"
	// ClassWorld is an address Cilium does not know (reserved:world, ID 2),
	// such as a pod on a node Cilium does not manage.
	ClassWorld     Class = "world"
	ClassWorldIPv4 Class = "world-ipv4"
	ClassWorldIPv6 Class = "world-ipv6"
	// ClassHost is the node the pod runs on (kubelet, hostNetwork pods).
	ClassHost Class = "host"
	// ClassRemoteNode is any other node, or traffic SNATed to its address.
	ClassRemoteNode Class = "remote-node"
	// ClassKubeAPIServer is a node hosting kube-apiserver; Cilium gives it
	// the labels kube-apiserver and remote-node.
	ClassKubeAPIServer Class = "kube-apiserver"
	ClassIngress       Class = "ingress"
	ClassHealth        Class = "health"
	ClassInit          Class = "init"
	ClassUnmanaged     Class = "unmanaged"
)

// Peer is the other end of a connection as the engine sees it.
type Peer struct {
	Class Class
	// Pod is the pod (or workload, for its pod template) behind the peer.
	// For ClassPod its labels, namespace and service account are used
	// when the fields below are empty; for other classes it is only
	// reported, and resolves egress named ports under EngineKubernetes
	// (which knows every pod).
	Pod *snapshot.Object
	// Namespace, Labels and ServiceAccount describe a ClassPod peer.
	Namespace      string
	Labels         map[string]string
	ServiceAccount string
	// NamespaceLabels are the namespace's labels; nil means "look them up
	// in the snapshot".
	NamespaceLabels map[string]string
	// IP is the address the engine sees (the pod IP, or the node IP after
	// SNAT); invalid when unknown, and then no ipBlock/CIDR rule matches.
	IP netip.Addr
}

// String names the peer for messages: "pod ns/name (10.0.0.7)",
// "world 10.240.3.7 (pod ns/name)".
func (p Peer) String() string {
	var b strings.Builder
	if p.Class == ClassPod || p.Class == "" {
		switch {
		case p.Pod != nil:
			b.WriteString("pod " + p.Pod.Key.Namespace + "/" + p.Pod.Key.Name)
		default:
			b.WriteString("pod in namespace " + p.Namespace)
		}
		if p.IP.IsValid() {
			b.WriteString(" (" + p.IP.String() + ")")
		}
		return b.String()
	}
	b.WriteString(string(p.Class))
	if p.IP.IsValid() {
		b.WriteString(" " + p.IP.String())
	}
	if p.Pod != nil {
		b.WriteString(" (" + p.Pod.Ref() + ")")
	}
	return b.String()
}

// isWorld tells a reserved world identity of either family.
func (c Class) isWorld() bool {
	return c == ClassWorld || c == ClassWorldIPv4 || c == ClassWorldIPv6
}

// isNode tells the identities of cluster nodes, which Cilium's CIDR rules
// match only with policy-cidr-match-mode=nodes.
func (c Class) isNode() bool {
	return c == ClassHost || c == ClassRemoteNode || c == ClassKubeAPIServer
}

// PodPeer is a pod (or a workload's pod template) as a peer the engine
// knows by labels: its namespace, labels, service account and IP.
func (e *Evaluator) PodPeer(o *snapshot.Object) Peer {
	p := Peer{Class: ClassPod, Pod: o, Namespace: o.Key.Namespace}
	spec, _, lbls, ok := snapshot.PodSpecOf(o)
	if !ok {
		p.Labels = o.Labels
		return p
	}
	p.Labels = lbls
	p.ServiceAccount = spec.ServiceAccountName
	p.IP = PodIP(o)
	return p
}

// CiliumView is how Cilium sees a pod as a peer. A pod on a node Cilium
// manages is an endpoint with its labels. A pod on a node it does not
// manage (a node still on kubenet during a migration) is not in Cilium's
// ipcache: it is world (world-ipv4/-ipv6 on dual-stack) and only its IP is
// known to policy — unless its node masquerades the traffic, which the
// caller says by giving the node address as snatTo: then the peer is
// remote-node with that address.
func (e *Evaluator) CiliumView(pod *snapshot.Object, managed bool, snatTo netip.Addr) Peer {
	if managed {
		return e.PodPeer(pod)
	}
	if snatTo.IsValid() {
		return Peer{Class: ClassRemoteNode, Pod: pod, IP: snatTo}
	}
	ip := PodIP(pod)
	return Peer{Class: e.worldClass(ip), Pod: pod, IP: ip}
}

// WorldPeer is an address outside what the engine knows (an external
// client, a link-local SNAT address such as ambient's 169.254.7.127).
func (e *Evaluator) WorldPeer(ip netip.Addr) Peer {
	return Peer{Class: e.worldClass(ip), IP: ip}
}

func (e *Evaluator) worldClass(ip netip.Addr) Class {
	if !e.opt.DualStack || !ip.IsValid() {
		return ClassWorld
	}
	if ip.Unmap().Is4() {
		return ClassWorldIPv4
	}
	return ClassWorldIPv6
}

// AmbientProbeSource is the address Istio ambient SNATs kubelet probes to
// before they enter a pod: Cilium sees it as world, not host.
var AmbientProbeSource = netip.MustParseAddr("169.254.7.127")

// PodIP is a pod's status.podIP (invalid when unset or not a Pod).
func PodIP(o *snapshot.Object) netip.Addr {
	pod, ok := o.Typed.(*corev1.Pod)
	if !ok {
		return netip.Addr{}
	}
	if a, err := netip.ParseAddr(pod.Status.PodIP); err == nil {
		return a
	}
	for _, ip := range pod.Status.PodIPs {
		if a, err := netip.ParseAddr(ip.IP); err == nil {
			return a
		}
	}
	return netip.Addr{}
}

// NodeAddress is the InternalIP of a Node in the snapshot (invalid when the
// node or its address is absent): the address traffic SNATed by that node
// carries.
func (e *Evaluator) NodeAddress(name string) netip.Addr {
	o := e.s.Get(snapshot.KindNode, "", name)
	if o == nil {
		return netip.Addr{}
	}
	n, ok := o.Typed.(*corev1.Node)
	if !ok {
		return netip.Addr{}
	}
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			if ip, err := netip.ParseAddr(a.Address); err == nil {
				return ip
			}
		}
	}
	return netip.Addr{}
}

// namespaceLabels returns the labels of namespace ns and whether they are
// known. The API server labels every namespace with its name, so that
// label is always there.
func (e *Evaluator) namespaceLabels(ns string) (map[string]string, bool) {
	if l, ok := e.nsLabels[ns]; ok {
		return l, true
	}
	return map[string]string{labelNamespaceName: ns}, false
}

// remote is a peer prepared for one query.
type remote struct {
	Peer
	nsLabels map[string]string
	nsKnown  bool
	id       []ciliumLabel // Cilium identity labels, built lazily
}

func (e *Evaluator) prepare(p Peer) *remote {
	if p.Class == "" {
		p.Class = ClassPod
	}
	r := &remote{Peer: p}
	if p.Class != ClassPod {
		return r
	}
	if p.Pod != nil {
		if r.Namespace == "" {
			r.Namespace = p.Pod.Key.Namespace
		}
		if r.Labels == nil {
			pp := e.PodPeer(p.Pod)
			r.Labels = pp.Labels
			if r.ServiceAccount == "" {
				r.ServiceAccount = pp.ServiceAccount
			}
		}
	}
	if p.NamespaceLabels != nil {
		r.nsLabels, r.nsKnown = p.NamespaceLabels, true
	} else {
		r.nsLabels, r.nsKnown = e.namespaceLabels(r.Namespace)
	}
	return r
}

// identity returns the peer's Cilium identity labels.
func (r *remote) identity(e *Evaluator) []ciliumLabel {
	if r.id != nil {
		return r.id
	}
	if r.Class != ClassPod {
		r.id = []ciliumLabel{{source: sourceReserved, key: string(r.Class)}}
		if r.Class == ClassKubeAPIServer {
			r.id = append(r.id, ciliumLabel{source: sourceReserved, key: string(ClassRemoteNode)})
		}
		return r.id
	}
	r.id = podIdentity(r.Namespace, r.Labels, r.nsLabels, r.ServiceAccount, e.opt.ClusterName)
	return r.id
}

// podIdentity builds the labels Cilium derives for a pod endpoint.
func podIdentity(ns string, podLabels, nsLabels map[string]string, sa, cluster string) []ciliumLabel {
	id := make([]ciliumLabel, 0, len(podLabels)+len(nsLabels)+3)
	for k, v := range podLabels {
		id = append(id, ciliumLabel{sourceK8s, k, v})
	}
	for k, v := range nsLabels {
		id = append(id, ciliumLabel{sourceK8s, labelNamespaceMeta + k, v})
	}
	if sa == "" {
		sa = "default"
	}
	return append(id,
		ciliumLabel{sourceK8s, labelNamespace, ns},
		ciliumLabel{sourceK8s, labelServiceAccount, sa},
		ciliumLabel{sourceK8s, labelCluster, cluster})
}

// ManagedByCilium tells whether Cilium manages a node, by its CiliumNode
// (each agent registers one). known is false when the input holds no
// CiliumNode at all, so absence says nothing.
func (e *Evaluator) ManagedByCilium(nodeName string) (managed, known bool) {
	if !e.s.Has(KindCiliumNode) {
		return false, false
	}
	return e.s.Get(KindCiliumNode, "", nodeName) != nil, true
}
