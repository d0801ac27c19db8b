package yamltree

import (
	"encoding/binary"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// scopeFields reads everything; every field of the values of an object's
// root fields (and of fields named n*) is a memo candidate, all in one scope.
type scopeFields struct{}

func (scopeFields) Field(key string) (Fields, bool) {
	if strings.HasPrefix(key, "n") {
		return scopeFields{}, true
	}
	return nil, true
}

func (scopeFields) MemoScope(string) any { return "scope" }

// jsonMemo holds, per key, the JSON of the value a parse read.
type jsonMemo map[memoKey]string

func (m jsonMemo) Lookup(scope any, h SpanHash) (any, bool) {
	v, ok := m[memoKey{scope, h}]
	return v, ok
}

// remember stores the values the tree read under their keys.
func (m jsonMemo) remember(n *Node) {
	if n.Memo != nil && n.Kind != Lazy {
		m[memoKey{n.Memo.Scope, n.Memo.Hash}] = string(n.AppendJSON(nil))
	}
	for _, c := range n.Children {
		m.remember(c)
	}
}

// expanded is n's JSON with each Lazy node's value from the memo.
func expanded(n *Node) string {
	var b strings.Builder
	var walk func(*Node)
	walk = func(n *Node) {
		switch n.Kind {
		case Lazy:
			b.WriteString(n.Memo.Value.(string))
		case Map:
			b.WriteByte('{')
			for i, k := range n.Keys {
				if i > 0 {
					b.WriteByte(',')
				}
				b.Write(appendQuoted(nil, k))
				b.WriteByte(':')
				walk(n.Children[i])
			}
			b.WriteByte('}')
		case Seq:
			b.WriteByte('[')
			for i, c := range n.Children {
				if i > 0 {
					b.WriteByte(',')
				}
				walk(c)
			}
			b.WriteByte(']')
		default:
			b.Write(n.AppendJSON(nil))
		}
	}
	walk(n)
	return b.String()
}

func memoParser(m Memo) *Parser {
	ps := NewParser()
	ps.Prune = func(string, string, string, bool) Fields { return scopeFields{} }
	ps.Memo = m
	return ps
}

func lazies(n *Node) (k int) {
	if n.Kind == Lazy {
		k++
	}
	for _, c := range n.Children {
		k += lazies(c)
	}
	return k
}

func equalJSON(t *testing.T, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("invalid JSON %s: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

const podLike = `apiVersion: v1
kind: Pod
spec:
  containers:
  - env:
    - name: A
      value: "1"
    - name: B
      valueFrom:
        fieldRef:
          fieldPath: metadata.name
    args:
    - --x
    - |
      two
      lines
    name: app
  nested:
    probe:
      httpGet:
        port: 80
`

// TestMemoSameTextAtAnotherDepth: a value is known by its text relative to
// its key, so the same value indented deeper is a hit, and the tree with
// the held values in place equals the tree read whole.
func TestMemoSameTextAtAnotherDepth(t *testing.T) {
	m := jsonMemo{}
	first, err := memoParser(m).ParseYAML([]byte(podLike))
	if err != nil {
		t.Fatal(err)
	}
	if lazies(first) != 0 {
		t.Fatal("an empty memo gave a hit")
	}
	m.remember(first)
	if len(m) != 2 { // containers and nested.probe (nested itself is read in part)
		t.Fatalf("remembered %d values, want 2: %v", len(m), m)
	}
	// The same object as a List item: every line two columns deeper.
	deeper := "- " + strings.ReplaceAll(strings.TrimSuffix(podLike, "\n"), "\n", "\n  ") + "\n"
	whole, err := ParseYAML([]byte(deeper))
	if err != nil {
		t.Fatal(err)
	}
	ps := memoParser(m)
	n, err := ps.ParseYAML([]byte(deeper))
	if err != nil {
		t.Fatal(err)
	}
	if got := lazies(n); got != 2 {
		t.Errorf("%d values taken from the memo, want 2", got)
	}
	equalJSON(t, expanded(n), string(whole.AppendJSON(nil)))
	if c := n.Children[0].Get("spec").Get("containers"); c.Kind != Lazy || c.Line != 5 {
		t.Errorf("containers: kind %d line %d, want Lazy at line 5", c.Kind, c.Line)
	}
}

// TestMemoSeesEveryDifference: any change to a value's text — a character,
// the relative indent of one line, the final line break a block scalar
// keeps — gives another key.
func TestMemoSeesEveryDifference(t *testing.T) {
	m := jsonMemo{}
	first, err := memoParser(m).ParseYAML([]byte(podLike))
	if err != nil {
		t.Fatal(err)
	}
	m.remember(first)
	for name, doc := range map[string]string{
		"a character":     strings.Replace(podLike, `value: "1"`, `value: "2"`, 1),
		"an indent":       strings.Replace(podLike, "      two\n      lines", "      two\n       lines", 1),
		"a comment":       strings.Replace(podLike, "    - --x\n", "    - --x\n    # note\n", 1),
		"a blank line":    strings.Replace(podLike, "      lines\n", "      lines\n\n", 1),
		"no final break":  "apiVersion: v1\nkind: Pod\nspec:\n  nested:\n    x: |-\n      a",
		"a block at end":  "apiVersion: v1\nkind: Pod\nspec:\n  nested:\n    x: |-\n      a\n",
		"another sibling": strings.Replace(podLike, "        port: 80", "        port: 81", 1),
	} {
		t.Run(name, func(t *testing.T) {
			n, err := memoParser(m).ParseYAML([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			whole, err := ParseYAML([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			// Whatever was taken from the memo was the same text.
			equalJSON(t, expanded(n), string(whole.AppendJSON(nil)))
		})
	}
	// The changed value itself is never a hit.
	n, err := memoParser(m).ParseYAML([]byte(strings.Replace(podLike, `value: "1"`, `value: "2"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if c := n.Get("spec").Get("containers"); c.Kind == Lazy {
		t.Error("a changed value was taken from the memo")
	}
}

// TestMemoOnlyWhereAsked: without a Memo, or without memo scopes, nothing
// is remembered or skipped.
func TestMemoOnlyWhereAsked(t *testing.T) {
	ps := NewParser()
	ps.Prune = func(string, string, string, bool) Fields { return scopeFields{} }
	n, err := ps.ParseYAML([]byte(podLike))
	if err != nil {
		t.Fatal(err)
	}
	m := jsonMemo{}
	m.remember(n)
	if len(m) != 0 {
		t.Errorf("remembered %d values without a Memo", len(m))
	}
	ps = NewParser()
	ps.Prune = func(string, string, string, bool) Fields { return trie{"containers": nil, "nested": nil} }
	ps.Memo = m
	if n, err = ps.ParseYAML([]byte(podLike)); err != nil {
		t.Fatal(err)
	}
	m.remember(n)
	if len(m) != 0 {
		t.Errorf("remembered %d values with Fields that name no scope", len(m))
	}
}

// FuzzMemo: reading a document through a memo filled by reading it before,
// as is and two columns deeper, gives the tree read whole.
func FuzzMemo(f *testing.F) {
	f.Add(podLike)
	f.Add("a:\n  b:\n  - x\n  - y\n  c: |+\n    k\n\n")
	f.Add("a:\n  b:\n    # c\n    d: 1\n  e:\n  - f: >\n      g\n")
	f.Fuzz(func(t *testing.T, doc string) {
		m := jsonMemo{}
		first, err := memoParser(m).ParseYAML([]byte(doc))
		whole, werr := ParseYAML([]byte(doc))
		if (err == nil) != (werr == nil) {
			t.Fatalf("with a memo: %v; read whole: %v", err, werr)
		}
		if err != nil {
			return
		}
		want := string(whole.AppendJSON(nil))
		equalJSON(t, string(first.AppendJSON(nil)), want)
		m.remember(first)
		again, err := memoParser(m).ParseYAML([]byte(doc))
		if err != nil {
			t.Fatalf("read again through the memo: %v", err)
		}
		equalJSON(t, expanded(again), want)
		if strings.HasPrefix(doc, " ") || strings.Contains(doc, "\r") {
			return
		}
		deeper := "- " + strings.ReplaceAll(doc, "\n", "\n  ")
		d, err := memoParser(m).ParseYAML([]byte(deeper))
		dw, derr := ParseYAML([]byte(deeper))
		if err != nil || derr != nil {
			return // the shift made something else of it
		}
		equalJSON(t, expanded(d), string(dw.AppendJSON(nil)))
	})
}

// TestSpanHashWritesVarints: the short form spanHash writes for a line's
// relative indent and length is the bytes of the varints it stands for, so
// hashes do not depend on which form was taken.
func TestSpanHashWritesVarints(t *testing.T) {
	for rel := -70; rel < 200; rel++ {
		for _, n := range []int{0, 1, 63, 127, 128, 300} {
			var p parser
			p.lines = []line{{indent: int32(rel + 100), text: strings.Repeat("x", n)}}
			p.spanHash(0, 1, 100)
			want := binary.AppendUvarint(binary.AppendVarint(nil, int64(rel)), uint64(n))
			want = append(want, strings.Repeat("x", n)...)
			if string(p.hashBuf) != string(want) {
				t.Fatalf("relative indent %d, length %d: wrote %x, want %x", rel, n, p.hashBuf, want)
			}
		}
	}
}
