package accesslog

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonKV is one top-level member of a JSON line: the key and the value as
// spans of the line (a string without its quotes).
type jsonKV struct {
	key, val       []byte
	keyEsc, valEsc bool
	null           bool
}

// maxJSONKeys bounds the members kept from one line; the rest of the line
// is still checked to be JSON.
const maxJSONKeys = 64

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// scanJSONObject reads a line holding one JSON object into kvs. Nested
// values are checked for balance and skipped. It returns how many members
// it kept, and false when the line is not one JSON object.
func scanJSONObject(b []byte, kvs *[maxJSONKeys]jsonKV) (int, bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return 0, false
	}
	i = skipSpace(b, i+1)
	n := 0
	if i < len(b) && b[i] == '}' {
		return 0, skipSpace(b, i+1) == len(b)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, false
		}
		kend, kesc, ok := scanJSONString(b, i+1)
		if !ok {
			return 0, false
		}
		key := b[i+1 : kend]
		i = skipSpace(b, kend+1)
		if i >= len(b) || b[i] != ':' {
			return 0, false
		}
		i = skipSpace(b, i+1)
		if i >= len(b) {
			return 0, false
		}
		kv := jsonKV{key: key, keyEsc: kesc}
		switch c := b[i]; {
		case c == '"':
			end, esc, ok := scanJSONString(b, i+1)
			if !ok {
				return 0, false
			}
			kv.val, kv.valEsc = b[i+1:end], esc
			i = end + 1
		case c == '{' || c == '[':
			end, ok := skipJSONNested(b, i)
			if !ok {
				return 0, false
			}
			kv.val = b[i:end]
			i = end
		default:
			j := i
			for j < len(b) && !isSpace(b[j]) && b[j] != ',' && b[j] != '}' {
				j++
			}
			lit := b[i:j]
			switch {
			case string(lit) == "null":
				kv.null = true
			case string(lit) == "true" || string(lit) == "false":
				kv.val = lit
			default:
				if !jsonNumber(lit) {
					return 0, false
				}
				kv.val = lit
			}
			i = j
		}
		if n < maxJSONKeys {
			kvs[n] = kv
			n++
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return 0, false
		}
		if b[i] == '}' {
			return n, skipSpace(b, i+1) == len(b)
		}
		if b[i] != ',' {
			return 0, false
		}
		i = skipSpace(b, i+1)
	}
}

// scanJSONString finds the closing quote of a string whose contents start
// at i, and whether it holds escapes.
func scanJSONString(b []byte, i int) (end int, esc bool, ok bool) {
	for {
		j := indexQuoteOrBackslash(b, i)
		if j < 0 {
			return 0, false, false
		}
		if b[j] == '"' {
			return j, esc, true
		}
		esc = true
		i = j + 2 // the escaped byte cannot end the string
		if i > len(b) {
			return 0, false, false
		}
	}
}

// indexQuoteOrBackslash finds the first '"' or '\\' at or after i, eight
// bytes at a time (see indexByteFrom).
func indexQuoteOrBackslash(b []byte, i int) int {
	const quotes, slashes = '"' * lo8, '\\' * lo8
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		q, s := x^quotes, x^slashes
		if t := ((q-lo8)&^q | (s-lo8)&^s) & hi8; t != 0 {
			return i + bits.TrailingZeros64(t)/8
		}
	}
	for ; i < len(b); i++ {
		if b[i] == '"' || b[i] == '\\' {
			return i
		}
	}
	return -1
}

// skipJSONNested skips a balanced object or array starting at b[i].
func skipJSONNested(b []byte, i int) (int, bool) {
	depth := 0
	for i < len(b) {
		switch b[i] {
		case '"':
			end, _, ok := scanJSONString(b, i+1)
			if !ok {
				return 0, false
			}
			i = end + 1
			continue
		case '{', '[':
			depth++
			if depth > 64 {
				return 0, false
			}
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1, true
			}
		}
		i++
	}
	return 0, false
}

func jsonNumber(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E') {
			return false
		}
	}
	return true
}

