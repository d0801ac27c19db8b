package accesslog

import (
	"bytes"
	"strconv"
	"unicode/utf8"
)

// ztunnel writes one line per connection through Rust's tracing, target
// "access":
//
//	2025-01-23T05:07:25.806642Z	info	access	connection complete	src.addr=10.129.0.48:40978 src.workload="productpage-v1-…" … direction="outbound" bytes_sent=283 bytes_recv=358 duration="2ms"
//
// then, on failure, level error and error="…". Early denials log
// "connection failed" with only addresses, direction and error. Strings are
// quoted with Rust's Debug escapes; addresses and numbers are bare.

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

func skipBlank(b []byte, i int) int {
	for i < len(b) && isBlank(b[i]) {
		i++
	}
	return i
}

func tokenEnd(b []byte, i int) int {
	for i < len(b) && !isBlank(b[i]) {
		i++
	}
	return i
}

// levelWord reports whether b is a tracing level.
func levelWord(b []byte) bool {
	switch len(b) {
	case 4:
		return bytes.EqualFold(b, []byte("info")) || bytes.EqualFold(b, []byte("warn"))
	case 5:
		return bytes.EqualFold(b, []byte("error")) || bytes.EqualFold(b, []byte("debug")) || bytes.EqualFold(b, []byte("trace"))
	}
	return false
}

// ztunnelKeyAt returns the end of a `key=` at b[i] (index of '='), or -1.
func ztunnelKeyAt(b []byte, i int) int {
	j := i
	for j < len(b) {
		c := b[j]
		if c >= 'a' && c <= 'z' || c == '_' || c == '.' || c >= '0' && c <= '9' && j > i {
			j++
			continue
		}
		break
	}
	if j > i && j < len(b) && b[j] == '=' {
		return j
	}
	return -1
}

func parseZtunnel(line []byte, r *Record) bool {
	ts := tokenEnd(line, 0)
	if ts < 10 || line[4] != '-' || ts >= len(line) {
		return false
	}
	i := skipBlank(line, ts)
	le := tokenEnd(line, i)
	if !levelWord(line[i:le]) {
		return false
	}
	level := line[i:le]
	i = skipBlank(line, le)
	te := tokenEnd(line, i)
	if string(line[i:te]) != "access" {
		return false
	}
	i = skipBlank(line, te)
	// The message runs until the first key=value.
	msgStart, msgEnd := i, i
	for i < len(line) && ztunnelKeyAt(line, i) < 0 {
		i = tokenEnd(line, i)
		msgEnd = i
		i = skipBlank(line, i)
	}
	known := 0
	for i < len(line) {
		eq := ztunnelKeyAt(line, i)
		if eq < 0 {
			return false
		}
		key := line[i:eq]
		i = eq + 1
		var val []byte
		esc := false
		if i < len(line) && line[i] == '"' {
			end, e, ok := scanQuoted(line, i+1)
			if !ok {
				return false
			}
			val, esc = line[i+1:end], e
			i = end + 1
			if i < len(line) && !isBlank(line[i]) {
				return false
			}
		} else {
			end := tokenEnd(line, i)
			val = line[i:end]
			i = end
		}
		if fl, ok := ztunnelKeys[string(key)]; ok && fl != FieldLevel && fl != FieldMessage && fl != FieldStartTime {
			r.set(fl, val, esc)
			known++
		}
		i = skipBlank(line, i)
	}
	if known == 0 {
		return false
	}
	r.set(FieldStartTime, line[:ts], false)
	r.set(FieldLevel, level, false)
	r.set(FieldMessage, line[msgStart:msgEnd], false)
	r.Format = builtinZtunnel
	return true
}

// scanQuoted finds the closing quote of a Rust Debug string whose contents
// start at i.
func scanQuoted(b []byte, i int) (end int, esc bool, ok bool) {
	for i < len(b) {
		switch b[i] {
		case '\\':
			esc = true
			i += 2
			continue
		case '"':
			return i, esc, true
		}
		i++
	}
	return 0, false, false
}

// appendUnquotedRust resolves Rust Debug escapes (\" \\ \n \r \t \0 \'
// \u{XXXX}); others are kept as written.
func appendUnquotedRust(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			dst = append(dst, c)
			continue
		}
		i++
		switch s[i] {
		case '"', '\\', '\'':
			dst = append(dst, s[i])
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case '0':
			dst = append(dst, 0)
		case 'u':
			if i+1 < len(s) && s[i+1] == '{' {
				if j := bytes.IndexByte(s[i+2:], '}'); j > 0 && j <= 6 {
					if n, err := strconv.ParseUint(string(s[i+2:i+2+j]), 16, 32); err == nil && utf8.ValidRune(rune(n)) {
						dst = utf8.AppendRune(dst, rune(n))
						i += 2 + j
						continue
					}
				}
			}
			dst = append(dst, '\\', 'u')
		default:
			dst = append(dst, '\\', s[i])
		}
	}
	return dst
}
