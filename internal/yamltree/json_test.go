package yamltree

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// sameJSON requires ParseJSON to agree with encoding/json: the same value
// when both accept, an error when encoding/json rejects.
func sameJSON(t testing.TB, s string) {
	t.Helper()
	valid := json.Valid([]byte(s))
	n, _, err := ParseJSON([]byte(s))
	if valid != (err == nil) {
		t.Fatalf("%q: json.Valid %v, ParseJSON error %v", s, valid, err)
	}
	var ref any
	if err != nil || json.Unmarshal([]byte(s), &ref) != nil {
		return // invalid, or out of float64's range: nothing to compare
	}
	var got any
	if err := json.Unmarshal(n.AppendJSON(nil), &got); err != nil {
		t.Fatalf("%q: AppendJSON wrote invalid JSON: %v", s, err)
	}
	if !reflect.DeepEqual(ref, got) {
		t.Fatalf("%q: encoding/json %#v, ParseJSON %#v", s, ref, got)
	}
}

func TestParseJSON(t *testing.T) {
	for _, s := range []string{
		`{"a": 1, "b": [true, false, null, -1.5e3, "x\u00e9\n\"\\\/"], "c": {}}`,
		`[]`, `"\ud83d\ude00"`, `"\ud83d"`, "\"\xff\"", `{"a":1,"a":2}`, `0`, `-0.0`,
		`{"a" 1}`, `[1,]`, `01`, `1.`, `"\x"`, "\"a\nb\"", `{"a":1}x`, ``, `[`,
	} {
		sameJSON(t, s)
	}
	_, dups, _ := ParseJSON([]byte(`{"x":{"a":1,"a":2},"l":[{"k":1,"k":2}]}`))
	if len(dups) != 2 || len(dups[1]) != 3 || dups[1][1] != 0 {
		t.Errorf("duplicates %v", dups)
	}
}

func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5,"x"]}`, `"\u00e9"`, `[true,null]`, `{"a":{"b":{}}}`} {
		f.Add(s)
	}
	f.Add(`{"kind":"PodList","apiVersion":"v1","items":[{"metadata":{"uid":"u","resourceVersion":"1"},"spec":{"a":{"b":"x\\\"]}"}},"c":[1,{"d":2}]}}]}`)
	f.Add(`[{"apiVersion":"v1","kind":"Pod","status":[1,"]",{"x":null}],"spec":-1e5}] `)
	f.Add(`{"apiVersion":"v1","kind":"Pod","status":"\`)                                   // skipped, cut after a backslash
	f.Add("\"abcdefg\xffhijklmnopqrs\"  \n    [\"0123456789\xc3\xa9\", \"01234567\x01\"]") // bytes past ASCII and controls within and after a word
	f.Fuzz(func(t *testing.T, s string) {
		sameJSON(t, s)
		// Skipping and pruning only pass over values: what reads whole
		// reads with them too, and they never panic on anything.
		whole := NewJSONStream([]byte(s))
		_, wholeErr := whole.Next()
		st := NewJSONStream([]byte(s))
		st.Skip = func(av, kind, top, key string) bool { return key == "status" || top == "metadata" && key == "x" }
		st.Prune = func(av, kind, key string, served bool) Fields { return trie{"a": trie{"b": nil}, "c": nil} }
		if _, err := st.Next(); err != nil && wholeErr == nil {
			t.Errorf("read whole but not with Skip and Prune (%v): %q", err, s)
		}
	})
}

