package cilium

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// ParseHubbleText reads `hubble observe` compact output, the default, as
// hubble/pkg/printer prints each flow:
//
//	TIME[ [NODE]]: SRC (SRC-ID) ARROW DST (DST-ID) TYPE VERDICT[ BY POLICIES] (SUMMARY)
//
// for example
//
//	Jan  1 12:00:00.123: 10.244.3.7:41234 (world) -> prod/api-5d9c7b:8080 (ID:12345) Policy denied DROPPED (TCP Flags: SYN)
//
// SRC and DST are "namespace/pod:port", "namespace/service:port", DNS
// names, or the address ("10.0.0.1:80", "[fd00::1]:80", no port for ICMP);
// identities print as "(ID:n)" or, when reserved, by name ("(world)").
// ARROW is "->", "<-" for a reply (printed with the ends swapped: the flow
// goes from right to left) or "<>" when unknown. Lines Hubble prints
// besides flows ("EVENTS LOST: ...", node status) are counted in other;
// any other line becomes a *LineError.
func ParseHubbleText(data []byte) (flows []Flow, other int, errs []error) {
	var el errList
	eachLine(data, func(n int, line string) {
		trim := strings.TrimSpace(line)
		if trim == "" || kubectlNoise(trim) {
			return
		}
		if hubbleTextOther(trim) {
			other++
			return
		}
		f, err := ParseHubbleTextLine(trim)
		if err != nil {
			el.add(n, line, err)
			return
		}
		f.Line = n
		flows = append(flows, f)
	})
	return flows, other, el.list()
}

// hubbleTextOther reports lines of `hubble observe` that are not flows:
// lost events, and node status events (printed to stderr, often captured
// with 2>&1).
func hubbleTextOther(s string) bool {
	if strings.HasPrefix(s, "EVENTS LOST: ") {
		return true
	}
	_, rest, ok := strings.Cut(s, ": ")
	if !ok {
		return false
	}
	if strings.HasPrefix(rest, "Receiving flows from ") || strings.HasPrefix(rest, "unknown node status event") ||
		strings.HasPrefix(rest, "Error ") {
		return true
	}
	num, tail, ok := strings.Cut(rest, " ")
	if _, err := strconv.Atoi(num); ok && err == nil {
		return strings.HasPrefix(tail, "nodes are unavailable: ") || strings.HasPrefix(tail, "nodes removed from cluster: ")
	}
	return false
}

// hubbleTimeLayouts are the layouts `hubble observe --time-format` offers,
// StampMilli being its default.
var hubbleTimeLayouts = []string{time.StampMilli, time.Stamp, time.StampMicro, time.StampNano, time.RFC3339Nano, time.RFC1123Z, time.DateTime}

// textVerdicts maps the verdict words of compact output to verdicts;
// ALLOWED, DENIED and AUDITED are printed for policy-verdict events.
var textVerdicts = map[string]Verdict{
	"FORWARDED": VerdictForwarded, "DROPPED": VerdictDropped, "ERROR": VerdictError,
	"AUDIT": VerdictAudit, "REDIRECTED": VerdictRedirected, "TRACED": VerdictTraced,
	"TRANSLATED": VerdictTranslated, "VERDICT_UNKNOWN": VerdictUnknown,
	"ALLOWED": VerdictForwarded, "DENIED": VerdictDropped, "AUDITED": VerdictAudit,
}

// tracePoints are the observation points compact output prints as TYPE
// (pkg/monitor/api TraceObservationPoint).
var tracePoints = map[string]bool{
	"to-endpoint": true, "to-proxy": true, "to-host": true, "to-stack": true, "to-overlay": true,
	"to-network": true, "to-crypto": true, "from-endpoint": true, "from-proxy": true, "from-host": true,
	"from-stack": true, "from-overlay": true, "from-network": true, "from-crypto": true,
}

