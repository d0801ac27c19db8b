package cilium

import "testing"

func TestParseCTListTestdata(t *testing.T) {
	got, errs := ParseCTList(readTestdata(t, "bpf-ct-list.txt"))
	noErrors(t, errs)
	if len(got) != 7 {
		t.Fatalf("%d entries, want 7", len(got))
	}
	deepEqual(t, "host health check", got[0], CTEntry{
		Line: 1, Proto: "TCP", Direction: "IN", Src: ap("10.0.1.1:60064"), Dst: ap("10.0.1.5:15021"), Expires: 17276052,
		Flags: 0x13, FlagNames: []string{"RxClosing", "TxClosing", "SeenNonSyn"}, SourceSecurityID: IdentityHost,
		Values: map[string]uint64{"RxPackets": 6, "RxBytes": 464, "RxFlagsSeen": 0x1b, "LastRxReport": 17276043,
			"TxPackets": 4, "TxBytes": 371, "TxFlagsSeen": 0x1b, "LastTxReport": 17276043},
	})
	if e := got[2]; e.SourceSecurityID != 40123 || e.Flags != 0x10 || len(e.FlagNames) != 1 || e.Values["RxBytes"] != 24388 {
		t.Errorf("frontend entry: %+v", e)
	}
	if e := got[3]; e.Direction != "OUT" || e.Proto != "UDP" || e.RevNAT != 7 || e.FlagNames != nil || e.Service {
		t.Errorf("DNS entry: %+v", e)
	}
	if e := got[4]; !e.Service || e.SourceSecurityID != 0 {
		t.Errorf("service entry: %+v", e)
	}
	if e := got[5]; e.Proto != "ICMP" || e.SourceSecurityID != IdentityRemoteNode || e.Src.Port() != 0 {
		t.Errorf("ICMP entry: %+v", e)
	}
	if e := got[6]; e.Src != ap("[fd00:10:244:1::9a1]:44106") || e.Dst != ap("[fd00:10:244:2::1f]:5432") {
		t.Errorf("IPv6 entry: %+v", e)
	}

	got, errs = ParseCTList(readTestdata(t, "bpf-ct-list-1.17.txt"))
	noErrors(t, errs)
	deepEqual(t, "1.17 service entry", got[1], CTEntry{
		Line: 2, Proto: "UDP", Direction: "SVC", Src: ap("10.96.0.10:53"), Dst: ap("0.0.0.0:0"), Expires: 17276640,
		Remaining: "remaining: 38 sec(s)", RevNAT: 7, FlagNames: nil,
		Values: map[string]uint64{"Packets": 0, "Bytes": 0, "RxFlagsSeen": 0, "LastRxReport": 0, "TxFlagsSeen": 0, "LastTxReport": 0, "BackendID": 31, "NatPort": 0},
	})
	if e := got[2]; e.Flags != 0x113 || len(e.FlagNames) != 4 || e.FlagNames[3] != "FromL7LB" || e.Values["Packets"] != 12 {
		t.Errorf("1.17 entry: %+v", e)
	}
}

func TestParseCTListForms(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want CTEntry
	}{
		{"TCP OUT 10.0.1.5:1 -> 10.0.1.6:2 related expires=5 Flags=13 RevNAT=0 Slave=0 SourceSecurityID=6",
			CTEntry{Line: 1, Proto: "TCP", Direction: "OUT", Src: ap("10.0.1.5:1"), Dst: ap("10.0.1.6:2"), Related: true, Expires: 5, Flags: 0x13,
				SourceSecurityID: IdentityRemoteNode, Values: map[string]uint64{"Slave": 0}}},
		{"132 IN [::1]:1 -> [::2]:2 expires=1 (5sec) IfIndex=3",
			CTEntry{Line: 1, Proto: "132", Direction: "IN", Src: ap("[::1]:1"), Dst: ap("[::2]:2"), Expires: 1, Remaining: "5sec", IfIndex: 3}},
	} {
		got, errs := ParseCTList([]byte(tc.in))
		noErrors(t, errs)
		deepEqual(t, tc.in, got, []CTEntry{tc.want})
	}
}

func TestParseCTListErrors(t *testing.T) {
	in := `TCP IN 10.0.0.1:1 10.0.0.2:2 expires=1
TCP SIDEWAYS 10.0.0.1:1 -> 10.0.0.2:2 expires=1
T-P IN 10.0.0.1:1 -> 10.0.0.2:2 expires=1
TCP IN 10.0.0.1 -> 10.0.0.2:2 expires=1
TCP IN 10.0.0.1:1 -> 10.0.0.2 expires=1
TCP IN 10.0.0.1:1 -> 10.0.0.2:2 RxPackets=1
TCP IN 10.0.0.1:1 -> 10.0.0.2:2 expires=soon
TCP IN 10.0.0.1:1 -> 10.0.0.2:2 expires=1 Flags=0x10000
TCP IN 10.0.0.1:1 -> 10.0.0.2:2 expires=1 Flags=0x0013 [ RxClosing
TCP IN 10.0.0.1:1 -> 10.0.0.2:2 expires=1 (remaining: 3 sec(s)
TCP IN 10.0.0.1:1 -> 10.0.0.2:2 expires=1 stray
TCP IN 10.0.0.1:1 -> 10.0.0.2:2 expires=1 =5
TCP IN 10.0.0.1:1 -> 10.0.0.2:2 expires=1 SourceSecurityID=4294967296
`
	got, errs := ParseCTList([]byte(in))
	if len(got) != 0 {
		t.Errorf("entries: %+v", got)
	}
	wantErrors(t, errs,
		`1: not "PROTO DIR SRC -> DST ..."`,
		`2: direction "SIDEWAYS" is not IN, OUT or SVC`,
		`3: protocol "T-P" is not a word or number`,
		`4: source "10.0.0.1" is not address:port`,
		`5: destination "10.0.0.2" is not address:port`,
		"6: no expires=",
		`7: expires="soon" is not a number`,
		"8: Flags=0x10000 is out of range",
		`9: flag names not closed with "]"`,
		`10: remaining time not closed with ")"`,
		`11: "stray" is not key=value`,
		`12: "=5" is not key=value`,
		"13: SourceSecurityID=4294967296 is out of range",
	)
}
