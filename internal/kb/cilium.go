package kb

import (
	"strconv"
	"strings"
	"sync"
)

// DropReasonInfo is one Cilium datapath drop reason: the number BPF returns
// (negated), the text `cilium monitor` prints (pkg/monitor/api/drop.go) and
// the name Hubble prints (api/v1/flow/flow.proto DropReason).
type DropReasonInfo struct {
	Code int
	Name string // monitor text, e.g. "Policy denied"
	Enum string // Hubble enum, e.g. "POLICY_DENIED"; empty for legacy codes
	// Aliases are older monitor texts for the same code.
	Aliases []string
	Info
}

// Shared advice for families of drop reasons.
var (
	nextPolicy   = []string{cmdHubblePV, cmdHubble, cmdNetpol, cmdCiliumEPs, cmdCiliumPol}
	nextDatapath = []string{cmdCiliumStat, cmdCiliumLogs, cmdMonitor}
	nextRouting  = []string{cmdIPCache, cmdCiliumNode, cmdMonitor}
	nextNAT      = []string{cmdCiliumNAT, cmdCiliumCT, cmdCiliumStat}

	causesMalformed = []string{
		"Truncated or malformed packets: a broken client, an MTU/fragmentation problem, NIC offload bugs.",
		"Traffic Cilium does not expect on that interface (scans, foreign encapsulations).",
	}
	causesDatapath = []string{
		"The agent was restarting or upgrading while BPF programs and maps were being replaced (transient).",
		"BPF maps full or programs missing after an incomplete upgrade; a kernel lacking a needed feature.",
	}
	causesTunnel = []string{
		"Tunnel (VXLAN/Geneve) configuration differs between nodes (port, protocol, mode), e.g. during a CNI migration with a distinct tunnel port.",
		"Encapsulated traffic from a host that is not a Cilium node.",
	}
	causesICMP = []string{
		"ICMP messages of a type or code Cilium does not handle; usually harmless (scans, rare error messages).",
	}
	causesSRv6  = []string{"SRv6 (segment routing) configuration: no SID for the destination, or state lost during processing."}
	causesNAT46 = []string{"NAT46/NAT64 translation configured, and the packet could not be translated (no prefix, unsupported protocol)."}
	causesMcast = []string{"Not an error: multicast/IGMP packets handled by Cilium's multicast support are counted as drops once consumed."}
)

