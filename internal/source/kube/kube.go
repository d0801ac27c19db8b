// Package kube reads a live cluster into snapshot objects: one paginated
// LIST per kind the selected analyzers need, kinds fetched concurrently,
// each page read by the same reader as files so live and offline analysis
// see the same objects. Secrets are read as metadata only unless asked.
package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/source/files"
)

// Source lists objects from one cluster.
type Source struct {
	Config *rest.Config
	// Loader decodes pages: its decoder, projection and managedFields
	// settings apply as they do to files.
	Loader *files.Loader
	// Kinds are the kinds to list (what the selected analyzers declare).
	Kinds []schema.GroupKind
	// ReadSecrets lists Secrets with their data (reduced at once to key
	// names, hashes and certificate metadata); otherwise metadata only.
	ReadSecrets bool
	// Namespace, when set, scopes the read to what analyzing that namespace
	// needs (see scope.go): the per-workload kinds are kept, and marked
	// listed, only in the namespaces its analysis needs; the other kinds
	// are listed everywhere. "" reads every namespace.
	Namespace string
	// FallbackNamespace is where an unscoped read lists the kinds the user
	// may not list cluster-wide when it cannot list the Namespaces to try
	// them one by one: the kubeconfig context's namespace, the one kubectl
	// would use.
	FallbackNamespace string
	// AlsoNamespaces are namespaces a scoped read lists in full as well
	// (those of the --also files, so that they overlay complete
	// namespaces).
	AlsoNamespaces []string
	// PageSize is the LIST limit; 0 means 500.
	PageSize int64
	// Concurrency bounds the kinds listed at once; 0 means 4.
	Concurrency int
	Log         *slog.Logger
}

// Scope is one fully listed kind: in every namespace (Namespace "") or in
// one namespace.
type Scope struct {
	Kind      schema.GroupKind
	Namespace string
}

// Result is what a live read produced.
type Result struct {
	Objects []*snapshot.Object
	// Listed are the scopes listed completely: "not found" there means
	// absent, even when the LIST returned nothing.
	Listed []Scope
	// Absent are the needed kinds the API server does not serve.
	Absent []schema.GroupKind
	// Unreadable are the needed kinds that were listed nowhere because the
	// user may not list them (each also has its error in Errors), with the
	// reason, for the checks that needed them to say why they did not run.
	Unreadable []Unreadable
	// MetadataOnly are the kinds read without their data.
	MetadataOnly []schema.GroupKind
	// Errors are the calls that failed, each naming the call and why.
	Errors []files.InputError
	// Requests counts the HTTP requests made.
	Requests int64
	// Scope lists, for a scoped read (Source.Namespace), the namespaces
	// the per-workload kinds were kept in and why each was needed; nil
	// when they were kept in every namespace.
	Scope []ScopedNamespace
	// ByNamespace are the per-workload kinds a scoped read listed namespace
	// by namespace (too large to read whole for less); it read the others
	// whole and kept them in the scope.
	ByNamespace []schema.GroupKind
	// NodeAgentsListed is set when a scoped read listed the DaemonSets of
	// every namespace (keeping those of the scope only): every node agent's
	// DaemonSet (Cilium, istio-cni, ztunnel) is in Objects, as its
	// namespace is in the scope, so no agent DaemonSet means none runs.
	NodeAgentsListed bool
	// Widened says why a scoped read kept the per-workload kinds of
	// every namespace after all ("" when it did not).
	Widened string
	// Unreachable is set when nothing could be read at all (discovery
	// failed): there is no cluster to analyze.
	Unreachable error
}

// Unreadable is a kind the user could list nowhere, and why.
type Unreadable struct {
	Kind schema.GroupKind
	Why  string
}

// resource is where a kind is served.
type resource struct {
	gvr        schema.GroupVersionResource
	namespaced bool
}

