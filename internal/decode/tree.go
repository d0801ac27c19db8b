package decode

import (
	"encoding"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/protobuf/reflect/protoreflect"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/yamltree"
)

// DecodeTree decodes an object read by yamltree. It fills the typed value
// straight from the tree — the fast path — and finds unknown fields on the
// way. Whenever the tree does not fit the type (a string where a number
// belongs, say) it hands the object to Decode, whose strict JSON decoder
// gives the canonical result or error.
func (d *Decoder) DecodeTree(n *yamltree.Node) (Result, error) {
	if n == nil {
		return Result{}, errors.New("empty document")
	}
	if n.Kind != yamltree.Map {
		return d.Decode(n.AppendJSON(nil))
	}
	av, k := n.Get("apiVersion"), n.Get("kind")
	if av == nil || k == nil || av.Kind != yamltree.String || k.Kind != yamltree.String || av.Text == "" || k.Text == "" {
		return d.Decode(n.AppendJSON(nil))
	}
	gv, err := schema.ParseGroupVersion(av.Text)
	if err != nil {
		return d.Decode(n.AppendJSON(nil))
	}
	written := gv.WithKind(k.Text)
	obj, err := d.scheme.New(preferredIstioVersion(written))
	if err != nil {
		u := &unstructured.Unstructured{Object: n.ToInterface().(map[string]any)}
		return Result{Obj: u}, nil
	}
	td := treeDecoder{plans: &d.plans}
	if err := td.value(n, reflect.ValueOf(obj).Elem(), nil); err != nil {
		return d.Decode(n.AppendJSON(nil))
	}
	obj.GetObjectKind().SetGroupVersionKind(written)
	res := Result{Obj: obj, Modeled: true, Issues: td.issues}
	if spec := protoSpec(obj); spec != nil {
		if s := n.Get("spec"); s != nil {
			walkProtoTree(spec.ProtoReflect().Descriptor(), s, snapshot.P("spec"), &res.Issues)
		}
	}
	sort.Slice(res.Issues, func(i, j int) bool { return res.Issues[i].Path.String() < res.Issues[j].Path.String() })
	return res, nil
}

var (
	errMismatch     = errors.New("tree does not fit the type")
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	emptyInterface  = reflect.TypeFor[any]()
	byteSlice       = reflect.TypeFor[[]byte]()
)

// fieldPlan says where a JSON field lands in a struct.
type fieldPlan struct {
	index []int
}

type structPlan struct {
	fields map[string]fieldPlan
}

// plans caches one structPlan per struct type (a sync.Map in the Decoder).
type planCache = sync.Map

type treeDecoder struct {
	plans  *planCache
	issues []snapshot.FieldIssue
}

func (td *treeDecoder) plan(t reflect.Type) (*structPlan, error) {
	if p, ok := td.plans.Load(t); ok {
		return p.(*structPlan), nil
	}
	p := &structPlan{fields: map[string]fieldPlan{}}
	depth := map[string]int{}
	if err := collectFields(t, nil, p, depth); err != nil {
		return nil, err
	}
	td.plans.Store(t, p)
	return p, nil
}

