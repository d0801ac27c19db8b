package files

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/meshdoctor/meshdoctor/internal/decode"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/yamltree"
)

// parser parses one stream.
type parser struct {
	l    *Loader
	u    unit
	data []byte // the whole stream, BOM included
	base int    // offset of body within data (BOM length)
	// stream is body scanned: its line ends. Shared, read only, by the
	// parsers of one stream's batches.
	stream *yamltree.Stream
	res    Result
	*reader
	proj *projections
	// secretDocs are in-memory documents holding a Secret, handled once
	// the whole stream is decoded.
	secretDocs []*parsedDoc
	// lazyFailed is set when an object of the document being read needed
	// text its reader took from the Memo; the document is read again.
	lazyFailed bool
}

func (p *parser) errorf(line int, format string, args ...any) {
	p.res.Errors = append(p.res.Errors, InputError{Pos: snapshot.Position{File: p.u.name, Line: line}, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) source(start, end int) docSource {
	if p.u.path != "" {
		return fileSource{path: p.u.path, start: p.base + start, end: p.base + end}
	}
	return memSource(p.data[p.base+start : p.base+end])
}

// typeErrFieldRE finds the field path in encoding/json type errors:
// "Go struct field ObjectMeta.metadata.name of type string".
var typeErrFieldRE = regexp.MustCompile(`Go struct field [A-Za-z0-9_]+\.(\S+) of type`)

var yamlLineRE = regexp.MustCompile(`^(?:error converting YAML to JSON: )?yaml: line (\d+): (.*)$`)

// internalError turns a panic while reading one document into an input
// error at line: a reader bug must cost that document, not the run.
func (p *parser) internalError(line int) {
	if v := recover(); v != nil {
		p.lazyFailed = false
		p.errorf(line, "internal error while reading this document (please report it): %v", v)
	}
}

func (p *parser) parseYAMLDoc(body []byte, sp span) {
	defer p.internalError(sp.contentLine)
	raw := body[sp.start:sp.end]
	doc := &parsedDoc{src: p.source(sp.start, sp.end), file: p.u.name, line: sp.line, col: 1, start: sp.start}
	// The fast reader handles the block style tools write; anything else
	// goes through the complete YAML library, with kubectl's semantics.
	tree, err := p.yaml.ParseDoc(p.stream, sp.start, sp.end, sp.line)
	if err == nil {
		nobj, nerr, nsec := len(p.res.Objects), len(p.res.Errors), len(p.secretDocs)
		p.parseTree(tree, doc, sp.contentLine, nil)
		if !p.lazyFailed {
			return
		}
		// An object needed text the reader took from its Memo (it is
		// decoded from JSON, say): read the document again, whole.
		p.lazyFailed = false
		p.res.Objects, p.res.Errors, p.secretDocs = p.res.Objects[:nobj], p.res.Errors[:nerr], p.secretDocs[:nsec]
		doc.objects = 0
		memo := p.yaml.Memo
		p.yaml.Memo = nil
		tree, err = p.yaml.ParseDoc(p.stream, sp.start, sp.end, sp.line)
		p.yaml.Memo = memo
		if err == nil {
			p.parseTree(tree, doc, sp.contentLine, nil)
			return
		}
	}
	js, dups, err := yamlToJSON(raw, sp.line)
	if err != nil {
		msg := err.Error()
		line := sp.contentLine
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			n, _ := strconv.Atoi(m[1])
			line = sp.line + n - 1
			msg = "invalid YAML: " + m[2]
		} else {
			msg = "invalid YAML: " + strings.TrimPrefix(strings.TrimPrefix(msg, "error converting YAML to JSON: "), "yaml: ")
		}
		p.errorf(line, "%s", msg)
		return
	}
	tree, _, err = yamltree.ParseJSON(js)
	if err != nil {
		p.errorf(sp.contentLine, "invalid YAML: %v", err)
		return
	}
	n := len(p.res.Objects)
	p.parseTree(tree, doc, sp.contentLine, nil)
	// Attach repeated keys to the document's object (or the List item that
	// holds the line: the last item starting at or before it).
	for _, d := range dups {
		var owner *snapshot.Object
		for _, o := range p.res.Objects[n:] {
			start := o.Origin.Line
			if o.Locator != nil {
				pos, _ := o.Locator.Locate(nil)
				start = pos.Line
			}
			if start <= d.Line {
				owner = o
			}
		}
		if owner != nil {
			owner.FieldIssues = append(owner.FieldIssues, d)
		}
	}
}

var dupKeyRE = regexp.MustCompile(`line (\d+): key "((?:[^"\\]|\\.)*)" already set in map`)

// yamlToJSON converts like kubectl: YAML 1.1 scalars, and repeated keys
// in one mapping detected (the lenient conversion would keep the last one
// silently). Repeated keys are returned as issues with their absolute line.
func yamlToJSON(raw []byte, firstLine int) ([]byte, []snapshot.FieldIssue, error) {
	js, err := yaml.YAMLToJSONStrict(raw)
	if err == nil {
		return js, nil, nil
	}
	ms := dupKeyRE.FindAllStringSubmatch(err.Error(), -1)
	if ms == nil {
		return nil, nil, err
	}
	js, err = yaml.YAMLToJSON(raw)
	if err != nil {
		return nil, nil, err
	}
	var dups []snapshot.FieldIssue
	for _, m := range ms {
		n, _ := strconv.Atoi(m[1])
		key, uerr := strconv.Unquote(`"` + m[2] + `"`)
		if uerr != nil {
			key = m[2]
		}
		dups = append(dups, snapshot.FieldIssue{Path: snapshot.P(key), Duplicate: true, Line: firstLine + n - 1})
	}
	return js, dups, nil
}

// parseJSONStream reads one or more JSON values. It returns false when the
// stream is not JSON after all (a YAML flow mapping), so YAML is tried.
func (p *parser) parseJSONStream(body []byte) (ok bool) {
	defer p.finishSecrets()
	at := 1 // the line of the value being read, for internalError
	defer func() {
		if v := recover(); v != nil {
			p.errorf(at, "internal error while reading this JSON (please report it; the rest of the file was not read): %v", v)
			ok = true
		}
	}()
	// Lines are counted incrementally: a stream of many one-line values
	// (jq -c) must not rescan the file for each.
	line, lineStart, counted := 1, 0, 0
	position := func(at int) (int, int) {
		if at > counted {
			seg := body[counted:at]
			if n := bytes.Count(seg, []byte{'\n'}); n > 0 {
				line += n
				lineStart = counted + bytes.LastIndexByte(seg, '\n') + 1
			}
			counted = at
		}
		return line, at - lineStart + 1
	}
	stream := p.reader.json
	if stream == nil {
		stream = yamltree.NewJSONStream(body)
		p.reader.json = stream
	} else {
		stream.Reset(body)
	}
	stream.Skip, stream.Prune, stream.Memo = p.yaml.Skip, p.yaml.Prune, p.yaml.Memo
	for first := true; ; first = false {
		v, err := stream.Next()
		if err != nil {
			errLine, _ := position(v.End)
			if first {
				// Perhaps a YAML flow mapping: let the YAML reader try, and
				// keep this error in case it fails too.
				p.errorf(errLine, "%v", err)
				return false
			}
			p.errorf(errLine, "%v (the rest of the file was not read)", err)
			return true
		}
		if v.Node == nil {
			return true
		}
		l, col := position(v.Start)
		at = l
		// A List's items get documents of their own, so locating a field of
		// one never re-reads the whole List.
		itemAt := make([][2]int, len(v.Items))
		for i, it := range v.Items {
			itemAt[i][0], itemAt[i][1] = position(it[0])
		}
		newDoc := func() *parsedDoc {
			doc := &parsedDoc{src: p.source(v.Start, v.End), file: p.u.name, line: l, col: col, start: v.Start}
			for i, it := range v.Items {
				doc.itemDocs = append(doc.itemDocs, &parsedDoc{src: p.source(it[0], it[1]), file: p.u.name, line: itemAt[i][0], col: itemAt[i][1], start: it[0]})
			}
			return doc
		}
		nobj, nerr, nsec := len(p.res.Objects), len(p.res.Errors), len(p.secretDocs)
		p.parseTree(v.Node, newDoc(), l, clonePaths(v.Dups))
		if p.lazyFailed {
			// An object needed text the reader took from its Memo: read
			// the value again, whole, into new documents.
			p.lazyFailed = false
			p.res.Objects, p.res.Errors, p.secretDocs = p.res.Objects[:nobj], p.res.Errors[:nerr], p.secretDocs[:nsec]
			if v, err = stream.Reread(v); err != nil {
				p.errorf(l, "%v (the rest of the file was not read)", err) // it was read once: cannot be
				return true
			}
			p.parseTree(v.Node, newDoc(), l, clonePaths(v.Dups))
		}
		next := v.End // where the next value starts, for internalError
		for next < len(body) && (body[next] == ' ' || body[next] == '\t' || body[next] == '\r' || body[next] == '\n') {
			next++
		}
		at, _ = position(next)
	}
}

// clonePaths copies tree paths with clonePath.
func clonePaths(ds []yamltree.Path) []snapshot.Path {
	var out []snapshot.Path
	for _, d := range ds {
		out = append(out, clonePath(d))
	}
	return out
}

// clonePath copies a tree path's strings, which share the input buffer.
func clonePath(d yamltree.Path) snapshot.Path {
	out := make(snapshot.Path, len(d))
	for i, e := range d {
		if s, ok := e.(string); ok {
			e = strings.Clone(s)
		}
		out[i] = e
	}
	return out
}

// finishSecrets runs when every tree of the stream has been decoded. A
// Secret alone in its in-memory document has its bytes blanked (line
// breaks kept): other documents' bytes are slices of the same buffer and
// would keep the values reachable. A Secret that shares its document with
// other objects cannot be blanked without breaking their positions; that
// document is parsed now (Secret values scrubbed from the tree) and its
// bytes are no longer referenced by it.
func (p *parser) finishSecrets() {
	for _, doc := range p.secretDocs {
		m, ok := doc.src.(memSource)
		if !ok {
			continue
		}
		if doc.objects == 1 {
			for i := range m {
				if m[i] != '\n' {
					m[i] = ' '
				}
			}
			continue
		}
		doc.node()
		doc.src = memSource(nil)
	}
	p.secretDocs = nil
}

// parseTree handles one document: an object, a List, or an array. dups are
// repeated JSON keys, by their path from the document root.
func (p *parser) parseTree(n *yamltree.Node, doc *parsedDoc, line int, dups []snapshot.Path) {
	// dupsUnder returns the repeated keys below prefix, relative to it.
	dupsUnder := func(prefix snapshot.Path) []snapshot.FieldIssue {
		var out []snapshot.FieldIssue
		for _, d := range dups {
			if len(d) >= len(prefix) && d[:len(prefix)].String() == prefix.String() {
				out = append(out, snapshot.FieldIssue{Path: d[len(prefix):], Duplicate: true})
			}
		}
		return out
	}
	switch n.Kind {
	case yamltree.Null:
		return
	case yamltree.Seq:
		for i, it := range n.Children {
			p.parseObject(it, doc, snapshot.P(i), line, dupsUnder(snapshot.P(i)))
		}
		return
	case yamltree.Map:
	default:
		p.errorf(line, "document is not an object (found %.20q)", n.Text)
		return
	}
	kind, items := n.Get("kind"), n.Get("items")
	if kind != nil && kind.Kind == yamltree.String && strings.HasSuffix(kind.Text, "List") && items != nil && items.Kind == yamltree.Seq {
		itemKind := ""
		if kind.Text != "List" {
			itemKind = strings.TrimSuffix(kind.Text, "List")
		}
		av := n.Get("apiVersion")
		for i, it := range items.Children {
			if itemKind != "" && it.Kind == yamltree.Map && it.Get("kind") == nil && av != nil {
				// A typed List's items carry no apiVersion/kind (a PodList's
				// items are Pods).
				it.Keys = append(it.Keys, "apiVersion", "kind")
				it.Children = append(it.Children, av, &yamltree.Node{Kind: yamltree.String, Text: itemKind})
			}
			idoc, prefix, itemLine := p.itemDoc(doc, it, i, line)
			p.parseObject(it, idoc, prefix, itemLine, dupsUnder(snapshot.P("items", i)))
		}
		return
	}
	p.parseObject(n, doc, nil, line, dupsUnder(nil))
}

// itemDoc gives a List item a document of its own — just its bytes — when
// its span is known: from the JSON stream, or from the fast YAML reader for
// Lists the loader did not already cut into items. Locating one of its
// fields then never re-reads the whole List (a cluster dump can be hundreds
// of megabytes), and its origin line is exact. It returns the document, the
// item's path in it, and its line; without a span the item shares the
// List's document and line.
func (p *parser) itemDoc(doc *parsedDoc, it *yamltree.Node, i, listLine int) (*parsedDoc, snapshot.Path, int) {
	if i < len(doc.itemDocs) {
		return doc.itemDocs[i], nil, doc.itemDocs[i].line
	}
	if it.Line > 0 && doc.col == 1 {
		if s, e, ok := p.yaml.ItemSpan(it.Line); ok {
			body := p.data[p.base:]
			if raw := body[doc.start+s : doc.start+e]; strings.HasPrefix(strings.TrimLeft(string(raw[:min(len(raw), 256)]), " "), "-") {
				line := doc.line + it.Line - 1
				return &parsedDoc{src: p.source(doc.start+s, doc.start+e), file: p.u.name, line: line, col: 1, start: doc.start + s}, snapshot.P(0), line
			}
		}
	}
	return doc, snapshot.P("items", i), listLine
}

func (p *parser) parseObject(n *yamltree.Node, doc *parsedDoc, prefix snapshot.Path, docLine int, dups []snapshot.FieldIssue) {
	// Items that share their List's document keep the List's line as their
	// origin; their own line is resolved lazily, only when a finding needs it.
	loc := &yamlLocator{doc: doc, prefix: prefix, fallback: snapshot.Position{File: p.u.name, Line: docLine}}
	line := docLine
	gk := p.trim(n)
	res, err := p.l.Decoder.DecodeTreeWith(n, decode.TreeOptions{Intern: p.intern, Memo: memoOf(p.yaml), Projection: p.proj.of(gk)})
	if decode.ErrLazy(err) {
		p.lazyFailed = true
		return
	}
	if err != nil {
		// Only on error: point at the field the decoder names, else at the
		// item's own line.
		if m := typeErrFieldRE.FindStringSubmatch(err.Error()); m != nil {
			pos, _ := loc.Locate(snapshot.ParsePath(m[1]))
			line = pos.Line
		} else if len(prefix) > 0 {
			pos, _ := loc.Locate(nil)
			line = pos.Line
		}
		if errors.Is(err, decode.ErrNoKind) {
			p.errorf(line, "not a Kubernetes object: %v", err)
		} else {
			p.errorf(line, "%v", err)
		}
		return
	}
	dropLastApplied(res.Obj)
	origin := snapshot.Origin{File: p.u.name, Line: line}
	var l snapshot.Locator = loc
	if res.Obj.GetObjectKind().GroupVersionKind().Kind == "Secret" {
		// Never keep a way back to a Secret's values: no locator for the
		// Secret itself, and for in-memory input the document is parsed now
		// (node() scrubs Secret values) and its bytes dropped.
		l = nil
		p.secretDocs = append(p.secretDocs, doc) // see finishSecrets
	}
	doc.objects++
	obj, err := snapshot.NewObjectCaching(res.Obj, origin, l, p.certs)
	if err != nil {
		p.errorf(line, "%v", err)
		return
	}
	obj.FieldIssues = outsideStatus(append(p.l.userWritten(res.Obj, res.Issues), dups...))
	p.res.Objects = append(p.res.Objects, obj)
}

// userWritten returns the unknown fields of obj worth reporting: none when
// obj is a built-in kind an API server returned (metadata with a uid and a
// resourceVersion). Such a server drops every field its types do not know,
// so a field this decoder does not know there comes from a newer
// Kubernetes — reporting it would be a false alarm on every object of that
// kind — and the fast reader does not read what no check needs of such
// objects (Loader.pruneFunc).
func (l *Loader) userWritten(obj runtime.Object, issues []snapshot.FieldIssue) []snapshot.FieldIssue {
	if len(issues) == 0 {
		return issues
	}
	m, err := meta.Accessor(obj)
	if err != nil || m.GetUID() == "" || m.GetResourceVersion() == "" {
		return issues
	}
	gvk := obj.GetObjectKind().GroupVersionKind()
	if !l.Decoder.Builtin(gvk.GroupVersion().String(), gvk.Kind) {
		return issues
	}
	return nil
}

// outsideStatus drops the issues found under status. Controllers write
// status, not users: a field there the decoder does not know comes from a
// newer Kubernetes or controller, so it would be a false alarm; and the fast
// reader does not read status that no check needs (Loader.skipFunc).
func outsideStatus(issues []snapshot.FieldIssue) []snapshot.FieldIssue {
	out := issues[:0]
	for _, is := range issues {
		if len(is.Path) > 0 && is.Path[0] == "status" {
			continue
		}
		out = append(out, is)
	}
	return out
}

// trim removes from an object's tree what no analyzer reads and what would
// dominate memory: managedFields of kinds no selected check needs, and the
// last-applied-configuration annotation (a second copy of the object, and
// of a Secret's values).
// It returns the object's group-kind (empty when the tree has none).
func (p *parser) trim(n *yamltree.Node) schema.GroupKind {
	var gk schema.GroupKind
	if av, k := n.Get("apiVersion"), n.Get("kind"); av != nil && k != nil {
		if group, _, found := strings.Cut(av.Text, "/"); found {
			gk.Group = group
		}
		gk.Kind = k.Text
	}
	md := n.Get("metadata")
	if md == nil || md.Kind != yamltree.Map {
		return gk
	}
	if p.l.ManagedFields != nil && !p.l.ManagedFields[gk] {
		md.Delete("managedFields")
	}
	for i, k := range md.Keys {
		if ann := md.Children[i]; k == "annotations" && ann.Get(corev1.LastAppliedConfigAnnotation) != nil {
			// A copy: the node may stand for other objects' maps of the
			// same text (the Memo), and its value is no longer its text's.
			trimmed := *ann
			trimmed.Memo = nil
			trimmed.Delete(corev1.LastAppliedConfigAnnotation)
			md.Children[i] = &trimmed
		}
	}
	return gk
}

// dropLastApplied removes the last-applied annotation from a decoded
// object that still has it: trim takes it out of the tree, but a map the
// Memo supplied whole may hold it (labels of the same text). The map may
// be shared, so it is replaced, never changed.
func dropLastApplied(obj runtime.Object) {
	if _, ok := obj.(*unstructured.Unstructured); ok {
		return // no memo scopes in its metadata; and reading its annotations copies them
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	if a := m.GetAnnotations(); a != nil {
		if _, ok := a[corev1.LastAppliedConfigAnnotation]; ok {
			a = maps.Clone(a)
			delete(a, corev1.LastAppliedConfigAnnotation)
			m.SetAnnotations(a)
		}
	}
}
