package conntrack

import (
	"net/netip"
	"testing"
)

func TestNATHelpers(t *testing.T) {
	for _, tc := range []struct {
		name, line       string
		redirected, snat bool
	}{
		{"kube-proxy DNAT to an endpoint",
			"tcp 6 10 ESTABLISHED src=10.244.1.12 dst=10.96.0.1 sport=51234 dport=443 src=172.18.0.2 dst=10.244.1.12 sport=6443 dport=51234", true, false},
		{"istio inbound REDIRECT: same address, port 15006",
			"tcp 6 10 ESTABLISHED src=10.244.1.5 dst=10.244.1.12 sport=43210 dport=9000 src=10.244.1.12 dst=10.244.1.5 sport=15006 dport=43210", true, false},
		{"direct pod to pod",
			"tcp 6 10 ESTABLISHED src=10.244.1.12 dst=10.244.2.8 sport=47890 dport=9000 src=10.244.2.8 dst=10.244.1.12 sport=9000 dport=47890", false, false},
		{"masqueraded to the node IP",
			"tcp 6 10 ESTABLISHED src=10.244.1.12 dst=10.244.1.1 sport=60022 dport=10250 src=10.244.1.1 dst=192.168.126.11 sport=10250 dport=60022", false, true},
		{"SNAT port remap only",
			"udp 17 10 src=10.0.0.1 dst=10.0.0.2 sport=5000 dport=53 src=10.0.0.2 dst=10.0.0.1 sport=53 dport=5001", false, true},
		{"icmp: ids are not ports",
			"icmp 1 10 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=1 src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=9", false, false},
		{"icmp DNAT",
			"icmp 1 10 src=10.0.0.1 dst=10.96.0.5 type=8 code=0 id=1 src=10.0.0.9 dst=10.0.0.1 type=0 code=0 id=1", true, false},
	} {
		e, err := ParseLine(tc.line)
		if err != nil {
			t.Fatal(err)
		}
		if e.Redirected() != tc.redirected || e.SourceNATed() != tc.snat {
			t.Errorf("%s: Redirected %v SourceNATed %v, want %v %v", tc.name, e.Redirected(), e.SourceNATed(), tc.redirected, tc.snat)
		}
	}
}

func TestMatches(t *testing.T) {
	e, err := ParseLine("tcp 6 10 SYN_SENT src=10.244.1.12 dst=10.96.45.7 sport=39022 dport=9000 [UNREPLIED] src=10.244.2.8 dst=10.244.1.12 sport=9000 dport=39022 mark=1")
	if err != nil {
		t.Fatal(err)
	}
	icmp, err := ParseLine("icmp 1 10 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=1 src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=1")
	if err != nil {
		t.Fatal(err)
	}
	anyAddr := netip.Addr{}
	for _, tc := range []struct {
		name  string
		e     *Entry
		p     Proto
		dst   netip.Addr
		dport uint16
		want  bool
	}{
		{"protocol, address and port", &e, TCP, ip("10.96.45.7"), 9000, true},
		{"port only", &e, TCP, anyAddr, 9000, true},
		{"protocol only", &e, TCP, anyAddr, 0, true},
		{"IPv4-mapped destination", &e, TCP, ip("::ffff:10.96.45.7"), 9000, true},
		{"the reply's source is not the destination", &e, TCP, ip("10.244.2.8"), 9000, false},
		{"other port", &e, TCP, anyAddr, 9001, false},
		{"other protocol", &e, UDP, anyAddr, 9000, false},
		{"icmp by address", &icmp, ICMP, ip("10.0.0.2"), 0, true},
		{"icmp has no port", &icmp, ICMP, ip("10.0.0.2"), 1, false},
	} {
		if got := tc.e.Matches(tc.p, tc.dst, tc.dport); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestNames(t *testing.T) {
	for got, want := range map[string]string{
		(FlagUnreplied | FlagAssured).String(): "[UNREPLIED] [ASSURED]",
		FlagHWOffload.String():                 "[HW_OFFLOAD]",
		Flags(0).String():                      "",
		IPv4.String() + " " + IPv6.String():    "ipv4 ipv6",
		Family(7).String():                     "unknown(7)",
		Proto(253).String():                    "proto-253",
		UDPLite.String():                       "udplite",
	} {
		if got != want {
			t.Errorf("%q, want %q", got, want)
		}
	}
}
