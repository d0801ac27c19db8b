package yamltree

import (
	"errors"
	"fmt"
	"hash/maphash"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// Path addresses a node: string keys and int indexes.
type Path []any

// ParseJSON reads one JSON value. A key repeated in one object keeps its
// last value (as encoding/json does) and is returned in dups.
func ParseJSON(b []byte) (n *Node, dups []Path, err error) {
	r := &jsonReader{s: string(b)}
	n, err = r.value(0, jsonCtx{})
	if err != nil {
		return nil, nil, err
	}
	r.space()
	if r.i != len(r.s) {
		return nil, nil, r.errorf("unexpected data after the value")
	}
	return n, r.dups, nil
}

// JSONStream reads concatenated JSON values (a file, or `jq -c` output) one
// by one, without copying the input: the trees' strings share its bytes,
// which must not change while a tree is in use. A tree is valid until the
// next call to Next or Reset, which reuse its memory.
type JSONStream struct {
	r jsonReader
	// Skip and Prune, when set, work as Parser.Skip and Parser.Prune do
	// for the objects of the stream: its values and the items of a List
	// or of an array (a typed List's items take their apiVersion and kind
	// from the List's).
	Skip  SkipFunc
	Prune PruneFunc
	// Memo, when set, works as Parser.Memo does: an object or array below
	// a field the Fields name a memo scope for is looked up by the hash
	// of its text, its indentation left out (see memoValue).
	Memo Memo
}

// NewJSONStream starts reading b.
func NewJSONStream(b []byte) *JSONStream {
	return &JSONStream{r: jsonReader{s: unsafe.String(unsafe.SliceData(b), len(b))}}
}

// Reset starts reading b with the memory the stream used for the trees
// it returned before, which are then no longer valid: one stream per
// goroutine reads file after file without making garbage of each tree.
// Skip, Prune and Memo are kept.
func (s *JSONStream) Reset(b []byte) {
	r := &s.r
	r.s, r.i = unsafe.String(unsafe.SliceData(b), len(b)), 0
}

// Value is one value of a stream: its tree, its byte range, the keys it
// repeats, and, when it is an object with an "items" array (a List), the
// byte range of each item.
type Value struct {
	Node       *Node
	Start, End int
	Dups       []Path
	Items      [][2]int
}

// Next reads the next value; at the end it returns a nil Node and no error.
func (s *JSONStream) Next() (Value, error) { return s.read(s.Memo) }

// Reread reads v, a value Next returned, again without the Memo (for a
// tree that needs the text of a value the Memo passed over), and goes on
// after it. v's tree is then no longer valid.
func (s *JSONStream) Reread(v Value) (Value, error) {
	s.r.i = v.Start
	return s.read(nil)
}

func (s *JSONStream) read(memo Memo) (Value, error) {
	r := &s.r
	r.dups, r.items, r.at = nil, nil, r.at[:0]
	r.mem.reset()
	r.skip, r.prune, r.memo = s.Skip, s.Prune, memo
	clear(r.seen)
	r.space()
	if r.i == len(r.s) {
		return Value{Start: r.i, End: r.i}, nil
	}
	v := Value{Start: r.i}
	c := jsonCtx{}
	if r.skip != nil || r.prune != nil {
		c.role = roleStreamValue
	}
	n, err := r.value(0, c)
	v.End = r.i
	if err != nil {
		return v, err
	}
	v.Node, v.Dups, v.Items = n, r.dups, r.items
	return v, nil
}

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 10000

type jsonReader struct {
	s string
	i int
	// mem holds the trees' nodes and slices, reused from one value of
	// a stream to the next (see Reset).
	mem  memory
	dups []Path
	// items are the spans of the elements of a top-level object's "items"
	// array; itemsNext marks that the array being read is that one.
	items     [][2]int
	itemsNext bool
	// at is the path to the value being read, as a stack: a Path is
	// made of it only for a repeated key, not for every key.
	at    []pathStep
	skip  SkipFunc
	prune PruneFunc
	memo  Memo
	// seen holds the trees read through the Memo in the value being read,
	// by scope and text hash. A value that repeats one shares its tree
	// (see memoValue).
	seen map[memoKey]*Node
	// hashBuf is reused by spanHash.
	hashBuf []byte
}

// jsonCtx is what the reader knows about the value it is about to read,
// for Skip and Prune.
type jsonCtx struct {
	role   jsonRole
	fields Fields   // what to build of the value (nil: all)
	obj    *jsonObj // the object the value belongs to (roleField)
	top    string   // the object's field holding the value (roleField)
}

type jsonRole uint8

const (
	roleNone        jsonRole = iota
	roleStreamValue          // a value of the stream: an object, a List or an array of objects
	roleObject               // an object's root
	roleField                // the value of a field of an object's root
)

// jsonObj is what an object's root has shown so far.
type jsonObj struct {
	apiVersion, kind string
	sawUID, sawRV    bool
}

// skipValue passes over one JSON value without building it. It finds
// where the value ends but checks nothing inside, as the YAML reader's
// skipping does.
func (r *jsonReader) skipValue() error {
	r.space()
	if r.i < len(r.s) && (r.s[r.i] == '{' || r.s[r.i] == '[') {
		var ok bool
		if r.i, _, ok = pastCollection(r.s, r.i); !ok {
			return r.errorf("unexpected end of input in a skipped value")
		}
		return nil
	}
	depth := 0
	for r.i < len(r.s) {
		// Most bytes of a skipped value are indentation, names and
		// numbers: passed over a word at a time.
		r.i = toStructural(r.s, r.i)
		if r.i == len(r.s) {
			break
		}
		switch r.s[r.i] {
		case '"':
			r.i++
			for {
				r.i = toQuoteOrEscape(r.s, r.i)
				if r.i >= len(r.s) { // an escape may have stepped past the end
					r.i = len(r.s)
					return r.errorf("unexpected end of input in a string")
				}
				r.i++
				if r.s[r.i-1] == '"' {
					break
				}
				r.i++ // the escaped character
			}
			if depth == 0 {
				return nil
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return nil
			}
			if depth--; depth == 0 {
				r.i++
				return nil
			}
		case ',':
			if depth == 0 {
				return nil
			}
		}
		r.i++
	}
	if depth == 0 && r.i > 0 {
		return nil // a number or literal at the end of the input
	}
	return r.errorf("unexpected end of input")
}

// skipStop marks the bytes skipValue acts on.
var skipStop = [256]bool{'"': true, '{': true, '[': true, '}': true, ']': true, ',': true}

type pathStep struct {
	key   string
	index int // -1 for a key
}

// path copies the current path.
func (r *jsonReader) path() Path {
	p := make(Path, len(r.at))
	for i, e := range r.at {
		if e.index < 0 {
			p[i] = e.key
		} else {
			p[i] = e.index
		}
	}
	return p
}

func (r *jsonReader) errorf(format string, args ...any) error {
	return fmt.Errorf("invalid JSON: %s", fmt.Sprintf(format, args...))
}

func (r *jsonReader) node(k Kind, text string) *Node { return r.mem.node(k, text) }

func (r *jsonReader) space() {
	if r.i < len(r.s) && r.s[r.i] > ' ' {
		return // compact JSON, and most values after "key": in any JSON
	}
	for r.i < len(r.s) {
		switch r.s[r.i] {
		case ' ':
			r.i = pastSpaces(r.s, r.i+1)
		case '\n', '\t', '\r':
			r.i++
		default:
			return
		}
	}
}

func (r *jsonReader) value(depth int, c jsonCtx) (*Node, error) {
	if depth > maxDepth {
		return nil, r.errorf("nested too deeply")
	}
	r.space()
	if r.i >= len(r.s) {
		return nil, r.errorf("unexpected end of input")
	}
	switch ch := r.s[r.i]; {
	case ch == '{':
		return r.object(depth, c)
	case ch == '[':
		return r.array(depth, c)
	case ch == '"':
		s, err := r.str()
		if err != nil {
			return nil, err
		}
		return r.node(String, s), nil
	case ch == 't' && strings.HasPrefix(r.s[r.i:], "true"):
		r.i += 4
		return r.node(Bool, "true"), nil
	case ch == 'f' && strings.HasPrefix(r.s[r.i:], "false"):
		r.i += 5
		return r.node(Bool, "false"), nil
	case ch == 'n' && strings.HasPrefix(r.s[r.i:], "null"):
		r.i += 4
		return r.node(Null, ""), nil
	case ch == '-' || ch >= '0' && ch <= '9':
		return r.number()
	}
	return nil, r.errorf("unexpected character %q", r.s[r.i])
}

func (r *jsonReader) object(depth int, c jsonCtx) (*Node, error) {
	r.i++
	n := r.node(Map, "")
	var obj *jsonObj // set when this is an object's root
	switch c.role {
	case roleStreamValue:
		obj = &jsonObj{}
	case roleObject:
		obj = c.obj
	}
	r.space()
	if r.i < len(r.s) && r.s[r.i] == '}' {
		r.i++
		return n, nil
	}
	// The entries go on the memory's stack, then into n as one slice.
	mark := r.mem.mark()
	if err := r.entries(n, depth, c, obj, mark); err != nil {
		return nil, err
	}
	n.Keys, n.Children = r.mem.pop(mark, true)
	return n, nil
}

// entries reads an object's entries, from its first key to its '}', onto
// the memory's stack above mark.
func (r *jsonReader) entries(n *Node, depth int, c jsonCtx, obj *jsonObj, mark int) error {
	var index map[string]int
	for {
		r.space()
		if r.i >= len(r.s) || r.s[r.i] != '"' {
			return r.errorf("expected a key")
		}
		k, err := r.str()
		if err != nil {
			return err
		}
		r.space()
		if r.i >= len(r.s) || r.s[r.i] != ':' {
			return r.errorf("expected ':' after key")
		}
		r.i++
		r.at = append(r.at, pathStep{key: k, index: -1})
		r.itemsNext = depth == 0 && k == "items"
		var cc jsonCtx
		if obj != nil || c.role == roleField || c.fields != nil {
			var skip bool
			if cc, skip = r.field(c, obj, k); skip {
				r.itemsNext = false
				r.at = r.at[:len(r.at)-1]
				if err := r.skipValue(); err != nil {
					return err
				}
				if err := r.next('}'); err != nil {
					if err == errEnd {
						return nil
					}
					return err
				}
				continue
			}
		}
		var v *Node
		if scope := r.memoScope(c.fields, cc.fields, k); scope != nil {
			v, err = r.memoValue(depth+1, cc, scope)
		} else {
			v, err = r.value(depth+1, cc)
		}
		r.itemsNext = false
		if err != nil {
			return err
		}
		if obj != nil && v.Kind == String {
			switch k {
			case "apiVersion":
				obj.apiVersion = v.Text
			case "kind":
				obj.kind = v.Text
			}
		}
		keys := r.mem.keysSince(mark)
		// Repeated keys are looked for by a scan while the object is
		// small, as most are; a map only for a large one (data, labels).
		if index == nil && len(keys) >= 32 {
			index = make(map[string]int, 16)
			for j, kk := range keys {
				index[kk] = j
			}
		}
		pos := -1
		if index != nil {
			if j, ok := index[k]; ok {
				pos = j
			}
		} else {
			for j, kk := range keys {
				if kk == k {
					pos = j
				}
			}
		}
		if pos >= 0 {
			r.mem.stackN[mark+pos] = v // encoding/json keeps the last
			r.dups = append(r.dups, r.path())
		} else {
			if index != nil {
				index[k] = len(keys)
			}
			r.mem.push(k, v)
		}
		r.at = r.at[:len(r.at)-1]
		if err := r.next('}'); err != nil {
			if err == errEnd {
				return nil
			}
			return err
		}
	}
}

// memoScope returns the memo scope of field k of an object read with
// fields, whose value is read with sub, or nil: as the YAML reader's, only
// with a Memo and for a value read whole.
func (r *jsonReader) memoScope(fields, sub Fields, k string) any {
	return memoScopeOf(r.memo, fields, sub, k)
}

// memoValue reads the value at r.i through the memo: for a non-empty
// object or array, a Lazy node when the memo holds a value for its text,
// else the value read as usual with its MemoRef attached, unless it
// repeats a key (the repeat is reported for each object that has it, so
// such a value is never stored).
func (r *jsonReader) memoValue(depth int, c jsonCtx, scope any) (*Node, error) {
	r.space()
	start := r.i
	if start+1 >= len(r.s) || r.s[start] != '{' && r.s[start] != '[' {
		return r.value(depth, c)
	}
	if j := pastSpaceJSON(r.s, start+1); j < len(r.s) && (r.s[j] == '}' || r.s[j] == ']') {
		return r.value(depth, c) // empty: nothing worth remembering
	}
	end, deepest, ok := pastCollection(r.s, start)
	if !ok || depth+deepest > maxDepth {
		return r.value(depth, c) // cut short, or too deep to take from the memo here: read as usual
	}
	h := r.spanHash(r.s[start:end])
	if v, hit := r.memo.Lookup(scope, h); hit {
		n := r.node(Lazy, "")
		n.Memo = r.mem.memoRef(MemoRef{Scope: scope, Hash: h, Value: v})
		r.i = end
		return n, nil
	}
	// The Memo holds values once they are decoded, which is after the
	// whole value of the stream is read: a List repeats text the Memo
	// cannot have yet. Its first tree stands for it.
	key := memoKey{scope, h}
	if n, ok := r.seen[key]; ok {
		if g, ok := r.memo.(MemoGate); ok {
			g.Shared(scope)
		}
		r.i = end
		return n, nil
	}
	dups := len(r.dups)
	n, err := r.value(depth, c)
	if err != nil {
		return nil, err
	}
	if len(r.dups) == dups {
		n.Memo = r.mem.memoRef(MemoRef{Scope: scope, Hash: h})
		if r.seen == nil {
			r.seen = map[memoKey]*Node{}
		}
		r.seen[key] = n
	}
	return n, nil
}

// memoKey is a value's memo scope and text hash.
type memoKey struct {
	scope any
	hash  SpanHash
}

// pastSpaceJSON returns the index of the first byte of s from i that is
// not JSON white space, or len(s).
func pastSpaceJSON(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r') {
		i++
	}
	return i
}