var dropTable = [...]DropReasonInfo{
	{Code: 130, Name: "Invalid source mac", Enum: "INVALID_SOURCE_MAC", Info: Info{Meaning: "The frame's source MAC is not the one expected for the endpoint (unused in current releases).", Causes: causesMalformed, Next: nextDatapath}},
	{Code: 131, Name: "Invalid destination mac", Enum: "INVALID_DESTINATION_MAC", Info: Info{Meaning: "The frame's destination MAC is not the one expected (unused in current releases).", Causes: causesMalformed, Next: nextDatapath}},
	{Code: 132, Name: "Invalid source ip", Enum: "INVALID_SOURCE_IP", Info: Info{
		Meaning: "A packet left an endpoint with a source IP that is not the endpoint's own (anti-spoofing).",
		Causes: []string{
			"The pod sends from another address: secondary IPs, a VPN or bridge inside the pod, a proxy preserving the original client IP.",
			"The pod's IP changed (restart, IP reuse) while it still sends from the old one.",
		},
		Next: []string{cmdCiliumEPs, cmdIPCache, cmdMonitor},
	}},
	{Code: 133, Name: "Policy denied", Enum: "POLICY_DENIED", Aliases: []string{"Policy denied (L3)"}, Info: Info{
		Meaning: "A network policy (NetworkPolicy, CiliumNetworkPolicy) applies to the endpoint in that direction and no rule allows this traffic: default deny.",
		Causes: []string{
			"A missing allow rule for the source/destination, port or protocol.",
			"The source is identified as `world` (or `world-ipv4`/`world-ipv6`) because its IP is not in Cilium's ipcache: pods on nodes without Cilium during a kubenet/Calico → Cilium migration, or traffic SNATed by another CNI.",
			"The source is `remote-node`/`host` because traffic was masqueraded to the node IP; ipBlock/CIDR rules do not match node IPs unless policyCIDRMatchMode includes nodes.",
			"Policy enforcement switched on (policyEnforcementMode default/always) before a migration finished.",
			"Egress to kube-dns, kube-apiserver or the mesh's ports (15008 HBONE, 15012 istiod) not allowed.",
		},
		Next: append([]string{cmdCiliumNode}, nextPolicy...),
	}},
	{Code: 134, Name: "Invalid packet", Enum: "INVALID_PACKET_DROPPED", Info: Info{Meaning: "The packet could not be parsed (bad or truncated headers).", Causes: causesMalformed, Next: nextDatapath}},
	{Code: 135, Name: "CT: Truncated or invalid header", Enum: "CT_TRUNCATED_OR_INVALID_HEADER", Info: Info{Meaning: "Connection tracking could not read the packet's L4 header.", Causes: causesMalformed, Next: nextDatapath}},
	{Code: 136, Name: "CT: Missing TCP ACK flag", Enum: "CT_MISSING_TCP_ACK_FLAG", Info: Info{Meaning: "A TCP packet without ACK did not fit the tracked connection state (unused in current releases).", Causes: causesMalformed, Next: nextDatapath}},
	{Code: 137, Name: "CT: Unknown L4 protocol", Enum: "CT_UNKNOWN_L4_PROTOCOL", Info: Info{Meaning: "Connection tracking does not know the packet's L4 protocol.", Causes: []string{"Protocols other than TCP, UDP, ICMP (and SCTP when enabled), e.g. GRE, ESP or IPIP from a workload."}, Next: nextDatapath}},
	{Code: 138, Name: "CT: Can't create entry from packet", Enum: "CT_CANNOT_CREATE_ENTRY_FROM_PACKET", Info: Info{Meaning: "A connection-tracking entry could not be created for the packet (unused in current releases).", Causes: causesDatapath, Next: nextNAT}},
	{Code: 139, Name: "Unsupported L3 protocol", Enum: "UNSUPPORTED_L3_PROTOCOL", Info: Info{
		Meaning: "The packet's network protocol is not handled by the datapath.",
		Causes: []string{
			"IPv6 traffic while Cilium runs IPv4-only (or the reverse).",
			"Non-IP traffic from a pod.",
		},
		Next: []string{cmdCiliumStat, cmdMonitor},
	}},
	{Code: 140, Name: "Missed tail call", Enum: "MISSED_TAIL_CALL", Info: Info{
		Meaning: "A BPF program tried to jump to another program that is not loaded.",
		Causes: []string{
			"Programs being replaced during an agent restart or upgrade (short bursts are expected).",
			"An endpoint whose programs failed to compile or load; a kernel missing a needed feature.",
		},
		Next: append([]string{cmdCiliumEPs}, nextDatapath...),
	}},
	{Code: 141, Name: "Error writing to packet", Enum: "ERROR_WRITING_TO_PACKET", Info: Info{Meaning: "The datapath failed to rewrite the packet (NAT, headers).", Causes: causesDatapath, Next: nextDatapath}},
	{Code: 142, Name: "Unknown L4 protocol", Enum: "UNKNOWN_L4_PROTOCOL", Info: Info{
		Meaning: "The packet's transport protocol is not one the datapath handles.",
		Causes:  []string{"SCTP without SCTP support enabled, or protocols such as GRE/ESP/IPIP sent by workloads."},
		Next:    []string{cmdCiliumStat, cmdMonitor},
	}},
	{Code: 143, Name: "Unknown ICMPv4 code", Enum: "UNKNOWN_ICMPV4_CODE", Info: Info{Meaning: "An ICMPv4 message with a code Cilium does not handle.", Causes: causesICMP, Next: []string{cmdMonitor}}},
	{Code: 144, Name: "Unknown ICMPv4 type", Enum: "UNKNOWN_ICMPV4_TYPE", Info: Info{Meaning: "An ICMPv4 message of a type Cilium does not handle.", Causes: causesICMP, Next: []string{cmdMonitor}}},
	{Code: 145, Name: "Unknown ICMPv6 code", Enum: "UNKNOWN_ICMPV6_CODE", Info: Info{Meaning: "An ICMPv6 message with a code Cilium does not handle.", Causes: causesICMP, Next: []string{cmdMonitor}}},
	{Code: 146, Name: "Unknown ICMPv6 type", Enum: "UNKNOWN_ICMPV6_TYPE", Info: Info{Meaning: "An ICMPv6 message of a type Cilium does not handle.", Causes: causesICMP, Next: []string{cmdMonitor}}},
	{Code: 147, Name: "Error retrieving tunnel key", Enum: "ERROR_RETRIEVING_TUNNEL_KEY", Info: Info{Meaning: "The datapath could not read the tunnel metadata of an encapsulated packet.", Causes: causesTunnel, Next: []string{cmdCiliumStat, cmdCiliumNode}}},
	{Code: 148, Name: "Error retrieving tunnel options", Enum: "ERROR_RETRIEVING_TUNNEL_OPTIONS", Info: Info{Meaning: "The datapath could not read the tunnel options of an encapsulated packet (unused in current releases).", Causes: causesTunnel, Next: []string{cmdCiliumStat, cmdCiliumNode}}},
	{Code: 149, Name: "Invalid Geneve option", Enum: "INVALID_GENEVE_OPTION", Info: Info{Meaning: "A Geneve packet carried an option Cilium does not accept (unused in current releases).", Causes: causesTunnel, Next: []string{cmdCiliumStat, cmdCiliumNode}}},
	{Code: 150, Name: "Unknown L3 target address", Enum: "UNKNOWN_L3_TARGET_ADDRESS", Info: Info{
		Meaning: "The destination address is not known to this node's datapath.",
		Causes:  []string{"Traffic for an IP that is neither a local endpoint nor routable through Cilium (stale IPs, spoofed or misrouted traffic)."},
		Next:    nextRouting,
	}},
	{Code: 151, Name: "Stale or unroutable IP", Enum: "STALE_OR_UNROUTABLE_IP", Aliases: []string{"Not a local target address"}, Info: Info{
		Meaning: "The packet is addressed to an IP that no longer belongs to a live endpoint on this node, or cannot be routed.",
		Causes: []string{
			"A pod was deleted or restarted and clients (or stale conntrack/service entries) still send to its old IP.",
			"An endpoint IP reused before everyone saw the change; a node's ipcache out of date.",
		},
		Next: append([]string{cmdEndpoints}, nextRouting...),
	}},
	{Code: 152, Name: "No matching local container found", Enum: "NO_MATCHING_LOCAL_CONTAINER_FOUND", Info: Info{Meaning: "No local endpoint matches the packet's destination (unused in current releases).", Causes: []string{"Traffic for a pod IP that is not on this node (stale routes or ipcache)."}, Next: nextRouting}},
	{Code: 153, Name: "Error while correcting L3 checksum", Enum: "ERROR_WHILE_CORRECTING_L3_CHECKSUM", Info: Info{Meaning: "The IP checksum could not be updated after a rewrite.", Causes: causesDatapath, Next: nextDatapath}},
	{Code: 154, Name: "Error while correcting L4 checksum", Enum: "ERROR_WHILE_CORRECTING_L4_CHECKSUM", Info: Info{Meaning: "The TCP/UDP checksum could not be updated after a rewrite.", Causes: causesDatapath, Next: nextDatapath}},
	{Code: 155, Name: "CT: Map insertion failed", Enum: "CT_MAP_INSERTION_FAILED", Info: Info{
		Meaning: "A new connection could not be added to the connection-tracking map: the map is full.",
		Causes: []string{
			"Very many concurrent or short-lived connections for the configured CT map size (bpf-ct-global-tcp-max/any-max, bpf-map-dynamic-size-ratio).",
			"Connection churn from retries or scanners.",
		},
		Next: append([]string{cmdCiliumCT + " | wc -l"}, cmdCiliumStat, "kubectl -n kube-system get configmap cilium-config -o yaml | grep -E 'bpf-ct|map-dynamic'"),
	}},
	{Code: 156, Name: "Invalid IPv6 extension header", Enum: "INVALID_IPV6_EXTENSION_HEADER", Info: Info{Meaning: "An IPv6 extension header could not be parsed.", Causes: causesMalformed, Next: nextDatapath}},
	{Code: 157, Name: "IP fragmentation not supported", Enum: "IP_FRAGMENTATION_NOT_SUPPORTED", Info: Info{
		Meaning: "A fragmented packet reached a path that cannot handle fragments.",
		Causes: []string{
			"Large UDP datagrams (DNS over UDP with big answers, some VPN/media traffic) fragmented because of MTU, with fragment tracking disabled.",
			"An MTU mismatch between pods, nodes and tunnels.",
		},
		Next: []string{cmdCiliumStat, "kubectl -n kube-system get configmap cilium-config -o yaml | grep -i fragment"},
	}},
	{Code: 158, Name: "Service backend not found", Enum: "SERVICE_BACKEND_NOT_FOUND", Info: Info{
		Meaning: "Traffic to a Service address (ClusterIP, NodePort, LoadBalancer) found no backend to load-balance to.",
		Causes: []string{
			"The Service has no ready endpoints (selector mismatch, pods not ready).",
			"externalTrafficPolicy/internalTrafficPolicy Local with no backend on this node.",
			"Cilium's service map out of sync with the Kubernetes endpoints.",
		},
		Next: []string{cmdEndpoints, cmdCiliumSvc, cmdMonitor},
	}},
	{Code: 159, Name: "Policy denied (L4)", Info: Info{
		Meaning: "Older Cilium releases: an L4 (port) policy denied the packet. Current releases report policy drops as 133 Policy denied.",
		Causes:  []string{"No rule allows the destination port/protocol."},
		Next:    nextPolicy,
	}},
	{Code: 160, Name: "No tunnel/encapsulation endpoint (datapath BUG!)", Enum: "NO_TUNNEL_OR_ENCAPSULATION_ENDPOINT", Info: Info{
		Meaning: "The datapath wanted to encapsulate the packet but found no tunnel endpoint for the destination.",
		Causes: []string{
			"The destination's node is not (or no longer) a Cilium node with a tunnel entry: stale ipcache, node removed, migration in progress.",
			"Tunnel map out of sync after an agent restart.",
		},
		Next: append([]string{"kubectl -n kube-system exec ds/cilium -- cilium-dbg bpf tunnel list"}, nextRouting...),
	}},
	{Code: 161, Name: "Failed to insert into proxymap", Enum: "FAILED_TO_INSERT_INTO_PROXYMAP", Info: Info{Meaning: "Redirecting a connection to the L7 proxy failed to record it (unused in current releases).", Causes: causesDatapath, Next: nextDatapath}},
	{Code: 162, Name: "Reached EDT rate-limiting drop horizon", Enum: "REACHED_EDT_RATE_LIMITING_DROP_HORIZON", Aliases: []string{"Policy denied (CIDR)"}, Info: Info{
		Meaning: "The bandwidth manager dropped a packet that would have been delayed past its time horizon: the pod exceeds its egress bandwidth limit. (Older releases used 162 for \"Policy denied (CIDR)\".)",
		Causes: []string{
			"The pod's kubernetes.io/egress-bandwidth annotation is lower than the traffic it sends.",
		},
		Next: []string{"kubectl get pod <pod> -n <ns> -o jsonpath='{.metadata.annotations}'", cmdCiliumStat},
	}},
	{Code: 163, Name: "Unknown connection tracking state", Enum: "UNKNOWN_CONNECTION_TRACKING_STATE", Info: Info{Meaning: "Connection tracking returned a state the datapath does not know.", Causes: causesDatapath, Next: nextDatapath}},
	{Code: 164, Name: "Local host is unreachable", Enum: "LOCAL_HOST_IS_UNREACHABLE", Info: Info{
		Meaning: "Traffic for the local host could not be delivered to it.",
		Causes:  []string{"The host endpoint or host-side device is not ready (agent starting), or host routing is broken."},
		Next:    nextDatapath,
	}},
	{Code: 165, Name: "No configuration available to perform policy decision", Enum: "NO_CONFIGURATION_AVAILABLE_TO_PERFORM_POLICY_DECISION", Info: Info{
		Meaning: "The endpoint's policy was not available when the packet arrived (unused in current releases).",
		Causes:  []string{"The endpoint is still being regenerated (new pod, agent restart)."},
		Next:    []string{cmdCiliumEPs, cmdCiliumLogs},
	}},
	{Code: 166, Name: "Unsupported L2 protocol", Enum: "UNSUPPORTED_L2_PROTOCOL", Info: Info{
		Meaning: "A frame with a link-layer protocol the datapath does not forward.",
		Causes:  []string{"Non-IP frames (LLDP, STP, other ethertypes) from the network or a pod; usually harmless noise."},
		Next:    []string{cmdMonitor},
	}},
	{Code: 167, Name: "No mapping for NAT masquerade", Enum: "NO_MAPPING_FOR_NAT_MASQUERADE", Info: Info{
		Meaning: "A packet that needs reverse SNAT found no NAT entry: the reply belongs to a connection Cilium did not (or no longer does) masquerade.",
		Causes: []string{
			"The NAT entry expired or was evicted (map pressure, long idle connections).",
			"Asymmetric routing: replies come back on another node or interface than the one that masqueraded.",
			"Another component (iptables masquerade, a previous CNI) did the SNAT.",
		},
		Next: nextNAT,
	}},
	{Code: 168, Name: "Unsupported protocol for NAT masquerade", Enum: "UNSUPPORTED_PROTOCOL_FOR_NAT_MASQUERADE", Info: Info{Meaning: "The packet's protocol cannot be masqueraded by the BPF NAT.", Causes: []string{"Protocols other than TCP, UDP and ICMP leaving the cluster with BPF masquerading enabled."}, Next: nextNAT}},
	{Code: 169, Name: "FIB lookup failed", Enum: "FIB_LOOKUP_FAILED", Info: Info{
		Meaning: "The kernel's routing (FIB) lookup from BPF failed: no route or no neighbour entry for the next hop.",
		Causes: []string{
			"Native routing without routes to the other nodes' pod CIDRs (autoDirectNodeRoutes off, cloud routes missing).",
			"The next hop's ARP/NDP entry not resolved.",
			"Policy routing (ip rules) added by another component that BPF host routing does not see.",
		},
		Next: append([]string{"ip route get <dst-ip>; ip neigh"}, nextRouting...),
	}},
	{Code: 170, Name: "Encapsulation traffic is prohibited", Enum: "ENCAPSULATION_TRAFFIC_IS_PROHIBITED", Info: Info{Meaning: "Encapsulated (tunnel) traffic arrived where tunnelling is not allowed.", Causes: causesTunnel, Next: []string{cmdCiliumStat, cmdCiliumNode}}},
	{Code: 171, Name: "Invalid identity", Enum: "INVALID_IDENTITY", Info: Info{
		Meaning: "The packet carries a security identity that is invalid (0/unknown) where one is required.",
		Causes: []string{
			"Identities not yet allocated or propagated (new pod, kvstore/ClusterMesh sync delays).",
			"Tunnel traffic from a node running another Cilium configuration (identity encoding mismatch).",
		},
		Next: []string{cmdCiliumID, cmdIPCache, cmdCiliumLogs},
	}},
	{Code: 172, Name: "Unknown sender", Enum: "UNKNOWN_SENDER", Info: Info{Meaning: "Traffic arrived from a sender the datapath does not recognise (e.g. a tunnel peer that is not a known node).", Causes: causesTunnel, Next: nextRouting}},
	{Code: 173, Name: "NAT not needed", Enum: "NAT_NOT_NEEDED", Info: Info{Meaning: "Internal signal that no NAT applies; counted as a drop reason but rarely a real drop.", Causes: []string{"Normal datapath bookkeeping; investigate only together with other symptoms."}, Next: []string{cmdMonitor}}},
	{Code: 174, Name: "Is a ClusterIP", Enum: "IS_A_CLUSTERIP", Info: Info{
		Meaning: "Traffic reached a ClusterIP address that was not translated to a backend.",
		Causes: []string{
			"A client outside the cluster (or on a path Cilium's load balancer does not handle) sends to a ClusterIP, which is only valid inside the cluster.",
			"A ClusterIP without a matching service entry in Cilium's maps.",
		},
		Next: []string{cmdCiliumSvc, cmdMonitor},
	}},
	{Code: 175, Name: "First logical datagram fragment not found", Enum: "FIRST_LOGICAL_DATAGRAM_FRAGMENT_NOT_FOUND", Info: Info{
		Meaning: "A non-first IP fragment arrived and the first fragment (with the ports) was never seen.",
		Causes:  []string{"Fragments reordered or lost; fragmentation from MTU mismatches."},
		Next:    []string{cmdCiliumStat},
	}},
	{Code: 176, Name: "Forbidden ICMPv6 message", Enum: "FORBIDDEN_ICMPV6_MESSAGE", Info: Info{Meaning: "An ICMPv6 message type Cilium refuses was dropped.", Causes: causesICMP, Next: []string{cmdMonitor}}},
	{Code: 177, Name: "Denied by LB src range check", Enum: "DENIED_BY_LB_SRC_RANGE_CHECK", Info: Info{
		Meaning: "The client IP is outside the LoadBalancer Service's allowed source ranges.",
		Causes:  []string{"spec.loadBalancerSourceRanges does not include the client (or the client is SNATed by a cloud load balancer to an address outside the range)."},
		Next:    []string{"kubectl get svc <svc> -n <ns> -o jsonpath='{.spec.loadBalancerSourceRanges}'", cmdCiliumSvc},
	}},
	{Code: 178, Name: "Socket lookup failed", Enum: "SOCKET_LOOKUP_FAILED", Info: Info{Meaning: "Redirecting traffic to a local proxy socket (L7 policy, TPROXY) failed to find the socket.", Causes: []string{"The L7 proxy (Envoy in the agent) is restarting or not listening."}, Next: nextDatapath}},
	{Code: 179, Name: "Socket assign failed", Enum: "SOCKET_ASSIGN_FAILED", Info: Info{Meaning: "Redirecting traffic to a local proxy socket failed to assign it.", Causes: []string{"The L7 proxy is restarting; kernel support for socket assignment missing."}, Next: nextDatapath}},
	{Code: 180, Name: "Proxy redirection not supported for protocol", Enum: "PROXY_REDIRECTION_NOT_SUPPORTED_FOR_PROTOCOL", Info: Info{
		Meaning: "An L7 policy asked to redirect traffic of a protocol the proxy cannot handle.",
		Causes:  []string{"L7 (HTTP, Kafka, DNS) rules on a port that carries another protocol, e.g. UDP or SCTP."},
		Next:    []string{cmdNetpol},
	}},
	{Code: 181, Name: "Policy denied by denylist", Enum: "POLICY_DENY", Info: Info{
		Meaning: "An explicit deny rule (ingressDeny/egressDeny in a CiliumNetworkPolicy or clusterwide policy) matched the traffic.",
		Causes: []string{
			"A deny rule broader than intended (e.g. denying a CIDR that contains cluster or node addresses, or the world entity that includes unmanaged pods).",
		},
		Next: nextPolicy,
	}},
	{Code: 182, Name: "VLAN traffic disallowed by VLAN filter", Enum: "VLAN_FILTERED", Info: Info{Meaning: "VLAN-tagged traffic with a VLAN ID not in the allowed list was dropped.", Causes: []string{"VLAN traffic on a device without the VLAN ID in vlan-bpf-bypass."}, Next: []string{cmdCiliumStat}}},
	{Code: 183, Name: "Incorrect VNI from VTEP", Enum: "INVALID_VNI", Info: Info{Meaning: "Traffic from a VXLAN tunnel endpoint (VTEP integration) carried an unexpected VNI.", Causes: causesTunnel, Next: []string{cmdCiliumStat}}},
	{Code: 184, Name: "Failed to update or lookup TC buffer", Enum: "INVALID_TC_BUFFER", Info: Info{Meaning: "The datapath could not read or write the packet's metadata buffer.", Causes: causesDatapath, Next: nextDatapath}},
	{Code: 185, Name: "No SID was found for the IP address", Enum: "NO_SID", Info: Info{Meaning: "SRv6: no segment ID is known for the destination.", Causes: causesSRv6, Next: []string{cmdCiliumStat}}},
	{Code: 186, Name: "SRv6 state was removed during tail call", Enum: "MISSING_SRV6_STATE", Info: Info{Meaning: "SRv6: per-packet state was lost between BPF programs.", Causes: causesSRv6, Next: []string{cmdCiliumStat}}},
	{Code: 187, Name: "L3 translation from IPv4 to IPv6 failed (NAT46)", Enum: "NAT46", Info: Info{Meaning: "NAT46 translation of the packet failed.", Causes: causesNAT46, Next: []string{cmdCiliumStat}}},
	{Code: 188, Name: "L3 translation from IPv6 to IPv4 failed (NAT64)", Enum: "NAT64", Info: Info{Meaning: "NAT64 translation of the packet failed.", Causes: causesNAT46, Next: []string{cmdCiliumStat}}},
	{Code: 189, Name: "Authentication required", Enum: "AUTH_REQUIRED", Info: Info{
		Meaning: "A policy requires mutual authentication (authentication.mode: required) between the two identities and it has not completed.",
		Causes: []string{
			"The SPIRE server/agents used by Cilium mutual authentication are not running or not reachable.",
			"The first packets of a new identity pair, before the handshake finished (short bursts).",
		},
		Next: []string{"kubectl -n cilium-spire get pods", cmdCiliumLogs, cmdNetpol},
	}},
	{Code: 190, Name: "No conntrack map found", Enum: "CT_NO_MAP_FOUND", Info: Info{Meaning: "The connection-tracking map for the packet's family was not found.", Causes: causesDatapath, Next: nextDatapath}},
	{Code: 191, Name: "No nat map found", Enum: "SNAT_NO_MAP_FOUND", Info: Info{Meaning: "The NAT map for the packet's family was not found.", Causes: causesDatapath, Next: nextDatapath}},
	{Code: 192, Name: "Invalid ClusterID", Enum: "INVALID_CLUSTER_ID", Info: Info{
		Meaning: "ClusterMesh: the packet carries a cluster ID this node does not accept.",
		Causes:  []string{"Clusters in a mesh with duplicate or out-of-range cluster IDs, or a cluster not (yet) connected."},
		Next:    []string{"cilium clustermesh status", cmdCiliumStat},
	}},
	{Code: 193, Name: "Unsupported packet protocol for DSR encapsulation", Enum: "UNSUPPORTED_PROTOCOL_FOR_DSR_ENCAP", Info: Info{Meaning: "Direct server return cannot encapsulate this protocol.", Causes: []string{"DSR load balancing mode with protocols it does not support."}, Next: []string{cmdCiliumStat}}},
	{Code: 194, Name: "No egress gateway found", Enum: "NO_EGRESS_GATEWAY", Info: Info{
		Meaning: "An egress gateway policy selected the traffic but no gateway node is available for it.",
		Causes:  []string{"The CiliumEgressGatewayPolicy's node selector matches no ready node, or the gateway node lacks the egress IP/interface."},
		Next:    []string{"kubectl get ciliumegressgatewaypolicies -o yaml", "kubectl get nodes --show-labels"},
	}},
	{Code: 195, Name: "Traffic is unencrypted", Enum: "UNENCRYPTED_TRAFFIC", Info: Info{
		Meaning: "Strict encryption mode dropped traffic that would have left the node unencrypted.",
		Causes:  []string{"Transparent encryption (WireGuard) in strict mode while a peer node has no key yet or encryption is off on it."},
		Next:    []string{cmdCiliumStat + " | grep -i encrypt", cmdCiliumNode},
	}},
	{Code: 196, Name: "TTL exceeded", Enum: "TTL_EXCEEDED", Info: Info{
		Meaning: "The packet's TTL/hop limit reached zero in the datapath.",
		Causes:  []string{"A routing loop between nodes or devices; traceroute probes (harmless)."},
		Next:    nextRouting,
	}},
	{Code: 197, Name: "No node ID found", Enum: "NO_NODE_ID", Info: Info{
		Meaning: "No node ID is known for the destination node (needed for encryption or tunnelling).",
		Causes:  []string{"A remote node not yet known to this agent (node join in progress, kvstore sync)."},
		Next:    []string{cmdCiliumNode, cmdCiliumLogs},
	}},
	{Code: 198, Name: "Rate limited", Enum: "DROP_RATE_LIMITED", Info: Info{
		Meaning: "A datapath rate limit dropped the packet.",
		Causes:  []string{"Traffic above a rate limit enforced in the datapath (e.g. limits on events or packets sent to the agent)."},
		Next:    nextDatapath,
	}},
	{Code: 199, Name: "IGMP handled", Enum: "IGMP_HANDLED", Info: Info{Meaning: "An IGMP packet was consumed by Cilium's multicast support.", Causes: causesMcast, Next: []string{cmdMonitor}}},
	{Code: 200, Name: "IGMP subscribed", Enum: "IGMP_SUBSCRIBED", Info: Info{Meaning: "An IGMP join was processed and the subscriber recorded.", Causes: causesMcast, Next: []string{cmdMonitor}}},
	{Code: 201, Name: "Multicast handled", Enum: "MULTICAST_HANDLED", Info: Info{Meaning: "A multicast packet was replicated by Cilium and the original consumed.", Causes: causesMcast, Next: []string{cmdMonitor}}},
	{Code: 202, Name: "Host datapath not ready", Enum: "DROP_HOST_NOT_READY", Info: Info{
		Meaning: "A program wanted to hand the packet to the host datapath, which is not loaded yet.",
		Causes:  []string{"The agent is starting up on the node (transient); a long-lasting burst means the host programs failed to load."},
		Next:    nextDatapath,
	}},
	{Code: 203, Name: "Endpoint policy program not available", Enum: "DROP_EP_NOT_READY", Info: Info{
		Meaning: "The destination endpoint's policy program is not loaded yet.",
		Causes:  []string{"A new pod whose endpoint is still being regenerated (transient), or an endpoint whose regeneration fails."},
		Next:    append([]string{cmdCiliumEPs}, nextDatapath...),
	}},
	{Code: 204, Name: "No Egress IP configured", Enum: "DROP_NO_EGRESS_IP", Info: Info{
		Meaning: "An egress gateway policy applies but the gateway has no egress IP to use.",
		Causes:  []string{"The egress gateway node lacks the configured egressIP or interface."},
		Next:    []string{"kubectl get ciliumegressgatewaypolicies -o yaml", cmdCiliumStat},
	}},
	{Code: 205, Name: "Punt to proxy", Enum: "DROP_PUNT_PROXY", Info: Info{
		Meaning: "The packet was handed to a proxy in the host stack; it is recorded with a drop code but is not a real drop.",
		Causes:  []string{"Normal operation of L7 policy or proxy redirection."},
		Next:    []string{cmdMonitor},
	}},
}

