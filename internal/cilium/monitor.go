package cilium

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// DropEvent is one drop notification of `cilium monitor` (cilium-dbg
// monitor), as printed by pkg/monitor's DropNotify.
type DropEvent struct {
	// Line is the 1-based line of the input.
	Line int
	// CPU is the "CPU 01" prefix of verbose (-v) lines, else "".
	CPU string
	// Reason is the drop reason as printed ("Policy denied"); an extended
	// error code, when there is one, stays appended (", -3").
	Reason string
	// Mark is the flow hash printed as "flow 0x..." or "MARK 0x...".
	Mark uint32
	// Endpoint is the endpoint the packet was going to (0 when none).
	Endpoint uint32
	// From and Bytes are verbose output's source endpoint and length.
	From, Bytes uint32
	// Ifindex, File and FileLine say where the datapath dropped it (Cilium
	// 1.11 and later).
	Ifindex    uint32
	HasIfindex bool
	File       string
	FileLine   int
	IPTraceID  uint64
	// SrcIdentity and DstIdentity are the packet's security identities,
	// printed by name when reserved ("world->12345") or numeric (-n).
	SrcIdentity, DstIdentity Identity
	HasIdentity              bool
	// Summary is the connection summary as printed; the fields below are
	// read from it.
	Summary string
	// Proto is the summary's protocol word: tcp, udp, sctp, icmp, ...
	Proto            string
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	TCPFlags         []string
	// Info is the rest of the summary: an ICMP type ("EchoRequest"), an
	// EtherType, VRRP or IGMP details.
	Info string
	// Tunnel is the outer header of an overlay packet ("[tunnel ...]").
	Tunnel string
}

// ParseMonitor reads `cilium monitor` output and returns its drop
// notifications, in the default one-line form
//
//	xx drop (Policy denied) flow 0x0 to endpoint 1234, ifindex 5, file bpf_lxc.c:2085, , identity world->12345: 10.244.3.7:41234 -> 10.0.1.5:8080 tcp SYN
//
// (also the older forms without ifindex and file) and in the verbose (-v)
// form "CPU 01: MARK 0x0 FROM 1234 DROP: 74 bytes, reason Policy denied,
// identity world->12345, to endpoint 1234". The monitor's other output
// (its banner, trace and policy-verdict lines, packet dissection) is
// counted in other; a line that is none of these becomes a *LineError.
func ParseMonitor(data []byte) (drops []DropEvent, other int, errs []error) {
	var el errList
	eachLine(data, func(n int, line string) {
		trim := strings.TrimSpace(line)
		if trim == "" || kubectlNoise(trim) {
			return
		}
		d, isDrop, err := parseMonitorLine(trim)
		switch {
		case err != nil:
			el.add(n, line, err)
		case isDrop:
			d.Line = n
			drops = append(drops, d)
		case monitorOther(line):
			other++
		default:
			el.add(n, line, errors.New("not a cilium monitor line"))
		}
	})
	return drops, other, el.list()
}

// monitorOtherPrefixes start lines cilium monitor prints besides drops.
var monitorOtherPrefixes = []string{
	"Listening for events on ", "Press Ctrl-C to quit", "level=", "time=", "---",
	"-> ", "<- ", ">> ", "** ", "Policy verdict log:", "CPU ",
	"Ethernet\t", "IPv4\t", "IPv6\t", "TCP\t", "UDP\t", "SCTP\t", "ICMPv4\t", "ICMPv6\t", "VRRP\t", "IGMP\t",
	"Ethernet ", "IPv4 ", "IPv6 ", "TCP ", "UDP ", "ICMPv4 ", "ICMPv6 ",
	"Packet has been truncated", "Failed to decode layer", "Unknown layer",
}

// monitorOther reports a line of cilium monitor that is not a drop: one
// of monitorOtherPrefixes, or a hex dump line ("00000000  45 00 ...").
func monitorOther(line string) bool {
	trim := strings.TrimSpace(line)
	for _, p := range monitorOtherPrefixes {
		if strings.HasPrefix(trim, p) {
			return true
		}
	}
	off, _, ok := strings.Cut(trim, " ")
	if ok && len(off) == 8 {
		if _, err := strconv.ParseUint(off, 16, 32); err == nil {
			return true
		}
	}
	return false
}

