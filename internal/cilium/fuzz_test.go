package cilium

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// addSeeds adds every testdata sample and the given strings.
func addSeeds(f *testing.F, extra ...string) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range extra {
		f.Add([]byte(s))
	}
}

// countedLines is the number of lines a line-by-line parser must account
// for: neither blank nor kubectl's notices.
func countedLines(data []byte) (counted, total int) {
	eachLine(data, func(_ int, line string) {
		total++
		if !isBlank(line) && !kubectlNoise(line) {
			counted++
		}
	})
	return counted, total
}

// checkErrors checks the errors' form: *LineError in line order, within
// the input, with a short valid excerpt; then at most one summary. It
// returns how many lines they stand for.
func checkErrors(t *testing.T, errs []error, total int) int {
	t.Helper()
	n, prev := 0, 0
	for i, err := range errs {
		var le *LineError
		if !errors.As(err, &le) {
			if i != len(errs)-1 || i != MaxErrors || !strings.HasSuffix(err.Error(), " more bad lines") {
				t.Fatalf("error %d is not a *LineError: %v", i, err)
			}
			var more int
			for _, c := range strings.TrimSuffix(err.Error(), " more bad lines") {
				more = more*10 + int(c-'0')
			}
			return n + more
		}
		if le.Line < 1 || le.Line > total || le.Line < prev || utf8.RuneCountInString(le.Text) > 81 || !utf8.ValidString(le.Text) {
			t.Fatalf("error %d: line %d of %d (previous %d), text %q", i, le.Line, total, prev, le.Text)
		}
		prev = le.Line
		n++
	}
	return n
}

// checkLines checks that record lines are within the input and rising.
func checkLines(t *testing.T, what string, lines []int, total int, strictly bool) {
	t.Helper()
	prev := 0
	for _, l := range lines {
		if l < 1 || l > total || l < prev || strictly && l == prev {
			t.Fatalf("%s at line %d of %d after %d", what, l, total, prev)
		}
		prev = l
	}
}

func FuzzHubbleJSON(f *testing.F) {
	addSeeds(f, "{\n\"flow\":{\"verdict\":\"DROPPED\",\"IP\":{\"source\":\"::1\"}}\n}\n{\"verdict\":7}\n", `{"l4":{"TCP":{"flags":{"SYN":true,"x":false}}}}`, `{"flow":null}`, `{"verdict":{}}`, "{\"a\":\"\\\"}\"}\n}")
	f.Fuzz(func(t *testing.T, data []byte) {
		flows, other, errs := ParseHubbleJSON(data)
		counted, total := countedLines(data)
		nerr := checkErrors(t, errs, total)
		var lines []int
		for _, fl := range flows {
			lines = append(lines, fl.Line)
			if fl.Verdict == "" {
				t.Fatalf("flow at line %d has no verdict", fl.Line)
			}
		}
		checkLines(t, "flow", lines, total, true)
		if len(flows)+other > counted || nerr > counted {
			t.Fatalf("%d flows + %d other, %d errors from %d lines", len(flows), other, nerr, counted)
		}
	})
}

func FuzzHubbleText(f *testing.F) {
	addSeeds(f, "Jan  1 00:20:34.567 [k8s1]: 1.1.1.1:31793 (health) -> 2.2.2.2:8080 (ID:12345) policy-verdict:none EGRESS DENIED BY p (K), q (L) (TCP Flags: SYN)\n",
		"N/A: [fd00::1]:1 (unknown) <> a,b:2 (ID:3) Policy denied DROPPED ()\n", "x: 9a:3e:71:05:c2:11 (world) -> (x) (ID:1) to-stack FORWARDED\n")
	f.Fuzz(func(t *testing.T, data []byte) {
		flows, other, errs := ParseHubbleText(data)
		counted, total := countedLines(data)
		nerr := checkErrors(t, errs, total)
		var lines []int
		for _, fl := range flows {
			lines = append(lines, fl.Line)
		}
		checkLines(t, "flow", lines, total, true)
		if len(flows)+other+nerr != counted {
			t.Fatalf("%d flows + %d other + %d errors != %d lines", len(flows), other, nerr, counted)
		}
		// Each flow reads the same from its line alone.
		all := strings.Split(string(data), "\n")
		for _, fl := range flows {
			again, err := ParseHubbleTextLine(strings.TrimSpace(strings.TrimSuffix(all[fl.Line-1], "\r")))
			again.Line = fl.Line
			if err != nil || !reflect.DeepEqual(again, fl) {
				t.Fatalf("line %d reads differently alone: %+v, %v", fl.Line, again, err)
			}
		}
	})
}