// DropReasons returns every known drop reason, by code.
func DropReasons() []*DropReasonInfo {
	out := make([]*DropReasonInfo, len(dropTable))
	for i := range dropTable {
		out[i] = &dropTable[i]
	}
	return out
}

type dropIdx struct {
	byCode map[int]*DropReasonInfo
	byName map[string]*DropReasonInfo // normalized names, enums and aliases
}

var dropIndex = sync.OnceValue(func() dropIdx {
	x := dropIdx{byCode: map[int]*DropReasonInfo{}, byName: map[string]*DropReasonInfo{}}
	for i := range dropTable {
		d := &dropTable[i]
		x.byCode[d.Code] = d
		for _, n := range append([]string{d.Name, d.Enum}, d.Aliases...) {
			if k := normalizeName(n); k != "" {
				if _, dup := x.byName[k]; !dup {
					x.byName[k] = d
				}
			}
		}
	}
	return x
})

// normalizeName lowercases s, keeps letters and digits, turns everything
// else into single spaces, and drops a leading "drop ": "POLICY_DENIED",
// "Policy denied" and "policy-denied" all become "policy denied".
func normalizeName(s string) string {
	var b strings.Builder
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
			fallthrough
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteByte(c)
		default:
			space = true
		}
	}
	return strings.TrimPrefix(b.String(), "drop ")
}