// jsonSpanSeeds hash the text of JSON values: seeds of their own, so that
// no JSON text can be taken for YAML text that hashes the same.
var jsonSpanSeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

// spanHash hashes the text t of a complete JSON value with the blanks that
// follow each line feed, and a CR before it, left out: the same value
// hashes the same at any indentation. No raw CR or line feed can be inside
// a JSON string, so what is left out is always white space between tokens,
// and the line feed that stays keeps the tokens apart: two texts with the
// same hash hold the same value, and either both are valid or neither is.
func (r *jsonReader) spanHash(t string) SpanHash {
	b := r.hashBuf[:0]
	for {
		j := strings.IndexByte(t, '\n')
		if j < 0 {
			b = append(b, t...)
			break
		}
		if j > 0 && t[j-1] == '\r' {
			b = append(append(b, t[:j-1]...), '\n') // CRLF files hash as LF ones
		} else {
			b = append(b, t[:j+1]...)
		}
		k := pastSpaces(t, j+1)
		for k < len(t) && (t[k] == ' ' || t[k] == '\t') {
			k = pastSpaces(t, k+1)
		}
		t = t[k:]
	}
	r.hashBuf = b
	return SpanHash{maphash.Bytes(jsonSpanSeeds[0], b), maphash.Bytes(jsonSpanSeeds[1], b)}
}

