package main

import (
	"strconv"
	"strings"
)

// A tiny ordered document tree plus YAML and JSON emitters. Building a tree
// (instead of writing text directly) keeps the object builders readable,
// lets defects be planted by editing data, lets metadata.managedFields be
// derived from the object content, and gives byte-identical structure in
// both output formats.

type nodeKind uint8

const (
	kStr nodeKind = iota
	kInt
	kBool
	kNull
	kMap
	kList
)

// Node is a value in the document tree.
type Node struct {
	k nodeKind
	s string
	i int64
	m []Field
	l []Node
}

// Field is one key of a map node.
type Field struct {
	k string
	v Node
}

// S is a string scalar.
func S(s string) Node { return Node{k: kStr, s: s} }

// I is an integer scalar.
func I(i int) Node { return Node{k: kInt, i: int64(i)} }

// B is a boolean scalar.
func B(b bool) Node {
	if b {
		return Node{k: kBool, i: 1}
	}
	return Node{k: kBool}
}

// Null is an explicit null.
func Null() Node { return Node{k: kNull} }

// M builds a map; fields are sorted by key (like `kubectl get -o yaml`).
func M(f ...Field) Node {
	sortFields(f)
	return Node{k: kMap, m: f}
}

// L builds a list.
func L(items ...Node) Node { return Node{k: kList, l: items} }

// F, FS, FI and FB build fields.
func F(k string, v Node) Field        { return Field{k: k, v: v} }
func FS(k, v string) Field            { return Field{k: k, v: S(v)} }
func FI(k string, v int) Field        { return Field{k: k, v: I(v)} }
func FB(k string, v bool) Field       { return Field{k: k, v: B(v)} }
func FSL(k string, v ...string) Field { return Field{k: k, v: SL(v...)} }

// SM builds a string map from key/value pairs.
func SM(kv ...string) Node {
	f := make([]Field, len(kv)/2)
	for i := range f {
		f[i] = Field{k: kv[2*i], v: S(kv[2*i+1])}
	}
	return M(f...)
}

// SL builds a list of strings.
func SL(s ...string) Node {
	l := make([]Node, len(s))
	for i, v := range s {
		l[i] = S(v)
	}
	return Node{k: kList, l: l}
}

func sortFields(f []Field) {
	for i := 1; i < len(f); i++ {
		for j := i; j > 0 && f[j].k < f[j-1].k; j-- {
			f[j], f[j-1] = f[j-1], f[j]
		}
	}
}

// get returns the value of key k in a map node.
func (n Node) get(k string) (Node, bool) {
	for _, f := range n.m {
		if f.k == k {
			return f.v, true
		}
	}
	return Node{}, false
}

// ---------------------------------------------------------------- YAML

var spaces = strings.Repeat(" ", 256)

type yamlEnc struct{ b []byte }

func (e *yamlEnc) indent(n int) { e.b = append(e.b, spaces[:n]...) }

// doc appends one YAML document ("---" separated) for a map node.
func (e *yamlEnc) doc(n Node) {
	e.b = append(e.b, "---\n"...)
	e.mapBody(n.m, 0, false)
}

func (e *yamlEnc) mapBody(m []Field, ind int, inline bool) {
	for i, f := range m {
		if i > 0 || !inline {
			e.indent(ind)
		}
		e.scalarStr(f.k)
		e.b = append(e.b, ':')
		v := f.v
		switch v.k {
		case kMap:
			if len(v.m) == 0 {
				e.b = append(e.b, " {}\n"...)
			} else {
				e.b = append(e.b, '\n')
				e.mapBody(v.m, ind+2, false)
			}
		case kList:
			if len(v.l) == 0 {
				e.b = append(e.b, " []\n"...)
			} else {
				e.b = append(e.b, '\n')
				e.list(v.l, ind)
			}
		default:
			e.b = append(e.b, ' ')
			e.scalar(v, ind+2)
		}
	}
}

