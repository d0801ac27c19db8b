package yamltree

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"sigs.k8s.io/yaml"
)

// same checks the fast reader against sigs.k8s.io/yaml (what kubectl uses):
// where the fast reader answers, the answer must be the reference's; where
// the reference fails, the fast reader must not answer.
func same(t testing.TB, doc string) (accepted bool) {
	t.Helper()
	ref, refErr := yaml.YAMLToJSONStrict([]byte(doc))
	n, err := ParseYAML([]byte(doc))
	if err != nil {
		if !errors.Is(err, ErrUnsupported) {
			t.Fatalf("error other than ErrUnsupported: %v", err)
		}
		return false
	}
	if refErr != nil {
		t.Fatalf("fast reader accepted what the reference rejects (%v):\n%s\nfast: %s", refErr, doc, n.AppendJSON(nil))
	}
	got := n.AppendJSON(nil)
	var a, b any
	if err := json.Unmarshal(ref, &a); err != nil {
		t.Fatalf("reference JSON: %v", err)
	}
	if err := json.Unmarshal(got, &b); err != nil {
		t.Fatalf("fast reader wrote invalid JSON %q: %v\n%s", got, err, doc)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("differ for:\n%s\nreference: %s\nfast:      %s", doc, ref, got)
	}
	return true
}

func TestAcceptedAndEqual(t *testing.T) {
	docs := []string{
		"a: 1\nb: two\nc: \"three\"\nd: 'fo''ur'\ne:\nf: ~\ng: null\nh: true\ni: yes\nj: Off\nk: y\n",
		"list:\n- a\n- b: 1\n  c: 2\n-   d: 3\n    e: [1, 2, {x: y}]\n- - nested\n  - seq\n-\n  deeper: true\n",
		"spec:\n  containers:\n  - name: c\n    image: img:1.2\n    ports:\n    - containerPort: 80\n  volumes:\n  - name: v\n",
		"s: |\n  line1\n\n  line3\n    indented\nt: |-\n  x\nu: |+\n  y\n\nv: >\n  folded\n  text\n\n  para\nw: last\n",
		"quoted: \"tab\\there \\u00e9 \\x41 \\\"q\\\" \\\\ \\/\"\nsq: 'a # not a comment'\nplain: value # a comment\nhash: a#b\n",
		"cpu: 100m\nmem: 10Gi\nver: 1.24.2\nneg: -5\nzero: 0\nbig: 123456789012345678\nplus: +7\n",
		"f1: 1.0\nf2: 1.5\nf3: 1e3\noct: 0777\nhex: 0x1F\nund: 1_000\nodd: 08\ndot: .5\n",
		"flag: --log_output_level=default:info\nu1: -_1\nu2: +_0\nu3: -a_b\nu4: _1\nu5: -._5\n",
		"k:{\"name\":\"x\"}:\n  .: {}\n  f:name: {}\n\"quoted key\": 1\n'single': 2\n",
		"empty_map: {}\nempty_seq: []\nflow: {a: 1, b: [x, \"y\", 'z'], c: }\nurl: http://example.com:8080/x\n",
		"# only comments\n\n   # indented comment\na: 1   \n\n",
		"top:\n  - item\n  # comment between\n  - other\n",
		"crlf: 1\r\nnext:\r\n  - a\r\n",
		"c: [{name: web, image: web:1, url: http://a:80/x, t: 12:30, k:v: 1}]\n",
		"a: |+\n  x\n\n     \n\nb: >+\n  p\n  q\n\n\nc: >-\n\n  r\n\n  s\nd: |\n  \n    deep\n  \ne: |-\n\nf: >\n",
		"- a\n- b\n",
		"just a scalar\n",
		"unicode: \"\\U0001F600\" \nemoji: 😀\n",
		"lit: |\n  # not a comment\n  x\nafter: 1\n",
		"x: |\n\nm: 1\n",
		"a: |\n    four\n  two\n",
		"x: [a, b\n  , c]\n",
		"x: - a\n",
		"a: b: c\n",
		"a:\n  b\n  c\n",
		"- a\n  b\n",
		"a: 1\na: 2\n",
		"a: &x 1\nb: *x\n",
		"a: !!str 1\n",
		"? complex\n: key\n",
		"a: \"unterminated\n  next\"\n",
		"a:\tb\n",
		"a:\n\t- b\n",
		"date: 2025-01-24\nts: 2025-01-24T10:11:12Z\n",
		"on: x\n",
		"inf: .inf\nnan: .nan\n",
		"a: 'x'y\n",
		"a: [1, 2]x\n",
		"a: {b: 1, b: 2}\n",
	}
	accepted := 0
	for _, d := range docs {
		if same(t, d) {
			accepted++
		}
	}
	if accepted < 17 {
		t.Errorf("only %d of the common documents took the fast path", accepted)
	}
}

