// Package files loads Kubernetes and mesh objects from files, directories,
// standard input and .tar.gz bundles. Every object keeps where it came from
// so findings can point at file:line, and a broken document never stops the
// others from being analyzed.
package files

import (
	"context"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/decode"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/yamltree"
)

// InputError is a part of the input that could not be read or parsed.
type InputError struct {
	Pos snapshot.Position `json:"position"`
	Msg string            `json:"message"`
}

func (e InputError) Error() string { return e.Pos.String() + ": " + e.Msg }

// Result is what a load produced: objects in input order and the errors of
// the parts that failed.
type Result struct {
	Objects []*snapshot.Object
	Errors  []InputError
	// Files counts the files read.
	Files int
}

// Loader reads inputs. It holds no state between calls.
type Loader struct {
	Decoder *decode.Decoder
	Stdin   io.Reader
	Log     *slog.Logger
	// Workers bounds concurrent parsing; 0 means GOMAXPROCS.
	Workers int
	// ManagedFields names the kinds whose metadata.managedFields are kept
	// (what the selected analyzers read); nil keeps them for every kind.
	ManagedFields map[schema.GroupKind]bool
	// Reads names, per kind, the fields to decode (besides apiVersion, kind
	// and metadata; kinds not named keep only those); nil decodes
	// everything. Unknown fields are reported everywhere either way.
	Reads map[schema.GroupKind][]string
	// NoMemo turns off sharing decoded values among objects that repeat
	// them (decode.Memo); for tests that compare with and without.
	NoMemo bool
}

// projections turns Reads into one decode.Projection per kind.
type projections struct {
	byKind map[schema.GroupKind]*decode.Projection
	none   *decode.Projection // for kinds nobody reads
}

func (l *Loader) projections() *projections {
	if l.Reads == nil {
		return nil
	}
	p := &projections{byKind: map[schema.GroupKind]*decode.Projection{}, none: decode.NewProjection(nil)}
	for gk, paths := range l.Reads {
		p.byKind[gk] = decode.NewProjection(paths)
	}
	return p
}

func (p *projections) of(gk schema.GroupKind) *decode.Projection {
	if p == nil {
		return nil
	}
	if pr, ok := p.byKind[gk]; ok {
		return pr
	}
	return p.none
}

// skipFunc tells the fast YAML reader which fields of an object to pass
// over unread, so they cost neither tree nodes nor decoding: managedFields
// of kinds whose managedFields no selected check reads (trim would drop them
// anyway), and status where no selected check reads it. Status is written by
// the API server's controllers: a field there that the decoder does not
// know means a newer Kubernetes, not a mistake in the input, so nothing is
// lost by not checking it. With no projection everything is read.
func (l *Loader) skipFunc(proj *projections, kinds *kindCache) yamltree.SkipFunc {
	if proj == nil {
		return nil
	}
	return func(apiVersion, kind, top, key string) bool {
		if apiVersion == "" || kind == "" {
			return false
		}
		switch {
		case top == "" && key == "status":
			return kinds.get(apiVersion, kind).hasStatus && !proj.of(groupKind(apiVersion, kind)).Keeps("status")
		case top == "metadata" && key == "managedFields":
			return l.ManagedFields != nil && !l.ManagedFields[groupKind(apiVersion, kind)]
		}
		return false
	}
}

// pruneFunc tells the fast YAML reader which parts of an object's fields
// to build: of status, only what the selected checks read (unknown fields
// there are never reported, see outsideStatus); of a built-in kind an API
// server returned, only what the checks read of every field (nothing there
// is reported either, see userWritten). Everything else is read whole, so
// its unknown fields are found. With no projection everything is read.
func (l *Loader) pruneFunc(proj *projections, kinds *kindCache) yamltree.PruneFunc {
	if proj == nil {
		return nil
	}
	return func(apiVersion, kind, key string, served bool) yamltree.Fields {
		if apiVersion == "" || kind == "" {
			return nil
		}
		if key == "metadata" {
			if kinds.memo && kinds.get(apiVersion, kind).known {
				return kinds.meta // all of it, labels and annotations memoized
			}
			return nil
		}
		if key != "status" && !served {
			return nil
		}
		info := kinds.get(apiVersion, kind)
		if !info.known || key != "status" && !info.builtin {
			return nil
		}
		var fields yamltree.Fields = proj.of(groupKind(apiVersion, kind))
		if info.memo != nil {
			fields = info.memo // the same fields, with memo scopes
		}
		sub, keep := fields.Field(key)
		if !keep {
			return noFields{}
		}
		return sub
	}
}

