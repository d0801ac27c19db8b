package netfilter

import (
	"fmt"
	"strconv"
)

// builder owns the scratch buffers and slabs one parse reuses for every
// rule; it is not shared between parses.
type builder struct {
	words   []token
	texts   []string
	opts    []Option
	spans   []matchSpan
	ms      []Match
	args    slab[string]
	options slab[Option]
	matches slab[Match]
	rules   slab[Rule]
}

// matchSpan is a match being read: its module and where its options start
// in builder.opts.
type matchSpan struct {
	module   string
	first    int
	implicit bool
}

// parseRuleWords fills r from the words of an iptables rule that follow
// "-A CHAIN". It returns a reason when the words do not form a rule.
func (b *builder) parseRuleWords(r *Rule, w []token) error {
	b.opts = b.opts[:0]
	b.spans = b.spans[:0]
	targetFirst, targetEnd := -1, -1
	not := false
	for i := 0; i < len(w); {
		t := w[i]
		if isNot(t) {
			if not {
				return fmt.Errorf("negation ! repeated")
			}
			not = true
			i++
			continue
		}
		if !isOptionWord(t) {
			return fmt.Errorf("unexpected argument %q", t.text)
		}
		name := t.text
		i++
		var err error
		switch name {
		case "-p", "--protocol":
			r.Protocol, i, err = fieldValue(w, i, name, not)
		case "-s", "--source", "--src":
			r.Source, i, err = fieldValue(w, i, name, not)
		case "-d", "--destination", "--dst":
			r.Destination, i, err = fieldValue(w, i, name, not)
		case "-i", "--in-interface":
			r.InInterface, i, err = fieldValue(w, i, name, not)
		case "-o", "--out-interface":
			r.OutInterface, i, err = fieldValue(w, i, name, not)
		case "-f", "--fragment":
			r.Fragment = Flag{Set: true, Not: not}
		case "-c", "--set-counters":
			var c Counters
			c, i, err = countersValue(w, i, name)
			if err == nil && !r.Counters.Valid {
				r.Counters = c
			}
		case "-4", "-6":
			// Restricts a line to one family in iptables-restore; no meaning here.
		case "-m", "--match":
			var f Field
			if f, i, err = nameValue(w, i, name); err == nil {
				if targetFirst >= 0 && targetEnd < 0 {
					targetEnd = len(b.opts)
				}
				b.spans = append(b.spans, matchSpan{module: f.Value, first: len(b.opts)})
			}
		case "-j", "--jump", "-g", "--goto":
			if r.Target.Name != "" {
				return fmt.Errorf("second target %s", name)
			}
			var f Field
			if f, i, err = nameValue(w, i, name); err == nil {
				r.Target.Name = f.Value
				r.Target.Goto = name == "-g" || name == "--goto"
				targetFirst = len(b.opts)
			}
		default:
			if name[1] != '-' {
				return fmt.Errorf("unknown option %s", name)
			}
			if len(name) == 2 {
				return fmt.Errorf("option without a name")
			}
			i = b.readOption(w, i, name[2:], not)
			if targetFirst < 0 && len(b.spans) == 0 {
				// Options before any -m, as in `-p tcp --dport 53`.
				b.spans = append(b.spans, matchSpan{first: len(b.opts) - 1, implicit: true})
			}
			not = false
			continue
		}
		if err != nil {
			return err
		}
		if not && !negatable(name) {
			return fmt.Errorf("! before %s", name)
		}
		not = false
	}
	if not {
		return fmt.Errorf("! at the end of the rule")
	}
	b.finishRule(r, targetFirst, targetEnd)
	return nil
}

// readOption appends the option named name whose arguments start at w[i]
// and returns the index after them. An option's arguments run to the next
// option or `!`; a `!` right after the name is the old negation syntax.
func (b *builder) readOption(w []token, i int, name string, not bool) int {
	if !not && i+1 < len(w) && isNot(w[i]) && !isOptionWord(w[i+1]) && !isNot(w[i+1]) {
		not = true
		i++
	}
	start := i
	for i < len(w) && !isOptionWord(w[i]) && !isNot(w[i]) {
		i++
	}
	b.texts = b.texts[:0]
	for _, t := range w[start:i] {
		b.texts = append(b.texts, t.text)
	}
	b.opts = append(b.opts, Option{Name: name, Args: b.args.copyOf(b.texts), Not: not})
	return i
}

// finishRule moves the scratch options and matches into the slabs.
func (b *builder) finishRule(r *Rule, targetFirst, targetEnd int) {
	all := b.options.copyOf(b.opts)
	if targetEnd < 0 {
		targetEnd = len(all)
	}
	if targetFirst >= 0 && targetFirst < targetEnd {
		r.Target.Options = all[targetFirst:targetEnd:targetEnd]
	}
	if len(b.spans) == 0 {
		return
	}
	b.ms = b.ms[:0]
	for k, s := range b.spans {
		end := len(all)
		if k+1 < len(b.spans) {
			end = b.spans[k+1].first
		}
		if targetFirst >= s.first && targetFirst < end {
			end = targetFirst
		}
		m := Match{Module: s.module}
		if s.implicit {
			m.Module = r.Protocol.Value
		}
		if s.first < end {
			m.Options = all[s.first:end:end]
		}
		b.ms = append(b.ms, m)
	}
	r.Matches = b.matches.copyOf(b.ms)
}

func negatable(name string) bool {
	switch name {
	case "-p", "--protocol", "-s", "--source", "--src", "-d", "--destination", "--dst",
		"-i", "--in-interface", "-o", "--out-interface", "-f", "--fragment":
		return true
	}
	return false
}

// fieldValue reads the one value of a common option at w[i].
func fieldValue(w []token, i int, name string, not bool) (Field, int, error) {
	if i >= len(w) || isOptionWord(w[i]) || isNot(w[i]) {
		return Field{}, i, fmt.Errorf("%s needs a value", name)
	}
	return Field{Value: w[i].text, Not: not}, i + 1, nil
}

// nameValue reads the module or target name after -m, -j or -g.
func nameValue(w []token, i int, name string) (Field, int, error) {
	f, i, err := fieldValue(w, i, name, false)
	if err == nil && f.Value == "" {
		err = fmt.Errorf("%s needs a name", name)
	}
	return f, i, err
}

// countersValue reads "-c PACKETS BYTES".
func countersValue(w []token, i int, name string) (Counters, int, error) {
	if i+1 >= len(w) {
		return Counters{}, i, fmt.Errorf("%s needs packets and bytes", name)
	}
	p, err1 := strconv.ParseUint(w[i].text, 10, 64)
	by, err2 := strconv.ParseUint(w[i+1].text, 10, 64)
	if err1 != nil || err2 != nil {
		return Counters{}, i, fmt.Errorf("%s needs two counts, got %q %q", name, w[i].text, w[i+1].text)
	}
	return Counters{Packets: p, Bytes: by, Valid: true}, i + 2, nil
}
