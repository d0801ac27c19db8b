package netfilter

import "strconv"

// placement is a rule waiting to go into its chain: appended (at < 0) or
// inserted at index at.
type placement struct {
	r  *Rule
	at int
}

// appendRule reads an -A or -I line and queues its rule for placement.
// A rule for an undeclared chain is kept (the chain is created) and
// reported.
func (p *xtParser) appendRule(w []token, counters Counters, raw string, n int) {
	if len(w) < 2 || w[1].quoted && w[1].text == "" || isOptionWord(w[1]) {
		p.rs.addErrorf(n, raw, "%s needs a chain", w[0].text)
		return
	}
	name := w[1].text
	c := p.last
	if c == nil || c.Name != name || c.Table != p.table {
		c = p.table.Chain(name)
	}
	if c == nil && !validName(name) {
		p.rs.addError(n, raw, "bad chain name")
		return
	}
	rest := w[2:]
	at := -1
	if w[0].text == "-I" || w[0].text == "--insert" {
		at = 0
		if len(rest) > 0 && !rest[0].quoted {
			if k, err := strconv.Atoi(rest[0].text); err == nil && k > 0 {
				at, rest = k-1, rest[1:]
			}
		}
	}
	r := p.rules.one()
	r.Line, r.Text, r.Counters = n, raw, counters
	if err := p.parseRuleWords(r, rest); err != nil {
		*r = Rule{}
		p.rs.addError(n, raw, err.Error())
		return
	}
	if c == nil {
		p.rs.addErrorf(n, raw, "chain %s is not declared", name)
		c = p.addChain(name, 0)
		c.Builtin = isBuiltinChain(p.table.Name, name)
	}
	r.Chain = c
	p.last = c
	c.nRules++
	p.placed = append(p.placed, placement{r: r, at: at})
}

// placeRules puts the table's rules into their chains: one array for the
// whole table, carved per chain, instead of a growing slice per chain.
func (p *xtParser) placeRules() {
	if len(p.placed) == 0 {
		return
	}
	all := make([]*Rule, len(p.placed))
	off := 0
	for _, c := range p.table.Chains {
		c.Rules = all[off : off : off+c.nRules]
		off += c.nRules
	}
	for _, pl := range p.placed {
		c := pl.r.Chain
		if pl.at < 0 || pl.at >= len(c.Rules) {
			c.Rules = append(c.Rules, pl.r)
			continue
		}
		c.Rules = c.Rules[:len(c.Rules)+1]
		copy(c.Rules[pl.at+1:], c.Rules[pl.at:])
		c.Rules[pl.at] = pl.r
	}
	clear(p.placed)
	p.placed = p.placed[:0]
}
