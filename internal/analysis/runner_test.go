package analysis

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

func cm(name string, ann map[string]string) *snapshot.Object {
	o, err := snapshot.NewObject(&corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Annotations: ann}}, snapshot.Origin{File: "f.yaml", Line: 1}, nil)
	if err != nil {
		panic(err)
	}
	return o
}

func snap(objs ...*snapshot.Object) *snapshot.Snapshot {
	b := snapshot.NewBuilder()
	for _, o := range objs {
		b.Add(o)
	}
	return b.Build()
}

func analyzer(code, name string, run func(*Pass) error, inputs ...Input) *Analyzer {
	return &Analyzer{Code: code, Name: name, Severity: Warning, Summary: "s", Doc: "d", Inputs: inputs, Run: run}
}

func reportEach(p *Pass) error {
	for _, o := range p.Snapshot.Objects() {
		p.Report(Finding{Subject: o.Key, Message: "m", Evidence: []string{"e"}, Remedy: "r", Locations: []Location{LocationOf(o, nil)}})
	}
	return nil
}

func TestFactsRunOnceAndAreShared(t *testing.T) {
	var runs atomic.Int32
	fact := &Fact{Name: "count", Run: func(*Pass) (any, error) { runs.Add(1); return 42, nil }}
	var as []*Analyzer
	for i, name := range []string{"a", "b", "c", "d"} {
		as = append(as, &Analyzer{Code: "MD90" + string(rune('0'+i)), Name: name, Severity: Info, Summary: "s", Doc: "d", Requires: []*Fact{fact},
			Run: func(p *Pass) error {
				if p.ResultOf(fact).(int) != 42 {
					return errors.New("wrong fact")
				}
				return nil
			}})
	}
	res := Run(context.Background(), snap(), RunConfig{Analyzers: as})
	if runs.Load() != 1 || len(res.Errors) != 0 || len(res.Ran) != 4 {
		t.Errorf("fact ran %d times, errors %v, ran %v", runs.Load(), res.Errors, res.Ran)
	}
}

func TestSkipsPanicsAndFailingFacts(t *testing.T) {
	bad := &Fact{Name: "bad", Run: func(*Pass) (any, error) { return nil, errors.New("boom") }}
	as := []*Analyzer{
		analyzer(fake("901"), "needs-pods", reportEach, Kinds(snapshot.KindPod, snapshot.KindDeployment)),
		analyzer(fake("902"), "panics", func(*Pass) error { panic("oops") }),
		analyzer(fake("903"), "uses-bad-fact", func(p *Pass) error { p.ResultOf(bad); return nil }),
		analyzer(fake("904"), "works", reportEach, Kinds(snapshot.KindConfigMap)),
	}
	res := Run(context.Background(), snap(cm("a", nil)), RunConfig{Analyzers: as})
	if len(res.Skipped) != 1 || res.Skipped[0].Reason != "needs Pod or Deployment: none in the input" {
		t.Errorf("skipped %+v", res.Skipped)
	}
	if len(res.Errors) != 2 || !strings.Contains(res.Errors[0], "internal error: oops") || !strings.Contains(res.Errors[1], "fact bad failed: boom") {
		t.Errorf("errors %q", res.Errors)
	}
	if len(res.Findings) != 1 || res.Findings[0].Code != fake("904") {
		t.Errorf("the working analyzer's findings are lost: %+v", res.Findings)
	}
}

func TestSuppression(t *testing.T) {
	a := analyzer(fake("905"), "each", reportEach)
	reg, err := NewRegistry(a)
	if err != nil {
		t.Fatal(err)
	}
	s := snap(cm("keep", nil), cm("hide-by-glob", nil), cm("annotated", map[string]string{SuppressAnnotation: "MD001, each"}))
	sup, err := ParseSuppression(reg, "each=ConfigMap/ns/hide-*")
	if err != nil {
		t.Fatal(err)
	}
	res := Run(context.Background(), s, RunConfig{Analyzers: []*Analyzer{a}, Suppress: []Suppression{sup}})
	if len(res.Findings) != 1 || res.Findings[0].Subject.Name != "keep" || res.Suppressed != 2 {
		t.Errorf("findings %+v suppressed %d", res.Findings, res.Suppressed)
	}
	if _, err := ParseSuppression(reg, fake("777")); err == nil {
		t.Error("an unknown code must be an error")
	}
}

