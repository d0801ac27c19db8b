package node

import (
	"cmp"
	"os"
	"slices"
	"strings"
	"sync"
)

// StepError is a collection step that failed without stopping the others;
// each is one line of errors.txt.
type StepError struct {
	// Step names what was not collected: a netns file for every netns
	// when its program is missing ("nft.txt"), one netns's file
	// ("netns/4026532690/nft.txt"), a whole netns that could not be
	// entered ("netns/4026532690"), a process ("procs.json"), a field
	// ("meta.json kernel", "meta.json bootTime"), the host netns ("host
	// netns") or a backend's version ("backends/nft").
	Step string
	Err  error
}

func (e *StepError) Error() string { return e.Step + ": " + e.Err.Error() }
func (e *StepError) Unwrap() error { return e.Err }

// stepErrors gathers step errors from the netns workers.
type stepErrors struct {
	mu   sync.Mutex
	list []*StepError
}

func (s *stepErrors) add(step string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list = append(s.list, &StepError{Step: step, Err: err})
}

// sorted returns the errors ordered by step, so errors.txt does not depend
// on which netns worker finished first; one step's errors keep their order.
func (s *stepErrors) sorted() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := slices.Clone(s.list)
	slices.SortStableFunc(l, func(a, b *StepError) int { return cmp.Compare(a.Step, b.Step) })
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// writeErrorsFile writes errors.txt, one line per error; an empty file
// says every step succeeded.
func writeErrorsFile(path string, errs []error) error {
	var b strings.Builder
	for _, e := range errs {
		// A reason with a newline (a command's stderr) would split the line.
		b.WriteString(strings.ReplaceAll(e.Error(), "\n", " "))
		b.WriteByte('\n')
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
