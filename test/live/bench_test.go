package live

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/all"
	"github.com/meshdoctor/meshdoctor/internal/yamltree"
)

// The live benchmark of issue 4 (docs/PERFORMANCE.md, "Live analysis"):
// an API server loaded with a generated mesh (bench/gen), then the built
// meshdoctor binary run against it as a user would run it. It measures the
// wall time, peak RSS and API requests of a full live analysis and compares
// the requests with one LIST page per 500 objects per needed kind.
//
// It runs only when asked, never in `go test ./...` or CI:
//
//	MESHDOCTOR_LIVE_BENCH=8000,25000,64000 go test ./test/live/ -run TestLiveBench -v -timeout 90m
//
// bench/live.sh does that and prints the table. Other settings:
//
//	MESHDOCTOR_LIVE_BENCH_RUNS     analyses per size (default 3; median wall, highest RSS)
//	MESHDOCTOR_LIVE_BENCH_WORKERS  concurrent creates while loading (default 12)
//	MESHDOCTOR_LIVE_BENCH_OUT      also write the markdown table to this file
//	MESHDOCTOR_LIVE_BENCH_PROFILE  directory: after the measured runs, one more
//	                               analysis in-process with CPU and heap profiles
//	                               (live-N.cpu.pprof, live-N.heap.pprof)
//	MESHDOCTOR_LIVE_BENCH_HOLD     file: after each size, keep the API server up,
//	                               its kubeconfig's path written in the file,
//	                               until the file is removed (experiments by hand)
//	CACHE                          where generated snapshots are kept
//	                               (default /tmp/meshdoctor-bench, shared with bench/run.sh)

// timeBin measures the analysis's peak RSS and CPU (GNU time).
const timeBin = "/usr/bin/time"

// benchObj is one object of a snapshot, ready to be created.
type benchObj struct {
	gvk       schema.GroupVersionKind
	namespace string
	name      string
	body      []byte // JSON without status and server-set metadata
	status    []byte // JSON of .status, or nil
}

// benchRow is one line of the table.
type benchRow struct {
	generated   int           // objects in the snapshot
	inCluster   int           // objects of the needed kinds the server holds
	loadTime    time.Duration // creating every object (and writing status)
	refused     int
	read        int // summary.objects of the report
	findings    int
	walls       []time.Duration
	rssKB       int64
	cpu         time.Duration // user+sys of the median run
	loadTook    string        // meshdoctor's own "loaded input" time (median run)
	analyzeTook string        // and its "analyzed" time
	requests    int64
	expected    int64
	pages       int64 // expected LIST pages (without discovery)
	kinds       int   // needed kinds the server serves
	bytes       int64 // JSON of every LIST page
	fetch       time.Duration
}

func TestLiveBench(t *testing.T) {
	spec := os.Getenv("MESHDOCTOR_LIVE_BENCH")
	if spec == "" {
		t.Skip("live benchmark not run: set MESHDOCTOR_LIVE_BENCH=8000,25000,64000 (bench/gen sizes) to run it, or use bench/live.sh")
	}
	var sizes []int
	for _, f := range strings.Split(spec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			t.Fatalf("MESHDOCTOR_LIVE_BENCH=%q: want comma-separated object counts", spec)
		}
		sizes = append(sizes, n)
	}
	if _, err := os.Stat(timeBin); err != nil {
		t.Fatalf("live benchmark: %s measures peak RSS: apt-get install time (%v)", timeBin, err)
	}
	runs := envInt(t, "MESHDOCTOR_LIVE_BENCH_RUNS", 3)
	workers := envInt(t, "MESHDOCTOR_LIVE_BENCH_WORKERS", 12)
	cache := os.Getenv("CACHE")
	if cache == "" {
		cache = "/tmp/meshdoctor-bench"
	}
	bins := t.TempDir()
	root := moduleRoot(t)
	for _, b := range [][2]string{{"meshdoctor", "./cmd/meshdoctor"}, {"gen", "./bench/gen"}} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bins, b[0]), b[1])
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", b[1], err, out)
		}
	}
	var rows []benchRow
	for _, n := range sizes {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			dir := filepath.Join(cache, fmt.Sprintf("snap-%d-compact-yaml", n))
			if _, err := os.Stat(filepath.Join(dir, "DEFECTS.txt")); err != nil {
				// The same flags as bench/run.sh, so both share the cache.
				out, err := exec.Command(filepath.Join(bins, "gen"), "-objects", strconv.Itoa(n), "-out", dir,
					"-profile", "compact", "-format", "yaml", "-defects", "20").CombinedOutput()
				if err != nil {
					t.Fatalf("bench/gen: %v\n%s", err, out)
				}
			}
			rows = append(rows, benchOne(t, filepath.Join(bins, "meshdoctor"), dir, runs, workers, n))
		})
	}
	table := benchTable(rows, runs)
	t.Logf("\n%s", table)
	if out := os.Getenv("MESHDOCTOR_LIVE_BENCH_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(table), 0o644); err != nil {
			t.Error(err)
		}
	}
}

