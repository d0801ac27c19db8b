package netfilter

import (
	"strconv"
	"strings"
)

func (p *xtParser) startTable(line, raw string, n int) {
	name := line[1:]
	if !validName(name) {
		p.rs.addError(n, raw, "bad table name")
		return
	}
	p.placeRules()
	if p.open {
		p.rs.addErrorf(p.table.Line, "", "table %s has no COMMIT", p.table.Name)
	}
	p.table = p.newTable(name, n, p.family)
	p.open = true
}

// declareChain reads ":NAME POLICY [packets:bytes]".
func (p *xtParser) declareChain(line, raw string, n int) {
	if !p.open {
		p.rs.addError(n, raw, "chain declared outside a table")
		return
	}
	var buf [4]string
	f := fields(buf[:0], line[1:])
	if len(f) < 2 || len(f) > 3 {
		p.rs.addError(n, raw, "chain line is not :NAME POLICY [packets:bytes]")
		return
	}
	var counters Counters
	if len(f) == 3 {
		var rest, err string
		if counters, rest, err = cutCounters(f[2]); err != "" || rest != "" {
			p.rs.addError(n, raw, "bad chain counters")
			return
		}
	}
	c := p.declare(f[0], raw, n)
	if c == nil {
		return
	}
	if f[1] != "-" {
		c.Builtin, c.Policy = true, f[1]
	}
	c.Counters = counters
}

// policy reads "-P CHAIN POLICY [-c PACKETS BYTES]".
func (p *xtParser) policy(w []token, raw string, n int) {
	if len(w) != 3 && !(len(w) == 6 && (w[3].text == "-c" || w[3].text == "--set-counters")) {
		p.rs.addError(n, raw, "-P takes a chain, a policy and optional -c counters")
		return
	}
	if !validName(w[1].text) || !validName(w[2].text) {
		p.rs.addError(n, raw, "bad chain or policy name")
		return
	}
	var counters Counters
	if len(w) == 6 {
		var err error
		if counters, _, err = countersValue(w, 4, "-c"); err != nil {
			p.rs.addError(n, raw, err.Error())
			return
		}
	}
	c := p.table.Chain(w[1].text)
	if c == nil {
		c = p.addChain(w[1].text, n)
	}
	c.Builtin, c.Policy, c.Counters = true, w[2].text, counters
}

// declare adds a chain, reporting a repeated declaration.
func (p *xtParser) declare(name, raw string, n int) *Chain {
	if !validName(name) {
		p.rs.addError(n, raw, "bad chain name")
		return nil
	}
	if c := p.table.Chain(name); c != nil {
		if c.Line > 0 {
			p.rs.addErrorf(n, raw, "chain %s already declared on line %d", name, c.Line)
		} else {
			p.rs.addErrorf(n, raw, "chain %s declared after its rules", name)
		}
		return nil
	}
	return p.addChain(name, n)
}

func (p *xtParser) newTable(name string, line int, family string) *Table {
	t := &Table{Name: name, Line: line, Family: family, byName: make(map[string]*Chain)}
	p.rs.Tables = append(p.rs.Tables, t)
	return t
}

// addChain adds a chain to the current table, from the parser's slab.
func (p *xtParser) addChain(name string, line int) *Chain {
	c := p.chains.one()
	c.Name, c.Table, c.Line = name, p.table, line
	p.table.Chains = append(p.table.Chains, c)
	p.table.byName[name] = c
	return c
}

func (t *Table) addChain(name string, line int) *Chain {
	c := &Chain{Name: name, Table: t, Line: line}
	t.Chains = append(t.Chains, c)
	t.byName[name] = c
	return c
}

// fields splits s at isSpace bytes (strings.Fields would also split at
// Unicode blanks, which rule words may contain).
func fields(out []string, s string) []string {
	for {
		s = trimSpace(s)
		if s == "" {
			return out
		}
		i := 0
		for i < len(s) && !isSpace(s[i]) {
			i++
		}
		out = append(out, s[:i])
		s = s[i:]
	}
}

// cutCounters reads a leading "[packets:bytes]" and returns the rest.
func cutCounters(s string) (Counters, string, string) {
	end := strings.IndexByte(s, ']')
	if len(s) == 0 || s[0] != '[' {
		return Counters{}, "", "counters are not [packets:bytes]"
	}
	if end < 0 {
		return Counters{}, "", "counters without ]"
	}
	pk, by, ok := strings.Cut(s[1:end], ":")
	if !ok {
		return Counters{}, "", "counters are not [packets:bytes]"
	}
	np, err1 := strconv.ParseUint(pk, 10, 64)
	nb, err2 := strconv.ParseUint(by, 10, 64)
	if err1 != nil || err2 != nil {
		return Counters{}, "", "counters are not [packets:bytes]"
	}
	rest := s[end+1:]
	if rest != "" && !isSpace(rest[0]) {
		return Counters{}, "", "no space after counters"
	}
	return Counters{Packets: np, Bytes: nb, Valid: true}, trimSpace(rest), ""
}

// validName accepts chain, table and policy names that survive being
// written back into a dump: printable, no blanks, quotes or backslashes,
// not starting like an option or a negation.
func validName(s string) bool {
	if s == "" || s[0] == '-' || s[0] == '!' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// isBuiltinChain reports the kernel's chains of each iptables table.
func isBuiltinChain(table, chain string) bool {
	switch table {
	case "filter", "security":
		return chain == "INPUT" || chain == "FORWARD" || chain == "OUTPUT"
	case "nat":
		return chain == "PREROUTING" || chain == "INPUT" || chain == "OUTPUT" || chain == "POSTROUTING"
	case "raw":
		return chain == "PREROUTING" || chain == "OUTPUT"
	}
	return hookOf(chain) != 0 && strings.ToUpper(chain) == chain
}
