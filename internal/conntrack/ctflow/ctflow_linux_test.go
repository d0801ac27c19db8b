//go:build linux

package ctflow

import (
	"encoding/binary"
	"net/netip"
	"reflect"
	"testing"
	"time"

	ct "github.com/ti-mo/conntrack"

	"github.com/meshdoctor/meshdoctor/internal/conntrack"
)

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

// A live flow and the line `conntrack -L -o id` prints for it give the
// same entry, but for the line number and raw text.
func TestToEntryMatchesText(t *testing.T) {
	kubeDNAT := ct.NewFlow(6, ct.StatusSeenReply|ct.StatusAssured|ct.StatusConfirmed|ct.StatusDstNAT,
		ip("10.244.1.12"), ip("10.96.0.1"), 51234, 443, 86398, 0)
	kubeDNAT.TupleReply.IP.SourceAddress = ip("172.18.0.2")
	kubeDNAT.TupleReply.Proto.SourcePort = 6443
	kubeDNAT.ProtoInfo.TCP = &ct.ProtoInfoTCP{State: 3}
	kubeDNAT.Use, kubeDNAT.ID = 1, 2788795920

	mirrordMarked := ct.NewFlow(6, ct.StatusConfirmed, ip("10.244.1.12"), ip("10.96.45.7"), 39022, 9000, 118, 1)
	mirrordMarked.TupleReply.IP.SourceAddress = ip("10.244.2.8")
	mirrordMarked.ProtoInfo.TCP = &ct.ProtoInfoTCP{State: 1}
	mirrordMarked.Use, mirrordMarked.ID = 1, 7

	ping := ct.NewFlow(1, ct.StatusSeenReply|ct.StatusConfirmed, ip("fd00::c"), ip("fd00::8"), 0, 0, 29, 0)
	ping.TupleOrig.Proto.ICMPType, ping.TupleOrig.Proto.ICMPID = 128, 4711
	ping.TupleReply.Proto.ICMPType, ping.TupleReply.Proto.ICMPID = 129, 4711
	ping.TupleOrig.Proto.Protocol, ping.TupleReply.Proto.Protocol = 58, 58
	ping.Use, ping.ID = 1, 8

	dns := ct.NewFlow(17, ct.StatusSeenReply|ct.StatusAssured|ct.StatusConfirmed|ct.StatusOffload, ip("10.244.1.12"), ip("10.96.0.10"), 35871, 53, 117, 0)
	dns.TupleReply.IP.SourceAddress, dns.TupleReply.Proto.SourcePort = ip("10.244.1.12"), 15053
	dns.Zone, dns.Use, dns.ID = 1, 1, 9
	dns.CountersOrig = ct.Counter{Packets: 2, Bytes: 140}
	dns.CountersReply = ct.Counter{Direction: true, Packets: 2, Bytes: 290}
	dns.SecurityContext = "system_u:object_r:unlabeled_t:s0"
	dns.Labels = binary.NativeEndian.AppendUint32(binary.NativeEndian.AppendUint32(nil, 1), 1<<31) // bits 0 and 63
	dns.Timestamp = ct.Timestamp{Start: time.Unix(1000, 0), Stop: time.Unix(1120, 0)}

	for _, tc := range []struct {
		name string
		flow ct.Flow
		text string
	}{
		{"kube-proxy DNAT", kubeDNAT,
			"tcp      6 86398 ESTABLISHED src=10.244.1.12 dst=10.96.0.1 sport=51234 dport=443 src=172.18.0.2 dst=10.244.1.12 sport=6443 dport=51234 [ASSURED] mark=0 use=1 id=2788795920"},
		{"unreplied SYN with connmark 1", mirrordMarked,
			"tcp      6 118 SYN_SENT src=10.244.1.12 dst=10.96.45.7 sport=39022 dport=9000 [UNREPLIED] src=10.244.2.8 dst=10.244.1.12 sport=9000 dport=39022 mark=1 use=1 id=7"},
		{"icmpv6 echo", ping,
			"icmpv6   58 29 src=fd00::c dst=fd00::8 type=128 code=0 id=4711 src=fd00::8 dst=fd00::c type=129 code=0 id=4711 mark=0 use=1 id=8"},
		{"offloaded DNS in zone 1 with counters, labels, secctx", dns,
			"udp      17 117 src=10.244.1.12 dst=10.96.0.10 sport=35871 dport=53 packets=2 bytes=140 src=10.244.1.12 dst=10.244.1.12 sport=15053 dport=35871 packets=2 bytes=290 [OFFLOAD] mark=0 secctx=system_u:object_r:unlabeled_t:s0 zone=1 delta-time=120 use=1 id=9 labels=0,63"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := conntrack.ParseLine(tc.text)
			if err != nil {
				t.Fatal(err)
			}
			got := ToEntry(tc.flow)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("flow gives\n %+v\nthe text\n %+v", got, want)
			}
			if got.String() != want.String() {
				t.Errorf("String %q, want %q", got.String(), want.String())
			}
		})
	}
}