// reader is one worker's reading state, reused from one file to the
// next: the YAML reader, the interner, the certificate cache.
type reader struct {
	yaml   *yamltree.Parser
	intern *decode.Interner
	certs  *snapshot.CertCache
	spans  []span // the documents of the stream being read
	// stream is the stream being read, its lines found once.
	stream yamltree.Stream
	// json reads JSON streams, one after the other in the same memory.
	json *yamltree.JSONStream
}

// newReader returns one worker's reader. The YAML reader's Skip and Prune
// share one cache of what the decoder knows about each kind; with a
// projection it also gets a Memo (see decode.Memo), which the decoder
// finds there (memoOf).
func (l *Loader) newReader(proj *projections) *reader {
	ps := yamltree.NewParser()
	kinds := &kindCache{d: l.Decoder, proj: proj, m: map[typeKey]kindInfo{}}
	if proj != nil && !l.NoMemo {
		ps.Memo = decode.NewMemo()
		kinds.memo, kinds.meta = true, l.Decoder.MetadataFields()
	}
	ps.Skip, ps.Prune = l.skipFunc(proj, kinds), l.pruneFunc(proj, kinds)
	return &reader{yaml: ps, intern: decode.NewInterner(), certs: snapshot.NewCertCache()}
}

// memoOf returns the Memo of a reader newReader made, or nil.
func memoOf(ps *yamltree.Parser) *decode.Memo {
	m, _ := ps.Memo.(*decode.Memo)
	return m
}

type typeKey struct{ apiVersion, kind string }

// kindInfo is what Skip and Prune need to know about a kind.
type kindInfo struct {
	hasStatus bool // its type has a status field
	known     bool // it decodes into a typed value
	builtin   bool // compiled into the API server
	// memo is the projection's fields with memo scopes (nil: none).
	memo yamltree.Fields
}

// kindCache remembers kindInfo per apiVersion and kind, for one worker (no
// locking): the reader asks for every field of every object.
type kindCache struct {
	d    *decode.Decoder
	proj *projections
	m    map[typeKey]kindInfo
	// memo is set when the reader has a Memo; meta is then the Fields
	// through which it reads metadata (decode.MetadataFields).
	memo bool
	meta yamltree.Fields
}

func (c *kindCache) get(apiVersion, kind string) kindInfo {
	if info, ok := c.m[typeKey{apiVersion, kind}]; ok {
		return info
	}
	info := kindInfo{
		hasStatus: c.d.HasField(apiVersion, kind, "status"),
		known:     c.d.Knows(apiVersion, kind),
		builtin:   c.d.Builtin(apiVersion, kind),
	}
	if c.memo {
		info.memo = c.d.MemoFields(apiVersion, kind, c.proj.of(groupKind(apiVersion, kind)))
	}
	// Cloned: the reader's strings point into the input buffer.
	c.m[typeKey{strings.Clone(apiVersion), strings.Clone(kind)}] = info
	return info
}

// noFields keeps none of a field's own fields.
type noFields struct{}

func (noFields) Field(string) (yamltree.Fields, bool) { return nil, false }

func groupKind(apiVersion, kind string) schema.GroupKind {
	group, _, found := strings.Cut(apiVersion, "/")
	if !found {
		group = ""
	}
	return schema.GroupKind{Group: group, Kind: kind}
}

// unit is one stream to parse: a file on disk or bytes in memory.
type unit struct {
	name string // shown in positions
	path string // on disk, when the stream can be re-read for locations
	data []byte // in memory (stdin, archive members), else nil
}

// Load reads every path (files, directories recursively, "-" for stdin,
// .tar.gz bundles). Paths that cannot be read become input errors.
func (l *Loader) Load(ctx context.Context, paths []string) Result {
	var units []unit
	var res Result
	for _, p := range paths {
		us, err := l.expand(p)
		if err != nil {
			res.Errors = append(res.Errors, InputError{Pos: snapshot.Position{File: p}, Msg: err.Error()})
		}
		units = append(units, us...)
	}
	res.Files = len(units)
	proj := l.projections()
	parts := make([]Result, len(units))
	workers := l.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// One of each per worker: the parser reuses its memory, the
			// interner shares repeated strings among the worker's objects.
			rd := l.newReader(proj)
			var buf []byte // file bytes, reused: nothing decoded keeps them
			for i := range next {
				parts[i], buf = l.loadUnit(units[i], rd, proj, buf)
			}
		}()
	}
feed:
	for i := range units {
		select {
		case next <- i:
		case <-ctx.Done():
			res.Errors = append(res.Errors, InputError{Pos: snapshot.Position{File: units[i].name}, Msg: "not read: " + ctx.Err().Error()})
			break feed
		}
	}
	close(next)
	wg.Wait()
	for _, p := range parts {
		res.Objects = append(res.Objects, p.Objects...)
		res.Errors = append(res.Errors, p.Errors...)
	}
	return res
}

