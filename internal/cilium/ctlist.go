package cilium

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// CTEntry is one entry of Cilium's BPF connection-tracking table, as
// `cilium bpf ct list global` prints it.
type CTEntry struct {
	// Line is the 1-based line of the input.
	Line int
	// Proto is the protocol as printed: TCP, UDP, ICMP, ICMPv6, SCTP, ANY,
	// or a number.
	Proto string
	// Direction is IN, OUT, or SVC (service entries of newer Cilium).
	Direction string
	// Src and Dst are the tuple as printed (for SVC entries the frontend
	// and its backend slot).
	Src, Dst netip.AddrPort
	// Related and Service are the "related" and (older) "service" words
	// after the tuple.
	Related, Service bool
	// Expires is the entry's lifetime in the datapath clock; Remaining is
	// the "(remaining: N sec(s))" note of newer Cilium, as printed.
	Expires   uint64
	Remaining string
	// Flags is the Flags= bit set and FlagNames the words printed in
	// brackets after it (RxClosing, TxClosing, SeenNonSyn, ...).
	Flags     uint16
	FlagNames []string
	RevNAT    uint16
	// SourceSecurityID is the security identity of the connection's source
	// as the datapath recorded it.
	SourceSecurityID Identity
	IfIndex          uint32
	// Values holds every other key=value number of the entry (RxPackets,
	// RxBytes, TxPackets, TxBytes or the newer Packets and Bytes,
	// RxFlagsSeen, LastRxReport, BackendID, NatPort, ...), hexadecimal
	// ones ("0x1b") converted.
	Values map[string]uint64
}

// ParseCTList reads `cilium bpf ct list global` (cilium-dbg bpf ct list
// global), whose lines pkg/maps/ctmap prints as
//
//	TCP IN 10.0.1.2:45678 -> 10.0.2.3:8080 expires=17276052 RxPackets=6 RxBytes=464 RxFlagsSeen=0x1b LastRxReport=17276043 TxPackets=4 TxBytes=371 TxFlagsSeen=0x1b LastTxReport=17276043 Flags=0x0013 [ RxClosing TxClosing SeenNonSyn ] RevNAT=0 SourceSecurityID=1 IfIndex=0
//
// IPv6 tuples are in brackets ("[fd00::1]:80"). Keys the entry format
// gained or lost over releases are accepted as they come. A line that
// does not read becomes a *LineError.
func ParseCTList(data []byte) ([]CTEntry, []error) {
	var el errList
	var entries []CTEntry
	eachLine(data, func(n int, line string) {
		trim := strings.TrimSpace(line)
		if trim == "" || kubectlNoise(trim) {
			return
		}
		e, err := ParseCTLine(trim)
		if err != nil {
			el.add(n, line, err)
			return
		}
		e.Line = n
		entries = append(entries, e)
	})
	return entries, el.list()
}

// ParseCTLine reads one CT entry (see ParseCTList); its Line is left 0.
func ParseCTLine(s string) (CTEntry, error) {
	var e CTEntry
	f := strings.Fields(s)
	if len(f) < 5 || f[3] != "->" {
		return e, errors.New("not \"PROTO DIR SRC -> DST ...\"")
	}
	e.Proto, e.Direction = f[0], f[1]
	if !ctProto(e.Proto) {
		return e, fmt.Errorf("protocol %q is not a word or number", excerpt(e.Proto))
	}
	switch e.Direction {
	case "IN", "OUT", "SVC":
	default:
		return e, fmt.Errorf("direction %q is not IN, OUT or SVC", excerpt(e.Direction))
	}
	var err error
	if e.Src, err = netip.ParseAddrPort(f[2]); err != nil {
		return e, fmt.Errorf("source %q is not address:port", excerpt(f[2]))
	}
	if e.Dst, err = netip.ParseAddrPort(f[4]); err != nil {
		return e, fmt.Errorf("destination %q is not address:port", excerpt(f[4]))
	}
	f = f[5:]
	seenExpires := false
	for i := 0; i < len(f); i++ {
		w := f[i]
		switch {
		case w == "related" && !seenExpires:
			e.Related = true
		case w == "service" && !seenExpires:
			e.Service = true
		case strings.HasPrefix(w, "(") && seenExpires:
			// "(remaining: 3 sec(s))": up to the word that balances it.
			j, depth := i, 0
			for ; j < len(f); j++ {
				depth += strings.Count(f[j], "(") - strings.Count(f[j], ")")
				if depth <= 0 {
					break
				}
			}
			if j == len(f) {
				return e, errors.New("remaining time not closed with \")\"")
			}
			note := strings.Join(f[i:j+1], " ")
			e.Remaining = note[1 : len(note)-1]
			i = j
		case w == "[":
			j := i + 1
			for j < len(f) && f[j] != "]" {
				e.FlagNames = append(e.FlagNames, f[j])
				j++
			}
			if j == len(f) {
				return e, errors.New("flag names not closed with \"]\"")
			}
			i = j
		default:
			k, v, ok := strings.Cut(w, "=")
			if !ok || k == "" {
				return e, fmt.Errorf("%q is not key=value", excerpt(w))
			}
			if err := e.set(k, v); err != nil {
				return e, err
			}
			seenExpires = seenExpires || k == "expires"
		}
	}
	if !seenExpires {
		return e, errors.New("no expires=")
	}
	return e, nil
}

// ctProto accepts u8proto names and numbers.
func ctProto(s string) bool {
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// set stores one key=value of an entry.
func (e *CTEntry) set(k, v string) error {
	base := 10
	digits := v
	if strings.HasPrefix(v, "0x") {
		base, digits = 16, v[2:]
	} else if k == "Flags" {
		base = 16 // the oldest releases printed Flags=%x
	}
	n, err := strconv.ParseUint(digits, base, 64)
	if err != nil {
		return fmt.Errorf("%s=%q is not a number", k, excerpt(v))
	}
	fits := func(bits uint) error {
		if n >= 1<<bits {
			return fmt.Errorf("%s=%s is out of range", k, v)
		}
		return nil
	}
	switch k {
	case "expires":
		e.Expires = n
	case "Flags":
		e.Flags = uint16(n)
		return fits(16)
	case "RevNAT":
		e.RevNAT = uint16(n)
		return fits(16)
	case "SourceSecurityID":
		e.SourceSecurityID = Identity(n)
		return fits(32)
	case "IfIndex":
		e.IfIndex = uint32(n)
		return fits(32)
	default:
		if e.Values == nil {
			e.Values = map[string]uint64{}
		}
		e.Values[k] = n
	}
	return nil
}