func benchOne(t *testing.T, bin, dir string, runs, workers, size int) benchRow {
	t0 := time.Now()
	objs := readSnapshot(t, dir)
	t.Logf("read %d objects from %s in %s", len(objs), dir, time.Since(t0).Round(time.Millisecond))

	c := start(t)
	c.installIstioCRDs(t)
	c.widenServiceRange(t)
	row := benchRow{generated: len(objs)}
	t0 = time.Now()
	refused := c.load(t, objs, workers)
	row.loadTime = time.Since(t0)
	objs = nil
	t.Logf("loaded in %s with %d workers", row.loadTime.Round(time.Second), workers)
	for _, r := range refused {
		row.refused += r.n
		t.Logf("refused: %d × %s (e.g. %s)", r.n, r.why, r.example)
	}

	// The requests to expect: discovery, then for every needed kind the
	// server serves, one page per 500 objects (one page when there are none).
	counts, kindBytes, took := c.fetchNeeded(t)
	row.fetch = took
	var kinds []string
	for gk, n := range counts {
		row.inCluster += n
		row.bytes += kindBytes[gk]
		row.pages += max(1, int64(math.Ceil(float64(n)/500)))
		row.kinds++
		if n > 0 {
			kinds = append(kinds, fmt.Sprintf("%s=%d (%.1f MB)", gk, n, float64(kindBytes[gk])/1e6))
		}
	}
	sort.Strings(kinds)
	t.Logf("needed kinds served: %d; objects: %s", row.kinds, strings.Join(kinds, ", "))
	t.Logf("listing them all as meshdoctor does, without reading the objects: %s, %.0f MB of JSON", took.Round(time.Millisecond), float64(row.bytes)/1e6)
	// ServerPreferredResources with aggregated discovery: GET /api and GET /apis.
	const discoveryRequests = 2
	row.expected = row.pages + discoveryRequests

	kubeconfig := c.env.KubeconfigFile(t)
	usage := filepath.Join(t.TempDir(), "usage")
	type run struct {
		wall, cpu            time.Duration
		rss                  int64
		loadTook, analyzeTok string
	}
	var rs []run
	for i := 0; i < runs; i++ {
		var out, errb bytes.Buffer
		// Through /usr/bin/time: the rusage os/exec returns for a child
		// counts the parent's resident memory (Go starts children with
		// vfork, and Linux carries the old address space's high-water mark
		// across exec), which here is this test's, holding every object.
		cmd := exec.Command(timeBin, "-o", usage, "-f", "%M %U %S",
			bin, "analyze", "--kubeconfig", kubeconfig, "-o", "json", "--fail-on", "none", "--read-secrets", "-v")
		cmd.Stdout, cmd.Stderr = &out, &errb
		start := time.Now()
		err := cmd.Run()
		wall := time.Since(start)
		if err != nil {
			t.Fatalf("meshdoctor analyze: %v\n%s", err, tail(errb.String(), 4000))
		}
		var rep report
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatalf("report is not JSON: %v", err)
		}
		req := logValue(errb.String(), "read the cluster", "requests")
		n, err := strconv.ParseInt(req, 10, 64)
		if err != nil {
			t.Fatalf("no requests=N in the -v log:\n%s", tail(errb.String(), 4000))
		}
		if i > 0 && n != row.requests {
			t.Logf("run %d made %d requests, run 1 %d", i+1, n, row.requests)
		}
		row.requests = n
		row.read, row.findings = rep.Summary.Objects, len(rep.Findings)
		if len(rep.InputErrors) > 0 {
			t.Logf("input errors: %d, first: %s", len(rep.InputErrors), rep.InputErrors[0].Message)
		}
		var rss int64 // KB
		var user, sys float64
		if b, err := os.ReadFile(usage); err != nil {
			t.Fatal(err)
		} else if _, err := fmt.Sscan(string(b), &rss, &user, &sys); err != nil {
			t.Fatalf("%s output %q: %v", timeBin, b, err)
		}
		cpu := time.Duration((user + sys) * float64(time.Second))
		rs = append(rs, run{wall, cpu, rss,
			logValue(errb.String(), "loaded input", "took"), logValue(errb.String(), "analyzed", "took")})
		t.Logf("run %d: wall %s, cpu %s, peak RSS %d MB, requests %d, objects %d, findings %d, meshdoctor: loaded in %s, analyzed in %s",
			i+1, wall.Round(time.Millisecond), rs[i].cpu.Round(time.Millisecond), rss/1024, n, rep.Summary.Objects, len(rep.Findings), rs[i].loadTook, rs[i].analyzeTok)
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].wall < rs[j].wall })
	med := rs[(len(rs)-1)/2]
	for _, r := range rs {
		row.walls = append(row.walls, r.wall)
		row.rssKB = max(row.rssKB, r.rss)
	}
	row.cpu, row.loadTook, row.analyzeTook = med.cpu, med.loadTook, med.analyzeTok

	if pdir := os.Getenv("MESHDOCTOR_LIVE_BENCH_PROFILE"); pdir != "" {
		profileInProcess(t, pdir, size, kubeconfig)
	}
	if hold := os.Getenv("MESHDOCTOR_LIVE_BENCH_HOLD"); hold != "" {
		holdServer(t, hold, kubeconfig)
	}
	return row
}

