package accesslog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Format strings of the built-in TEXT formats, exactly as their projects
// define them (the trailing newline included).
const (
	// IstioTextFormat is Istio's default TEXT format from 1.24 (and late
	// 1.23 patches) on.
	IstioTextFormat = `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%` + "\n"

	// IstioTextFormat19 is Istio's default TEXT format from 1.9 to 1.23. It
	// lays a line out exactly as IstioTextFormat does; only the cluster's
	// value can differ: %UPSTREAM_CLUSTER% prints the cluster's
	// alt_stat_name when it has one — the name plus ';' on 1.23 (see
	// Cluster.AltStatName), or whatever meshConfig outboundClusterStatName /
	// inboundClusterStatName make of it.
	IstioTextFormat19 = `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%` + "\n"

	// IstioTextFormat15 is Istio's default TEXT format of the Mixer era
	// (1.5 to 1.8): no response code details, the Mixer policy status in
	// their place.
	IstioTextFormat15 = `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% "%DYNAMIC_METADATA(istio.mixer:status)%" "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%` + "\n"

	// EnvoyTextFormat is Envoy's default format, used when an access log
	// is configured without one.
	EnvoyTextFormat = `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"` + "\n"

	// IstioJSONFormat is Istio's default JSON format
	// (`accessLogEncoding: JSON`), as an Envoy json_format. Key order on
	// the wire is not fixed; upstream_cluster was %UPSTREAM_CLUSTER% until
	// Istio 1.25.
	IstioJSONFormat = `{"start_time":"%START_TIME%","route_name":"%ROUTE_NAME%","method":"%REQ(:METHOD)%","path":"%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%","protocol":"%PROTOCOL%","response_code":"%RESPONSE_CODE%","response_flags":"%RESPONSE_FLAGS%","response_code_details":"%RESPONSE_CODE_DETAILS%","connection_termination_details":"%CONNECTION_TERMINATION_DETAILS%","bytes_received":"%BYTES_RECEIVED%","bytes_sent":"%BYTES_SENT%","duration":"%DURATION%","upstream_service_time":"%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%","x_forwarded_for":"%REQ(X-FORWARDED-FOR)%","user_agent":"%REQ(USER-AGENT)%","request_id":"%REQ(X-REQUEST-ID)%","authority":"%REQ(:AUTHORITY)%","upstream_host":"%UPSTREAM_HOST%","upstream_cluster":"%UPSTREAM_CLUSTER_RAW%","upstream_local_address":"%UPSTREAM_LOCAL_ADDRESS%","downstream_local_address":"%DOWNSTREAM_LOCAL_ADDRESS%","downstream_remote_address":"%DOWNSTREAM_REMOTE_ADDRESS%","requested_server_name":"%REQUESTED_SERVER_NAME%","upstream_transport_failure_reason":"%UPSTREAM_TRANSPORT_FAILURE_REASON%"}`
)

type formatKind uint8

const (
	kindText formatKind = iota
	kindJSON
	kindZtunnel
)

// valueKind is what a field's value may look like. It lets the matcher
// reject a wrong split (and a line of another format) early.
type valueKind uint8

const (
	vText   valueKind = iota // anything, spaces included
	vToken                   // no spaces
	vNumber                  // digits; "-" or "" when unset
	vCode                    // 1–3 digits; "-" when unset
	vTime                    // Envoy's default START_TIME: starts with a digit
)

// step is one field of a TEXT format and the literal text after it.
type step struct {
	field Field
	kind  valueKind
	// lit is the text after the field, never empty but for the last field,
	// where it is whatever ends the line ("" when the field does).
	lit []byte
	// spaceCheck: a token whose following literal does not start with a
	// space, so finding the literal does not already exclude spaces.
	spaceCheck bool
	// check: the value has to be validated (numbers, codes, times, tokens
	// with spaceCheck); free text and other tokens need not.
	check bool
}

