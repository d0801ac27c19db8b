package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/meshdoctor/meshdoctor/internal/accesslog"
	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/decode"
	"github.com/meshdoctor/meshdoctor/internal/report"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/source/files"
)

type logsOpts struct {
	reportFlags
	liveFlags
	config  []string
	live    bool
	formats []string
}

func newLogsCmd(g *globals) *cobra.Command {
	o := &logsOpts{}
	cmd := &cobra.Command{
		Use:   "logs FILE... [--config PATH... | --kube]",
		Short: "Read proxy access logs: group the failures, explain them, join them to the configuration",
		Long: `Read Envoy, Istio (sidecars, gateways, waypoints) and ztunnel access logs — files,
.gz files (recognised by content), or "-" for standard input, also with the wrappers
of kubectl logs --prefix and --timestamps — and group failed requests by upstream
cluster, response code, flags and details. Each line's format is recognised on its
own: Istio's default TEXT format (before and after 1.24), Istio's JSON encoding,
Envoy's default format, ztunnel's access lines, and any format given with --format
(an Envoy format string). Lines no format matches are counted and sampled.

With --config (manifests, directories, bundles) or --kube (the current cluster),
failure groups are joined to the objects that cause them.

Exit codes: 0 nothing at or above --fail-on; 1 findings at or above it; 2 bad usage,
or an input that could not be read (what could be read is still analyzed).`,
		Example: `  meshdoctor logs access.log more.log.gz
  kubectl logs -l app=reviews -c istio-proxy --prefix | meshdoctor logs -
  meshdoctor logs access.log --config ./manifests/
  meshdoctor logs access.log --kube --context prod
  meshdoctor logs gw.log --format '[%START_TIME%] %RESPONSE_CODE% %RESPONSE_FLAGS% %UPSTREAM_CLUSTER%'`,
		RunE: func(cmd *cobra.Command, args []string) error { return runLogs(cmd.Context(), g, o, args) },
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.config, "config", nil, "manifests, directories or bundles to join the failures to; repeatable")
	f.BoolVar(&o.live, "kube", false, "join the failures to the objects of the current cluster")
	f.StringArrayVar(&o.formats, "format", nil, "a custom access-log format (Envoy format string), tried before the built-in ones; repeatable")
	f.BoolVar(&o.readSecrets, "read-secrets", false, "with --kube: read Secrets' data (reduced to key names, hashes and certificate metadata)")
	f.StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	f.StringVar(&o.failOn, "fail-on", "error", "exit 1 when a finding is at or above: error, warning, info or none")
	f.StringSliceVar(&o.checks, "check", nil, "run only these checks: codes, names or globs (MD6*)")
	o.kube = genericclioptions.NewConfigFlags(true)
	o.kube.AddFlags(f)
	return cmd
}

func runLogs(ctx context.Context, g *globals, o *logsOpts, args []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, interrupted, stop := onInterrupt(ctx)
	defer stop()
	if len(args) == 0 {
		return usageError("give access-log files, or - for standard input")
	}
	if o.live && len(o.config) > 0 {
		return usageError("--config and --kube: give one")
	}
	var formats []*accesslog.Format
	for _, s := range o.formats {
		f, err := accesslog.CompileFormat(s)
		if err != nil {
			return usageError("--format %q: %v", s, err)
		}
		formats = append(formats, f)
	}
	_, selected, failOn, err := o.setup()
	if err != nil {
		return err
	}
	// The log checks, and with configuration the checks they join to run
	// alongside only when asked for by --check.
	analyzers := selected
	if len(o.checks) == 0 {
		analyzers = nil
		for _, a := range selected {
			if readsAccessLogs(a) {
				analyzers = append(analyzers, a)
			}
		}
	}

	var inErrs []files.InputError
	var inputs []accesslog.Input
	var total int64
	for _, p := range args {
		if p == "-" {
			inputs = append(inputs, accesslog.Input{Name: "-", R: g.streams.In})
			continue
		}
		fh, err := os.Open(p)
		if err != nil {
			inErrs = append(inErrs, files.InputError{Pos: snapshot.Position{File: p}, Msg: "cannot read: " + err.Error()})
			continue
		}
		defer fh.Close()
		if st, err := fh.Stat(); err == nil {
			total += st.Size()
		}
		inputs = append(inputs, accesslog.Input{Name: p, R: fh})
	}
	b := snapshot.NewBuilder()
	start := time.Now()
	sum, errs := scanAccessLogs(ctx, g, inputs, formats, total)
	if err := interrupted(); err != nil {
		return err
	}
	inErrs = append(inErrs, errs...)
	b.SetAccessLogs(&snapshot.AccessLogs{Summary: sum})
	g.log.Info("read access logs", "lines", sum.Lines, "matched", sum.Matched, "unmatched", sum.Unmatched, "groups", len(sum.Groups), "took", time.Since(start).Round(time.Millisecond))
	nfiles := len(inputs)
	if len(o.config) > 0 || o.live {
		dec, err := decode.New()
		if err != nil {
			return err
		}
		loader := &files.Loader{Decoder: dec, Stdin: g.streams.In, Log: g.log, ManagedFields: analysis.ManagedFieldsKinds(analyzers)}
		if reads, ok := analysis.Projections(analyzers); ok {
			loader.Reads = reads
		}
		var in input
		if o.live {
			in, err = loadLive(ctx, g, o.liveFlags, loader, analyzers, b)
			if ierr := interrupted(); ierr != nil {
				return ierr
			}
			if err != nil {
				return err
			}
		} else {
			in = loadFiles(ctx, g, loader, o.config, b)
		}
		nfiles += in.files
		inErrs = append(inErrs, in.errors...)
	}
	snap := b.Build()
	res := analysis.Run(ctx, snap, analysis.RunConfig{Analyzers: analyzers})
	if err := interrupted(); err != nil {
		return err
	}
	version, _ := g.build.resolve()
	rep := report.New(version, nfiles, snap.Len(), res, inErrs, failOn)
	rep.AccessLogs = report.AccessLogStats(sum)
	return o.write(g, rep)
}

