package cilium

import (
	"errors"
	"strings"
	"testing"
)

func TestDetectTestdata(t *testing.T) {
	for name, want := range map[string]Kind{
		"hubble-flows.json":       KindHubbleJSON,
		"hubble-observe.txt":      KindHubbleText,
		"monitor-drop.txt":        KindMonitor,
		"endpoint-list.txt":       KindEndpointList,
		"endpoint-list.json":      KindEndpointJSON,
		"bpf-policy-get.txt":      KindBPFPolicy,
		"bpf-policy-get-1.12.txt": KindBPFPolicy,
		"bpf-policy-get-all.txt":  KindBPFPolicy,
		"bpf-ct-list.txt":         KindCTList,
		"bpf-ct-list-1.17.txt":    KindCTList,
		"status.txt":              KindStatus,
		"status-verbose.txt":      KindStatus,
	} {
		if got := Detect(readTestdata(t, name)); got != want {
			t.Errorf("Detect(%s) = %q, want %q", name, got, want)
		}
	}
}

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     Kind
	}{
		{"empty", "", KindUnknown},
		{"prose", "hello world\nthis is not cilium\n", KindUnknown},
		{"some other JSON array", `[{"kind":"Pod"}]`, KindUnknown},
		{"some other JSON object", `{"kind":"Pod"}`, KindUnknown},
		{"cilium monitor -j is not a flow", `{"cpu":"CPU 01","type":"drop","mark":"0x0","reason":"Policy denied","source":1317,"bytes":74}`, KindUnknown},
		{"pretty-printed hubble JSON", "{\n  \"flow\": {\n    \"verdict\": \"DROPPED\"\n  }\n}\n", KindHubbleJSON},
		{"pretty-printed bare flow", "{\n  \"verdict\": \"DROPPED\"\n}\n", KindHubbleJSON},
		{"endpoint JSON object per line is not an array", `{"id":1,"status":{"networking":{}}}`, KindUnknown},
		{"monitor without banner", "xx drop (Policy denied) flow 0x0 to endpoint 1, identity 2->1: [unknown]\n", KindMonitor},
		{"monitor verbose", "CPU 01: MARK 0x0 FROM 94 DROP: 60 bytes, reason Unsupported L3 protocol\n", KindMonitor},
		{"endpoint row without header", "1317 Enabled Disabled 23456 k8s:app=orders-api 10.0.1.5 ready\n", KindEndpointList},
		{"bpf policy --all", "Endpoint ID: 12\nPath: /sys/fs/bpf/tc/globals/cilium_policy_00012\n", KindBPFPolicy},
		{"bpf policy old --all", "/sys/fs/bpf/tc/globals/cilium_policy_02636:\n", KindBPFPolicy},
		{"status after kubectl's notice", "Defaulted container \"cilium-agent\" out of: cilium-agent\n\nKVStore:   Ok   Disabled\n", KindStatus},
		{"a key status does not own", "Name: web\n", KindUnknown},
		{"BOM and blank lines", "\ufeff\n\nTCP IN 10.0.0.1:1 -> 10.0.0.2:2 expires=1\n", KindCTList},
		{"BOM on the first line", "\ufeffKVStore: Ok Disabled\n", KindStatus},
	} {
		if got := Detect([]byte(tc.in)); got != tc.want {
			t.Errorf("%s: Detect = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestDetectWithName(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
		want Kind
	}{
		{"cilium/node-1/hubble-flows.json", "", KindHubbleJSON},
		{"cilium/node-1/hubble-flows.txt", "", KindHubbleText},
		{"cilium/node-1/monitor.txt", "", KindMonitor},
		{"cilium/node-1/endpoint-list.json", "", KindEndpointJSON},
		{"cilium/node-1/endpoint-list.txt", "", KindEndpointList},
		{"cilium/node-1/bpf-policy-get.txt", "", KindBPFPolicy},
		{"cilium\\node-1\\bpf-ct-list.txt", "", KindCTList},
		{"cilium/node-1/status.txt", "", KindStatus},
		{"cilium/node-1/notes.txt", "", KindUnknown},
		// Content wins over the name.
		{"cilium/node-1/status.txt", "TCP IN 10.0.0.1:1 -> 10.0.0.2:2 expires=1\n", KindCTList},
	} {
		if got := DetectWithName(tc.name, []byte(tc.data)); got != tc.want {
			t.Errorf("DetectWithName(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestParse(t *testing.T) {
	out, errs := Parse(KindUnknown, "cilium/node-1/monitor.txt", readTestdata(t, "monitor-drop.txt"))
	noErrors(t, errs)
	if out.Kind != KindMonitor || out.Name != "cilium/node-1/monitor.txt" || len(out.Drops) != 5 || out.Other != 3 {
		t.Errorf("monitor: %+v", out)
	}
	out, errs = Parse(KindCTList, "ct.txt", []byte("TCP IN 10.0.0.1:1 -> 10.0.0.2:2 expires=1\nnonsense\n"))
	if len(out.CT) != 1 || len(errs) != 1 || errs[0].Error() != `ct.txt:2: not "PROTO DIR SRC -> DST ..."` {
		t.Errorf("ct: %+v %v", out, errs)
	}
	var le *LineError
	if !errors.As(errs[0], &le) || le.File != "ct.txt" || le.Line != 2 || le.Text != "nonsense" {
		t.Errorf("LineError: %+v", le)
	}
	out, errs = Parse(KindUnknown, "notes.txt", []byte("hello\n"))
	if out != nil || len(errs) != 1 || !errors.Is(errs[0], ErrUnrecognised) {
		t.Errorf("unknown: %+v %v", out, errs)
	}
	out, errs = Parse(Kind("nope"), "x", nil)
	if out != nil || len(errs) != 1 || errs[0].Error() != `x: kind "nope": not recognised as output of a Cilium or Hubble command` {
		t.Errorf("bad kind: %+v %v", out, errs)
	}
	for _, k := range Kinds() {
		out, errs := Parse(k, "empty", nil)
		if out == nil || out.Kind != k || len(errs) != 0 {
			t.Errorf("%s on empty input: %+v %v", k, out, errs)
		}
	}
	// The Output carries only its own kind's records.
	out, _ = Parse(KindUnknown, "status.txt", readTestdata(t, "status.txt"))
	if out.Status == nil || out.Flows != nil || out.Endpoints != nil || out.CT != nil || out.Policy != nil || out.Drops != nil {
		t.Errorf("status output: %+v", out)
	}
}

func TestLineErrorText(t *testing.T) {
	long := strings.Repeat("é", 100)
	e := &LineError{Line: 3, Text: excerpt("bad\xffline"), Err: errNotJSON}
	if e.Error() != "line 3: not a JSON object" || e.Text != "bad\uFFFDline" || !errors.Is(e, errNotJSON) {
		t.Errorf("%v %q", e, e.Text)
	}
	if got := excerpt(long); got != strings.Repeat("é", 80)+"…" {
		t.Errorf("excerpt of a long line has %d runes", len([]rune(got)))
	}
}
