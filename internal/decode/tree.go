package decode

import (
	"encoding"
	"encoding/base64"
	"encoding/json"
	"errors"
	"hash/maphash"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	return d.DecodeTreeWith(n, TreeOptions{})
}

// Interner shares one copy of each short string among the objects one
// goroutine decodes: label keys and values, images, env names and mount
// paths repeat across thousands of objects. It is a direct-mapped cache,
// not a set: a string whose slot holds another one is copied and takes
// the slot. Unique strings (names, uids, IPs) then cost a copy and no
// table growth, and the cache stays small, while the strings that repeat
// keep finding their copy. Not safe for concurrent use.
//
// It also keeps the path stack the decoder uses, so that decoding one
// object after another reuses it instead of growing a new one each time.
type Interner struct {
	seed  maphash.Seed
	slots [internSlots]string
	stack []pathStep
}

// internSlots is the cache's size (a power of two): 64 KB of string headers.
const internSlots = 4096

// NewInterner returns an empty Interner.
func NewInterner() *Interner { return &Interner{seed: maphash.MakeSeed()} }

// maxInterned bounds what is worth sharing; longer strings rarely repeat.
const maxInterned = 64

func (in *Interner) get(s string) string {
	if in == nil || len(s) > maxInterned || s == "" {
		return strings.Clone(s)
	}
	slot := &in.slots[maphash.String(in.seed, s)&(internSlots-1)]
	if *slot == s {
		return *slot
	}
	v := strings.Clone(s)
	*slot = v
	return v
}

// TreeOptions are DecodeTreeWith's helpers; each may be nil.
type TreeOptions struct {
	// Intern shares strings among the objects one goroutine decodes.
	Intern *Interner
	// Memo is the Memo the tree's reader used (yamltree.Parser.Memo): the
	// decoder stores what it decodes there and takes what the reader found.
	Memo *Memo
	// Projection names the fields to decode (nil: all); unknown fields
	// are still reported everywhere.
	Projection *Projection
}

// DecodeTreeWith is DecodeTree with helpers. When the tree holds values the
// reader took from the Memo and the object must be decoded another way
// (its JSON), it returns an error for which ErrLazy is true: read the
// document again without a Memo.
func (d *Decoder) DecodeTreeWith(n *yamltree.Node, o TreeOptions) (Result, error) {
	if n == nil {
		return Result{}, errors.New("empty document")
	}
	if n.Kind != yamltree.Map {
		return d.decodeJSONOf(n)
	}
	av, k := n.Get("apiVersion"), n.Get("kind")
	if av == nil || k == nil || av.Kind != yamltree.String || k.Kind != yamltree.String || av.Text == "" || k.Text == "" {
		return d.decodeJSONOf(n)
	}
	// Copied (interned): tree strings share the input buffer, and the
	// object keeps these.
	gv, err := schema.ParseGroupVersion(o.Intern.get(av.Text))
	if err != nil {
		return d.decodeJSONOf(n)
	}
	written := gv.WithKind(o.Intern.get(k.Text))
	obj, err := d.scheme.New(preferredIstioVersion(written))
	if err != nil {
		if hasLazy(n) {
			return Result{}, errLazy
		}
		u := &unstructured.Unstructured{Object: n.ToInterface().(map[string]any)}
		return Result{Obj: u}, nil
	}
	td := treeDecoder{plans: &d.plans, intern: o.Intern, memo: o.Memo}
	if o.Intern != nil {
		td.at = o.Intern.stack[:0]
		defer func() {
			// Cleared: the keys point into the input's buffer.
			clear(td.at[:cap(td.at)])
			o.Intern.stack = td.at[:0]
		}()
	}
	root := reflect.ValueOf(obj).Elem()
	plan := planFor(&d.plans, root.Type())
	if err := td.value(n, root, plan, o.Projection); err != nil {
		return d.decodeJSONOf(n)
	}
	obj.GetObjectKind().SetGroupVersionKind(written)
	res := Result{Obj: obj, Issues: td.issues}
	// An Istio spec (a protobuf message; see protoSpec) is also walked
	// for unknown fields, which its decoding discards.
	if f, ok := plan.fields.get("spec"); ok && f.plan.ptrProto && len(f.index) == 1 {
		if s := n.Get("spec"); s != nil {
			spec := root.Field(f.index[0]).Addr().Interface().(proto.Message)
			// The decoder's path stack is empty again: the walk borrows it.
			walkProtoTree(spec.ProtoReflect().Descriptor(), s, append(td.at[:0], pathStep{key: "spec"}), &res.Issues)
		}
	}
	if len(res.Issues) > 1 {
		sort.Slice(res.Issues, func(i, j int) bool { return res.Issues[i].Path.String() < res.Issues[j].Path.String() })
	}
	return res, nil
}

// decodeJSONOf decodes the tree's JSON, the canonical way (see Decode).
func (d *Decoder) decodeJSONOf(n *yamltree.Node) (Result, error) {
	if hasLazy(n) {
		return Result{}, errLazy
	}
	return d.Decode(n.AppendJSON(nil))
}

