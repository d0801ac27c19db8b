package cilium

import (
	"testing"
	"time"
)

func TestParseHubbleTextTestdata(t *testing.T) {
	flows, other, errs := ParseHubbleText(readTestdata(t, "hubble-observe.txt"))
	noErrors(t, errs)
	if len(flows) != 8 || other != 2 {
		t.Fatalf("%d flows, %d other; want 8, 2", len(flows), other)
	}
	orders := FlowPeer{Port: 8080, Name: "prod/orders-api-5d9c7b6f4-8kqzt", Namespace: "prod", PodName: "orders-api-5d9c7b6f4-8kqzt", Identity: 23456, HasIdentity: true}
	world := Flow{
		Line: 3, Time: time.Date(0, 6, 12, 8, 20, 31, 482000000, time.UTC), TimeText: "Jun 12 08:20:31.482",
		Verdict: VerdictDropped, VerdictText: "DROPPED", Type: "Policy denied", DropReasonText: "Policy denied",
		Source:      FlowPeer{Addr: ip("10.244.3.17"), Port: 41234, Identity: IdentityWorld, HasIdentity: true},
		Destination: orders, Protocol: "TCP", TCPFlags: []string{"SYN"}, Reply: ReplyNo, Summary: "TCP Flags: SYN",
	}
	deepEqual(t, "world drop", flows[1], world)
	if !flows[1].PolicyDenied() {
		t.Error("world drop: not PolicyDenied")
	}

	verdict := world
	verdict.Line, verdict.VerdictText, verdict.Type, verdict.DropReasonText = 2, "DENIED", "policy-verdict:none INGRESS", ""
	verdict.IsPolicyVerdict, verdict.PolicyMatch, verdict.TrafficDirection, verdict.Reply = true, "none", "INGRESS", ReplyUnknown
	deepEqual(t, "policy verdict", flows[0], verdict)
	if !flows[0].PolicyDenied() {
		t.Error("policy verdict: not PolicyDenied")
	}

	remote := world
	remote.Line, remote.Time, remote.TimeText = 4, time.Date(0, 6, 12, 8, 20, 33, 17000000, time.UTC), "Jun 12 08:20:33.017"
	remote.Source = FlowPeer{Addr: ip("10.240.0.7"), Port: 52110, Identity: IdentityRemoteNode, HasIdentity: true}
	deepEqual(t, "remote-node drop", flows[2], remote)

	frontend := FlowPeer{Port: 38822, Name: "prod/frontend-7b9d4c8f6-2mwzq", Namespace: "prod", PodName: "frontend-7b9d4c8f6-2mwzq", Identity: 40123, HasIdentity: true}
	fwd := Flow{Line: 5, Time: time.Date(0, 6, 12, 8, 20, 34, 100000000, time.UTC), TimeText: "Jun 12 08:20:34.100",
		Verdict: VerdictForwarded, VerdictText: "FORWARDED", Type: "to-endpoint", TraceObservationPoint: "to-endpoint",
		Source: frontend, Destination: orders, Protocol: "TCP", TCPFlags: []string{"ACK", "PSH"}, Reply: ReplyNo, Summary: "TCP Flags: ACK, PSH"}
	deepEqual(t, "forwarded", flows[3], fwd)

	// A reply is printed with its ends swapped: "A <- B" goes from B to A.
	reply := flows[4]
	if reply.Reply != ReplyYes || reply.Source.Name != "prod/orders-api-5d9c7b6f4-8kqzt" || reply.Source.Port != 8080 ||
		reply.Destination.Name != "prod/frontend-7b9d4c8f6-2mwzq" || reply.Destination.Identity != 40123 {
		t.Errorf("reply: %+v", reply)
	}
	v6 := flows[5]
	if v6.Destination.Addr != ip("fd00:10:96::a") || v6.Destination.Port != 53 || v6.Destination.Identity != 16777217 || v6.Protocol != "UDP" {
		t.Errorf("IPv6: %+v", v6)
	}
	if deny := flows[6]; deny.DropReasonText != "Policy denied by denylist" || !deny.PolicyDenied() || deny.Source.Identity != IdentityWorldIPv4 {
		t.Errorf("denylist: %+v", deny)
	}
	icmp := flows[7]
	if icmp.Source.Addr != ip("10.0.2.240") || icmp.Source.Port != 0 || icmp.Destination.Addr != ip("10.0.1.23") ||
		icmp.Destination.Identity != IdentityHealth || icmp.Protocol != "ICMPv4" {
		t.Errorf("icmp: %+v", icmp)
	}
}

