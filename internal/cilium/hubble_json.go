package cilium

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// maxJSONObjectLines and maxJSONObjectBytes bound how far an object that
// does not close on its first line is followed (pretty-printed output).
const (
	maxJSONObjectLines = 10000
	maxJSONObjectBytes = 4 << 20
)

// ParseHubbleJSON reads `hubble observe -o json` or `-o jsonpb` output: one
// JSON object a line, either a bare flow or a GetFlowsResponse
// ({"flow":{...},"node_name":...,"time":...}). An object spread over several
// lines (pretty-printed, e.g. by jq) is read too, and numbered by its first
// line. Unknown fields are ignored. Responses that carry no flow
// (node_status, lost_events) and agent or debug events are counted in
// other. A line that is not JSON, or a JSON object that is not a flow,
// becomes a *LineError and reading goes on with the next line.
func ParseHubbleJSON(data []byte) (flows []Flow, other int, errs []error) {
	var el errList
	lines := splitLines(data)
	for i := 0; i < len(lines); i++ {
		n, line := i+1, string(lines[i])
		trim := strings.TrimSpace(line)
		if trim == "" || kubectlNoise(trim) {
			continue
		}
		if trim[0] != '{' {
			el.add(n, line, errNotJSON)
			continue
		}
		obj, last, ok := jsonObject(lines, i)
		if !ok {
			el.add(n, line, errTruncated)
			continue
		}
		f, isFlow, err := decodeFlowObject(obj)
		if err != nil {
			el.add(n, line, err)
		}
		switch {
		case isFlow:
			f.Line = n
			flows = append(flows, f)
		case err == nil:
			other++
		default:
			continue // not read: go on with the object's second line
		}
		i = last
	}
	return flows, other, el.list()
}

// jsonObject gathers the JSON object that starts on lines[i]: the lines up
// to the one where its braces close. last is the index of that line. A
// line that starts with "{" in its first column begins another object, so
// an object cut short (a truncated line) ends there.
func jsonObject(lines [][]byte, i int) (obj []byte, last int, ok bool) {
	var sc braceScanner
	if sc.feed(lines[i]) {
		return lines[i], i, true // the usual case: one object a line
	}
	buf := append([]byte(nil), lines[i]...)
	for j := i + 1; j < len(lines) && j-i < maxJSONObjectLines; j++ {
		if bytes.HasPrefix(lines[j], []byte("{")) {
			return nil, 0, false
		}
		buf = append(append(buf, '\n'), lines[j]...)
		if len(buf) > maxJSONObjectBytes {
			return nil, 0, false
		}
		if sc.feed(lines[j]) {
			return buf, j, true
		}
	}
	return nil, 0, false
}

// splitLines cuts data into lines without their line ends, as eachLine
// does, sharing data's memory.
func splitLines(data []byte) [][]byte {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	var lines [][]byte
	for len(data) > 0 {
		line, rest, _ := bytes.Cut(data, []byte{'\n'})
		lines = append(lines, bytes.TrimSuffix(line, []byte{'\r'}))
		data = rest
	}
	return lines
}

// braceScanner follows the nesting of braces and brackets outside strings.
type braceScanner struct {
	depth    int
	inString bool
	escaped  bool
	started  bool
}

// feed scans one more line and reports whether the outermost value closed.
func (s *braceScanner) feed(line []byte) bool {
	for k := 0; k < len(line); k++ {
		c := line[k]
		switch {
		case s.inString:
			switch {
			case s.escaped:
				s.escaped = false
			case c == '\\':
				s.escaped = true
			case c == '"':
				s.inString = false
			}
		case c == '"':
			s.inString = true
		case c == '{' || c == '[':
			s.depth++
			s.started = true
		case c == '}' || c == ']':
			s.depth--
			if s.started && s.depth <= 0 {
				return true // anything after the value makes it invalid JSON
			}
		}
	}
	return false
}