// errEnd says a collection has ended; it never leaves the reader.
var errEnd = errors.New("end of collection")

// next reads what follows a collection's element: ',' or the closing
// byte (then errEnd).
func (r *jsonReader) next(closing byte) error {
	r.space()
	if r.i >= len(r.s) {
		if closing == '}' {
			return r.errorf("unexpected end of input in an object")
		}
		return r.errorf("unexpected end of input in an array")
	}
	switch r.s[r.i] {
	case ',':
		r.i++
		return nil
	case closing:
		r.i++
		return errEnd
	}
	return r.errorf("expected ',' or '%c'", closing)
}

// field decides, for key k of an object whose context is c (obj set when
// it is an object's root), whether its value is skipped and, if not, the
// value's context.
func (r *jsonReader) field(c jsonCtx, obj *jsonObj, k string) (jsonCtx, bool) {
	switch {
	case obj != nil:
		if c.role == roleStreamValue && k == "items" && (obj.kind == "" || strings.HasSuffix(obj.kind, "List")) {
			// A List (kubectl writes its kind after the items): its items
			// are the objects.
			item := &jsonObj{apiVersion: obj.apiVersion}
			if obj.kind != "List" {
				item.kind = strings.TrimSuffix(obj.kind, "List")
			}
			return jsonCtx{role: roleObject, obj: item}, false
		}
		if r.skip != nil && r.skip(obj.apiVersion, obj.kind, "", k) {
			return jsonCtx{}, true
		}
		cc := jsonCtx{role: roleField, obj: obj, top: k}
		if r.prune != nil {
			cc.fields = r.prune(obj.apiVersion, obj.kind, k, obj.sawUID && obj.sawRV)
		}
		return cc, false
	case c.role == roleField:
		if r.skip != nil && r.skip(c.obj.apiVersion, c.obj.kind, c.top, k) {
			return jsonCtx{}, true
		}
		if c.top == "metadata" {
			c.obj.sawUID = c.obj.sawUID || k == "uid"
			c.obj.sawRV = c.obj.sawRV || k == "resourceVersion"
		}
	}
	if c.fields == nil {
		return jsonCtx{}, false
	}
	sub, keep := c.fields.Field(k)
	return jsonCtx{fields: sub}, !keep
}

