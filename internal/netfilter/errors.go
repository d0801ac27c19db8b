package netfilter

import (
	"fmt"
	"strings"
)

// Limits that keep hostile or corrupt input from costing unbounded memory.
const (
	// MaxLineBytes bounds one line. Real rules are far shorter (an
	// iptables comment is at most 256 bytes); a longer line is reported and
	// skipped.
	MaxLineBytes = 256 << 10
	// MaxErrors bounds the errors kept per rule set; the rest are counted.
	MaxErrors = 1000
	// maxExcerpt bounds the input quoted in an error message.
	maxExcerpt = 80
)

// ParseError is one line that could not be read.
type ParseError struct {
	// Line is 1-based; 0 means the error concerns the whole input.
	Line   int
	Reason string
	// Excerpt is the start of the offending line, for the message.
	Excerpt string
}

// Error renders "line N: reason: \"excerpt\"".
func (e *ParseError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	b.WriteString(e.Reason)
	if e.Excerpt != "" {
		fmt.Fprintf(&b, ": %q", e.Excerpt)
	}
	return b.String()
}

// Err returns the first parse error, naming how many there were, or nil.
func (rs *RuleSet) Err() error {
	n := len(rs.Errors) + rs.MoreErrors
	switch n {
	case 0:
		return nil
	case 1:
		return rs.Errors[0]
	}
	return fmt.Errorf("%w (and %d more errors)", rs.Errors[0], n-1)
}

// addError records an error, keeping at most MaxErrors.
func (rs *RuleSet) addError(line int, text, reason string) {
	if len(rs.Errors) >= MaxErrors {
		rs.MoreErrors++
		return
	}
	rs.Errors = append(rs.Errors, &ParseError{Line: line, Reason: reason, Excerpt: excerpt(text)})
}

func (rs *RuleSet) addErrorf(line int, text, format string, args ...any) {
	if len(rs.Errors) >= MaxErrors {
		rs.MoreErrors++
		return
	}
	rs.addError(line, text, fmt.Sprintf(format, args...))
}

func excerpt(s string) string {
	if len(s) <= maxExcerpt {
		return s
	}
	return s[:maxExcerpt] + "..."
}
