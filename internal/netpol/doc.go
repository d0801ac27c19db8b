// Package netpol answers "will traffic from A reach pod B on port P?" under
// Kubernetes NetworkPolicy and Cilium's CiliumNetworkPolicy and
// CiliumClusterwideNetworkPolicy, and says which rules decided. It is the
// shared fact behind the CNI checks (incident d: pods on nodes Cilium does
// not manage arrive as world; policies that block HBONE or SNATed probes;
// policies that select nothing) and the access-log checks that explain a
// 503 UF by "a policy would drop the caller".
//
// # Kubernetes NetworkPolicy
//
// A policy selects pods of its namespace by podSelector ({} is all). Its
// policyTypes default to Ingress, plus Egress when it has egress rules; a
// direction it does not name ignores its rules. A pod selected by no policy
// of a direction is not isolated there. Rules are ORed; in a rule, peers
// are ORed and ports are ORed; no from/to admits every peer and no ports
// every port. A peer with podSelector alone means the policy's namespace,
// namespaceSelector alone any pod of the matching namespaces, both
// together the AND of the two. A namespace absent from the input is taken
// to carry only kubernetes.io/metadata.name (the API server sets it), and
// the verdict says so. Ports default to TCP; endPort makes a range; a
// named port is resolved against the destination pod's container ports —
// the selected pod on ingress, the peer on egress — with its protocol. A
// pod always reaches itself. Egress of the source and ingress of the
// destination must both allow (Evaluator.Check). AdminNetworkPolicy is
// out of scope.
//
// ipBlock is implementation-dependent over cluster addresses. Under
// EngineKubernetes (Calico, kube-router, Antrea: engines that match
// addresses) it matches any address in range, pod and node addresses
// included, and traffic between a pod and its own node is always allowed,
// as the Kubernetes documentation states. Under EngineCilium an ipBlock
// is a CIDR rule like fromCIDR (below).
//
// # Cilium
//
// Under EngineCilium, NetworkPolicy, CiliumNetworkPolicy (namespaced) and
// CiliumClusterwideNetworkPolicy (spec and every entry of specs) apply
// together: traffic passes when no deny rule matches and, if the pod is
// isolated in that direction, some allow rule of any kind matches.
// Peers are identities (Peer.Class): a pod endpoint known by its labels,
// or a reserved identity (world, world-ipv4/-ipv6, host, remote-node,
// kube-apiserver, ingress, health, init, unmanaged).
//
//   - Selection: an endpointSelector (matchLabels/matchExpressions, keys
//     written k8s:app, any:app or app) over the pod's identity labels —
//     its labels, io.kubernetes.pod.namespace,
//     io.cilium.k8s.namespace.labels.*, the service account and the
//     cluster name. A CNP selects only in its namespace.
//   - fromEndpoints/toEndpoints: a selector that names no namespace (by
//     io.kubernetes.pod.namespace or namespace labels) is limited to the
//     policy's namespace in a CNP and to pods in a CCNP; selectors on
//     reserved: labels are left alone (Cilium's getEndpointSelector).
//   - Entities: all, world (both families), world-ipv4, world-ipv6,
//     cluster (every pod and host, remote-node, init, ingress, health,
//     unmanaged, kube-apiserver), host, remote-node (kube-apiserver nodes
//     included), kube-apiserver, ingress, health, init, unmanaged, none.
//   - CIDR rules (fromCIDR, fromCIDRSet with except and cidrGroupRef,
//     NetworkPolicy ipBlock) match only world identities by address: a
//     Cilium-managed pod is never matched by its IP, and host, remote-node
//     and kube-apiserver only with policy-cidr-match-mode=nodes
//     (Options.CIDRMatchNodes).
//   - toPorts: port number or name, endPort, protocol TCP/UDP/SCTP or ANY
//     (the default); no toPorts means every port. A rule with ports but no
//     peer admits every peer; a rule with neither (ingress: [{}]) admits
//     none. Layer-7 rules, toFQDNs, toServices, fromNodes/toNodes,
//     fromGroups/toGroups and fromRequires are not evaluated: they match
//     nothing here and the verdict lists them as caveats.
//   - ingressDeny/egressDeny win over every allow of every kind.
//   - Default deny (enforcement mode "default"): a pod is isolated in a
//     direction when a selecting NetworkPolicy names it, or a selecting
//     Cilium rule has allow or deny rules there and enableDefaultDeny does
//     not turn it off. "always" isolates every pod; "never" allows all,
//     deny rules included. The local host may always enter its pods
//     (allow-localhost) unless Options.HostRequiresPolicy.
//
// CiliumView derives how Cilium sees a source pod: a pod on a node Cilium
// manages is an endpoint with labels; one on a node it does not manage is
// world with only its IP, or remote-node with the node's address when the
// node masquerades it — which the caller decides.
//
// Policy applies to the destination port a packet carries when it reaches
// the pod: after Service DNAT, before any in-pod redirect (ambient HBONE
// arrives on 15008; ambient SNATs kubelet probes to 169.254.7.127, which
// Cilium sees as world).
package netpol
