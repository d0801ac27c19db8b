// Command gen writes large, realistic Kubernetes + Istio snapshots (the shape
// of `kubectl get -o yaml` output) for benchmarking offline analysis.
//
//	go run ./bench/gen -objects 50000 -out /tmp/snap50k [-format yaml|json]
//	    [-files-per-ns 1|kind] [-seed 1] [-defects K] [-defect-types all|t1,t2]
//
// See README.md in this directory.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"time"
)

const defectsFile = "DEFECTS.txt"
const defectsHeader = "# meshdoctor bench/gen defects"

// Objects per application namespace: Namespace, ServiceAccount, 4 ConfigMaps,
// 2 Secrets, 3 Services, 3 Deployments, 3 ReplicaSets, 6 Pods,
// 2 DestinationRules, 2 VirtualServices, PeerAuthentication,
// AuthorizationPolicy. Namespaces with a Gateway add the Gateway and its
// credential Secret in istio-system.
const (
	perNamespace   = 29
	perGateway     = 2
	istioSystemObj = 15
)

type config struct {
	objects      int
	out          string
	format       string
	filesPerNS   string
	seed         uint64
	defects      int
	defectTypes  []string
	gatewayEvery int
	full         bool
	verbose      bool
}

type kindStat struct {
	count int
	bytes int64
}

type stats struct {
	kinds map[string]*kindStat
	files int
	bytes int64
}

func (s *stats) add(kind string, n int) {
	k := s.kinds[kind]
	if k == nil {
		k = &kindStat{}
		s.kinds[kind] = k
	}
	k.count++
	k.bytes += int64(n)
}

func (s *stats) merge(o *stats) {
	for k, v := range o.kinds {
		t := s.kinds[k]
		if t == nil {
			t = &kindStat{}
			s.kinds[k] = t
		}
		t.count += v.count
		t.bytes += v.bytes
	}
	s.files += o.files
	s.bytes += o.bytes
}

func main() {
	var c config
	var dt string
	flag.IntVar(&c.objects, "objects", 5000, "approximate total number of objects to generate")
	flag.StringVar(&c.out, "out", "", "output directory (created; a previous gen output in it is replaced)")
	flag.StringVar(&c.format, "format", "yaml", "yaml (multi-document files) or json (kind: List files)")
	flag.StringVar(&c.filesPerNS, "files-per-ns", "1", "1: one file per namespace; kind: one file per namespace and kind")
	flag.Uint64Var(&c.seed, "seed", 1, "random seed (same seed and flags give identical output)")
	flag.IntVar(&c.defects, "defects", 0, "number of known defects to plant (at most one per namespace); listed in <out>/"+defectsFile)
	flag.StringVar(&dt, "defect-types", "all", "comma-separated defect types to cycle through: all or "+strings.Join(allDefectTypes, ","))
	flag.IntVar(&c.gatewayEvery, "gateway-every", 4, "give every Nth namespace an ingress Gateway")
	profile := flag.String("profile", "compact", "compact: objects near the target sizes (Pod ~6 KB); full: unabridged managedFields, env and sidecar like a real cluster (Pod ~20 KB)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	flag.BoolVar(&c.verbose, "v", false, "also print a per-kind table (count, bytes, average bytes)")
	flag.Parse()
	var err error
	if c.defectTypes, err = parseDefectTypes(dt); err != nil {
		fatal(err)
	}
	if c.out == "" {
		fatal(fmt.Errorf("-out is required"))
	}
	if c.format != "yaml" && c.format != "json" {
		fatal(fmt.Errorf("-format must be yaml or json"))
	}
	if c.filesPerNS != "1" && c.filesPerNS != "kind" {
		fatal(fmt.Errorf("-files-per-ns must be 1 or kind"))
	}
	switch *profile {
	case "compact":
	case "full":
		c.full = true
	default:
		fatal(fmt.Errorf("-profile must be compact or full"))
	}
	if c.gatewayEvery < 1 {
		c.gatewayEvery = 1
	}
	// The generator allocates many short-lived nodes; trade memory for less GC.
	debug.SetGCPercent(400)
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(c); err != nil {
		pprof.StopCPUProfile()
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "gen:", err)
	os.Exit(2)
}

// namespacesFor picks the number of application namespaces whose total
// object count is closest to the target.
func namespacesFor(target, gatewayEvery int) int {
	total := func(n int) int {
		return istioSystemObj + perNamespace*n + perGateway*((n+gatewayEvery-1)/gatewayEvery)
	}
	n := 1
	for total(n+1) <= target {
		n++
	}
	if abs(total(n+1)-target) < abs(total(n)-target) {
		n++
	}
	return n
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func prepareOut(dir string) error {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return nil
	}
	head, err := os.ReadFile(filepath.Join(dir, defectsFile))
	if err != nil || !strings.HasPrefix(string(head), defectsHeader) {
		return fmt.Errorf("%s is not empty and holds no previous gen output (%s); choose another -out", dir, defectsFile)
	}
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() && (strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".json") || n == defectsFile) {
			if err := os.Remove(filepath.Join(dir, n)); err != nil {
				return err
			}
		}
	}
	return nil
}

