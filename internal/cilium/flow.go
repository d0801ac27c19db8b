package cilium

import (
	"net/netip"
	"strings"
	"time"
)

// Verdict is a flow's verdict as Hubble's flow.Verdict enum names it.
type Verdict string

// Verdicts of api/v1/flow/flow.proto.
const (
	VerdictUnknown    Verdict = "VERDICT_UNKNOWN"
	VerdictForwarded  Verdict = "FORWARDED"
	VerdictDropped    Verdict = "DROPPED"
	VerdictError      Verdict = "ERROR"
	VerdictAudit      Verdict = "AUDIT"
	VerdictRedirected Verdict = "REDIRECTED"
	VerdictTraced     Verdict = "TRACED"
	VerdictTranslated Verdict = "TRANSLATED"
)

// verdictByNumber maps flow.proto's Verdict numbers to names.
var verdictByNumber = [...]Verdict{VerdictUnknown, VerdictForwarded, VerdictDropped, VerdictError, VerdictAudit, VerdictRedirected, VerdictTraced, VerdictTranslated}

// Reply says whether a flow is a reply; Hubble may not know.
type Reply uint8

// Reply values: Hubble's is_reply is absent (text: arrow "<>"), false ("->")
// or true ("<-").
const (
	ReplyUnknown Reply = iota
	ReplyNo
	ReplyYes
)

// Workload is a pod's owning workload as Hubble reports it.
type Workload struct {
	Name, Kind string
}

// PolicyRef names a network policy that allowed or denied a flow.
type PolicyRef struct {
	Name, Namespace, Kind string
	Labels                []string
	Revision              uint64
}

// FlowPeer is one end of a flow.
type FlowPeer struct {
	// Addr is the IP address; JSON always has it, text only when Hubble
	// could not name the peer.
	Addr netip.Addr
	// Port is the L4 port, 0 when there is none (ICMP).
	Port uint16
	// Name is how compact text named the peer when not by address:
	// "namespace/pod", "namespace/service", or comma-joined DNS names.
	Name string
	// Namespace and PodName are JSON's fields; from text they are Name
	// split at its slash, so PodName may be a service's name there.
	Namespace, PodName string
	// ID is the Cilium endpoint ID (JSON only).
	ID uint32
	// Identity is the security identity; HasIdentity is false when JSON
	// had no endpoint for this peer.
	Identity    Identity
	HasIdentity bool
	// Labels are the identity's labels, "source:key=value" (JSON only).
	Labels      []string
	Workloads   []Workload
	ClusterName string
	// Service is "namespace/name" of the source_service or
	// destination_service (JSON only).
	Service string
	// Names are the DNS names Hubble knows for the address (JSON only).
	Names []string
}

// Flow is one Hubble flow, read from JSON or compact text.
type Flow struct {
	// Line is the 1-based line the flow starts on.
	Line int
	// Time is when the flow was observed; zero when absent. Compact text
	// prints no year by default: such times are in year 0.
	Time time.Time
	// TimeText is the time as printed (compact text only).
	TimeText string
	UUID     string
	Node     string
	// Verdict is the flow's verdict. For policy-verdict events compact text
	// prints ALLOWED, DENIED or AUDITED; Verdict is then FORWARDED, DROPPED
	// or AUDIT and VerdictText keeps the printed word.
	Verdict     Verdict
	VerdictText string
	// Type is compact text's TYPE column as printed: a drop reason
	// ("Policy denied"), an observation point ("to-endpoint"), or
	// "policy-verdict:<match> <direction>", and so on.
	Type string
	// FlowType is JSON's Type (L3_L4, L7, SOCK).
	FlowType string
	// EventType and EventSubType are JSON's event_type (1 = drop, whose
	// sub type is the drop reason; 4 = trace; 5 = policy verdict).
	EventType, EventSubType int32
	HasEventType            bool
	// IsPolicyVerdict is set for policy-verdict events.
	IsPolicyVerdict bool
	// DropReason is JSON's numeric drop_reason (133 = policy denied),
	// DropReasonDesc its drop_reason_desc name (POLICY_DENIED), and
	// DropReasonText the reason compact text prints for a drop ("Policy
	// denied"). Each is kept as given.
	DropReason     uint32
	DropReasonDesc string
	DropReasonText string
	Source         FlowPeer
	Destination    FlowPeer
	// Protocol is TCP, UDP, SCTP, ICMPv4 or ICMPv6, or "" when unknown.
	Protocol string
	// TCPFlags are the TCP flags set ("SYN", "ACK", ...).
	TCPFlags           []string
	ICMPType, ICMPCode uint32
	// TrafficDirection is INGRESS, EGRESS or TRAFFIC_DIRECTION_UNKNOWN.
	TrafficDirection string
	// PolicyMatchType is JSON's policy_match_type number; PolicyMatch the
	// name compact text prints for it ("none", "L3-Only", "L3-L4", ...).
	PolicyMatchType       uint32
	PolicyMatch           string
	Reply                 Reply
	TraceObservationPoint string
	Summary               string
	// Policies that allowed or denied the flow (JSON, newer Hubble).
	IngressAllowedBy, EgressAllowedBy []PolicyRef
	IngressDeniedBy, EgressDeniedBy   []PolicyRef
	// By are the policies compact text lists after "ALLOWED BY", "DENIED
	// BY" or "AUDITED BY" (hubble observe --print-policy-names).
	By []PolicyRef
	// InterfaceName and InterfaceIndex are where the flow was seen (JSON).
	InterfaceName  string
	InterfaceIndex uint32
}

// Dropped reports whether the flow was dropped, or denied by policy.
func (f *Flow) Dropped() bool { return f.Verdict == VerdictDropped }

// PolicyDenied reports whether policy dropped the flow: a drop for reason
// 133 (POLICY_DENIED) or 181 (POLICY_DENY, an explicit deny rule), or a
// policy-verdict event that denied it.
func (f *Flow) PolicyDenied() bool {
	if f.Verdict != VerdictDropped {
		return false
	}
	switch {
	case f.DropReason == 133 || f.DropReason == 181,
		f.DropReasonDesc == "POLICY_DENIED" || f.DropReasonDesc == "POLICY_DENY",
		strings.HasPrefix(f.DropReasonText, "Policy denied"),
		f.IsPolicyVerdict:
		return true
	}
	return false
}

// tcpFlagOrder is the order of flow.proto's TCPFlags fields.
var tcpFlagOrder = [...]string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", "NS"}