// collectFields follows encoding/json's rules: a tag names the field,
// untagged anonymous structs are inlined, and a shallower field wins over
// a deeper one of the same name. Same-depth conflicts and ",string" are
// left to encoding/json.
func collectFields(t reflect.Type, prefix []int, p *structPlan, depth map[string]int) error {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(","+opts+",", ",string,") {
			return errMismatch
		}
		idx := append(prefix[:len(prefix):len(prefix)], i)
		ft := f.Type
		if f.Anonymous && name == "" {
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				if err := collectFields(ft, idx, p, depth); err != nil {
					return err
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		d, seen := depth[name]
		switch {
		case !seen || len(idx) < d:
			p.fields[name] = fieldPlan{index: idx}
			depth[name] = len(idx)
		case len(idx) == d:
			return errMismatch
		}
	}
	return nil
}

func (td *treeDecoder) unknown(at snapshot.Path) {
	td.issues = append(td.issues, snapshot.FieldIssue{Path: at})
}

// value decodes n into v, following encoding/json's semantics.
func (td *treeDecoder) value(n *yamltree.Node, v reflect.Value, at snapshot.Path) error {
	// Custom decoders first: encoding/json gives them the raw JSON,
	// null included, unless v is a pointer (then null sets it to nil).
	if v.Kind() != reflect.Pointer && v.CanAddr() {
		pv := v.Addr()
		if pv.Type().Implements(jsonUnmarshaler) {
			return pv.Interface().(json.Unmarshaler).UnmarshalJSON(n.AppendJSON(nil))
		}
		if n.Kind == yamltree.String && pv.Type().Implements(textUnmarshaler) {
			return pv.Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Text))
		}
	}
	if n.Kind == yamltree.Null {
		switch v.Kind() {
		case reflect.Interface, reflect.Pointer, reflect.Map, reflect.Slice:
			v.SetZero()
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return td.value(n, v.Elem(), at)
	case reflect.Struct:
		if n.Kind != yamltree.Map {
			return errMismatch
		}
		p, err := td.plan(v.Type())
		if err != nil {
			return err
		}
		for i, k := range n.Keys {
			f, ok := p.fields[k]
			if !ok {
				td.unknown(at.Child(k))
				continue
			}
			fv, err := fieldByIndex(v, f.index)
			if err != nil {
				return err
			}
			if err := td.value(n.Children[i], fv, at.Child(k)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		if n.Kind != yamltree.Map || v.Type().Key().Kind() != reflect.String || v.Type().Key().Implements(textUnmarshaler) {
			return errMismatch
		}
		if v.IsNil() {
			v.Set(reflect.MakeMapWithSize(v.Type(), len(n.Keys)))
		}
		kt, et := v.Type().Key(), v.Type().Elem()
		for i, k := range n.Keys {
			ev := reflect.New(et).Elem()
			if err := td.value(n.Children[i], ev, at.Child(k)); err != nil {
				return err
			}
			v.SetMapIndex(reflect.ValueOf(strings.Clone(k)).Convert(kt), ev)
		}
		return nil
	case reflect.Slice:
		if v.Type() == byteSlice || v.Type().Elem().Kind() == reflect.Uint8 {
			if n.Kind != yamltree.String {
				return errMismatch
			}
			b := make([]byte, base64.StdEncoding.DecodedLen(len(n.Text)))
			m, err := base64.StdEncoding.Decode(b, []byte(n.Text))
			if err != nil {
				return errMismatch
			}
			v.SetBytes(b[:m])
			return nil
		}
		if n.Kind != yamltree.Seq {
			return errMismatch
		}
		s := reflect.MakeSlice(v.Type(), len(n.Children), len(n.Children))
		for i, c := range n.Children {
			if err := td.value(c, s.Index(i), at.Child(i)); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case reflect.Interface:
		if v.Type() != emptyInterface {
			return errMismatch
		}
		v.Set(reflect.ValueOf(n.ToInterface()))
		return nil
	case reflect.String:
		if n.Kind != yamltree.String {
			return errMismatch
		}
		v.SetString(strings.Clone(n.Text))
		return nil
	case reflect.Bool:
		if n.Kind != yamltree.Bool {
			return errMismatch
		}
		v.SetBool(n.Text == "true")
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n.Kind != yamltree.Int && n.Kind != yamltree.Float {
			return errMismatch
		}
		i, err := strconv.ParseInt(n.Text, 10, 64)
		if err != nil || v.OverflowInt(i) {
			return errMismatch
		}
		v.SetInt(i)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n.Kind != yamltree.Int && n.Kind != yamltree.Float {
			return errMismatch
		}
		u, err := strconv.ParseUint(n.Text, 10, 64)
		if err != nil || v.OverflowUint(u) {
			return errMismatch
		}
		v.SetUint(u)
		return nil
	case reflect.Float32, reflect.Float64:
		if n.Kind != yamltree.Int && n.Kind != yamltree.Float {
			return errMismatch
		}
		f, err := strconv.ParseFloat(n.Text, v.Type().Bits())
		if err != nil || v.OverflowFloat(f) {
			return errMismatch
		}
		v.SetFloat(f)
		return nil
	}
	return errMismatch
}

// fieldByIndex walks into embedded structs, allocating nil embedded
// pointers as encoding/json does.
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, error) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !v.CanSet() {
					return reflect.Value{}, errMismatch
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, nil
}

// walkProtoTree is walkProto over a tree: the unknown keys of an Istio spec.
func walkProtoTree(md protoreflect.MessageDescriptor, n *yamltree.Node, at snapshot.Path, out *[]FieldIssue) {
	if opaqueMessages[md.FullName()] || n.Kind != yamltree.Map {
		return
	}
	fields := md.Fields()
	for i, k := range n.Keys {
		val := n.Children[i]
		fd := fields.ByJSONName(k)
		if fd == nil {
			fd = fields.ByName(protoreflect.Name(k))
		}
		if fd == nil {
			*out = append(*out, FieldIssue{Path: at.Child(k)})
			continue
		}
		child := at.Child(k)
		switch {
		case fd.IsMap():
			if fd.MapValue().Kind() == protoreflect.MessageKind && val.Kind == yamltree.Map {
				for j, mk := range val.Keys {
					walkProtoTree(fd.MapValue().Message(), val.Children[j], child.Child(mk), out)
				}
			}
		case fd.Kind() != protoreflect.MessageKind && fd.Kind() != protoreflect.GroupKind:
		case fd.IsList():
			if val.Kind == yamltree.Seq {
				for j, e := range val.Children {
					walkProtoTree(fd.Message(), e, child.Child(j), out)
				}
			}
		default:
			walkProtoTree(fd.Message(), val, child, out)
		}
	}
}
