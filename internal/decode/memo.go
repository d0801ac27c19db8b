package decode

import (
	"errors"
	"reflect"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshdoctor/meshdoctor/internal/yamltree"
)

// Memo keeps decoded values by the text they were decoded from, so that
// the subtrees objects from a cluster repeat — the containers every Pod of
// a ReplicaSet carries, the template a ReplicaSet copies from its
// Deployment — are read and decoded once per worker and then shared.
//
// It is a direct-mapped cache: a value whose slot holds another takes the
// slot. Values are shared between objects, so nothing may change a decoded
// object after the load (analyzers only read; TestAnalysisLeavesObjectsUnchanged
// in internal/source/files holds them to it). Only values no unknown-field
// report depends on are memoized: below the fields a reader's Prune returns
// (status, and objects an API server returned), whose unknown fields are
// never reported. Not safe for concurrent use; one per worker, like the
// Interner.
type Memo struct {
	slots [memoSlots]memoSlot
	// scopes counts the reader's lookups and hits per scope, so that a
	// scope whose values do not repeat (a container's start time, a
	// Pod's IPs) is turned down and read without being hashed (Wants).
	scopes map[*typePlan]*scopeCount
}

// memoSlots is the cache's size (a power of two): 384 KB per worker. At
// 4096 slots, values that never repeat evicted ~5% of the hits at 50k.
const memoSlots = 16384

type scopeCount struct{ lookups, hits int }

// A scope is turned down after scopeTrial lookups with fewer than one hit
// in scopeMinRate.
const (
	scopeTrial   = 512
	scopeMinRate = 32
)

type memoSlot struct {
	hash  yamltree.SpanHash
	entry *memoEntry
}

// memoEntry is a decoded value: a copy the decoder made, never a value
// inside an object (which a later field could change while decoding it).
type memoEntry struct {
	plan *typePlan
	val  reflect.Value
}

// NewMemo returns an empty Memo.
func NewMemo() *Memo { return &Memo{} }

// Lookup implements yamltree.Memo; scope is the *typePlan of the value.
func (m *Memo) Lookup(scope any, h yamltree.SpanHash) (any, bool) {
	plan, _ := scope.(*typePlan)
	if plan == nil {
		return nil, false
	}
	c := m.scopes[plan]
	if c == nil {
		if m.scopes == nil {
			m.scopes = map[*typePlan]*scopeCount{}
		}
		c = &scopeCount{}
		m.scopes[plan] = c
	}
	c.lookups++
	e := m.held(plan, h)
	if e == nil {
		return nil, false
	}
	c.hits++
	return e, true
}

// Wants implements yamltree.MemoGate: false for a scope whose values
// have not been repeating.
func (m *Memo) Wants(scope any) bool {
	plan, _ := scope.(*typePlan)
	c := m.scopes[plan]
	return c == nil || c.lookups < scopeTrial || c.hits*scopeMinRate >= c.lookups
}

// Shared implements yamltree.MemoGate: the reader shared a value of scope
// that Lookup had just missed.
func (m *Memo) Shared(scope any) {
	plan, _ := scope.(*typePlan)
	if c := m.scopes[plan]; c != nil {
		c.hits++
	}
}

// held returns the entry held for plan and h, or nil.
func (m *Memo) held(plan *typePlan, h yamltree.SpanHash) *memoEntry {
	s := &m.slots[h[0]&(memoSlots-1)]
	if s.entry == nil || s.entry.plan != plan || s.hash != h {
		return nil
	}
	return s.entry
}

func (m *Memo) store(plan *typePlan, h yamltree.SpanHash, v reflect.Value) {
	c := reflect.New(v.Type()).Elem()
	c.Set(v)
	m.slots[h[0]&(memoSlots-1)] = memoSlot{hash: h, entry: &memoEntry{plan: plan, val: c}}
}

// errLazy means the tree holds a value the reader did not read (a memo hit)
// where the decoder needs its text: the caller reads the document again
// without a Memo.
var errLazy = errors.New("decode: a memoized value must be read again")

// ErrLazy reports whether err means that the document must be read again
// without a Memo and decoded from that tree.
func ErrLazy(err error) bool { return errors.Is(err, errLazy) }

// memoized decodes n, a node the reader linked to the memo: a hit (when
// the reader looked, or now) sets the value held; a miss decodes n and
// stores the result.
func (td *treeDecoder) memoized(n *yamltree.Node, v reflect.Value, p *typePlan, proj *Projection) error {
	ref := n.Memo
	if proj != nil {
		// The reader memoizes only values decoded whole; a projection here
		// would make the value depend on more than its text. Never share.
		if n.Kind == yamltree.Lazy {
			return errLazy
		}
		return td.decodeValue(n, v, p, proj)
	}
	if n.Kind == yamltree.Lazy {
		e, ok := ref.Value.(*memoEntry)
		if !ok || e.plan != p || e.val.Type() != v.Type() {
			return errLazy
		}
		v.Set(e.val)
		return nil
	}
	if td.memo != nil && ref.Scope == any(p) {
		// The reader may have read the same text twice before either was
		// decoded (a JSON List's items): the first one decoded is shared.
		if e := td.memo.held(p, ref.Hash); e != nil && e.val.Type() == v.Type() {
			v.Set(e.val)
			return nil
		}
	}
	if err := td.decodeValue(n, v, p, proj); err != nil {
		return err
	}
	if td.memo != nil && ref.Scope == any(p) {
		td.memo.store(p, ref.Hash, v)
	}
	return nil
}

