package analysis

import (
	"context"
	"fmt"
	"io/fs"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// Input is one thing an analyzer needs: any one of Kinds present in the
// snapshot satisfies it, or, with Nodes, a node's dataplane state, or, with
// Logs, container logs. (Which fields of them it reads is said by Reads.)
type Input struct {
	Kinds []schema.GroupKind
	Nodes bool
	Logs  bool
	// AccessLogs: proxy access logs (meshdoctor logs, a bundle's proxies).
	AccessLogs bool
	// Cilium: output of Cilium and Hubble commands (hubble observe, cilium
	// monitor, endpoint list, bpf policy get, ...).
	Cilium bool
}

// CiliumOutputs is the Input of checks that read what Cilium's and
// Hubble's commands printed (a bundle's cilium/<node>/, or loose files).
func CiliumOutputs() Input { return Input{Cilium: true} }

// AccessLogGroups is the Input of checks that read proxy access logs.
func AccessLogGroups() Input { return Input{AccessLogs: true} }

// Kinds builds an Input satisfied by any of the kinds.
func Kinds(k ...schema.GroupKind) Input { return Input{Kinds: k} }

// NodeState is the Input of checks that read node dumps (rule sets,
// conntrack, processes): `node`, `node --input`, or a bundle's nodes/.
func NodeState() Input { return Input{Nodes: true} }

// ContainerLogs is the Input of checks that read the logs of mesh
// components (a bundle's logs/<namespace>/<pod>/<container>.log).
func ContainerLogs() Input { return Input{Logs: true} }

func (in Input) describe() string {
	if in.Cilium {
		return "Cilium or Hubble command output (a bundle's cilium/<node>/ files, or hubble observe / cilium monitor output given as a file)"
	}
	if in.AccessLogs {
		return "proxy access logs (meshdoctor logs FILE, or a bundle's istio-proxy logs)"
	}
	if in.Logs {
		return "container logs (a bundle's logs/<namespace>/<pod>/<container>.log)"
	}
	if in.Nodes {
		return "a node's dataplane state (meshdoctor node, node --input, or a bundle's nodes/)"
	}
	names := make([]string, len(in.Kinds))
	for i, k := range in.Kinds {
		names[i] = k.Kind
	}
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// Fact is a derived result computed once per run and shared by every
// analyzer that Requires it (go/analysis's ResultOf).
type Fact struct {
	Name   string
	Doc    string
	Inputs []Input
	// Reads declares the fields the fact reads (see Analyzer.Reads).
	Reads    map[schema.GroupKind][]string
	Requires []*Fact
	Run      func(*Pass) (any, error)
}

// Analyzer is one check with one finding code.
type Analyzer struct {
	// Code is the stable finding code (MDnnn); Name its kebab-case alias.
	Code     string
	Name     string
	Severity Severity
	// Summary is one line; Doc is the Markdown body of docs/codes/<Code>.md:
	// what it detects, why it breaks traffic, evidence, remedy, an example.
	Summary string
	Doc     string
	// Inputs must all be satisfied, or the analyzer is skipped with a reason.
	Inputs []Input
	// ManagedFields lists the kinds whose metadata.managedFields the
	// analyzer reads; sources drop them for every other kind (they are
	// often the largest part of an object).
	ManagedFields []schema.GroupKind
	// Reads declares, per kind, the dotted paths of the fields the
	// analyzer reads beyond apiVersion, kind and metadata (e.g.
	// "spec.template.spec.containers"); kinds it does not name it does not
	// read. Sources then decode only what the selected analyzers and their
	// facts read. Nil means "may read anything": nothing is left out.
	Reads    map[schema.GroupKind][]string
	Requires []*Fact
	Run      func(*Pass) error
}

var (
	codeRE = regexp.MustCompile(`^MD[0-9]{3}$`)
	nameRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
)

// Validate checks the declaration; the registry refuses invalid analyzers.
func (a *Analyzer) Validate() error {
	switch {
	case !codeRE.MatchString(a.Code):
		return fmt.Errorf("analyzer %q: code %q is not MDnnn", a.Name, a.Code)
	case !nameRE.MatchString(a.Name):
		return fmt.Errorf("analyzer %s: name %q is not kebab-case", a.Code, a.Name)
	case a.Severity < Info || a.Severity > Error:
		return fmt.Errorf("analyzer %s: no severity", a.Code)
	case a.Summary == "" || a.Doc == "":
		return fmt.Errorf("analyzer %s: summary and doc are required", a.Code)
	case a.Run == nil:
		return fmt.Errorf("analyzer %s: no Run", a.Code)
	}
	return nil
}

// Pass is what a Run function receives.
type Pass struct {
	Analyzer *Analyzer
	Snapshot *snapshot.Snapshot
	Options  *Options

	r       *runner
	reports []Finding
	notes   []string
	// labels holds the profiler labels of the check or fact running
	// (runtime/pprof), which a fact computed for it extends.
	labels context.Context
}

// ResultOf returns the value of a fact the analyzer Requires.
func (p *Pass) ResultOf(f *Fact) any {
	ctx := p.labels
	if ctx == nil {
		ctx = context.Background() // a Pass made outside the runner (tests)
	}
	v, notes := p.r.fact(ctx, f)
	p.notes = append(p.notes, notes...)
	return v
}

// Report records a finding. Code, name and severity default to the
// analyzer's; the fingerprint is computed here.
func (p *Pass) Report(f Finding) {
	if p.Analyzer != nil {
		if f.Code == "" {
			f.Code = p.Analyzer.Code
		}
		if f.Name == "" {
			f.Name = p.Analyzer.Name
		}
		if f.Severity == 0 {
			f.Severity = p.Analyzer.Severity
		}
	}
	f.computeFingerprint()
	f.resolve()
	p.reports = append(p.reports, f)
}

// NotChecked records part of the input the analyzer could not check (for
// example a namespace whose ConfigMaps are absent). Each distinct reason is
// reported once.
func (p *Pass) NotChecked(format string, args ...any) {
	p.notes = append(p.notes, fmt.Sprintf(format, args...))
}

// Markdown renders the analyzer's documentation page, the content of
// docs/codes/<Code>.md.
func (a *Analyzer) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s %s\n\n", a.Code, a.Name)
	fmt.Fprintf(&b, "Severity: **%s**\n\n", a.Severity)
	fmt.Fprintf(&b, "%s\n\n", a.Summary)
	b.WriteString(strings.TrimSpace(a.Doc))
	b.WriteString("\n\n## Selecting and suppressing\n\n")
	fmt.Fprintf(&b, "Run only this check with `--check %s` (or `--check %s`). Hide it with\n", a.Code, a.Name)
	fmt.Fprintf(&b, "`--suppress %s` or `--suppress '%s=Kind/namespace/name-glob'`, or with the annotation\n", a.Code, a.Code)
	fmt.Fprintf(&b, "`%s: \"%s\"` on the object.\n", SuppressAnnotation, a.Code)
	return b.String()
}

// DocPage returns the documentation body of a check from docs/<code>.md in
// fsys (a package's embedded docs). A missing page is a programming error,
// caught by the registry tests at once, so it panics.
func DocPage(fsys fs.FS, code string) string {
	b, err := fs.ReadFile(fsys, "docs/"+code+".md")
	if err != nil {
		panic(fmt.Sprintf("no documentation for %s: %v", code, err))
	}
	return string(b)
}
