package cilium

import "testing"

func TestParseMonitorTestdata(t *testing.T) {
	drops, other, errs := ParseMonitor(readTestdata(t, "monitor-drop.txt"))
	noErrors(t, errs)
	if len(drops) != 5 || other != 3 {
		t.Fatalf("%d drops, %d other; want 5, 3", len(drops), other)
	}
	world := DropEvent{Line: 4, Reason: "Policy denied", Mark: 0x9e2f6b1c, Endpoint: 1317, Ifindex: 14, HasIfindex: true,
		File: "bpf_lxc.c", FileLine: 2085, SrcIdentity: IdentityWorld, DstIdentity: 23456, HasIdentity: true,
		Summary: "10.244.3.17:41234 -> 10.0.1.5:8080 tcp SYN", Proto: "tcp",
		Src: ip("10.244.3.17"), SrcPort: 41234, Dst: ip("10.0.1.5"), DstPort: 8080, TCPFlags: []string{"SYN"}}
	deepEqual(t, "world drop", drops[0], world)
	remote := world
	remote.Line, remote.Mark, remote.SrcIdentity = 5, 0x1d4a0c77, IdentityRemoteNode
	remote.Summary, remote.Src, remote.SrcPort = "10.240.0.7:52110 -> 10.0.1.5:8080 tcp SYN", ip("10.240.0.7"), 52110
	deepEqual(t, "remote-node drop", drops[1], remote)
	if d := drops[2]; d.Reason != "Policy denied by denylist" || d.SrcIdentity != IdentityWorldIPv4 || d.Endpoint != 2071 {
		t.Errorf("denylist: %+v", d)
	}
	if d := drops[3]; d.Reason != "Stale or unroutable IP" || d.SrcIdentity != 23456 || d.DstIdentity != IdentityUnknown ||
		len(d.TCPFlags) != 2 || d.TCPFlags[0] != "SYN" || d.TCPFlags[1] != "ACK" || d.File != "bpf_host.c" {
		t.Errorf("stale: %+v", d)
	}
	if d := drops[4]; d.Proto != "icmp" || d.Info != "RouterSolicitation" || d.Src != ip("fe80::d8e7:fbff:fe6a:1c20") || d.Dst != ip("ff02::2") {
		t.Errorf("icmpv6: %+v", d)
	}
}

func TestParseMonitorLines(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     DropEvent
	}{
		{"Cilium 1.8: numeric identities, no ifindex or file",
			"xx drop (Policy denied (L3)) flow 0x6b1cc1a8 to endpoint 0, identity 2->0: 10.244.3.7:41234 -> 10.0.1.5:8080 tcp SYN",
			DropEvent{Line: 1, Reason: "Policy denied (L3)", Mark: 0x6b1cc1a8, SrcIdentity: IdentityWorld, HasIdentity: true,
				Summary: "10.244.3.7:41234 -> 10.0.1.5:8080 tcp SYN", Proto: "tcp", Src: ip("10.244.3.7"), SrcPort: 41234, Dst: ip("10.0.1.5"), DstPort: 8080, TCPFlags: []string{"SYN"}}},
		{"identity without the empty part, ICMP the old way",
			"xx drop (Policy denied) flow 0x0 to endpoint 12, ifindex 5, file bpf_lxc.c:1364, identity remote-node->12: 10.0.0.1 -> 10.0.0.2 EchoRequest",
			DropEvent{Line: 1, Reason: "Policy denied", Endpoint: 12, Ifindex: 5, HasIfindex: true, File: "bpf_lxc.c", FileLine: 1364,
				SrcIdentity: IdentityRemoteNode, DstIdentity: 12, HasIdentity: true, Summary: "10.0.0.1 -> 10.0.0.2 EchoRequest",
				Src: ip("10.0.0.1"), Dst: ip("10.0.0.2"), Info: "EchoRequest"}},
		{"IP trace ID, extended error, IPv6 ports, tunnel",
			"xx drop (Policy denied, -3) flow 0x1 to endpoint 7, ifindex 3, file bpf_overlay.c:211,  [ ip-trace-id = 77 ], identity world-ipv6->7: [fd00::1]:40000 -> [fd00::2]:443 tcp SYN, ACK [tunnel 10.240.0.4:39000 -> 10.240.0.7:8472 vxlan]",
			DropEvent{Line: 1, Reason: "Policy denied, -3", Mark: 1, Endpoint: 7, Ifindex: 3, HasIfindex: true, File: "bpf_overlay.c", FileLine: 211,
				IPTraceID: 77, SrcIdentity: IdentityWorldIPv6, DstIdentity: 7, HasIdentity: true,
				Summary: "[fd00::1]:40000 -> [fd00::2]:443 tcp SYN, ACK [tunnel 10.240.0.4:39000 -> 10.240.0.7:8472 vxlan]", Proto: "tcp",
				Src: ip("fd00::1"), SrcPort: 40000, Dst: ip("fd00::2"), DstPort: 443, TCPFlags: []string{"SYN", "ACK"},
				Tunnel: "[tunnel 10.240.0.4:39000 -> 10.240.0.7:8472 vxlan]"}},
		{"reason with parentheses, unknown packet, CPU prefix",
			"CPU 02: xx drop (No tunnel/encapsulation endpoint (datapath BUG!)) flow 0x0 to endpoint 0, ifindex 0, file bpf_lxc.c:1, , identity 300->host: [unknown]",
			DropEvent{Line: 1, CPU: "CPU 02", Reason: "No tunnel/encapsulation endpoint (datapath BUG!)", HasIfindex: true, File: "bpf_lxc.c", FileLine: 1,
				SrcIdentity: 300, DstIdentity: IdentityHost, HasIdentity: true, Summary: "[unknown]"}},
		{"ethernet only",
			"xx drop (Unsupported L2 protocol) flow 0x0 to endpoint 0, ifindex 2, file bpf_host.c:9, , identity unknown->unknown: 9a:3e:71:05:c2:11 -> ff:ff:ff:ff:ff:ff LLDP",
			DropEvent{Line: 1, Reason: "Unsupported L2 protocol", Ifindex: 2, HasIfindex: true, File: "bpf_host.c", FileLine: 9, HasIdentity: true,
				Summary: "9a:3e:71:05:c2:11 -> ff:ff:ff:ff:ff:ff LLDP", Info: "LLDP"}},
		{"verbose",
			"CPU 01: MARK 0x9e2f6b1c FROM 1317 DROP: 74 bytes, reason Policy denied, identity world->23456, to endpoint 1317",
			DropEvent{Line: 1, CPU: "CPU 01", Reason: "Policy denied", Mark: 0x9e2f6b1c, From: 1317, Bytes: 74, Endpoint: 1317,
				SrcIdentity: IdentityWorld, DstIdentity: 23456, HasIdentity: true}},
		{"verbose without identities or endpoint",
			"CPU 03: MARK 0x0 FROM 94 DROP: 60 bytes, reason Unsupported L3 protocol",
			DropEvent{Line: 1, CPU: "CPU 03", Reason: "Unsupported L3 protocol", From: 94, Bytes: 60}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			drops, other, errs := ParseMonitor([]byte(tc.in + "\n"))
			noErrors(t, errs)
			if len(drops) != 1 || other != 0 {
				t.Fatalf("%d drops, %d other", len(drops), other)
			}
			deepEqual(t, "drop", drops[0], tc.want)
		})
	}
}

