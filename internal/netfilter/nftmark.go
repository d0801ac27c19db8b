package netfilter

import (
	"fmt"
	"strconv"
)

// mark reads what follows "meta mark" or "ct mark": a test
// "[& MASK | and MASK] [OP] VALUE" or a statement "set EXPR".
func (x *nftReader) mark(space MarkSpace) {
	if x.peek(0) == "set" {
		x.i++
		x.setMark(space)
		return
	}
	mask := uint32(allBits)
	if p := x.peek(0); p == "&" || p == "and" {
		x.i++
		m, err := parseUint32(x.take())
		if err != nil {
			return
		}
		mask = m
	}
	v, not := x.relation()
	val, err := parseUint32(v)
	if err != nil {
		return
	}
	module := "mark"
	if space == ConnMark {
		module = "connmark"
	}
	x.match(module, Option{Name: "mark", Args: []string{hexMark(val, mask)}, Not: not})
}

// setMark reads the expression of "meta mark set" or "ct mark set" and
// records it as the MARK or CONNMARK target iptables would use.
func (x *nftReader) setMark(dst MarkSpace) {
	name := "MARK"
	if dst == ConnMark {
		name = "CONNMARK"
	}
	var src MarkSpace
	switch {
	case x.peek(0) == "meta" && x.peek(1) == "mark":
		src, x.i = PacketMark, x.i+2
	case x.peek(0) == "mark":
		src, x.i = PacketMark, x.i+1
	case x.peek(0) == "ct" && x.peek(1) == "mark":
		src, x.i = ConnMark, x.i+2
	default:
		v, err := parseUint32(x.take())
		if err == nil {
			x.act(Target{Name: name, Options: opt("set-xmark", hexMark(v, allBits))})
		}
		return
	}
	keep, set, xor := uint32(allBits), uint32(0), false
	for {
		op := x.peek(0)
		if op != "&" && op != "and" && op != "|" && op != "or" && op != "^" && op != "xor" {
			break
		}
		v, err := parseUint32(x.peek(1))
		if err != nil {
			break
		}
		x.i += 2
		switch op {
		case "&", "and":
			keep = v
		case "|", "or":
			set = v
		default:
			set, xor = v, true
		}
	}
	switch {
	case src != dst && dst == ConnMark:
		x.act(Target{Name: "CONNMARK", Options: []Option{{Name: "save-mark"}, {Name: "nfmask", Args: []string{hex(keep)}}, {Name: "ctmask", Args: []string{hex(allBits)}}}})
	case src != dst:
		x.act(Target{Name: "CONNMARK", Options: []Option{{Name: "restore-mark"}, {Name: "nfmask", Args: []string{hex(allBits)}}, {Name: "ctmask", Args: []string{hex(keep)}}}})
	case xor:
		// (mark & keep) ^ set is xmark set/^keep.
		x.act(Target{Name: name, Options: opt("set-xmark", hexMark(set, ^keep))})
	default:
		// (mark & keep) | set is xmark set/(^keep|set).
		x.act(Target{Name: name, Options: opt("set-xmark", hexMark(set, ^keep|set))})
	}
}

func hex(v uint32) string { return "0x" + strconv.FormatUint(uint64(v), 16) }

func hexMark(v, m uint32) string { return fmt.Sprintf("0x%x/0x%x", v, m) }