// jsonResponse is one line of `hubble observe -o json|jsonpb`: a
// GetFlowsResponse, or a bare flow decoded into the embedded fields (a
// response's own node_name and time land there too). One decoding pass
// reads either.
type jsonResponse struct {
	Flow       *jsonFlow       `json:"flow"`
	NodeStatus json.RawMessage `json:"node_status"`
	LostEvents json.RawMessage `json:"lost_events"`
	AgentEvent json.RawMessage `json:"agent_event"`
	DebugEvent json.RawMessage `json:"debug_event"`
	jsonFlow
}

// decodeFlowObject reads one JSON object: a flow, a GetFlowsResponse, or
// another Hubble response (isFlow false, no error). A response with
// nothing but its time and node name (or a null flow) is such another.
func decodeFlowObject(obj []byte) (f Flow, isFlow bool, err error) {
	var r jsonResponse
	if err := json.Unmarshal(obj, &r); err != nil {
		return f, false, jsonError(err)
	}
	if r.Flow != nil {
		f, err = r.Flow.flow()
		if f.Node == "" {
			f.Node = r.NodeName
		}
		return f, true, err
	}
	if r.NodeStatus != nil || r.LostEvents != nil || r.AgentEvent != nil || r.DebugEvent != nil {
		return f, false, nil
	}
	rest := r.jsonFlow
	rest.Time, rest.NodeName = "", ""
	switch {
	case !reflect.ValueOf(rest).IsZero():
		f, err = r.flow()
		return f, true, err
	case r.Time != "" || r.NodeName != "":
		return f, false, nil
	}
	return f, false, errNotFlow
}

// jsonError words a decoding error without Go type names.
func jsonError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("JSON cut off before its end")
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at byte %d: %v", se.Offset, se)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("JSON field %q has a %s where a %s was expected", te.Field, te.Value, te.Type.Kind())
	}
	return fmt.Errorf("invalid JSON: %v", err)
}

// jsonEnum is a protobuf enum as JSON gives it: its name, or its number.
type jsonEnum string

func (e *jsonEnum) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*e = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*e = jsonEnum(s)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("enum is neither a name nor a number: %s", excerpt(string(b)))
		}
		*e = jsonEnum(n.String())
	}
	return nil
}

// numberText is the text of a JSON number that protobuf's JSON mapping
// may print quoted; null says the value was null.
func numberText(b []byte) (s string, null bool, err error) {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return "", true, nil
	}
	s = string(b)
	if len(b) > 0 && b[0] == '"' {
		err = json.Unmarshal(b, &s)
	}
	return s, false, err
}

// jsonUint is an unsigned number, which protobuf's JSON mapping prints
// quoted for 64-bit fields.
type jsonUint uint64

func (u *jsonUint) UnmarshalJSON(b []byte) error {
	s, null, err := numberText(b)
	if err != nil || null {
		*u = 0
		return err
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("not an unsigned number: %s", excerpt(string(b)))
	}
	*u = jsonUint(n)
	return nil
}

// jsonInt is a signed 32-bit number.
type jsonInt int32

func (i *jsonInt) UnmarshalJSON(b []byte) error {
	s, null, err := numberText(b)
	if err != nil || null {
		*i = 0
		return err
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return fmt.Errorf("not a 32-bit number: %s", excerpt(string(b)))
	}
	*i = jsonInt(n)
	return nil
}

type jsonPorts struct {
	SourcePort      jsonUint        `json:"source_port"`
	DestinationPort jsonUint        `json:"destination_port"`
	Flags           map[string]bool `json:"flags"`
}

type jsonICMP struct {
	Type jsonUint `json:"type"`
	Code jsonUint `json:"code"`
}

type jsonEndpoint struct {
	ID          jsonUint       `json:"ID"`
	Identity    jsonUint       `json:"identity"`
	ClusterName string         `json:"cluster_name"`
	Namespace   string         `json:"namespace"`
	Labels      []string       `json:"labels"`
	PodName     string         `json:"pod_name"`
	Workloads   []jsonWorkload `json:"workloads"`
}

