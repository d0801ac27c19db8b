package netfilter

import (
	"fmt"
	"strconv"
	"strings"
)

// MarkSpace says which 32-bit mark a rule reads or writes.
type MarkSpace uint8

// Mark spaces: the packet's mark (fwmark, nfmark) and its connection's.
const (
	PacketMark MarkSpace = iota + 1
	ConnMark
)

// String returns "mark" or "connmark", the names of the iptables matches.
func (s MarkSpace) String() string {
	switch s {
	case PacketMark:
		return "mark"
	case ConnMark:
		return "connmark"
	}
	return "unknown"
}

// MarkUse is one read or write of a mark by a rule.
type MarkUse struct {
	Space MarkSpace
	// Value and Mask as the rule states them: a match tests
	// (mark & Mask) == Value; an xmark write sets mark = (mark &^ Mask) ^ Value.
	Value, Mask uint32
	// Bits are the bits the rule tests or may change (Mask for a test,
	// Mask|Value for a write); two uses clash when their Bits overlap.
	Bits uint32
	Not  bool // a negated test
	// Via names the match or target and its option, e.g. "connmark --mark"
	// or "CONNMARK --save-mark", for evidence.
	Via string
}

// Overlaps reports whether two uses touch a common bit of the same mark.
func (m MarkUse) Overlaps(o MarkUse) bool { return m.Space == o.Space && m.Bits&o.Bits != 0 }

// String renders the use as value/mask in hex.
func (m MarkUse) String() string {
	not := ""
	if m.Not {
		not = "! "
	}
	return fmt.Sprintf("%s%s 0x%x/0x%x (%s)", not, m.Space, m.Value, m.Mask, m.Via)
}

const allBits = 0xffffffff

// ParseMark parses "VALUE[/MASK]" as iptables writes marks: each number in
// hex (0x...), octal (leading 0) or decimal. A missing mask is all ones.
func ParseMark(s string) (value, mask uint32, err error) {
	v, m, hasMask := strings.Cut(s, "/")
	if value, err = parseUint32(v); err != nil {
		return 0, 0, err
	}
	if !hasMask {
		return value, allBits, nil
	}
	if mask, err = parseUint32(m); err != nil {
		return 0, 0, err
	}
	return value, mask, nil
}

// parseUint32 reads a C-style unsigned number (strtoul with base 0) without
// Go's extras (underscores, 0b, 0o).
func parseUint32(s string) (uint32, error) {
	base, digits := 10, s
	switch {
	case len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'):
		base, digits = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base, digits = 8, s[1:]
	}
	if digits == "" || strings.ContainsAny(digits, "_+-") {
		return 0, fmt.Errorf("bad number %q", s)
	}
	n, err := strconv.ParseUint(digits, base, 32)
	if err != nil {
		return 0, fmt.Errorf("bad number %q", s)
	}
	return uint32(n), nil
}

// MarksRead lists the marks the rule tests: -m mark --mark, -m connmark
// --mark, -m conntrack --ctmark, and what CONNMARK --save-mark or
// --restore-mark copies from. Marks that do not parse are left out.
func (r *Rule) MarksRead() []MarkUse {
	var out []MarkUse
	for _, m := range r.Matches {
		space, opt := PacketMark, "mark"
		switch m.Module {
		case "mark":
		case "connmark":
			space = ConnMark
		case "conntrack":
			space, opt = ConnMark, "ctmark"
		default:
			continue
		}
		for _, o := range m.Options {
			if o.Name != opt {
				continue
			}
			if v, mask, err := ParseMark(o.Arg()); err == nil {
				out = append(out, MarkUse{Space: space, Value: v, Mask: mask, Bits: mask, Not: o.Not, Via: m.Module + " --" + opt})
			}
		}
	}
	for t := range r.Actions() {
		if t.Name != "CONNMARK" {
			continue
		}
		nf, ct := copyMasks(t)
		switch {
		case hasOption(t.Options, "save-mark"):
			out = append(out, MarkUse{Space: PacketMark, Mask: nf, Bits: nf, Via: "CONNMARK --save-mark"})
		case hasOption(t.Options, "restore-mark"):
			out = append(out, MarkUse{Space: ConnMark, Mask: ct, Bits: ct, Via: "CONNMARK --restore-mark"})
		}
	}
	return out
}

// MarksWritten lists the marks the rule's target (and nft effects) may
// change: MARK and CONNMARK in all their forms, and TPROXY --tproxy-mark.
// Marks that do not parse are left out.
func (r *Rule) MarksWritten() []MarkUse {
	var out []MarkUse
	for t := range r.Actions() {
		switch t.Name {
		case "MARK":
			out = appendMarkWrites(out, t, PacketMark)
		case "CONNMARK":
			nf, ct := copyMasks(t)
			switch {
			case hasOption(t.Options, "save-mark"):
				out = append(out, MarkUse{Space: ConnMark, Mask: ct, Bits: ct, Via: "CONNMARK --save-mark"})
			case hasOption(t.Options, "restore-mark"):
				out = append(out, MarkUse{Space: PacketMark, Mask: nf, Bits: nf, Via: "CONNMARK --restore-mark"})
			default:
				out = appendMarkWrites(out, t, ConnMark)
			}
		case "TPROXY":
			if o, ok := t.Option("tproxy-mark"); ok {
				if v, m, err := ParseMark(o.Arg()); err == nil {
					out = append(out, xmark(PacketMark, v, m|v, "TPROXY --tproxy-mark"))
				}
			}
		}
	}
	return out
}

// appendMarkWrites reads the value-setting options MARK and CONNMARK share.
func appendMarkWrites(out []MarkUse, t Target, space MarkSpace) []MarkUse {
	for _, o := range t.Options {
		via := t.Name + " --" + o.Name
		switch o.Name {
		case "set-xmark":
			if v, m, err := ParseMark(o.Arg()); err == nil {
				out = append(out, xmark(space, v, m, via))
			}
		case "set-mark":
			// Zero the mask's bits, then OR the value in.
			if v, m, err := ParseMark(o.Arg()); err == nil {
				out = append(out, xmark(space, v, m|v, via))
			}
		case "or-mark":
			if v, err := parseUint32(o.Arg()); err == nil {
				out = append(out, xmark(space, v, v, via))
			}
		case "xor-mark":
			if v, err := parseUint32(o.Arg()); err == nil {
				out = append(out, xmark(space, v, 0, via))
			}
		case "and-mark":
			if v, err := parseUint32(o.Arg()); err == nil {
				out = append(out, xmark(space, 0, ^v, via))
			}
		}
	}
	return out
}

func xmark(space MarkSpace, value, mask uint32, via string) MarkUse {
	return MarkUse{Space: space, Value: value, Mask: mask, Bits: mask | value, Via: via}
}

// copyMasks returns CONNMARK's --nfmask and --ctmask (or --mask for both),
// all ones by default.
func copyMasks(t Target) (nf, ct uint32) {
	nf, ct = allBits, allBits
	for _, o := range t.Options {
		v, err := parseUint32(o.Arg())
		if err != nil {
			continue
		}
		switch o.Name {
		case "mask":
			nf, ct = v, v
		case "nfmask":
			nf = v
		case "ctmask":
			ct = v
		}
	}
	return nf, ct
}

func hasOption(opts []Option, name string) bool {
	_, ok := findOption(opts, name)
	return ok
}