func TestFromEvent(t *testing.T) {
	f := ct.NewFlow(17, ct.StatusSeenReply, ip("10.0.0.1"), ip("10.0.0.2"), 5000, 53, 0, 0)
	for _, tc := range []struct {
		ev     ct.Event
		ok     bool
		event  string
		hasTTL bool
	}{
		{ct.Event{Type: ct.EventNew, Flow: &f}, true, "NEW", true},
		{ct.Event{Type: ct.EventUpdate, Flow: &f}, true, "UPDATE", true},
		{ct.Event{Type: ct.EventDestroy, Flow: &f}, true, "DESTROY", false},
		{ct.Event{Type: ct.EventExpNew, Flow: &f}, false, "", false},
		{ct.Event{Type: ct.EventNew}, false, "", false},
	} {
		e, ok := FromEvent(tc.ev)
		if ok != tc.ok || e.Event != tc.event || e.HasTimeout != tc.hasTTL {
			t.Errorf("%v: got %v %q timeout %v", tc.ev.Type, ok, e.Event, e.HasTimeout)
		}
	}
}

func TestFlagsPriority(t *testing.T) {
	for _, tc := range []struct {
		s    ct.Status
		want conntrack.Flags
	}{
		{0, conntrack.FlagUnreplied},
		{ct.StatusSeenReply, 0},
		{ct.StatusSeenReply | ct.StatusAssured, conntrack.FlagAssured},
		{ct.StatusSeenReply | ct.StatusAssured | ct.StatusOffload, conntrack.FlagOffload},
		{ct.StatusSeenReply | ct.StatusAssured | ct.StatusOffload | statusHWOffload, conntrack.FlagHWOffload},
	} {
		if got := flags(tc.s); got != tc.want {
			t.Errorf("status %#x: %v, want %v", uint32(tc.s), got, tc.want)
		}
	}
}

func TestState(t *testing.T) {
	for _, tc := range []struct {
		pi   ct.ProtoInfo
		want conntrack.State
	}{
		{ct.ProtoInfo{}, ""},
		{ct.ProtoInfo{TCP: &ct.ProtoInfoTCP{State: 7}}, conntrack.StateTimeWait},
		{ct.ProtoInfo{TCP: &ct.ProtoInfoTCP{State: 9}}, conntrack.StateSynSent2},
		{ct.ProtoInfo{TCP: &ct.ProtoInfoTCP{State: 42}}, conntrack.StateNone},
		{ct.ProtoInfo{SCTP: &ct.ProtoInfoSCTP{State: 4}}, "ESTABLISHED"},
		{ct.ProtoInfo{DCCP: &ct.ProtoInfoDCCP{State: 4}}, "OPEN"},
	} {
		if got := state(tc.pi); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.pi, got, tc.want)
		}
	}
}
