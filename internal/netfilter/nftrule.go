package netfilter

import (
	"fmt"
	"strconv"
	"strings"
)

// nftReader translates the words of one nft rule into the iptables model.
type nftReader struct {
	r       *Rule
	w       []token
	i       int
	actions []Target
}

// readNftRule fills r from the words of an nft rule. Words it does not
// know are skipped: nft's grammar is large, and the rule's Text keeps them.
func readNftRule(r *Rule, w []token) {
	x := nftReader{r: r, w: w}
	for x.i < len(x.w) {
		x.statement()
	}
	if n := len(x.actions); n > 0 {
		r.Target = x.actions[n-1]
		if n > 1 {
			r.Effects = x.actions[:n-1]
		}
	}
}

func (x *nftReader) peek(k int) string {
	if x.i+k < len(x.w) {
		return x.w[x.i+k].text
	}
	return ""
}

func (x *nftReader) take() string {
	s := x.peek(0)
	x.i++
	return s
}

func (x *nftReader) statement() {
	word := x.take()
	switch word {
	case "counter":
		x.counter()
	case "accept", "drop", "return", "queue":
		x.act(Target{Name: strings.ToUpper(word)})
	case "continue":
	case "jump", "goto":
		x.act(Target{Name: x.take(), Goto: word == "goto"})
	case "reject":
		x.reject()
	case "redirect":
		t := Target{Name: "REDIRECT"}
		if x.peek(0) == "to" {
			x.i++
			t.Options = opt("to-ports", strings.TrimPrefix(x.take(), ":"))
		}
		x.act(t)
	case "tproxy":
		x.tproxy()
	case "dnat", "snat":
		x.nat(word)
	case "masquerade":
		x.act(Target{Name: "MASQUERADE"})
	case "notrack":
		x.act(Target{Name: "CT", Options: opt("notrack")})
	case "log":
		x.log()
	case "comment":
		x.match("comment", Option{Name: "comment", Args: []string{x.take()}})
	case "meta":
		x.meta(x.take())
	case "mark", "iifname", "oifname", "iif", "oif", "l4proto", "skuid", "skgid":
		x.meta(word)
	case "ct":
		x.ct(x.take())
	case "ip", "ip6":
		x.ipHeader(x.take())
	case "tcp", "udp", "sctp", "udplite", "dccp", "th":
		x.ports(word, x.take())
	case "xt":
		x.xt()
	case "vmap", "map":
		// A map's verdicts are alternatives, not a sequence; they are not
		// modelled (the rule's Text keeps them).
		x.skipBlock()
	}
}

// skipBlock skips a {...} block at the cursor, nested blocks included.
func (x *nftReader) skipBlock() {
	if x.peek(0) != "{" {
		return
	}
	depth := 0
	for x.i < len(x.w) {
		t := x.w[x.i]
		x.i++
		if t.quoted {
			continue
		}
		switch t.text {
		case "{":
			depth++
		case "}":
			depth--
			if depth == 0 {
				return
			}
		}
	}
}

func (x *nftReader) act(t Target) { x.actions = append(x.actions, t) }

func (x *nftReader) match(module string, o Option) {
	x.r.Matches = append(x.r.Matches, Match{Module: module, Options: []Option{o}})
}

func opt(name string, args ...string) []Option { return []Option{{Name: name, Args: args}} }

// counter reads "counter [packets N bytes M]".
func (x *nftReader) counter() {
	if x.peek(0) != "packets" || x.peek(2) != "bytes" {
		return
	}
	p, err1 := strconv.ParseUint(x.peek(1), 10, 64)
	b, err2 := strconv.ParseUint(x.peek(3), 10, 64)
	if err1 == nil && err2 == nil {
		x.r.Counters = Counters{Packets: p, Bytes: b, Valid: true}
		x.i += 4
	}
}

// relation reads "[OP] VALUE" after a selector: == and != (or eq, ne)
// become negation; other operators stay in front of the value, which then
// parses as nothing. A {...} set becomes its elements joined by commas.
func (x *nftReader) relation() (value string, not bool) {
	op := ""
	switch x.peek(0) {
	case "==", "eq":
		x.i++
	case "!=", "ne":
		x.i++
		not = true
	case "<", ">", "<=", ">=", "lt", "gt", "le", "ge":
		op = x.take()
	}
	if x.peek(0) != "{" || x.i >= len(x.w) || x.w[x.i].quoted {
		v := x.take()
		// Flag lists print without blanks ("established,related"), which
		// the word splitter cut at the commas.
		for x.peek(0) == "," && x.i+1 < len(x.w) {
			v += "," + x.w[x.i+1].text
			x.i += 2
		}
		return op + v, not
	}
	x.i++
	var elems []string
	for x.i < len(x.w) && !(x.w[x.i].text == "}" && !x.w[x.i].quoted) {
		if t := x.take(); t != "," {
			elems = append(elems, t)
		}
	}
	x.i++ // }
	return op + strings.Join(elems, ","), not
}

