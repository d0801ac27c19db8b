package accesslog

import (
	"strconv"
	"strings"
)

// Direction says which way a cluster sends traffic, from its Istio name.
type Direction string

// Directions of Istio's cluster names.
const (
	DirNone               Direction = ""                    // no cluster: "-", null or empty
	DirOutbound           Direction = "outbound"            // outbound|9080|v1|reviews.default.svc.cluster.local, and outbound_.9080_.v1_.… (SNI-DNAT)
	DirInbound            Direction = "inbound"             // inbound|8080|| (1.10+), inbound|9080|http|reviews… (before 1.10)
	DirInboundVIP         Direction = "inbound-vip"         // waypoint, to a service: inbound-vip|9080|http[/subset]|reviews…
	DirInboundPod         Direction = "inbound-pod"         // early ambient waypoints, to a pod: inbound-pod|9080||10.244.2.9
	DirPassthrough        Direction = "passthrough"         // PassthroughCluster: egress to an unknown host under ALLOW_ANY
	DirInboundPassthrough Direction = "inbound-passthrough" // InboundPassthroughCluster (older: …Ipv4, …Ipv6)
	DirBlackHole          Direction = "blackhole"           // BlackHoleCluster: egress refused under REGISTRY_ONLY
	DirInternal           Direction = "internal"            // ambient internal listeners and tunnels (main_internal, connect_originate, encap, …)
	DirUnknown            Direction = "unknown"             // any other name: a non-Istio proxy's, a custom alt_stat_name, …
)

// Cluster is an upstream cluster name taken apart.
type Cluster struct {
	// Name as logged, less a trailing ';' (see AltStatName).
	Name      string
	Direction Direction
	// Port is the service (outbound, inbound-vip) or target (inbound) port;
	// 0 when the name has none.
	Port int
	// Subset is the DestinationRule subset, "" for none.
	Subset string
	// PortName is the third part of an inbound name before Istio 1.10
	// (inbound|9080|http|reviews…), and the protocol of a waypoint's
	// inbound-vip name (http, tcp).
	PortName string
	// Service is the service's host name (an FQDN for Kubernetes services,
	// the ServiceEntry host otherwise), or a pod IP for inbound-pod.
	Service string
	// AltStatName is set when the logged name ended in ';'. Since 1.23
	// Istio gives every cluster an alt_stat_name of its name plus ';' (so
	// that stats tags can be parsed), and %UPSTREAM_CLUSTER% prints the
	// alt_stat_name: formats still using that operator show the ';' (the
	// default TEXT format until it moved to %UPSTREAM_CLUSTER_RAW% in 1.24,
	// the default JSON format until 1.25, custom formats).
	// %UPSTREAM_CLUSTER_RAW% prints the plain name.
	AltStatName bool
}

// internalClusters are ambient's internal cluster names (waypoints and
// sidecars speaking HBONE).
var internalClusters = map[string]bool{
	"main_internal":     true,
	"connect_originate": true,
	"connect_inbound":   true,
	"encap":             true,
}

// ParseCluster takes an upstream cluster name apart. It never fails: a
// name it does not know is DirUnknown with only Name set.
func ParseCluster(s string) Cluster {
	s = strings.TrimSpace(s)
	c := Cluster{}
	if strings.HasSuffix(s, ";") {
		s = s[:len(s)-1]
		c.AltStatName = true
	}
	c.Name = s
	switch s {
	case "", "-", "null":
		c.Name = ""
		c.Direction = DirNone
		return c
	case "PassthroughCluster":
		c.Direction = DirPassthrough
		return c
	case "BlackHoleCluster":
		c.Direction = DirBlackHole
		return c
	case "InboundPassthroughCluster", "InboundPassthroughClusterIpv4", "InboundPassthroughClusterIpv6":
		c.Direction = DirInboundPassthrough
		return c
	}
	if internalClusters[s] {
		c.Direction = DirInternal
		return c
	}
	c.Direction = DirUnknown
	var parts []string
	switch {
	case strings.Count(s, "|") == 3:
		parts = strings.SplitN(s, "|", 4)
	case strings.HasPrefix(s, "outbound_.") || strings.HasPrefix(s, "inbound_."):
		// The SNI form gateways use for AUTO_PASSTHROUGH (sni-dnat):
		// outbound_.9080_.v1_.reviews.default.svc.cluster.local, "_" for no subset.
		parts = strings.SplitN(s, "_.", 4)
		if len(parts) == 4 && parts[2] == "_" {
			parts[2] = ""
		}
	default:
		return c
	}
	if len(parts) != 4 {
		return c
	}
	port, err := strconv.Atoi(parts[1])
	if err != nil || port < 0 || port > 65535 {
		return c
	}
	switch parts[0] {
	case "outbound":
		c.Direction, c.Subset = DirOutbound, parts[2]
	case "inbound":
		c.Direction, c.PortName = DirInbound, parts[2]
	case "inbound-vip":
		c.Direction = DirInboundVIP
		c.PortName, c.Subset, _ = strings.Cut(parts[2], "/")
	case "inbound-pod":
		c.Direction, c.PortName = DirInboundPod, parts[2]
	default:
		return c
	}
	c.Port, c.Service = port, parts[3]
	return c
}
