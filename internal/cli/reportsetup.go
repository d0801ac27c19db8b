package cli

import (
	"fmt"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/all"
	"github.com/meshdoctor/meshdoctor/internal/report"
)

// reportFlags are the flags every analyzing command shares.
type reportFlags struct {
	output string
	failOn string
	checks []string
}

// setup checks the shared flags and selects the checks to run.
func (f reportFlags) setup() (*analysis.Registry, []*analysis.Analyzer, analysis.Severity, error) {
	if f.output != "text" && f.output != "json" {
		return nil, nil, 0, usageError("--output %q: want text or json", f.output)
	}
	failOn, err := analysis.ParseSeverity(f.failOn)
	if err != nil {
		return nil, nil, 0, usageError("--fail-on: %v", err)
	}
	reg, err := all.Registry()
	if err != nil {
		return nil, nil, 0, fmt.Errorf("building the check registry: %w", err)
	}
	analyzers, err := reg.Select(f.checks)
	if err != nil {
		return nil, nil, 0, usageError("%v", err)
	}
	return reg, analyzers, failOn, nil
}

// write prints the report in the chosen format and turns its exit code
// into the command's.
func (f reportFlags) write(g *globals, rep *report.Report) error {
	var err error
	switch f.output {
	case "json":
		err = report.WriteJSON(g.streams.Out, rep)
	default:
		err = report.WriteText(g.streams.Out, rep, report.TextOptions{Color: isTerminal(g.streams.Out), Verbose: g.verbose})
	}
	if err != nil {
		return &ExitError{Code: 2, Err: fmt.Errorf("writing the report: %w", err)}
	}
	if rep.Summary.ExitCode != 0 {
		return &ExitError{Code: rep.Summary.ExitCode}
	}
	return nil
}