// Load lists every needed kind. It returns what it could read and an error
// per failed call; ctx bounds the whole read. The result is named so that
// the deferred count of requests reaches the caller.
func (s *Source) Load(ctx context.Context) (res Result) {
	var requests atomic.Int64
	cfg := rest.CopyConfig(s.Config)
	if cfg.QPS == 0 && cfg.RateLimiter == nil {
		// client-go's default (5 per second) would make a large cluster's
		// LIST pages wait on the client; kubectl's discovery uses the same.
		cfg.QPS, cfg.Burst = 50, 100
	}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return countingTransport{rt, &requests} })
	defer func() { res.Requests = requests.Load() }()

	served, err := discover(ctx, cfg)
	if err != nil {
		if served == nil {
			res.Unreachable = fmt.Errorf("cannot read the cluster at %s: %w", cfg.Host, err)
			return res
		}
		res.Errors = append(res.Errors, callError("discovery", err))
	}
	client, err := rawClient(cfg)
	if err != nil {
		res.Errors = append(res.Errors, callError("client", err))
		return res
	}
	kinds := append([]schema.GroupKind(nil), s.Kinds...)
	sort.Slice(kinds, func(i, j int) bool { return kinds[i].String() < kinds[j].String() })
	var jobs []job
	for _, gk := range kinds {
		r, ok := served[gk]
		if !ok {
			res.Absent = append(res.Absent, gk)
			continue
		}
		jobs = append(jobs, job{gk, r})
	}
	defer res.noteUnreadable(jobs)
	if s.Namespace != "" {
		s.loadScoped(ctx, client, jobs, &res)
		return res
	}
	// Namespaces are listed first: a kind the user may not list
	// cluster-wide is then listed per namespace.
	namespaces, rest := s.listNamespaces(ctx, client, jobs, &res)
	if len(namespaces) == 0 && s.FallbackNamespace != "" {
		// Namespaces not listed (forbidden, or no check needs them): a kind
		// refused cluster-wide is tried in the context's namespace.
		namespaces = []string{s.FallbackNamespace}
	}
	res.add(s.listJobs(ctx, client, rest, namespaces)...)
	return res
}

// noteUnreadable records, after the read, the kinds listed nowhere
// because every LIST of them tried was forbidden.
func (r *Result) noteUnreadable(jobs []job) {
	listed := map[schema.GroupKind]bool{}
	for _, sc := range r.Listed {
		listed[sc.Kind] = true
	}
	for _, j := range jobs {
		if listed[j.gk] {
			continue
		}
		prefix := "cannot list " + describeList(j.r, "")
		for _, e := range r.Errors {
			if e.Msg == prefix+": forbidden" || strings.HasPrefix(e.Msg, prefix+" in namespace ") && strings.HasSuffix(e.Msg, ": forbidden") {
				r.Unreadable = append(r.Unreadable, Unreadable{Kind: j.gk, Why: e.Msg})
				break
			}
		}
	}
}

// job is one kind to list and where it is served.
type job struct {
	gk schema.GroupKind
	r  resource
}

// listNamespaces lists the Namespace kind if it is among jobs, adds it to
// res and returns the namespaces' names and the other jobs.
func (s *Source) listNamespaces(ctx context.Context, client rest.Interface, jobs []job, res *Result) (namespaces []string, rest []job) {
	nsKind := schema.GroupKind{Kind: "Namespace"}
	for _, j := range jobs {
		if j.gk != nsKind {
			rest = append(rest, j)
			continue
		}
		p := s.listKind(ctx, client, j.gk, j.r, nil)
		for _, o := range p.Objects {
			namespaces = append(namespaces, o.Key.Name)
		}
		res.add(p)
	}
	return namespaces, rest
}

// listJobs lists each job's kind everywhere (listKind), at most
// Concurrency kinds at once.
func (s *Source) listJobs(ctx context.Context, client rest.Interface, jobs []job, namespaces []string) []Result {
	parts := make([]Result, len(jobs))
	s.concurrently(ctx, len(jobs), func(i int) {
		parts[i] = s.listKind(ctx, client, jobs[i].gk, jobs[i].r, namespaces)
	}, func(i int, err error) {
		parts[i] = Result{Errors: []files.InputError{callError("LIST "+jobs[i].r.gvr.Resource, err)}}
	})
	return parts
}