// TestJSONStreamSkipAndPrune: the stream's objects — its values, the items
// of a typed List (kind first, items without kind), of a kubectl List (kind
// written after the items) and of an array — are skipped and pruned as the
// YAML reader does it, with the kind they will be decoded as, and the
// values passed over may hold anything.
func TestJSONStreamSkipAndPrune(t *testing.T) {
	keep := trie{"containers": trie{"name": nil}, "hostNetwork": nil}
	served := `"metadata":{"name":"p","resourceVersion":"5","uid":"u","managedFields":[{"m":"x"}]},` +
		`"spec":{"containers":[{"name":"a","image":"i","args":["]}\\\"",{"x":[1,2]}]}],"volumes":[{"name":"v"}],"hostNetwork":true},` +
		`"status":{"phase":"Running","n":-1.5e3}`
	prunedPod := `"metadata":{"name":"p","resourceVersion":"5","uid":"u"},"spec":{"containers":[{"name":"a"}],"hostNetwork":true}`
	cases := []struct{ in, want string }{
		{`{"apiVersion":"v1","kind":"Pod",` + served + `}`, `{"apiVersion":"v1","kind":"Pod",` + prunedPod + `}`},
		{`{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"9"},"items":[{` + served + `},{"metadata":{"name":"q"},"spec":{"volumes":[]}}]}`,
			`{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"9"},"items":[{` + prunedPod + `},{"metadata":{"name":"q"},"spec":{"volumes":[]}}]}`},
		{`{"apiVersion":"v1","items":[{"apiVersion":"v1","kind":"Pod",` + served + `}],"kind":"List"}`,
			`{"apiVersion":"v1","items":[{"apiVersion":"v1","kind":"Pod",` + prunedPod + `}],"kind":"List"}`},
		{`[{"apiVersion":"v1","kind":"Pod",` + served + `}, 7]`, `[{"apiVersion":"v1","kind":"Pod",` + prunedPod + `}, 7]`},
		{`{"apiVersion":"v1","kind":"Service",` + served + `}`, `{"apiVersion":"v1","kind":"Service",` + served + `}`},
	}
	for _, c := range cases {
		st := NewJSONStream([]byte(c.in))
		st.Skip = func(av, kind, top, key string) bool {
			return av == "v1" && kind == "Pod" && (top == "" && key == "status" || top == "metadata" && key == "managedFields")
		}
		st.Prune = func(av, kind, key string, served bool) Fields {
			if av == "v1" && kind == "Pod" && key == "spec" && served {
				return keep
			}
			return nil
		}
		v, err := st.Next()
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		sameJSONTree(t, c.in, v.Node, c.want)
		if rest, err := st.Next(); err != nil || rest.Node != nil {
			t.Errorf("%s: after the value: %v %v", c.in, rest.Node, err)
		}
	}
}

// TestJSONStreamReuse: a stream reused with Reset, and value after value,
// reads what a fresh stream reads, though its trees share memory with the
// trees it read before.
func TestJSONStreamReuse(t *testing.T) {
	docs := []string{
		`{"kind":"List","items":[{"a":[1,2,{"b":"c"}]},{"d":{"e":null}}]}`,
		`[true] {"x":"y","z":[[],{}]} "s"`,
		`{"a":{"b":{"c":{"d":[1,2,3,4,5,6,7,8,9,10]}}},"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9}`,
		`{}`,
	}
	read := func(st *JSONStream) []string {
		var out []string
		for {
			v, err := st.Next()
			if err != nil {
				t.Fatal(err)
			}
			if v.Node == nil {
				return out
			}
			out = append(out, string(v.Node.AppendJSON(nil))) // before the next call reuses it
		}
	}
	reused := NewJSONStream(nil)
	for round := 0; round < 2; round++ {
		for _, d := range docs {
			want := read(NewJSONStream([]byte(d)))
			reused.Reset([]byte(d))
			if got := read(reused); !reflect.DeepEqual(got, want) {
				t.Errorf("round %d, %s: reused %q, fresh %q", round, d, got, want)
			}
		}
	}
}

// TestSkippedValueCutShort: a skipped value that ends inside a string, even
// right after a backslash, is an error, never a crash.
func TestSkippedValueCutShort(t *testing.T) {
	for _, in := range []string{`{"apiVersion":"v1","kind":"Pod","status":"\`, `{"apiVersion":"v1","kind":"Pod","status":"ab`, `{"apiVersion":"v1","kind":"Pod","status":{"a":"\"`, `{"apiVersion":"v1","kind":"Pod","status":["x\\`, `{"apiVersion":"v1","kind":"Pod","spec":{"a":"\`} {
		st := NewJSONStream([]byte(in))
		st.Skip = func(av, kind, top, key string) bool { return key == "status" || key == "a" }
		if v, err := st.Next(); err == nil || v.End > len(in) {
			t.Errorf("%s: error %v, end %d of %d bytes", in, err, v.End, len(in))
		}
	}
}

// TestJSONRepeatedKeyAtEverySize: a key repeated in an object is reported
// and keeps its last value, whether the object is scanned (small) or
// indexed (large).
func TestJSONRepeatedKeyAtEverySize(t *testing.T) {
	for _, size := range []int{2, 8, 12, 31, 32, 33, 40, 100} {
		var b strings.Builder
		b.WriteString("{")
		for i := 0; i < size; i++ {
			fmt.Fprintf(&b, `"k%d":%d,`, i, i)
		}
		b.WriteString(`"k1":"last"}`)
		n, dups, err := ParseJSON([]byte(b.String()))
		if err != nil {
			t.Fatal(err)
		}
		if len(dups) != 1 || len(n.Keys) != size {
			t.Errorf("%d keys: dups %v, %d keys kept", size, dups, len(n.Keys))
		}
		if v := n.Get("k1"); v == nil || v.Text != "last" {
			t.Errorf("%d keys: k1 = %+v, want the last value", size, v)
		}
	}
}