// DropReasonByCode looks a drop reason up by number; BPF's negative form
// (-133) is accepted too.
func DropReasonByCode(code int) (*DropReasonInfo, bool) {
	if code < 0 {
		code = -code
	}
	d, ok := dropIndex().byCode[code]
	return d, ok
}

// DropReason looks a drop reason up by number ("133", "-133"), monitor text
// ("Policy denied"), Hubble name ("POLICY_DENIED", "DROP_HOST_NOT_READY") or
// an older monitor text ("Policy denied (L3)").
func DropReason(codeOrName string) (*DropReasonInfo, bool) {
	s := strings.TrimSpace(codeOrName)
	if n, err := strconv.Atoi(s); err == nil {
		return DropReasonByCode(n)
	}
	d, ok := dropIndex().byName[normalizeName(s)]
	return d, ok
}

func (d *DropReasonInfo) explanation(input string) Explanation {
	title := strconv.Itoa(d.Code) + " " + d.Name
	if d.Enum != "" {
		title += " (" + d.Enum + ")"
	}
	e := Explanation{Kind: KindDropReason, Key: strconv.Itoa(d.Code), Title: title, Input: input, Info: d.Info}
	if len(d.Aliases) > 0 {
		e.Notes = append(e.Notes, "Older cilium monitor text for this code: "+strings.Join(d.Aliases, ", ")+".")
	}
	return e
}

