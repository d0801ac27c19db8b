package conntrack

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ParseLine reads one entry as `conntrack -L`, `conntrack -L -o extended`,
// `conntrack -E` or /proc/net/nf_conntrack print it. Line and Raw are left
// for the caller.
func ParseLine(line string) (Entry, error) {
	var e Entry
	if err := parseInto(&e, line); err != nil {
		return Entry{}, err
	}
	return e, nil
}

// parseInto reads line into the zero Entry e.
func parseInto(e *Entry, line string) error {
	p := lineParser{tok: tokens{s: line}, e: e}
	return p.parse()
}

// The fields of a tuple, to catch repeats and missing ones.
const (
	hasSrc = 1 << iota
	hasDst
	hasSport
	hasDport
	hasType
	hasCode
	hasICMPID
	hasSrcKey
	hasDstKey
	hasPackets
	hasBytes
)

// Where the parser is: in the original tuple, the reply tuple, or the
// fields after both.
const (
	inOrig = iota
	inReply
	inTrailer
)

type lineParser struct {
	tok      tokens
	e        *Entry
	part     int
	seen     [2]int // fields of the orig and reply tuples
	extFm    bool   // the line started with the layer 3 name (extended form)
	hasDelta bool
}

func (p *lineParser) parse() error {
	if err := p.header(); err != nil {
		return err
	}
	for tok := p.tok.next(); tok != ""; tok = p.tok.next() {
		var err error
		if tok[0] == '[' {
			err = p.bracket(tok)
		} else {
			err = p.field(tok)
		}
		if err != nil {
			return err
		}
	}
	return p.check()
}

// header reads [EVENT] [l3name l3num] l4name l4num [timeout] [STATE].
func (p *lineParser) header() error {
	tok := p.tok.next()
	switch tok {
	case "[NEW]", "[UPDATE]", "[DESTROY]":
		p.e.Event = tok[1 : len(tok)-1]
		tok = p.tok.next()
	}
	if tok == "ipv4" || tok == "ipv6" {
		n, err := strconv.ParseUint(p.tok.next(), 10, 8)
		if err != nil || (tok == "ipv4") != (n == uint64(IPv4)) || (tok == "ipv6") != (n == uint64(IPv6)) {
			return fmt.Errorf("layer 3 protocol %s: want ipv4 2 or ipv6 10", tok)
		}
		p.e.Family, p.extFm = Family(n), true
		tok = p.tok.next()
	}
	if tok == "" {
		return errors.New("empty entry")
	}
	proto, known, ok := protoByName(tok)
	if !ok {
		return fmt.Errorf("%q is not a protocol conntrack names", truncate(tok))
	}
	n, err := strconv.ParseUint(p.tok.next(), 10, 8)
	if err != nil {
		return fmt.Errorf("protocol %s: want its number next", tok)
	}
	if _, numKnown := protoNames[Proto(n)]; known && proto != Proto(n) || !known && numKnown {
		return fmt.Errorf("protocol %s with number %d", tok, n)
	}
	p.e.Proto = Proto(n)
	if t := p.tok.peek(); t != "" && isDigits(t) {
		v, err := strconv.ParseUint(p.tok.next(), 10, 32)
		if err != nil {
			return fmt.Errorf("timeout %q: %w", truncate(t), err)
		}
		p.e.Timeout, p.e.HasTimeout = uint32(v), true
	}
	if t := p.tok.peek(); isStateWord(t) {
		p.e.State = State(p.tok.next())
	}
	return nil
}

func (p *lineParser) bracket(tok string) error {
	if strings.HasPrefix(tok, "[start=") || strings.HasPrefix(tok, "[stop=") {
		// ctime() text with spaces: "[start=Wed Jun 30 09:41:48 2021]".
		start := p.tok.i - len(tok)
		for !strings.HasSuffix(tok, "]") {
			if p.tok.next() == "" {
				return fmt.Errorf("%q: no closing ]", truncate(tok))
			}
			tok = p.tok.s[start:p.tok.i]
		}
		p.e.Extra = append(p.e.Extra, tok)
		return nil
	}
	for _, fw := range flagWords {
		if tok == fw.word {
			if p.e.Flags.Has(fw.flag) {
				return fmt.Errorf("%s twice", tok)
			}
			p.e.Flags |= fw.flag
			if fw.flag != FlagUnreplied && p.part == inReply {
				p.part = inTrailer
			}
			return nil
		}
	}
	if !strings.HasSuffix(tok, "]") {
		return fmt.Errorf("%q: no closing ]", truncate(tok))
	}
	p.e.Extra = append(p.e.Extra, tok)
	return nil
}

// check requires what conntrack always prints: both tuples with addresses
// of one family, ports for protocols with ports, type, code and id for ICMP.
func (p *lineParser) check() error {
	need := hasSrc | hasDst
	switch {
	case p.e.Proto.HasPorts():
		need |= hasSport | hasDport
	case p.e.Proto.isICMP():
		need |= hasType | hasCode | hasICMPID
	}
	for i, name := range [2]string{"original", "reply"} {
		if missing := need &^ p.seen[i]; missing != 0 {
			return fmt.Errorf("%s tuple without %s", name, fieldName(missing))
		}
	}
	fam := IPv6
	if p.e.Orig.Src.Is4() {
		fam = IPv4
	}
	for _, a := range [...]netip.Addr{p.e.Orig.Dst, p.e.Reply.Src, p.e.Reply.Dst} {
		if a.Is4() != (fam == IPv4) {
			return errors.New("IPv4 and IPv6 addresses in one entry")
		}
	}
	if p.extFm && p.e.Family != fam {
		return fmt.Errorf("%s entry with %s addresses", p.e.Family, fam)
	}
	p.e.Family = fam
	return nil
}

func fieldName(missing int) string {
	for _, f := range []struct {
		bit  int
		name string
	}{{hasSrc, "src="}, {hasDst, "dst="}, {hasSport, "sport="}, {hasDport, "dport="}, {hasType, "type="}, {hasCode, "code="}, {hasICMPID, "id="}} {
		if missing&f.bit != 0 {
			return f.name
		}
	}
	return "a field"
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// isStateWord: states are upper-case words with underscores.
func isStateWord(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'A' || c > 'Z') && c != '_' && (c < '0' || c > '9') {
			return false
		}
	}
	return s != "" && s[0] >= 'A' && s[0] <= 'Z'
}

// truncate keeps error messages short whatever the input.
func truncate(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
