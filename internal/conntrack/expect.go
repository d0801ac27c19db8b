package conntrack

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Expectation is one entry of the expectation table, as `conntrack -L
// expect` (and `conntrack -E expect`) print it: a connection that a helper
// (ftp, sip, tftp, …) told conntrack to expect, RELATED to its master.
// libnetfilter_conntrack prints
//
//	[EVENT] TIMEOUT proto=N src=… dst=… sport=… dport=…
//	  mask-src=… mask-dst=… sport=… dport=…
//	  master-src=… master-dst=… sport=… dport=…
//	  [zone=N] [PERMANENT[,INACTIVE][,USERSPACE]] [class=N] [helper=NAME]
//
// on one line; older versions stop after the expected tuple.
type Expectation struct {
	// Line and Raw are as for Entry.
	Line  int
	Raw   string
	Event string // NEW, UPDATE or DESTROY for -E lines, else ""

	Family  Family
	Proto   Proto
	Timeout uint32 // seconds

	// Tuple is the expected connection; Mask tells which of its bits must
	// match (a 0 port is any port); Master is the connection whose helper
	// set it up. Mask and Master are zero when the line has none.
	Tuple, Mask, Master Tuple
	HasMask, HasMaster  bool

	Zone    uint16
	HasZone bool
	// Flags are the words PERMANENT, INACTIVE and USERSPACE as printed.
	Flags    []string
	Class    uint32
	HasClass bool
	Helper   string
	// Extra holds fields this package does not model, as printed.
	Extra []string
}

// The parts of an expectation line.
const (
	expTuple = iota
	expMask
	expMaster
	expTrailer
)

// looksExpect tells an expectation line from a flow entry: after an
// optional event, a number (the timeout) and then proto=. A flow entry
// starts with its protocol's name.
func looksExpect(line string) bool {
	tok := tokens{s: line}
	t := tok.next()
	switch t {
	case "[NEW]", "[UPDATE]", "[DESTROY]":
		t = tok.next()
	}
	return isDigits(t) && strings.HasPrefix(tok.next(), "proto=")
}

// ParseExpectLine reads one line of `conntrack -L expect`. Line and Raw
// are left for the caller.
func ParseExpectLine(line string) (Expectation, error) {
	var x Expectation
	if err := parseExpectInto(&x, line); err != nil {
		return Expectation{}, err
	}
	return x, nil
}

func parseExpectInto(x *Expectation, line string) error {
	tok := tokens{s: line}
	t := tok.next()
	switch t {
	case "[NEW]", "[UPDATE]", "[DESTROY]":
		x.Event = t[1 : len(t)-1]
		t = tok.next()
	}
	v, err := strconv.ParseUint(t, 10, 32)
	if err != nil {
		return fmt.Errorf("expectation timeout %q: %w", truncate(t), err)
	}
	x.Timeout = uint32(v)
	t = tok.next()
	num, ok := strings.CutPrefix(t, "proto=")
	if !ok {
		return fmt.Errorf("expectation: want proto= after the timeout, not %q", truncate(t))
	}
	n, err := strconv.ParseUint(num, 10, 8)
	if err != nil {
		return fmt.Errorf("proto=: %w", err)
	}
	x.Proto = Proto(n)
	part := expTuple
	var seen [3]int
	for t = tok.next(); t != ""; t = tok.next() {
		key, val, ok := strings.Cut(t, "=")
		if !ok {
			if !isFlagList(t) || x.Flags != nil {
				return fmt.Errorf("unexpected %q", truncate(t))
			}
			x.Flags, part = strings.Split(t, ","), expTrailer
			continue
		}
		// mask- and master- name the first two fields of their tuple;
		// the ports after them are unprefixed.
		switch {
		case key == "mask-src" && part == expTuple:
			part, x.HasMask = expMask, true
		case key == "master-src" && part <= expMask:
			part, x.HasMaster = expMaster, true
		}
		if part == expMask {
			key = strings.TrimPrefix(key, "mask-")
		} else if part == expMaster {
			key = strings.TrimPrefix(key, "master-")
		}
		if field, bits := tupleKey(key); field != 0 && part != expTrailer && field&fieldsOf(x.Proto) != 0 && field&(hasPackets|hasBytes) == 0 {
			if seen[part]&field != 0 {
				return fmt.Errorf("%s=: twice in one tuple", truncate(key))
			}
			seen[part] |= field
			if err := setTuple(x.tuple(part), field, bits, val); err != nil {
				return fmt.Errorf("%s=: %w", truncate(key), err)
			}
			continue
		}
		part = expTrailer
		switch key {
		case "zone":
			if x.HasZone {
				return errors.New("zone=: twice")
			}
			z, err := strconv.ParseUint(val, 10, 16)
			if err != nil {
				return fmt.Errorf("zone=: %w", err)
			}
			x.Zone, x.HasZone = uint16(z), true
		case "class":
			if x.HasClass {
				return errors.New("class=: twice")
			}
			c, err := strconv.ParseUint(val, 10, 32)
			if err != nil {
				return fmt.Errorf("class=: %w", err)
			}
			x.Class, x.HasClass = uint32(c), true
		case "helper":
			if x.Helper != "" || val == "" {
				return errors.New("helper=: twice or empty")
			}
			x.Helper = val
		default:
			x.Extra = append(x.Extra, t)
		}
	}
	return x.check(seen)
}