func TestParseHubbleTextLine(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     Flow
	}{
		{"printer test: compact with node, health source",
			"Jan  1 00:20:34.567 [k8s1]: 1.1.1.1:31793 (health) -> 2.2.2.2:8080 (ID:12345) Policy denied DROPPED (TCP Flags: SYN)",
			Flow{Time: time.Date(0, 1, 1, 0, 20, 34, 567000000, time.UTC), TimeText: "Jan  1 00:20:34.567", Node: "k8s1",
				Verdict: VerdictDropped, VerdictText: "DROPPED", Type: "Policy denied", DropReasonText: "Policy denied",
				Source:      FlowPeer{Addr: ip("1.1.1.1"), Port: 31793, Identity: IdentityHealth, HasIdentity: true},
				Destination: FlowPeer{Addr: ip("2.2.2.2"), Port: 8080, Identity: 12345, HasIdentity: true},
				Protocol:    "TCP", TCPFlags: []string{"SYN"}, Reply: ReplyNo, Summary: "TCP Flags: SYN"}},
		{"older policy verdict without direction, policy names, trace ID",
			"2024-06-12T08:20:31.482Z: 10.244.3.7:41234 (world) <> ns/web:8080 (ID:5) policy-verdict:L3-L4 ALLOWED BY prod/allow-web (CiliumNetworkPolicy), all (CiliumClusterwideNetworkPolicy) (IP Trace ID: 9; TCP Flags: SYN; SPIRE)",
			Flow{Time: time.Date(2024, 6, 12, 8, 20, 31, 482000000, time.UTC), TimeText: "2024-06-12T08:20:31.482Z",
				Verdict: VerdictForwarded, VerdictText: "ALLOWED", Type: "policy-verdict:L3-L4", IsPolicyVerdict: true, PolicyMatch: "L3-L4",
				Source:      FlowPeer{Addr: ip("10.244.3.7"), Port: 41234, Identity: IdentityWorld, HasIdentity: true},
				Destination: FlowPeer{Port: 8080, Name: "ns/web", Namespace: "ns", PodName: "web", Identity: 5, HasIdentity: true},
				By:          []PolicyRef{{Name: "allow-web", Namespace: "prod", Kind: "CiliumNetworkPolicy"}, {Name: "all", Kind: "CiliumClusterwideNetworkPolicy"}},
				Protocol:    "TCP", TCPFlags: []string{"SYN"}, Summary: "IP Trace ID: 9; TCP Flags: SYN; SPIRE"}},
		{"IPv6 without port, DNS names, unknown time format",
			"N/A: [fd00::1]:5353 (ID:300) -> one.one.one.one,cloudflare-dns.com:443 (world-ipv6) to-stack TRANSLATED ()",
			Flow{TimeText: "N/A", Verdict: VerdictTranslated, VerdictText: "TRANSLATED", Type: "to-stack", TraceObservationPoint: "to-stack",
				Source:      FlowPeer{Addr: ip("fd00::1"), Port: 5353, Identity: 300, HasIdentity: true},
				Destination: FlowPeer{Port: 443, Name: "one.one.one.one,cloudflare-dns.com", Identity: IdentityWorldIPv6, HasIdentity: true},
				Reply:       ReplyNo}},
		{"ICMPv6, no port, audit",
			"Jun 12 08:20:31.482: fd00::1 (unknown) -> fe80::1 (host) policy-verdict:none EGRESS AUDITED (ICMPv6 EchoRequest)",
			Flow{Time: time.Date(0, 6, 12, 8, 20, 31, 482000000, time.UTC), TimeText: "Jun 12 08:20:31.482",
				Verdict: VerdictAudit, VerdictText: "AUDITED", Type: "policy-verdict:none EGRESS", IsPolicyVerdict: true, PolicyMatch: "none", TrafficDirection: "EGRESS",
				Source:      FlowPeer{Addr: ip("fd00::1"), HasIdentity: true},
				Destination: FlowPeer{Addr: ip("fe80::1"), Identity: IdentityHost, HasIdentity: true},
				Reply:       ReplyNo, Protocol: "ICMPv6", Summary: "ICMPv6 EchoRequest"}},
		{"ethernet only, no summary",
			"Jun 12 08:20:31.482: 9a:3e:71:05:c2:11 (unknown) -> ff:ff:ff:ff:ff:ff (unknown) Unsupported L3 protocol DROPPED",
			Flow{Time: time.Date(0, 6, 12, 8, 20, 31, 482000000, time.UTC), TimeText: "Jun 12 08:20:31.482",
				Verdict: VerdictDropped, VerdictText: "DROPPED", Type: "Unsupported L3 protocol", DropReasonText: "Unsupported L3 protocol",
				Source:      FlowPeer{Name: "9a:3e:71:05:c2:11", HasIdentity: true},
				Destination: FlowPeer{Name: "ff:ff:ff:ff:ff:ff", HasIdentity: true}, Reply: ReplyNo}},
		{"the verdict is the verdict word followed by the summary",
			"Jun 12 08:20:31.482: 10.0.0.1:1 (ID:300) -> 10.0.0.2:2 (ID:301) Error DROPPED while DROPPED ERROR (UDP)",
			Flow{Time: time.Date(0, 6, 12, 8, 20, 31, 482000000, time.UTC), TimeText: "Jun 12 08:20:31.482",
				Verdict: VerdictError, VerdictText: "ERROR", Type: "Error DROPPED while DROPPED", DropReasonText: "Error DROPPED while DROPPED",
				Source:      FlowPeer{Addr: ip("10.0.0.1"), Port: 1, Identity: 300, HasIdentity: true},
				Destination: FlowPeer{Addr: ip("10.0.0.2"), Port: 2, Identity: 301, HasIdentity: true},
				Reply:       ReplyNo, Protocol: "UDP", Summary: "UDP"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseHubbleTextLine(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			deepEqual(t, "flow", got, tc.want)
		})
	}
}

