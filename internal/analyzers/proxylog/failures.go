package proxylog

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/accesslog"
	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/kb"
)

// FailureGroup reports each group of failed requests or connections in the
// access logs, with what its response flags and details mean.
var FailureGroup = &analysis.Analyzer{
	Code:     "MD601",
	Name:     "proxy-failure-group",
	Severity: analysis.Warning,
	Summary:  "Proxies logged failed requests or connections sharing one upstream cluster, response code, response flags and details (or, for ztunnel, one destination service and error): what they mean and where to look next.",
	Doc:      doc("MD601"),
	Inputs:   []analysis.Input{analysis.AccessLogGroups()},
	Reads:    map[schema.GroupKind][]string{},
	Run:      runFailures,
}

func runFailures(p *analysis.Pass) error {
	al := p.Snapshot.AccessLogs()
	total := al.Summary.Matched
	for i := range al.Summary.Groups {
		g := &al.Summary.Groups[i]
		if g.Failures == 0 {
			continue
		}
		f := logFinding(g, total)
		f.Subject = subject(g)
		f.Severity = groupSeverity(g.Failures, total)
		f.Locations = sampleLocations(g, al.Writers)
		f.Message = fmt.Sprintf("%s: %s.", describeGroup(g), plural(g.Failures, "failure"))
		if m := meaning(g.Key); m != "" {
			f.Message += " " + m
		}
		f.Remedy = nextSteps(g)
		p.Report(f)
	}
	return nil
}

func seen(pos accesslog.Position) string {
	if pos.Time != "" {
		return pos.Time + " (" + pos.String() + ")"
	}
	return pos.String()
}

func plural(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// describeGroup says what failed and toward what, in words.
func describeGroup(g *accesslog.Group) string {
	k := g.Key
	if k.Service != "" || k.Error != "" {
		return fmt.Sprintf("ztunnel connections to %s failed with %q", orDash(k.Service), k.Error)
	}
	var what []string
	if k.Code >= 0 {
		what = append(what, fmt.Sprint(k.Code))
	}
	if k.Flags != "" && k.Flags != "-" {
		var long []string
		for _, fl := range accesslog.SplitFlags(k.Flags) {
			long = append(long, fl+" ("+accesslog.LongFlag(fl)+")")
		}
		what = append(what, strings.Join(long, ", "))
	}
	if k.Details != "" && k.Details != "-" {
		what = append(what, k.Details)
	}
	c := g.Cluster()
	toward := "with no upstream cluster"
	switch {
	case c.Service != "":
		toward = fmt.Sprintf("toward %s", c.Service)
		if c.Port != 0 {
			toward += fmt.Sprintf(" port %d", c.Port)
		}
		if c.Subset != "" {
			toward += " subset " + c.Subset
		}
		toward += " (" + string(c.Direction) + ")"
	case c.Name != "":
		toward = "toward cluster " + c.Name
	}
	if k.Route != "" && k.Route != "-" {
		toward += ", route " + k.Route
	}
	return fmt.Sprintf("Responses %s %s", strings.Join(what, " "), toward)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// meaning says in words what the group's flags, details or ztunnel error
// mean, from the knowledge base.
func meaning(k accesslog.Key) string {
	var out []string
	for _, e := range kb.Explain(firstNonEmpty(k.Error, k.Details)) {
		if e.Meaning != "" {
			out = append(out, e.Meaning)
			break
		}
	}
	flags, _ := kb.SplitFlags(k.Flags)
	for _, fl := range flags {
		out = append(out, fl.Short+": "+fl.Meaning)
	}
	return strings.Join(out, " ")
}

// nextSteps are the commands that narrow a failure group down.
func nextSteps(g *accesslog.Group) string {
	if g.Key.Service != "" || g.Key.Error != "" {
		return ztunnelNextSteps(g.Key)
	}
	c := g.Cluster()
	host := c.Service
	if host == "" {
		host = "<host>"
	}
	steps := []string{
		fmt.Sprintf("`meshdoctor explain %q` says what the flags and details mean", firstNonEmpty(g.Key.Details, g.Key.Flags, g.Key.Error)),
		fmt.Sprintf("`istioctl proxy-config cluster <pod> --fqdn %s` and `istioctl proxy-config endpoint <pod> --cluster %q` show what the proxy knows of the upstream", host, c.Name),
		"run `meshdoctor logs` with `--config` (manifests, a bundle) to join the failures to the objects that cause them",
	}
	return "Next: " + strings.Join(steps, "; ") + "."
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" && s != "-" {
			return s
		}
	}
	return ""
}

// ztunnelNextSteps are the next commands for a ztunnel group: Envoy's
// proxy-config says nothing about ztunnel, so they are the knowledge
// base's for its error.
func ztunnelNextSteps(k accesslog.Key) string {
	steps := []string{fmt.Sprintf("`meshdoctor explain %q` says what the error means", k.Error)}
	for _, e := range kb.Explain(k.Error) {
		if len(e.Next) > 0 {
			var cmds []string
			for _, c := range e.Next {
				cmds = append(cmds, "`"+c+"`")
			}
			steps = append(steps, "run "+strings.Join(cmds, ", "))
			break
		}
	}
	steps = append(steps, "run `meshdoctor logs` with `--config` (manifests, a bundle) to join the failures to the objects that cause them")
	return "Next: " + strings.Join(steps, "; ") + "."
}