// cutCPU removes a "CPU 01: " prefix.
func cutCPU(s string) (cpu, rest string) {
	if !strings.HasPrefix(s, "CPU ") {
		return "", s
	}
	c, rest, ok := strings.Cut(s, ": ")
	if !ok {
		return "", s
	}
	if _, err := strconv.Atoi(strings.TrimPrefix(c, "CPU ")); err != nil {
		return "", s
	}
	return c, rest
}

// parseMonitorLine reads a drop line; isDrop is false, without error, for
// lines that are not drops.
func parseMonitorLine(s string) (d DropEvent, isDrop bool, err error) {
	cpu, rest := cutCPU(s)
	d.CPU = cpu
	switch {
	case strings.HasPrefix(rest, "xx drop ("):
		return d, true, d.parseInfo(strings.TrimPrefix(rest, "xx drop ("))
	case cpu != "" && strings.HasPrefix(rest, "MARK ") && strings.Contains(rest, " DROP: "):
		return d, true, d.parseVerbose(strings.TrimPrefix(rest, "MARK "))
	}
	return d, false, nil
}

// parseInfo reads the rest of "xx drop (REASON) flow 0x.. to endpoint N,
// [ifindex N, file F:L, ][ [ ip-trace-id = N ]][, ]identity A->B: SUMMARY".
func (d *DropEvent) parseInfo(s string) error {
	reason, rest, ok := strings.Cut(s, ") flow ")
	if !ok {
		return errors.New("drop reason not followed by \") flow \"")
	}
	d.Reason = reason
	mark, rest, _ := strings.Cut(rest, " ")
	m, err := strconv.ParseUint(mark, 0, 32)
	if err != nil {
		return fmt.Errorf("flow %q is not a number", excerpt(mark))
	}
	d.Mark = uint32(m)
	rest, ok = strings.CutPrefix(rest, "to endpoint ")
	if !ok {
		return errors.New("no \"to endpoint\" after the flow")
	}
	ep, rest, _ := strings.Cut(rest, ",")
	if d.Endpoint, err = parseU32(ep); err != nil {
		return fmt.Errorf("endpoint: %w", err)
	}
	i := strings.Index(rest, "identity ")
	if i < 0 {
		return errors.New("no identity")
	}
	for _, part := range strings.Split(rest[:i], ",") {
		if err := d.infoPart(strings.TrimSpace(part)); err != nil {
			return err
		}
	}
	ids, summary, ok := strings.Cut(rest[i+len("identity "):], ": ")
	if !ok {
		ids, summary = strings.TrimSuffix(rest[i+len("identity "):], ":"), ""
	}
	if err := d.identities(ids); err != nil {
		return err
	}
	return d.parseSummary(summary)
}

// infoPart reads one comma-separated part between the endpoint and the
// identities.
func (d *DropEvent) infoPart(p string) error {
	var err error
	switch {
	case p == "":
	case strings.HasPrefix(p, "ifindex "):
		d.Ifindex, err = parseU32(strings.TrimPrefix(p, "ifindex "))
		d.HasIfindex = err == nil
	case strings.HasPrefix(p, "file "):
		f := strings.TrimPrefix(p, "file ")
		i := strings.LastIndexByte(f, ':')
		if i < 0 {
			return fmt.Errorf("file %q has no line", excerpt(f))
		}
		d.File = f[:i]
		d.FileLine, err = strconv.Atoi(f[i+1:])
	case strings.HasPrefix(p, "[ ip-trace-id = ") && strings.HasSuffix(p, " ]"):
		d.IPTraceID, err = strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(p, "[ ip-trace-id = "), " ]"), 10, 64)
	default:
		return fmt.Errorf("unknown part %q", excerpt(p))
	}
	if err != nil {
		return fmt.Errorf("%q: not a number", excerpt(p))
	}
	return nil
}

// identities reads "world->12345".
func (d *DropEvent) identities(s string) error {
	src, dst, ok := strings.Cut(s, "->")
	if !ok {
		return fmt.Errorf("identities %q are not SRC->DST", excerpt(s))
	}
	var okS, okD bool
	d.SrcIdentity, okS = ParseIdentity(src)
	d.DstIdentity, okD = ParseIdentity(dst)
	if !okS || !okD {
		return fmt.Errorf("identities %q are not numbers or reserved names", excerpt(s))
	}
	d.HasIdentity = true
	return nil
}

