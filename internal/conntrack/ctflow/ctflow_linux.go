//go:build linux

package ctflow

import (
	"encoding/binary"
	"net/netip"
	"strconv"

	ct "github.com/ti-mo/conntrack"

	"github.com/meshdoctor/meshdoctor/internal/conntrack"
)

// statusHWOffload is IPS_HW_OFFLOAD, which ti-mo/conntrack v0.6.0 does not name.
const statusHWOffload ct.Status = 1 << 15

// ToEntry converts a flow from a dump (Conn.Dump). Timeout, mark, use and
// id are always sent by the kernel, so they are marked present; counters
// are present when non-zero (accounting on). Line and Raw stay empty: the
// entry's String is its evidence.
func ToEntry(f ct.Flow) conntrack.Entry {
	e := conntrack.Entry{
		Family:     family(f.TupleOrig.IP.SourceAddress),
		Proto:      conntrack.Proto(f.TupleOrig.Proto.Protocol),
		Timeout:    f.Timeout,
		HasTimeout: true,
		State:      state(f.ProtoInfo),
		Mark:       f.Mark,
		HasMark:    true,
		Secctx:     string(f.SecurityContext),
		Zone:       f.Zone,
		HasZone:    f.Zone != 0,
		Use:        f.Use,
		HasUse:     true,
		ID:         f.ID,
		HasID:      true,
		Helper:     f.Helper.Name,
		Labels:     labels(f.Labels),
	}
	e.Orig = tuple(e.Proto, f.TupleOrig, f.CountersOrig)
	e.Reply = tuple(e.Proto, f.TupleReply, f.CountersReply)
	e.Flags = flags(f.Status)
	if start, stop := f.Timestamp.Start, f.Timestamp.Stop; !start.IsZero() && !stop.IsZero() {
		// conntrack measures a live flow up to now; only a finished
		// one has a delta that does not depend on when it is converted.
		e.DeltaTime = uint64(stop.Unix() - start.Unix())
	}
	return e
}

// FromEvent converts a flow event (Conn.Listen); ok is false for
// expectation events and events without a flow. A DESTROY event carries
// no timeout, as `conntrack -E` shows.
func FromEvent(ev ct.Event) (e conntrack.Entry, ok bool) {
	if ev.Flow == nil {
		return conntrack.Entry{}, false
	}
	var name string
	switch ev.Type {
	case ct.EventNew:
		name = "NEW"
	case ct.EventUpdate:
		name = "UPDATE"
	case ct.EventDestroy:
		name = "DESTROY"
	default:
		return conntrack.Entry{}, false
	}
	e = ToEntry(*ev.Flow)
	e.Event = name
	e.HasTimeout = ev.Type != ct.EventDestroy
	return e, true
}

func family(a netip.Addr) conntrack.Family {
	switch {
	case a.Is4():
		return conntrack.IPv4
	case a.Is6():
		return conntrack.IPv6
	}
	return 0
}

func tuple(p conntrack.Proto, t ct.Tuple, c ct.Counter) conntrack.Tuple {
	out := conntrack.Tuple{
		Src:         t.IP.SourceAddress,
		Dst:         t.IP.DestinationAddress,
		Zone:        t.Zone,
		HasZone:     t.Zone != 0,
		Packets:     c.Packets,
		Bytes:       c.Bytes,
		HasCounters: c.Packets != 0 || c.Bytes != 0,
	}
	switch {
	case p.HasPorts():
		out.SrcPort, out.DstPort = t.Proto.SourcePort, t.Proto.DestinationPort
	case p == conntrack.ICMP || p == conntrack.ICMPv6:
		out.ICMPType, out.ICMPCode, out.ICMPID = t.Proto.ICMPType, t.Proto.ICMPCode, t.Proto.ICMPID
	}
	return out
}

// flags prints as conntrack does: UNREPLIED until a reply is seen, then at
// most one of HW_OFFLOAD, OFFLOAD and ASSURED.
func flags(s ct.Status) conntrack.Flags {
	var f conntrack.Flags
	if !s.SeenReply() {
		f |= conntrack.FlagUnreplied
	}
	switch {
	case s&statusHWOffload != 0:
		f |= conntrack.FlagHWOffload
	case s.Offload():
		f |= conntrack.FlagOffload
	case s.Assured():
		f |= conntrack.FlagAssured
	}
	return f
}

// State names by the kernel's enum values, as libnetfilter_conntrack prints
// them (an out-of-range value prints as NONE).
var (
	tcpStates  = []conntrack.State{"NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE", "SYN_SENT2"}
	sctpStates = []conntrack.State{"NONE", "CLOSED", "COOKIE_WAIT", "COOKIE_ECHOED", "ESTABLISHED", "SHUTDOWN_SENT", "SHUTDOWN_RECD", "SHUTDOWN_ACK_SENT"}
	dccpStates = []conntrack.State{"NONE", "REQUEST", "RESPOND", "PARTOPEN", "OPEN", "CLOSEREQ", "CLOSING", "TIMEWAIT", "IGNORE", "INVALID"}
)

func state(pi ct.ProtoInfo) conntrack.State {
	switch {
	case pi.TCP != nil:
		return named(tcpStates, pi.TCP.State)
	case pi.SCTP != nil:
		return named(sctpStates, pi.SCTP.State)
	case pi.DCCP != nil:
		return named(dccpStates, pi.DCCP.State)
	}
	return ""
}

func named(names []conntrack.State, v uint8) conntrack.State {
	if int(v) < len(names) {
		return names[v]
	}
	return names[0]
}

// labels lists the set bits of CTA_LABELS by number: their names live in
// the node's connlabel.conf, which conntrack reads and a flow does not
// carry. The kernel sends the bitmap as host-order 32-bit words.
func labels(b []byte) []string {
	var out []string
	for w := 0; w+4 <= len(b); w += 4 {
		word := binary.NativeEndian.Uint32(b[w:])
		for bit := range 32 {
			if word&(1<<bit) != 0 {
				out = append(out, strconv.Itoa(w*8+bit))
			}
		}
	}
	return out
}
