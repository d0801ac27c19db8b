package cilium

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
)

// Kind is which command's output a file holds.
type Kind string

// Kinds of input.
const (
	KindUnknown      Kind = ""
	KindHubbleJSON   Kind = "hubble-json"   // hubble observe -o json / jsonpb
	KindHubbleText   Kind = "hubble-text"   // hubble observe (compact)
	KindMonitor      Kind = "monitor"       // cilium monitor
	KindEndpointList Kind = "endpoint-list" // cilium endpoint list
	KindEndpointJSON Kind = "endpoint-json" // cilium endpoint list -o json
	KindBPFPolicy    Kind = "bpf-policy"    // cilium bpf policy get
	KindCTList       Kind = "bpf-ct"        // cilium bpf ct list global
	KindStatus       Kind = "status"        // cilium status
)

// Kinds lists every known kind (a new slice each call).
func Kinds() []Kind {
	return []Kind{KindHubbleJSON, KindHubbleText, KindMonitor, KindEndpointList, KindEndpointJSON, KindBPFPolicy, KindCTList, KindStatus}
}

// detectLines and detectBytes bound how much of a file Detect reads.
const (
	detectLines = 40
	detectBytes = 64 << 10
)

// Detect tells from its content which command's output data is, or
// KindUnknown. It reads at most the first 64 KiB: a JSON array is
// endpoint JSON when it has an endpoint's keys; otherwise the first of the
// first 40 lines (blank lines and kubectl's notices aside) whose form it
// recognises decides: a header, a banner, or a record of one of the kinds.
func Detect(data []byte) Kind {
	head := bytes.TrimPrefix(data[:min(len(data), detectBytes)], []byte("\ufeff"))
	trimmed := bytes.TrimLeft(head, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if bytes.Contains(head, []byte(`"networking"`)) || bytes.Contains(head, []byte(`"external-identifiers"`)) ||
			bytes.Contains(head, []byte(`"security-relevant"`)) || bytes.Contains(head, []byte(`"policy-enabled"`)) {
			return KindEndpointJSON
		}
		return KindUnknown
	}
	kind := KindUnknown
	seen := 0
	eachLine(head, func(_ int, line string) {
		trim := strings.TrimSpace(line)
		if kind != KindUnknown || seen >= detectLines || trim == "" || kubectlNoise(trim) {
			return
		}
		seen++
		kind = detectLine(line, trim)
	})
	return kind
}

// detectLine classifies one line, KindUnknown when it tells nothing.
func detectLine(line, trim string) Kind {
	switch {
	case trim[0] == '{':
		if looksLikeHubbleJSON(trim) {
			return KindHubbleJSON
		}
		if trim == "{" {
			return KindUnknown // pretty-printed: decided by the keys that follow
		}
	case strings.Contains(trim, "ENDPOINT") && strings.Contains(trim, "IDENTITY") && strings.Contains(trim, "STATUS"):
		return KindEndpointList
	case strings.Contains(trim, colDirection) && strings.Contains(trim, colPort),
		strings.HasPrefix(trim, "Endpoint ID:"),
		strings.Contains(trim, "cilium_policy") && strings.HasSuffix(trim, ":"):
		return KindBPFPolicy
	case strings.HasPrefix(trim, "Listening for events on ") || strings.HasPrefix(trim, "Press Ctrl-C to quit"):
		return KindMonitor
	}
	if strings.HasPrefix(trim, `"flow"`) || strings.HasPrefix(trim, `"verdict"`) {
		return KindHubbleJSON // inside a pretty-printed object
	}
	if _, isDrop, err := parseMonitorLine(trim); isDrop && err == nil {
		return KindMonitor
	}
	if _, err := ParseCTLine(trim); err == nil {
		return KindCTList
	}
	if _, err := ParseHubbleTextLine(trim); err == nil {
		return KindHubbleText
	}
	if k, _, ok := statusKey(line); ok && statusKeys[k] {
		return KindStatus
	}
	if f := strings.Fields(trim); len(f) >= 5 {
		if _, err := parseEndpointRow(f); err == nil {
			return KindEndpointList
		}
	}
	return KindUnknown
}

// statusKeys are keys only cilium status prints.
var statusKeys = map[string]bool{
	"KVStore": true, "Kubernetes APIs": true, "KubeProxyReplacement": true, "Cilium health daemon": true,
	"Controller Status": true, "NodeMonitor": true, "Host Routing": true, "Masquerading": true, "IPAM": true,
	"Proxy Status": true, "Global Identity Range": true, "Cluster health": true, "ContainerRuntime": true,
	"CNI Chaining": true, "CNI Config file": true, "Hubble": true, "Encryption": true, "Cilium": true,
}

