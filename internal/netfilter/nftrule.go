package netfilter

import (
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
