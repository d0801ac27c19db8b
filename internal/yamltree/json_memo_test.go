package yamltree

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// podLikeJSON is podLike as `kubectl get -o json` writes it.
func podLikeJSON(t testing.TB) string {
	t.Helper()
	n, err := ParseYAML([]byte(podLike))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := json.Indent(&b, n.AppendJSON(nil), "", "    "); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// memoStream reads s through m, pruned as memoParser does.
func memoStream(m Memo, s string) *JSONStream {
	st := NewJSONStream([]byte(s))
	st.Prune = func(string, string, string, bool) Fields { return scopeFields{} }
	st.Memo = m
	return st
}

// readAll reads every value of st, each as JSON with the memo's values in
// place, remembering what each value read.
func readAll(t *testing.T, st *JSONStream, m jsonMemo) (out []string, hits int) {
	t.Helper()
	for {
		v, err := st.Next()
		if err != nil {
			t.Fatal(err)
		}
		if v.Node == nil {
			return out, hits
		}
		out = append(out, expanded(v.Node))
		hits += lazies(v.Node)
		if m != nil {
			m.remember(v.Node)
		}
	}
}

// TestJSONMemoAtAnyIndentation: a value is known by its text without the
// indentation of its lines, so the same object as a List item (deeper) or
// on one line is a hit, and reads as the whole text does.
func TestJSONMemoAtAnyIndentation(t *testing.T) {
	pod := podLikeJSON(t)
	m := jsonMemo{}
	first, hits := readAll(t, memoStream(m, pod), m)
	if hits != 0 || len(m) != 2 { // containers and nested.probe
		t.Fatalf("%d hits from an empty memo, %d values remembered (want 0, 2): %v", hits, len(m), m)
	}
	var list bytes.Buffer
	if err := json.Indent(&list, []byte(`{"apiVersion":"v1","kind":"List","items":[`+pod+`]}`), "", "  "); err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(pod)); err != nil {
		t.Fatal(err)
	}
	for name, doc := range map[string]string{"list": list.String(), "tabs": strings.ReplaceAll(pod, "    ", "\t"), "crlf": strings.ReplaceAll(pod, "\n", "\r\n")} {
		got, hits := readAll(t, memoStream(m, doc), nil)
		if hits != 2 {
			t.Errorf("%s: %d values taken from the memo, want 2", name, hits)
		}
		whole, _ := readAll(t, NewJSONStream([]byte(doc)), nil)
		equalJSON(t, got[0], whole[0])
	}
	equalJSON(t, first[0], string(mustJSON(t, pod)))
	// On one line the text differs (no line breaks): read, not a hit.
	if _, hits := readAll(t, memoStream(m, compact.String()), nil); hits != 0 {
		t.Errorf("compact JSON: %d hits for text that differs", hits)
	}
}