// readsAccessLogs tells the checks of access logs.
func readsAccessLogs(a *analysis.Analyzer) bool {
	for _, in := range a.Inputs {
		if in.AccessLogs {
			return true
		}
	}
	return false
}

// scanAccessLogs scans the inputs, drawing a progress line on a terminal
// for large inputs; read errors become input errors.
func scanAccessLogs(ctx context.Context, g *globals, inputs []accesslog.Input, formats []*accesslog.Format, total int64) (*accesslog.Summary, []files.InputError) {
	sc := &accesslog.Scanner{Formats: formats}
	if total > 50<<20 && isTerminal(g.streams.Err) {
		bar := newProgress(g.streams.Err, total)
		sc.Progress = bar.update
		defer bar.done()
	}
	sum, err := sc.Scan(ctx, inputs)
	var errs []files.InputError
	for _, e := range sum.Errors {
		errs = append(errs, files.InputError{Pos: snapshot.Position{File: e.File, Line: int(e.Line)}, Msg: fmt.Sprintf("read error after line %d: %v", e.Line, e.Err)})
	}
	if err != nil && len(sum.Errors) == 0 {
		errs = append(errs, files.InputError{Msg: "reading access logs: " + err.Error()})
	}
	return sum, errs
}

// bundleAccessLogs scans the proxies' logs among a bundle's container logs.
func bundleAccessLogs(ctx context.Context, g *globals, logs []*snapshot.ContainerLog) (*snapshot.AccessLogs, []files.InputError) {
	var inputs []accesslog.Input
	writers := map[string]snapshot.LogWriter{}
	for _, l := range logs {
		if l.Container != "istio-proxy" && l.Container != "ztunnel" {
			continue
		}
		inputs = append(inputs, accesslog.Input{Name: l.File, R: bytes.NewReader(l.Data)})
		writers[l.File] = snapshot.LogWriter{Namespace: l.Namespace, Pod: l.Pod, Container: l.Container}
	}
	if len(inputs) == 0 {
		return nil, nil
	}
	sum, errs := scanAccessLogs(ctx, g, inputs, nil, 0)
	return &snapshot.AccessLogs{Summary: sum, Writers: writers}, errs
}

// progress draws "read 1.2 GB of 3.4 GB, 410 MB/s, 5s left" on one line.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	total int64
	start time.Time
	last  time.Time
}

func newProgress(w io.Writer, total int64) *progress {
	return &progress{w: w, total: total, start: time.Now()}
}

func (p *progress) update(read, lines int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.last) < 200*time.Millisecond {
		return
	}
	p.last = now
	el := now.Sub(p.start).Seconds()
	rate := float64(read) / max(el, 1e-3)
	left := "?"
	if rate > 0 {
		left = time.Duration(float64(p.total-read) / rate * float64(time.Second)).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "\rread %s of %s, %d lines, %s/s, %s left   ", size(read), size(p.total), lines, size(int64(rate)), left)
}

func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.last.IsZero() {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.0f MB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d kB", n>>10)
}