// Format is a compiled access-log format. Formats are immutable and safe
// for concurrent use.
type Format struct {
	name   string
	source string
	kind   formatKind

	// TEXT: the literal before the first field, then field/literal steps.
	lead  []byte
	steps []step
	// slow: the format has free-text fields, so a failed first split is
	// retried with other splits (bounded; see matchSlow).
	slow bool

	// JSON: key → field, and how many keys must be found for a line to be
	// taken as this format's.
	keys    map[string]Field
	minKeys int
	// istioKeys: the keys are exactly Istio's JSON keys (istioJSONField).
	istioKeys bool

	carries uint64 // fields the format carries (TEXT)
}

// Name is the format's name: "istio", "istio-1.5", "envoy", "json",
// "ztunnel", "ztunnel-json", or the name a custom format was compiled with.
func (f *Format) Name() string { return f.name }

// Source is the format string the format was compiled from ("" for
// ztunnel, which has no format string).
func (f *Format) Source() string { return f.source }

// IsJSON reports whether the format is a JSON format.
func (f *Format) IsJSON() bool { return f.kind == kindJSON }

// Fields lists the fields the format carries (TEXT and JSON formats; nil
// for ztunnel, whose lines say which fields they carry).
func (f *Format) Fields() []Field {
	var out []Field
	switch f.kind {
	case kindText:
		for i := range numFields {
			if f.carries&(1<<i) != 0 {
				out = append(out, i)
			}
		}
	case kindJSON:
		seen := uint64(0)
		for _, fl := range f.keys {
			if fl < numFields {
				seen |= 1 << fl
			}
		}
		for i := range numFields {
			if seen&(1<<i) != 0 {
				out = append(out, i)
			}
		}
	}
	return out
}

// CompileFormat compiles an Envoy access-log format: a format string
// ("[%START_TIME%] \"%REQ(:METHOD)% ...\"\n") or a JSON format given as a
// JSON object whose values are command operators
// ({"code":"%RESPONSE_CODE%", ...}). The format is named "custom".
func CompileFormat(s string) (*Format, error) { return CompileNamedFormat("custom", s) }

// CompileNamedFormat is CompileFormat with a name for the summaries.
func CompileNamedFormat(name, s string) (*Format, error) {
	if strings.HasPrefix(strings.TrimSpace(s), "{") {
		return compileJSON(name, s)
	}
	return compileText(name, s)
}

// command is one parsed %COMMAND(ARG):MAXLEN% operator.
type command struct {
	name, arg string
	maxLen    int
}

// scanCommand reads an operator at s[0] == '%'. Envoy's grammar: COMMAND
// of A-Z, 0-9 and '_'; an optional (ARG) that cannot contain ')' followed by
// the end of the operator; an optional :LENGTH; a closing '%'. ARG itself may
// hold '%' (START_TIME(%Y-%m-%d)). It returns the operator's length.
func scanCommand(s string) (command, int, bool) {
	i := 1
	for i < len(s) && (s[i] >= 'A' && s[i] <= 'Z' || s[i] >= '0' && s[i] <= '9' || s[i] == '_') {
		i++
	}
	if i == 1 {
		return command{}, 0, false
	}
	c := command{name: s[1:i]}
	tail := func(j int) (int, int, bool) { // after ARG: [:digits]%
		maxLen := 0
		if j < len(s) && s[j] == ':' {
			k := j + 1
			for k < len(s) && s[k] >= '0' && s[k] <= '9' && k-j < 10 {
				maxLen = maxLen*10 + int(s[k]-'0')
				k++
			}
			if k == j+1 {
				return 0, 0, false
			}
			j = k
		}
		if j < len(s) && s[j] == '%' {
			return j + 1, maxLen, true
		}
		return 0, 0, false
	}
	if i < len(s) && s[i] == '(' {
		// The shortest ARG whose ')' is followed by [:LENGTH]%, as Envoy's
		// non-greedy pattern finds.
		for j := i + 1; j < len(s); j++ {
			if s[j] != ')' {
				continue
			}
			if n, ml, ok := tail(j + 1); ok {
				c.arg, c.maxLen = s[i+1:j], ml
				return c, n, true
			}
		}
		return command{}, 0, false
	}
	n, ml, ok := tail(i)
	c.maxLen = ml
	return c, n, ok
}

