package decode

import (
	"errors"
	"slices"
	"strconv"
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/meshdoctor/meshdoctor/internal/yamltree"
)

// Istio specs straight from the tree.
//
// protojson (with DiscardUnknown) is the reference for an Istio spec: it
// is what Istio's own JSON decoding accepts. Going through it means
// writing the tree out as JSON and tokenizing it again, a sixth of the
// decoding time of a typical snapshot. protoFromTree fills the message
// from the tree for the forms people write — messages, lists, string-keyed
// maps, strings, bools, decimal integers, enum names, durations such as
// "5s" and the integer and bool wrappers — and gives up (errLeftToProtojson)
// on anything else: floats, bytes, numbers in strings, enum numbers, nulls
// inside lists or maps, Struct, Any and the other well-known types, a field
// set twice. The caller then runs protojson, which decides, so the result
// is always protojson's. FuzzProtoFromTree holds the two to the same
// message on whatever the direct path accepts.

// errLeftToProtojson means the tree holds a form protoFromTree leaves to
// protojson.
var errLeftToProtojson = errors.New("decode: left to protojson")

// maxSecondsInDuration is google.protobuf.Duration's range.
const maxSecondsInDuration = 315576000000

// protoFromTree fills m (empty) from the map node n. The tree's strings may
// share a buffer the reader reuses: every string kept is copied, through
// in (which may be nil).
func protoFromTree(n *yamltree.Node, m protoreflect.Message, in *Interner, plans *protoPlans) error {
	d := protoDecoder{in: in, plans: plans}
	return d.message(n, m.Interface(), 0)
}

type protoDecoder struct {
	in    *Interner
	plans *protoPlans // see protodirect.go
}

func (d protoDecoder) fields(n *yamltree.Node, m protoreflect.Message, depth int) error {
	if depth > 100 || n.Kind != yamltree.Map {
		return errLeftToProtojson
	}
	md := m.Descriptor()
	if md.ParentFile().Package() == "google.protobuf" { // checked first: one comparison for Istio's own
		switch md.FullName() {
		case "google.protobuf.Duration":
			return protoDuration(n, m)
		case "google.protobuf.BoolValue", "google.protobuf.StringValue", "google.protobuf.Int32Value",
			"google.protobuf.Int64Value", "google.protobuf.UInt32Value", "google.protobuf.UInt64Value":
			return errLeftToProtojson // a wrapper written as an object
		}
		if isWellKnown(md.FullName()) {
			return errLeftToProtojson
		}
	}
	fields := md.Fields()
	var seenBuf [16]protoreflect.FieldNumber
	var oneofBuf [4]int
	rules := newKeyRules(&seenBuf, &oneofBuf)
	for i, k := range n.Keys {
		fd := fields.ByJSONName(k)
		if fd == nil {
			fd = fields.ByTextName(k)
		}
		c := n.Children[i]
		var set bool
		var err error
		if rules, set, err = rules.admit(k, fd, c); !set {
			if err != nil {
				return err
			}
			continue
		}
		switch {
		case fd.IsList():
			if c.Kind != yamltree.Seq {
				return errLeftToProtojson
			}
			list := m.Mutable(fd).List()
			for _, e := range c.Children {
				if fd.Kind() == protoreflect.MessageKind {
					if err := d.messageValue(e, list.AppendMutable().Message(), depth+1); err != nil {
						return err
					}
					continue
				}
				val, err := d.scalar(e, fd)
				if err != nil {
					return err
				}
				list.Append(val)
			}
		case fd.IsMap():
			if c.Kind != yamltree.Map || fd.MapKey().Kind() != protoreflect.StringKind {
				return errLeftToProtojson
			}
			mm := m.Mutable(fd).Map()
			vd := fd.MapValue()
			for j, key := range c.Keys {
				if !utf8.ValidString(key) {
					return errLeftToProtojson // JSON output would replace bytes
				}
				mk := protoreflect.ValueOfString(d.in.get(key)).MapKey()
				if mm.Has(mk) {
					return errLeftToProtojson
				}
				e := c.Children[j]
				if vd.Kind() == protoreflect.MessageKind {
					val := mm.NewValue()
					if err := d.messageValue(e, val.Message(), depth+1); err != nil {
						return err
					}
					mm.Set(mk, val)
					continue
				}
				val, err := d.scalar(e, vd)
				if err != nil {
					return err
				}
				mm.Set(mk, val)
			}
		default:
			if fd.Kind() == protoreflect.MessageKind {
				// Made in place: a field set once (checked above) is
				// not set yet.
				if err := d.messageValue(c, m.Mutable(fd).Message(), depth+1); err != nil {
					return err
				}
				continue
			}
			if fd.Kind() == protoreflect.GroupKind {
				return errLeftToProtojson
			}
			val, err := d.scalar(c, fd)
			if err != nil {
				return err
			}
			m.Set(fd, val)
		}
	}
	return nil
}