// concurrently runs do(0..n-1), at most Concurrency at once; a call that
// has not started when ctx ends gets cancelled(i, ctx.Err()) instead.
func (s *Source) concurrently(ctx context.Context, n int, do func(i int), cancelled func(i int, err error)) {
	conc := s.Concurrency
	if conc <= 0 {
		conc = 4
	}
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				cancelled(i, ctx.Err())
				return
			}
			do(i)
		}()
	}
	wg.Wait()
}

// add merges partial results into r.
func (r *Result) add(parts ...Result) {
	for _, p := range parts {
		r.Objects = append(r.Objects, p.Objects...)
		r.Listed = append(r.Listed, p.Listed...)
		r.MetadataOnly = append(r.MetadataOnly, p.MetadataOnly...)
		r.Errors = append(r.Errors, p.Errors...)
	}
}

// listKind lists one kind cluster-wide, or, when that is forbidden and the
// kind is namespaced, namespace by namespace.
func (s *Source) listKind(ctx context.Context, c rest.Interface, gk schema.GroupKind, r resource, namespaces []string) Result {
	metaOnly := gk == schema.GroupKind{Kind: "Secret"} && !s.ReadSecrets
	var res Result
	if metaOnly {
		res.MetadataOnly = []schema.GroupKind{gk}
	}
	objs, err := s.list(ctx, c, gk, r, "", metaOnly)
	if err == nil {
		res.Objects = objs
		res.Listed = []Scope{{Kind: gk}}
		return res
	}
	if !apierrors.IsForbidden(err) || !r.namespaced || len(namespaces) == 0 {
		res.Errors = append(res.Errors, listError(r, "", err))
		return res
	}
	var forbidden []string
	for _, ns := range namespaces {
		objs, err := s.list(ctx, c, gk, r, ns, metaOnly)
		switch {
		case err == nil:
			res.Objects = append(res.Objects, objs...)
			res.Listed = append(res.Listed, Scope{Kind: gk, Namespace: ns})
		case apierrors.IsForbidden(err):
			forbidden = append(forbidden, ns)
		default:
			res.Errors = append(res.Errors, listError(r, ns, err))
		}
	}
	if len(forbidden) > 0 {
		res.Errors = append(res.Errors, files.InputError{
			Pos: snapshot.Position{File: "live"},
			Msg: fmt.Sprintf("cannot list %s in namespace %s: forbidden", describeList(r, ""), strings.Join(forbidden, ", ")),
		})
	}
	return res
}

// list reads every page of one LIST. The next page is requested as soon
// as the current one's continue token is known, so the API server (and
// the network) work on it while this page is parsed.
func (s *Source) list(ctx context.Context, c rest.Interface, gk schema.GroupKind, r resource, ns string, metaOnly bool) ([]*snapshot.Object, error) {
	return s.pages(ctx, c, gk, r, ns, metaOnly, nil)
}

// headPage is the first page of a cluster-wide LIST, not yet read.
type headPage struct {
	body []byte
	cont string // "" when the page is the whole list
	// remaining is the number of objects after this page (the server's
	// remainingItemCount), -1 when the server did not say.
	remaining int64
}

// restPages is how many more requests reading the rest of the list costs
// (-1: unknown).
func (h headPage) restPages(limit int64) int64 {
	switch {
	case h.cont == "":
		return 0
	case h.remaining < 0:
		return -1
	}
	return max(1, (h.remaining+limit-1)/limit)
}

