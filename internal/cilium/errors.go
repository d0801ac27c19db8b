package cilium

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// LineError is a line of input that could not be read.
type LineError struct {
	// File is the name given to Parse, or "".
	File string
	// Line is 1-based.
	Line int
	// Text is the start of the line (at most 80 characters, valid UTF-8).
	Text string
	Err  error
}

func (e *LineError) Error() string {
	if e.File != "" {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("line %d: %v", e.Line, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// MaxErrors is how many line errors a parser keeps; past it one last error
// says how many more lines were bad.
const MaxErrors = 200

// errList gathers line errors up to MaxErrors.
type errList struct {
	errs    []error
	dropped int
}

func (l *errList) add(n int, line string, err error) {
	if len(l.errs) >= MaxErrors {
		l.dropped++
		return
	}
	l.errs = append(l.errs, &LineError{Line: n, Text: excerpt(line), Err: err})
}

func (l *errList) addf(n int, line, format string, args ...any) {
	l.add(n, line, fmt.Errorf(format, args...))
}

// list returns the errors, with a last one counting those left off.
func (l *errList) list() []error {
	if l.dropped > 0 {
		return append(l.errs, fmt.Errorf("%d more bad lines", l.dropped))
	}
	return l.errs
}

// excerpt is the start of a line for an error message: at most 80
// characters, invalid bytes replaced, with "…" when cut.
func excerpt(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= 80 {
		return s
	}
	n := 0
	for i := range s {
		if n == 80 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

var (
	errNotJSON      = errors.New("not a JSON object")
	errNotFlow      = errors.New("JSON object is neither a flow nor a GetFlowsResponse")
	errTruncated    = errors.New("JSON object not closed before the end of the input")
	errNoHeader     = errors.New("table row before the table's header")
	errContinuation = errors.New("label continuation line without an entry above it")
)
