package decode

import (
	"reflect"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/yamltree"
)

// Projection says which fields of an object are decoded: a trie of field
// names. Everything else is only checked for unknown fields, never stored,
// which keeps the snapshot to what the selected analyzers read. A nil
// Projection keeps everything.
type Projection struct {
	all      bool
	children map[string]*Projection
	byName   names[*Projection] // children, for lookups while decoding
}

// NewProjection keeps the given dotted field paths (e.g.
// "spec.template.spec.containers") and, always, apiVersion, kind and metadata.
func NewProjection(paths []string) *Projection {
	root := &Projection{children: map[string]*Projection{}}
	for _, p := range append([]string{"apiVersion", "kind", "metadata"}, paths...) {
		cur := root
		for _, k := range strings.Split(p, ".") {
			if cur.all {
				break
			}
			next := cur.children[k]
			if next == nil {
				next = &Projection{children: map[string]*Projection{}}
				cur.children[k] = next
			}
			cur = next
		}
		cur.all, cur.children = true, nil
	}
	root.index()
	return root
}

// index fills byName below p, once the trie is complete.
func (p *Projection) index() {
	p.byName = newNames(p.children)
	for _, c := range p.children {
		c.index()
	}
}

// Keeps tells whether field k of the object is decoded at all.
func (p *Projection) Keeps(k string) bool {
	_, keep := p.field(k)
	return keep
}

// Field makes a Projection the reader's yamltree.Fields: the fields below
// key k that are decoded (nil: all), and whether k is decoded at all.
func (p *Projection) Field(k string) (yamltree.Fields, bool) {
	sub, keep := p.field(k)
	if sub == nil {
		return nil, keep // an untyped nil: "everything below"
	}
	return sub, true
}

// field returns the projection below key k; keep is false when the field is
// not decoded at all. A nil result with keep means "everything below".
func (p *Projection) field(k string) (sub *Projection, keep bool) {
	if p == nil || p.all {
		return nil, true
	}
	c, _ := p.byName.get(k)
	if c == nil {
		return nil, false
	}
	if c.all {
		return nil, true
	}
	return c, true
}

// check walks a subtree that is not decoded, reporting its unknown fields
// as a full decode would. It stores nothing and allocates nothing.
func (td *treeDecoder) check(n *yamltree.Node, p *typePlan) {
	if p.bad || p.ptrJSON || p.ptrProto || p.ptrText {
		return // custom decoders: the reference does not look inside either
	}
	switch p.kind {
	case reflect.Pointer:
		td.check(n, p.elem)
	case reflect.Struct:
		if n.Kind != yamltree.Map {
			return
		}
		for i, k := range n.Keys {
			f, ok := p.fields.get(k)
			if !ok {
				td.unknown(k)
				continue
			}
			td.at = append(td.at, pathStep{key: k})
			td.check(n.Children[i], f.plan)
			td.at = td.at[:len(td.at)-1]
		}
	case reflect.Slice:
		if n.Kind != yamltree.Seq {
			return
		}
		for i, c := range n.Children {
			td.at = append(td.at, pathStep{index: i})
			td.check(c, p.elem)
			td.at = td.at[:len(td.at)-1]
		}
	case reflect.Map:
		if n.Kind != yamltree.Map {
			return
		}
		for i, k := range n.Keys {
			td.at = append(td.at, pathStep{key: k, index: -1})
			td.check(n.Children[i], p.elem)
			td.at = td.at[:len(td.at)-1]
		}
	}
}
