package netfilter

import (
	"strconv"
	"strings"
)

// PortRange is an inclusive range of ports; a single port has First == Last.
type PortRange struct {
	First, Last uint16
}

// Contains reports whether p is in the range.
func (pr PortRange) Contains(p uint16) bool { return pr.First <= p && p <= pr.Last }

// PortMatch is one destination-port condition of a rule.
type PortMatch struct {
	Ranges []PortRange
	Not    bool
	// Unknown is set when part of the condition did not parse (a service
	// name, a set reference); Ranges then hold only what did.
	Unknown bool
	Via     string // e.g. "tcp --dport", "multiport --dports"
}

// Contains reports whether the condition holds for port p.
func (pm PortMatch) Contains(p uint16) bool {
	in := false
	for _, r := range pm.Ranges {
		if r.Contains(p) {
			in = true
			break
		}
	}
	return in != pm.Not
}

// DestPorts lists the rule's destination-port conditions: --dport or
// --destination-port of tcp, udp, sctp, udplite and dccp, and multiport
// --dports, --destination-ports and --ports (which matches either side).
func (r *Rule) DestPorts() []PortMatch {
	var out []PortMatch
	for _, m := range r.Matches {
		for _, o := range m.Options {
			switch {
			case m.Module == "multiport" && (o.Name == "dports" || o.Name == "destination-ports" || o.Name == "ports"):
			case o.Name == "dport" || o.Name == "destination-port":
			default:
				continue
			}
			pm := PortMatch{Not: o.Not, Via: m.Module + " --" + o.Name}
			for _, part := range strings.Split(o.Arg(), ",") {
				if pr, ok := parsePortRange(part, ":"); ok {
					pm.Ranges = append(pm.Ranges, pr)
				} else {
					pm.Unknown = true
				}
			}
			out = append(out, pm)
		}
	}
	return out
}

// MatchesDestPort reports whether every destination-port condition of the
// rule holds for port p (true when the rule has none).
func (r *Rule) MatchesDestPort(p uint16) bool {
	for _, pm := range r.DestPorts() {
		if !pm.Contains(p) {
			return false
		}
	}
	return true
}

// Redirect is where a REDIRECT, TPROXY or DNAT rule sends packets.
type Redirect struct {
	Target string // REDIRECT, TPROXY or DNAT
	// Ports is the new destination port range; zero when the port is kept
	// (DNAT to an address only, TPROXY --on-port 0).
	Ports PortRange
	// Addr is the new address (DNAT --to-destination, TPROXY --on-ip), if any.
	Addr string
	Via  string // the option that said so
}

// Redirect returns where the rule's target redirects packets, if it does.
func (r *Rule) Redirect() (Redirect, bool) {
	for t := range r.Actions() {
		switch t.Name {
		case "REDIRECT":
			rd := Redirect{Target: t.Name, Via: "REDIRECT --to-ports"}
			if o, ok := t.Option("to-ports"); ok {
				rd.Ports, _ = parsePortRange(o.Arg(), "-")
			}
			return rd, true
		case "TPROXY":
			rd := Redirect{Target: t.Name, Via: "TPROXY --on-port"}
			if o, ok := t.Option("on-port"); ok {
				rd.Ports, _ = parsePortRange(o.Arg(), "-")
			}
			if o, ok := t.Option("on-ip"); ok {
				rd.Addr = o.Arg()
			}
			return rd, true
		case "DNAT":
			rd := Redirect{Target: t.Name, Via: "DNAT --to-destination"}
			if o, ok := t.Option("to-destination"); ok {
				rd.Addr, rd.Ports = splitHostPorts(o.Arg())
			}
			return rd, true
		}
	}
	return Redirect{}, false
}

// splitHostPorts splits "ADDR[:PORT[-PORT]]", with IPv6 addresses in
// brackets ("[fd00::1]:80").
func splitHostPorts(s string) (string, PortRange) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return s, PortRange{}
		}
		addr, rest := s[1:end], s[end+1:]
		if strings.HasPrefix(rest, ":") {
			pr, _ := parsePortRange(rest[1:], "-")
			return addr, pr
		}
		return addr, PortRange{}
	}
	if strings.Count(s, ":") != 1 {
		return s, PortRange{} // an address alone (IPv6 without brackets included)
	}
	addr, ports, _ := strings.Cut(s, ":")
	pr, _ := parsePortRange(ports, "-")
	return addr, pr
}

// parsePortRange reads "P", "P<sep>Q", "<sep>Q" or "P<sep>" (open ends are
// 0 and 65535, as iptables reads them).
func parsePortRange(s, sep string) (PortRange, bool) {
	lo, hi, isRange := strings.Cut(s, sep)
	if !isRange {
		p, ok := parsePort(s)
		return PortRange{First: p, Last: p}, ok
	}
	first, last := uint16(0), uint16(65535)
	ok1, ok2 := true, true
	if lo != "" {
		first, ok1 = parsePort(lo)
	}
	if hi != "" {
		last, ok2 = parsePort(hi)
	}
	if !ok1 || !ok2 || first > last {
		return PortRange{}, false
	}
	return PortRange{First: first, Last: last}, true
}

func parsePort(s string) (uint16, bool) {
	if s == "" || s[0] == '+' {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 16)
	return uint16(n), err == nil
}
