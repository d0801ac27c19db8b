package snapshot

import (
	"strconv"
	"strings"
)

// Path addresses a field inside an object: each element is a map key
// (string) or a list index (int). It is the currency between analyzers,
// which know which field is wrong, and locators, which know where it is.
type Path []any

// P builds a Path from keys and indexes, e.g. P("spec", "containers", 0, "env", 3).
func P(elems ...any) Path { return Path(elems) }

// Child returns a new path with elems appended; the receiver is not modified.
func (p Path) Child(elems ...any) Path {
	out := make(Path, 0, len(p)+len(elems))
	out = append(out, p...)
	return append(out, elems...)
}

// String renders the path in the JSONPath-like form kubectl users know:
// .spec.containers[0].env[3], with keys that contain dots quoted.
func (p Path) String() string {
	var b strings.Builder
	for _, e := range p {
		switch v := e.(type) {
		case int:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(v))
			b.WriteByte(']')
		case string:
			if strings.ContainsAny(v, ".[]\"") {
				b.WriteString(`["`)
				b.WriteString(strings.ReplaceAll(v, `"`, `\"`))
				b.WriteString(`"]`)
			} else {
				b.WriteByte('.')
				b.WriteString(v)
			}
		}
	}
	return b.String()
}

// JSONPointer renders the path as an RFC 6901 pointer for JSON patches.
func (p Path) JSONPointer() string {
	var b strings.Builder
	for _, e := range p {
		b.WriteByte('/')
		switch v := e.(type) {
		case int:
			b.WriteString(strconv.Itoa(v))
		case string:
			b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(v))
		}
	}
	return b.String()
}

// ParsePath parses the dotted form used by Kubernetes strict-decoding errors,
// e.g. "spec.template.spec.containers[0].foo". Keys in brackets and quotes
// (["a.b"]) are accepted too.
func ParsePath(s string) Path {
	var p Path
	i := 0
	s = strings.TrimPrefix(s, ".")
	for i < len(s) {
		switch s[i] {
		case '.':
			i++
		case '[':
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return append(p, s[i:])
			}
			inner := s[i+1 : i+end]
			if n, err := strconv.Atoi(inner); err == nil {
				p = append(p, n)
			} else {
				p = append(p, strings.Trim(inner, `"`))
			}
			i += end + 1
		default:
			j := i
			for j < len(s) && s[j] != '.' && s[j] != '[' {
				j++
			}
			p = append(p, s[i:j])
			i = j
		}
	}
	return p
}
