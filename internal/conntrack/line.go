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

// tokens splits a line at runs of spaces and tabs without allocating.
type tokens struct {
	s string
	i int
}

func (t *tokens) next() string {
	for t.i < len(t.s) && (t.s[t.i] == ' ' || t.s[t.i] == '\t') {
		t.i++
	}
	start := t.i
	for t.i < len(t.s) && t.s[t.i] != ' ' && t.s[t.i] != '\t' {
		t.i++
	}
	return t.s[start:t.i]
}

func (t *tokens) peek() string {
	saved := t.i
	s := t.next()
	t.i = saved
	return s
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

func (p *lineParser) field(tok string) error {
	key, val, ok := strings.Cut(tok, "=")
	if !ok {
		return fmt.Errorf("unexpected %q", truncate(tok))
	}
	if err := p.setField(key, val); err != nil {
		return fmt.Errorf("%s=: %w", truncate(key), err)
	}
	return nil
}

func (p *lineParser) setField(key, val string) error {
	if field, bits := tupleKey(key); field != 0 {
		// The second src= starts the reply tuple.
		if field == hasSrc && p.part == inOrig && p.seen[inOrig]&hasSrc != 0 {
			p.part = inReply
		}
		// ICMP's id= belongs to a tuple, after its code= (only ICMP tuples
		// have one); any other id= is the entry's (-o id), printed last.
		if field != hasICMPID || p.part != inTrailer && p.seen[p.part]&(hasCode|hasICMPID) == hasCode {
			return p.setTupleField(field, bits, val)
		}
	}
	var err error
	switch key {
	case "id":
		p.e.ID, err = trailerUint[uint32](p, &p.e.HasID, val)
	case "zone-orig":
		err = setZone(&p.e.Orig, val)
	case "zone-reply":
		err = setZone(&p.e.Reply, val)
	case "mark":
		p.e.Mark, err = trailerUint[uint32](p, &p.e.HasMark, val)
	case "secmark":
		p.e.Secmark, err = trailerUint[uint32](p, &p.e.HasSecmark, val)
	case "zone":
		p.e.Zone, err = trailerUint[uint16](p, &p.e.HasZone, val)
	case "use":
		p.e.Use, err = trailerUint[uint32](p, &p.e.HasUse, val)
	case "delta-time":
		p.e.DeltaTime, err = trailerUint[uint64](p, &p.hasDelta, val)
	case "secctx":
		p.part = inTrailer
		p.e.Secctx = val
	case "helper":
		p.part = inTrailer
		p.e.Helper = val
	case "labels":
		p.part = inTrailer
		p.e.Labels = strings.Split(val, ",")
	default:
		p.e.Extra = append(p.e.Extra, key+"="+val)
	}
	return err
}

// tupleKey maps a key to its tuple field and the width of its value; zero
// for keys outside tuples.
func tupleKey(key string) (field, bits int) {
	switch key {
	case "src":
		return hasSrc, 0
	case "dst":
		return hasDst, 0
	case "sport":
		return hasSport, 16
	case "dport":
		return hasDport, 16
	case "type":
		return hasType, 8
	case "code":
		return hasCode, 8
	case "id":
		return hasICMPID, 16
	case "srckey":
		return hasSrcKey, 16
	case "dstkey":
		return hasDstKey, 16
	case "packets":
		return hasPackets, 64
	case "bytes":
		return hasBytes, 64
	}
	return 0, 0
}

func (p *lineParser) setTupleField(field, bits int, val string) error {
	if p.part == inTrailer {
		return errors.New("after the reply tuple")
	}
	if field&fieldsOf(p.e.Proto) == 0 {
		return fmt.Errorf("not a field of %s", p.e.Proto)
	}
	if p.seen[p.part]&field != 0 {
		return errors.New("twice in one tuple")
	}
	p.seen[p.part] |= field
	t := &p.e.Orig
	if p.part == inReply {
		t = &p.e.Reply
	}
	if field == hasSrc || field == hasDst {
		a, err := netip.ParseAddr(val)
		if err != nil {
			return err
		}
		if a.Zone() != "" {
			return fmt.Errorf("address %q with a zone", truncate(val))
		}
		if field == hasSrc {
			t.Src = a
		} else {
			t.Dst = a
		}
		return nil
	}
	base := 10
	if field == hasSrcKey || field == hasDstKey {
		// GRE keys print as 0x%x.
		var ok bool
		if val, ok = strings.CutPrefix(val, "0x"); !ok {
			return fmt.Errorf("%q: want 0x and hex digits", truncate(val))
		}
		base = 16
	}
	v, err := strconv.ParseUint(val, base, bits)
	if err != nil {
		return err
	}
	switch field {
	case hasSport:
		t.SrcPort = uint16(v)
	case hasDport:
		t.DstPort = uint16(v)
	case hasType:
		t.ICMPType = uint8(v)
	case hasCode:
		t.ICMPCode = uint8(v)
	case hasICMPID:
		t.ICMPID = uint16(v)
	case hasSrcKey:
		t.GREKeySrc = uint16(v)
	case hasDstKey:
		t.GREKeyDst = uint16(v)
	case hasPackets:
		t.Packets, t.HasCounters = v, true
	case hasBytes:
		t.Bytes, t.HasCounters = v, true
	}
	return nil
}

// trailerUint reads a field printed after the tuples, once.
func trailerUint[U uint16 | uint32 | uint64](p *lineParser, seen *bool, val string) (U, error) {
	if *seen {
		return 0, errors.New("twice")
	}
	var zero U
	v, err := strconv.ParseUint(val, 10, bitSize(zero))
	if err != nil {
		return 0, err
	}
	p.part, *seen = inTrailer, true
	return U(v), nil
}

func bitSize[U uint16 | uint32 | uint64](U) int {
	switch any(U(0)).(type) {
	case uint16:
		return 16
	case uint32:
		return 32
	}
	return 64
}

func setZone(t *Tuple, val string) error {
	if t.HasZone {
		return errors.New("twice")
	}
	v, err := strconv.ParseUint(val, 10, 16)
	if err != nil {
		return err
	}
	t.Zone, t.HasZone = uint16(v), true
	return nil
}

// fieldsOf are the tuple fields conntrack prints for a protocol.
func fieldsOf(p Proto) int {
	const always = hasSrc | hasDst | hasPackets | hasBytes
	switch {
	case p.HasPorts():
		return always | hasSport | hasDport
	case p.isICMP():
		return always | hasType | hasCode | hasICMPID
	case p == GRE:
		return always | hasSrcKey | hasDstKey
	}
	return always
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
