package conntrack

import (
	"errors"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseNodeListing(t *testing.T) {
	data := readTestdata(t, "node-L.txt")
	d := Parse(data)
	if err := d.Err(); err != nil {
		t.Fatal(err)
	}
	if want := (&Summary{Line: 15, Version: "1.4.6", Count: 14, What: "flow"}); !reflect.DeepEqual(d.Summary, want) {
		t.Errorf("summary %+v, want %+v", d.Summary, want)
	}
	if len(d.Entries) != d.Summary.Count {
		t.Fatalf("%d entries, the summary says %d", len(d.Entries), d.Summary.Count)
	}
	lines := strings.Split(string(data), "\n")
	var protos []string
	for i, e := range d.Entries {
		if e.Line != i+1 || e.Raw != lines[i] {
			t.Errorf("entry %d: line %d %q, want line %d %q", i, e.Line, e.Raw, i+1, lines[i])
		}
		protos = append(protos, e.Proto.String())
	}
	want := "tcp udp tcp tcp tcp icmp udp tcp tcp icmpv6 sctp gre proto-2 tcp"
	if got := strings.Join(protos, " "); got != want {
		t.Errorf("protocols %s, want %s", got, want)
	}
	dns := d.Entries[6]
	if dns.Zone != 1 || !dns.HasZone || dns.Reply.SrcPort != 15053 || !dns.Redirected() {
		t.Errorf("ztunnel DNS capture entry: %+v", dns)
	}
	if d.Entries[13].Flags != FlagOffload || d.Entries[7].Secctx != "system_u:object_r:unlabeled_t:s0" {
		t.Errorf("offload or secctx lost: %v %q", d.Entries[13].Flags, d.Entries[7].Secctx)
	}
}

func TestParseExtendedListing(t *testing.T) {
	d := Parse(readTestdata(t, "node-L-extended.txt"))
	if err := d.Err(); err != nil || d.Summary != nil || len(d.Entries) != 4 {
		t.Fatalf("%d entries, summary %v, error %v", len(d.Entries), d.Summary, err)
	}
	fams := []Family{d.Entries[0].Family, d.Entries[1].Family, d.Entries[2].Family, d.Entries[3].Family}
	if !reflect.DeepEqual(fams, []Family{IPv4, IPv4, IPv6, IPv4}) {
		t.Errorf("families %v", fams)
	}
}

func TestParseBadLinesGoOn(t *testing.T) {
	good := "udp      17 28 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=53 src=10.0.0.2 dst=10.0.0.1 sport=53 dport=1 mark=0 use=1"
	data := strings.Join([]string{
		good + "\r",
		"",
		"tcp 6 garbage",
		"   \t",
		"\x00\x01\x02\xff binary",
		good,
		strings.Repeat("tcp ", MaxLineLen),
		"conntrack v1.4.8 (conntrack-tools): 2 flow entries have been shown.",
	}, "\n")
	d := Parse([]byte(data))
	if len(d.Entries) != 2 || d.Entries[0].Line != 1 || d.Entries[0].Raw != good || d.Entries[1].Line != 6 {
		t.Fatalf("entries %+v", d.Entries)
	}
	var got []string
	for _, e := range d.Errors {
		got = append(got, e.Error())
	}
	want := []string{
		`line 3: unexpected "garbage"`,
		"line 5: binary data, not conntrack text",
		"line 7: 65535 bytes, longer than the 16384 an entry can be",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors\n got  %q\n want %q", got, want)
	}
	if d.Errors[1].Text != "\x00\x01\x02\uFFFD binary" || d.Errors[2].Text != strings.Repeat("tcp ", 20)+"…" {
		t.Errorf("error text %q", d.Errors[1].Text)
	}
	if d.Summary == nil || d.Summary.Line != 8 || d.Summary.Version != "1.4.8" {
		t.Errorf("summary %+v", d.Summary)
	}
	var le *LineError
	if err := d.Err(); !errors.As(err, &le) || le.Line != 3 {
		t.Errorf("Err() = %v, want the line errors joined", err)
	}
	if d := Parse([]byte("tcp 6 10 src=10.0.0.1 dst=10.0.0.2 sport=99999")); !errors.Is(d.Err(), strconv.ErrRange) {
		t.Errorf("the cause is not kept: %v", d.Err())
	}
}

func TestParseErrorCap(t *testing.T) {
	d := Parse([]byte(strings.Repeat("nonsense\n", MaxErrors+5)))
	if len(d.Errors) != MaxErrors || d.ErrorsDropped != 5 || len(d.Entries) != 0 {
		t.Fatalf("%d errors, %d dropped, %d entries", len(d.Errors), d.ErrorsDropped, len(d.Entries))
	}
	if !strings.HasSuffix(d.Err().Error(), "\n5 more bad lines") {
		t.Errorf("Err() does not count the dropped lines")
	}
}

func TestSummaryLines(t *testing.T) {
	for line, want := range map[string]*Summary{
		"conntrack v1.4.6 (conntrack-tools): 0 flow entries have been shown.":        {Version: "1.4.6", What: "flow"},
		"conntrack v1.4.8 (conntrack-tools): 1 flow entries have been shown.":        {Version: "1.4.8", Count: 1, What: "flow"},
		"conntrack v1.4.5 (conntrack-tools): 2 expectation entries have been shown.": {Version: "1.4.5", Count: 2, What: "expectation"},
		"conntrack v1.4.6 (conntrack-tools): -1 flow entries have been shown.":       nil,
		"conntrack v1.4.6 (conntrack-tools): 3 flow entries have been shown":         nil,
		"conntrack v1.4.6 (conntrack-tools): 3 fish entries have been shown.":        nil,
		"conntrack v (conntrack-tools): 3 flow entries have been shown.":             nil,
		"conntrack v1.4.6: 3 flow entries have been shown.":                          nil,
	} {
		got, ok := parseSummary(line)
		if ok != (want != nil) || ok && !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %+v %v, want %+v", line, got, ok, want)
		}
	}
}
