package netfilter

import (
	"strconv"
	"strings"
)

// ParseNft reads `nft list ruleset` output (also `nft -a`, with handles):
// tables, chains with their type, hook, priority and policy, and rules.
// Sets, maps, flowtables and other objects are skipped. Rules are
// translated into the iptables model as far as meshes need: verdicts and
// jumps, marks and connmarks (tests and sets), redirect, tproxy, dnat and
// snat, reject, ports, addresses, interfaces, protocols, comments and
// counters. Statements it does not know stay in the rule's Text only.
func ParseNft(data []byte) *RuleSet {
	text := string(data)
	p := &nftParser{
		rs:    &RuleSet{Format: FormatNft, Lines: countLines(text)},
		lines: lineReader{text: text},
	}
	p.run()
	finish(p.rs)
	return p.rs
}

type nftParser struct {
	builder
	rs    *RuleSet
	lines lineReader
	table *Table
	chain *Chain
	// skip counts the open braces of an object block (set, map, ...) being
	// skipped.
	skip int
	// pending collects a rule whose braces span several lines.
	pending      []token
	pendingLine  int
	pendingStart int
}

// maxRuleLines bounds how many lines one wrapped rule may span.
const maxRuleLines = 1000

func (p *nftParser) run() {
	for {
		start := p.lines.pos
		raw, n, tooLong, ok := p.lines.next()
		if !ok {
			break
		}
		if tooLong {
			p.rs.addErrorf(n, raw, "line longer than %d bytes, skipped", MaxLineBytes)
			continue
		}
		words, err := splitNftWords(p.words[:0], raw)
		p.words = words
		if err != nil {
			p.rs.addError(n, raw, err.Error())
			continue
		}
		if len(words) == 0 {
			continue
		}
		p.line(words, raw, n, start)
	}
	switch {
	case p.pending != nil:
		p.rs.addError(p.pendingLine, "", "rule not closed before the end of the input")
	case p.chain != nil:
		p.rs.addErrorf(p.chain.Line, "", "chain %s not closed", p.chain.Name)
	case p.table != nil:
		p.rs.addErrorf(p.table.Line, "", "table %s not closed", p.table.Name)
	}
}

func (p *nftParser) line(w []token, raw string, n, start int) {
	if p.skip > 0 {
		p.skip += braceBalance(w)
		if p.skip < 0 {
			p.skip = 0
		}
		return
	}
	if p.pending != nil {
		p.continueRule(w, n)
		return
	}
	switch {
	case p.table == nil:
		p.startTable(w, raw, n)
	case p.chain == nil:
		p.tableLine(w, raw, n)
	default:
		p.chainLine(w, raw, n, start)
	}
}

// startTable reads "table [FAMILY] NAME {".
func (p *nftParser) startTable(w []token, raw string, n int) {
	if w[0].text != "table" || w[0].quoted || len(w) < 3 || w[len(w)-1].text != "{" && !closesOnSameLine(w) {
		p.rs.addError(n, raw, "expected `table FAMILY NAME {`")
		return
	}
	family, name := "ip", w[1].text
	if len(w) >= 4 && !w[2].quoted && w[2].text != "{" {
		family, name = w[1].text, w[2].text
	}
	p.table = &Table{Name: name, Family: family, Line: n, byName: make(map[string]*Chain)}
	p.rs.Tables = append(p.rs.Tables, p.table)
	if closesOnSameLine(w) {
		p.table = nil
	}
}

func closesOnSameLine(w []token) bool {
	return len(w) >= 2 && w[len(w)-1].text == "}" && w[len(w)-2].text == "{"
}

