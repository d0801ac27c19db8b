package conntrack

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestParseLine(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		want       Entry
	}{
		{
			name: "tcp through a ClusterIP (kube-proxy DNAT)",
			line: "tcp      6 86398 ESTABLISHED src=10.244.1.12 dst=10.96.0.1 sport=51234 dport=443 src=172.18.0.2 dst=10.244.1.12 sport=6443 dport=51234 [ASSURED] mark=0 use=1",
			want: Entry{Family: IPv4, Proto: TCP, Timeout: 86398, HasTimeout: true, State: StateEstablished,
				Orig:  Tuple{Src: ip("10.244.1.12"), Dst: ip("10.96.0.1"), SrcPort: 51234, DstPort: 443},
				Reply: Tuple{Src: ip("172.18.0.2"), Dst: ip("10.244.1.12"), SrcPort: 6443, DstPort: 51234},
				Flags: FlagAssured, HasMark: true, Use: 1, HasUse: true},
		},
		{
			name: "unreplied SYN with mirrord's connmark 0x1",
			line: "tcp      6 118 SYN_SENT src=10.244.1.12 dst=10.96.45.7 sport=39022 dport=9000 [UNREPLIED] src=10.244.2.8 dst=10.244.1.12 sport=9000 dport=39022 mark=1 use=1",
			want: Entry{Family: IPv4, Proto: TCP, Timeout: 118, HasTimeout: true, State: StateSynSent,
				Orig:  Tuple{Src: ip("10.244.1.12"), Dst: ip("10.96.45.7"), SrcPort: 39022, DstPort: 9000},
				Reply: Tuple{Src: ip("10.244.2.8"), Dst: ip("10.244.1.12"), SrcPort: 9000, DstPort: 39022},
				Flags: FlagUnreplied, Mark: 1, HasMark: true, Use: 1, HasUse: true},
		},
		{
			name: "icmp echo",
			line: "icmp     1 29 src=10.244.1.12 dst=10.244.2.8 type=8 code=0 id=27 src=10.244.2.8 dst=10.244.1.12 type=0 code=0 id=27 mark=0 use=1",
			want: Entry{Family: IPv4, Proto: ICMP, Timeout: 29, HasTimeout: true,
				Orig:    Tuple{Src: ip("10.244.1.12"), Dst: ip("10.244.2.8"), ICMPType: 8, ICMPID: 27},
				Reply:   Tuple{Src: ip("10.244.2.8"), Dst: ip("10.244.1.12"), ICMPID: 27},
				HasMark: true, Use: 1, HasUse: true},
		},
		{
			name: "icmp with the entry id after the tuple's",
			line: "ipv4     2 icmp     1 29 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=1234 src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=1234 id=3456789",
			want: Entry{Family: IPv4, Proto: ICMP, Timeout: 29, HasTimeout: true,
				Orig:  Tuple{Src: ip("10.0.0.1"), Dst: ip("10.0.0.2"), ICMPType: 8, ICMPID: 1234},
				Reply: Tuple{Src: ip("10.0.0.2"), Dst: ip("10.0.0.1"), ICMPID: 1234},
				ID:    3456789, HasID: true},
		},
		{
			name: "icmpv6",
			line: "icmpv6   58 29 src=fd00::c dst=fd00::8 type=128 code=0 id=4711 src=fd00::8 dst=fd00::c type=129 code=0 id=4711 mark=0 use=1",
			want: Entry{Family: IPv6, Proto: ICMPv6, Timeout: 29, HasTimeout: true,
				Orig:    Tuple{Src: ip("fd00::c"), Dst: ip("fd00::8"), ICMPType: 128, ICMPID: 4711},
				Reply:   Tuple{Src: ip("fd00::8"), Dst: ip("fd00::c"), ICMPType: 129, ICMPID: 4711},
				HasMark: true, Use: 1, HasUse: true},
		},
		{
			name: "extended, with counters and -o id",
			line: "ipv4     2 tcp      6 431999 ESTABLISHED src=10.244.1.12 dst=10.96.0.1 sport=51234 dport=443 packets=12 bytes=3456 src=172.18.0.2 dst=10.244.1.12 sport=6443 dport=51234 packets=10 bytes=5678 [ASSURED] mark=0 zone=0 use=2 id=2788795920",
			want: Entry{Family: IPv4, Proto: TCP, Timeout: 431999, HasTimeout: true, State: StateEstablished,
				Orig:  Tuple{Src: ip("10.244.1.12"), Dst: ip("10.96.0.1"), SrcPort: 51234, DstPort: 443, Packets: 12, Bytes: 3456, HasCounters: true},
				Reply: Tuple{Src: ip("172.18.0.2"), Dst: ip("10.244.1.12"), SrcPort: 6443, DstPort: 51234, Packets: 10, Bytes: 5678, HasCounters: true},
				Flags: FlagAssured, HasMark: true, HasZone: true, Use: 2, HasUse: true, ID: 2788795920, HasID: true},
		},
		{
			name: "directional zones",
			line: "ipv4     2 udp      17 29 src=10.244.1.12 dst=10.96.0.10 sport=53211 dport=53 zone-orig=1 [UNREPLIED] src=10.96.0.10 dst=10.244.1.12 sport=53 dport=53211 zone-reply=2 mark=0 use=1",
			want: Entry{Family: IPv4, Proto: UDP, Timeout: 29, HasTimeout: true,
				Orig:  Tuple{Src: ip("10.244.1.12"), Dst: ip("10.96.0.10"), SrcPort: 53211, DstPort: 53, Zone: 1, HasZone: true},
				Reply: Tuple{Src: ip("10.96.0.10"), Dst: ip("10.244.1.12"), SrcPort: 53, DstPort: 53211, Zone: 2, HasZone: true},
				Flags: FlagUnreplied, HasMark: true, Use: 1, HasUse: true},
		},
		{
			name: "gre keys",
			line: "gre      47 179 src=192.168.1.1 dst=203.0.113.7 srckey=0x1a dstkey=0x0 src=203.0.113.7 dst=192.168.1.1 srckey=0x0 dstkey=0x1a [ASSURED] mark=0 use=1",
			want: Entry{Family: IPv4, Proto: GRE, Timeout: 179, HasTimeout: true,
				Orig:  Tuple{Src: ip("192.168.1.1"), Dst: ip("203.0.113.7"), GREKeySrc: 0x1a},
				Reply: Tuple{Src: ip("203.0.113.7"), Dst: ip("192.168.1.1"), GREKeyDst: 0x1a},
				Flags: FlagAssured, HasMark: true, Use: 1, HasUse: true},
		},
		{
			name: "unknown protocol (IGMP)",
			line: "unknown  2 599 src=192.168.1.1 dst=224.0.0.22 [UNREPLIED] src=224.0.0.22 dst=192.168.1.1 mark=0 use=1",
			want: Entry{Family: IPv4, Proto: 2, Timeout: 599, HasTimeout: true,
				Orig:  Tuple{Src: ip("192.168.1.1"), Dst: ip("224.0.0.22")},
				Reply: Tuple{Src: ip("224.0.0.22"), Dst: ip("192.168.1.1")},
				Flags: FlagUnreplied, HasMark: true, Use: 1, HasUse: true},
		},
		{
			name: "destroy event: no timeout, no state",
			line: "[DESTROY] udp      17 src=10.0.0.1 dst=10.0.0.2 sport=5000 dport=53 src=10.0.0.2 dst=10.0.0.1 sport=53 dport=5000",
			want: Entry{Event: "DESTROY", Family: IPv4, Proto: UDP,
				Orig:  Tuple{Src: ip("10.0.0.1"), Dst: ip("10.0.0.2"), SrcPort: 5000, DstPort: 53},
				Reply: Tuple{Src: ip("10.0.0.2"), Dst: ip("10.0.0.1"), SrcPort: 53, DstPort: 5000}},
		},
		{
			name: "new event, padded, sctp",
			line: "    [NEW] sctp     132 3 CLOSED src=10.0.0.1 dst=10.0.0.2 sport=1 dport=3868 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=3868 dport=1",
			want: Entry{Event: "NEW", Family: IPv4, Proto: SCTP, Timeout: 3, HasTimeout: true, State: "CLOSED",
				Orig:  Tuple{Src: ip("10.0.0.1"), Dst: ip("10.0.0.2"), SrcPort: 1, DstPort: 3868},
				Reply: Tuple{Src: ip("10.0.0.2"), Dst: ip("10.0.0.1"), SrcPort: 3868, DstPort: 1},
				Flags: FlagUnreplied},
		},
		{
			name: "everything after the tuples",
			line: "tcp 6 10 CLOSE src=10.0.0.1 dst=10.0.0.2 sport=1 dport=21 src=10.0.0.2 dst=10.0.0.1 sport=21 dport=1 [HW_OFFLOAD] mark=4294967295 secmark=7 secctx=system_u:object_r:unlabeled_t:s0 zone=65535 delta-time=120 [start=Wed Jun 30 09:41:48 2021] helper=ftp use=3 id=9 labels=eth0-in,10 portal=yes [CONFIRMED]",
			want: Entry{Family: IPv4, Proto: TCP, Timeout: 10, HasTimeout: true, State: StateClose,
				Orig:  Tuple{Src: ip("10.0.0.1"), Dst: ip("10.0.0.2"), SrcPort: 1, DstPort: 21},
				Reply: Tuple{Src: ip("10.0.0.2"), Dst: ip("10.0.0.1"), SrcPort: 21, DstPort: 1},
				Flags: FlagHWOffload, Mark: 4294967295, HasMark: true, Secmark: 7, HasSecmark: true,
				Secctx: "system_u:object_r:unlabeled_t:s0", Zone: 65535, HasZone: true, DeltaTime: 120, Helper: "ftp",
				Use: 3, HasUse: true, ID: 9, HasID: true, Labels: []string{"eth0-in", "10"},
				Extra: []string{"[start=Wed Jun 30 09:41:48 2021]", "portal=yes", "[CONFIRMED]"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseLine(tc.line)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
			back, err := ParseLine(got.String())
			if err != nil || !reflect.DeepEqual(back, got) {
				t.Errorf("String %q reads back as %+v, %v", got.String(), back, err)
			}
		})
	}
}

