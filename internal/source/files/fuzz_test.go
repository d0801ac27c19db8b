package files

import (
	"reflect"
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// FuzzLoadStream feeds arbitrary bytes through the whole file pipeline —
// splitting, YAML/JSON parsing, decoding, locating — which must never panic
// and must account for every document as an object or a positioned error.
func FuzzLoadStream(f *testing.F) {
	for _, s := range []string{
		multiDoc,
		"apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n",
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}} {"apiVersion":"v1"}`,
		"\xef\xbb\xbf---\r\napiVersion: v1\r\nkind: Secret\r\nmetadata: {name: s}\r\ndata: {a: YQ==}\r\n",
		"a: &x [*x]\n",
		"--- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n...\n%YAML 1.2\n",
		"[1, 2, {\"kind\": 3}]",
		"apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n-\n  kind: x\n# c\n- b\nkind: List\nmetadata: {}\n",
		"items:\n  - apiVersion: v1\n    kind: Secret\n    metadata: {name: s}\n    data: {k: dg==}\nkind: List\n",
		"apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v}\nspec: {http: [{route: [{destination: {host: h, subnet: x}}]}]}\n",
		// MeshConfig written as a literal block inside a ConfigMap: paths
		// descend into it.
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio}\ndata:\n  mesh: |\n    enableAutoMtls: false\n    defaultConfig:\n      proxyMetadata: {A: b}\n",
	} {
		f.Add([]byte(s))
	}
	l := newLoader(f, "")
	rd := l.newReader(nil)
	f.Fuzz(func(t *testing.T, data []byte) {
		res := l.parseUnit(unit{name: "fuzz", data: data}, data, rd, nil)
		for _, e := range res.Errors {
			if e.Pos.File != "fuzz" || e.Msg == "" {
				t.Fatalf("error without position or message: %+v", e)
			}
		}
		for _, o := range res.Objects {
			if o.Locator != nil {
				o.Locator.Locate(nil)
				o.Locator.Locate(snapshot.P("metadata", "name"))
				o.Locator.Locate(snapshot.P("spec", 0, "x", -1))
				o.Locator.Locate(snapshot.P("data", "mesh", "defaultConfig", "proxyMetadata", "A"))
			}
		}
	})
}

// FuzzParsePath checks that any path text parses without panicking and that
// a parsed path renders back to text that parses to the same path.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"spec.template.spec.containers[0].env[3]", `metadata.labels["a.b/c"]`, "[", "a[x", ".[]."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := snapshot.ParsePath(s)
		again := snapshot.ParsePath(p.String())
		if p.String() != again.String() {
			t.Fatalf("%q: %q re-parses as %q", s, p.String(), again.String())
		}
		_ = p.JSONPointer()
	})
}

// FuzzMemoStream reads arbitrary bytes twice over (so that the Memo has
// something to hand back) through the projected reader as `analyze` uses
// it, with and without the Memo: the objects and errors must be the same.
func FuzzMemoStream(f *testing.F) {
	pod := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  uid: u\n  resourceVersion: \"1\"\n  labels:\n    app: a\n" +
		"spec:\n  containers:\n  - name: c\n    env:\n    - name: A\n      value: x\n    ports:\n    - containerPort: 80\nstatus:\n  phase: Running\n"
	for _, s := range []string{pod, strings.Replace(pod, "value: x", "value: 1", 1), strings.Replace(pod, "  labels:\n    app: a\n", "  labels:\n    app: 1\n", 1), multiDoc} {
		f.Add([]byte(s))
	}
	// JSON, where the Memo also shares what repeats within one value.
	podJSON := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","uid":"u","resourceVersion":"1","labels":{"app":"a"}},` +
		`"spec":{"containers":[{"name":"c","env":[{"name":"A","value":"x"}],"ports":[{"containerPort":80}]}]},"status":{"phase":"Running"}}`
	f.Add([]byte(podJSON))
	f.Add([]byte(`{"apiVersion":"v1","kind":"List","items":[` + podJSON + "," + strings.Replace(podJSON, `"value":"x"`, `"value":1`, 1) + "]}"))
	f.Add([]byte(strings.Replace(podJSON, `"app":"a"`, `"app":"a","app":"b"`, 1)))
	with, _ := projectedLoader(f, false)
	without, _ := projectedLoader(f, true)
	rw, ro := with.newReader(with.projections()), without.newReader(without.projections())
	f.Fuzz(func(t *testing.T, data []byte) {
		sep := "\n---\n"
		if looksLikeJSON(data) {
			sep = "\n" // a JSON stream of two values
		}
		stream := append(append(append([]byte{}, data...), sep...), data...)
		a := with.parseUnit(unit{name: "fuzz", data: stream}, stream, rw, with.projections())
		b := without.parseUnit(unit{name: "fuzz", data: stream}, stream, ro, without.projections())
		if !reflect.DeepEqual(a.Errors, b.Errors) || len(a.Objects) != len(b.Objects) {
			t.Fatalf("with the memo: %d objects, errors %v; without: %d, %v", len(a.Objects), a.Errors, len(b.Objects), b.Errors)
		}
		for i := range a.Objects {
			if !reflect.DeepEqual(a.Objects[i].Typed, b.Objects[i].Typed) || !reflect.DeepEqual(a.Objects[i].FieldIssues, b.Objects[i].FieldIssues) {
				t.Fatalf("object %d decodes differently with the memo", i)
			}
		}
	})
}
