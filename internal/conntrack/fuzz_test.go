package conntrack

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzParseConntrack(f *testing.F) {
	for _, name := range []string{"node-L.txt", "node-L-extended.txt", "node-L-expect.txt"} {
		f.Add(readTestdata(f, name))
	}
	f.Add([]byte("    [NEW] icmp     1 30 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=1 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=1 id=77\n"))
	f.Add([]byte("tcp 6 1 CLOSE src=::1 dst=::1 sport=1 dport=2 zone-orig=3 packets=1 bytes=2 src=::1 dst=::1 sport=2 dport=1 [HW_OFFLOAD] delta-time=4 [start=Wed Jun 30 09:41:48 2021] labels=a,,b x=y [Z]\r\n\x00"))
	f.Add([]byte("gre 47 9 src=1.2.3.4 dst=5.6.7.8 srckey=0xff dstkey=0x0 src=5.6.7.8 dst=1.2.3.4 srckey=0x0 dstkey=0xff\nconntrack v1.4.6 (conntrack-tools): 1 flow entries have been shown."))
	f.Add([]byte("  [DESTROY] 5 proto=1 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=3 mask-src=255.255.255.255 mask-dst=0.0.0.0 type=255 code=255 id=65535 zone=3 USERSPACE x=y\n9 proto=47 src=::1 dst=::2 srckey=0x1 dstkey=0x2 master-src=::2 master-dst=::1\nconntrack v1.4.7 (conntrack-tools): 2 expectation events have been shown.\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := Parse(data)
		Looks(data)
		lines := strings.Split(string(data), "\n")
		var nonBlank, summaries int
		for _, l := range lines {
			l = strings.TrimRight(l, " \t\r")
			if strings.TrimLeft(l, " \t") == "" {
				continue
			}
			nonBlank++
			// A summary must be text first: binary is an error.
			if _, ok := parseSummary(l); ok && isText(l) && len(l) <= MaxLineLen {
				summaries++
			}
		}
		if got := len(d.Entries) + len(d.Expectations) + len(d.Errors) + d.ErrorsDropped + summaries; got != nonBlank {
			t.Fatalf("%d non-blank lines, but %d entries + %d expectations + %d errors + %d dropped + %d summaries", nonBlank, len(d.Entries), len(d.Expectations), len(d.Errors), d.ErrorsDropped, summaries)
		}
		for i, e := range d.Errors {
			// Text: the first 80 bytes, invalid ones as U+FFFD, then "…".
			if i > 0 && e.Line <= d.Errors[i-1].Line || utf8.RuneCountInString(e.Text) > 81 || !utf8.ValidString(e.Text) {
				t.Fatalf("error %d out of order, too long or not UTF-8: %v %q", i, e, e.Text)
			}
		}
		for _, e := range d.Entries {
			if e.Line < 1 || e.Line > len(lines) || e.Raw != strings.TrimRight(lines[e.Line-1], " \t\r") {
				t.Fatalf("entry line %d raw %q is not that line of the input", e.Line, e.Raw)
			}
			bare := e
			bare.Line, bare.Raw = 0, ""
			again, err := ParseLine(e.Raw)
			if err != nil || !reflect.DeepEqual(again, bare) {
				t.Fatalf("line %d reads differently alone: %+v, %v", e.Line, again, err)
			}
			back, err := ParseLine(e.String())
			if err != nil || !reflect.DeepEqual(back, bare) {
				t.Fatalf("line %d %q prints as %q, which reads as %+v, %v; want %+v", e.Line, e.Raw, e.String(), back, err, bare)
			}
		}
		for _, x := range d.Expectations {
			if x.Line < 1 || x.Line > len(lines) || x.Raw != strings.TrimRight(lines[x.Line-1], " \t\r") {
				t.Fatalf("expectation line %d raw %q is not that line of the input", x.Line, x.Raw)
			}
			bare := x
			bare.Line, bare.Raw = 0, ""
			again, err := ParseExpectLine(x.Raw)
			if err != nil || !reflect.DeepEqual(again, bare) {
				t.Fatalf("expectation line %d reads differently alone: %+v, %v", x.Line, again, err)
			}
			back, err := ParseExpectLine(x.String())
			if err != nil || !reflect.DeepEqual(back, bare) {
				t.Fatalf("expectation line %d %q prints as %q, which reads as %+v, %v; want %+v", x.Line, x.Raw, x.String(), back, err, bare)
			}
		}
	})
}
