package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/all"
	"github.com/meshdoctor/meshdoctor/internal/report"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/source/files"
	"github.com/meshdoctor/meshdoctor/internal/source/nodedump"
)

type nodeOpts struct {
	output string
	failOn string
	checks []string
	inputs []string
	netns  string
}

func newNodeCmd(g *globals) *cobra.Command {
	o := &nodeOpts{}
	cmd := &cobra.Command{
		Use:   "node --input FILE...",
		Short: "Analyze a node's dataplane: rule sets, conntrack, network namespaces",
		Long: `Analyze what was captured on a node: the output of iptables-save, iptables -S,
nft list ruleset, conntrack -L and ip rule show, given as loose files with --input
(each recognised by its content, "-" for standard input). They are analyzed as one
network namespace: --netns host|pod says which, else meshdoctor infers it (a node's
own rule set carries kube-proxy or CNI chains) and says what it assumed.

Bundles with nodes/<name>/ folders (what "node --dump" writes) are analyzed by
"meshdoctor analyze BUNDLE" together with the cluster's objects.

Exit codes: 0 nothing at or above --fail-on; 1 findings at or above it; 2 bad
usage, or an input that could not be read (what could be read is still analyzed).`,
		Example: `  iptables-save > host.txt; ip rule show > rules.txt
  meshdoctor node --input host.txt rules.txt
  nsenter -n -t $PID iptables-save > pod.txt; nsenter -n -t $PID conntrack -L > ct.txt
  meshdoctor node --input pod.txt ct.txt --netns pod`,
		RunE: func(cmd *cobra.Command, args []string) error { return runNode(cmd.Context(), g, o, args) },
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.inputs, "input", nil, "files captured on the node (iptables-save, iptables -S, nft, conntrack -L, ip rule); repeatable, or several after one --input")
	f.StringVar(&o.netns, "netns", "", "what the --input files come from: host or pod (default: inferred)")
	f.StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	f.StringVar(&o.failOn, "fail-on", "error", "exit 1 when a finding is at or above: error, warning, info or none")
	f.StringSliceVar(&o.checks, "check", nil, "run only these checks: codes, names or globs (MD5*)")
	return cmd
}

func runNode(ctx context.Context, g *globals, o *nodeOpts, args []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	// "--input a b c": cobra gives the first to the flag, the rest as args.
	inputs := append(append([]string(nil), o.inputs...), args...)
	if len(o.inputs) == 0 {
		return usageError("give the files captured on the node with --input (collecting on this node is not available yet)")
	}
	kind := nodedump.NetNSKind(o.netns)
	if kind != nodedump.NetNSInfer && kind != nodedump.NetNSHost && kind != nodedump.NetNSPod {
		return usageError("--netns %q: want host or pod", o.netns)
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
	selected, err := reg.Select(o.checks)
	if err != nil {
		return usageError("%v", err)
	}
	var analyzers []*analysis.Analyzer
	for _, a := range selected {
		if readsNodes(a) {
			analyzers = append(analyzers, a)
		}
	}
	if len(analyzers) == 0 {
		return usageError("--check selects no node check (MD5xx)")
	}
	var loose []nodedump.LooseFile
	var inErrs []files.InputError
	for _, p := range inputs {
		b, err := readInput(g, p)
		if err != nil {
			inErrs = append(inErrs, files.InputError{Pos: snapshot.Position{File: p}, Msg: err.Error()})
			continue
		}
		loose = append(loose, nodedump.LooseFile{Name: p, Data: b})
	}
	res := nodedump.ReadLoose(loose, kind)
	inErrs = append(inErrs, res.Errors...)
	files.SortErrors(inErrs)
	b := snapshot.NewBuilder()
	for _, n := range res.Nodes {
		b.AddNode(n)
		for _, ns := range n.NetNS {
			if ns.HostAssumed != "" {
				g.log.Info("netns assumed", "why", ns.HostAssumed)
			}
		}
	}
	out := analysis.Run(ctx, b.Build(), analysis.RunConfig{Analyzers: analyzers})
	version, _ := g.build.resolve()
	rep := report.New(version, len(loose), 0, out, inErrs, failOn)
	switch o.output {
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

// readsNodes tells the checks that read node state.
func readsNodes(a *analysis.Analyzer) bool {
	for _, in := range a.Inputs {
		if in.Nodes {
			return true
		}
	}
	return false
}

func readInput(g *globals, p string) ([]byte, error) {
	if p == "-" {
		return io.ReadAll(g.streams.In)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("cannot read: %w", err)
	}
	return b, nil
}