func (x *nftReader) meta(key string) {
	switch key {
	case "mark":
		x.mark(PacketMark)
	case "l4proto":
		v, not := x.relation()
		x.r.Protocol = Field{Value: v, Not: not}
	case "iifname", "iif":
		v, not := x.relation()
		x.r.InInterface = Field{Value: v, Not: not}
	case "oifname", "oif":
		v, not := x.relation()
		x.r.OutInterface = Field{Value: v, Not: not}
	case "skuid", "skgid":
		v, not := x.relation()
		name := "uid-owner"
		if key == "skgid" {
			name = "gid-owner"
		}
		x.match("owner", Option{Name: name, Args: []string{v}, Not: not})
	}
}

func (x *nftReader) ct(key string) {
	switch key {
	case "mark":
		x.mark(ConnMark)
	case "state":
		v, not := x.relation()
		x.match("conntrack", Option{Name: "ctstate", Args: []string{strings.ToUpper(v)}, Not: not})
	case "zone":
		if x.peek(0) == "set" {
			x.i++
			x.act(Target{Name: "CT", Options: opt("zone", x.take())})
		}
	}
}

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

func (x *nftReader) ipHeader(field string) {
	switch field {
	case "saddr":
		v, not := x.relation()
		x.r.Source = Field{Value: v, Not: not}
	case "daddr":
		v, not := x.relation()
		x.r.Destination = Field{Value: v, Not: not}
	case "protocol", "nexthdr":
		v, not := x.relation()
		x.r.Protocol = Field{Value: v, Not: not}
	}
}

// ports reads "tcp dport ..." and friends; a set of ports becomes
// multiport, and nft's a-b ranges become iptables' a:b.
func (x *nftReader) ports(proto, field string) {
	if field != "dport" && field != "sport" {
		return
	}
	if proto != "th" && x.r.Protocol.Value == "" {
		x.r.Protocol.Value = proto // `tcp dport` implies `meta l4proto tcp`
	}
	v, not := x.relation()
	v = strings.ReplaceAll(v, "-", ":")
	if strings.Contains(v, ",") {
		x.match("multiport", Option{Name: field + "s", Args: []string{v}, Not: not})
		return
	}
	x.match(proto, Option{Name: field, Args: []string{v}, Not: not})
}

func (x *nftReader) reject() {
	t := Target{Name: "REJECT"}
	if x.peek(0) == "with" {
		kind, what := x.peek(1), ""
		switch kind {
		case "tcp":
			if x.peek(2) == "reset" {
				what = "tcp-reset"
				x.i += 3
			}
		case "icmp", "icmpx", "icmpv6":
			if x.peek(2) == "type" {
				prefix := "icmp-"
				if kind == "icmpv6" {
					prefix = "icmp6-"
				}
				what = prefix + x.peek(3)
				x.i += 4
			}
		}
		if what != "" {
			t.Options = opt("reject-with", what)
		}
	}
	x.act(t)
}

// tproxy reads "tproxy [ip|ip6] to [ADDR]:PORT".
func (x *nftReader) tproxy() {
	if p := x.peek(0); p == "ip" || p == "ip6" {
		x.i++
	}
	t := Target{Name: "TPROXY"}
	if x.peek(0) == "to" {
		x.i++
		addr, ports := splitHostPorts(x.take())
		if ports != (PortRange{}) {
			t.Options = append(t.Options, Option{Name: "on-port", Args: []string{strconv.Itoa(int(ports.First))}})
		}
		if addr != "" {
			t.Options = append(t.Options, Option{Name: "on-ip", Args: []string{addr}})
		}
	}
	x.act(t)
}

// nat reads "dnat|snat [ip|ip6] to ADDR[:PORT]".
func (x *nftReader) nat(kind string) {
	if p := x.peek(0); p == "ip" || p == "ip6" {
		x.i++
	}
	t := Target{Name: "DNAT"}
	name := "to-destination"
	if kind == "snat" {
		t.Name, name = "SNAT", "to-source"
	}
	if x.peek(0) == "to" {
		x.i++
		t.Options = opt(name, x.take())
	}
	x.act(t)
}

func (x *nftReader) log() {
	t := Target{Name: "LOG"}
	for {
		switch x.peek(0) {
		case "prefix":
			t.Options = append(t.Options, Option{Name: "log-prefix", Args: []string{x.peek(1)}})
		case "level":
			t.Options = append(t.Options, Option{Name: "log-level", Args: []string{x.peek(1)}})
		case "group", "snaplen", "queue-threshold", "flags":
		default:
			x.act(t)
			return
		}
		x.i += 2
	}
}

// xt reads iptables-nft's untranslated extensions: `xt match "name"`,
// `xt target "NAME"`.
func (x *nftReader) xt() {
	kind, name := x.take(), x.take()
	switch kind {
	case "match":
		x.r.Matches = append(x.r.Matches, Match{Module: name})
	case "target":
		x.act(Target{Name: name})
	}
}