func (r *jsonReader) array(depth int, c jsonCtx) (*Node, error) {
	record := r.itemsNext
	// The elements share the array's fields; an array of objects (the
	// stream's, or a List's items) holds an object in each.
	elem := jsonCtx{fields: c.fields}
	switch c.role {
	case roleStreamValue:
		elem = jsonCtx{role: roleObject}
	case roleObject:
		elem = c
	}
	r.itemsNext = false
	r.i++
	n := r.node(Seq, "")
	r.space()
	if r.i < len(r.s) && r.s[r.i] == ']' {
		r.i++
		return n, nil
	}
	mark := r.mem.mark()
	if err := r.elements(depth, elem, record, mark); err != nil {
		return nil, err
	}
	_, n.Children = r.mem.pop(mark, false)
	return n, nil
}

// elements reads an array's elements, from its first to its ']', onto the
// memory's stack above mark.
func (r *jsonReader) elements(depth int, elem jsonCtx, record bool, mark int) error {
	for {
		r.space()
		start := r.i
		r.at = append(r.at, pathStep{index: r.mem.mark() - mark})
		ec := elem
		if ec.role == roleObject {
			o := *elem.objectTemplate()
			ec.obj = &o
		}
		v, err := r.value(depth+1, ec)
		r.at = r.at[:len(r.at)-1]
		if err != nil {
			return err
		}
		if record {
			r.items = append(r.items, [2]int{start, r.i})
		}
		r.mem.push("", v)
		if err := r.next(']'); err != nil {
			if err == errEnd {
				return nil
			}
			return err
		}
	}
}

