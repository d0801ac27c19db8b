// Package proxylog holds the checks of proxy access logs (MD6xx): each
// failure group the access-log scanner folded, explained, and — when
// configuration is also given — joined to the object that causes it. Each
// check's documentation is a Markdown file in docs/, embedded so that
// `meshdoctor explain` and docs/codes/ agree.
package proxylog

import (
	"embed"
	"fmt"
	"strconv"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/accesslog"
	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

//go:embed docs/*.md
var docFS embed.FS

func doc(code string) string { return analysis.DocPage(docFS, code) }

// Analyzers returns the checks of this package.
func Analyzers() []*analysis.Analyzer {
	return []*analysis.Analyzer{FailureGroup, NCSubsetMissing, UHNoEndpoints, UOConnectionPool, FIWithRetries, TLSConflictsStrict, UFTargetPortUnserved, NRGatewayNoRoute, GatewaySNIMissing, UFPolicyDrop, HTTP10Refused, UPEServerProtocol, ZtunnelConnectPolicyDrop, ZtunnelAuthzRejection, ZtunnelStrictPlaintext}
}

// subject names a log group in findings.
func subject(g *accesslog.Group) snapshot.Key {
	name := g.Key.Cluster
	switch {
	case g.Key.Service != "" || g.Key.Error != "":
		name = g.Key.Service
	case name == "":
		// No upstream (a local reply such as 426 low_version): the reply
		// itself names the group.
		name = strings.Join(strings.Fields(fmt.Sprintf("%s %s %s", codeText(g.Key.Code), g.Key.Flags, g.Key.Details)), " ")
		if name == "" {
			name = "-"
		}
	}
	return snapshot.Key{Kind: "LogGroup", Name: name}
}

// sampleLocations points at a group's sample lines.
func sampleLocations(g *accesslog.Group, writers map[string]snapshot.LogWriter) []analysis.Location {
	var out []analysis.Location
	for _, s := range g.Samples {
		out = append(out, analysis.Location{Position: snapshot.Position{File: s.File, Line: int(s.Line)}, Object: writerOf(writers, s.File), Exact: true})
	}
	if len(out) == 0 {
		out = append(out, analysis.Location{Position: snapshot.Position{File: g.First.File, Line: int(g.First.Line)}, Object: writerOf(writers, g.First.File), Exact: true})
	}
	return out
}

func writerOf(writers map[string]snapshot.LogWriter, file string) string {
	if w, ok := writers[file]; ok {
		return "Pod/" + w.Namespace + "/" + w.Pod + " (" + w.Container + ")"
	}
	return ""
}

// sampleEvidence renders the samples as evidence lines.
func sampleEvidence(g *accesslog.Group) []string {
	var out []string
	for _, s := range g.Samples {
		out = append(out, fmt.Sprintf("%s:%d: %s", s.File, s.Line, strings.TrimSpace(s.Text)))
	}
	return out
}

// groupSeverity grades a failure group by its share of all records and its
// size: a few failures among many requests are worth a look, a large or
// dominant group is an outage.
func groupSeverity(failures, total int64) analysis.Severity {
	share := float64(failures) / float64(max(total, 1))
	switch {
	case failures >= 100 || failures >= 10 && share >= 0.05:
		return analysis.Error
	case failures >= 3 || share >= 0.01:
		return analysis.Warning
	}
	return analysis.Info
}

// codeText is a response code as logs print it; "" when absent.
func codeText(code int) string {
	if code < 0 {
		return ""
	}
	return strconv.Itoa(code)
}
