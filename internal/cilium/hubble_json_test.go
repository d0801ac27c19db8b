package cilium

import (
	"strings"
	"testing"
	"time"
)

var ordersLabels = []string{
	"k8s:app=orders-api",
	"k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=prod",
	"k8s:io.cilium.k8s.policy.cluster=default",
	"k8s:io.cilium.k8s.policy.serviceaccount=orders-api",
	"k8s:io.kubernetes.pod.namespace=prod",
}

// ordersPeer is prod/orders-api on the Cilium node, as Hubble's JSON has it.
func ordersPeer(addr string, port uint16) FlowPeer {
	return FlowPeer{Addr: ip(addr), Port: port, Namespace: "prod", PodName: "orders-api-5d9c7b6f4-8kqzt",
		ID: 1317, Identity: 23456, HasIdentity: true, Labels: ordersLabels, ClusterName: "default",
		Workloads: []Workload{{Name: "orders-api", Kind: "Deployment"}}}
}

func TestParseHubbleJSONTestdata(t *testing.T) {
	flows, other, errs := ParseHubbleJSON(readTestdata(t, "hubble-flows.json"))
	noErrors(t, errs)
	if len(flows) != 8 || other != 2 {
		t.Fatalf("%d flows, %d other; want 8, 2", len(flows), other)
	}
	// Incident (d): a pod on a kubenet node (podCIDR 10.244.3.0/24) is
	// world to Cilium, and policy drops its SYN to a pod on a Cilium node.
	world := Flow{
		Line: 1, Time: time.Date(2024, 6, 12, 8, 20, 31, 482113907, time.UTC),
		UUID: "5f0c2b8e-8d0a-4f51-9b0e-2c7f4a9e1d01", Node: "cilium-node-1",
		Verdict: VerdictDropped, FlowType: "L3_L4", EventType: 1, EventSubType: 133, HasEventType: true,
		DropReason: 133, DropReasonDesc: "POLICY_DENIED",
		Source:      FlowPeer{Addr: ip("10.244.3.17"), Port: 41234, Identity: IdentityWorld, HasIdentity: true, Labels: []string{"reserved:world"}},
		Destination: ordersPeer("10.0.1.5", 8080),
		Protocol:    "TCP", TCPFlags: []string{"SYN"}, TrafficDirection: "INGRESS", Reply: ReplyNo, Summary: "TCP Flags: SYN",
	}
	deepEqual(t, "world drop", flows[0], world)
	if !flows[0].Dropped() || !flows[0].PolicyDenied() || !flows[0].Source.Identity.IsWorld() {
		t.Errorf("world drop: Dropped %v PolicyDenied %v IsWorld %v", flows[0].Dropped(), flows[0].PolicyDenied(), flows[0].Source.Identity.IsWorld())
	}

	verdict := world
	verdict.Line, verdict.Time, verdict.UUID = 2, time.Date(2024, 6, 12, 8, 20, 31, 482109117, time.UTC), "5f0c2b8e-8d0a-4f51-9b0e-2c7f4a9e1d00"
	verdict.EventType, verdict.EventSubType, verdict.IsPolicyVerdict, verdict.DropReason, verdict.Reply = 5, 0, true, 0, ReplyUnknown
	deepEqual(t, "policy verdict", flows[1], verdict)
	if !flows[1].PolicyDenied() {
		t.Error("policy verdict event: not PolicyDenied")
	}

	remote := world
	remote.Line, remote.Time, remote.UUID = 3, time.Date(2024, 6, 12, 8, 20, 33, 17650224, time.UTC), "0b7d5c61-3a8e-4c27-8f4d-6e1b2a9c7f10"
	remote.Source = FlowPeer{Addr: ip("10.240.0.7"), Port: 52110, Identity: IdentityRemoteNode, HasIdentity: true, Labels: []string{"reserved:remote-node"}}
	deepEqual(t, "remote-node drop", flows[2], remote)

	fwd := flows[3]
	if fwd.Verdict != VerdictForwarded || fwd.Dropped() || fwd.PolicyDenied() || fwd.TraceObservationPoint != "TO_ENDPOINT" ||
		fwd.InterfaceName != "lxc5e0d2b7f19a3" || fwd.InterfaceIndex != 14 || strings.Join(fwd.TCPFlags, ",") != "PSH,ACK" ||
		fwd.Source.PodName != "frontend-7b9d4c8f6-2mwzq" || fwd.Source.Identity != 40123 || fwd.Reply != ReplyNo {
		t.Errorf("forwarded flow: %+v", fwd)
	}
	if r := flows[4]; r.Reply != ReplyYes || r.Source.Port != 8080 || r.Destination.Port != 38822 || r.EventSubType != 3 {
		t.Errorf("reply: %+v", r)
	}
	bare := flows[5] // hubble observe -o json: no wrapper
	if bare.Line != 6 || bare.Node != "cilium-node-1" || bare.Protocol != "UDP" || bare.Source.Addr != ip("fd00:10:244:1::9a1") ||
		bare.Destination.Addr != ip("fd00:10:96::a") || bare.Destination.Port != 53 || bare.Destination.Identity != 16777217 ||
		!bare.Destination.Identity.IsLocal() || bare.TrafficDirection != "EGRESS" {
		t.Errorf("bare flow: %+v", bare)
	}
	deny := flows[6]
	deepEqual(t, "ingress_denied_by", deny.IngressDeniedBy, []PolicyRef{{Name: "deny-external", Namespace: "prod", Kind: "CiliumNetworkPolicy", Revision: 7,
		Labels: []string{"k8s:io.cilium.k8s.policy.derived-from=CiliumNetworkPolicy", "k8s:io.cilium.k8s.policy.name=deny-external", "k8s:io.cilium.k8s.policy.namespace=prod"}}})
	if deny.DropReason != 181 || deny.DropReasonDesc != "POLICY_DENY" || !deny.PolicyDenied() || deny.Source.Identity != IdentityWorldIPv4 || !deny.Source.Identity.IsWorld() {
		t.Errorf("explicit deny: %+v", deny)
	}
	if icmp := flows[7]; icmp.Protocol != "ICMPv4" || icmp.ICMPType != 8 || icmp.ICMPCode != 0 || icmp.Source.Port != 0 || icmp.Destination.Identity != IdentityHealth {
		t.Errorf("icmp: %+v", icmp)
	}
}