func (e *yamlEnc) list(l []Node, ind int) {
	for _, v := range l {
		e.indent(ind)
		e.b = append(e.b, "- "...)
		switch v.k {
		case kMap:
			if len(v.m) == 0 {
				e.b = append(e.b, "{}\n"...)
			} else {
				e.mapBody(v.m, ind+2, true)
			}
		case kList:
			panic("nested lists are not supported")
		default:
			e.scalar(v, ind+2)
		}
	}
}

// scalar writes a scalar followed by a newline; multi-line strings become
// literal blocks indented at blockInd.
func (e *yamlEnc) scalar(v Node, blockInd int) {
	switch v.k {
	case kStr:
		if strings.IndexByte(v.s, '\n') >= 0 && literalOK(v.s) {
			s := v.s
			if strings.HasSuffix(s, "\n") {
				e.b = append(e.b, "|\n"...)
				s = s[:len(s)-1]
			} else {
				e.b = append(e.b, "|-\n"...)
			}
			for {
				line := s
				j := strings.IndexByte(s, '\n')
				if j >= 0 {
					line = s[:j]
				}
				if line != "" {
					e.indent(blockInd)
					e.b = append(e.b, line...)
				}
				e.b = append(e.b, '\n')
				if j < 0 {
					break
				}
				s = s[j+1:]
			}
			return
		}
		e.scalarStr(v.s)
	case kInt, kBool, kNull:
		e.b = appendLiteral(e.b, v)
	}
	e.b = append(e.b, '\n')
}

func (e *yamlEnc) scalarStr(s string) {
	if needsQuote(s) {
		e.b = appendJSONString(e.b, s)
	} else {
		e.b = append(e.b, s...)
	}
}

// literalOK reports whether s can be written as a YAML literal block without
// changing its value.
func literalOK(s string) bool {
	if s[0] == ' ' || s[0] == '\n' || s[0] == '\t' {
		return false
	}
	if strings.HasSuffix(s, "\n\n") {
		return false
	}
	for _, line := range strings.Split(s, "\n") {
		if line != "" && strings.TrimSpace(line) == "" {
			return false
		}
		if strings.HasSuffix(line, " ") || strings.HasSuffix(line, "\t") {
			return false
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 0x20 && c != '\n' && c != '\t') || c >= 0x7f {
			return false
		}
	}
	return true
}

// needsQuote reports whether a string must be quoted to stay a string under
// YAML 1.1 (go-yaml v2, used by sigs.k8s.io/yaml) and YAML 1.2 resolution.
func needsQuote(s string) bool {
	if s == "" {
		return true
	}
	switch s[0] {
	case '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', ' ', '\t':
		return true
	case '-':
		if len(s) == 1 || s[1] == ' ' || strings.HasPrefix(s, "---") {
			return true
		}
	}
	simple := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if plainSafe[c] {
			continue
		}
		simple = false
		if c < 0x20 || c >= 0x7f {
			return true
		}
		if c == ':' && (i+1 == len(s) || s[i+1] == ' ') {
			return true
		}
		if c == '#' && s[i-1] == ' ' { // i > 0: s[0] == '#' was handled above
			return true
		}
	}
	c := s[0]
	if simple && len(s) > 5 && (c|0x20) >= 'a' && (c|0x20) <= 'z' {
		return false // common case: identifiers, paths, label keys
	}
	if last := s[len(s)-1]; last == ' ' || last == '\t' {
		return true
	}
	if len(s) <= 5 {
		var b [5]byte
		for i := 0; i < len(s); i++ {
			b[i] = s[i]
			if b[i] >= 'A' && b[i] <= 'Z' {
				b[i] += 'a' - 'A'
			}
		}
		switch string(b[:len(s)]) {
		case "y", "yes", "n", "no", "true", "false", "on", "off", "null", "~", "<<", ".inf", "-.inf", "+.inf", ".nan":
			return true
		}
	}
	if (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.' {
		return numberLike(s)
	}
	return false
}