// typeOf returns the Go type (a pointer to a struct) objects of apiVersion
// and kind decode into; false for kinds the decoder does not know.
func (d *Decoder) typeOf(apiVersion, kind string) (reflect.Type, bool) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return nil, false
	}
	obj, err := d.scheme.New(preferredIstioVersion(gv.WithKind(kind)))
	if err != nil {
		return nil, false
	}
	return reflect.TypeOf(obj), true
}

// HasField tells whether objects of apiVersion and kind decode into a
// type that has the top-level field; false for kinds it does not know.
func (d *Decoder) HasField(apiVersion, kind, field string) bool {
	t, ok := d.typeOf(apiVersion, kind)
	if !ok {
		return false
	}
	plan := planFor(&d.plans, t.Elem())
	_, ok = plan.fields.get(field)
	return ok
}

var (
	errMismatch     = errors.New("tree does not fit the type")
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	emptyInterface  = reflect.TypeFor[any]()
	byteSlice       = reflect.TypeFor[[]byte]()
	metaTimeType    = reflect.TypeFor[metav1.Time]()
)

// fieldPlan says where a JSON field lands in a struct and how to decode it.
type fieldPlan struct {
	index []int
	plan  *typePlan
}

// typePlan is everything the decoder needs to know about a type, computed
// once and linked to the plans of its fields and elements, so decoding
// never looks a type up.
type typePlan struct {
	kind     reflect.Kind
	fields   names[fieldPlan] // structs: by JSON name
	elem     *typePlan        // pointers, slices, maps
	ptrJSON  bool             // *T implements json.Unmarshaler
	ptrText  bool             // *T implements encoding.TextUnmarshaler
	ptrProto bool             // *T is a protobuf message (Istio specs)
	metaTime bool             // metav1.Time, decoded without a JSON round trip
	bad      bool             // something encoding/json must handle
}

// planCache holds one complete typePlan per type. Plans are built under
// mu into a private map — recursive types need a plan to exist before its
// fields are known — and published only when complete, so a reader never
// sees a half-built plan.
type planCache struct {
	m      sync.Map
	mu     sync.Mutex
	protos protoPlans // Istio messages filled directly
}

// pathStep is one step of the path being decoded: a key or an index.
type pathStep struct {
	key   string
	index int
}

type treeDecoder struct {
	plans  *planCache
	issues []snapshot.FieldIssue
	// at is the path of the value being decoded, kept as a stack and copied
	// only when an unknown field is found.
	at     []pathStep
	intern *Interner
	memo   *Memo
}

var protoMessage = reflect.TypeFor[proto.Message]()

// planFor returns the plan of t, building it (and its fields' plans) on
// first use.
func planFor(cache *planCache, t reflect.Type) *typePlan {
	if p, ok := cache.m.Load(t); ok {
		return p.(*typePlan)
	}
	cache.mu.Lock()
	defer cache.mu.Unlock()
	building := map[reflect.Type]*typePlan{}
	p := buildPlan(cache, t, building)
	// Published only once all are complete: a reader that finds one
	// follows its links into the others.
	for bt, bp := range building {
		cache.m.Store(bt, bp)
	}
	return p
}

func buildPlan(cache *planCache, t reflect.Type, building map[reflect.Type]*typePlan) *typePlan {
	if p, ok := cache.m.Load(t); ok {
		return p.(*typePlan)
	}
	if p, ok := building[t]; ok {
		return p
	}
	pt := reflect.PointerTo(t)
	p := &typePlan{kind: t.Kind(), ptrJSON: pt.Implements(jsonUnmarshaler), ptrText: pt.Implements(textUnmarshaler), ptrProto: pt.Implements(protoMessage), metaTime: t == metaTimeType}
	building[t] = p
	switch {
	case p.ptrJSON || p.ptrProto:
	case p.kind == reflect.Struct:
		fields := map[string]fieldPlan{}
		if err := collectFields(cache, t, nil, fields, map[string]int{}, building); err != nil {
			p.bad = true
		}
		p.fields = newNames(fields)
	case p.kind == reflect.Pointer || p.kind == reflect.Slice || p.kind == reflect.Map:
		p.elem = buildPlan(cache, t.Elem(), building)
	}
	return p
}

// collectFields follows encoding/json's rules: a tag names the field,
// untagged anonymous structs are inlined, and a shallower field wins over
// a deeper one of the same name. Same-depth conflicts and ",string" are
// left to encoding/json.
func collectFields(cache *planCache, t reflect.Type, prefix []int, fields map[string]fieldPlan, depth map[string]int, building map[reflect.Type]*typePlan) error {
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
				if err := collectFields(cache, ft, idx, fields, depth, building); err != nil {
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
			fields[name] = fieldPlan{index: idx, plan: buildPlan(cache, f.Type, building)}
			depth[name] = len(idx)
		case len(idx) == d:
			return errMismatch
		}
	}
	return nil
}

var stringMap = reflect.TypeFor[map[string]string]()