func TestParseHubbleTextErrors(t *testing.T) {
	for _, tc := range []struct{ in, err string }{
		{"no timestamp at all", `no "TIME: " prefix`},
		{"Jan  1 00:00:00.000: 1.1.1.1:1 (ID:1) => 2.2.2.2:2 (ID:2) to-stack FORWARDED (UDP)", `"=>" is not an arrow (->, <- or <>)`},
		{"Jan  1 00:00:00.000: 1.1.1.1:1 ID:1 -> 2.2.2.2:2 (ID:2) to-stack FORWARDED (UDP)", `source identity: "ID:1" is not an identity in parentheses`},
		{"Jan  1 00:00:00.000: 1.1.1.1:1 (ID:1) -> 2.2.2.2:2 (planet) to-stack FORWARDED (UDP)", `destination identity: "(planet)" is neither ID:<number> nor a reserved identity`},
		{"Jan  1 00:00:00.000: 1.1.1.1:1 (ID:1) -> 2.2.2.2:2 (ID:2) to-stack SENT (UDP)", "no verdict (FORWARDED, DROPPED, ...) after the flow's type"},
		{"Jan  1 00:00:00.000: 1.1.1.1:1 (ID:1) -> 2.2.2.2:2 (ID:2) to-stack FORWARDED (UDP", `summary " (UDP" is not in parentheses`},
		{"Jan  1 00:00:00.000: 1.1.1.1:99999 (ID:1) -> 2.2.2.2:2 (ID:2) to-stack FORWARDED (UDP)", `source: "1.1.1.1:99999" has no numeric port after its last colon`},
		{"Jan  1 00:00:00.000: fd00::1:80:x (ID:1) -> 2.2.2.2:2 (ID:2) to-stack FORWARDED (UDP)", `source: "fd00::1:80:x" has no numeric port after its last colon`},
		{"Jan  1 00:00:00.000: [fd00::1]80 (ID:1) -> 2.2.2.2:2 (ID:2) to-stack FORWARDED (UDP)", `source: "[fd00::1]80" is not [address]:port`},
		{"Jan  1 00:00:00.000: 1.1.1.1:1 (ID:1) -> 2.2.2.2:2 (ID:2) policy-verdict:none DENIED BY x (UDP)", "no summary after the policy names"},
		{"Jan  1 00:00:00.000: 1.1.1.1:1 (ID:1) -> 2.2.2.2:2 (ID:2) policy-verdict:none DENIED BY x (UDP", `policy kind "UDP" is not closed`},
		{"Jan  1 00:00:00.000: 1.1.1.1:1 (ID:1) -> 2.2.2.2:2 (ID:2) policy-verdict:none DENIED BY  (a) (UDP)", `policy name " (a) (UDP)" is not followed by its kind in parentheses`},
		{"Jan  1 00:00:00.000: 1.1.1.1:1 (ID:1) -> (x):2 (ID:2) to-stack FORWARDED (UDP)", `destination: "(x):2" is not a peer name`},
	} {
		_, err := ParseHubbleTextLine(tc.in)
		if err == nil || err.Error() != tc.err {
			t.Errorf("%q: error %v, want %s", tc.in, err, tc.err)
		}
	}
	flows, other, errs := ParseHubbleText([]byte("EVENTS LOST: HUBBLE_RING_BUFFER CPU(0) 1\nJun 12 08:20:30.000 [relay]: 2 nodes are unavailable: a, b\nJun 12 08:20:30.000 [relay]: 1 nodes removed from cluster: c\nbogus\n"))
	if len(flows) != 0 || other != 3 {
		t.Errorf("%d flows, %d other; want 0, 3", len(flows), other)
	}
	wantErrors(t, errs, `4: no "TIME: " prefix`)
}
