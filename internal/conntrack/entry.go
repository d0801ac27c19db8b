package conntrack

import "net/netip"

// State is the protocol state conntrack prints after the timeout: the TCP
// state for tcp, and the SCTP or DCCP state for those.
type State string

// TCP states, as libnetfilter_conntrack and /proc/net/nf_conntrack name them.
const (
	StateNone        State = "NONE"
	StateSynSent     State = "SYN_SENT"
	StateSynRecv     State = "SYN_RECV"
	StateEstablished State = "ESTABLISHED"
	StateFinWait     State = "FIN_WAIT"
	StateCloseWait   State = "CLOSE_WAIT"
	StateLastAck     State = "LAST_ACK"
	StateTimeWait    State = "TIME_WAIT"
	StateClose       State = "CLOSE"
	StateSynSent2    State = "SYN_SENT2" // older libraries print LISTEN
)

// Flags are the bracketed status words of an entry.
type Flags uint8

// Flags conntrack prints. UNREPLIED comes between the tuples; then at most
// one of HW_OFFLOAD, OFFLOAD and ASSURED, in that priority, after them.
const (
	FlagUnreplied Flags = 1 << iota
	FlagAssured
	FlagOffload
	FlagHWOffload
)

// Has reports whether every flag in f2 is set.
func (f Flags) Has(f2 Flags) bool { return f&f2 == f2 }

func (f Flags) String() string {
	var s string
	for _, fl := range flagWords {
		if f.Has(fl.flag) {
			if s != "" {
				s += " "
			}
			s += fl.word
		}
	}
	return s
}

var flagWords = []struct {
	word string
	flag Flags
}{{"[UNREPLIED]", FlagUnreplied}, {"[ASSURED]", FlagAssured}, {"[OFFLOAD]", FlagOffload}, {"[HW_OFFLOAD]", FlagHWOffload}}

// Tuple is one direction of a connection.
type Tuple struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16 // protocols with ports (Proto.HasPorts)
	// ICMP and ICMPv6.
	ICMPType, ICMPCode uint8
	ICMPID             uint16
	// GRE keys (srckey=0x.. dstkey=0x..).
	GREKeySrc, GREKeyDst uint16
	// Zone is zone-orig= or zone-reply=, printed for a directional zone.
	Zone    uint16
	HasZone bool
	// Packets and Bytes are printed when accounting is on (nf_conntrack_acct).
	Packets, Bytes uint64
	HasCounters    bool
}

// Entry is one tracked connection.
type Entry struct {
	// Line is the 1-based line of the text it was read from, Raw that line
	// without its line end. Both are empty for a live entry.
	Line int
	Raw  string
	// Event is NEW, UPDATE or DESTROY for `conntrack -E` lines, else "".
	Event string

	Family     Family
	Proto      Proto
	Timeout    uint32 // seconds
	HasTimeout bool
	State      State // "" for protocols without one

	Orig, Reply Tuple
	Flags       Flags

	Mark       uint32
	HasMark    bool
	Secmark    uint32
	HasSecmark bool
	Secctx     string
	Zone       uint16
	HasZone    bool
	Use        uint32
	HasUse     bool
	// ID is printed with `-o id`.
	ID        uint32
	HasID     bool
	Helper    string
	Labels    []string
	DeltaTime uint64 // seconds; printed with timestamps on
	// Extra holds fields this package does not model, as printed.
	Extra []string
}

// Redirected reports whether the reply does not come from where the
// original packet was sent: a DNAT or REDIRECT rewrote the destination
// address, or the port for protocols with ports. IPv4-mapped IPv6
// addresses compare as IPv4.
func (e *Entry) Redirected() bool {
	if e.Reply.Src.Unmap() != e.Orig.Dst.Unmap() {
		return true
	}
	return e.Proto.HasPorts() && e.Reply.SrcPort != e.Orig.DstPort
}

// SourceNATed reports whether the reply does not go back to where the
// original packet came from: an SNAT or MASQUERADE rewrote the source.
func (e *Entry) SourceNATed() bool {
	if e.Reply.Dst.Unmap() != e.Orig.Src.Unmap() {
		return true
	}
	return e.Proto.HasPorts() && e.Reply.DstPort != e.Orig.SrcPort
}

// Matches reports whether the entry is of protocol p and its original
// direction goes to dst and dport, as `conntrack -L -p P -d DST --dport
// PORT` selects. An invalid dst or a zero dport matches any; a non-zero
// dport never matches a protocol without ports.
func (e *Entry) Matches(p Proto, dst netip.Addr, dport uint16) bool {
	if e.Proto != p {
		return false
	}
	if dst.IsValid() && dst.Unmap() != e.Orig.Dst.Unmap() {
		return false
	}
	if dport != 0 && (!p.HasPorts() || e.Orig.DstPort != dport) {
		return false
	}
	return true
}