// holdServer keeps the loaded API server up for experiments by hand: it
// writes the kubeconfig's path to the file hold and waits until that file is
// removed (at most an hour).
func holdServer(t *testing.T, hold, kubeconfig string) {
	if err := os.WriteFile(hold, []byte(kubeconfig+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("API server held: kubeconfig in %s; remove that file to go on", hold)
	for end := time.Now().Add(time.Hour); time.Now().Before(end); time.Sleep(2 * time.Second) {
		if _, err := os.Stat(hold); os.IsNotExist(err) {
			return
		}
	}
	os.Remove(hold)
}

// profileInProcess runs the same analysis once more inside the test, with a
// CPU profile of the run and a heap profile at its end.
func profileInProcess(t *testing.T, dir string, size int, kubeconfig string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("live-%d.cpu.pprof", size)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Fatal(err)
	}
	_, code, stderr := analyze(t, "--kubeconfig", kubeconfig, "--read-secrets", "-v")
	pprof.StopCPUProfile()
	if code != 0 {
		t.Errorf("in-process analysis: exit %d: %s", code, tail(stderr, 2000))
	}
	h, err := os.Create(filepath.Join(dir, fmt.Sprintf("live-%d.heap.pprof", size)))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := pprof.Lookup("allocs").WriteTo(h, 0); err != nil {
		t.Fatal(err)
	}
	t.Logf("profiles written to %s", dir)
}

// readSnapshot reads every object of the *.yaml files of a bench/gen output.
// yamltree reads the generated YAML fast; anything it declines goes through
// sigs.k8s.io/yaml.
func readSnapshot(t *testing.T, dir string) []*benchObj {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no YAML files in %s (%v)", dir, err)
	}
	var out []*benchObj
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range splitDocs(b) {
			tree, err := yamltree.ParseYAML(doc)
			if err != nil {
				j, jerr := sigsyaml.YAMLToJSON(doc)
				if jerr != nil {
					t.Fatalf("%s: %v", p, jerr)
				}
				if tree, _, err = yamltree.ParseJSON(j); err != nil {
					t.Fatalf("%s: %v", p, err)
				}
			}
			if tree == nil || tree.Kind != yamltree.Map {
				continue
			}
			md := tree.Get("metadata")
			for _, f := range []string{"uid", "resourceVersion", "creationTimestamp", "managedFields", "generation", "selfLink"} {
				md.Delete(f)
			}
			if text(tree.Get("kind")) == "Service" && text(tree.Get("apiVersion")) == "v1" {
				// Allocated by the server from its own range.
				spec := tree.Get("spec")
				spec.Delete("clusterIP")
				spec.Delete("clusterIPs")
			}
			o := &benchObj{
				gvk:       schema.FromAPIVersionAndKind(text(tree.Get("apiVersion")), text(tree.Get("kind"))),
				namespace: text(md.Get("namespace")),
				name:      text(md.Get("name")),
			}
			if st := tree.Get("status"); st != nil {
				tree.Delete("status")
				if st.Kind == yamltree.Map && len(st.Keys) > 0 {
					o.status = st.AppendJSON(nil)
				}
			}
			o.body = tree.AppendJSON(nil)
			out = append(out, o)
		}
	}
	return out
}

