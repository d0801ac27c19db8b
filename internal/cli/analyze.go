package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/all"
	"github.com/meshdoctor/meshdoctor/internal/decode"
	"github.com/meshdoctor/meshdoctor/internal/report"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/source/files"
)

type analyzeOpts struct {
	output     string
	failOn     string
	checks     []string
	suppress   []string
	meshConfig string
}

func newAnalyzeCmd(g *globals) *cobra.Command {
	o := &analyzeOpts{}
	cmd := &cobra.Command{
		Use:   "analyze PATH...",
		Short: "Analyze manifests, directories, bundles (.tar.gz) or stdin (-)",
		Long: `Analyze Kubernetes and mesh objects from files (.yaml, .yml, .json; multi-document,
kind: List), directories (recursively), meshdoctor bundles (directory or .tar.gz)
and standard input ("-").

Exit codes, in every output format: 0 nothing at or above --fail-on; 1 findings at
or above it; 2 bad usage, or an input that could not be read or parsed (what could
be read is still analyzed and reported).`,
		Example: `  meshdoctor analyze examples/incidents/c-istio-cni-upgrade/input
  meshdoctor analyze ./manifests/ other.yaml -
  meshdoctor analyze bundle.tar.gz -o json --fail-on warning
  meshdoctor analyze ./manifests/ --check MD101,env-ref-missing
  meshdoctor analyze ./manifests/ --suppress 'MD102=DaemonSet/kube-system/*'`,
		RunE: func(cmd *cobra.Command, args []string) error { return runAnalyze(cmd.Context(), g, o, args) },
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	f.StringVar(&o.failOn, "fail-on", "error", "exit 1 when a finding is at or above: error, warning, info or none")
	f.StringSliceVar(&o.checks, "check", nil, "run only these checks: codes, names or globs (MD1*), comma-separated or repeated")
	f.StringArrayVar(&o.suppress, "suppress", nil, "hide findings: CODE|name[=Kind/namespace/name glob]; repeatable")
	f.StringVar(&o.meshConfig, "mesh-config", "", "MeshConfig YAML (or the istio ConfigMap) to use instead of the one in the input")
	return cmd
}

func runAnalyze(ctx context.Context, g *globals, o *analyzeOpts, args []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	if len(args) == 0 {
		return usageError("analyze needs at least one file, directory, bundle or - (live cluster mode is not available yet)")
	}
	if o.output != "text" && o.output != "json" {
		return usageError("--output %q: want text or json", o.output)
	}
	failOn, err := analysis.ParseSeverity(o.failOn)
	if err != nil {
		return usageError("--fail-on: %v", err)
	}
	reg, err := all.Registry()
	if err != nil {
		return fmt.Errorf("building the check registry: %w", err)
	}
	analyzers, err := reg.Select(o.checks)
	if err != nil {
		return usageError("%v", err)
	}
	var sups []analysis.Suppression
	for _, s := range o.suppress {
		sup, err := analysis.ParseSuppression(reg, s)
		if err != nil {
			return usageError("%v", err)
		}
		sups = append(sups, sup)
	}
	opts := &analysis.Options{}
	if o.meshConfig != "" {
		b, err := os.ReadFile(o.meshConfig)
		if err != nil {
			return usageError("--mesh-config: %v", err)
		}
		opts.MeshConfig, opts.MeshConfigFile = b, o.meshConfig
	}

	dec, err := decode.New()
	if err != nil {
		return err
	}
	loader := &files.Loader{Decoder: dec, Stdin: g.streams.In, Log: g.log, ManagedFields: analysis.ManagedFieldsKinds(analyzers)}
	if reads, ok := analysis.Projections(analyzers); ok {
		loader.Reads = reads // decode only what the selected checks read
	}
	start := time.Now()
	loaded := loader.Load(ctx, args)
	files.SortErrors(loaded.Errors)
	b := snapshot.NewBuilder()
	for _, obj := range loaded.Objects {
		b.Add(obj)
	}
	snap := b.Build()
	g.log.Info("loaded input", "files", loaded.Files, "objects", snap.Len(), "errors", len(loaded.Errors), "took", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	res := analysis.Run(ctx, snap, analysis.RunConfig{Analyzers: analyzers, Suppress: sups, Options: opts})
	g.log.Info("analyzed", "checks", len(res.Ran), "findings", len(res.Findings), "took", time.Since(start).Round(time.Millisecond))
	version, _ := g.build.resolve()
	rep := report.New(version, loaded.Files, snap.Len(), res, loaded.Errors, failOn)
	switch o.output {
	case "json":
		err = report.WriteJSON(g.streams.Out, rep)
	default:
		err = report.WriteText(g.streams.Out, rep, report.TextOptions{Color: isTerminal(g.streams.Out), Verbose: g.verbose})
	}
	if err != nil {
		return &ExitError{Code: 2, Err: fmt.Errorf("writing the report: %w", err)}
	}
	for _, e := range res.Errors {
		g.log.Error("check failed", "error", strings.SplitN(e, "\n", 2)[0])
	}
	if rep.Summary.ExitCode != 0 {
		return &ExitError{Code: rep.Summary.ExitCode}
	}
	return nil
}
