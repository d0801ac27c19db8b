package report

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
)

// TextOptions tune the text renderer.
type TextOptions struct {
	Color   bool
	Verbose bool // list skipped checks and unchecked parts in full
}

type palette struct{ red, yellow, blue, bold, dim, reset string }

func colors(on bool) palette {
	if !on {
		return palette{}
	}
	return palette{red: "\x1b[31m", yellow: "\x1b[33m", blue: "\x1b[34m", bold: "\x1b[1m", dim: "\x1b[2m", reset: "\x1b[0m"}
}

// WriteText renders findings grouped by severity, most severe first, each
// with its places, evidence, remedy and fix.
func WriteText(w io.Writer, r *Report, opt TextOptions) error {
	bw := bufio.NewWriter(w)
	c := colors(opt.Color)
	for _, e := range r.InputErrors {
		fmt.Fprintf(bw, "%sinput error%s %s\n", c.red+c.bold, c.reset, e.Error())
	}
	if len(r.InputErrors) > 0 {
		fmt.Fprintln(bw)
	}
	for _, sev := range []analysis.Severity{analysis.Error, analysis.Warning, analysis.Info} {
		for _, f := range r.Findings {
			if f.Severity == sev {
				writeFinding(bw, f, c)
			}
		}
	}
	for _, e := range r.AnalyzerErrors {
		fmt.Fprintf(bw, "%scheck failed%s %s\n", c.red+c.bold, c.reset, e)
	}
	if opt.Verbose {
		for _, s := range r.Skipped {
			fmt.Fprintf(bw, "%sskipped%s %s %s: %s\n", c.dim, c.reset, s.Code, s.Name, s.Reason)
		}
	}
	for _, s := range r.NotChecked {
		if opt.Verbose || len(r.NotChecked) <= 5 {
			fmt.Fprintf(bw, "%snot checked%s %s %s: %s\n", c.dim, c.reset, s.Code, s.Name, s.Reason)
		}
	}
	writeAccessLogs(bw, r.AccessLogs, c)
	writeSummary(bw, r, opt, c)
	return bw.Flush()
}

func writeFinding(w io.Writer, f analysis.Finding, c palette) {
	col := map[analysis.Severity]string{analysis.Error: c.red, analysis.Warning: c.yellow, analysis.Info: c.blue}[f.Severity]
	fmt.Fprintf(w, "%s%-7s%s %s%s%s %s  %s\n", col+c.bold, strings.ToUpper(f.Severity.String()), c.reset, c.bold, f.Code, c.reset, f.Name, f.Subject.String())
	for _, l := range f.Locations {
		field := ""
		if l.Field != "" {
			field = "  " + c.dim + l.Field + c.reset
		}
		fmt.Fprintf(w, "  at %s%s\n", l.Position, field)
	}
	fmt.Fprintf(w, "  %s\n", f.Message)
	if len(f.Evidence) > 0 {
		fmt.Fprintf(w, "  %sevidence:%s\n", c.bold, c.reset)
		for _, e := range f.Evidence {
			fmt.Fprintf(w, "    %s\n", e)
		}
	}
	if len(f.Related) > 0 {
		fmt.Fprintf(w, "  %srelated:%s\n", c.bold, c.reset)
		for _, r := range f.Related {
			pos := ""
			if r.Position != nil {
				pos = " (" + r.Position.String() + ")"
			}
			fmt.Fprintf(w, "    %s%s: %s\n", r.Object, pos, r.Why)
		}
	}
	fmt.Fprintf(w, "  %sremedy:%s %s\n", c.bold, c.reset, f.Remedy)
	if f.Fix != nil {
		fmt.Fprintf(w, "  %sfix:%s %s (%s)\n", c.bold, c.reset, f.Fix.Description, f.Fix.Where)
		for _, cmd := range f.Fix.Commands {
			fmt.Fprintf(w, "    %s\n", cmd)
		}
	}
	fmt.Fprintln(w)
}

// writeAccessLogs says how many access-log lines were read and how, and
// shows the lines no format matched: they are not errors, but a format the
// reader does not know hides failures.
func writeAccessLogs(w io.Writer, a *AccessLogSummary, c palette) {
	if a == nil {
		return
	}
	var formats []string
	for name, n := range a.Formats {
		formats = append(formats, fmt.Sprintf("%s %d", name, n))
	}
	sort.Strings(formats)
	fmt.Fprintf(w, "%saccess logs%s %d lines: %d matched (%s), %d unmatched; %d failed records in %d groups\n", c.bold, c.reset, a.Lines, a.Matched, strings.Join(formats, ", "), a.Unmatched, a.Failures, a.Groups)
	for _, u := range a.UnmatchedSamples {
		if len(u) > 200 {
			u = u[:200] + "…"
		}
		fmt.Fprintf(w, "  %sunmatched%s %s\n", c.dim, c.reset, u)
	}
}

func writeSummary(w io.Writer, r *Report, opt TextOptions, c palette) {
	s := r.Summary
	var parts []string
	for _, sev := range []string{"error", "warning", "info"} {
		if n := s.BySeverity[sev]; n > 0 {
			parts = append(parts, plural(n, sev))
		}
	}
	found := "no findings"
	if len(parts) > 0 {
		found = strings.Join(parts, ", ")
	}
	fmt.Fprintf(w, "%s%s%s in %s from %s; %s run", c.bold, found, c.reset, plural(s.Objects, "object"), plural(s.Files, "file"), plural(s.Ran, "check"))
	if len(r.Skipped) > 0 {
		fmt.Fprintf(w, ", %d skipped", len(r.Skipped))
		if !opt.Verbose {
			fmt.Fprint(w, " (-v lists why)")
		}
	}
	if s.Suppressed > 0 {
		fmt.Fprintf(w, ", %d suppressed", s.Suppressed)
	}
	if n := len(r.InputErrors); n > 0 {
		fmt.Fprintf(w, "; %s%s: the analysis is incomplete%s", c.red, plural(n, "input error"), c.reset)
	}
	fmt.Fprintln(w, ".")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