type jsonWorkload struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
}

type jsonService struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
}

type jsonPolicy struct {
	Name      string   `json:"name"`
	Namespace string   `json:"namespace"`
	Labels    []string `json:"labels"`
	Revision  jsonUint `json:"revision"`
	Kind      string   `json:"kind"`
}

// jsonFlow holds the fields of flow.Flow that meshdoctor reads, under the
// proto field names Hubble's JSON output uses.
type jsonFlow struct {
	Time           string   `json:"time"`
	UUID           string   `json:"uuid"`
	Verdict        jsonEnum `json:"verdict"`
	DropReason     jsonUint `json:"drop_reason"`
	DropReasonDesc jsonEnum `json:"drop_reason_desc"`
	IP             *struct {
		Source      string `json:"source"`
		Destination string `json:"destination"`
	} `json:"IP"`
	L4 *struct {
		TCP    *jsonPorts `json:"TCP"`
		UDP    *jsonPorts `json:"UDP"`
		SCTP   *jsonPorts `json:"SCTP"`
		ICMPv4 *jsonICMP  `json:"ICMPv4"`
		ICMPv6 *jsonICMP  `json:"ICMPv6"`
	} `json:"l4"`
	Source           *jsonEndpoint `json:"source"`
	Destination      *jsonEndpoint `json:"destination"`
	Type             jsonEnum      `json:"Type"`
	NodeName         string        `json:"node_name"`
	SourceNames      []string      `json:"source_names"`
	DestinationNames []string      `json:"destination_names"`
	EventType        *struct {
		Type    jsonInt `json:"type"`
		SubType jsonInt `json:"sub_type"`
	} `json:"event_type"`
	SourceService         *jsonService `json:"source_service"`
	DestinationService    *jsonService `json:"destination_service"`
	TrafficDirection      jsonEnum     `json:"traffic_direction"`
	PolicyMatchType       jsonUint     `json:"policy_match_type"`
	TraceObservationPoint jsonEnum     `json:"trace_observation_point"`
	IsReply               *bool        `json:"is_reply"`
	Interface             *struct {
		Index jsonUint `json:"index"`
		Name  string   `json:"name"`
	} `json:"interface"`
	Summary          string       `json:"Summary"`
	EgressAllowedBy  []jsonPolicy `json:"egress_allowed_by"`
	IngressAllowedBy []jsonPolicy `json:"ingress_allowed_by"`
	EgressDeniedBy   []jsonPolicy `json:"egress_denied_by"`
	IngressDeniedBy  []jsonPolicy `json:"ingress_denied_by"`
}

