package decode

import (
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/yamltree"
)

// TestMemoFieldsScopes: the reader gets a memo scope for a field read whole
// whose value is decoded by plain rules, and none where protobuf messages
// or custom decoders would be copied, nor for kinds it does not know.
func TestMemoFieldsScopes(t *testing.T) {
	d, err := New()
	if err != nil {
		t.Fatal(err)
	}
	scope := func(f yamltree.Fields, path ...string) any {
		t.Helper()
		for _, k := range path[:len(path)-1] {
			sub, keep := f.Field(k)
			if !keep || sub == nil {
				t.Fatalf("%v: field %s not kept in part", path, k)
			}
			f = sub
		}
		mf, ok := f.(yamltree.MemoFields)
		if !ok {
			return nil
		}
		return mf.MemoScope(path[len(path)-1])
	}
	pod := d.MemoFields("v1", "Pod", NewProjection([]string{"spec.containers.env", "spec.containers.livenessProbe", "spec.containers.resources", "status.startTime"}))
	for _, p := range [][]string{{"spec", "containers", "env"}, {"spec", "containers", "livenessProbe"}} {
		if scope(pod, p...) == nil {
			t.Errorf("Pod %v: no memo scope", p)
		}
	}
	if s := scope(pod, "spec", "containers", "env"); s != scope(d.MemoFields("apps/v1", "Deployment", NewProjection([]string{"spec.template.spec.containers.env"})), "spec", "template", "spec", "containers", "env") {
		t.Error("a Pod's and a Deployment's container env are in different scopes: they cannot share")
	}
	if scope(pod, "status", "startTime") != nil {
		t.Error("metav1.Time has a custom decoder: it must not be memoized")
	}
	vs := d.MemoFields("networking.istio.io/v1", "VirtualService", NewProjection([]string{"spec.http", "status.conditions"}))
	if scope(vs, "spec", "http") != nil || scope(vs, "status", "conditions") != nil {
		t.Error("Istio specs and status are protobuf messages: they must not be memoized")
	}
	if d.MemoFields("example.com/v1", "Widget", NewProjection([]string{"spec.x"})) != nil {
		t.Error("an unknown kind has memo fields")
	}
	meta := d.MetadataFields()
	for _, k := range []string{"labels", "annotations"} {
		if scope(meta, k) == nil {
			t.Errorf("metadata.%s: no memo scope", k)
		}
	}
	if scope(meta, "managedFields", "fieldsV1") == nil {
		t.Error("managedFields[].fieldsV1: no memo scope")
	}
	if scope(meta, "managedFields", "manager") != nil || scope(meta, "managedFields", "time") != nil {
		t.Error("managedFields[]: a memo scope beside fieldsV1")
	}
	for _, k := range []string{"ownerReferences", "managedFields", "creationTimestamp", "name"} {
		if scope(meta, k) != nil {
			t.Errorf("metadata.%s has a memo scope: only string maps can hold no unknown field", k)
		}
	}
	if d.MemoFields("v1", "Pod", nil) != nil {
		t.Error("no projection: nothing is read in part, no memo fields")
	}
}

// TestMemoTurnsDownScopesThatDoNotRepeat: after its trial, a scope whose
// values were (nearly) never found again is turned down, so the readers
// stop hashing its values; a scope that repeats stays, and so does one
// not yet tried.
func TestMemoTurnsDownScopesThatDoNotRepeat(t *testing.T) {
	m := NewMemo()
	unique, repeating, untried := &typePlan{}, &typePlan{}, &typePlan{}
	held := yamltree.SpanHash{1, 1}
	m.slots[held[0]&(memoSlots-1)] = memoSlot{hash: held, entry: &memoEntry{plan: repeating}}
	for i := 0; i < scopeTrial; i++ {
		if !m.Wants(unique) {
			t.Fatalf("turned down after %d lookups", i)
		}
		m.Lookup(unique, yamltree.SpanHash{uint64(i) + 2, 7})
		h := held
		if i%scopeMinRate != 0 {
			h = yamltree.SpanHash{uint64(i) + 2, 9} // a miss
		}
		m.Lookup(repeating, h)
	}
	if m.Wants(unique) {
		t.Error("a scope that never repeated is still wanted after its trial")
	}
	if !m.Wants(repeating) {
		t.Error("a scope found once in every 32 lookups was turned down")
	}
	if !m.Wants(untried) {
		t.Error("a scope never looked up was turned down")
	}
}
