package analysis

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// Skip says why an analyzer did not run, or what part it could not check.
type Skip struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// Result is the outcome of a run.
type Result struct {
	Findings []Finding `json:"findings"`
	// Ran lists the codes of the analyzers that ran.
	Ran []string `json:"ran"`
	// Skipped lists analyzers that did not run because inputs were absent.
	Skipped []Skip `json:"skipped"`
	// NotChecked lists parts of the input that analyzers that ran could
	// not check.
	NotChecked []Skip `json:"notChecked"`
	// Suppressed counts findings removed by --suppress or annotations.
	Suppressed int `json:"suppressed"`
	// Errors are analyzer failures; the analysis is then incomplete.
	Errors []string `json:"errors,omitempty"`
	// Took is each analyzer's wall time by code, waiting for the facts it
	// needs included, and each fact's own as "fact NAME" (for -v; not part
	// of the report).
	Took map[string]time.Duration `json:"-"`
}

// RunConfig says what to run and what to hide.
type RunConfig struct {
	Analyzers []*Analyzer
	Suppress  []Suppression
	Options   *Options
	// Workers bounds concurrency; 0 means GOMAXPROCS.
	Workers int
}

type factState struct {
	once  sync.Once
	val   any
	err   error
	notes []string // NotChecked notes the fact (or its dependencies) left
	took  time.Duration
}

type runner struct {
	snap  *snapshot.Snapshot
	opts  *Options
	mu    sync.Mutex
	facts map[*Fact]*factState
}

// fact computes f once, whichever analyzer asks first, and shares it with
// the notes it left, which every analyzer using it reports as its own.
// ctx carries the caller's profiler labels.
func (r *runner) fact(ctx context.Context, f *Fact) (any, []string) {
	r.mu.Lock()
	st, ok := r.facts[f]
	if !ok {
		st = &factState{}
		r.facts[f] = st
	}
	r.mu.Unlock()
	st.once.Do(func() {
		for _, dep := range f.Requires {
			r.fact(ctx, dep)
		}
		start := time.Now()
		pprof.Do(ctx, pprof.Labels("check", "fact "+f.Name), func(ctx context.Context) {
			p := &Pass{Snapshot: r.snap, Options: r.opts, r: r, labels: ctx}
			st.val, st.err = f.Run(p)
			st.notes = p.notes
		})
		st.took = time.Since(start)
	})
	if st.err != nil {
		panic(factError{fact: f.Name, err: st.err})
	}
	return st.val, st.notes
}

type factError struct {
	fact string
	err  error
}

// Run executes the analyzers concurrently over snap and returns findings in
// a deterministic order.
func Run(ctx context.Context, snap *snapshot.Snapshot, cfg RunConfig) Result {
	opts := cfg.Options
	if opts == nil {
		opts = &Options{}
	}
	r := &runner{snap: snap, opts: opts, facts: map[*Fact]*factState{}}
	var res Result
	var runnable []*Analyzer
	for _, a := range cfg.Analyzers {
		if reason := missingInputs(snap, a.Inputs); reason != "" {
			res.Skipped = append(res.Skipped, Skip{Code: a.Code, Name: a.Name, Reason: reason})
			continue
		}
		runnable = append(runnable, a)
	}
	passes := make([]*Pass, len(runnable))
	errs := make([]string, len(runnable))
	took := make([]time.Duration, len(runnable))
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	// The facts go first, each a task of its own: a check that asked for a
	// fact another check is computing would hold a worker while it waits
	// (MD101, MD102 and MD104 all wait for the env resolution), and facts
	// that do not depend on each other are computed side by side.
	for _, f := range factsOf(runnable) {
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			defer func() { _ = recover() }() // the checks that need it report the failure
			r.fact(context.Background(), f)
		}()
	}
	for i, a := range runnable {
		if ctx.Err() != nil {
			errs[i] = fmt.Sprintf("%s (%s): not run: %v", a.Code, a.Name, ctx.Err())
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			p := &Pass{Analyzer: a, Snapshot: snap, Options: opts, r: r}
			passes[i] = p
			start := time.Now()
			errs[i] = runOne(p)
			took[i] = time.Since(start)
		}()
	}
	wg.Wait()
	seenNote := map[string]bool{}
	seenFP := map[string]bool{}
	res.Took = make(map[string]time.Duration, len(runnable)+len(r.facts))
	for f, st := range r.facts {
		res.Took["fact "+f.Name] = st.took
	}
	for i, a := range runnable {
		res.Took[a.Code] += took[i]
		if errs[i] != "" {
			res.Errors = append(res.Errors, errs[i])
		}
		p := passes[i]
		if p == nil {
			continue
		}
		res.Ran = append(res.Ran, a.Code)
		for _, n := range p.notes {
			if k := a.Code + "\x00" + n; !seenNote[k] {
				seenNote[k] = true
				res.NotChecked = append(res.NotChecked, Skip{Code: a.Code, Name: a.Name, Reason: n})
			}
		}
		for _, f := range p.reports {
			if seenFP[f.Fingerprint] {
				continue
			}
			seenFP[f.Fingerprint] = true
			if suppressed(snap, cfg.Suppress, f) {
				res.Suppressed++
				continue
			}
			res.Findings = append(res.Findings, f)
		}
	}
	SortFindings(res.Findings)
	sort.Slice(res.NotChecked, func(i, j int) bool {
		a, b := res.NotChecked[i], res.NotChecked[j]
		if a.Code != b.Code {
			return a.Code < b.Code
		}
		return a.Reason < b.Reason
	})
	return res
}