// head requests only the first page of a cluster-wide LIST, so that the
// caller can decide, knowing the list's size, whether to read the rest
// (pages with from) or list namespace by namespace instead.
func (s *Source) head(ctx context.Context, c rest.Interface, r resource, metaOnly bool) (headPage, error) {
	req := c.Get().AbsPath(listPath(r, "")...).Param("limit", fmt.Sprint(s.limit()))
	if metaOnly {
		req = req.SetHeader("Accept", "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1")
	}
	body, err := doWithRetry(ctx, req)
	if err != nil {
		return headPage{}, err
	}
	lm, err := listMeta(body)
	if err != nil {
		return headPage{}, err
	}
	h := headPage{body: body, cont: lm.Continue, remaining: -1}
	if lm.RemainingItemCount != nil {
		h.remaining = *lm.RemainingItemCount
	}
	return h, nil
}

func (s *Source) limit() int64 {
	if s.PageSize <= 0 {
		return 500
	}
	return s.PageSize
}

// listPage is one LIST page as the API server sent it, or why not.
type listPage struct {
	body []byte
	err  error
}

// fetchPage requests one page of the LIST of r in ns ("" for every
// namespace) from its continue token, in the background, so that callers
// can split one page while the next is on its way.
func (s *Source) fetchPage(ctx context.Context, c rest.Interface, r resource, ns, cont string, metaOnly bool) <-chan listPage {
	ch := make(chan listPage, 1)
	go func() {
		req := c.Get().AbsPath(listPath(r, ns)...).Param("limit", fmt.Sprint(s.limit()))
		if cont != "" {
			req = req.Param("continue", cont)
		}
		if metaOnly {
			req = req.SetHeader("Accept", "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1")
		}
		body, err := doWithRetry(ctx, req)
		ch <- listPage{body, err}
	}()
	return ch
}

// pages reads every page of one LIST; with from, the first page is the
// one already fetched (a cluster-wide head) and the rest follows its
// continue token.
func (s *Source) pages(ctx context.Context, c rest.Interface, gk schema.GroupKind, r resource, ns string, metaOnly bool, from *headPage) ([]*snapshot.Object, error) {
	fetch := func(cont string) <-chan listPage { return s.fetchPage(ctx, c, r, ns, cont, metaOnly) }
	reader := s.Loader.NewStreamReader()
	var out []*snapshot.Object
	var next <-chan listPage
	if from != nil {
		ch := make(chan listPage, 1)
		ch <- listPage{body: from.body}
		next = ch
	} else {
		next = fetch("")
	}
	for {
		pg := <-next
		if pg.err != nil {
			return nil, pg.err
		}
		body := pg.body
		cont, err := continueToken(body)
		if err != nil {
			return nil, err
		}
		if cont != "" {
			next = fetch(cont)
		}
		if metaOnly {
			body, err = asKind(body, gk, r.gvr.GroupVersion())
			if err != nil {
				return nil, fmt.Errorf("reading the %s metadata: %w", r.gvr.Resource, err)
			}
		}
		out = append(out, s.readPage(reader, r, ns, metaOnly, body)...)
		if cont == "" {
			return out, nil
		}
	}
}

// readPage reads one LIST page (a metadata-only one already turned into a
// list of its kind by asKind) into live objects.
func (s *Source) readPage(reader *files.StreamReader, r resource, ns string, metaOnly bool, body []byte) []*snapshot.Object {
	page := reader.Read("live:"+describeList(r, ns), body)
	for _, e := range page.Errors {
		s.logf("object of a LIST page not read", "list", describeList(r, ns), "error", e.Msg)
	}
	for _, o := range page.Objects {
		o.Origin = snapshot.Origin{Live: true}
		o.Locator = nil // the page's bytes are not kept
		if metaOnly {
			// Unknown, not empty: checks that need keys say so.
			o.MetadataOnly, o.Secret = true, nil
		}
	}
	return page.Objects
}

func (s *Source) logf(msg string, args ...any) {
	if s.Log != nil {
		s.Log.Warn(msg, args...)
	}
}