// looksLikeHubbleJSON reports a one-line JSON object with a flow's keys
// or a GetFlowsResponse's.
func looksLikeHubbleJSON(s string) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal([]byte(s), &top) != nil {
		return false
	}
	// `cilium monitor -j` prints objects with "cpu" and a lower-case
	// "type" (and a numeric "source"), which flows never have.
	if _, ok := top["cpu"]; ok {
		return false
	}
	if _, ok := top["type"]; ok {
		return false
	}
	for _, k := range []string{"flow", "node_status", "lost_events", "verdict", "IP", "l4", "source", "destination",
		"event_type", "Type", "node_name", "drop_reason_desc", "Summary", "trace_observation_point", "ethernet"} {
		if _, ok := top[k]; ok {
			return true
		}
	}
	return false
}

// nameHints map words of a bundle file name to kinds; the first match
// wins, so the more specific come first.
var nameHints = []struct {
	word string
	json bool
	kind Kind
}{
	{"hubble", true, KindHubbleJSON},
	{"flows", true, KindHubbleJSON},
	{"hubble", false, KindHubbleText},
	{"flows", false, KindHubbleText},
	{"observe", false, KindHubbleText},
	{"monitor", false, KindMonitor},
	{"drop", false, KindMonitor},
	{"endpoint", true, KindEndpointJSON},
	{"endpoint", false, KindEndpointList},
	{"policy", false, KindBPFPolicy},
	{"ct-list", false, KindCTList},
	{"bpf-ct", false, KindCTList},
	{"conntrack", false, KindCTList},
	{"status", false, KindStatus},
}

// DetectWithName is Detect, falling back on the file's name when the
// content tells nothing (an empty file, say): bundle names such as
// cilium/node-1/endpoint-list.txt or hubble-flows.json.
func DetectWithName(name string, data []byte) Kind {
	if k := Detect(data); k != KindUnknown {
		return k
	}
	base := strings.ToLower(path.Base(strings.ReplaceAll(name, "\\", "/")))
	isJSON := strings.HasSuffix(base, ".json") || strings.HasSuffix(base, ".jsonl")
	for _, h := range nameHints {
		if strings.Contains(base, h.word) && (!h.json || isJSON) {
			return h.kind
		}
	}
	return KindUnknown
}

// Output is what Parse read from one file; only the slice of its kind is
// filled.
type Output struct {
	Kind Kind
	// Name is the name given to Parse.
	Name      string
	Flows     []Flow
	Drops     []DropEvent
	Endpoints []Endpoint
	Policy    []PolicyEntry
	CT        []CTEntry
	Status    *Status
	// Other counts lines (or JSON objects) recognised as the command's
	// output that are not records: lost-event and node-status notices,
	// cilium monitor's banner and non-drop events.
	Other int
}

// ErrUnrecognised is Parse's error for input of no known kind.
var ErrUnrecognised = errors.New("not recognised as output of a Cilium or Hubble command")

// Parse reads data as the given kind; with KindUnknown it detects the kind
// with DetectWithName first, and fails with ErrUnrecognised when that
// tells nothing. Line errors are *LineError with File set to name.
func Parse(kind Kind, name string, data []byte) (*Output, []error) {
	if kind == KindUnknown {
		if kind = DetectWithName(name, data); kind == KindUnknown {
			return nil, []error{fmt.Errorf("%s: %w", name, ErrUnrecognised)}
		}
	}
	out := &Output{Kind: kind, Name: name}
	var errs []error
	switch kind {
	case KindHubbleJSON:
		out.Flows, out.Other, errs = ParseHubbleJSON(data)
	case KindHubbleText:
		out.Flows, out.Other, errs = ParseHubbleText(data)
	case KindMonitor:
		out.Drops, out.Other, errs = ParseMonitor(data)
	case KindEndpointList:
		out.Endpoints, errs = ParseEndpointList(data)
	case KindEndpointJSON:
		out.Endpoints, errs = ParseEndpointJSON(data)
	case KindBPFPolicy:
		out.Policy, errs = ParseBPFPolicy(data)
	case KindCTList:
		out.CT, errs = ParseCTList(data)
	case KindStatus:
		out.Status, errs = ParseStatus(data)
	default:
		return nil, []error{fmt.Errorf("%s: kind %q: %w", name, kind, ErrUnrecognised)}
	}
	for _, err := range errs {
		if le, ok := err.(*LineError); ok {
			le.File = name
		}
	}
	return out, errs
}
