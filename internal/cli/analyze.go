package cli

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/decode"
	"github.com/meshdoctor/meshdoctor/internal/report"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/source/ciliumdump"
	"github.com/meshdoctor/meshdoctor/internal/source/files"
	"github.com/meshdoctor/meshdoctor/internal/source/kube"
	"github.com/meshdoctor/meshdoctor/internal/source/logdump"
	"github.com/meshdoctor/meshdoctor/internal/source/nodedump"
)

type analyzeOpts struct {
	reportFlags
	suppress   []string
	meshConfig string
	liveFlags
	timeout time.Duration
}

// liveFlags select and shape a live read (no paths).
type liveFlags struct {
	kube          *genericclioptions.ConfigFlags
	allNamespaces bool
	readSecrets   bool
	also          []string
}

func newAnalyzeCmd(g *globals) *cobra.Command {
	o := &analyzeOpts{}
	cmd := &cobra.Command{
		Use:   "analyze [PATH...]",
		Short: "Analyze the current cluster, or manifests, directories, bundles (.tar.gz) or stdin (-)",
		Long: `Analyze Kubernetes and mesh objects from files (.yaml, .yml, .json; multi-document,
kind: List), directories (recursively), meshdoctor bundles (directory or .tar.gz)
and standard input ("-").

With no PATH, analyze the cluster of the current kubeconfig context (or the one
the pod runs in): meshdoctor lists the kinds the selected checks need, in every
namespace. -n reports the findings of one namespace and keeps Pods, workloads,
ConfigMaps, Secrets and policies only where that namespace's analysis needs them
(it, the mesh's system namespaces, the namespaces its objects name and those of
its gateways' workloads); Istio's configuration and Services are still read
everywhere, and the namespaces not read are unknown to the checks, not empty, so
scoping never turns into a false "not found". Secrets are read as metadata
unless --read-secrets is given (their values are reduced at once to key names,
hashes and certificate metadata, never kept). --also overlays local manifests on
the live objects: "would this change break anything?".

Exit codes, in every output format: 0 nothing at or above --fail-on; 1 findings at
or above it; 2 bad usage, or an input that could not be read or parsed (what could
be read is still analyzed and reported), or the run was interrupted (Ctrl-C or
SIGTERM: the reads in flight are cancelled, nothing is reported, and the reason
goes to stderr; a second Ctrl-C ends the process at once).`,
		Example: `  meshdoctor analyze                                   # the current cluster
  meshdoctor analyze --context prod -n bookinfo --read-secrets
  meshdoctor analyze --also ./change.yaml              # live state with local changes on top
  meshdoctor analyze examples/incidents/c-istio-cni-upgrade/input
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
	f.BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "live: report findings in every namespace (the default unless -n is given)")
	f.BoolVar(&o.readSecrets, "read-secrets", false, "live: read Secrets' data (reduced to key names, hashes and certificate metadata)")
	f.StringArrayVar(&o.also, "also", nil, "live: local manifests to overlay on the cluster's objects (same identity replaces); repeatable")
	f.DurationVar(&o.timeout, "timeout", 0, "bound the whole run (0: no bound); what was read by then is analyzed")
	o.kube = genericclioptions.NewConfigFlags(true)
	o.kube.AddFlags(f)
	return cmd
}

func runAnalyze(ctx context.Context, g *globals, o *analyzeOpts, args []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, interrupted, stop := onInterrupt(ctx)
	defer stop()
	live := len(args) == 0
	if !live && len(o.also) > 0 {
		return usageError("--also overlays files on the live cluster: give no PATH, or add the files to the PATHs")
	}
	if o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}
	reg, analyzers, failOn, err := o.setup()
	if err != nil {
		return err
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
	var in input
	b := snapshot.NewBuilder()
	var pacer *gcPacer
	if live {
		in, err = loadLive(ctx, g, o.liveFlags, loader, analyzers, b)
		if ierr := interrupted(); ierr != nil {
			return ierr
		}
		if err != nil {
			return err
		}
	} else {
		// Reading pages from an API server makes garbage; reading files
		// barely does, so only the file load waits to collect.
		pacer = paceLoadGC()
		defer pacer.done()
		in = loadFiles(ctx, g, loader, args, b)
	}
	snap := b.Build()
	pacer.analysis()
	g.log.Info("loaded input", "files", in.files, "objects", snap.Len(), "errors", len(in.errors), "took", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	if err := interrupted(); err != nil {
		return err
	}
	res := analysis.Run(ctx, snap, analysis.RunConfig{Analyzers: analyzers, Suppress: sups, Options: opts})
	if err := interrupted(); err != nil {
		return err
	}
	g.log.Info("analyzed", "checks", len(res.Ran), "findings", len(res.Findings), "took", time.Since(start).Round(time.Millisecond),
		"slowest", slowestChecks(res.Took, 5))
	version, _ := g.build.resolve()
	if ns := o.reportNamespace(live); ns != "" {
		res.Findings = inNamespace(res.Findings, ns)
		res.NotChecked = notCheckedIn(res.NotChecked, ns)
	}
	rep := report.New(version, in.files, snap.Len(), res, in.errors, failOn)
	if al := snap.AccessLogs(); al != nil {
		rep.AccessLogs = report.AccessLogStats(al.Summary)
	}
	for _, e := range res.Errors {
		g.log.Error("check failed", "error", strings.SplitN(e, "\n", 2)[0])
	}
	return o.write(g, rep)
}

// input counts what was read into the snapshot builder, wherever it came
// from, and the errors met.
type input struct {
	files  int
	errors []files.InputError
}

// loadFiles reads files, directories and bundles (their cluster objects,
// node dumps, container logs and proxies' access logs) into b.
func loadFiles(ctx context.Context, g *globals, loader *files.Loader, paths []string, b *snapshot.Builder) input {
	// Cilium and Hubble output given loose is recognised by its content.
	manifests, looseCilium, ciliumErrs := ciliumdump.SplitLoose(paths)
	for _, c := range looseCilium {
		b.AddCiliumOutput(c)
	}
	loaded := loader.Load(ctx, manifests)
	loaded.Files += len(looseCilium)
	loaded.Errors = append(loaded.Errors, ciliumErrs...)
	var allLogs []*snapshot.ContainerLog
	b.Reserve(len(loaded.Objects))
	b.AddAll(loaded.Objects)
	// The node folders of bundles.
	for _, p := range paths {
		if p == "-" {
			continue
		}
		// members reads one folder of the bundle; a folder that cannot be
		// read is an input error, and what was read is still used.
		members := func(folder, what string) []files.Member {
			ms, err := files.BundleMembers(p, folder)
			if err != nil {
				loaded.Errors = append(loaded.Errors, files.InputError{Pos: snapshot.Position{File: p}, Msg: "reading " + what + ": " + err.Error()})
			}
			return ms
		}
		nodes := nodedump.Read(members("nodes", "node dumps"))
		for _, n := range nodes.Nodes {
			b.AddNode(n)
		}
		loaded.Errors = append(loaded.Errors, nodes.Errors...)
		for _, gap := range nodes.CollectionGaps {
			g.log.Warn("not collected", "what", gap)
		}
		// The container logs of bundles.
		logs, errs := logdump.Read(members("logs", "container logs"))
		for _, l := range logs {
			b.AddLog(l)
		}
		loaded.Errors = append(loaded.Errors, errs...)
		allLogs = append(allLogs, logs...)
		// What Cilium's and Hubble's commands printed on each node.
		outs, errs := ciliumdump.Read(members("cilium", "Cilium command output"))
		for _, c := range outs {
			b.AddCiliumOutput(c)
		}
		loaded.Errors = append(loaded.Errors, errs...)
	}
	// The proxies' logs among them are access logs.
	if al, errs := bundleAccessLogs(ctx, g, allLogs); al != nil {
		b.SetAccessLogs(al)
		loaded.Errors = append(loaded.Errors, errs...)
	}
	files.SortErrors(loaded.Errors)
	return input{files: loaded.Files, errors: loaded.Errors}
}

// loadLive reads the cluster, with the --also files on top. With -n (and
// not -A) the read is scoped to what analyzing that namespace needs.
func loadLive(ctx context.Context, g *globals, o liveFlags, loader *files.Loader, analyzers []*analysis.Analyzer, b *snapshot.Builder) (input, error) {
	cfg, err := o.kube.ToRESTConfig()
	if err != nil {
		return input{}, usageError("no cluster to analyze (give PATHs to analyze files): %v", err)
	}
	var in input
	src := &kube.Source{Config: cfg, Loader: loader, Kinds: analysis.NeededKinds(analyzers), ReadSecrets: o.readSecrets, Log: g.log}
	if !o.allNamespaces && o.kube.Namespace != nil {
		src.Namespace = *o.kube.Namespace
	}
	if src.Namespace == "" {
		if ns, _, err := o.kube.ToRawKubeConfigLoader().Namespace(); err == nil {
			src.FallbackNamespace = ns
		}
	}
	if len(o.also) > 0 {
		overlay := loader.Load(ctx, o.also)
		files.SortErrors(overlay.Errors)
		seen := map[string]bool{}
		for _, obj := range overlay.Objects {
			b.Add(obj)
			if ns := obj.Key.Namespace; ns != "" && !seen[ns] {
				seen[ns] = true
				src.AlsoNamespaces = append(src.AlsoNamespaces, ns)
			}
		}
		in.files, in.errors = overlay.Files, overlay.Errors
	}
	res := src.Load(ctx)
	if res.Unreachable != nil {
		return input{}, &ExitError{Code: 2, Err: res.Unreachable}
	}
	for _, obj := range res.Objects {
		b.AddUnlessPresent(obj)
	}
	for _, sc := range res.Listed {
		ns := sc.Namespace
		if ns == "" {
			ns = snapshot.AllNamespaces
		}
		b.MarkListed(sc.Kind, ns)
	}
	if res.NodeAgentsListed {
		b.MarkNodeAgentsListed()
	}
	for _, gk := range res.Absent {
		b.MarkUnserved(gk, gk.String()+" is not served by the cluster")
	}
	for _, u := range res.Unreadable {
		b.MarkUnserved(u.Kind, u.Why) // the checks that need it say so
	}
	in.errors = append(in.errors, res.Errors...)
	switch {
	case res.Widened != "":
		g.log.Warn("-n: Pods, workloads, ConfigMaps and Secrets listed in every namespace", "namespace", src.Namespace, "why", res.Widened)
	case src.Namespace != "":
		names := make([]string, len(res.Scope))
		for i, sn := range res.Scope {
			names[i] = sn.Name
			g.log.Debug("scoped read", "namespace", sn.Name, "why", sn.Why)
		}
		byNS := make([]string, len(res.ByNamespace))
		for i, gk := range res.ByNamespace {
			byNS[i] = gk.String()
		}
		g.log.Info("scoped read: per-workload kinds listed in", "namespaces", strings.Join(names, ","), "listed namespace by namespace", strings.Join(byNS, ","))
	}
	g.log.Info("read the cluster", "host", cfg.Host, "kinds", len(src.Kinds), "absent", len(res.Absent), "requests", res.Requests)
	return in, nil
}

// reportNamespace is the namespace findings are narrowed to: -n in live
// mode, unless -A.
func (o *analyzeOpts) reportNamespace(live bool) string {
	if !live || o.allNamespaces || o.kube.Namespace == nil {
		return ""
	}
	return *o.kube.Namespace
}

// inNamespace keeps the findings about objects of namespace ns.
func inNamespace(fs []analysis.Finding, ns string) []analysis.Finding {
	out := fs[:0]
	for _, f := range fs {
		if f.Subject.Namespace == ns {
			out = append(out, f)
		}
	}
	return out
}

// slowestChecks names the n checks that took longest, for -v: "MD101 120ms, ...".
func slowestChecks(took map[string]time.Duration, n int) string {
	codes := make([]string, 0, len(took))
	for c := range took {
		codes = append(codes, c)
	}
	sort.Slice(codes, func(i, j int) bool {
		if took[codes[i]] != took[codes[j]] {
			return took[codes[i]] > took[codes[j]]
		}
		return codes[i] < codes[j]
	})
	var b strings.Builder
	for i, c := range codes[:min(n, len(codes))] {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %s", c, took[c].Round(time.Millisecond))
	}
	return b.String()
}