// ParseHubbleTextLine reads one flow of compact output (see
// ParseHubbleText). The flow's Line is left 0.
func ParseHubbleTextLine(s string) (Flow, error) {
	var f Flow
	prefix, rest, ok := strings.Cut(s, ": ")
	if !ok {
		return f, errors.New("no \"TIME: \" prefix")
	}
	if strings.HasSuffix(prefix, "]") {
		if i := strings.LastIndex(prefix, " ["); i >= 0 {
			prefix, f.Node = prefix[:i], prefix[i+2:len(prefix)-1]
		}
	}
	f.TimeText = prefix
	for _, layout := range hubbleTimeLayouts {
		if t, err := time.Parse(layout, prefix); err == nil {
			f.Time = t
			break
		}
	}
	src, rest, _ := strings.Cut(rest, " ")
	srcID, rest, _ := strings.Cut(rest, " ")
	arrow, rest, _ := strings.Cut(rest, " ")
	dst, rest, _ := strings.Cut(rest, " ")
	dstID, rest, _ := strings.Cut(rest, " ")
	left, err := parseHubbleHost(src)
	if err != nil {
		return f, fmt.Errorf("source: %w", err)
	}
	right, err := parseHubbleHost(dst)
	if err != nil {
		return f, fmt.Errorf("destination: %w", err)
	}
	if left.Identity, err = parseHubbleIdentity(srcID); err != nil {
		return f, fmt.Errorf("source identity: %w", err)
	}
	if right.Identity, err = parseHubbleIdentity(dstID); err != nil {
		return f, fmt.Errorf("destination identity: %w", err)
	}
	left.HasIdentity, right.HasIdentity = true, true
	switch arrow {
	case "->":
		f.Reply, f.Source, f.Destination = ReplyNo, left, right
	case "<-":
		f.Reply, f.Source, f.Destination = ReplyYes, right, left
	case "<>":
		f.Reply, f.Source, f.Destination = ReplyUnknown, left, right
	default:
		return f, fmt.Errorf("%q is not an arrow (->, <- or <>)", excerpt(arrow))
	}
	typ, verdict, tail, ok := splitVerdict(rest)
	if !ok {
		return f, errors.New("no verdict (FORWARDED, DROPPED, ...) after the flow's type")
	}
	f.Type, f.VerdictText, f.Verdict = typ, verdict, textVerdicts[verdict]
	if after, ok := strings.CutPrefix(tail, " BY "); ok {
		if f.By, tail, err = parsePolicyNames(after); err != nil {
			return f, err
		}
		if tail == "" {
			return f, errors.New("no summary after the policy names")
		}
	}
	if tail != "" {
		if !strings.HasPrefix(tail, " (") || !strings.HasSuffix(tail, ")") {
			return f, fmt.Errorf("summary %q is not in parentheses", excerpt(tail))
		}
		f.Summary = tail[2 : len(tail)-1]
	}
	f.readType()
	f.readSummary()
	return f, nil
}

// splitVerdict finds the verdict word in "TYPE VERDICT[ BY ...] (SUMMARY)":
// the first verdict word that follows a space and is followed by the end,
// " (" or " BY ". TYPE may hold spaces ("Policy denied").
func splitVerdict(s string) (typ, verdict, tail string, ok bool) {
	for i := 1; i < len(s); i++ {
		if s[i] != ' ' {
			continue
		}
		word := s[i+1:]
		end := strings.IndexByte(word, ' ')
		if end >= 0 {
			word = word[:end]
		}
		if _, known := textVerdicts[word]; !known {
			continue
		}
		tail = s[i+1+len(word):]
		if tail == "" || strings.HasPrefix(tail, " (") || strings.HasPrefix(tail, " BY ") {
			return s[:i], word, tail, true
		}
	}
	return "", "", "", false
}

// parsePolicyNames reads "name (Kind), name2 (Kind2)" and returns what
// follows the list.
func parsePolicyNames(s string) ([]PolicyRef, string, error) {
	var refs []PolicyRef
	for {
		name, rest, ok := strings.Cut(s, " (")
		if !ok || name == "" {
			return refs, "", fmt.Errorf("policy name %q is not followed by its kind in parentheses", excerpt(s))
		}
		kind, after, ok := strings.Cut(rest, ")")
		if !ok {
			return refs, "", fmt.Errorf("policy kind %q is not closed", excerpt(rest))
		}
		rest = after
		ref := PolicyRef{Name: name, Kind: kind}
		if ns, n, ok := strings.Cut(name, "/"); ok {
			ref.Namespace, ref.Name = ns, n
		}
		refs = append(refs, ref)
		if next, ok := strings.CutPrefix(rest, ", "); ok {
			s = next
			continue
		}
		return refs, rest, nil
	}
}

