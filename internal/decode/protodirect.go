package decode

import (
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/meshdoctor/meshdoctor/internal/yamltree"
)

// Istio messages filled through their Go structs.
//
// protoreflect converts every value it sets and allocates a view of every
// message it touches: at 50k objects filling the 10k Istio specs that way
// took 8% of the run. Most Istio messages are plain structs — scalars,
// enums, lists, string-keyed maps, oneofs and other messages — and are
// filled here field by field with reflect, following a plan built once per
// message type. Messages with an optional scalar, and the well-known types,
// keep going through protoreflect (protoDecoder.fields), and every
// form that path leaves to protojson is left to it here too, so the result
// is always protojson's (FuzzProtoFromTree).

// protoPlan says how a generated message's Go struct is filled.
type protoPlan struct {
	// direct is false for messages filled through protoreflect.
	direct bool
	// fields are keyed by JSON name and by proto name, as protojson
	// accepts both.
	fields names[*protoField]
}

// protoField is one field of a message filled directly.
type protoField struct {
	fd    protoreflect.FieldDescriptor
	index int          // of the Go struct field (for a oneof member, the oneof's interface field)
	typ   reflect.Type // of the value: the Go struct field, or the oneof wrapper's only field
	// wrapper is, for a oneof member, the pointer type the oneof's
	// interface field holds when this member is set.
	wrapper reflect.Type
}

// protoPlans caches a plan per message struct type.
type protoPlans struct{ m sync.Map }

// planOf returns the plan of the message struct type t (not a pointer).
func (c *protoPlans) planOf(t reflect.Type) *protoPlan {
	if p, ok := c.m.Load(t); ok {
		return p.(*protoPlan)
	}
	p, _ := c.m.LoadOrStore(t, buildProtoPlan(t))
	return p.(*protoPlan)
}

func buildProtoPlan(t reflect.Type) *protoPlan {
	msg, ok := reflect.New(t).Interface().(proto.Message)
	if !ok {
		return &protoPlan{}
	}
	md := msg.ProtoReflect().Descriptor()
	if md.ParentFile().Package() == "google.protobuf" {
		return &protoPlan{} // well-known forms
	}
	fields := map[string]*protoField{}
	add := func(f *protoField) bool {
		if f.fd.IsExtension() || f.fd.IsMap() && f.fd.MapKey().Kind() != protoreflect.StringKind {
			return false
		}
		fields[f.fd.JSONName()] = f
		fields[f.fd.TextName()] = f
		return true
	}
	found := 0
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if oneof := sf.Tag.Get("protobuf_oneof"); oneof != "" {
			od := md.Oneofs().ByName(protoreflect.Name(oneof))
			if od == nil || od.IsSynthetic() {
				return &protoPlan{}
			}
			for j := 0; j < od.Fields().Len(); j++ {
				f := oneofMember(t, i, od.Fields().Get(j))
				if f == nil || !add(f) {
					return &protoPlan{}
				}
				found++
			}
			continue
		}
		name := protoTagName(sf.Tag.Get("protobuf"))
		if name == "" {
			continue
		}
		fd := md.Fields().ByName(protoreflect.Name(name))
		if fd == nil || fd.ContainingOneof() != nil || !add(&protoField{fd: fd, index: i, typ: sf.Type}) {
			return &protoPlan{} // optional scalars are (synthetic) oneofs
		}
		found++
	}
	if found != md.Fields().Len() {
		return &protoPlan{} // a field without a plain Go field: leave it all to protoreflect
	}
	return &protoPlan{direct: true, fields: newNames(fields)}
}

// oneofMember plans member fd of the oneof held by the interface field
// index of the message struct t. The wrapper type the interface holds for
// fd is found by setting fd, through protoreflect, on a probe message.
func oneofMember(t reflect.Type, index int, fd protoreflect.FieldDescriptor) *protoField {
	probe := reflect.New(t)
	pm := probe.Interface().(proto.Message).ProtoReflect()
	val := fd.Default()
	if fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind {
		val = pm.NewField(fd)
	}
	if fd.IsList() || fd.IsMap() || !val.IsValid() {
		return nil
	}
	pm.Set(fd, val)
	held := probe.Elem().Field(index)
	if held.Kind() != reflect.Interface || held.IsNil() {
		return nil
	}
	wrapper := held.Elem().Type()
	if wrapper.Kind() != reflect.Pointer || wrapper.Elem().Kind() != reflect.Struct || wrapper.Elem().NumField() != 1 {
		return nil
	}
	return &protoField{fd: fd, index: index, typ: wrapper.Elem().Field(0).Type, wrapper: wrapper}
}