// factsOf lists the facts the analyzers require, directly or through
// other facts, each once, a fact's own requirements before it.
func factsOf(analyzers []*Analyzer) []*Fact {
	var out []*Fact
	seen := map[*Fact]bool{}
	var visit func(f *Fact)
	visit = func(f *Fact) {
		if seen[f] {
			return
		}
		seen[f] = true
		for _, dep := range f.Requires {
			visit(dep)
		}
		out = append(out, f)
	}
	for _, a := range analyzers {
		for _, f := range a.Requires {
			visit(f)
		}
	}
	return out
}

// runOne runs one analyzer, turning a panic or error into a message so one
// broken check never takes the others down.
func runOne(p *Pass) (msg string) {
	a := p.Analyzer
	defer func() {
		if v := recover(); v != nil {
			if fe, ok := v.(factError); ok {
				msg = fmt.Sprintf("%s (%s): fact %s failed: %v", a.Code, a.Name, fe.fact, fe.err)
				return
			}
			msg = fmt.Sprintf("%s (%s): internal error: %v\n%s", a.Code, a.Name, v, debug.Stack())
		}
	}()
	// The label lets a CPU profile of a run be read per check
	// (go tool pprof -tags, or -tagfocus check=MD101).
	var err error
	pprof.Do(context.Background(), pprof.Labels("check", a.Code), func(ctx context.Context) {
		p.labels = ctx
		err = a.Run(p)
	})
	if err != nil {
		return fmt.Sprintf("%s (%s): %v", a.Code, a.Name, err)
	}
	return ""
}

func missingInputs(snap *snapshot.Snapshot, inputs []Input) string {
	var missing, why []string
	for _, in := range inputs {
		ok := in.Nodes && len(snap.Nodes()) > 0 || in.Logs && len(snap.Logs()) > 0 ||
			in.AccessLogs && snap.AccessLogs() != nil && snap.AccessLogs().Summary.Matched > 0 ||
			in.Cilium && len(snap.CiliumOutputs()) > 0
		for _, k := range in.Kinds {
			if snap.Has(k) {
				ok = true
				break
			}
			if w := snap.Unserved(k); w != "" {
				why = append(why, w)
			}
		}
		if !ok {
			missing = append(missing, in.describe())
		}
	}
	if len(missing) == 0 {
		return ""
	}
	reason := "needs " + strings.Join(missing, "; and ") + ": none in the input"
	if len(why) > 0 {
		reason += " (" + strings.Join(why, "; ") + ")"
	}
	return reason
}

// SortFindings orders findings: most severe first, then by file and line,
// code and fingerprint, so output is stable whatever the scheduling.
func SortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		pa, pb := primary(a), primary(b)
		if pa.File != pb.File {
			return pa.File < pb.File
		}
		if pa.Line != pb.Line {
			return pa.Line < pb.Line
		}
		if a.Code != b.Code {
			return a.Code < b.Code
		}
		return a.Fingerprint < b.Fingerprint
	})
}

func primary(f Finding) snapshot.Position {
	if len(f.Locations) == 0 {
		return snapshot.Position{}
	}
	return f.Locations[0].Position
}
