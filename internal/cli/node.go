package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/report"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/source/files"
	"github.com/meshdoctor/meshdoctor/internal/source/node"
	"github.com/meshdoctor/meshdoctor/internal/source/nodedump"
)

type nodeOpts struct {
	reportFlags
	inputs    []string
	netns     string
	dump      string
	proc      string
	hostNetNS string
	nodeName  string
}

func newNodeCmd(g *globals) *cobra.Command {
	o := &nodeOpts{}
	cmd := &cobra.Command{
		Use:   "node [--dump DIR | --input FILE...]",
		Short: "Analyze a node's dataplane: network namespaces, rule sets, conntrack, processes",
		Long: `With no --input, read this node (as root, or in a privileged pod with the host's
/proc given by --proc): every process with its network namespace and cgroup, and
for the host's and each pod's network namespace the iptables rules of both backends,
nft, conntrack, ip rule and routes, ipsets and listening sockets; then analyze them.
--dump DIR writes that state as this node's part of a bundle instead (DIR/nodes/<name>/,
see docs/bundle-format.md), for "meshdoctor analyze DIR" anywhere.

--input analyzes loose files captured on a node instead: the output of iptables-save,
iptables -S, nft list ruleset, conntrack -L and ip rule show, each recognised by its
content ("-" for standard input). They are one network namespace: --netns host|pod
says which, else meshdoctor infers it (a node's own rule set carries kube-proxy or CNI
chains) and says what it assumed.

Exit codes: 0 nothing at or above --fail-on; 1 findings at or above it; 2 bad usage,
or an input that could not be read (what could be read is still analyzed).`,
		Example: `  sudo meshdoctor node
  meshdoctor node --proc /host/proc --node-name "$NODE_NAME"     # in a privileged hostPID pod
  sudo meshdoctor node --dump ./bundle && meshdoctor analyze ./bundle
  iptables-save > host.txt; ip rule show > rules.txt
  meshdoctor node --input host.txt rules.txt
  nsenter -n -t $PID iptables-save > pod.txt; nsenter -n -t $PID conntrack -L > ct.txt
  meshdoctor node --input pod.txt ct.txt --netns pod`,
		RunE: func(cmd *cobra.Command, args []string) error { return runNode(cmd.Context(), g, o, args) },
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.inputs, "input", nil, "files captured on the node (iptables-save, iptables -S, nft, conntrack -L, ip rule); several may follow one --input")
	f.StringVar(&o.netns, "netns", "", "what the --input files come from: host or pod (default: inferred)")
	f.StringVar(&o.dump, "dump", "", "write this node's state into the bundle folder DIR instead of analyzing it")
	f.StringVar(&o.proc, "proc", "/proc", "the host's procfs (e.g. /host/proc in a privileged pod)")
	f.StringVar(&o.hostNetNS, "host-netns", "", "the host's netns file, when PID 1 of --proc is not in it")
	f.StringVar(&o.nodeName, "node-name", "", "the Kubernetes Node name (default: the hostname)")
	f.StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	f.StringVar(&o.failOn, "fail-on", "error", "exit 1 when a finding is at or above: error, warning, info or none")
	f.StringSliceVar(&o.checks, "check", nil, "run only these checks: codes, names or globs (MD5*)")
	return cmd
}