// tableLine reads a line inside a table: a chain, an object block to skip,
// a table attribute, or the closing brace.
func (p *nftParser) tableLine(w []token, raw string, n int) {
	first := w[0].text
	switch {
	case first == "}" && len(w) == 1:
		p.table = nil
	case first == "chain" && len(w) >= 3 && w[2].text == "{":
		c := p.table.Chain(w[1].text)
		if c != nil {
			p.rs.addErrorf(n, raw, "chain %s listed twice", w[1].text)
		} else {
			c = p.table.addChain(w[1].text, n)
		}
		p.chain = c
		if len(w) > 3 {
			p.chainLine(w[3:], raw, n, -1)
		}
	case first == "comment" || first == "flags":
	case nftObjects[first]:
		if b := braceBalance(w); b > 0 {
			p.skip = b
		}
	default:
		p.rs.addError(n, raw, "unexpected line in table")
	}
}

// nftObjects are the table-level objects besides chains; their blocks are
// skipped.
var nftObjects = map[string]bool{
	"set": true, "map": true, "flowtable": true, "counter": true, "quota": true,
	"limit": true, "ct": true, "secmark": true, "synproxy": true, "tunnel": true,
}

// chainLine reads a line inside a chain: its base-chain header, policy,
// comment, the closing brace, or a rule. start is the line's offset in the
// input, or -1 when the rule cannot span lines.
func (p *nftParser) chainLine(w []token, raw string, n, start int) {
	switch w[0].text {
	case "}":
		if len(w) > 1 {
			p.rs.addError(n, raw, "text after the chain's closing brace")
		}
		p.chain = nil
		return
	case "type", "policy":
		p.chainHeader(w)
		return
	case "comment", "devices", "device":
		return
	}
	if braceBalance(w) > 0 && start >= 0 {
		p.pending = append(p.pending[:0:0], w...)
		p.pendingLine, p.pendingStart = n, start
		return
	}
	p.addRule(w, raw, n)
}

// continueRule adds a line to a rule whose braces are still open.
func (p *nftParser) continueRule(w []token, n int) {
	p.pending = append(p.pending, w...)
	if braceBalance(p.pending) > 0 && n-p.pendingLine < maxRuleLines {
		return
	}
	text := p.lines.text[p.pendingStart:p.lines.pos]
	text = strings.TrimRight(text, "\r\n")
	if braceBalance(p.pending) != 0 {
		p.rs.addErrorf(p.pendingLine, text, "rule braces do not balance")
	} else {
		p.addRule(p.pending, text, p.pendingLine)
	}
	p.pending = nil
}

// chainHeader reads "type T hook H [device D] priority P; policy X;".
func (p *nftParser) chainHeader(w []token) {
	c := p.chain
	for i := 0; i < len(w); i++ {
		if i+1 >= len(w) {
			break
		}
		switch w[i].text {
		case "type":
			c.Type = w[i+1].text
		case "hook":
			c.Hook = w[i+1].text
			c.Builtin = true
		case "priority":
			// Priorities can be expressions ("dstnat - 10"); keep the words up to ;.
			j := i + 1
			for j < len(w) && w[j].text != ";" {
				j++
			}
			c.Priority = joinWords(w[i+1 : j])
			i = j - 1
		case "policy":
			c.Policy = strings.ToUpper(w[i+1].text)
		default:
			continue
		}
		i++
	}
	if c.Builtin && c.Policy == "" {
		c.Policy = "ACCEPT" // nft's default, which `list ruleset` may leave out
	}
}

func (p *nftParser) addRule(w []token, text string, n int) {
	r := p.rules.one()
	r.Line, r.Text, r.Chain = n, trimSpace(text), p.chain
	r.Handle = nftHandle(r.Text)
	readNftRule(r, w)
	p.chain.Rules = append(p.chain.Rules, r)
}

// nftHandle reads the "# handle N" nft -a appends to a rule.
func nftHandle(text string) uint64 {
	i := strings.LastIndex(text, "# handle ")
	if i < 0 || i < strings.LastIndexByte(text, '"') {
		return 0 // none, or inside a quoted string
	}
	n, err := strconv.ParseUint(trimSpace(text[i+len("# handle "):]), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

func joinWords(w []token) string {
	var b strings.Builder
	for i, t := range w {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(t.text)
	}
	return b.String()
}