// stringMap decodes labels, annotations, selectors and ConfigMap data —
// most of the maps there are — without a reflect value per entry.
func (td *treeDecoder) stringMap(n *yamltree.Node, v reflect.Value) error {
	for _, c := range n.Children {
		if c.Kind != yamltree.String && c.Kind != yamltree.Null {
			return errMismatch
		}
	}
	m := make(map[string]string, len(n.Keys)) // v is zero (see decodeValue)
	v.Set(reflect.ValueOf(m))
	for i, k := range n.Keys {
		val := "" // what encoding/json stores for null
		if c := n.Children[i]; c.Kind == yamltree.String {
			val = td.intern.get(c.Text)
		}
		m[td.intern.get(k)] = val
	}
	return nil
}

// unknown records field key of the value being decoded as unknown.
func (td *treeDecoder) unknown(key string) {
	td.issues = append(td.issues, snapshot.FieldIssue{Path: ownedPath(td.at, key)})
}

// child decodes n into v one level down the path.
func (td *treeDecoder) child(n *yamltree.Node, v reflect.Value, p *typePlan, proj *Projection, step pathStep) error {
	td.at = append(td.at, step)
	err := td.value(n, v, p, proj)
	td.at = td.at[:len(td.at)-1]
	return err
}

// value decodes n into v (whose plan is p), following encoding/json.
func (td *treeDecoder) value(n *yamltree.Node, v reflect.Value, p *typePlan, proj *Projection) error {
	if n.Memo != nil {
		return td.memoized(n, v, p, proj)
	}
	return td.decodeValue(n, v, p, proj)
}

// decodeValue is value without the memo.
func (td *treeDecoder) decodeValue(n *yamltree.Node, v reflect.Value, p *typePlan, proj *Projection) error {
	if n.Kind == yamltree.Lazy {
		return errLazy
	}
	if p.bad {
		return errMismatch
	}
	// Custom decoders first: encoding/json gives them the raw JSON,
	// null included, unless v is a pointer (then null sets it to nil).
	if p.kind != reflect.Pointer && v.CanAddr() {
		switch {
		case p.ptrProto && n.Kind != yamltree.Null:
			// Istio specs: protojson, which accepts what their jsonpb-based
			// UnmarshalJSON accepts and is several times faster; straight
			// from the tree where the form is a plain one (prototree.go).
			msg := v.Addr().Interface().(proto.Message)
			if protoFromTree(n, msg.ProtoReflect(), td.intern, &td.plans.protos) == nil {
				return nil
			}
			return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(n.AppendJSON(nil), msg)
		case p.metaTime && n.Kind == yamltree.String:
			// What metav1.Time.UnmarshalJSON does with a JSON string.
			t, err := time.Parse(time.RFC3339, n.Text)
			if err != nil {
				return err
			}
			*v.Addr().Interface().(*metav1.Time) = metav1.NewTime(t.Local()) // no boxing
			return nil
		case p.ptrJSON:
			return v.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(n.AppendJSON(nil))
		case p.ptrText && n.Kind == yamltree.String:
			return v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Text))
		}
	}
	if n.Kind == yamltree.Null {
		switch v.Kind() {
		case reflect.Interface, reflect.Pointer, reflect.Map, reflect.Slice:
			v.SetZero()
		}
		return nil
	}
	// v is always a zero value: the decoder fills new objects, and each
	// field once (the reader rejects repeated keys). So a pointer or a
	// map is made without looking at v first: in memory fresh from the
	// kernel, reading a page before writing it costs a second fault and a
	// TLB flush on the other cores (2% of a large load's time).
	switch p.kind {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		return td.value(n, v.Elem(), p.elem, proj)
	case reflect.Struct:
		if n.Kind != yamltree.Map {
			return errMismatch
		}
		for i, k := range n.Keys {
			f, ok := p.fields.get(k)
			if !ok {
				td.unknown(k)
				continue
			}
			sub, keep := proj.field(k)
			if !keep {
				td.at = append(td.at, pathStep{key: k})
				td.check(n.Children[i], f.plan)
				td.at = td.at[:len(td.at)-1]
				continue
			}
			fv, err := fieldByIndex(v, f.index)
			if err != nil {
				return err
			}
			if err := td.child(n.Children[i], fv, f.plan, sub, pathStep{key: k}); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		if n.Kind != yamltree.Map || v.Type().Key().Kind() != reflect.String || v.Type().Key().Implements(textUnmarshaler) {
			return errMismatch
		}
		if v.Type() == stringMap {
			return td.stringMap(n, v)
		}
		v.Set(reflect.MakeMapWithSize(v.Type(), len(n.Keys)))
		kt, et := v.Type().Key(), v.Type().Elem()
		for i, k := range n.Keys {
			ev := reflect.New(et).Elem()
			if err := td.child(n.Children[i], ev, p.elem, proj, pathStep{key: k, index: -1}); err != nil {
				return err
			}
			v.SetMapIndex(reflect.ValueOf(td.intern.get(k)).Convert(kt), ev)
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
			if err := td.child(c, s.Index(i), p.elem, proj, pathStep{index: i}); err != nil {
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
		v.SetString(td.intern.get(n.Text))
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