// keyRules are the rules every key of a message passes, in both ways of
// filling it (fields, and fill in protodirect.go), so that a message is
// filled only as protojson would fill it: each field set once (by JSON or
// proto name) and one member per oneof. Callers give it buffers on their
// stack (newKeyRules), enough for the few fields nearly every message sets.
type keyRules struct {
	seen   []protoreflect.FieldNumber
	oneofs []int
}

func newKeyRules(seen *[16]protoreflect.FieldNumber, oneofs *[4]int) keyRules {
	return keyRules{seen: seen[:0], oneofs: oneofs[:0]}
}

// admit decides on key k (fd is its field, nil when the message has none)
// with value c: set is true when the value is to be set; otherwise it is
// skipped, or err is errLeftToProtojson. It returns the rules with k
// recorded (a value, not a pointer, so that the buffers stay on the
// caller's stack).
func (r keyRules) admit(k string, fd protoreflect.FieldDescriptor, c *yamltree.Node) (_ keyRules, set bool, err error) {
	if fd == nil {
		if len(k) > 1 && k[0] == '[' && k[len(k)-1] == ']' {
			return r, false, errLeftToProtojson // an extension's name
		}
		return r, false, nil // unknown: discarded, as DiscardUnknown does
	}
	if slices.Contains(r.seen, fd.Number()) {
		return r, false, errLeftToProtojson // set twice (JSON and proto name)
	}
	r.seen = append(r.seen, fd.Number())
	if c.Kind == yamltree.Null {
		if isKnownValueField(fd) {
			return r, false, errLeftToProtojson
		}
		return r, false, nil // null leaves a field unset
	}
	if od := fd.ContainingOneof(); od != nil {
		if slices.Contains(r.oneofs, od.Index()) {
			return r, false, errLeftToProtojson // two members of one oneof
		}
		r.oneofs = append(r.oneofs, od.Index())
	}
	return r, true, nil
}

// messageValue fills a message-typed value: an object, or the scalar
// form of a wrapper or a Duration.
func (d protoDecoder) messageValue(n *yamltree.Node, m protoreflect.Message, depth int) error {
	if md := m.Descriptor(); md.ParentFile().Package() == "google.protobuf" {
		switch md.FullName() {
		case "google.protobuf.BoolValue", "google.protobuf.StringValue", "google.protobuf.Int32Value",
			"google.protobuf.Int64Value", "google.protobuf.UInt32Value", "google.protobuf.UInt64Value":
			fd := md.Fields().ByNumber(1)
			val, err := d.scalar(n, fd)
			if err != nil {
				return err
			}
			m.Set(fd, val)
			return nil
		case "google.protobuf.Duration":
			return protoDuration(n, m)
		}
	}
	return d.fields(n, m, depth)
}

