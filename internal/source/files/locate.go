package files

import (
	"fmt"
	"os"
	"sync"

	yaml "go.yaml.in/yaml/v3"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// docSource yields a document's bytes on demand. File-backed documents are
// re-read from disk, so the loader does not hold every input in memory.
type docSource interface {
	bytes() ([]byte, error)
}

type memSource []byte

func (m memSource) bytes() ([]byte, error) { return m, nil }

type fileSource struct {
	path       string
	start, end int
}

func (f fileSource) bytes() ([]byte, error) {
	fh, err := os.Open(f.path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	buf := make([]byte, f.end-f.start)
	if _, err := fh.ReadAt(buf, int64(f.start)); err != nil {
		return nil, fmt.Errorf("re-reading %s: %w", f.path, err)
	}
	return buf, nil
}

// parsedDoc is one document parsed into a yaml.v3 node tree on first use and
// shared by every object of that document (all items of a List).
type parsedDoc struct {
	src       docSource
	file      string
	line, col int // where the document's first byte is
	start     int // offset of the document in the stream's body
	// objects counts the objects decoded from this document.
	objects int
	// itemDocs are the documents of a JSON List's items, when known.
	itemDocs []*parsedDoc
	once     sync.Once
	root     *yaml.Node
}

func (d *parsedDoc) node() *yaml.Node {
	d.once.Do(func() {
		b, err := d.src.bytes()
		if err != nil {
			return
		}
		var n yaml.Node
		if yaml.Unmarshal(b, &n) == nil && len(n.Content) > 0 {
			d.root = n.Content[0]
			scrubSecrets(d.root)
		}
	})
	return d.root
}

// position turns a node position relative to the document into one in the file.
func (d *parsedDoc) position(n *yaml.Node) snapshot.Position {
	col := n.Column
	if n.Line == 1 {
		col += d.col - 1
	}
	return snapshot.Position{File: d.file, Line: d.line + n.Line - 1, Col: col}
}

// yamlLocator locates fields of one object inside its document; prefix is
// the object's own path in the document (["items", 3] for a List item).
type yamlLocator struct {
	doc      *parsedDoc
	prefix   snapshot.Path
	fallback snapshot.Position
}

// Locate points at the key of the last field in the path (or at the element,
// for a list index). When the path runs out of the document, it points at
// the deepest part that exists and says it is not exact.
func (l *yamlLocator) Locate(p snapshot.Path) (snapshot.Position, bool) {
	cur := l.doc.node()
	if cur == nil {
		return l.fallback, false
	}
	mark := cur
	// lineOff shifts positions inside a YAML document embedded in a literal
	// block scalar (a ConfigMap's `mesh: |`) to lines of the file; their
	// column is unknown (the block's indentation is not in the node tree).
	lineOff, markOff := 0, 0
	pos := func(n *yaml.Node, off int) snapshot.Position {
		if off == 0 {
			return l.doc.position(n)
		}
		p := l.doc.position(&yaml.Node{Line: n.Line + off})
		p.Col = 0
		return p
	}
	for _, e := range l.prefix.Child(p...) {
		if emb, ok := embedded(cur); ok {
			cur, lineOff = emb, lineOff+cur.Line
		}
		child, key := step(cur, e)
		if child == nil {
			return pos(mark, markOff), false
		}
		cur, mark, markOff = child, child, lineOff
		if key != nil {
			mark = key
		}
	}
	return pos(mark, markOff), true
}

// embedded parses a literal block scalar (`key: |`) holding a YAML mapping,
// so that paths can descend into it: the istio ConfigMap keeps MeshConfig
// that way. A literal block keeps its lines as written, starting on the line
// after the `|` indicator (the node's line), so line n of the parsed text is
// line node.Line+n of the document.
func embedded(n *yaml.Node) (*yaml.Node, bool) {
	if n == nil || n.Kind != yaml.ScalarNode || n.Style&yaml.LiteralStyle == 0 || n.Line == 0 {
		return nil, false
	}
	var doc yaml.Node
	if yaml.Unmarshal([]byte(n.Value), &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, false
	}
	return doc.Content[0], true
}

// step descends one path element. For a mapping it returns the value and
// its key node; for a sequence the element and nil.
func step(n *yaml.Node, e any) (*yaml.Node, *yaml.Node) {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil {
		return nil, nil
	}
	switch v := e.(type) {
	case string:
		if n.Kind != yaml.MappingNode {
			return nil, nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == v {
				val := n.Content[i+1]
				for val.Kind == yaml.AliasNode && val.Alias != nil {
					val = val.Alias
				}
				return val, n.Content[i]
			}
		}
	case int:
		if n.Kind == yaml.SequenceNode && v >= 0 && v < len(n.Content) {
			el := n.Content[v]
			for el.Kind == yaml.AliasNode && el.Alias != nil {
				el = el.Alias
			}
			return el, nil
		}
	}
	return nil, nil
}

// scrubSecrets blanks the values of every Secret's data and stringData in a
// parsed tree (a Secret document, or Secrets among a List's items), so that
// positions survive but values do not stay in memory.
func scrubSecrets(n *yaml.Node) {
	if n == nil {
		return
	}
	switch n.Kind {
	case yaml.SequenceNode:
		for _, c := range n.Content {
			scrubSecrets(c)
		}
	case yaml.MappingNode:
		isSecret := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "kind" && n.Content[i+1].Value == "Secret" {
				isSecret = true
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i].Value, n.Content[i+1]
			switch {
			case isSecret && (k == "data" || k == "stringData"):
				for j := 1; j < len(v.Content); j += 2 {
					v.Content[j].Value = ""
				}
			case isSecret && k == "metadata":
				// The last-applied annotation repeats the values.
				for j := 0; j+1 < len(v.Content); j += 2 {
					if v.Content[j].Value == "annotations" {
						ann := v.Content[j+1]
						for a := 0; a+1 < len(ann.Content); a += 2 {
							if ann.Content[a].Value == "kubectl.kubernetes.io/last-applied-configuration" {
								ann.Content[a+1].Value = ""
							}
						}
					}
				}
			case k == "items":
				scrubSecrets(v)
			}
		}
	}
}
