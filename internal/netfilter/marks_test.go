package netfilter

import (
	"reflect"
	"testing"
)

func TestParseMark(t *testing.T) {
	tests := []struct {
		in          string
		value, mask uint32
		ok          bool
	}{
		{"0x539/0xfff", 0x539, 0xfff, true},
		{"1337", 1337, 0xffffffff, true},
		{"0x4000/0x4000", 0x4000, 0x4000, true},
		{"0X1/0", 1, 0, true},
		{"010", 8, 0xffffffff, true}, // octal, as strtoul reads it
		{"0", 0, 0xffffffff, true},
		{"0xffffffff/0xffffffff", 0xffffffff, 0xffffffff, true},
		{"0x100000000", 0, 0, false},
		{"1_000", 0, 0, false},
		{"0b1", 0, 0, false},
		{"+1", 0, 0, false},
		{"0x", 0, 0, false},
		{"1/", 0, 0, false},
		{"", 0, 0, false},
		{"08", 0, 0, false},
	}
	for _, tt := range tests {
		v, m, err := ParseMark(tt.in)
		if (err == nil) != tt.ok || v != tt.value || m != tt.mask {
			t.Errorf("ParseMark(%q) = %#x, %#x, %v; want %#x, %#x, ok=%v", tt.in, v, m, err, tt.value, tt.mask, tt.ok)
		}
	}
}

func TestMarksReadAndWritten(t *testing.T) {
	tests := []struct {
		rule         string
		read, writes []MarkUse
	}{
		{
			rule:   "-A ISTIO_PRERT -m mark --mark 0x539/0xfff -j CONNMARK --set-xmark 0x111/0xfff",
			read:   []MarkUse{{Space: PacketMark, Value: 0x539, Mask: 0xfff, Bits: 0xfff, Via: "mark --mark"}},
			writes: []MarkUse{{Space: ConnMark, Value: 0x111, Mask: 0xfff, Bits: 0xfff, Via: "CONNMARK --set-xmark"}},
		},
		{
			rule: "-A ISTIO_OUTPUT -m connmark --mark 0x111/0xfff -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff",
			read: []MarkUse{
				{Space: ConnMark, Value: 0x111, Mask: 0xfff, Bits: 0xfff, Via: "connmark --mark"},
				{Space: ConnMark, Mask: 0xffffffff, Bits: 0xffffffff, Via: "CONNMARK --restore-mark"},
			},
			writes: []MarkUse{{Space: PacketMark, Mask: 0xffffffff, Bits: 0xffffffff, Via: "CONNMARK --restore-mark"}},
		},
		{
			rule:   "-A PREROUTING -m mark --mark 1337 -j CONNMARK --save-mark --mask 0xf00",
			read:   []MarkUse{{Space: PacketMark, Value: 1337, Mask: 0xffffffff, Bits: 0xffffffff, Via: "mark --mark"}, {Space: PacketMark, Mask: 0xf00, Bits: 0xf00, Via: "CONNMARK --save-mark"}},
			writes: []MarkUse{{Space: ConnMark, Mask: 0xf00, Bits: 0xf00, Via: "CONNMARK --save-mark"}},
		},
		{
			rule:   "-A MIRRORD_INPUT_k3x9q -p tcp -m connmark --mark 0x1 -j REJECT --reject-with tcp-reset",
			read:   []MarkUse{{Space: ConnMark, Value: 1, Mask: 0xffffffff, Bits: 0xffffffff, Via: "connmark --mark"}},
			writes: nil,
		},
		{
			// kube-proxy's --xor-mark, as iptables-save prints it: toggles bit 0x4000.
			rule:   "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j MARK --set-xmark 0x4000/0x0",
			read:   []MarkUse{{Space: PacketMark, Value: 0x4000, Mask: 0x4000, Bits: 0x4000, Not: true, Via: "mark --mark"}},
			writes: []MarkUse{{Space: PacketMark, Value: 0x4000, Mask: 0, Bits: 0x4000, Via: "MARK --set-xmark"}},
		},
		{
			rule:   "-A ISTIO_DIVERT -j MARK --set-mark 1337",
			writes: []MarkUse{{Space: PacketMark, Value: 1337, Mask: 0xffffffff, Bits: 0xffffffff, Via: "MARK --set-mark"}},
		},
		{
			rule: "-A X -j MARK --or-mark 0x4000 --and-mark 0xffff00ff --xor-mark 0x2",
			writes: []MarkUse{
				{Space: PacketMark, Value: 0x4000, Mask: 0x4000, Bits: 0x4000, Via: "MARK --or-mark"},
				{Space: PacketMark, Mask: 0xff00, Bits: 0xff00, Via: "MARK --and-mark"},
				{Space: PacketMark, Value: 2, Bits: 2, Via: "MARK --xor-mark"},
			},
		},
		{
			rule:   "-A ISTIO_TPROXY ! -d 127.0.0.1/32 -p tcp -j TPROXY --on-port 15006 --on-ip 0.0.0.0 --tproxy-mark 0x539/0xffffffff",
			writes: []MarkUse{{Space: PacketMark, Value: 0x539, Mask: 0xffffffff, Bits: 0xffffffff, Via: "TPROXY --tproxy-mark"}},
		},
		{
			rule: "-A X -m conntrack --ctmark 0x10/0x10 -m mark --mark nonsense -j MARK --set-xmark bad",
			read: []MarkUse{{Space: ConnMark, Value: 0x10, Mask: 0x10, Bits: 0x10, Via: "conntrack --ctmark"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			rs := ParseSave([]byte("*mangle\n" + tt.rule + "\nCOMMIT\n"))
			r := ruleAt(t, rs, 2)
			if got := r.MarksRead(); !reflect.DeepEqual(got, tt.read) {
				t.Errorf("read\n got %+v\nwant %+v", got, tt.read)
			}
			if got := r.MarksWritten(); !reflect.DeepEqual(got, tt.writes) {
				t.Errorf("written\n got %+v\nwant %+v", got, tt.writes)
			}
		})
	}
}

func TestMarkUseOverlaps(t *testing.T) {
	istio := MarkUse{Space: ConnMark, Value: 0x111, Mask: 0xfff, Bits: 0xfff}
	mirrord := MarkUse{Space: ConnMark, Value: 0x1, Mask: 0xffffffff, Bits: 0xffffffff}
	kube := MarkUse{Space: PacketMark, Value: 0x4000, Mask: 0x4000, Bits: 0x4000}
	cilium := MarkUse{Space: PacketMark, Value: 0xc00, Mask: 0xf00, Bits: 0xf00}
	ambient := MarkUse{Space: PacketMark, Value: 0x539, Mask: 0xfff, Bits: 0xfff}
	tests := []struct {
		a, b MarkUse
		want bool
	}{
		{istio, mirrord, true},
		{kube, cilium, false},
		{cilium, ambient, true},
		{istio, ambient, false}, // different marks
	}
	for _, tt := range tests {
		if got := tt.a.Overlaps(tt.b); got != tt.want || tt.b.Overlaps(tt.a) != tt.want {
			t.Errorf("%v overlaps %v = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
	if got := (MarkUse{Space: ConnMark, Value: 1, Mask: 1, Not: true, Via: "connmark --mark"}).String(); got != "! connmark 0x1/0x1 (connmark --mark)" {
		t.Errorf("String() = %q", got)
	}
}