// doWithRetry sends one GET, retrying what may pass on a second try (the
// API server overloaded or restarting) with exponential backoff; client-go
// already honours Retry-After on 429.
func doWithRetry(ctx context.Context, req *rest.Request) ([]byte, error) {
	backoff := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		body, err := req.Do(ctx).Raw()
		if err == nil {
			return body, nil
		}
		retryable := apierrors.IsTooManyRequests(err) || apierrors.IsServerTimeout(err) ||
			apierrors.IsInternalError(err) || apierrors.IsServiceUnavailable(err) || apierrors.IsTimeout(err)
		if !retryable || attempt == 4 {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(backoff):
			backoff *= 2
		}
	}
}

func listPath(r resource, ns string) []string {
	p := []string{"/apis", r.gvr.Group, r.gvr.Version}
	if r.gvr.Group == "" {
		p = []string{"/api", r.gvr.Version}
	}
	if ns != "" && r.namespaced {
		p = append(p, "namespaces", ns)
	}
	return append(p, r.gvr.Resource)
}

func describeList(r resource, ns string) string {
	g := r.gvr.Resource
	if r.gvr.Group != "" {
		g += "." + r.gvr.Group
	}
	if ns != "" {
		return g + " -n " + ns
	}
	return g
}

// discover maps every served kind to its preferred resource. Groups that
// fail discovery (a broken aggregated API) are named in the error and the
// rest is still returned.
func discover(ctx context.Context, cfg *rest.Config) (map[schema.GroupKind]resource, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	lists, err := discovery.ServerPreferredResourcesWithContext(ctx, discovery.ToDiscoveryInterfaceWithContext(dc))
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return nil, err
	}
	out := map[schema.GroupKind]resource{}
	for _, l := range lists {
		gv, perr := schema.ParseGroupVersion(l.GroupVersion)
		if perr != nil {
			continue
		}
		for _, ar := range l.APIResources {
			if strings.Contains(ar.Name, "/") || !hasVerb(ar.Verbs, "list") {
				continue // subresources, and kinds that cannot be listed
			}
			gk := schema.GroupKind{Group: gv.Group, Kind: ar.Kind}
			if _, dup := out[gk]; !dup {
				out[gk] = resource{gvr: gv.WithResource(ar.Name), namespaced: ar.Namespaced}
			}
		}
	}
	return out, err
}

func hasVerb(verbs metav1.Verbs, v string) bool {
	for _, x := range verbs {
		if x == v {
			return true
		}
	}
	return false
}

// rawClient is a REST client for raw GETs of any path.
func rawClient(cfg *rest.Config) (rest.Interface, error) {
	c := rest.CopyConfig(cfg)
	c.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	c.AcceptContentTypes = "application/json"
	c.ContentType = "application/json"
	if c.UserAgent == "" {
		c.UserAgent = "meshdoctor"
	}
	return rest.UnversionedRESTClientFor(c)
}

// listError names the LIST that failed and why; a refusal reads as
// kubectl's does.
func listError(r resource, ns string, err error) files.InputError {
	if apierrors.IsForbidden(err) {
		where := ""
		if ns != "" {
			where = " in namespace " + ns
		}
		return files.InputError{Pos: snapshot.Position{File: "live"}, Msg: fmt.Sprintf("cannot list %s%s: forbidden", describeList(r, ""), where)}
	}
	return callError("LIST "+describeList(r, ns), err)
}

func callError(call string, err error) files.InputError {
	var status apierrors.APIStatus
	msg := err.Error()
	if errors.As(err, &status) {
		msg = fmt.Sprintf("%s (HTTP %d)", status.Status().Message, status.Status().Code)
	}
	return files.InputError{Pos: snapshot.Position{File: "live"}, Msg: call + ": " + msg}
}

// countingTransport counts requests, for the report and the benchmarks.
type countingTransport struct {
	rt http.RoundTripper
	n  *atomic.Int64
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.n.Add(1)
	return t.rt.RoundTrip(r)
}