// operatorField maps an Envoy operator to the field it fills and the shape
// of its value; fieldNone for operators meshdoctor does not keep.
func operatorField(c command) (Field, valueKind) {
	switch c.name {
	case "START_TIME":
		if c.arg == "" {
			return FieldStartTime, vTime
		}
		return FieldStartTime, vText
	case "REQ", "REQ_WITHOUT_QUERY":
		// The argument is a header, or "MAIN?ALTERNATIVE", with an
		// optional ":MAXLEN" already split off.
		h := strings.ToUpper(c.arg)
		main, alt, _ := strings.Cut(h, "?")
		switch {
		case main == ":METHOD":
			return FieldMethod, vToken
		case main == ":PATH" || main == "X-ENVOY-ORIGINAL-PATH" || alt == ":PATH":
			// Text: an HTTP/2 :path can hold a space that HTTP/1 cannot.
			return FieldPath, vText
		case main == ":AUTHORITY" || main == "HOST" || main == "X-ENVOY-ORIGINAL-HOST" || alt == ":AUTHORITY":
			return FieldAuthority, vToken
		case main == "X-FORWARDED-FOR":
			return FieldXForwardedFor, vText
		case main == "USER-AGENT":
			return FieldUserAgent, vText
		case main == "X-REQUEST-ID":
			return FieldRequestID, vToken
		}
		return fieldNone, vText
	case "RESP":
		if strings.EqualFold(c.arg, "X-ENVOY-UPSTREAM-SERVICE-TIME") {
			return FieldUpstreamServiceTime, vNumber
		}
		return fieldNone, vText
	case "PROTOCOL":
		return FieldProtocol, vToken
	case "RESPONSE_CODE":
		return FieldResponseCode, vCode
	case "RESPONSE_FLAGS", "RESPONSE_FLAGS_LONG":
		return FieldResponseFlags, vToken
	case "RESPONSE_CODE_DETAILS":
		return FieldResponseCodeDetails, vToken
	case "CONNECTION_TERMINATION_DETAILS":
		return FieldConnectionTerminationDetails, vToken
	case "UPSTREAM_TRANSPORT_FAILURE_REASON":
		return FieldUpstreamTransportFailureReason, vText
	case "BYTES_RECEIVED":
		return FieldBytesReceived, vNumber
	case "BYTES_SENT":
		return FieldBytesSent, vNumber
	case "DURATION":
		return FieldDuration, vNumber
	case "UPSTREAM_HOST", "UPSTREAM_REMOTE_ADDRESS":
		return FieldUpstreamHost, vToken
	case "UPSTREAM_CLUSTER", "UPSTREAM_CLUSTER_RAW":
		return FieldUpstreamCluster, vToken
	case "UPSTREAM_LOCAL_ADDRESS":
		return FieldUpstreamLocalAddress, vToken
	case "DOWNSTREAM_LOCAL_ADDRESS", "DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT":
		return FieldDownstreamLocalAddress, vToken
	case "DOWNSTREAM_REMOTE_ADDRESS", "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT":
		return FieldDownstreamRemoteAddress, vToken
	case "REQUESTED_SERVER_NAME":
		return FieldRequestedServerName, vToken
	case "ROUTE_NAME":
		return FieldRouteName, vToken
	}
	return fieldNone, vText
}

// FormatError is a format string CompileFormat cannot use.
type FormatError struct {
	Pos int // byte offset in the format string
	Msg string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("access log format: at byte %d: %s", e.Pos, e.Msg)
}

