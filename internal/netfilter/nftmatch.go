package netfilter

import "strings"

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