// protoTagName returns the name= part of a protobuf struct tag.
func protoTagName(tag string) string {
	for _, part := range strings.Split(tag, ",") {
		if name, ok := strings.CutPrefix(part, "name="); ok {
			return name
		}
	}
	return ""
}

// message fills the message m (empty) from the map node n: directly when
// its plan allows, else through protoreflect.
func (d protoDecoder) message(n *yamltree.Node, m proto.Message, depth int) error {
	v := reflect.ValueOf(m).Elem()
	if plan := d.plans.planOf(v.Type()); plan.direct {
		return d.fill(n, v, plan, depth)
	}
	return d.messageValue(n, m.ProtoReflect(), depth)
}

// fill fills the message struct v (zero), whose plan is direct.
func (d protoDecoder) fill(n *yamltree.Node, v reflect.Value, plan *protoPlan, depth int) error {
	if depth > 100 || n.Kind != yamltree.Map {
		return errLeftToProtojson
	}
	var seenBuf [16]protoreflect.FieldNumber
	var oneofBuf [4]int
	rules := newKeyRules(&seenBuf, &oneofBuf)
	for i, k := range n.Keys {
		f, _ := plan.fields.get(k)
		var fd protoreflect.FieldDescriptor
		if f != nil {
			fd = f.fd
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
		if f.wrapper == nil {
			if err := d.field(c, v.Field(f.index), f, depth); err != nil {
				return err
			}
			continue
		}
		w := reflect.New(f.wrapper.Elem())
		if err := d.field(c, w.Elem().Field(0), f, depth); err != nil {
			return err
		}
		v.Field(f.index).Set(w)
	}
	return nil
}

// field fills fv (zero), the Go value of f, from the node c.
func (d protoDecoder) field(c *yamltree.Node, fv reflect.Value, f *protoField, depth int) error {
	fd := f.fd
	switch {
	case fd.IsList():
		if c.Kind != yamltree.Seq {
			return errLeftToProtojson
		}
		if len(c.Children) == 0 {
			return nil // protoreflect leaves an empty list nil
		}
		list := reflect.MakeSlice(f.typ, len(c.Children), len(c.Children))
		for j, e := range c.Children {
			if err := d.value(e, list.Index(j), fd, depth); err != nil {
				return err
			}
		}
		fv.Set(list)
	case fd.IsMap():
		if c.Kind != yamltree.Map {
			return errLeftToProtojson
		}
		mm := reflect.MakeMapWithSize(f.typ, len(c.Keys)) // an empty map is made too, as protoreflect does
		vd := fd.MapValue()
		for j, key := range c.Keys {
			if !utf8.ValidString(key) {
				return errLeftToProtojson // JSON output would replace bytes
			}
			mk := reflect.ValueOf(d.in.get(key)).Convert(f.typ.Key())
			if mm.MapIndex(mk).IsValid() {
				return errLeftToProtojson
			}
			ev := reflect.New(f.typ.Elem()).Elem()
			if err := d.value(c.Children[j], ev, vd, depth); err != nil {
				return err
			}
			mm.SetMapIndex(mk, ev)
		}
		fv.Set(mm)
	default:
		return d.value(c, fv, fd, depth)
	}
	return nil
}

// value fills v (zero), a singular value of fd's kind: a message (v is a
// pointer) or a scalar.
func (d protoDecoder) value(n *yamltree.Node, v reflect.Value, fd protoreflect.FieldDescriptor, depth int) error {
	if fd.Kind() == protoreflect.MessageKind {
		ptr := reflect.New(v.Type().Elem())
		var err error
		if plan := d.plans.planOf(ptr.Type().Elem()); plan.direct {
			err = d.fill(n, ptr.Elem(), plan, depth+1)
		} else if m, ok := ptr.Interface().(proto.Message); ok {
			err = d.messageValue(n, m.ProtoReflect(), depth+1)
		} else {
			err = errLeftToProtojson
		}
		if err != nil {
			return err
		}
		v.Set(ptr)
		return nil
	}
	if fd.Kind() == protoreflect.GroupKind {
		return errLeftToProtojson
	}
	val, err := d.scalar(n, fd)
	if err != nil {
		return err
	}
	switch x := val.Interface().(type) {
	case string:
		v.SetString(x)
	case bool:
		v.SetBool(x)
	case int32:
		v.SetInt(int64(x))
	case int64:
		v.SetInt(x)
	case uint32:
		v.SetUint(uint64(x))
	case uint64:
		v.SetUint(x)
	case protoreflect.EnumNumber:
		v.SetInt(int64(x))
	default:
		return errLeftToProtojson
	}
	return nil
}