func mustJSON(t *testing.T, s string) []byte {
	t.Helper()
	n, _, err := ParseJSON([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return n.AppendJSON(nil)
}

// TestJSONMemoSeesEveryDifference: a changed character or a line break
// where there was none gives another key; a value that repeats a key is
// never remembered, so every object that holds it reports the repeat.
func TestJSONMemoSeesEveryDifference(t *testing.T) {
	pod := podLikeJSON(t)
	m := jsonMemo{}
	readAll(t, memoStream(m, pod), m)
	for name, doc := range map[string]string{
		"a character":  strings.Replace(pod, `"1"`, `"2"`, 1),
		"a line break": strings.Replace(pod, `"name": "A",`, "\"name\":\n\"A\",", 1),
		"a space":      strings.Replace(pod, `"name": "A",`, `"name":  "A",`, 1),
	} {
		got, hits := readAll(t, memoStream(m, doc), nil)
		if hits != 1 { // nested.probe only
			t.Errorf("%s: %d hits, want 1", name, hits)
		}
		whole, _ := readAll(t, NewJSONStream([]byte(doc)), nil)
		equalJSON(t, got[0], whole[0])
	}
	dup := strings.Replace(pod, `"name": "A",`, `"name": "A", "name": "A",`, 1)
	m = jsonMemo{}
	st := memoStream(m, dup+dup)
	for i := 0; i < 2; i++ {
		v, err := st.Next()
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Dups) != 1 {
			t.Errorf("value %d: repeated keys %v, want one", i, v.Dups)
		}
		m.remember(v.Node)
	}
}

// TestJSONMemoWithinOneValue: a List whose items repeat a value shares
// the first item's tree (the Memo holds values only once they are
// decoded, after the List is read).
func TestJSONMemoWithinOneValue(t *testing.T) {
	pod := podLikeJSON(t)
	list := `{"apiVersion":"v1","kind":"List","items":[` + pod + "," + pod + "]}"
	v, err := memoStream(jsonMemo{}, list).Next()
	if err != nil {
		t.Fatal(err)
	}
	items := v.Node.Get("items").Children
	a, b := items[0].Get("spec").Get("containers"), items[1].Get("spec").Get("containers")
	if a != b || a.Memo == nil {
		t.Errorf("the second item's containers are another tree (%p, %p) or not linked to the memo", a, b)
	}
	equalJSON(t, string(v.Node.AppendJSON(nil)), string(mustJSON(t, list)))
	// Read again without the Memo, nothing is shared.
	st := memoStream(jsonMemo{}, list)
	first, _ := st.Next()
	again, err := st.Reread(first)
	if err != nil {
		t.Fatal(err)
	}
	items = again.Node.Get("items").Children
	if items[0].Get("spec").Get("containers") == items[1].Get("spec").Get("containers") {
		t.Error("Reread shares trees: it must read without the Memo")
	}
}

// FuzzJSONMemo: reading a value through a memo filled by reading it before,
// as is and indented otherwise, gives the value read whole.
func FuzzJSONMemo(f *testing.F) {
	f.Add(`{"apiVersion":"v1","kind":"Pod","spec":{"containers":[{"name":"a","env":[{"name":"A","value":"1"}]}],"nested":{"probe":{"x":[1,2]}}}}`)
	f.Add("{\"spec\": {\"a\": [1,\n 2], \"b\": {\"c\":\n\t\"d\"}}}")
	f.Add(`[{"spec":{"a":{"x":1,"x":2}}},{"spec":{"a":{"x":1,"x":2}}}]`)
	f.Fuzz(func(t *testing.T, doc string) {
		whole, werr := readAllErr(NewJSONStream([]byte(doc)), nil)
		m := jsonMemo{}
		first, err := readAllErr(memoStream(m, doc), m)
		if (err == nil) != (werr == nil) {
			t.Fatalf("with a memo: %v; read whole: %v", err, werr)
		}
		if err != nil {
			return
		}
		sameValues(t, first, whole)
		again, err := readAllErr(memoStream(m, doc), nil)
		if err != nil {
			t.Fatalf("read again through the memo: %v", err)
		}
		sameValues(t, again, whole)
		var ind bytes.Buffer
		if json.Indent(&ind, []byte(doc), "", "   ") != nil {
			return
		}
		wholeInd, werr := readAllErr(NewJSONStream(ind.Bytes()), nil)
		got, err := readAllErr(memoStream(m, ind.String()), nil)
		if err != nil || werr != nil {
			t.Fatalf("indented: with a memo %v, read whole %v", err, werr)
		}
		sameValues(t, got, wholeInd)
	})
}

func readAllErr(st *JSONStream, m jsonMemo) ([]string, error) {
	var out []string
	for {
		v, err := st.Next()
		if err != nil || v.Node == nil {
			return out, err
		}
		out = append(out, expanded(v.Node))
		if m != nil {
			m.remember(v.Node)
		}
	}
}

func sameValues(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d values, want %d", len(got), len(want))
	}
	for i := range got {
		equalJSON(t, got[i], want[i])
	}
}

// TestJSONMemoKeepsTheDepthLimit: a value read once at a shallow depth is
// not taken from the memo, or from the same stream value, where reading it
// would go past the nesting limit: reading with the memo fails as reading
// without it does.
func TestJSONMemoKeepsTheDepthLimit(t *testing.T) {
	deep := strings.Repeat("[", maxDepth-1) + strings.Repeat("]", maxDepth-1)
	for _, docs := range [][]string{
		{`{"spec":{"a":` + deep + `,"n1":{"a":` + deep + `}}}`},
		{`{"spec":{"a":` + deep + `}}`, `{"spec":{"n1":{"a":` + deep + `}}}`},
	} {
		m := jsonMemo{}
		for i, doc := range docs {
			_, werr := NewJSONStream([]byte(doc)).Next()
			v, err := memoStream(m, doc).Next()
			if (err == nil) != (werr == nil) {
				t.Fatalf("value %d: with the memo %v, without %v", i, err, werr)
			}
			if err == nil {
				m.remember(v.Node)
			}
		}
	}
}

// gatedMemo is a jsonMemo that counts lookups and takes a scope only when
// want is set.
type gatedMemo struct {
	jsonMemo
	want            bool
	lookups, shared int
}

func (g *gatedMemo) Lookup(scope any, h SpanHash) (any, bool) {
	g.lookups++
	return g.jsonMemo.Lookup(scope, h)
}

func (g *gatedMemo) Wants(any) bool { return g.want }

func (g *gatedMemo) Shared(any) { g.shared++ }

// TestMemoGate: a scope the Memo turns down is read as usual by both
// readers, with no lookup and no link to the memo.
func TestMemoGate(t *testing.T) {
	var linked func(n *Node) int
	linked = func(n *Node) (k int) {
		if n.Memo != nil {
			k++
		}
		for _, c := range n.Children {
			k += linked(c)
		}
		return k
	}
	for _, want := range []bool{false, true} {
		g := &gatedMemo{jsonMemo: jsonMemo{}, want: want}
		y, err := memoParser(g).ParseYAML([]byte(podLike))
		if err != nil {
			t.Fatal(err)
		}
		ny := linked(y)
		j, err := memoStream(g, podLikeJSON(t)).Next()
		if err != nil {
			t.Fatal(err)
		}
		nj := linked(j.Node)
		if got := g.lookups > 0 && ny > 0 && nj > 0; got != want {
			t.Errorf("scopes wanted %v: %d lookups, %d YAML and %d JSON values linked", want, g.lookups, ny, nj)
		}
		if !want && (g.lookups != 0 || ny != 0 || nj != 0) {
			t.Errorf("scopes turned down: %d lookups, %d YAML and %d JSON values linked", g.lookups, ny, nj)
		}
	}
}
