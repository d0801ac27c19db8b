// Package report renders an analysis for people (text) and machines (JSON).
// Renderers only format: the exit code and every decision are made before.
package report

import (
	"fmt"

	"github.com/meshdoctor/meshdoctor/internal/accesslog"
	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/source/files"
)

// SchemaVersion names the JSON document shape; see docs/findings.schema.json.
const SchemaVersion = "meshdoctor.io/findings/v1"

// Report is everything one run produced.
type Report struct {
	SchemaVersion string             `json:"schemaVersion"`
	Tool          Tool               `json:"tool"`
	Summary       Summary            `json:"summary"`
	Findings      []analysis.Finding `json:"findings"`
	InputErrors   []files.InputError `json:"inputErrors"`
	Skipped       []analysis.Skip    `json:"skipped"`
	NotChecked    []analysis.Skip    `json:"notChecked"`
	// AnalyzerErrors are internal failures of checks; the run is incomplete.
	AnalyzerErrors []string `json:"analyzerErrors,omitempty"`
	// AccessLogs counts the access-log lines read, when any were.
	AccessLogs *AccessLogSummary `json:"accessLogs,omitempty"`
}

// AccessLogSummary is what the access-log reader saw: lines per format,
// and the lines no format matched (counted and sampled, never errors).
type AccessLogSummary struct {
	Lines     int64            `json:"lines"`
	Matched   int64            `json:"matched"`
	Unmatched int64            `json:"unmatched"`
	TooLong   int64            `json:"tooLong"`
	Groups    int              `json:"groups"`
	Failures  int64            `json:"failures"`
	Formats   map[string]int64 `json:"formats"`
	// UnmatchedSamples are the first lines no format matched, as file:line: text.
	UnmatchedSamples []string `json:"unmatchedSamples,omitempty"`
}

// AccessLogStats summarises a scan for the report.
func AccessLogStats(s *accesslog.Summary) *AccessLogSummary {
	if s == nil {
		return nil
	}
	out := &AccessLogSummary{Lines: s.Lines, Matched: s.Matched, Unmatched: s.Unmatched, TooLong: s.TooLong, Groups: len(s.Groups), Formats: map[string]int64{}}
	for _, g := range s.Groups {
		out.Failures += g.Failures
	}
	for _, f := range s.Formats {
		out.Formats[f.Format] = f.Lines
	}
	for _, u := range s.UnmatchedSamples {
		out.UnmatchedSamples = append(out.UnmatchedSamples, fmt.Sprintf("%s:%d: %s", u.File, u.Line, u.Text))
	}
	return out
}

// Tool identifies the producer.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Summary counts what was read and found, and carries the exit code.
type Summary struct {
	Files      int            `json:"files"`
	Objects    int            `json:"objects"`
	Ran        int            `json:"checksRun"`
	BySeverity map[string]int `json:"findingsBySeverity"`
	Suppressed int            `json:"suppressed"`
	FailOn     string         `json:"failOn"`
	ExitCode   int            `json:"exitCode"`
}

// New assembles a report; findings are expected in their final order.
func New(version string, nfiles, nobjects int, res analysis.Result, inErrs []files.InputError, failOn analysis.Severity) *Report {
	r := &Report{
		SchemaVersion:  SchemaVersion,
		Tool:           Tool{Name: "meshdoctor", Version: version},
		Findings:       nonNil(res.Findings),
		InputErrors:    nonNil(inErrs),
		Skipped:        nonNil(res.Skipped),
		NotChecked:     nonNil(res.NotChecked),
		AnalyzerErrors: res.Errors,
		Summary: Summary{
			Files: nfiles, Objects: nobjects, Ran: len(res.Ran), Suppressed: res.Suppressed,
			BySeverity: map[string]int{"error": 0, "warning": 0, "info": 0}, FailOn: failOn.String(),
		},
	}
	for _, f := range res.Findings {
		r.Summary.BySeverity[f.Severity.String()]++
	}
	r.Summary.ExitCode = ExitCode(res.Findings, len(inErrs)+len(res.Errors) > 0, failOn)
	return r
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Exit codes, the same in every output format.
const (
	ExitClean      = 0
	ExitFindings   = 1
	ExitIncomplete = 2
)

// ExitCode is 2 when the analysis is incomplete (unreadable input, a failed
// check), else 1 when a finding is at or above failOn, else 0.
func ExitCode(fs []analysis.Finding, incomplete bool, failOn analysis.Severity) int {
	if incomplete {
		return ExitIncomplete
	}
	for _, f := range fs {
		if f.Severity >= failOn {
			return ExitFindings
		}
	}
	return ExitClean
}