// IdentityInfo is a Cilium security identity: one of the reserved ones
// (pkg/identity/numericidentity.go), or a range of numbers with a common
// meaning.
type IdentityInfo struct {
	// ID is the number of a reserved identity; for a range, Min and Max
	// bound it and ID is Min.
	ID       uint32
	Min, Max uint32
	Name     string // label reserved:<Name>, or the range's name
	Info
}

// LocalIdentityFlag is the bit that marks node-local identities (CIDR and
// FQDN selectors).
const LocalIdentityFlag = 1 << 24

var identityTable = [...]IdentityInfo{
	{ID: 0, Name: "unknown", Info: Info{
		Meaning: "Identity 0: unknown or not resolved yet.",
		Causes:  []string{"Traffic seen before its source was classified; identity allocation failing."},
		Next:    []string{cmdIPCache, cmdCiliumLogs},
	}},
	{ID: 1, Name: "host", Info: Info{
		Meaning: "The local node: processes in the host network namespace, hostNetwork pods, and (by default) kubelet probes.",
		Causes: []string{
			"Traffic from hostNetwork pods or node daemons; policies need fromEntities: [host] to allow them.",
			"Traffic SNATed to the node IP by the local node.",
		},
		Next: []string{cmdNetpol, cmdHubble},
	}},
	{ID: 2, Name: "world", Info: Info{
		Meaning: "Anything Cilium does not know as a cluster endpoint or node: an IP that is not in its ipcache. On dual-stack clusters the split world-ipv4 (9) / world-ipv6 (10) is used instead.",
		Causes: []string{
			"Truly external clients.",
			"Pods on nodes that do not run Cilium (kubenet/Calico → Cilium migration): their pod IPs are not in the ipcache, so policies see them as world and drop them unless allowed.",
			"Pods started before Cilium managed them, or IPs from another CNI's CIDR.",
		},
		Next: []string{cmdIPCache, cmdCiliumNode, cmdNetpol, cmdHubble},
	}},
	{ID: 3, Name: "unmanaged", Info: Info{
		Meaning: "Local endpoints not managed by Cilium (e.g. pods started by another CNI before Cilium).",
		Causes:  []string{"Pods created before Cilium was installed and never restarted."},
		Next:    []string{cmdCiliumEPs, "kubectl get pods -A -o wide --field-selector spec.nodeName=<node>"},
	}},
	{ID: 4, Name: "health", Info: Info{
		Meaning: "The cilium-health endpoints used for connectivity probing between nodes.",
		Causes:  []string{"Health-check traffic; policies that block it make `cilium-dbg status` report unreachable nodes."},
		Next:    []string{"kubectl -n kube-system exec ds/cilium -- cilium-health status"},
	}},
	{ID: 5, Name: "init", Info: Info{
		Meaning: "An endpoint whose labels are not known yet (during its creation).",
		Causes:  []string{"Traffic from pods in their first moments; persistent init identities mean the agent cannot fetch pod labels."},
		Next:    []string{cmdCiliumEPs, cmdCiliumLogs},
	}},
	{ID: 6, Name: "remote-node", Info: Info{
		Meaning: "Any other node of the cluster (and of connected clusters), identified by its node IP.",
		Causes: []string{
			"Traffic masqueraded to the sending node's IP (by the old CNI, ip-masq-agent or kube-proxy) arrives as remote-node, not as the pod.",
			"ipBlock/CIDR rules do not match node IPs unless policyCIDRMatchMode includes nodes: allow fromEntities remote-node instead.",
		},
		Next: []string{cmdCiliumNode, cmdNetpol, "kubectl -n kube-system get configmap cilium-config -o yaml | grep -i policy-cidr-match-mode"},
	}},
	{ID: 7, Name: "kube-apiserver", Info: Info{
		Meaning: "Node(s) running kube-apiserver backends (carries the kube-apiserver and remote-node labels).",
		Causes:  []string{"Egress policies that do not allow toEntities: [kube-apiserver] block API access from pods (webhooks, operators)."},
		Next:    []string{cmdNetpol},
	}},
	{ID: 8, Name: "ingress", Info: Info{
		Meaning: "The source address Cilium's Ingress/Gateway API Envoy uses towards backends.",
		Causes:  []string{"Backend policies must allow fromEntities: [ingress] for traffic coming through Cilium Ingress/Gateway."},
		Next:    []string{cmdNetpol},
	}},
	{ID: 9, Name: "world-ipv4", Info: Info{
		Meaning: "world for IPv4 addresses on dual-stack clusters (newer Cilium).",
		Causes:  []string{"The same as world (2): an IPv4 address not in the ipcache, e.g. pods on non-Cilium nodes during a migration."},
		Next:    []string{cmdIPCache, cmdCiliumNode, cmdNetpol},
	}},
	{ID: 10, Name: "world-ipv6", Info: Info{
		Meaning: "world for IPv6 addresses on dual-stack clusters (newer Cilium).",
		Causes:  []string{"The same as world (2) for IPv6 addresses."},
		Next:    []string{cmdIPCache, cmdNetpol},
	}},
	{ID: 100, Min: 100, Max: 115, Name: "well-known", Info: Info{
		Meaning: "Reserved identities of well-known cluster components, two per component (before and after the namespace-name label): 100/108 etcd-operator, 101/109 cilium-kvstore, 102/110 kube-dns, 103/111 EKS kube-dns, 104/112 CoreDNS, 105/113 cilium-operator, 106/114 EKS CoreDNS, 107/115 cilium-etcd-operator.",
		Causes:  []string{"Traffic from these system components; DNS egress rules must allow them."},
		Next:    []string{cmdCiliumID},
	}},
	{ID: 128, Min: 128, Max: 255, Name: "user-reserved", Info: Info{
		Meaning: "Identities reserved for users (UserReservedNumericIdentity range).",
		Causes:  []string{"Identities assigned by an operator or integration; not allocated by Cilium itself."},
		Next:    []string{cmdCiliumID},
	}},
	{ID: 256, Min: 256, Max: LocalIdentityFlag - 1, Name: "cluster-scoped", Info: Info{
		Meaning: "An identity allocated for a set of pod labels, valid cluster-wide. With ClusterMesh the cluster ID is in bits 16-23 (identity >> 16).",
		Causes:  []string{"Any pod; look its labels up to see which workload it is."},
		Next:    []string{cmdCiliumID, "hubble observe --from-identity <id>"},
	}},
	{ID: LocalIdentityFlag, Min: LocalIdentityFlag, Max: 1<<32 - 1, Name: "node-local", Info: Info{
		Meaning: "A node-local identity (bit 24 set): allocated on this node only, for CIDR and FQDN selectors (e.g. 16777217).",
		Causes:  []string{"Traffic matched by toCIDR/toFQDNs/fromCIDR rules; its number differs from node to node."},
		Next:    []string{cmdCiliumID, cmdIPCache},
	}},
}