// numberLike reports whether a string that starts like a number could be
// resolved as an int, float, timestamp or sexagesimal number.
func numberLike(s string) bool {
	if len(s) >= 5 && s[4] == '-' && isDigits(s[:4]) {
		return true // dates and timestamps
	}
	dots, colons, other := 0, 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.':
			dots++
		case c == ':':
			colons++
		case c >= '0' && c <= '9', c == '_':
		case (c == '-' || c == '+') && i == 0:
		case c == 'e', c == 'E', c == 'x', c == 'X', c == 'o', c == 'O', c == 'b', c == 'B',
			c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
			other = true
		default:
			return false // e.g. 250m, 512Mi, UIDs: stay plain
		}
	}
	if colons > 0 {
		return !other // sexagesimal (YAML 1.1), e.g. 1:30
	}
	if dots > 1 {
		return false // e.g. IP addresses and versions
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return true
	}
	if _, err := strconv.ParseInt(s, 0, 64); err == nil {
		return true
	}
	return false
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// plainSafe marks bytes that never need quoting inside a plain scalar.
var plainSafe = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "./_-" {
		t[c] = true
	}
	return t
}()

// ---------------------------------------------------------------- JSON

// appendJSONString appends s as a JSON string (also a valid YAML
// double-quoted scalar).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < 0x7f {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"':
			b = append(b, '\\', '"')
		case '\\':
			b = append(b, '\\', '\\')
		case '\n':
			b = append(b, '\\', 'n')
		case '\t':
			b = append(b, '\\', 't')
		case '\r':
			b = append(b, '\\', 'r')
		default:
			if c < 0x20 || c == 0x7f {
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			} else {
				// non-ASCII byte: keep UTF-8 as is
				b = append(b, c)
			}
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// jsonEnc writes JSON indented with 4 spaces, like `kubectl get -o json`.
type jsonEnc struct{ b []byte }

func (e *jsonEnc) value(v Node, ind int) {
	switch v.k {
	case kStr:
		e.b = appendJSONString(e.b, v.s)
	case kInt, kBool, kNull:
		e.b = appendLiteral(e.b, v)
	case kMap:
		if len(v.m) == 0 {
			e.b = append(e.b, "{}"...)
			return
		}
		e.b = append(e.b, "{\n"...)
		for i, f := range v.m {
			e.b = append(e.b, spaces[:ind+4]...)
			e.b = appendJSONString(e.b, f.k)
			e.b = append(e.b, ": "...)
			e.value(f.v, ind+4)
			if i < len(v.m)-1 {
				e.b = append(e.b, ',')
			}
			e.b = append(e.b, '\n')
		}
		e.b = append(e.b, spaces[:ind]...)
		e.b = append(e.b, '}')
	case kList:
		if len(v.l) == 0 {
			e.b = append(e.b, "[]"...)
			return
		}
		e.b = append(e.b, "[\n"...)
		for i, it := range v.l {
			e.b = append(e.b, spaces[:ind+4]...)
			e.value(it, ind+4)
			if i < len(v.l)-1 {
				e.b = append(e.b, ',')
			}
			e.b = append(e.b, '\n')
		}
		e.b = append(e.b, spaces[:ind]...)
		e.b = append(e.b, ']')
	}
}

// appendLiteral writes an int, bool or null, which YAML and JSON spell alike.
func appendLiteral(b []byte, v Node) []byte {
	switch v.k {
	case kInt:
		return strconv.AppendInt(b, v.i, 10)
	case kBool:
		if v.i != 0 {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	}
	return append(b, "null"...)
}

// compactJSON appends v as compact JSON (used for managedFields keys).
func compactJSON(b []byte, v Node) []byte {
	switch v.k {
	case kStr:
		return appendJSONString(b, v.s)
	case kInt, kBool, kNull:
		return appendLiteral(b, v)
	case kMap:
		b = append(b, '{')
		for i, f := range v.m {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, f.k)
			b = append(b, ':')
			b = compactJSON(b, f.v)
		}
		return append(b, '}')
	case kList:
		b = append(b, '[')
		for i, it := range v.l {
			if i > 0 {
				b = append(b, ',')
			}
			b = compactJSON(b, it)
		}
		return append(b, ']')
	}
	return b
}