func compileText(name, s string) (*Format, error) {
	src := s
	// Envoy needs the newline in the format; the log's lines are split on
	// it, so it is not part of what a line holds. A format copied from YAML
	// may carry it as the two characters `\n`.
	s = strings.TrimSuffix(s, "\n")
	s = strings.TrimSuffix(s, `\n`)
	s = strings.TrimSuffix(s, "\r")
	if s == "" {
		return nil, &FormatError{0, "empty format"}
	}
	f := &Format{name: name, source: src, kind: kindText}
	var lit []byte
	var pending *step
	for i := 0; i < len(s); {
		if s[i] != '%' {
			lit = append(lit, s[i])
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] == '%' { // "%%" is a literal '%'
			lit = append(lit, '%')
			i += 2
			continue
		}
		c, n, ok := scanCommand(s[i:])
		if !ok {
			return nil, &FormatError{i, "no valid command operator (%COMMAND(ARG):LENGTH%)"}
		}
		if pending != nil {
			if len(lit) == 0 {
				return nil, &FormatError{i, fmt.Sprintf("%%%s%% directly follows another operator: with no text between them the line cannot be split", c.name)}
			}
			pending.lit = lit
			f.steps = append(f.steps, *pending)
		} else {
			f.lead = lit
		}
		lit = nil
		fl, kind := operatorField(c)
		pending = &step{field: fl, kind: kind}
		i += n
	}
	if pending == nil {
		return nil, &FormatError{0, "no command operator: nothing to read from a line"}
	}
	pending.lit = lit
	f.steps = append(f.steps, *pending)
	for i := range f.steps {
		st := &f.steps[i]
		if st.field != fieldNone {
			f.carries |= 1 << st.field
		}
		if st.kind == vText {
			f.slow = true
		}
		if st.kind == vToken && (len(st.lit) == 0 || st.lit[0] != ' ') {
			st.spaceCheck = true
		}
		st.check = st.kind != vText && (st.kind != vToken || st.spaceCheck)
	}
	return f, nil
}

// match splits a TEXT line. The first split takes, for every field, the
// first occurrence of the literal after it; only when that fails and the
// format has free-text fields are other splits tried.
func (f *Format) match(line []byte, r *Record) bool {
	if !bytes.HasPrefix(line, f.lead) {
		return false
	}
	pos := len(f.lead)
	steps := f.steps[:len(f.steps)-1]
	for i := range steps {
		st := &steps[i]
		var end int
		if len(st.lit) == 1 {
			end = indexByteFrom(line, pos, st.lit[0])
		} else {
			end = indexFrom(line, pos, st.lit)
		}
		if end < 0 {
			return false
		}
		v := line[pos:end]
		if st.check && !st.valid(v) {
			return f.retry(line, r)
		}
		r.val[st.field] = v // fieldNone lands in the spare slot
		pos = end + len(st.lit)
	}
	// The last field runs to the literal that ends the line.
	st := &f.steps[len(f.steps)-1]
	if !bytes.HasSuffix(line[pos:], st.lit) {
		return false
	}
	v := line[pos : len(line)-len(st.lit)]
	if st.check && !st.valid(v) {
		return f.retry(line, r)
	}
	r.val[st.field] = v
	r.has, r.esc = f.carries, 0
	r.Format = f
	return true
}

// retry is matchSlow from the start, for formats with free-text fields.
func (f *Format) retry(line []byte, r *Record) bool {
	if !f.slow {
		return false
	}
	budget := slowBudget
	return f.matchSlow(line, 0, len(f.lead), r, &budget)
}

// slowBudget bounds the splits matchSlow tries on one line, so that a long
// line of another format costs a few scans, not an exponential search.
const slowBudget = 64

// matchSlow tries, for free-text fields, later occurrences of the literal
// after them too (a user agent holding `" "`, an unquoted text field
// holding a space).
func (f *Format) matchSlow(line []byte, i, pos int, r *Record, budget *int) bool {
	if i == len(f.steps) {
		r.has, r.esc = f.carries, 0
		r.Format = f
		return pos == len(line)
	}
	st := &f.steps[i]
	if i == len(f.steps)-1 {
		if !bytes.HasSuffix(line[pos:], st.lit) {
			return false
		}
		end := len(line) - len(st.lit)
		if end < pos || !st.valid(line[pos:end]) {
			return false
		}
		r.val[st.field] = line[pos:end]
		return f.matchSlow(line, i+1, len(line), r, budget)
	}
	from := pos
	for {
		if *budget <= 0 {
			return false
		}
		*budget--
		end := indexFrom(line, from, st.lit)
		if end < 0 {
			return false
		}
		if !st.valid(line[pos:end]) {
			if st.kind != vText {
				return false
			}
		} else {
			r.val[st.field] = line[pos:end]
			if f.matchSlow(line, i+1, end+len(st.lit), r, budget) {
				return true
			}
		}
		if st.kind != vText {
			return false
		}
		from = end + 1
	}
}