// Identities returns the reserved identities and the identity ranges.
func Identities() []*IdentityInfo {
	out := make([]*IdentityInfo, len(identityTable))
	for i := range identityTable {
		out[i] = &identityTable[i]
	}
	return out
}

// Identity looks a Cilium identity up by number ("2", "ID:2", "16777217")
// or reserved name ("world", "reserved:remote-node"). A number that is not
// a reserved identity resolves to its range. Numbers 11-99 and 116-127 are
// not assigned and are not found.
func Identity(numOrName string) (*IdentityInfo, bool) {
	s := strings.TrimSpace(numOrName)
	ls := lowerASCII(s)
	for _, p := range []string{"id:", "identity:", "identity "} {
		if strings.HasPrefix(ls, p) {
			s = strings.TrimSpace(s[len(p):])
			ls = lowerASCII(s)
		}
	}
	ls = strings.TrimPrefix(ls, "reserved:")
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return identityByNumber(uint32(n))
	}
	for i := range identityTable {
		if id := &identityTable[i]; id.Max == 0 && id.Name == ls {
			return id, true
		}
	}
	return nil, false
}

func identityByNumber(n uint32) (*IdentityInfo, bool) {
	for i := range identityTable {
		id := &identityTable[i]
		if id.Max == 0 && id.ID == n || id.Max != 0 && n >= id.Min && n <= id.Max {
			return id, true
		}
	}
	return nil, false
}

func (id *IdentityInfo) explanation(input string, n uint32, numeric bool) Explanation {
	e := Explanation{Kind: KindIdentity, Input: input, Info: id.Info}
	if id.Max == 0 {
		e.Key = strconv.FormatUint(uint64(id.ID), 10)
		e.Title = "identity " + e.Key + " (reserved:" + id.Name + ")"
		if id.ID == 0 {
			e.Title = "identity 0 (unknown)"
		}
		return e
	}
	e.Key = id.Name
	e.Title = "identity range " + strconv.FormatUint(uint64(id.Min), 10) + "-" + strconv.FormatUint(uint64(id.Max), 10) + " (" + id.Name + ")"
	if numeric {
		e.Title = "identity " + strconv.FormatUint(uint64(n), 10) + " (" + id.Name + ")"
		if id.Name == "cluster-scoped" && n>>16 > 0 {
			e.Notes = append(e.Notes, "ClusterMesh cluster ID "+strconv.FormatUint(uint64(n>>16), 10)+".")
		}
	}
	return e
}
