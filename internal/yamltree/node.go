// Package yamltree reads Kubernetes-style YAML and JSON documents into a
// small generic tree, fast. The YAML reader handles the block style that
// kubectl, Helm and people write; whatever lies outside that subset
// (anchors, tags, multi-line plain scalars, YAML 1.1 scalars whose meaning
// is ambiguous) makes it return ErrUnsupported, and the caller uses the
// complete, slower reader instead. It never guesses.
package yamltree

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrUnsupported means the document uses YAML this reader does not handle;
// parse it with a complete YAML library instead.
var ErrUnsupported = errors.New("yamltree: unsupported YAML construct")

// Kind is the kind of a node.
type Kind uint8

// Node kinds. Scalars carry their resolved type.
const (
	Map Kind = iota + 1
	Seq
	String
	Int
	Float
	Bool
	Null
)

// Node is one value. Maps keep keys in order; Seq items in order. For
// scalars Text is the decoded value (for Int and Float, the literal as
// written; for Bool, "true" or "false").
type Node struct {
	Kind     Kind
	Text     string
	Keys     []string
	Children []*Node // map values (parallel to Keys) or sequence items
	// Line is where the node starts in its document (1-based), for nodes
	// the YAML reader made; 0 otherwise.
	Line int
	// Memo, when set, is the node's key in the parser's Memo (see memo.go);
	// for a Lazy node it also carries the value.
	Memo *MemoRef
}

// Get returns the value of key in a map node, or nil.
func (n *Node) Get(key string) *Node {
	if n == nil || n.Kind != Map {
		return nil
	}
	for i, k := range n.Keys {
		if k == key {
			return n.Children[i]
		}
	}
	return nil
}

// Delete removes key from a map node, if present.
func (n *Node) Delete(key string) {
	if n == nil || n.Kind != Map {
		return
	}
	for i, k := range n.Keys {
		if k == key {
			n.Keys = append(n.Keys[:i:i], n.Keys[i+1:]...)
			n.Children = append(n.Children[:i:i], n.Children[i+1:]...)
			return
		}
	}
}

// AppendJSON appends the node as JSON.
func (n *Node) AppendJSON(b []byte) []byte {
	switch n.Kind {
	case Map:
		b = append(b, '{')
		for i, k := range n.Keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendQuoted(b, k)
			b = append(b, ':')
			b = n.Children[i].AppendJSON(b)
		}
		return append(b, '}')
	case Seq:
		b = append(b, '[')
		for i, c := range n.Children {
			if i > 0 {
				b = append(b, ',')
			}
			b = c.AppendJSON(b)
		}
		return append(b, ']')
	case String:
		return appendQuoted(b, n.Text)
	case Int, Float, Bool:
		return append(b, n.Text...)
	}
	return append(b, "null"...)
}

const hexDigits = "0123456789abcdef"

// appendQuoted writes s as a JSON string exactly as encoding/json does:
// HTML-sensitive characters and U+2028/U+2029 escaped, invalid UTF-8
// replaced.
func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// ToInterface converts the tree to the generic form Kubernetes'
// unstructured objects use: map[string]any, []any, string, int64, float64,
// bool and nil.
func (n *Node) ToInterface() any {
	switch n.Kind {
	case Map:
		m := make(map[string]any, len(n.Keys))
		for i, k := range n.Keys {
			m[strings.Clone(k)] = n.Children[i].ToInterface()
		}
		return m
	case Seq:
		s := make([]any, len(n.Children))
		for i, c := range n.Children {
			s[i] = c.ToInterface()
		}
		return s
	case String:
		return strings.Clone(n.Text) // the tree may share a reused buffer
	case Int:
		if v, err := strconv.ParseInt(n.Text, 10, 64); err == nil {
			return v
		}
		v, _ := strconv.ParseFloat(n.Text, 64)
		return v
	case Float:
		v, _ := strconv.ParseFloat(n.Text, 64)
		return v
	case Bool:
		return n.Text == "true"
	}
	return nil
}