// parseJSON fills r from a JSON line, trying the parser's JSON formats in
// order, then ztunnel's JSON keys.
func (p *Parser) parseJSON(line []byte, r *Record) (*Format, bool) {
	var kvs [maxJSONKeys]jsonKV
	n, ok := scanJSONObject(line, &kvs)
	if !ok || n == 0 {
		return nil, false
	}
	members := kvs[:n]
	var fields [maxJSONKeys]Field
	var keyBuf [64]byte
	for _, f := range p.json {
		found := 0
		for i := range members {
			key := members[i].key
			if members[i].keyEsc {
				key = appendUnescapedJSON(keyBuf[:0], key)
			}
			fl := f.jsonField(key)
			fields[i] = fl
			if fl != fieldNone {
				found++
			}
		}
		if found < f.minKeys {
			continue
		}
		for i := range members {
			if fields[i] != fieldNone {
				r.set(fields[i], members[i].val, members[i].valEsc)
			}
		}
		r.Format = f
		return f, true
	}
	// ztunnel with LOG_FORMAT=json: flat keys, scope "access".
	access := false
	for i := range members {
		kv := &members[i]
		switch string(kv.key) {
		case "scope", "target":
			access = access || string(kv.val) == "access"
		case "src.addr", "dst.addr":
			access = true
		}
	}
	if !access {
		return nil, false
	}
	for i := range members {
		kv := &members[i]
		if fl, ok := ztunnelKeys[string(kv.key)]; ok {
			r.set(fl, kv.val, kv.valEsc)
		}
	}
	r.Format = builtinZtunnelJ
	return builtinZtunnelJ, true
}

// appendUnescapedJSON appends the contents of a JSON string with its
// escapes resolved. Bad escapes are kept as written.
func appendUnescapedJSON(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			dst = append(dst, c)
			continue
		}
		i++
		switch s[i] {
		case '"', '\\', '/':
			dst = append(dst, s[i])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r1, ok := hex4(s, i+1)
			if !ok {
				dst = append(dst, '\\', 'u')
				continue
			}
			i += 4
			if utf16.IsSurrogate(r1) {
				if i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					if r2, ok := hex4(s, i+3); ok {
						if rr := utf16.DecodeRune(r1, r2); rr != utf8.RuneError {
							dst = utf8.AppendRune(dst, rr)
							i += 6
							continue
						}
					}
				}
				r1 = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r1)
		default:
			dst = append(dst, '\\', s[i])
		}
	}
	return dst
}

func hex4(s []byte, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range s[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// jsonField is the field a key of the format holds, or fieldNone.
func (f *Format) jsonField(key []byte) Field {
	if f.istioKeys {
		return istioJSONField(key)
	}
	if fl, ok := f.keys[string(key)]; ok {
		return fl
	}
	return fieldNone
}

// istioJSONField is Istio's JSON keys as a switch: the compiler makes it a
// search on length and bytes, cheaper than hashing each key.
func istioJSONField(key []byte) Field {
	switch string(key) {
	case "start_time":
		return FieldStartTime
	case "route_name":
		return FieldRouteName
	case "method":
		return FieldMethod
	case "path":
		return FieldPath
	case "protocol":
		return FieldProtocol
	case "response_code":
		return FieldResponseCode
	case "response_flags":
		return FieldResponseFlags
	case "response_code_details":
		return FieldResponseCodeDetails
	case "connection_termination_details":
		return FieldConnectionTerminationDetails
	case "bytes_received":
		return FieldBytesReceived
	case "bytes_sent":
		return FieldBytesSent
	case "duration":
		return FieldDuration
	case "upstream_service_time":
		return FieldUpstreamServiceTime
	case "x_forwarded_for":
		return FieldXForwardedFor
	case "user_agent":
		return FieldUserAgent
	case "request_id":
		return FieldRequestID
	case "authority":
		return FieldAuthority
	case "upstream_host":
		return FieldUpstreamHost
	case "upstream_cluster":
		return FieldUpstreamCluster
	case "upstream_local_address":
		return FieldUpstreamLocalAddress
	case "downstream_local_address":
		return FieldDownstreamLocalAddress
	case "downstream_remote_address":
		return FieldDownstreamRemoteAddress
	case "requested_server_name":
		return FieldRequestedServerName
	case "upstream_transport_failure_reason":
		return FieldUpstreamTransportFailureReason
	}
	return fieldNone
}