// readType fills what the TYPE column tells.
func (f *Flow) readType() {
	switch {
	case strings.HasPrefix(f.Type, "policy-verdict:"):
		f.IsPolicyVerdict = true
		match, dir, _ := strings.Cut(strings.TrimPrefix(f.Type, "policy-verdict:"), " ")
		f.PolicyMatch = match
		switch dir {
		case "INGRESS", "EGRESS", "TRAFFIC_DIRECTION_UNKNOWN":
			f.TrafficDirection = dir
		}
	case tracePoints[f.Type]:
		f.TraceObservationPoint = f.Type
	case f.Verdict == VerdictDropped || f.Verdict == VerdictError:
		f.DropReasonText = f.Type
	}
}

// readSummary takes the protocol and TCP flags from an L3/L4 summary
// ("TCP Flags: SYN", "UDP", "ICMPv4 EchoRequest").
func (f *Flow) readSummary() {
	s := f.Summary
	if strings.HasPrefix(s, "IP Trace ID: ") {
		if _, after, ok := strings.Cut(s, "; "); ok {
			s = after
		}
	}
	switch {
	case strings.HasPrefix(s, "TCP Flags: "):
		f.Protocol = "TCP"
		flags, _, _ := strings.Cut(strings.TrimPrefix(s, "TCP Flags: "), ";")
		for _, fl := range strings.Split(flags, ", ") {
			if fl = strings.TrimSpace(fl); fl != "" {
				f.TCPFlags = append(f.TCPFlags, fl)
			}
		}
	case s == "UDP" || strings.HasPrefix(s, "UDP;"):
		f.Protocol = "UDP"
	case s == "SCTP" || strings.HasPrefix(s, "SCTP;"):
		f.Protocol = "SCTP"
	case strings.HasPrefix(s, "ICMPv4 "):
		f.Protocol = "ICMPv4"
	case strings.HasPrefix(s, "ICMPv6 "):
		f.Protocol = "ICMPv6"
	}
}

// parseHubbleIdentity reads "(ID:123)" or "(world)".
func parseHubbleIdentity(s string) (Identity, error) {
	if len(s) < 3 || s[0] != '(' || s[len(s)-1] != ')' {
		return 0, fmt.Errorf("%q is not an identity in parentheses", excerpt(s))
	}
	id, ok := ParseIdentity(s[1 : len(s)-1])
	if !ok {
		return 0, fmt.Errorf("%q is neither ID:<number> nor a reserved identity", excerpt(s))
	}
	return id, nil
}

// parseHubbleHost reads a peer as the printer's Hostname prints it.
func parseHubbleHost(s string) (FlowPeer, error) {
	var p FlowPeer
	if s == "" || isMAC(s) {
		p.Name = s
		return p, nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		p.Addr = a
		return p, nil
	}
	if strings.HasPrefix(s, "[") {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return p, fmt.Errorf("%q is not [address]:port", excerpt(s))
		}
		p.Addr, p.Port = ap.Addr(), ap.Port()
		return p, nil
	}
	host := s
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		port, err := strconv.ParseUint(s[i+1:], 10, 16)
		if err != nil {
			return p, fmt.Errorf("%q has no numeric port after its last colon", excerpt(s))
		}
		host, p.Port = s[:i], uint16(port)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Is6() && !a.Is4In6() {
			return p, fmt.Errorf("IPv6 address with a port must be in brackets: %q", excerpt(s))
		}
		p.Addr = a
		return p, nil
	}
	if host == "" || strings.ContainsAny(host, "()[]") {
		return p, fmt.Errorf("%q is not a peer name", excerpt(s))
	}
	p.Name = host
	if ns, pod, ok := strings.Cut(host, "/"); ok && !strings.Contains(pod, "/") {
		p.Namespace, p.PodName = ns, pod
	}
	return p, nil
}

// isMAC reports a colon-separated 48-bit MAC address, which Hubble prints
// for flows without IP.
func isMAC(s string) bool {
	if len(s) != 17 {
		return false
	}
	for i := 0; i < 17; i++ {
		c := s[i]
		if i%3 == 2 {
			if c != ':' {
				return false
			}
		} else if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