// TestRepositoryYAML checks every YAML file in the repository, documents
// split at markers as the loader does.
func TestRepositoryYAML(t *testing.T) {
	var files []string
	filepath.WalkDir("../..", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			files = append(files, p)
		}
		return nil
	})
	accepted, total := 0, 0
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, doc := range strings.Split(string(b), "\n---") {
			doc = strings.TrimPrefix(doc, "\n")
			if strings.HasPrefix(doc, "---") {
				continue
			}
			total++
			if same(t, doc) {
				accepted++
			}
		}
	}
	t.Logf("%d of %d documents took the fast path", accepted, total)
	if total == 0 || accepted*10 < total*8 {
		t.Errorf("the fast path took only %d of %d documents", accepted, total)
	}
}

func TestDeepNestingIsDeclined(t *testing.T) {
	for _, doc := range []string{
		strings.Repeat("- ", 100000) + "x\n",
		strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + "\n",
		func() string {
			var b strings.Builder
			for i := 0; i < 2000; i++ {
				b.WriteString(strings.Repeat(" ", i) + "k:\n")
			}
			return b.String()
		}(),
	} {
		if _, err := ParseYAML([]byte(doc)); err != ErrUnsupported {
			t.Errorf("%.20q...: want ErrUnsupported, got %v", doc, err)
		}
	}
	if _, err := ParseYAML([]byte(strings.Repeat("- ", 100) + "x\n")); err != nil {
		t.Errorf("moderate nesting declined: %v", err)
	}
}

func FuzzParseYAML(f *testing.F) {
	for _, s := range []string{
		"a: 1\nb: [x, {y: z}]\n", "- a\n- b: |\n    x\n", "k: 'q''q'\n", "a:\n  - 1\n  - 2\n", "x: 0777\n", "s: >-\n  a\n  b\n", "a: [x:y, {k:v: w, u: h://a:1}]\n",
		"k:{\"n\":\"x\"}:\n  .: {}\n", "a: \"\\u00e9\"\n", "a: 1.5e3\n",
	} {
		f.Add(s)
	}
	f.Add("apiVersion: v1\nkind: Pod\nstatus:\n- a\n  b: |\n   x\nmetadata: {managedFields: []}\n")
	f.Fuzz(func(t *testing.T, doc string) {
		accepted := same(t, doc)
		sameInStream(t, doc)
		// Skipping fields only passes over lines: what reads whole reads
		// with Skip too, and Skip never panics on anything.
		ps := NewParser()
		ps.Skip = func(av, kind, top, key string) bool { return key == "status" || key == "b" || top == "metadata" }
		if _, err := ps.ParseYAML([]byte(doc)); err != nil && accepted {
			t.Errorf("read whole but not with Skip (%v):\n%s", err, doc)
		}
		ps.Skip, ps.Prune = nil, func(av, kind, key string, served bool) Fields { return trie{"a": trie{"b": nil}, "c": nil} }
		if _, err := ps.ParseYAML([]byte(doc)); err != nil && accepted {
			t.Errorf("read whole but not with Prune (%v):\n%s", err, doc)
		}
	})
}

// sameInStream requires ParseDoc, given doc inside a scanned stream, to
// read what ParseYAML reads from doc alone: the stream has lines before
// it and a line after it, readable or not (then the document is checked
// on its own), and a document without a final line feed shares its last
// line with what follows.
func sameInStream(t *testing.T, doc string) {
	t.Helper()
	want, wantErr := NewParser().ParseYAML([]byte(doc))
	for _, after := range []string{"tail: x\n", "\x01\n"} {
		const before = "head: 1\r\n# c\n\n"
		var s Stream
		if err := s.Scan([]byte(before + doc + after)); err != nil {
			t.Fatal(err)
		}
		got, err := NewParser().ParseDoc(&s, len(before), len(before)+len(doc), 4)
		if (err == nil) != (wantErr == nil) || !reflect.DeepEqual(got, want) {
			t.Errorf("%q followed by %q: ParseDoc gave %v, %v; ParseYAML %v, %v", doc, after, got, err, want, wantErr)
		}
	}
}