func FuzzMonitor(f *testing.F) {
	addSeeds(f, "CPU 01: MARK 0x1 FROM 2 DROP: 3 bytes, reason R, identity 2->3, to endpoint 4\n",
		"xx drop (A (B)) flow 0x0 to endpoint 0, ifindex 1, file f.c:2,  [ ip-trace-id = 9 ], identity 1->2: [::1]:1 -> [::2]:2 tcp SYN, ACK [tunnel 1.1.1.1:1 -> 2.2.2.2:2 vxlan]\n")
	f.Fuzz(func(t *testing.T, data []byte) {
		drops, other, errs := ParseMonitor(data)
		counted, total := countedLines(data)
		nerr := checkErrors(t, errs, total)
		var lines []int
		for _, d := range drops {
			lines = append(lines, d.Line)
			if d.SrcPort != 0 && !d.Src.IsValid() || d.DstPort != 0 && !d.Dst.IsValid() {
				t.Fatalf("drop at line %d has a port without an address: %+v", d.Line, d)
			}
		}
		checkLines(t, "drop", lines, total, true)
		if len(drops)+other+nerr != counted {
			t.Fatalf("%d drops + %d other + %d errors != %d lines", len(drops), other, nerr, counted)
		}
	})
}

func FuzzEndpointList(f *testing.F) {
	addSeeds(f, "1 Disabled (Audit) Unknown <no label id> no labels No address No address ready\nk8s:a=b\n", "[\n{\"id\":1},\n\"x\",\n{\"id\":2,\"status\":{\"identity\":{\"id\":3}}}]")
	f.Fuzz(func(t *testing.T, data []byte) {
		counted, total := countedLines(data)
		eps, errs := ParseEndpointList(data)
		nerr := checkErrors(t, errs, total)
		var lines []int
		for _, e := range eps {
			lines = append(lines, e.Line)
			if len(e.Labels) == 0 || e.State == "" || e.IPv4.IsValid() && !e.IPv4.Is4() || e.IPv6.IsValid() && e.IPv6.Is4() {
				t.Fatalf("endpoint at line %d: %+v", e.Line, e)
			}
		}
		checkLines(t, "endpoint", lines, total, true)
		if len(eps)+nerr > counted {
			t.Fatalf("%d endpoints + %d errors from %d lines", len(eps), nerr, counted)
		}
		eps, errs = ParseEndpointJSON(data)
		checkErrors(t, errs, max(total, 1))
		lines = lines[:0]
		for _, e := range eps {
			lines = append(lines, e.Line)
		}
		checkLines(t, "JSON endpoint", lines, max(total, 1), false)
	})
}

func FuzzBPFPolicy(f *testing.F) {
	addSeeds(f, "POLICY DIRECTION IDENTITY PORT/PROTO PROXY PORT AUTH TYPE BYTES PACKETS PREFIX COOKIE\nDeny Egress 7 1-2/UDP 1 spire - - 3 4\n",
		"Ingress x 0x1/3/TCP NONE 0 0\nx\n/a/cilium_policy_x:\nAllow Ingress y <INVALID PREFIX LENGTH: 9> NONE 0 0\n")
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, errs := ParseBPFPolicy(data)
		counted, total := countedLines(data)
		nerr := checkErrors(t, errs, total)
		var lines []int
		for _, e := range entries {
			lines = append(lines, e.Line)
			if e.Port > e.PortEnd || e.Direction != "Ingress" && e.Direction != "Egress" || e.Action != "Allow" && e.Action != "Deny" {
				t.Fatalf("entry at line %d: %+v", e.Line, e)
			}
		}
		checkLines(t, "entry", lines, total, true)
		if len(entries)+nerr > counted {
			t.Fatalf("%d entries + %d errors from %d lines", len(entries), nerr, counted)
		}
	})
}