func TestParseHubbleJSON(t *testing.T) {
	const drop = `{"time":"2024-06-12T08:20:31Z","verdict":"DROPPED","IP":{"source":"10.244.3.17","destination":"10.0.1.5"},"source":{"identity":2},"destination":{"identity":23456}}`
	for _, tc := range []struct {
		name   string
		in     string
		flows  int
		other  int
		lines  []int
		errors []string
	}{
		{"bare flow", drop, 1, 0, []int{1}, nil},
		{"wrapper", `{"flow":` + drop + `,"node_name":"n1"}`, 1, 0, []int{1}, nil},
		{"blank lines, CRLF, kubectl notice", "Defaulted container \"cilium-agent\" out of: cilium-agent\r\n\r\n" + drop + "\r\n\n", 1, 0, []int{3}, nil},
		{"not JSON", "hello\n" + drop + "\n", 1, 0, []int{2}, []string{"1: not a JSON object"}},
		{"JSON of something else", `{"kind":"Pod"}` + "\n" + drop, 1, 0, []int{2}, []string{"1: JSON object is neither a flow nor a GetFlowsResponse"}},
		{"a response without its flow", `{"flow":null,"node_name":"n1"}`, 0, 1, nil, nil},
		{"relay notices", `{"node_status":{"state_change":"NODE_CONNECTED"}}` + "\n" + `{"lost_events":{"num_events_lost":"3"}}`, 0, 2, nil, nil},
		{"broken JSON", `{"verdict":"DROPPED",}` + "\n" + drop, 1, 0, []int{2},
			[]string{"1: invalid JSON at byte 22: invalid character '}' looking for beginning of object key string"}},
		{"object never closed: the next line is read on its own", `{"verdict":"DROPPED"` + "\n" + drop, 1, 0, []int{2},
			[]string{"1: JSON object not closed before the end of the input"}},
		{"truncated at the end", drop + "\n" + `{"verdict":`, 1, 0, []int{1}, []string{"2: JSON object not closed before the end of the input"}},
		{"pretty printed", "{\n  \"flow\": {\n    \"verdict\": \"FORWARDED\",\n    \"Summary\": \"a } in a string\"\n  }\n}\n" + drop, 2, 0, []int{1, 7}, nil},
		{"numbers for enums and quoted numbers", `{"verdict":2,"drop_reason":"133","event_type":{"type":"1","sub_type":133}}`, 1, 0, []int{1}, nil},
		{"wrong type", `{"verdict":"DROPPED","l4":{"TCP":{"source_port":true}}}`, 0, 0, nil,
			[]string{"1: invalid JSON: not an unsigned number: true"}},
		{"bad address keeps the flow", `{"verdict":"DROPPED","IP":{"source":"10.0.0.300","destination":"10.0.0.1"}}`, 1, 0, []int{1},
			[]string{`1: IP.source: "10.0.0.300" is not an IP address`}},
		{"bad time keeps the flow", `{"verdict":"DROPPED","time":"yesterday"}`, 1, 0, []int{1}, []string{`1: time "yesterday" is not RFC 3339`}},
		{"port out of range", `{"verdict":"DROPPED","l4":{"UDP":{"source_port":70000}}}`, 1, 0, []int{1}, []string{"1: l4 port out of range"}},
		{"trailing text after the object", drop + ` x`, 0, 0, nil, []string{"1: invalid JSON at byte 165: invalid character 'x' after top-level value"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			flows, other, errs := ParseHubbleJSON([]byte(tc.in))
			var lines []int
			for _, f := range flows {
				lines = append(lines, f.Line)
			}
			if len(flows) != tc.flows || other != tc.other {
				t.Errorf("%d flows, %d other; want %d, %d", len(flows), other, tc.flows, tc.other)
			}
			deepEqual(t, "lines", lines, tc.lines)
			wantErrors(t, errs, tc.errors...)
		})
	}
}

func TestParseHubbleJSONValues(t *testing.T) {
	flows, _, errs := ParseHubbleJSON([]byte(`{"verdict":2,"drop_reason":"133","event_type":{"type":"1","sub_type":133},"is_reply":true}`))
	noErrors(t, errs)
	want := Flow{Line: 1, Verdict: VerdictDropped, DropReason: 133, EventType: 1, EventSubType: 133, HasEventType: true, Reply: ReplyYes}
	deepEqual(t, "numeric enums", flows[0], want)
	if !flows[0].PolicyDenied() {
		t.Error("drop reason 133 is not PolicyDenied")
	}
	flows, _, _ = ParseHubbleJSON([]byte(`{"verdict":"","Summary":"x"}`))
	if flows[0].Verdict != VerdictUnknown {
		t.Errorf("empty verdict = %q, want VERDICT_UNKNOWN", flows[0].Verdict)
	}
}

func TestParseHubbleJSONErrorCap(t *testing.T) {
	in := strings.Repeat("x\n", MaxErrors+5)
	_, _, errs := ParseHubbleJSON([]byte(in))
	if len(errs) != MaxErrors+1 || errs[MaxErrors].Error() != "5 more bad lines" {
		t.Errorf("%d errors, last %v", len(errs), errs[len(errs)-1])
	}
}