func text(n *yamltree.Node) string {
	if n == nil {
		return ""
	}
	return n.Text
}

// splitDocs cuts a multi-document YAML file at its `---` lines.
func splitDocs(b []byte) [][]byte {
	var docs [][]byte
	start := 0
	for i := 0; i < len(b); {
		end := bytes.IndexByte(b[i:], '\n')
		if end < 0 {
			end = len(b)
		} else {
			end += i
		}
		line := bytes.TrimRight(b[i:end], " \r")
		if bytes.Equal(line, []byte("---")) {
			if len(bytes.TrimSpace(b[start:i])) > 0 {
				docs = append(docs, b[start:i])
			}
			start = end + 1
		}
		i = end + 1
	}
	if start < len(b) && len(bytes.TrimSpace(b[start:])) > 0 {
		docs = append(docs, b[start:])
	}
	return docs
}

// widenServiceRange gives the API server room for thousands of Services:
// envtest starts it with a /24 service range (about 250 ClusterIPs). A
// second ServiceCIDR, marked Ready as kube-controller-manager (absent here)
// would mark it, is used once the first is full.
func (c *cluster) widenServiceRange(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	cidrs := c.env.Clientset(t).NetworkingV1().ServiceCIDRs()
	sc, err := cidrs.Create(ctx, &networkingv1.ServiceCIDR{
		ObjectMeta: metav1.ObjectMeta{Name: "bench"},
		Spec:       networkingv1.ServiceCIDRSpec{CIDRs: []string{"10.96.0.0/16"}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("ServiceCIDR: %v", err)
	}
	sc.Status.Conditions = []metav1.Condition{{
		Type: networkingv1.ServiceCIDRConditionReady, Status: metav1.ConditionTrue,
		Reason: "Bench", LastTransitionTime: metav1.Now(),
	}}
	if _, err := cidrs.UpdateStatus(ctx, sc, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("ServiceCIDR status: %v", err)
	}
}

// refusal counts the objects refused for one reason.
type refusal struct {
	why     string
	n       int
	example string
}

// load creates every object, many at a time, in three waves: namespaces,
// then everything but Pods, then Pods (the ServiceAccount admission plugin
// refuses a Pod whose ServiceAccount does not exist yet). Status goes
// through the status subresource as a merge patch, as controllers write it.
func (c *cluster) load(t *testing.T, objs []*benchObj, workers int) []refusal {
	t.Helper()
	cfg := rest.CopyConfig(c.env.Config)
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Namespaces the objects use but no document makes.
	have := map[string]bool{}
	for _, o := range objs {
		if o.gvk.Kind == "Namespace" && o.gvk.Group == "" {
			have[o.name] = true
		}
	}
	for _, o := range objs {
		if o.namespace != "" && !have[o.namespace] {
			have[o.namespace] = true
			objs = append(objs, &benchObj{gvk: schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, name: o.namespace,
				body: []byte(fmt.Sprintf(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":%q}}`, o.namespace))})
		}
	}
	wave := func(o *benchObj) int {
		switch {
		case o.gvk.Group == "" && o.gvk.Kind == "Namespace":
			return 0
		case o.gvk.Group == "" && o.gvk.Kind == "Pod":
			return 2
		}
		return 1
	}
	var mu sync.Mutex
	refused := map[string]*refusal{}
	refuse := func(why, example string) {
		mu.Lock()
		defer mu.Unlock()
		r := refused[why]
		if r == nil {
			r = &refusal{why: why, example: example}
			refused[why] = r
		}
		r.n++
	}
	paths := map[schema.GroupVersionKind]*meta.RESTMapping{}
	for _, o := range objs {
		if _, ok := paths[o.gvk]; ok {
			continue
		}
		m, err := c.mapper.RESTMapping(o.gvk.GroupKind(), o.gvk.Version)
		if err != nil {
			t.Logf("%s is not served: %v", o.gvk, err)
		}
		paths[o.gvk] = m
	}
	send := func(method, url, ctype string, body []byte) (int, []byte, error) {
		req, err := http.NewRequestWithContext(context.Background(), method, url, bytes.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Accept", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}
	create := func(o *benchObj) {
		m := paths[o.gvk]
		if m == nil {
			refuse(o.gvk.Kind+": not served", o.name)
			return
		}
		url := strings.TrimRight(cfg.Host, "/") + collectionPath(m, o.namespace)
		code, body, err := send(http.MethodPost, url+"?fieldManager=bench", "application/json", o.body)
		switch {
		case err != nil:
			refuse(o.gvk.Kind+": "+err.Error(), o.namespace+"/"+o.name)
			return
		case code == http.StatusConflict && o.gvk.Kind == "Namespace":
			return // default, kube-system
		case code >= 300:
			reason, msg := statusOf(body)
			refuse(fmt.Sprintf("%s: HTTP %d %s", o.gvk.Kind, code, reason), o.namespace+"/"+o.name+": "+msg)
			return
		}
		if o.status == nil {
			return
		}
		patch := append(append([]byte(`{"status":`), o.status...), '}')
		code, body, err = send(http.MethodPatch, url+"/"+o.name+"/status?fieldManager=bench-status", "application/merge-patch+json", patch)
		switch {
		case err != nil:
			refuse(o.gvk.Kind+" status: "+err.Error(), o.namespace+"/"+o.name)
		case code >= 300 && code != http.StatusNotFound: // NotFound: no status subresource
			reason, msg := statusOf(body)
			refuse(fmt.Sprintf("%s status: HTTP %d %s", o.gvk.Kind, code, reason), o.namespace+"/"+o.name+": "+msg)
		}
	}
	for w := 0; w <= 2; w++ {
		ch := make(chan *benchObj)
		var wg sync.WaitGroup
		for i := 0; i < workers; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for o := range ch {
					create(o)
				}
			}()
		}
		for _, o := range objs {
			if wave(o) == w {
				ch <- o
			}
		}
		close(ch)
		wg.Wait()
	}
	var out []refusal
	for _, r := range refused {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].n > out[j].n })
	return out
}

func collectionPath(m *meta.RESTMapping, ns string) string {
	gvr := m.Resource
	p := "/apis/" + gvr.Group + "/" + gvr.Version
	if gvr.Group == "" {
		p = "/api/" + gvr.Version
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		p += "/namespaces/" + ns
	}
	return p + "/" + gvr.Resource
}

func statusOf(body []byte) (reason, message string) {
	var st struct{ Reason, Message string }
	if json.Unmarshal(body, &st) != nil {
		return "", tail(string(body), 200)
	}
	return st.Reason, st.Message
}

// fetchNeeded lists every kind meshdoctor lists (each served needed kind,
// zeros included) the way it does: pages of 500, JSON, four kinds at a
// time, Secrets with their data. It returns the objects and the JSON bytes
// per kind and how long the pass took: what the API server alone needs to
// serve the analysis's requests.
func (c *cluster) fetchNeeded(t *testing.T) (counts map[schema.GroupKind]int, size map[schema.GroupKind]int64, took time.Duration) {
	t.Helper()
	reg, err := all.Registry()
	if err != nil {
		t.Fatal(err)
	}
	as, _ := reg.Select(nil)
	hc, err := rest.HTTPClientFor(c.env.Config)
	if err != nil {
		t.Fatal(err)
	}
	counts, size = map[schema.GroupKind]int{}, map[schema.GroupKind]int64{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	begin := time.Now()
	for _, gk := range analysis.NeededKinds(as) {
		m, err := c.mapper.RESTMapping(gk)
		if err != nil {
			continue // not served: meshdoctor does not list it
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			n, b, cont := 0, int64(0), ""
			for {
				url := strings.TrimRight(c.env.Config.Host, "/") + collectionPath(m, "") + "?limit=500"
				if cont != "" {
					url += "&continue=" + neturl.QueryEscape(cont)
				}
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				req.Header.Set("Accept", "application/json")
				resp, err := hc.Do(req)
				if err != nil {
					t.Errorf("listing %s: %v", gk, err)
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					t.Errorf("listing %s: HTTP %d %v", gk, resp.StatusCode, err)
					return
				}
				var l struct {
					Metadata struct {
						Continue string `json:"continue"`
					} `json:"metadata"`
					Items []struct{} `json:"items"`
				}
				if err := json.Unmarshal(body, &l); err != nil {
					t.Errorf("listing %s: %v", gk, err)
					return
				}
				n += len(l.Items)
				b += int64(len(body))
				if cont = l.Metadata.Continue; cont == "" {
					break
				}
			}
			mu.Lock()
			counts[gk], size[gk] = n, b
			mu.Unlock()
		}()
	}
	wg.Wait()
	return counts, size, time.Since(begin)
}

// logValue finds key=value on the first line of the slog text log whose
// message is msg.
func logValue(log, msg, key string) string {
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, ` msg="`+msg+`" `) && !strings.Contains(line, ` msg=`+msg+` `) {
			continue
		}
		m := regexp.MustCompile(`\b` + regexp.QuoteMeta(key) + `=(\S+)`).FindStringSubmatch(line)
		if m != nil {
			return m[1]
		}
	}
	return ""
}

func benchTable(rows []benchRow, runs int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| objects generated | in the cluster (needed kinds) | LIST JSON | load (create + status) | refused | read by meshdoctor | findings | analyze wall (median of %d) | CPU (user+sys) | meshdoctor load / analysis | peak RSS | requests measured | expected (discovery + pages) | the same LISTs, bodies discarded |\n", runs)
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		sorted := append([]time.Duration(nil), r.walls...)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
		med := sorted[(len(sorted)-1)/2]
		fmt.Fprintf(&b, "| %d | %d | %.0f MB | %s | %d | %d | %d | %.2f s | %.2f s | %s / %s | %d MB | %d | %d (2 + %d pages of %d kinds) | %.2f s |\n",
			r.generated, r.inCluster, float64(r.bytes)/1e6, r.loadTime.Round(time.Second), r.refused, r.read, r.findings,
			med.Seconds(), r.cpu.Seconds(), r.loadTook, r.analyzeTook, r.rssKB/1024, r.requests, r.expected, r.pages, r.kinds, r.fetch.Seconds())
	}
	return b.String()
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