func run(c config) error {
	start := time.Now()
	if err := prepareOut(c.out); err != nil {
		return err
	}
	n := namespacesFor(c.objects, c.gatewayEvery)
	if c.defects > n {
		return fmt.Errorf("-defects %d: at most one defect per namespace (%d namespaces)", c.defects, n)
	}
	gens := make([]*nsGen, n)
	var gws []gatewayRef
	for i := range gens {
		gens[i] = newNSGen(c.seed, i, i%c.gatewayEvery == 0, c.full)
		if gens[i].gateway {
			gws = append(gws, gatewayRef{ns: gens[i].name, credential: gens[i].credentialName()})
		}
	}
	defects := planDefects(gens, c.defects, c.defectTypes)
	sys := newNSGen(c.seed, n, false, c.full)
	sys.name = ingressNS

	total := &stats{kinds: map[string]*kindStat{}}
	var mu sync.Mutex
	var firstErr error
	jobs := make(chan *nsGen)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := &stats{kinds: map[string]*kindStat{}}
			var buf []byte
			for g := range jobs {
				if g == sys {
					g.genIstioSystem(gws)
				} else {
					g.gen()
				}
				var err error
				buf, err = writeNamespace(c, g, buf, st)
				g.objs = nil
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
			mu.Lock()
			total.merge(st)
			mu.Unlock()
		}()
	}
	jobs <- sys
	for _, g := range gens {
		jobs <- g
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if err := writeDefects(c, n, defects); err != nil {
		return err
	}
	total.files++ // DEFECTS.txt
	elapsed := time.Since(start)
	printSummary(c, total, n+1, len(defects), elapsed)
	return nil
}

// writeNamespace encodes a namespace's objects into one file (or one per
// kind) and records per-kind byte counts.
func writeNamespace(c config, g *nsGen, buf []byte, st *stats) ([]byte, error) {
	type group struct {
		kind string
		objs []object
	}
	var groups []group
	if c.filesPerNS == "kind" {
		idx := map[string]int{}
		for _, o := range g.objs {
			i, ok := idx[o.kind]
			if !ok {
				i = len(groups)
				idx[o.kind] = i
				groups = append(groups, group{kind: o.kind})
			}
			groups[i].objs = append(groups[i].objs, o)
		}
	} else {
		groups = []group{{objs: g.objs}}
	}
	for _, grp := range groups {
		buf = buf[:0]
		name := g.name
		if grp.kind != "" {
			name += "." + strings.ToLower(grp.kind)
		}
		if c.format == "yaml" {
			e := yamlEnc{b: buf}
			for _, o := range grp.objs {
				before := len(e.b)
				e.doc(o.n)
				st.add(o.kind, len(e.b)-before)
			}
			buf = e.b
			name += ".yaml"
		} else {
			e := jsonEnc{b: append(buf, "{\n    \"apiVersion\": \"v1\",\n    \"items\": [\n"...)}
			for i, o := range grp.objs {
				before := len(e.b)
				e.b = append(e.b, spaces[:8]...)
				e.value(o.n, 8)
				if i < len(grp.objs)-1 {
					e.b = append(e.b, ',')
				}
				e.b = append(e.b, '\n')
				st.add(o.kind, len(e.b)-before)
			}
			e.b = append(e.b, "    ],\n    \"kind\": \"List\",\n    \"metadata\": {\n        \"resourceVersion\": \"\"\n    }\n}\n"...)
			buf = e.b
			name += ".json"
		}
		if err := os.WriteFile(filepath.Join(c.out, name), buf, 0o644); err != nil {
			return buf, err
		}
		st.files++
		st.bytes += int64(len(buf))
	}
	return buf, nil
}

func writeDefects(c config, namespaces int, defects []*defect) error {
	f, err := os.Create(filepath.Join(c.out, defectsFile))
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, "%s: seed=%d objects=%d namespaces=%d defects=%d types=%s\n",
		defectsHeader, c.seed, c.objects, namespaces+1, len(defects), strings.Join(c.defectTypes, ","))
	fmt.Fprintf(w, "# columns (tab-separated): id namespace kind name type detail also\n")
	fmt.Fprintf(w, "# 'also' lists other objects that carry the same defect (ReplicaSet and Pods created from the Deployment's template)\n")
	for _, d := range defects {
		also := "-"
		if len(d.also) > 0 {
			also = strings.Join(d.also, ",")
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", d.id, d.ns, d.kind, d.name, d.typ, d.detail, also)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func printSummary(c config, st *stats, namespaces, defects int, elapsed time.Duration) {
	kinds := make([]string, 0, len(st.kinds))
	objects := 0
	for k, v := range st.kinds {
		kinds = append(kinds, k)
		objects += v.count
	}
	sort.Strings(kinds)
	var parts []string
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s=%d", k, st.kinds[k].count))
	}
	fmt.Fprintf(os.Stderr, "gen: objects=%d files=%d bytes=%d (%.1f MiB) namespaces=%d defects=%d format=%s elapsed=%s kinds: %s\n",
		objects, st.files, st.bytes, float64(st.bytes)/(1<<20), namespaces, defects, c.format,
		elapsed.Round(time.Millisecond), strings.Join(parts, " "))
	if c.verbose {
		fmt.Fprintf(os.Stderr, "%-20s %8s %12s %9s\n", "KIND", "COUNT", "BYTES", "AVG")
		for _, k := range kinds {
			v := st.kinds[k]
			fmt.Fprintf(os.Stderr, "%-20s %8d %12d %9d\n", k, v.count, v.bytes, v.bytes/int64(v.count))
		}
	}
}