// MemoFields returns the reader's view of proj for objects of apiVersion and
// kind: the same fields, and a memo scope (the value's decoding plan) for
// each field read whole whose type can be shared. Nil when the kind is not
// known or proj keeps everything.
func (d *Decoder) MemoFields(apiVersion, kind string, proj *Projection) yamltree.Fields {
	if proj == nil || proj.all {
		return nil
	}
	t, ok := d.typeOf(apiVersion, kind)
	if !ok {
		return nil
	}
	return typedFields(proj, structPlan(planFor(&d.plans, t)))
}

// MetadataFields returns the reader's view of an object's metadata, which
// is always read whole: every field kept, and a memo scope for the
// string maps (labels, annotations). Those can hold no unknown field, so
// they are memoized in every object of a known kind, not only below what
// Prune returns: the Pods of one ReplicaSet share their labels and
// annotations.
//
// The fieldsV1 of managedFields entries are memoized too: raw JSON, which
// is never searched for unknown fields either, and which objects of one
// shape (one chart's Deployments) repeat.
func (d *Decoder) MetadataFields() yamltree.Fields {
	entry := planFor(&d.plans, reflect.TypeFor[metav1.ManagedFieldsEntry]())
	fieldsV1, _ := entry.fields.get("fieldsV1")
	return metadataFields{
		plan:     planFor(&d.plans, reflect.TypeFor[metav1.ObjectMeta]()),
		strings:  planFor(&d.plans, stringMap),
		fieldsV1: fieldsV1.plan,
	}
}

// metadataFields keeps every field of ObjectMeta, and names a memo scope
// for its maps of strings (whose plan is strings) and, through
// managedFields, for fieldsV1.
type metadataFields struct{ plan, strings, fieldsV1 *typePlan }

func (f metadataFields) Field(key string) (yamltree.Fields, bool) {
	if key == "managedFields" {
		return managedFieldsFields{f.fieldsV1}, true
	}
	return nil, true
}

func (f metadataFields) MemoScope(key string) any {
	if fp, ok := f.plan.fields.get(key); ok && fp.plan == f.strings {
		return fp.plan
	}
	return nil
}

// managedFieldsFields keeps every field of a managedFields entry and names
// a memo scope for fieldsV1 (whose plan it holds).
type managedFieldsFields struct{ fieldsV1 *typePlan }

func (managedFieldsFields) Field(string) (yamltree.Fields, bool) { return nil, true }

func (f managedFieldsFields) MemoScope(key string) any {
	if key == "fieldsV1" {
		return f.fieldsV1
	}
	return nil
}

// memoFields is a Projection with the plan of the struct its fields belong
// to (nil where that is not a plain struct).
type memoFields struct {
	plan *typePlan
	// fields are the kept fields: nil for one kept whole.
	fields names[*memoFields]
}

func typedFields(proj *Projection, plan *typePlan) *memoFields {
	fields := map[string]*memoFields{}
	for k, c := range proj.children {
		if c.all {
			fields[k] = nil
			continue
		}
		var cp *typePlan
		if plan != nil {
			if f, ok := plan.fields.get(k); ok {
				cp = structPlan(f.plan)
			}
		}
		fields[k] = typedFields(c, cp)
	}
	return &memoFields{plan: plan, fields: newNames(fields)}
}

// structPlan follows pointers, slices and maps to the struct their values
// are decoded as, the way the decoder carries a projection down; nil when
// a custom decoder or anything but a struct is found.
func structPlan(p *typePlan) *typePlan {
	for p != nil && !custom(p) {
		switch p.kind {
		case reflect.Pointer, reflect.Slice, reflect.Map:
			p = p.elem
			continue
		case reflect.Struct:
			return p
		}
		return nil
	}
	return nil
}

func custom(p *typePlan) bool { return p.bad || p.ptrJSON || p.ptrProto || p.ptrText || p.metaTime }

// Field implements yamltree.Fields as the Projection does.
func (mf *memoFields) Field(key string) (yamltree.Fields, bool) {
	sub, keep := mf.fields.get(key)
	if sub == nil {
		return nil, keep // an untyped nil: "everything below"
	}
	return sub, true
}

// MemoScope implements yamltree.MemoFields: the plan of field key, when its
// value is decoded by plain rules all the way down to the first level
// (protobuf messages and custom decoders are never shared).
func (mf *memoFields) MemoScope(key string) any {
	if mf.plan == nil {
		return nil
	}
	f, ok := mf.plan.fields.get(key)
	if !ok || custom(f.plan) {
		return nil
	}
	if e := f.plan.elem; e != nil && custom(e) {
		return nil
	}
	return f.plan
}

// hasLazy tells whether the tree holds a node the reader did not read.
func hasLazy(n *yamltree.Node) bool {
	if n.Kind == yamltree.Lazy {
		return true
	}
	for _, c := range n.Children {
		if hasLazy(c) {
			return true
		}
	}
	return false
}