func runNode(ctx context.Context, g *globals, o *nodeOpts, args []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, interrupted, stop := onInterrupt(ctx)
	defer stop()
	if len(args) > 0 && len(o.inputs) == 0 {
		return usageError("unexpected arguments %q: give captured files with --input", args)
	}
	if len(o.inputs) > 0 && o.dump != "" {
		return usageError("--dump writes this node's state; --input analyzes files captured elsewhere: give one")
	}
	kind := nodedump.NetNSKind(o.netns)
	if kind != nodedump.NetNSInfer && kind != nodedump.NetNSHost && kind != nodedump.NetNSPod {
		return usageError("--netns %q: want host or pod", o.netns)
	}
	if o.dump != "" {
		_, err := collectInto(ctx, g, o, o.dump)
		if ierr := interrupted(); ierr != nil {
			return ierr
		}
		return err
	}
	_, selected, failOn, err := o.setup()
	if err != nil {
		return err
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
	var res nodedump.Result
	var inErrs []files.InputError
	nfiles := 0
	if len(o.inputs) > 0 {
		// "--input a b c": the flag takes the first, the rest are args.
		var loose []nodedump.LooseFile
		for _, p := range append(append([]string(nil), o.inputs...), args...) {
			b, err := readInput(g, p)
			if err != nil {
				inErrs = append(inErrs, files.InputError{Pos: snapshot.Position{File: p}, Msg: err.Error()})
				continue
			}
			loose = append(loose, nodedump.LooseFile{Name: p, Data: b})
		}
		nfiles = len(loose)
		res = nodedump.ReadLoose(loose, kind)
	} else {
		tmp, err := os.MkdirTemp("", "meshdoctor-node-")
		if err != nil {
			return fmt.Errorf("node: %w", err)
		}
		defer os.RemoveAll(tmp)
		_, err = collectInto(ctx, g, o, tmp)
		if ierr := interrupted(); ierr != nil {
			return ierr
		}
		if err != nil {
			return err
		}
		members, err := files.BundleMembers(tmp, "nodes")
		if err != nil {
			return &ExitError{Code: 2, Err: fmt.Errorf("reading what was collected: %w", err)}
		}
		res = nodedump.Read(members)
		nfiles = len(members)
	}
	inErrs = append(inErrs, res.Errors...)
	files.SortErrors(inErrs)
	b := snapshot.NewBuilder()
	for _, n := range res.Nodes {
		b.AddNode(n)
		for _, ns := range n.NetNS {
			if ns.HostAssumed != "" {
				g.log.Warn("netns assumed (use --netns host|pod to say)", "why", ns.HostAssumed)
			}
		}
	}
	out := analysis.Run(ctx, b.Build(), analysis.RunConfig{Analyzers: analyzers})
	if err := interrupted(); err != nil {
		return err
	}
	version, _ := g.build.resolve()
	return o.write(g, report.New(version, nfiles, 0, out, inErrs, failOn))
}

// collectInto writes this node's state into the bundle folder dir: its
// meta.json (when it has none) and nodes/<name>/. Steps that failed are
// logged and listed in the node's errors.txt; only a failure to read
// /proc or to write is an error.
func collectInto(ctx context.Context, g *globals, o *nodeOpts, dir string) (string, error) {
	version, _ := g.build.resolve()
	name := o.nodeName
	if name == "" {
		h, err := os.Hostname()
		if err != nil {
			return "", usageError("--node-name: the hostname is unreadable: %v", err)
		}
		name = h
	}
	if err := writeBundleMeta(dir, "node "+name, version); err != nil {
		return "", &ExitError{Code: 2, Err: err}
	}
	nodeDir := filepath.Join(dir, "nodes", name)
	steps, err := node.Collect(ctx, node.Options{Proc: o.proc, HostNetNS: o.hostNetNS, NodeName: name, Tool: "meshdoctor " + version, Log: g.log}, nodeDir)
	for _, s := range steps {
		g.log.Warn("not collected", "step", s)
	}
	if err != nil {
		return "", &ExitError{Code: 2, Err: fmt.Errorf("collecting node %s: %w", name, err)}
	}
	g.log.Info("node state written", "dir", nodeDir, "steps failed", len(steps))
	return nodeDir, nil
}

// writeBundleMeta writes a bundle's meta.json unless one is there (several
// nodes may dump into one bundle).
func writeBundleMeta(dir, source, version string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bundle folder: %w", err)
	}
	p := filepath.Join(dir, "meta.json")
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	b, _ := json.MarshalIndent(map[string]string{
		"format": files.BundleFormat + "/v1", "created": time.Now().UTC().Format(time.RFC3339), "tool": "meshdoctor " + version, "source": source,
	}, "", "  ")
	if err := os.WriteFile(p, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("bundle meta.json: %w", err)
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