// flow converts a decoded flow. An address that does not parse is an
// error; the flow is still returned with what was read.
func (j *jsonFlow) flow() (Flow, error) {
	var errs []error
	f := Flow{
		UUID:                  j.UUID,
		Node:                  j.NodeName,
		DropReason:            uint32(j.DropReason),
		DropReasonDesc:        string(j.DropReasonDesc),
		FlowType:              string(j.Type),
		TrafficDirection:      string(j.TrafficDirection),
		PolicyMatchType:       uint32(j.PolicyMatchType),
		TraceObservationPoint: string(j.TraceObservationPoint),
		Summary:               j.Summary,
		IngressAllowedBy:      policyRefs(j.IngressAllowedBy),
		EgressAllowedBy:       policyRefs(j.EgressAllowedBy),
		IngressDeniedBy:       policyRefs(j.IngressDeniedBy),
		EgressDeniedBy:        policyRefs(j.EgressDeniedBy),
	}
	if j.Time != "" {
		t, err := time.Parse(time.RFC3339Nano, j.Time)
		if err != nil {
			errs = append(errs, fmt.Errorf("time %q is not RFC 3339", excerpt(j.Time)))
		}
		f.Time = t
	}
	f.Verdict = Verdict(j.Verdict)
	if n, err := strconv.Atoi(string(j.Verdict)); err == nil && n >= 0 && n < len(verdictByNumber) {
		f.Verdict = verdictByNumber[n]
	}
	if f.Verdict == "" {
		f.Verdict = VerdictUnknown
	}
	if j.EventType != nil {
		f.EventType, f.EventSubType, f.HasEventType = int32(j.EventType.Type), int32(j.EventType.SubType), true
		f.IsPolicyVerdict = f.EventType == 5
	}
	switch {
	case j.IsReply == nil:
		f.Reply = ReplyUnknown
	case *j.IsReply:
		f.Reply = ReplyYes
	default:
		f.Reply = ReplyNo
	}
	if j.Interface != nil {
		f.InterfaceName, f.InterfaceIndex = j.Interface.Name, uint32(j.Interface.Index)
	}
	f.Source = peer(j.Source, j.SourceService, j.SourceNames)
	f.Destination = peer(j.Destination, j.DestinationService, j.DestinationNames)
	if j.IP != nil {
		var err error
		if f.Source.Addr, err = jsonAddr(j.IP.Source); err != nil {
			errs = append(errs, fmt.Errorf("IP.source: %w", err))
		}
		if f.Destination.Addr, err = jsonAddr(j.IP.Destination); err != nil {
			errs = append(errs, fmt.Errorf("IP.destination: %w", err))
		}
	}
	if l4 := j.L4; l4 != nil {
		var p *jsonPorts
		switch {
		case l4.TCP != nil:
			f.Protocol, p = "TCP", l4.TCP
		case l4.UDP != nil:
			f.Protocol, p = "UDP", l4.UDP
		case l4.SCTP != nil:
			f.Protocol, p = "SCTP", l4.SCTP
		case l4.ICMPv4 != nil:
			f.Protocol, f.ICMPType, f.ICMPCode = "ICMPv4", uint32(l4.ICMPv4.Type), uint32(l4.ICMPv4.Code)
		case l4.ICMPv6 != nil:
			f.Protocol, f.ICMPType, f.ICMPCode = "ICMPv6", uint32(l4.ICMPv6.Type), uint32(l4.ICMPv6.Code)
		}
		if p != nil {
			if p.SourcePort > 0xffff || p.DestinationPort > 0xffff {
				errs = append(errs, errors.New("l4 port out of range"))
			} else {
				f.Source.Port, f.Destination.Port = uint16(p.SourcePort), uint16(p.DestinationPort)
			}
			for _, fl := range tcpFlagOrder {
				if p.Flags[fl] {
					f.TCPFlags = append(f.TCPFlags, fl)
				}
			}
		}
	}
	if len(errs) > 0 {
		return f, errors.Join(errs...)
	}
	return f, nil
}

func jsonAddr(s string) (netip.Addr, error) {
	if s == "" {
		return netip.Addr{}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%q is not an IP address", excerpt(s))
	}
	return a, nil
}

func peer(ep *jsonEndpoint, svc *jsonService, names []string) FlowPeer {
	var p FlowPeer
	if ep != nil {
		p.ID = uint32(ep.ID)
		p.Identity, p.HasIdentity = Identity(ep.Identity), true
		p.ClusterName, p.Namespace, p.PodName = ep.ClusterName, ep.Namespace, ep.PodName
		p.Labels = ep.Labels
		for _, w := range ep.Workloads {
			p.Workloads = append(p.Workloads, Workload(w))
		}
	}
	if svc != nil && svc.Name != "" {
		p.Service = svc.Namespace + "/" + svc.Name
	}
	p.Names = names
	return p
}

func policyRefs(ps []jsonPolicy) []PolicyRef {
	var out []PolicyRef
	for _, p := range ps {
		out = append(out, PolicyRef{Name: p.Name, Namespace: p.Namespace, Kind: p.Kind, Labels: p.Labels, Revision: uint64(p.Revision)})
	}
	return out
}