func TestParseLineErrors(t *testing.T) {
	const tuples = "src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1"
	for _, tc := range []struct{ line, msg string }{
		{"", "empty entry"},
		{"hello world", `"hello" is not a protocol conntrack names`},
		{"tcp", "protocol tcp: want its number next"},
		{"tcp 17 " + tuples, "protocol tcp with number 17"},
		{"unknown 6 " + tuples, "protocol unknown with number 6"},
		{"ipv4 10 tcp 6 " + tuples, "layer 3 protocol ipv4: want ipv4 2 or ipv6 10"},
		{"ipv6 10 tcp 6 " + tuples, "ipv6 entry with ipv4 addresses"},
		{"tcp 6 99999999999 " + tuples, `timeout "99999999999": strconv.ParseUint: parsing "99999999999": value out of range`},
		{"tcp 6 10 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2", "reply tuple without src="},
		{"tcp 6 10 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 src=10.0.0.2 dst=10.0.0.1", "original tuple without sport="},
		{"icmp 1 10 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=1", "original tuple without id="},
		{"tcp 6 10 src=10.0.0.1 dst=10.0.0.2 sport=70000 dport=2", "sport=: strconv.ParseUint: parsing \"70000\": value out of range"},
		{"tcp 6 10 src=10.0.0.1 dst=fd00::2 sport=1 dport=2 src=fd00::2 dst=10.0.0.1 sport=2 dport=1", "IPv4 and IPv6 addresses in one entry"},
		{"tcp 6 10 src=10.0.0.300 dst=10.0.0.2", `src=: ParseAddr("10.0.0.300"): IPv4 field has value >255`},
		{"tcp 6 10 src=fe80::1%eth0 dst=10.0.0.2", `src=: address "fe80::1%eth0" with a zone`},
		{"tcp 6 " + tuples + " src=10.0.0.3", "src=: twice in one tuple"},
		{"tcp 6 " + tuples + " mark=0 sport=3", "sport=: after the reply tuple"},
		{"tcp 6 " + tuples + " mark=0 mark=1", "mark=: twice"},
		{"tcp 6 " + tuples + " [ASSURED] [ASSURED]", "[ASSURED] twice"},
		{"tcp 6 " + tuples + " [ASSURED", `"[ASSURED": no closing ]`},
		{"tcp 6 " + tuples + " [start=Wed Jun 30", `"[start=Wed Jun 30": no closing ]`},
		{"tcp 6 " + tuples + " oops", `unexpected "oops"`},
		{"udp 17 10 src=10.0.0.1 dst=10.0.0.2 type=8", "type=: not a field of udp"},
		{"tcp 6 " + tuples + " zone-orig=1 zone-orig=2", "zone-orig=: twice"},
		{"tcp 6 10 src=10.0.0.1 dst=10.0.0.2 sport=0x10", `sport=: strconv.ParseUint: parsing "0x10": invalid syntax`},
		{"tcp 6 10 src=10.0.0.1 dst=10.0.0.2 sport=1_0", `sport=: strconv.ParseUint: parsing "1_0": invalid syntax`},
		{"gre 47 10 src=10.0.0.1 dst=10.0.0.2 srckey=12", `srckey=: "12": want 0x and hex digits`},
		{"tcp 6 " + strings.Repeat("x", 100), `unexpected "` + strings.Repeat("x", 64) + `…"`},
	} {
		e, err := ParseLine(tc.line)
		if err == nil || err.Error() != tc.msg {
			t.Errorf("%q:\n got  %v (%+v)\n want %s", tc.line, err, e, tc.msg)
		}
	}
}
