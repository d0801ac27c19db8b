package netfilter

import "strconv"

// Canonical renders the rule as iptables-save would print it, without
// counters: "-A CHAIN" then -s, -d, -i, -o, -p, -f, the matches in order
// (an implicit protocol match written as -m), then the target. Two rules
// with the same Canonical text do the same thing, so it serves to find
// duplicates and to compare backends and nodes. nft rules render in the
// same syntax, as far as the model captured them.
func (r *Rule) Canonical() string {
	return string(r.AppendCanonical(nil, nil))
}

// AppendCanonical appends Canonical to b, passing each chain name and
// argument through rename first when it is not nil — to make per-node
// details (kube-proxy's hashed chain names, CIDRs) comparable.
func (r *Rule) AppendCanonical(b []byte, rename func(string) string) []byte {
	w := wordWriter{b: b, rename: rename}
	w.raw("-A")
	if r.Chain != nil {
		w.word(r.Chain.Name)
	} else {
		w.word("")
	}
	w.field("-s", r.Source)
	w.field("-d", r.Destination)
	w.field("-i", r.InInterface)
	w.field("-o", r.OutInterface)
	w.field("-p", r.Protocol)
	if r.Fragment.Set {
		w.not(r.Fragment.Not)
		w.raw("-f")
	}
	for _, m := range r.Matches {
		if m.Module != "" {
			w.raw("-m")
			w.literal(m.Module)
		}
		w.options(m.Options)
	}
	if r.Target.Name != "" {
		if r.Target.Goto {
			w.raw("-g")
		} else {
			w.raw("-j")
		}
		w.word(r.Target.Name)
		w.options(r.Target.Options)
	}
	return w.b
}

// AppendSave appends the rule set in iptables-save syntax: for each table,
// "*name", its chains with policies and counters, its rules with counters
// where known, and COMMIT. Reading the result back gives the same rule set
// (less the lines that had errors).
func (rs *RuleSet) AppendSave(b []byte) []byte {
	for _, t := range rs.Tables {
		b = append(b, '*')
		b = append(b, t.Name...)
		b = append(b, '\n')
		for _, c := range t.Chains {
			b = append(b, ':')
			b = append(b, c.Name...)
			b = append(b, ' ')
			if c.Policy != "" {
				b = append(b, c.Policy...)
			} else {
				b = append(b, '-')
			}
			if c.Counters.Valid {
				b = append(b, ' ')
				b = appendCounters(b, c.Counters)
			}
			b = append(b, '\n')
		}
		for _, c := range t.Chains {
			for _, r := range c.Rules {
				if r.Counters.Valid {
					b = appendCounters(b, r.Counters) // AppendCanonical adds the space
				}
				b = r.AppendCanonical(b, nil)
				b = append(b, '\n')
			}
		}
		b = append(b, "COMMIT\n"...)
	}
	return b
}

func appendCounters(b []byte, c Counters) []byte {
	b = append(b, '[')
	b = strconv.AppendUint(b, c.Packets, 10)
	b = append(b, ':')
	b = strconv.AppendUint(b, c.Bytes, 10)
	return append(b, ']')
}

// wordWriter writes space-separated words, quoting those that would not
// read back as themselves.
type wordWriter struct {
	b      []byte
	rename func(string) string
}

func (w *wordWriter) sep() {
	if len(w.b) > 0 && w.b[len(w.b)-1] != '\n' {
		w.b = append(w.b, ' ')
	}
}

func (w *wordWriter) raw(s string) {
	w.sep()
	w.b = append(w.b, s...)
}

func (w *wordWriter) not(n bool) {
	if n {
		w.raw("!")
	}
}

// word writes a chain name or argument, renamed when asked.
func (w *wordWriter) word(s string) {
	if w.rename != nil {
		s = w.rename(s)
	}
	w.literal(s)
}

// literal writes s, quoted if needed.
func (w *wordWriter) literal(s string) {
	w.sep()
	if !needsQuote(s) {
		w.b = append(w.b, s...)
		return
	}
	w.b = append(w.b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			w.b = append(w.b, '\\')
		}
		w.b = append(w.b, s[i])
	}
	w.b = append(w.b, '"')
}

func (w *wordWriter) field(flag string, f Field) {
	if f.Value == "" && !f.Not {
		return
	}
	w.not(f.Not)
	w.raw(flag)
	w.word(f.Value)
}

func (w *wordWriter) options(opts []Option) {
	for _, o := range opts {
		w.not(o.Not)
		w.sep()
		w.b = append(w.b, "--"...)
		w.b = append(w.b, o.Name...)
		for _, a := range o.Args {
			w.word(a)
		}
	}
}

// needsQuote reports words that would split, vanish or change meaning if
// written bare: empty, with blanks, quotes, backslashes or control bytes,
// a lone "!", or shaped like an option.
func needsQuote(s string) bool {
	if s == "" || s == "!" || isOptionWord(token{text: s}) {
		return true
	}
	for i := 0; i < len(s); i++ {
		if byteClass[s[i]]&classQuote != 0 {
			return true
		}
	}
	return false
}