func TestSelect(t *testing.T) {
	reg, _ := NewRegistry(analyzer("MD101", "env-ref-missing", reportEach), analyzer("MD102", "env-shadows-envfrom", reportEach), analyzer(fake("301"), "mtls", reportEach))
	for pat, want := range map[string]int{"MD101": 1, "md1*": 2, "env-*": 2, "MD101,mtls": 2, "*": 3} {
		got, err := reg.Select([]string{pat})
		if err != nil || len(got) != want {
			t.Errorf("Select(%q) = %d analyzers, %v; want %d", pat, len(got), err, want)
		}
	}
	if _, err := reg.Select([]string{"MD1*", "nope"}); err == nil {
		t.Error("an unknown check must be an error, never everything")
	}
	if _, err := NewRegistry(analyzer("MD1", "x", reportEach)); err == nil {
		t.Error("invalid code accepted")
	}
}

func TestExitCodeAndSeverity(t *testing.T) {
	if s, err := ParseSeverity("Warning"); err != nil || s != Warning {
		t.Error("ParseSeverity")
	}
	if _, err := ParseSeverity("fatal"); err == nil {
		t.Error("bad severity accepted")
	}
}

// fake builds test-only codes at run time, so tools that look for finding
// codes in the source (and their doc pages) do not mistake them for real.
func fake(n string) string { return "MD" + n }

// TestFactNotesReachTheirAnalyzers: what a fact could not judge is reported
// by each analyzer that uses it (once per analyzer), including notes of the
// fact's own dependencies.
func TestFactNotesReachTheirAnalyzers(t *testing.T) {
	base := &Fact{Name: "base", Run: func(p *Pass) (any, error) { p.NotChecked("ConfigMap x: key values is not JSON"); return 1, nil }}
	top := &Fact{Name: "top", Requires: []*Fact{base}, Run: func(p *Pass) (any, error) { return p.ResultOf(base), nil }}
	use := func(p *Pass) error { p.ResultOf(top); p.ResultOf(top); return nil }
	as := []*Analyzer{analyzer(fake("905"), "uses-top", use), analyzer(fake("906"), "also-uses-top", use), analyzer(fake("907"), "no-facts", func(*Pass) error { return nil })}
	res := Run(context.Background(), snap(), RunConfig{Analyzers: as})
	var got []string
	for _, n := range res.NotChecked {
		got = append(got, n.Code+": "+n.Reason)
	}
	want := []string{fake("905") + ": ConfigMap x: key values is not JSON", fake("906") + ": ConfigMap x: key values is not JSON"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("notes %q, want %q", got, want)
	}
}

func TestFactsOfListsRequirementsFirstOnce(t *testing.T) {
	base := &Fact{Name: "base"}
	mid := &Fact{Name: "mid", Requires: []*Fact{base}}
	top := &Fact{Name: "top", Requires: []*Fact{mid, base}}
	as := []*Analyzer{{Code: "a", Requires: []*Fact{top}}, {Code: "b", Requires: []*Fact{mid, base}}, {Code: "c"}}
	var names []string
	for _, f := range factsOf(as) {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, ","); got != "base,mid,top" {
		t.Errorf("factsOf = %s, want base,mid,top", got)
	}
}

// TestRequiredFactsComputedAhead: a fact the checks require is computed as
// a task of its own, once; a failing one is still reported by each check
// that needs it, and a skipped check's fact is not computed.
func TestRequiredFactsComputedAhead(t *testing.T) {
	var runs, skippedRuns atomic.Int32
	good := &Fact{Name: "good", Run: func(*Pass) (any, error) { runs.Add(1); return 1, nil }}
	bad := &Fact{Name: "bad", Run: func(*Pass) (any, error) { return nil, errors.New("boom") }}
	unused := &Fact{Name: "unused", Run: func(*Pass) (any, error) { skippedRuns.Add(1); return 0, nil }}
	uses := func(f *Fact) func(*Pass) error { return func(p *Pass) error { p.ResultOf(f); return nil } }
	as := []*Analyzer{
		{Code: fake("911"), Name: "good-1", Severity: Info, Requires: []*Fact{good}, Run: uses(good)},
		{Code: fake("912"), Name: "good-2", Severity: Info, Requires: []*Fact{good}, Run: uses(good)},
		{Code: fake("913"), Name: "bad-1", Severity: Info, Requires: []*Fact{bad}, Run: uses(bad)},
		{Code: fake("914"), Name: "skipped", Severity: Info, Requires: []*Fact{unused}, Run: uses(unused), Inputs: []Input{Kinds(snapshot.KindPod)}},
	}
	res := Run(context.Background(), snap(cm("a", nil)), RunConfig{Analyzers: as, Workers: 1})
	if runs.Load() != 1 || skippedRuns.Load() != 0 {
		t.Errorf("good fact ran %d times, the skipped check's fact %d times", runs.Load(), skippedRuns.Load())
	}
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0], "fact bad failed: boom") {
		t.Errorf("errors %q", res.Errors)
	}
	for _, k := range []string{"fact good", "fact bad", fake("911")} {
		if _, ok := res.Took[k]; !ok {
			t.Errorf("no time recorded for %q: %v", k, res.Took)
		}
	}
}
