package kube

import (
	"encoding/json"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestContinueToken(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{`{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"5","continue":"abc"},"items":[{"metadata":{"continue":"no"}}]}`, "abc"},
		{`{"kind":"PodList","items":[{"metadata":{"name":"p"}}],"metadata":{"continue":"late"}}`, "late"},
		{`{"kind":"PodList","metadata":{"resourceVersion":"5"},"items":[]}`, ""},
		{`{"items":[]}`, ""},
	} {
		got, err := continueToken([]byte(c.body))
		if err != nil || got != c.want {
			t.Errorf("%s: %q, %v; want %q", c.body, got, err, c.want)
		}
	}
	for _, bad := range []string{``, `[]`, `{"metadata":`, `{"metadata":{"continue":1}}`} {
		if _, err := continueToken([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestAsKindKeepsOnlyMetadata(t *testing.T) {
	body := `{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":{"continue":"c"},
"items":[{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"db","namespace":"app","labels":{"a":"b"}}}]}`
	out, err := asKind([]byte(body), schema.GroupKind{Kind: "Secret"}, schema.GroupVersion{Version: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		APIVersion, Kind string
		Metadata         struct{ Continue string }
		Items            []map[string]any
	}
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatal(err)
	}
	if list.Kind != "SecretList" || list.APIVersion != "v1" || list.Metadata.Continue != "c" || len(list.Items) != 1 {
		t.Fatalf("got %s", out)
	}
	it := list.Items[0]
	if it["kind"] != "Secret" || it["apiVersion"] != "v1" || len(it) != 3 {
		t.Errorf("item %v: want apiVersion, kind and metadata only", it)
	}
	if _, err := asKind([]byte(`{"items":[1]}`), schema.GroupKind{Kind: "Secret"}, schema.GroupVersion{Version: "v1"}); err == nil {
		t.Error("a malformed list gave no error")
	}
}

func TestListPath(t *testing.T) {
	core := resource{gvr: schema.GroupVersionResource{Version: "v1", Resource: "pods"}, namespaced: true}
	istio := resource{gvr: schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "virtualservices"}, namespaced: true}
	node := resource{gvr: schema.GroupVersionResource{Version: "v1", Resource: "nodes"}}
	for _, c := range []struct {
		r    resource
		ns   string
		want string
	}{
		{core, "", "/api/v1/pods"},
		{core, "app", "/api/v1/namespaces/app/pods"},
		{istio, "app", "/apis/networking.istio.io/v1/namespaces/app/virtualservices"},
		{node, "app", "/api/v1/nodes"},
	} {
		if got := strings.Join(listPath(c.r, c.ns), "/"); strings.ReplaceAll(got, "//", "/") != c.want {
			t.Errorf("%v in %q: %s, want %s", c.r.gvr, c.ns, got, c.want)
		}
	}
}

// FuzzContinueToken: whatever a server (or something posing as one)
// returns, reading the continue token never panics.
func FuzzContinueToken(f *testing.F) {
	f.Add([]byte(`{"metadata":{"continue":"abc"},"items":[]}`))
	f.Add([]byte(`{"items":[{"a":[1,2,{"b":null}]}],"metadata":{}}`))
	f.Add([]byte(`{"metadata":{"continue":`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = continueToken(b)
		_, _ = asKind(b, schema.GroupKind{Kind: "Secret"}, schema.GroupVersion{Version: "v1"})
	})
}

// A head page's remainingItemCount says how many more requests reading the
// rest of the list costs: what a scoped read weighs against listing a kind
// namespace by namespace.
func TestListMetaRestPages(t *testing.T) {
	for _, c := range []struct {
		body string
		want int64
	}{
		{`{"metadata":{"continue":"c","remainingItemCount":1000},"items":[]}`, 2},
		{`{"metadata":{"continue":"c","remainingItemCount":1001},"items":[]}`, 3},
		{`{"metadata":{"continue":"c","remainingItemCount":1},"items":[]}`, 1},
		{`{"metadata":{"continue":"c"},"items":[]}`, -1}, // size not told
		{`{"metadata":{},"items":[]}`, 0},                // the whole list
	} {
		lm, err := listMeta([]byte(c.body))
		if err != nil {
			t.Fatal(err)
		}
		h := headPage{cont: lm.Continue, remaining: -1}
		if lm.RemainingItemCount != nil {
			h.remaining = *lm.RemainingItemCount
		}
		if got := h.restPages(500); got != c.want {
			t.Errorf("%s: %d more pages, want %d", c.body, got, c.want)
		}
	}
}