// parseVerbose reads the rest of "CPU 01: MARK 0x.. FROM N DROP: N bytes,
// reason R[, identity A->B][, to endpoint N]".
func (d *DropEvent) parseVerbose(s string) error {
	mark, rest, _ := strings.Cut(s, " FROM ")
	m, err := strconv.ParseUint(mark, 0, 32)
	if err != nil {
		return fmt.Errorf("mark %q is not a number", excerpt(mark))
	}
	d.Mark = uint32(m)
	from, rest, _ := strings.Cut(rest, " DROP: ")
	if d.From, err = parseU32(from); err != nil {
		return fmt.Errorf("FROM: %w", err)
	}
	size, rest, ok := strings.Cut(rest, " bytes, reason ")
	if !ok {
		return errors.New("no \"N bytes, reason\" after \"DROP\"")
	}
	if d.Bytes, err = parseU32(size); err != nil {
		return fmt.Errorf("bytes: %w", err)
	}
	if i := strings.LastIndex(rest, ", to endpoint "); i >= 0 {
		if d.Endpoint, err = parseU32(rest[i+len(", to endpoint "):]); err != nil {
			return fmt.Errorf("endpoint: %w", err)
		}
		rest = rest[:i]
	}
	if i := strings.LastIndex(rest, ", identity "); i >= 0 {
		if err := d.identities(rest[i+len(", identity "):]); err != nil {
			return err
		}
		rest = rest[:i]
	}
	d.Reason = rest
	return nil
}

// monitorProtos are the protocol words of the connection summary.
var monitorProtos = map[string]bool{"tcp": true, "udp": true, "sctp": true, "icmp": true, "vrrp": true, "igmp": true, "IPsecAH": true, "IPsecESP": true}

// parseSummary reads GetConnectionSummary's text: "SRC:PORT -> DST:PORT
// tcp SYN, ACK", "SRC -> DST icmp EchoRequest" (older: "SRC -> DST
// EchoRequest"), "SRC -> DST", "MAC -> MAC EtherType", "[unknown]",
// "[error]", each perhaps followed by " [tunnel ...]".
func (d *DropEvent) parseSummary(s string) error {
	d.Summary = s
	if i := strings.Index(s, " [tunnel "); i >= 0 && strings.HasSuffix(s, "]") {
		d.Tunnel = s[i+1:]
		s = s[:i]
	}
	if s == "" || s == "[unknown]" || s == "[error]" {
		return nil
	}
	f := strings.Fields(s)
	if len(f) < 3 || f[1] != "->" {
		return fmt.Errorf("connection summary %q is not SRC -> DST", excerpt(s))
	}
	if isMAC(f[0]) && isMAC(f[2]) {
		d.Info = strings.Join(f[3:], " ")
		return nil
	}
	var err error
	if d.Src, d.SrcPort, err = monitorAddr(f[0]); err != nil {
		return err
	}
	if d.Dst, d.DstPort, err = monitorAddr(f[2]); err != nil {
		return err
	}
	rest := f[3:]
	if len(rest) > 0 && monitorProtos[rest[0]] {
		d.Proto, rest = rest[0], rest[1:]
	}
	if d.Proto == "tcp" {
		for _, fl := range strings.Split(strings.Join(rest, " "), ", ") {
			if fl = strings.TrimSpace(fl); fl != "" {
				d.TCPFlags = append(d.TCPFlags, fl)
			}
		}
		return nil
	}
	d.Info = strings.Join(rest, " ")
	return nil
}

// monitorAddr reads "10.0.0.1:80", "[fd00::1]:80" or a bare address.
func monitorAddr(s string) (netip.Addr, uint16, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a, 0, nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.Addr{}, 0, fmt.Errorf("%q is not an address or address:port", excerpt(s))
	}
	return ap.Addr(), ap.Port(), nil
}

func parseU32(s string) (uint32, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", excerpt(s))
	}
	return uint32(n), nil
}