// objectTemplate returns the object template of an element context (a List's
// apiVersion and item kind), or an empty one.
func (c jsonCtx) objectTemplate() *jsonObj {
	if c.obj == nil {
		return &jsonObj{}
	}
	return c.obj
}

func (r *jsonReader) number() (*Node, error) {
	start := r.i
	if r.s[r.i] == '-' {
		r.i++
	}
	digits := func() int {
		s := r.i
		for r.i < len(r.s) && r.s[r.i] >= '0' && r.s[r.i] <= '9' {
			r.i++
		}
		return r.i - s
	}
	if r.i < len(r.s) && r.s[r.i] == '0' {
		r.i++
	} else if digits() == 0 {
		return nil, r.errorf("invalid number")
	}
	kind := Int
	if r.i < len(r.s) && r.s[r.i] == '.' {
		r.i++
		if digits() == 0 {
			return nil, r.errorf("invalid number")
		}
		kind = Float
	}
	if r.i < len(r.s) && (r.s[r.i] == 'e' || r.s[r.i] == 'E') {
		r.i++
		if r.i < len(r.s) && (r.s[r.i] == '+' || r.s[r.i] == '-') {
			r.i++
		}
		if digits() == 0 {
			return nil, r.errorf("invalid number")
		}
		kind = Float
	}
	return r.node(kind, r.s[start:r.i]), nil
}

