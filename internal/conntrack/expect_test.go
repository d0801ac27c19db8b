package conntrack

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// TestParseExpectListing reads `conntrack -L expect` output: the current
// libnetfilter_conntrack form (expected tuple, mask, master, flags, class,
// helper; the mdns line is from a conntrack v1.4.6 session), IPv6 with a
// zone, and the older form that stops after the expected tuple.
func TestParseExpectListing(t *testing.T) {
	data := readTestdata(t, "node-L-expect.txt")
	d := Parse(data)
	if err := d.Err(); err != nil {
		t.Fatal(err)
	}
	if len(d.Entries) != 0 || len(d.Expectations) != 4 {
		t.Fatalf("%d entries, %d expectations; want 0 and 4", len(d.Entries), len(d.Expectations))
	}
	if want := (&Summary{Line: 5, Version: "1.4.7", Count: 4, What: "expectation"}); !reflect.DeepEqual(d.Summary, want) {
		t.Errorf("summary %+v, want %+v", d.Summary, want)
	}
	lines := strings.Split(string(data), "\n")
	for i, x := range d.Expectations {
		if x.Line != i+1 || x.Raw != lines[i] {
			t.Errorf("expectation %d: line %d %q, want line %d %q", i, x.Line, x.Raw, i+1, lines[i])
		}
		if got := x.String(); got != x.Raw {
			t.Errorf("expectation %d prints as\n%s\nwant\n%s", i, got, x.Raw)
		}
	}
	a := netip.MustParseAddr
	ftp := Expectation{
		Line: 1, Raw: lines[0], Family: IPv4, Proto: TCP, Timeout: 297,
		Tuple:   Tuple{Src: a("10.0.0.1"), Dst: a("10.0.0.2"), DstPort: 41739},
		Mask:    Tuple{Src: a("255.255.255.255"), Dst: a("255.255.255.255"), DstPort: 65535},
		Master:  Tuple{Src: a("10.0.0.1"), Dst: a("10.0.0.2"), SrcPort: 36390, DstPort: 21},
		HasMask: true, HasMaster: true, HasClass: true, Helper: "ftp",
	}
	if !reflect.DeepEqual(d.Expectations[0], ftp) {
		t.Errorf("ftp expectation\n got %+v\nwant %+v", d.Expectations[0], ftp)
	}
	if x := d.Expectations[1]; x.Proto != UDP || !slicesEqual(x.Flags, "PERMANENT") || x.Helper != "mdns" || x.Master.Dst != a("224.0.0.251") {
		t.Errorf("mdns expectation: %+v", x)
	}
	if x := d.Expectations[2]; x.Family != IPv6 || !x.HasZone || x.Zone != 2 || !slicesEqual(x.Flags, "PERMANENT", "INACTIVE") {
		t.Errorf("IPv6 expectation: %+v", x)
	}
	if x := d.Expectations[3]; x.HasMask || x.HasMaster || x.Tuple.DstPort != 69 || x.Helper != "" {
		t.Errorf("old-form expectation: %+v", x)
	}
}

func slicesEqual(got []string, want ...string) bool { return reflect.DeepEqual(got, want) }

// TestExpectEvents reads `conntrack -E expect` lines and their summary.
func TestExpectEvents(t *testing.T) {
	d := Parse([]byte("    [NEW] 30 proto=17 src=0.0.0.0 dst=169.254.33.186 sport=5353 dport=38407 mask-src=0.0.0.0 mask-dst=0.0.0.0 sport=65535 dport=65535 master-src=169.254.33.186 master-dst=224.0.0.251 sport=38407 dport=5353 PERMANENT class=0 helper=mdns\n" +
		"conntrack v1.4.6 (conntrack-tools): 1 expectation events have been shown.\n"))
	if err := d.Err(); err != nil {
		t.Fatal(err)
	}
	if len(d.Expectations) != 1 || d.Expectations[0].Event != "NEW" || d.Summary == nil || d.Summary.What != "expectation" || d.Summary.Count != 1 {
		t.Errorf("expectations %+v, summary %+v", d.Expectations, d.Summary)
	}
}

// TestExpectErrors: malformed expectation lines are line errors, and the
// lines around them still read.
func TestExpectErrors(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"297 proto=6 src=10.0.0.1 sport=0 dport=21", "expected tuple without both addresses"},
		{"297 proto=6 src=10.0.0.1 dst=10.0.0.2 sport=0 dport=21 mask-src=255.255.255.255 sport=0", "mask tuple without both addresses"},
		{"297 proto=6 src=10.0.0.1 dst=fd00::2 sport=0 dport=21", "IPv4 and IPv6"},
		{"297 proto=6 src=10.0.0.1 dst=10.0.0.2 sport=0 dport=21 PERMANENT,BOGUS", "unexpected"},
		{"297 proto=6 src=10.0.0.1 dst=10.0.0.2 sport=0 dport=21 sport=1", "twice"},
		{"297 proto=6 src=10.0.0.1 dst=10.0.0.2 sport=70000 dport=21", "sport="},
		{"297 proto=600 src=10.0.0.1 dst=10.0.0.2", "proto="},
		{"297 proto=6 src=10.0.0.1 dst=10.0.0.2 class=1 class=2", "class=: twice"},
	} {
		d := Parse([]byte("58 proto=17 src=10.0.0.9 dst=10.0.0.8 sport=0 dport=69\n" + tc.line + "\n"))
		if len(d.Expectations) != 1 || len(d.Errors) != 1 || d.Errors[0].Line != 2 || !strings.Contains(d.Errors[0].Error(), tc.want) {
			t.Errorf("%q: expectations %d, errors %v; want one error with %q", tc.line, len(d.Expectations), d.Errors, tc.want)
		}
	}
}

// TestLooksExpect: a listing of the expectation table is recognised as
// conntrack text; a flow listing still reads as entries.
func TestLooksExpect(t *testing.T) {
	if !Looks(readTestdata(t, "node-L-expect.txt")) {
		t.Error("conntrack -L expect output not recognised")
	}
	if d := Parse(readTestdata(t, "node-L.txt")); len(d.Expectations) != 0 || len(d.Errors) != 0 {
		t.Errorf("flow listing: %d expectations, errors %v", len(d.Expectations), d.Errors)
	}
}