func (st *step) valid(v []byte) bool {
	switch st.kind {
	case vToken:
		if st.spaceCheck && bytes.IndexByte(v, ' ') >= 0 {
			return false
		}
	case vNumber:
		if len(v) == 1 && v[0] == '-' {
			return true
		}
		for _, c := range v {
			if c < '0' || c > '9' {
				return false
			}
		}
	case vCode:
		if len(v) == 0 || len(v) > 3 {
			return false
		}
		if len(v) == 1 && v[0] == '-' {
			return true
		}
		for _, c := range v {
			if c < '0' || c > '9' {
				return false
			}
		}
	case vTime:
		return len(v) > 0 && (v[0] >= '0' && v[0] <= '9' || len(v) == 1 && v[0] == '-')
	}
	return true
}

// compileJSON reads a JSON format: an object whose string values are
// operators. Only top-level keys whose value is exactly one operator are
// kept (a nested object or a value mixing text and operators cannot be
// told apart reliably in the output).
func compileJSON(name, s string) (*Format, error) {
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, &FormatError{0, "JSON format: " + err.Error()}
	}
	f := &Format{name: name, source: s, kind: kindJSON, keys: map[string]Field{}}
	known := 0
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, ok := m[k].(string)
		if !ok || !strings.HasPrefix(v, "%") {
			continue
		}
		c, n, ok := scanCommand(v)
		if !ok || n != len(v) {
			continue
		}
		fl, _ := operatorField(c)
		f.keys[k] = fl
		if fl != fieldNone {
			known++
		}
	}
	if known == 0 {
		return nil, &FormatError{0, "JSON format: no key holds an operator meshdoctor reads"}
	}
	// Two keys, so that a JSON application log sharing one key name (say
	// "duration") is not taken for an access log.
	f.minKeys = min(2, known)
	return f, nil
}

// withIstioKeys marks a format compiled from IstioJSONFormat, after
// checking that the switch in istioJSONField agrees with it.
func withIstioKeys(f *Format) *Format {
	for k, fl := range f.keys {
		if istioJSONField([]byte(k)) != fl {
			panic("istioJSONField disagrees with IstioJSONFormat on " + k)
		}
	}
	f.istioKeys = true
	return f
}

func mustCompile(name, s string) *Format {
	f, err := CompileNamedFormat(name, s)
	if err != nil {
		panic(err)
	}
	return f
}

// The built-in formats, compiled once; Formats are immutable.
var (
	builtinIstio    = mustCompile("istio", IstioTextFormat)
	builtinIstio15  = mustCompile("istio-1.5", IstioTextFormat15)
	builtinEnvoy    = mustCompile("envoy", EnvoyTextFormat)
	builtinJSON     = withIstioKeys(mustCompile("json", IstioJSONFormat))
	builtinZtunnel  = &Format{name: "ztunnel", kind: kindZtunnel}
	builtinZtunnelJ = &Format{name: "ztunnel-json", kind: kindZtunnel}
)

// BuiltinFormats are the formats every Parser knows, in the order they are
// tried: Istio TEXT (1.9+; IstioTextFormat19 lays lines out the same way),
// Istio TEXT 1.5–1.8, Envoy's default, Istio JSON, ztunnel (text and JSON).
func BuiltinFormats() []*Format {
	return []*Format{builtinIstio, builtinIstio15, builtinEnvoy, builtinJSON, builtinZtunnel, builtinZtunnelJ}
}