func TestParseMonitorErrors(t *testing.T) {
	in := `-> endpoint 1317 flow 0x9e2f6b1c , identity 40123->23456 state established ifindex lxc5e0d2b7f19a3 orig-ip 10.0.2.31: 10.0.2.31:38822 -> 10.0.1.5:8080 tcp ACK
Policy verdict log: flow 0x0 local EP ID 1317, remote ID world, proto 6, ingress, action deny, auth: disabled, match none, 10.244.3.17:41234 -> 10.0.1.5:8080 tcp SYN
------------------------------------------------------------------------------
00000000  4e 7c f2 8a 10 5d 9a 3e  71 05 c2 11 08 00 45 00  |N|...].>q.....E.|
xx drop (Policy denied flow 0x0 to endpoint 1, identity 2->1: [unknown]
xx drop (Policy denied) flow zz to endpoint 1, identity 2->1: [unknown]
xx drop (Policy denied) flow 0x0 from endpoint 1, identity 2->1: [unknown]
xx drop (Policy denied) flow 0x0 to endpoint one, identity 2->1: [unknown]
xx drop (Policy denied) flow 0x0 to endpoint 1, ident 2->1: [unknown]
xx drop (Policy denied) flow 0x0 to endpoint 1, cpu 3, identity 2->1: [unknown]
xx drop (Policy denied) flow 0x0 to endpoint 1, ifindex x, identity 2->1: [unknown]
xx drop (Policy denied) flow 0x0 to endpoint 1, file bpf_lxc.c, identity 2->1: [unknown]
xx drop (Policy denied) flow 0x0 to endpoint 1, identity 2=>1: [unknown]
xx drop (Policy denied) flow 0x0 to endpoint 1, identity planet->1: [unknown]
xx drop (Policy denied) flow 0x0 to endpoint 1, identity 2->1: 10.0.0.1 to 10.0.0.2
xx drop (Policy denied) flow 0x0 to endpoint 1, identity 2->1: 10.0.0.1 -> 10.0.0.256
CPU 01: MARK zz FROM 1 DROP: 1 bytes, reason x
CPU 01: MARK 0x0 FROM 1 DROP: many bytes, reason x
CPU 01: MARK 0x0 FROM 1 DROP: 1 bytes, reason x, to endpoint y
hello world
`
	drops, other, errs := ParseMonitor([]byte(in))
	if len(drops) != 0 || other != 4 {
		t.Errorf("%d drops, %d other; want 0, 4", len(drops), other)
	}
	wantErrors(t, errs,
		`5: drop reason not followed by ") flow "`,
		`6: flow "zz" is not a number`,
		`7: no "to endpoint" after the flow`,
		`8: endpoint: "one" is not a number`,
		`9: no identity`,
		`10: unknown part "cpu 3"`,
		`11: "ifindex x": not a number`,
		`12: file "bpf_lxc.c" has no line`,
		`13: identities "2=>1" are not SRC->DST`,
		`14: identities "planet->1" are not numbers or reserved names`,
		`15: connection summary "10.0.0.1 to 10.0.0.2" is not SRC -> DST`,
		`16: "10.0.0.256" is not an address or address:port`,
		`17: mark "zz" is not a number`,
		`18: bytes: "many" is not a number`,
		`19: endpoint: "y" is not a number`,
		`20: not a cilium monitor line`,
	)
}