// scalar converts a scalar node for a field of a scalar or enum kind.
func (d protoDecoder) scalar(n *yamltree.Node, fd protoreflect.FieldDescriptor) (protoreflect.Value, error) {
	switch fd.Kind() {
	case protoreflect.StringKind:
		if n.Kind == yamltree.String && utf8.ValidString(n.Text) {
			return protoreflect.ValueOfString(d.in.get(n.Text)), nil
		}
	case protoreflect.BoolKind:
		if n.Kind == yamltree.Bool {
			return protoreflect.ValueOfBool(n.Text == "true"), nil
		}
	case protoreflect.EnumKind:
		if n.Kind == yamltree.String && fd.Enum().FullName() != "google.protobuf.NullValue" {
			if ev := fd.Enum().Values().ByName(protoreflect.Name(n.Text)); ev != nil {
				return protoreflect.ValueOfEnum(ev.Number()), nil
			}
		}
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		if v, ok := decimal(n); ok {
			if i, err := strconv.ParseInt(v, 10, 32); err == nil {
				return protoreflect.ValueOfInt32(int32(i)), nil
			}
		}
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		if v, ok := decimal(n); ok {
			if i, err := strconv.ParseInt(v, 10, 64); err == nil {
				return protoreflect.ValueOfInt64(i), nil
			}
		}
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		if v, ok := decimal(n); ok && v[0] != '-' {
			if i, err := strconv.ParseUint(v, 10, 32); err == nil {
				return protoreflect.ValueOfUint32(uint32(i)), nil
			}
		}
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		if v, ok := decimal(n); ok && v[0] != '-' {
			if i, err := strconv.ParseUint(v, 10, 64); err == nil {
				return protoreflect.ValueOfUint64(i), nil
			}
		}
	}
	return protoreflect.Value{}, errLeftToProtojson
}

// decimal returns an Int node's literal when JSON would read it as the same
// integer: an optional minus, then 0 or digits without a leading zero.
func decimal(n *yamltree.Node) (string, bool) {
	if n.Kind != yamltree.Int {
		return "", false
	}
	v := n.Text
	d := v
	if d != "" && d[0] == '-' {
		d = d[1:]
	}
	if d == "" || d[0] == '0' && len(d) > 1 || v == "-0" {
		return "", false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return "", false
		}
	}
	return v, true
}

// protoDuration reads "5s", "1.5s", "0.250s": whole seconds without a
// leading zero (or 0), an optional fraction of 1 to 9 digits, and "s".
// Signs, ".5s", "5.s" and the like are left to protojson.
func protoDuration(n *yamltree.Node, m protoreflect.Message) error {
	if n.Kind != yamltree.String {
		return errLeftToProtojson
	}
	s := n.Text
	if len(s) < 2 || s[len(s)-1] != 's' {
		return errLeftToProtojson
	}
	s = s[:len(s)-1]
	whole, frac := s, ""
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			whole, frac = s[:i], s[i+1:]
			if frac == "" || len(frac) > 9 {
				return errLeftToProtojson
			}
			break
		}
	}
	if whole == "" || whole[0] == '0' && len(whole) > 1 || !digits(whole) || !digits(frac) {
		return errLeftToProtojson
	}
	secs, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || secs > maxSecondsInDuration {
		return errLeftToProtojson
	}
	var nanos int64
	if frac != "" {
		nanos, _ = strconv.ParseInt(frac, 10, 64)
		for i := len(frac); i < 9; i++ {
			nanos *= 10
		}
	}
	fds := m.Descriptor().Fields()
	m.Set(fds.ByNumber(1), protoreflect.ValueOfInt64(secs))
	m.Set(fds.ByNumber(2), protoreflect.ValueOfInt32(int32(nanos)))
	return nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isKnownValueField: fields whose JSON null is a value, not "unset".
func isKnownValueField(fd protoreflect.FieldDescriptor) bool {
	switch {
	case fd.Kind() == protoreflect.MessageKind:
		return fd.Message().FullName() == "google.protobuf.Value"
	case fd.Kind() == protoreflect.EnumKind:
		return fd.Enum().FullName() == "google.protobuf.NullValue"
	}
	return false
}

// isWellKnown: google.protobuf messages with a special JSON form.
func isWellKnown(name protoreflect.FullName) bool {
	return name.Parent() == "google.protobuf" && opaqueMessages[name]
}