// TestParseDocInStream: documents cut from a stream read as they do alone.
func TestParseDocInStream(t *testing.T) {
	for _, doc := range []string{"a: 1\nb:\n- x\n- y: |\n    z\n", "a: 1", "", "\n\n", "k: [1, 2]\r\n", "a: \x02\n", "- a\n-\n  b: 2\n"} {
		sameInStream(t, doc)
	}
}

// sameJSONTree requires tree n, read from doc, to equal the JSON want.
func sameJSONTree(t *testing.T, doc string, n *Node, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(n.AppendJSON(nil), &g); err != nil {
		t.Fatalf("%q: AppendJSON wrote invalid JSON: %v", doc, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want %s: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%q:\n got %s\nwant %s", doc, n.AppendJSON(nil), want)
	}
}

// trie is a Fields for tests: a key maps to the fields kept below it.
type trie map[string]Fields

func (t trie) Field(k string) (Fields, bool) {
	sub, ok := t[k]
	return sub, ok
}

// TestPrune: Prune keeps exactly the named fields of the value, at any
// depth and through sequences, tells whether the API server's metadata
// was read first, and the parts it drops are passed over whatever their
// shape.
func TestPrune(t *testing.T) {
	keep := trie{"containers": trie{"name": nil, "env": nil}, "hostNetwork": nil}
	type call struct {
		key    string
		served bool
	}
	cases := []struct {
		doc, want string
		calls     []call
	}{
		{ // served: uid and resourceVersion before spec
			"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  resourceVersion: \"7\"\n  uid: u-1\nspec:\n  containers:\n  - name: app\n    env:\n    - name: A\n      value: b\n    resources:\n      limits: {cpu: 1}\n    args: |\n      block\n  - image: x\n    name: side\n  volumes:\n  - name: v\n  hostNetwork: true\n",
			`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","resourceVersion":"7","uid":"u-1"},"spec":{"containers":[{"env":[{"name":"A","value":"b"}],"name":"app"},{"name":"side"}],"hostNetwork":true}}`,
			[]call{{"apiVersion", false}, {"kind", false}, {"metadata", false}, {"spec", true}},
		},
		{ // a uid alone is not an API server's object; sequence at the key's indent
			"- apiVersion: v1\n  kind: Pod\n  metadata:\n    uid: u\n  spec:\n    volumes:\n    - name: v\n    containers:\n    - name: a\n      ports: [1]\n",
			`[{"apiVersion":"v1","kind":"Pod","metadata":{"uid":"u"},"spec":{"containers":[{"name":"a"}]}}]`,
			[]call{{"apiVersion", false}, {"kind", false}, {"metadata", false}, {"spec", false}},
		},
	}
	for _, c := range cases {
		var calls []call
		ps := NewParser()
		ps.Prune = func(av, kind, key string, served bool) Fields {
			calls = append(calls, call{key, served})
			if key == "spec" {
				return keep
			}
			return nil
		}
		n, err := ps.ParseYAML([]byte(c.doc))
		if err != nil {
			t.Fatalf("%q: %v", c.doc, err)
		}
		sameJSONTree(t, c.doc, n, c.want)
		if !reflect.DeepEqual(calls, c.calls) {
			t.Errorf("%q: Prune asked %v, want %v", c.doc, calls, c.calls)
		}
	}
}

// TestSkip: the fields Skip names are left out exactly, wherever the
// object sits, whatever their value's shape, and the rest reads as before.
func TestSkip(t *testing.T) {
	skipStatus := func(av, kind, top, key string) bool {
		return av == "v1" && kind == "Pod" && (top == "" && key == "status" || top == "metadata" && key == "managedFields")
	}
	cases := []struct{ doc, want string }{
		{ // root mapping; a block sequence at the key's indent; a block scalar
			"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  managedFields:\n  - manager: m\n    fieldsV1:\n      f:spec: {}\n  labels: {a: b}\nspec:\n  status: kept\nstatus:\n  phase: Running\n  message: |\n    two\n    lines\n  conditions:\n  - type: Ready\n# trailing comment\n",
			`{"apiVersion":"v1","kind":"Pod","metadata":{"labels":{"a":"b"},"name":"p"},"spec":{"status":"kept"}}`,
		},
		{ // an item of a root sequence (a List cut into items), value on one line
			"- apiVersion: v1\n  kind: Pod\n  status: {phase: Running}\n  metadata:\n    managedFields: []\n    name: q\n",
			`[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"q"}}]`,
		},
		{ // kind written after the field: not known yet, so read
			"status: {phase: Running}\napiVersion: v1\nkind: Pod\n",
			`{"apiVersion":"v1","kind":"Pod","status":{"phase":"Running"}}`,
		},
		{ // another kind, and status deeper than the object's first two levels
			"apiVersion: v1\nkind: Service\nspec:\n  x:\n    status: 1\nstatus: {}\n",
			`{"apiVersion":"v1","kind":"Service","spec":{"x":{"status":1}},"status":{}}`,
		},
		{ // a nested List's items are not objects of the root sequence
			"apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  status: {}\n",
			`{"apiVersion":"v1","items":[{"apiVersion":"v1","kind":"Pod","status":{}}],"kind":"List"}`,
		},
	}
	for _, c := range cases {
		ps := NewParser()
		ps.Skip = skipStatus
		n, err := ps.ParseYAML([]byte(c.doc))
		if err != nil {
			t.Fatalf("%q: %v", c.doc, err)
		}
		sameJSONTree(t, c.doc, n, c.want)
	}
}

// TestScanWordAtATime: Stream.Scan's 32-byte path agrees with YAML's
// character rules, checked one character at a time, for every byte value
// at every position of a block and around multi-byte characters, and finds
// every line feed.
func TestScanWordAtATime(t *testing.T) {
	reference := func(b []byte) bool {
		for i := 0; i < len(b); {
			c := b[i]
			switch {
			case c == '\t' || c == '\n' || c >= 0x20 && c < 0x7f:
				i++
				continue
			case c == '\r' && i+1 < len(b) && b[i+1] == '\n':
				i += 2
				continue
			case c < 0x80:
				return false
			}
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 || !(r >= 0xA0 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000) || r == 0x2028 || r == 0x2029 {
				return false
			}
			i += size
		}
		return true
	}
	var docs [][]byte
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 72; pos++ {
			// Two 32-byte blocks and a tail.
			b := []byte("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
			b[pos] = byte(c)
			docs = append(docs, b)
		}
	}
	// Neighbouring special bytes, where a carry between bytes would show.
	special := []byte{0x00, 0x01, 0x09, 0x0a, 0x0b, 0x0d, 0x1f, 0x20, 0x60, 0x7e, 0x7f, 0x80, 0x8a, 0xa0, 0xff}
	for _, c1 := range special {
		for _, c2 := range special {
			for pos := 0; pos < 40; pos += 5 {
				b := []byte("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH")
				b[pos], b[pos+1] = c1, c2
				docs = append(docs, b)
			}
		}
	}
	for _, s := range []string{"é and more text!", "text then é", "abcdefgh\r\nabcdefgh", "abc\rdefghijk", "\u2028abcdefgh", "abcdefg\u00a0",
		"\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n", "a\nb\r\nc\n\nd: e\n  f: g\n- h\n\t\n\xff\nend"} {
		docs = append(docs, []byte(s))
	}
	for _, b := range docs {
		var s Stream
		if err := s.Scan(b); err != nil {
			t.Fatal(err)
		}
		if want := reference(b); s.Readable != want {
			t.Errorf("%q: readable %v, want %v", b, s.Readable, want)
		}
		var lfs []int32
		for i, c := range b {
			if c == '\n' {
				lfs = append(lfs, int32(i))
			}
		}
		if !slices.Equal(s.Ends, lfs) {
			t.Errorf("%q: line feeds at %v, want %v", b, s.Ends, lfs)
		}
	}
}

// FuzzPlainText: the one-pass plainText decides as cutting the comment,
// trimming and then searching the text did.
func FuzzPlainText(f *testing.F) {
	for _, s := range []string{"a", "a: b", "a:", "a: # c", "a:b", "a\tb", "a\t# c", "a #c: d", "x:\t", "a  ", "#a", "a#b", "a:\t#x", "a \t#", "a::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref := s
		for i := 1; i < len(ref); i++ {
			if ref[i] == '#' && (ref[i-1] == ' ' || ref[i-1] == '\t') {
				ref = ref[:i]
				break
			}
		}
		ref = strings.TrimRight(ref, " \t")
		refOK := !strings.Contains(ref, ": ") && !strings.HasSuffix(ref, ":") && !strings.Contains(ref, "\t")
		got, ok := plainText(s)
		if ok != refOK || ok && got != ref {
			t.Errorf("plainText(%q) = %q, %v; want %q, %v", s, got, ok, ref, refOK)
		}
	})
}
