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
			if v == "" || strings.ContainsAny(v, ".[]\"\\") || isDigits(v) {
				b.WriteString(`["`)
				b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v))
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

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// ParsePath parses the dotted form used by Kubernetes strict-decoding errors,
// e.g. "spec.template.spec.containers[0].foo", and the quoted keys String
// writes (["app.kubernetes.io/name"]). It never fails: text it cannot read
// becomes a key.
func ParsePath(s string) Path {
	var p Path
	for i := 0; i < len(s); {
		switch {
		case s[i] == '.':
			i++
		case strings.HasPrefix(s[i:], `["`):
			key, n := readQuoted(s[i+2:])
			p = append(p, key)
			i += 2 + n
		case s[i] == '[':
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return append(p, s[i:])
			}
			inner := s[i+1 : i+end]
			if n, err := strconv.Atoi(inner); err == nil && isDigits(inner) {
				p = append(p, n)
			} else {
				p = append(p, inner)
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

// readQuoted reads an escaped key up to `"]` and returns it and the bytes
// consumed (including the closing `"]`, when present).
func readQuoted(s string) (string, int) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case s[i] == '"' && strings.HasPrefix(s[i:], `"]`):
			return b.String(), i + 2
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), len(s)
}
