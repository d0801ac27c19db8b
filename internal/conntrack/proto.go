package conntrack

import "strconv"

// Family is the layer 3 protocol family, numbered as AF_INET and AF_INET6
// (the number `conntrack -o extended` prints after the name).
type Family uint8

// Families conntrack tracks.
const (
	IPv4 Family = 2
	IPv6 Family = 10
)

func (f Family) String() string {
	switch f {
	case IPv4:
		return "ipv4"
	case IPv6:
		return "ipv6"
	}
	return "unknown(" + strconv.Itoa(int(f)) + ")"
}

// Proto is the layer 4 protocol number.
type Proto uint8

// Protocols libnetfilter_conntrack names; any other prints as "unknown".
const (
	ICMP    Proto = 1
	TCP     Proto = 6
	UDP     Proto = 17
	DCCP    Proto = 33
	GRE     Proto = 47
	ICMPv6  Proto = 58
	SCTP    Proto = 132
	UDPLite Proto = 136
)

var protoNames = map[Proto]string{
	ICMP: "icmp", TCP: "tcp", UDP: "udp", DCCP: "dccp", GRE: "gre", ICMPv6: "icmpv6", SCTP: "sctp", UDPLite: "udplite",
}

// String is the name conntrack prints, or "proto-N" for the others.
func (p Proto) String() string {
	if n, ok := protoNames[p]; ok {
		return n
	}
	return "proto-" + strconv.Itoa(int(p))
}

// HasPorts reports whether tuples of the protocol carry sport= and dport=.
func (p Proto) HasPorts() bool {
	switch p {
	case TCP, UDP, UDPLite, SCTP, DCCP:
		return true
	}
	return false
}

func (p Proto) isICMP() bool { return p == ICMP || p == ICMPv6 }

// protoByName reads the name conntrack printed; ok is false for a name it
// never prints. "unknown" maps to no protocol in particular.
func protoByName(name string) (p Proto, known, ok bool) {
	switch name {
	case "tcp":
		return TCP, true, true
	case "udp":
		return UDP, true, true
	case "icmp":
		return ICMP, true, true
	case "icmpv6":
		return ICMPv6, true, true
	case "sctp":
		return SCTP, true, true
	case "udplite":
		return UDPLite, true, true
	case "gre":
		return GRE, true, true
	case "dccp":
		return DCCP, true, true
	case "unknown":
		return 0, false, true
	}
	return 0, false, false
}
