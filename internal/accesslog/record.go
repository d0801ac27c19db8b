package accesslog

import (
	"bytes"
	"strconv"
	"time"
)

// Record is one parsed access-log line. Its values are sub-slices of the
// line it was parsed from: they are valid only as long as that line is, and
// are overwritten by the next parse into the same Record.
//
// A field can be absent (the line's format does not carry it: Has is false),
// unset (carried but printed as "-", null or nothing: Value's ok is false),
// or set.
type Record struct {
	// Format is the format the line matched.
	Format *Format
	// Pod and Container come from a `kubectl logs --prefix` wrapper
	// ("[pod/NAME/CONTAINER] "); KubeTime from `kubectl logs --timestamps`
	// or a container runtime's log file (/var/log/pods/…).
	Pod, Container, KubeTime []byte

	has uint64                // fields the line's format carries
	esc uint64                // fields whose raw value holds escapes (JSON, quoted ztunnel values)
	val [numFields + 1][]byte // the last slot takes fieldNone's values
}

// Reset clears the record for reuse.
func (r *Record) Reset() {
	r.Format = nil
	r.Pod, r.Container, r.KubeTime = nil, nil, nil
	r.has, r.esc = 0, 0
}

func (r *Record) set(f Field, v []byte, escaped bool) {
	if f >= numFields {
		return
	}
	r.val[f] = v
	r.has |= 1 << f
	if escaped {
		r.esc |= 1 << f
	} else {
		r.esc &^= 1 << f
	}
}

// Has reports whether the line's format carries the field.
func (r *Record) Has(f Field) bool { return f < numFields && r.has&(1<<f) != 0 }

// Raw is the field's value as printed, without surrounding quotes; escapes
// (JSON's, ztunnel's) are left in. Nil when absent or JSON null.
func (r *Record) Raw(f Field) []byte {
	if !r.Has(f) {
		return nil
	}
	return r.val[f]
}

// Value is the field's raw value, ok only when the field is present and
// set: "-", null and empty values are unset.
func (r *Record) Value(f Field) (v []byte, ok bool) {
	v = r.Raw(f)
	if unset(v) {
		return nil, false
	}
	return v, true
}

func unset(v []byte) bool {
	return len(v) == 0 || len(v) == 1 && v[0] == '-'
}

// String is the field's value with escapes resolved; "" when absent or unset.
func (r *Record) String(f Field) string {
	v, ok := r.Value(f)
	if !ok {
		return ""
	}
	if r.esc&(1<<f) != 0 {
		return string(r.appendValue(nil, f))
	}
	return string(v)
}

// appendValue appends the field's value, escapes resolved, to dst; nothing
// when unset.
func (r *Record) appendValue(dst []byte, f Field) []byte {
	v, ok := r.Value(f)
	if !ok {
		return dst
	}
	if r.esc&(1<<f) == 0 {
		return append(dst, v...)
	}
	if r.Format != nil && r.Format.kind == kindZtunnel {
		return appendUnquotedRust(dst, v)
	}
	return appendUnescapedJSON(dst, v)
}

// Int is a numeric field (bytes, response code, upstream service time).
func (r *Record) Int(f Field) (int64, bool) {
	v, ok := r.Value(f)
	if !ok {
		return 0, false
	}
	return parseUint(v)
}

func parseUint(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// Code is the response code. Envoy logs 0 when no response was sent
// (and for every TCP connection).
func (r *Record) Code() (int, bool) {
	n, ok := r.Int(FieldResponseCode)
	if !ok || n > 999 {
		return 0, false
	}
	return int(n), true
}

// Flags are the response flags, split (see SplitFlags).
func (r *Record) Flags() []string {
	return SplitFlags(r.String(FieldResponseFlags))
}

// Duration is the request's (or connection's) duration: Envoy logs
// milliseconds, ztunnel a Go-like duration ("2ms").
func (r *Record) Duration() (time.Duration, bool) {
	v, ok := r.Value(FieldDuration)
	if !ok {
		return 0, false
	}
	if n, ok := parseUint(v); ok {
		return time.Duration(n) * time.Millisecond, true
	}
	d, err := time.ParseDuration(r.String(FieldDuration))
	return d, err == nil
}

// Time is the line's start time (Envoy's START_TIME, ztunnel's timestamp),
// else the timestamp `kubectl logs --timestamps` added.
func (r *Record) Time() (time.Time, bool) {
	if v, ok := r.Value(FieldStartTime); ok {
		if t, ok := parseTime(v); ok {
			return t, true
		}
	}
	if len(r.KubeTime) > 0 {
		return parseTime(r.KubeTime)
	}
	return time.Time{}, false
}

// timeText is the raw text Time reads.
func (r *Record) timeText() []byte {
	if v, ok := r.Value(FieldStartTime); ok {
		return v
	}
	return r.KubeTime
}

func parseTime(v []byte) (time.Time, bool) {
	s := string(v)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	// Envoy's %START_TIME% without a time zone offset ends in "Z" and is
	// RFC 3339; a custom START_TIME(...) format is not recognised.
	return time.Time{}, false
}

// Cluster is the upstream cluster taken apart.
func (r *Record) Cluster() Cluster {
	return ParseCluster(r.String(FieldUpstreamCluster))
}

// IsZtunnel reports whether the record is a ztunnel access line.
func (r *Record) IsZtunnel() bool { return r.Format != nil && r.Format.kind == kindZtunnel }

// Failure reports whether the record shows a failed request or connection:
// a 5xx, a response code 0 on an HTTP request (no response was sent), any
// response flag, or a ztunnel error. A TCP connection logs code 0 whatever
// happened ("- - -" as method, path and protocol), so for it only the flags
// count.
func (r *Record) Failure() bool {
	if _, ok := r.Value(FieldError); ok {
		return true
	}
	if f, ok := r.Value(FieldResponseFlags); ok && !bytes.Equal(f, []byte("null")) {
		return true
	}
	code, ok := r.Code()
	if !ok {
		return false
	}
	if code >= 500 {
		return true
	}
	if code == 0 {
		_, http := r.Value(FieldProtocol)
		return http
	}
	return false
}

// FormatName is the name of the format the record matched, "" for none.
func (r *Record) FormatName() string {
	if r.Format == nil {
		return ""
	}
	return r.Format.name
}

// GoString helps debugging: every present field.
func (r *Record) GoString() string {
	var b []byte
	b = append(b, "accesslog.Record{"...)
	b = strconv.AppendQuote(append(b, "Format:"...), r.FormatName())
	for f := range numFields {
		if r.Has(f) {
			b = append(b, ' ')
			b = append(b, f.String()...)
			b = append(b, ':')
			b = strconv.AppendQuote(b, string(r.val[f]))
		}
	}
	return string(append(b, '}'))
}