// loadUnit parses one stream. A file is read into buf, which it returns
// for the next file: decoded objects copy what they keep, and locations
// re-read the file, so no object refers to these bytes afterwards.
func (l *Loader) loadUnit(u unit, rd *reader, proj *projections, buf []byte) (Result, []byte) {
	data := u.data
	if data == nil {
		b, err := readFileInto(u.path, buf)
		if err != nil {
			return Result{Errors: []InputError{{Pos: snapshot.Position{File: u.name}, Msg: "cannot read: " + unwrapPathError(err).Error()}}}, b
		}
		data, buf = b, b
	}
	return l.parseUnit(u, data, rd, proj), buf
}

// readFileInto reads a whole file into buf's memory, growing it as needed.
func readFileInto(path string, buf []byte) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return buf, err
	}
	defer f.Close()
	buf = buf[:0]
	if st, err := f.Stat(); err == nil && st.Size() > 0 && int64(cap(buf)) < st.Size()+1 {
		// +1: see EOF without growing; a quarter more, so that the next
		// file, often a little larger, fits too.
		buf = make([]byte, 0, st.Size()+1+st.Size()/4)
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

func (l *Loader) parseUnit(u unit, data []byte, rd *reader, proj *projections) Result {
	bomLen := 0
	if strings.HasPrefix(string(data[:min(3, len(data))]), "\xef\xbb\xbf") {
		bomLen = 3
	}
	p := &parser{l: l, u: u, data: data, base: bomLen, reader: rd, proj: proj}
	body := data[bomLen:]
	var jsonErr *InputError
	if looksLikeJSON(body) {
		if p.parseJSONStream(body) {
			return p.res
		}
		if len(p.res.Errors) > 0 {
			jsonErr = &p.res.Errors[0]
		}
	}
	// The documents, each List's items in place of the List. The split
	// reuses the worker's buffer; a stream with a List gets its own.
	if err := rd.stream.Scan(body); err != nil {
		p.errorf(1, "%v", err)
		return p.res
	}
	p.stream = &rd.stream
	split := splitYAML(&rd.stream, rd.spans[:0])
	rd.spans = split[:0]
	spans := split
	listed := false
	for i, sp := range split {
		items, ok := splitList(&rd.stream, sp)
		if ok && !listed {
			spans, listed = append(make([]span, 0, len(split)+len(items)), split[:i]...), true
		}
		switch {
		case ok:
			spans = append(spans, items...)
		case listed:
			spans = append(spans, sp)
		}
	}
	p.res = Result{} // drop the JSON attempt's error; kept in jsonErr
	p.res = l.parseSpans(p, body, spans)
	if jsonErr != nil && len(p.res.Objects) == 0 && len(p.res.Errors) > 0 {
		// It looked like JSON and is not YAML either: the JSON reader's
		// complaint is the one that helps.
		p.res.Errors = []InputError{*jsonErr}
	}
	return p.res
}

// parallelSpans is the number of documents from which one file is worth
// spreading over several goroutines (a cluster dump in one file).
const parallelSpans = 512

// parseSpans reads the documents of one stream, in order. A large stream is
// cut into contiguous batches read concurrently, each with its own parser
// and interner, and the results are joined in document order.
func (l *Loader) parseSpans(p *parser, body []byte, spans []span) Result {
	workers := l.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if len(spans) < parallelSpans || workers < 2 {
		for _, sp := range spans {
			p.parseYAMLDoc(body, sp)
		}
		p.finishSecrets()
		return p.res
	}
	parts := make([]Result, workers)
	batches := make([]*parser, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := w*len(spans)/workers, (w+1)*len(spans)/workers
		bp := &parser{l: l, u: p.u, data: p.data, base: p.base, reader: p.reader, proj: p.proj, stream: p.stream}
		if w > 0 {
			bp.reader = l.newReader(p.proj)
		}
		batches[w] = bp
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, sp := range spans[lo:hi] {
				bp.parseYAMLDoc(body, sp)
			}
			parts[w] = bp.res
		}()
	}
	wg.Wait()
	var res Result
	for _, bp := range batches {
		bp.finishSecrets()
	}
	for _, part := range parts {
		res.Objects = append(res.Objects, part.Objects...)
		res.Errors = append(res.Errors, part.Errors...)
	}
	return res
}

// SortErrors orders errors by file and line.
func SortErrors(errs []InputError) {
	sort.SliceStable(errs, func(i, j int) bool {
		if errs[i].Pos.File != errs[j].Pos.File {
			return errs[i].Pos.File < errs[j].Pos.File
		}
		return errs[i].Pos.Line < errs[j].Pos.Line
	})
}