func (x *Expectation) tuple(part int) *Tuple {
	switch part {
	case expMask:
		return &x.Mask
	case expMaster:
		return &x.Master
	}
	return &x.Tuple
}

// check requires the addresses of every tuple printed, all of one family.
func (x *Expectation) check(seen [3]int) error {
	for part, name := range [...]string{"expected", "mask", "master"} {
		printed := part == expTuple || part == expMask && x.HasMask || part == expMaster && x.HasMaster
		if printed && seen[part]&(hasSrc|hasDst) != hasSrc|hasDst {
			return fmt.Errorf("%s tuple without both addresses", name)
		}
	}
	x.Family = IPv6
	if x.Tuple.Src.Is4() {
		x.Family = IPv4
	}
	for _, a := range [...]netip.Addr{x.Tuple.Dst, x.Mask.Src, x.Mask.Dst, x.Master.Src, x.Master.Dst} {
		if a.IsValid() && a.Is4() != (x.Family == IPv4) {
			return errors.New("IPv4 and IPv6 addresses in one expectation")
		}
	}
	return nil
}

// isFlagList: PERMANENT, INACTIVE, USERSPACE joined by commas.
func isFlagList(s string) bool {
	for _, w := range strings.Split(s, ",") {
		if w != "PERMANENT" && w != "INACTIVE" && w != "USERSPACE" {
			return false
		}
	}
	return true
}

// String prints the expectation as `conntrack -L expect` does, fields this
// package does not model last.
func (x *Expectation) String() string {
	var b []byte
	if x.Event != "" {
		b = append(b, "["+x.Event+"] "...)
	}
	b = appendUint(b, x.Timeout)
	b = appendUint(append(b, " proto="...), uint8(x.Proto))
	b = appendAddrsPorts(b, x.Proto, &x.Tuple, "")
	if x.HasMask {
		b = appendAddrsPorts(b, x.Proto, &x.Mask, "mask-")
	}
	if x.HasMaster {
		b = appendAddrsPorts(b, x.Proto, &x.Master, "master-")
	}
	b = appendField(b, "zone", x.HasZone, x.Zone)
	if x.Flags != nil {
		b = append(append(b, ' '), strings.Join(x.Flags, ",")...)
	}
	b = appendField(b, "class", x.HasClass, x.Class)
	if x.Helper != "" {
		b = append(b, " helper="+x.Helper...)
	}
	for _, e := range x.Extra {
		b = append(append(b, ' '), e...)
	}
	return string(b)
}