func FuzzCTList(f *testing.F) {
	addSeeds(f, "ANY SVC [::]:0 -> 0.0.0.0:0 service related expires=0x1 (a (b) c) [ ] Flags=ffff\n")
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, errs := ParseCTList(data)
		counted, total := countedLines(data)
		nerr := checkErrors(t, errs, total)
		var lines []int
		all := strings.Split(string(data), "\n")
		for _, e := range entries {
			lines = append(lines, e.Line)
			again, err := ParseCTLine(strings.TrimSpace(strings.TrimSuffix(all[e.Line-1], "\r")))
			again.Line = e.Line
			if err != nil || !reflect.DeepEqual(again, e) {
				t.Fatalf("line %d reads differently alone: %+v, %v", e.Line, again, err)
			}
		}
		checkLines(t, "entry", lines, total, true)
		if len(entries)+nerr != counted {
			t.Fatalf("%d entries + %d errors != %d lines", len(entries), nerr, counted)
		}
	})
}

func FuzzStatus(f *testing.F) {
	addSeeds(f, "Cilium: Failure 1.2\nController Status: 1/2 healthy\nIPAM: IPv4: 1/2 allocated from 10.0.0.0/8, IPv6: x\nRouting: Host: BPF\n")
	f.Fuzz(func(t *testing.T, data []byte) {
		st, errs := ParseStatus(data)
		counted, total := countedLines(data)
		nerr := checkErrors(t, errs, total)
		n, prev := 0, 0
		for _, it := range st.Items {
			n += 1 + len(it.Details)
			if it.Line <= prev || it.Key == "" {
				t.Fatalf("item %q at line %d after %d", it.Key, it.Line, prev)
			}
			prev = it.Line
			for _, d := range it.Details {
				if d.Line <= prev {
					t.Fatalf("detail at line %d after %d", d.Line, prev)
				}
				prev = d.Line
			}
		}
		if prev > total || n+nerr != counted {
			t.Fatalf("%d items and details + %d errors != %d lines", n, nerr, counted)
		}
		switch st.Overall() {
		case HealthOK, HealthDegraded, HealthFailure, HealthUnknown:
		default:
			t.Fatalf("Overall = %q", st.Overall())
		}
		st.IPAM()
		st.Controllers()
		st.ClusterHealth()
		st.HostRouting()
		st.Version()
	})
}

func FuzzDetect(f *testing.F) {
	addSeeds(f, "[\"networking\"]", "{", "\ufeff{\"flow\":{}}")
	f.Fuzz(func(t *testing.T, data []byte) {
		k := Detect(data)
		if k != KindUnknown && !kindKnown(k) {
			t.Fatalf("Detect = %q", k)
		}
		kn := DetectWithName("cilium/n/hubble-flows.json", data)
		if k != KindUnknown && kn != k || kn == KindUnknown {
			t.Fatalf("Detect = %q, DetectWithName = %q", k, kn)
		}
		out, errs := Parse(KindUnknown, "x", data)
		switch {
		case k == KindUnknown && (out != nil || len(errs) != 1 || !errors.Is(errs[0], ErrUnrecognised)):
			t.Fatalf("unrecognised input: %+v %v", out, errs)
		case k != KindUnknown && (out == nil || out.Kind != k):
			t.Fatalf("Parse of a %s: %+v", k, out)
		}
	})
}

func kindKnown(k Kind) bool {
	for _, known := range Kinds() {
		if k == known {
			return true
		}
	}
	return false
}