var errBadEscape = errors.New("invalid escape")

// str reads a string; invalid UTF-8 becomes U+FFFD, as in encoding/json.
func (r *jsonReader) str() (string, error) {
	r.i++
	start := r.i
	end, nonASCII := plainRun(r.s, r.i)
	if end < len(r.s) && r.s[end] == '"' { // no escapes: the input's own bytes
		r.i = end + 1
		return checkedUTF8(r.s[start:end], nonASCII), nil
	}
	// Escapes: the plain runs between them are copied whole.
	var b strings.Builder
	for {
		b.WriteString(r.s[r.i:end])
		r.i = end
		if r.i >= len(r.s) {
			return "", r.errorf("unterminated string")
		}
		switch c := r.s[r.i]; {
		case c == '"':
			r.i++
			return checkedUTF8(b.String(), nonASCII), nil
		case c < 0x20:
			return "", r.errorf("control character in string")
		}
		// A backslash.
		if r.i+1 >= len(r.s) {
			return "", r.errorf("unterminated string")
		}
		r.i++
		switch e := r.s[r.i]; e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			ru, ok := r.hex4(r.i + 1)
			if !ok {
				return "", r.errorf("%v", errBadEscape)
			}
			r.i += 4
			if utf16.IsSurrogate(ru) {
				if lo, ok := r.hex4(r.i + 3); ok && strings.HasPrefix(r.s[r.i+1:], `\u`) {
					if dec := utf16.DecodeRune(ru, lo); dec != utf8.RuneError {
						ru = dec
						r.i += 6
					} else {
						ru = utf8.RuneError
					}
				} else {
					ru = utf8.RuneError
				}
			}
			b.WriteRune(ru)
		default:
			return "", r.errorf("%v", errBadEscape)
		}
		r.i++
		var more bool
		end, more = plainRun(r.s, r.i)
		nonASCII = nonASCII || more
	}
}

// checkedUTF8 returns s, or s with each byte of an invalid sequence made
// U+FFFD when it has bytes beyond ASCII (nonASCII) and is not valid UTF-8.
func checkedUTF8(s string, nonASCII bool) string {
	if !nonASCII || utf8.ValidString(s) {
		return s
	}
	return validUTF8(s)
}

func (r *jsonReader) hex4(at int) (rune, bool) {
	if at+4 > len(r.s) {
		return 0, false
	}
	v, err := strconv.ParseUint(r.s[at:at+4], 16, 32)
	if err != nil {
		return 0, false
	}
	return rune(v), true
}

// validUTF8 replaces each byte of an invalid sequence with U+FFFD, as
// encoding/json does.
func validUTF8(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString("\uFFFD")
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
