package conntrack

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits that keep a hostile or mistaken input from costing more than a
// real table would.
const (
	// MaxLineLen is far above a real entry (a few hundred bytes, labels
	// included); a longer line is an error, not parsed.
	MaxLineLen = 16 << 10
	// MaxErrors bounds the errors kept; the rest are only counted.
	MaxErrors = 1000
)

// Dump is a parsed text table.
type Dump struct {
	Entries []Entry
	// Expectations are the lines of `conntrack -L expect` (or -E expect),
	// which a listing of the expectation table holds instead of entries.
	Expectations []Expectation
	// Errors are the lines that could not be read, in order; at most
	// MaxErrors, with ErrorsDropped counting the others.
	Errors        []*LineError
	ErrorsDropped int
	// Summary is conntrack's closing line, nil when the text has none.
	Summary *Summary
}

// Summary is the line conntrack writes (to stderr) after a listing:
// "conntrack v1.4.6 (conntrack-tools): 3 flow entries have been shown."
type Summary struct {
	Line    int
	Version string // "1.4.6"
	Count   int
	// What is "flow" for `conntrack -L`, "expectation" for `-L expect`.
	What string
}

// LineError is a line that could not be read.
type LineError struct {
	Line int
	// Text is the start of the line, for the message.
	Text string
	Err  error
}

func (e *LineError) Error() string {
	return fmt.Sprintf("line %d: %v", e.Line, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// Err joins the line errors, nil when there are none.
func (d *Dump) Err() error {
	errs := make([]error, 0, len(d.Errors)+1)
	for _, e := range d.Errors {
		errs = append(errs, e)
	}
	if d.ErrorsDropped > 0 {
		errs = append(errs, fmt.Errorf("%d more bad lines", d.ErrorsDropped))
	}
	return errors.Join(errs...)
}

// Parse reads a conntrack table as text: flow entries, expectations, or
// both. Blank lines are skipped; a line that is none of these nor the
// summary becomes a LineError and parsing goes on. Raw fields share one
// copy of data.
func Parse(data []byte) *Dump {
	// Real entries take 100 bytes and more: a file of newlines or junk
	// must not reserve an entry per line.
	d := &Dump{Entries: make([]Entry, 0, min(bytes.Count(data, []byte{'\n'})+1, len(data)/100+1))}
	text := string(data)
	for n := 1; text != ""; n++ {
		line, rest, _ := strings.Cut(text, "\n")
		text = rest
		line = strings.TrimRight(line, " \t\r")
		if strings.TrimLeft(line, " \t") == "" {
			continue
		}
		if err := d.parseLine(line, n); err != nil {
			d.addError(n, line, err)
		}
	}
	return d
}

// parseLine reads one non-blank line as a flow entry, an expectation or
// the summary line, and adds it to d.
func (d *Dump) parseLine(line string, n int) error {
	if len(line) > MaxLineLen {
		return fmt.Errorf("%d bytes, longer than the %d an entry can be", len(line), MaxLineLen)
	}
	if !isText(line) {
		return errors.New("binary data, not conntrack text")
	}
	if sum, ok := parseSummary(line); ok {
		sum.Line = n
		d.Summary = sum
		return nil
	}
	// Parse in place: an Entry is a few hundred bytes to copy.
	if looksExpect(line) {
		d.Expectations = append(d.Expectations, Expectation{})
		x := &d.Expectations[len(d.Expectations)-1]
		if err := parseExpectInto(x, line); err != nil {
			d.Expectations = d.Expectations[:len(d.Expectations)-1]
			return err
		}
		x.Line, x.Raw = n, line
		return nil
	}
	d.Entries = append(d.Entries, Entry{})
	e := &d.Entries[len(d.Entries)-1]
	if err := parseInto(e, line); err != nil {
		d.Entries = d.Entries[:len(d.Entries)-1]
		return err
	}
	e.Line, e.Raw = n, line
	return nil
}

// isText: valid UTF-8 without control characters other than tab.
func isText(s string) bool {
	ascii := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
		ascii = ascii && c < utf8.RuneSelf
	}
	return ascii || utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

func (d *Dump) addError(n int, line string, err error) {
	if len(d.Errors) >= MaxErrors {
		d.ErrorsDropped++
		return
	}
	text := strings.ToValidUTF8(line[:min(len(line), 80)], "\uFFFD")
	if len(line) > 80 {
		text += "…"
	}
	d.Errors = append(d.Errors, &LineError{Line: n, Text: text, Err: err})
}

// parseSummary recognises "conntrack vVERSION (conntrack-tools): N WHAT
// entries have been shown." (and "events" for -E).
func parseSummary(line string) (*Summary, bool) {
	rest, ok := strings.CutPrefix(line, "conntrack v")
	if !ok {
		return nil, false
	}
	version, rest, ok := strings.Cut(rest, " (conntrack-tools): ")
	if !ok || version == "" || strings.ContainsAny(version, " \t") {
		return nil, false
	}
	rest, ok = strings.CutSuffix(rest, " have been shown.")
	if !ok {
		return nil, false
	}
	if rest, ok = strings.CutSuffix(rest, " entries"); !ok {
		if rest, ok = strings.CutSuffix(rest, " events"); !ok {
			return nil, false
		}
	}
	count, what, ok := strings.Cut(rest, " ")
	n, err := strconv.Atoi(count)
	if !ok || err != nil || n < 0 || (what != "flow" && what != "expectation") {
		return nil, false
	}
	return &Summary{Version: version, Count: n, What: what}, true
}
