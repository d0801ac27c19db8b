package yamltree

import (
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// line is one line of a document. indent counts leading spaces; text is
// the rest, without the line break. For a sequence item the parser rewrites
// a line in place ("- key: v" at 2 becomes "key: v" at 4).
type line struct {
	text   string
	indent int32
	offset int32 // of the line's first byte in the document
	seqCol int32 // column of a "- " item marker (its original indent)
	blank  bool  // empty, spaces only, or a comment only
}

// maxYAMLDepth bounds nesting: deeper documents go to goyaml, which has
// its own limit, instead of growing this reader's stack without bound.
const maxYAMLDepth = 512

type parser struct {
	size  int // of the document, in bytes
	depth int
	// skip, objLevel, objMark and topKey implement Parser.Skip: objLevel
	// is the depth of the object's root mapping (0 outside one), objMark
	// where its entries start on the stack, topKey the root key whose value
	// is being read.
	skip  SkipFunc
	prune PruneFunc
	// fields names what to build of the mapping being read (nil: all);
	// sawUID and sawRV record the object's server-set metadata so far.
	fields        Fields
	sawUID, sawRV bool
	rootSeq       bool
	objLevel      int
	objMark       int
	topKey        string
	lines         []line
	// openEnd is true when the document does not end with a line break.
	openEnd bool
	pos     int
	mem     *memory
	res     resolver
	memo    Memo
	hashBuf []byte      // reused by spanHash
	body    []blockLine // reused by blockScalar
}

// Parser reads documents, reusing its memory from one document to the
// next: a tree it returns is valid until its next call. It is not safe for
// concurrent use; use one per goroutine.
type Parser struct {
	p   parser
	mem memory
	own Stream // ParseYAML's document, scanned
	// Skip, when set, is asked about every field of an object's root
	// mapping (top "", key) and of the mappings directly below it (top,
	// key), where the object is the document's root mapping or an item of
	// its root sequence. A field it skips is left out of the tree as if it
	// were not written: its lines are passed over unread, so nothing below
	// it is checked either. apiVersion and kind are those written before
	// the field ("" when not yet seen).
	Skip SkipFunc
	// Prune, when set, is asked about every field of an object's root
	// mapping that Skip keeps: of the value, only the Fields it returns are
	// built (nil: all of it); the rest is passed over unread like a skipped
	// field, at any depth (a sequence's items share its Fields). served
	// tells whether the object's metadata, read before the field, holds a
	// uid and a resourceVersion: an object an API server returned.
	Prune PruneFunc
	// Memo, when set, lets the parser pass over values it already read:
	// see memo.go. Only values below fields a Prune returned can be
	// memoized, where their Fields name a memo scope.
	Memo Memo
}

// SkipFunc decides whether a field of an object is read; see Parser.Skip.
type SkipFunc func(apiVersion, kind, top, key string) bool

// PruneFunc decides which parts of an object's field are read; see
// Parser.Prune.
type PruneFunc func(apiVersion, kind, key string, served bool) Fields

// Fields is a trie of the fields to build below a field.
type Fields interface {
	// Field tells whether field key is built and, if so, which of its own
	// fields (nil: all).
	Field(key string) (sub Fields, keep bool)
}

// NewParser returns a Parser.
func NewParser() *Parser { return &Parser{} }

// ItemSpan returns the bytes [start, end) of the document just parsed that
// hold the sequence item starting on line (a Node's Line): from its "- "
// line to the next line indented no deeper than the "- ". Loaders use it to
// locate fields of one List item without re-reading the whole List.
func (ps *Parser) ItemSpan(line int) (start, end int, ok bool) {
	p := &ps.p
	i := line - 1
	if i < 0 || i >= len(p.lines) {
		return 0, 0, false
	}
	col := int(p.lines[i].seqCol)
	start, end = int(p.lines[i].offset), p.size
	for j := i + 1; j < len(p.lines); j++ {
		if !p.lines[j].blank && int(p.lines[j].seqCol) <= col {
			end = int(p.lines[j].offset)
			break
		}
	}
	return start, end, true
}

// ParseYAML reads one YAML document (no `---` markers) written in block
// style, with flow collections and quoted scalars on one line, block
// scalars, and comments. It returns ErrUnsupported for anything else.
// The tree is the caller's.
func ParseYAML(doc []byte) (*Node, error) {
	return NewParser().ParseYAML(append([]byte(nil), doc...))
}

// ParseYAML is the package function on reused memory. The tree's strings
// share doc's bytes: doc must not change while the tree is in use.
func (ps *Parser) ParseYAML(doc []byte) (*Node, error) {
	if err := ps.own.Scan(doc); err != nil {
		return nil, ErrUnsupported
	}
	return ps.ParseDoc(&ps.own, 0, len(doc), 1)
}

// ParseDoc is ParseYAML for the document s.Data[start:end] of a scanned
// stream, which begins at the start of the stream's 1-based line `line`:
// its lines are not searched for again. Node lines count from the
// document's first line, as with ParseYAML.
func (ps *Parser) ParseDoc(s *Stream, start, end, line int) (*Node, error) {
	doc := s.Data[start:end]
	if !s.Readable {
		// Some of the stream is not; this document may be.
		if s == &ps.own {
			return nil, ErrUnsupported
		}
		return ps.ParseYAML(doc)
	}
	ps.mem.reset()
	ps.p = parser{lines: ps.p.lines[:0], mem: &ps.mem, skip: ps.Skip, prune: ps.Prune, memo: ps.Memo, hashBuf: ps.p.hashBuf, body: ps.p.body}
	p := &ps.p
	if err := p.split(doc, start, s.Ends[line-1:]); err != nil {
		return nil, err
	}
	p.skipBlank()
	if p.pos == len(p.lines) {
		return p.node(Null, ""), nil
	}
	p.rootSeq = isSeqItem(p.lines[p.pos].text)
	n, err := p.block(int(p.lines[p.pos].indent), -1)
	if err != nil {
		return nil, err
	}
	p.skipBlank()
	if p.pos != len(p.lines) {
		return nil, ErrUnsupported
	}
	return n, nil
}

// asciiOK marks the ASCII bytes YAML accepts anywhere: tab, line feed and
// the printable range.
var asciiOK = func() (t [256]bool) {
	t['\t'], t['\n'] = true, true
	for c := 0x20; c < 0x7f; c++ {
		t[c] = true
	}
	return t
}()

// split records doc's lines. doc starts at offset start of its stream, and
// ends holds the stream's line feeds from doc's first line on.
func (p *parser) split(doc []byte, start int, ends []int32) error {
	s := unsafe.String(unsafe.SliceData(doc), len(doc))
	p.openEnd = len(s) > 0 && s[len(s)-1] != '\n'
	p.size = len(s)
	off := 0
	for _, e := range ends {
		end := int(e) - start
		if end >= len(s) {
			break
		}
		if err := p.addLine(s[off:end], off); err != nil {
			return err
		}
		off = end + 1
	}
	if off < len(s) {
		return p.addLine(s[off:], off) // no line feed at the end
	}
	return nil
}

// addLine records the line ln, without its line feed, at offset.
func (p *parser) addLine(ln string, offset int) error {
	if len(ln) > 0 && ln[len(ln)-1] == '\r' {
		ln = ln[:len(ln)-1]
	}
	ind := leadingSpaces(ln)
	rest := ln[ind:]
	blank := rest == "" || rest[0] == '#'
	if rest != "" && rest[0] == '\t' {
		return ErrUnsupported // tabs in indentation, even on blank lines
	}
	if !blank && ind == 0 && (strings.HasPrefix(rest, "---") || strings.HasPrefix(rest, "...") || rest[0] == '%') {
		return ErrUnsupported // markers and directives are the splitter's job
	}
	// Filled in place rather than appended as a composite literal:
	// this runs for every line of every document.
	if len(p.lines) == cap(p.lines) {
		p.lines = append(p.lines, line{})[:len(p.lines)] // grow
	}
	p.lines = p.lines[:len(p.lines)+1]
	l := &p.lines[len(p.lines)-1]
	l.text, l.indent, l.offset, l.seqCol, l.blank = rest, int32(ind), int32(offset), int32(ind), blank
	return nil
}

// leadingSpaces counts the spaces that start ln.
func leadingSpaces(ln string) int { return pastSpaces(ln, 0) }

// node allocates a node and records the (1-based) line it starts on.
func (p *parser) node(k Kind, text string) *Node {
	n := p.mem.node(k, text)
	n.Line = p.pos + 1
	return n
}

func (p *parser) skipBlank() {
	for p.pos < len(p.lines) && p.lines[p.pos].blank {
		p.pos++
	}
}

// nextIndent returns the indent of the next non-blank line, or -1 at the end.
func (p *parser) nextIndent() int {
	p.skipBlank()
	if p.pos == len(p.lines) {
		return -1
	}
	return int(p.lines[p.pos].indent)
}

func isSeqItem(t string) bool { return t == "-" || strings.HasPrefix(t, "- ") }

// block parses the node starting at the current line, whose indent is ind.
// parent is the indent of the enclosing collection (-1 at the top): a line
// indented deeper than it that nothing consumes means YAML this reader does
// not handle, such as a multi-line plain scalar.
func (p *parser) block(ind, parent int) (*Node, error) {
	if p.depth++; p.depth > maxYAMLDepth {
		return nil, ErrUnsupported
	}
	defer func() { p.depth-- }()
	t := p.lines[p.pos].text
	if isSeqItem(t) {
		return p.seq(ind)
	}
	if _, _, ok, err := splitKey(t); err != nil {
		return nil, err
	} else if ok {
		return p.mapping(ind)
	}
	return p.scalarLine(parent)
}

func (p *parser) seq(ind int) (*Node, error) {
	n := p.node(Seq, "")
	mark := p.mem.mark()
	for p.nextIndent() == ind && isSeqItem(p.lines[p.pos].text) {
		ln := &p.lines[p.pos]
		rest := ln.text[1:]
		k := 0
		for k < len(rest) && rest[k] == ' ' {
			k++
		}
		rest = rest[k:]
		var child *Node
		var err error
		if rest == "" || rest[0] == '#' {
			p.pos++
			if ni := p.nextIndent(); ni > ind {
				child, err = p.block(ni, ind)
			} else {
				child = p.node(Null, "")
			}
		} else {
			if rest[0] == '\t' {
				return nil, ErrUnsupported
			}
			ln.indent, ln.text = int32(ind+1+k), rest
			if isSeqItem(rest) || hasKey(rest) {
				child, err = p.block(int(ln.indent), ind)
			} else {
				child, err = p.scalarLine(ind)
			}
		}
		if err != nil {
			return nil, err
		}
		p.mem.push("", child)
	}
	if ni := p.nextIndent(); ni > ind {
		return nil, ErrUnsupported
	}
	_, n.Children = p.mem.pop(mark, false)
	return n, nil
}

func hasKey(t string) bool {
	_, _, ok, _ := splitKey(t)
	return ok
}

// dup tells whether key is already in keys; it indexes large maps.
func dup(keys []string, key string, seen *map[string]bool) bool {
	if len(keys) < 16 {
		for _, k := range keys {
			if k == key {
				return true
			}
		}
		return false
	}
	if *seen == nil {
		*seen = make(map[string]bool, 2*len(keys))
		for _, k := range keys {
			(*seen)[k] = true
		}
	}
	if (*seen)[key] {
		return true
	}
	(*seen)[key] = true
	return false
}

func (p *parser) mapping(ind int) (*Node, error) {
	n := p.node(Map, "")
	var seen map[string]bool
	mark := p.mem.mark()
	saved, fields := p.fields, p.fields
	defer func() { p.fields = saved }()
	// Where this mapping sits relative to its object, for Skip and Prune.
	level := 0 // 1: the object's root, 2: the value of one of its keys
	if p.skip != nil || p.prune != nil {
		switch {
		case p.objLevel == 0 && (p.depth == 1 || p.depth == 2 && p.rootSeq):
			p.objLevel, p.objMark, level = p.depth, mark, 1
			p.sawUID, p.sawRV, fields = false, false, nil
			defer func() { p.objLevel = 0 }()
		case p.objLevel > 0 && p.depth == p.objLevel+1:
			level = 2
		}
	}
	for p.nextIndent() == ind {
		t := p.lines[p.pos].text
		if isSeqItem(t) {
			return nil, ErrUnsupported
		}
		key, rest, ok, err := splitKey(t)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, ErrUnsupported
		}
		if dup(p.mem.keysSince(mark), key, &seen) {
			return nil, ErrUnsupported // repeated key: the strict reader reports it
		}
		p.fields = nil
		if level > 0 {
			top := ""
			end := len(p.mem.stackK)
			if level == 1 {
				p.topKey = key
			} else {
				top, end = p.topKey, mark
			}
			av, kind := p.objectType(end)
			if p.skip != nil && p.skip(av, kind, top, key) {
				p.skipValue(ind, rest)
				continue
			}
			if level == 1 && p.prune != nil {
				p.fields = p.prune(av, kind, key, p.sawUID && p.sawRV)
			}
			if level == 2 && top == "metadata" && rest != "" && rest[0] != '#' {
				p.sawUID = p.sawUID || key == "uid"
				p.sawRV = p.sawRV || key == "resourceVersion"
			}
		}
		if fields != nil {
			sub, keep := fields.Field(key)
			if !keep {
				p.skipValue(ind, rest)
				continue
			}
			p.fields = sub
		}
		var child *Node
		switch {
		case rest == "" || rest[0] == '#':
			memoized := false
			if scope := p.memoScope(fields, key); scope != nil {
				child, memoized, err = p.memoValue(ind, scope)
			}
			if !memoized {
				child, err = p.nestedValue(ind)
			}
		case rest[0] == '|' || rest[0] == '>':
			child, err = p.blockScalar(rest, ind)
		default:
			p.lines[p.pos].text = rest
			child, err = p.scalarLine(ind)
		}
		if err != nil {
			return nil, err
		}
		p.mem.push(key, child)
	}
	if ni := p.nextIndent(); ni > ind {
		return nil, ErrUnsupported
	}
	n.Keys, n.Children = p.mem.pop(mark, true)
	return n, nil
}

// nestedValue reads the value of the key on the current line (at indent
// ind) that starts on the next line.
func (p *parser) nestedValue(ind int) (*Node, error) {
	p.pos++
	switch ni := p.nextIndent(); {
	case ni > ind:
		return p.block(ni, ind)
	case ni == ind && isSeqItem(p.lines[p.pos].text):
		return p.seq(ind)
	}
	return p.node(Null, ""), nil
}

// memoScope returns the memo scope of field key of the mapping read with
// fields, or nil: only with a Memo, and only for a field read whole.
func (p *parser) memoScope(fields Fields, key string) any {
	return memoScopeOf(p.memo, fields, p.fields, key)
}

// objectType returns the apiVersion and kind the object's root mapping
// holds so far; its entries are the stack's from objMark to end.
func (p *parser) objectType(end int) (apiVersion, kind string) {
	for i := p.objMark; i < end; i++ {
		switch p.mem.stackK[i] {
		case "apiVersion":
			apiVersion = p.mem.stackN[i].Text
		case "kind":
			kind = p.mem.stackN[i].Text
		}
	}
	return apiVersion, kind
}

// skipValue passes over the field on the current line, at indent ind,
// whose value starts with rest: its continuation and nested lines are the
// ones indented deeper, and, for a value on the next lines, a sequence
// may also sit at the key's own indent.
func (p *parser) skipValue(ind int, rest string) {
	nested := rest == "" || rest[0] == '#'
	for p.pos++; p.pos < len(p.lines); p.pos++ {
		ln := &p.lines[p.pos]
		if !ln.blank && int(ln.indent) <= ind && !(nested && int(ln.indent) == ind && isSeqItem(ln.text)) {
			return
		}
	}
}

// scalarLine parses a value that is the whole rest of the current line
// and checks that nothing continues it on the next lines.
func (p *parser) scalarLine(parent int) (*Node, error) {
	t := p.lines[p.pos].text
	if t[0] == '|' || t[0] == '>' {
		return p.blockScalar(t, parent)
	}
	n, err := p.inline(t)
	if err != nil {
		return nil, err
	}
	p.pos++
	if ni := p.nextIndent(); ni > parent {
		return nil, ErrUnsupported // a continuation line
	}
	return n, nil
}

// splitKey recognises "key: rest" and "key:" (plain or quoted key). ok is
// false for a line that is not a mapping entry; err is ErrUnsupported for
// keys this reader does not handle.
func splitKey(t string) (key, rest string, ok bool, err error) {
	key, rest, ok, err = splitKeyAny(t)
	if ok && len(t)-len(rest) > 1024 {
		// YAML limits implicit keys to 1024 characters; goyaml enforces it.
		return "", "", false, ErrUnsupported
	}
	return key, rest, ok, err
}

func splitKeyAny(t string) (key, rest string, ok bool, err error) {
	if t == "" {
		return "", "", false, nil
	}
	switch t[0] {
	case '"', '\'':
		k, n, qerr := quoted(t)
		if qerr != nil {
			return "", "", false, qerr
		}
		after := strings.TrimLeft(t[n:], " ")
		if !strings.HasPrefix(after, ":") {
			return "", "", false, nil
		}
		after = after[1:]
		if after != "" && after[0] != ' ' {
			return "", "", false, ErrUnsupported
		}
		return k, strings.TrimLeft(after, " "), true, nil
	case '?', '&', '*', '!', '[', '{', '|', '>', '%', '@', '`':
		if t[0] == '[' || t[0] == '{' {
			if i := strings.IndexByte(t, ':'); i < 0 {
				return "", "", false, nil // a flow value, not a key
			}
		}
		return "", "", false, ErrUnsupported
	}
	for i := 0; ; i++ {
		for i < len(t) && !keyStop[t[i]] {
			i++
		}
		if i == len(t) {
			return "", "", false, nil
		}
		switch t[i] {
		case ':':
			if i+1 == len(t) || t[i+1] == ' ' {
				j := i
				for j > 0 && t[j-1] == ' ' {
					j--
				}
				k := t[:j]
				// A key of six or more characters starting with a letter is
				// a string whatever follows: every plain scalar YAML 1.1
				// resolves otherwise is shorter or starts with a sign, a
				// digit, a dot or an indicator. Most keys are such.
				if !(len(k) > 5 && asciiLetter(k[0])) {
					if k == "" || !plainStartOK(k) {
						return "", "", false, ErrUnsupported
					}
					if kind, _ := resolveFast(k); kind != String {
						return "", "", false, ErrUnsupported // "<<" included
					}
				}
				r := i + 1
				for r < len(t) && t[r] == ' ' {
					r++
				}
				return k, t[r:], true, nil
			}
		case '#':
			if i > 0 && t[i-1] == ' ' {
				return "", "", false, nil
			}
		case '\t':
			return "", "", false, ErrUnsupported
		}
	}
}

// keyStop marks the bytes splitKeyAny stops at in a plain key.
var keyStop = [256]bool{':': true, '#': true, '\t': true}

func asciiLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// inline parses a single-line value: quoted, flow or plain scalar.
func (p *parser) inline(t string) (*Node, error) {
	switch t[0] {
	case '"', '\'':
		v, n, err := quoted(t)
		if err != nil {
			return nil, err
		}
		if !onlyComment(t[n:]) {
			return nil, ErrUnsupported
		}
		return p.node(String, v), nil
	case '{', '[':
		f := &flow{p: p, s: t}
		n, err := f.value()
		if err != nil {
			return nil, err
		}
		if !onlyComment(t[f.i:]) {
			return nil, ErrUnsupported
		}
		return n, nil
	case '&', '*', '!', '%', '@', '`', '|', '>', '?', '\t':
		return nil, ErrUnsupported
	}
	v, ok := plainText(t)
	if !ok {
		return nil, ErrUnsupported
	}
	return p.plain(v)
}

// plainStartOK applies YAML's rule for a plain scalar's first character:
// never an indicator, and - ? : only when followed by a non-space.
func plainStartOK(v string) bool {
	if v == "" {
		return false
	}
	switch v[0] {
	case ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
		return false
	case '-', '?', ':':
		return len(v) > 1 && v[1] != ' ' && v[1] != '\t'
	}
	return true
}

func (p *parser) plain(v string) (*Node, error) {
	if !plainStartOK(v) {
		return nil, ErrUnsupported
	}
	kind, text := resolveFast(v)
	if kind == 0 {
		var err error
		kind, text, err = p.res.slow(v)
		if err != nil {
			return nil, err
		}
	}
	return p.node(kind, text), nil
}

// plainText is a plain scalar's line without its comment and trailing
// blanks. ok is false when that text holds ": " or a tab, or ends with
// ':' — YAML this reader leaves to goyaml. One pass over the line.
func plainText(t string) (v string, ok bool) {
	end, tab := len(t), -1
	for i := 0; i < len(t); i++ {
		switch plainStop[t[i]] {
		case '#':
			if i > 0 && (t[i-1] == ' ' || t[i-1] == '\t') {
				end = i
				i = len(t) // the comment: nothing after it counts
			}
		case ':':
			// Followed by a blank, the colon is either inside the text
			// (": ", or a tab there) or ends it once blanks are trimmed.
			if i+1 == len(t) || t[i+1] == ' ' || t[i+1] == '\t' {
				return "", false
			}
		case '\t':
			if tab < 0 {
				tab = i
			}
		}
	}
	for end > 0 && (t[end-1] == ' ' || t[end-1] == '\t') {
		end--
	}
	if tab >= 0 && tab < end {
		return "", false
	}
	return t[:end], true
}

// plainStop marks the bytes plainText looks at.
var plainStop = [256]byte{'#': '#', ':': ':', '\t': '\t'}

func onlyComment(t string) bool {
	t = strings.TrimLeft(t, " \t")
	return t == "" || t[0] == '#'
}

// quoted reads a single- or double-quoted scalar that must end on this
// line; n is the number of bytes consumed.
func quoted(t string) (string, int, error) {
	q := t[0]
	// Most quoted scalars have no escapes: return a slice of the line.
	for i := 1; i < len(t); i++ {
		c := t[i]
		if c == q {
			if q == '\'' && i+1 < len(t) && t[i+1] == '\'' {
				break
			}
			return t[1:i], i + 1, nil
		}
		if c == '\\' && q == '"' {
			break
		}
	}
	var b strings.Builder

	for i := 1; i < len(t); i++ {
		c := t[i]
		if q == '\'' {
			if c == '\'' {
				if i+1 < len(t) && t[i+1] == '\'' {
					b.WriteByte('\'')
					i++
					continue
				}
				return b.String(), i + 1, nil
			}
			b.WriteByte(c)
			continue
		}
		switch c {
		case '"':
			return b.String(), i + 1, nil
		case '\\':
			if i+1 == len(t) {
				return "", 0, ErrUnsupported
			}
			i++
			if n, ok := escape(t[i:], &b); ok {
				i += n - 1
				continue
			}
			return "", 0, ErrUnsupported
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, ErrUnsupported // continues on the next line
}

// simpleEscapes are goyaml v2's one-character escapes (it has no "\/").
var simpleEscapes = [256]string{'0': "\x00", 'a': "\a", 'b': "\b", 't': "\t", '\t': "\t", 'n': "\n", 'v': "\v",
	'f': "\f", 'r': "\r", 'e': "\x1b", ' ': " ", '"': "\"", '\'': "'", '\\': "\\",
	'N': "\u0085", '_': "\u00a0", 'L': "\u2028", 'P': "\u2029"}

// escape decodes one double-quoted escape (after the backslash) into b and
// returns how many bytes it used.
func escape(s string, b *strings.Builder) (int, bool) {
	if v := simpleEscapes[s[0]]; v != "" {
		b.WriteString(v)
		return 1, true
	}
	width := 0
	switch s[0] {
	case 'x':
		width = 2
	case 'u':
		width = 4
	case 'U':
		width = 8
	}
	if width == 0 || len(s) < 1+width {
		return 0, false
	}
	r, err := strconv.ParseUint(s[1:1+width], 16, 32)
	if err != nil || !utf8.ValidRune(rune(r)) {
		return 0, false
	}
	b.WriteRune(rune(r))
	return 1 + width, true
}

// blockScalar reads a literal (|) or folded (>) scalar whose header is hdr
// and whose content lines are indented deeper than parent.
func (p *parser) blockScalar(hdr string, parent int) (*Node, error) {
	style := hdr[0]
	chomp := byte(0)
	rest := hdr[1:]
	if rest != "" && (rest[0] == '-' || rest[0] == '+') {
		chomp, rest = rest[0], rest[1:]
	}
	if !onlyComment(rest) || (rest != "" && rest[0] != ' ' && rest[0] != '#') {
		return nil, ErrUnsupported // indentation indicators and the like
	}
	p.pos++
	// Content indent: that of the first non-empty line.
	ci := -1
	for j := p.pos; j < len(p.lines); j++ {
		ln := p.lines[j]
		if ln.text == "" {
			continue
		}
		ci = int(ln.indent)
		break
	}
	// The content lines, each as its extra indentation and text, in a
	// buffer reused from one scalar to the next.
	body := p.body[:0]
	defer func() { clear(body); p.body = body[:0] }()
	if ci > parent {
		for p.pos < len(p.lines) {
			ln := p.lines[p.pos]
			if ln.text == "" { // spaces only (comment lines are content)
				body = append(body, blockLine{pad: max(0, int(ln.indent)-ci)})
				p.pos++
				continue
			}
			if int(ln.indent) < ci {
				if int(ln.indent) > parent {
					return nil, ErrUnsupported
				}
				break
			}
			if ln.text[0] == '\t' && int(ln.indent) == ci && style == '>' {
				return nil, ErrUnsupported
			}
			body = append(body, blockLine{pad: int(ln.indent) - ci, text: ln.text})
			p.pos++
		}
	} else {
		// No content: consume the empty lines that belong to the scalar.
		for p.pos < len(p.lines) && p.lines[p.pos].text == "" {
			body = append(body, blockLine{})
			p.pos++
		}
	}
	if p.pos == len(p.lines) && p.openEnd && chomp != '-' {
		return nil, ErrUnsupported // whether a final break exists decides the value
	}
	// Trailing empty lines are subject to chomping.
	trail := 0
	for trail < len(body) && body[len(body)-1-trail].empty() {
		trail++
	}
	content := body[:len(body)-trail]
	breaks := 0 // line breaks after the content
	switch chomp {
	case '-':
	case '+':
		if len(content) > 0 {
			breaks++
		}
		breaks += trail
	default:
		if len(content) > 0 {
			breaks++
		}
	}
	var v string
	if style == '|' {
		v = p.mem.literal(content, breaks)
	} else {
		var err error
		if v, err = p.mem.folded(content, breaks); err != nil {
			return nil, err
		}
	}
	// Blank lines consumed after the scalar are not content of anything else.
	return p.node(String, v), nil
}

// flow parses one-line flow collections: {a: 1, b: [x, "y"]}.
type flow struct {
	p *parser
	s string
	i int
}

func (f *flow) space() {
	for f.i < len(f.s) && f.s[f.i] == ' ' {
		f.i++
	}
}

func (f *flow) value() (*Node, error) {
	f.space()
	if f.i >= len(f.s) {
		return nil, ErrUnsupported
	}
	switch f.s[f.i] {
	case '{':
		return f.collection('}')
	case '[':
		return f.collection(']')
	case '"', '\'':
		v, n, err := quoted(f.s[f.i:])
		if err != nil {
			return nil, err
		}
		f.i += n
		return f.p.node(String, v), nil
	case '&', '*', '!', '%', '@', '`', '|', '>', '?', '#', ',', ':', '-':
		if f.s[f.i] == '-' && f.i+1 < len(f.s) && f.s[f.i+1] != ' ' {
			break // -1, -x: a plain scalar
		}
		return nil, ErrUnsupported
	}
	start := f.i
	for f.i < len(f.s) {
		c := f.s[f.i]
		if c == ',' || c == ']' || c == '}' || c == '[' || c == '{' || c == '#' && f.s[f.i-1] == ' ' {
			break
		}
		if c == ':' && f.i+1 < len(f.s) && f.s[f.i+1] == ' ' {
			break
		}
		if c == ':' && (f.i+1 == len(f.s) || strings.IndexByte(",]}", f.s[f.i+1]) >= 0) {
			return nil, ErrUnsupported // goyaml and YAML 1.2 disagree here
		}
		f.i++
	}
	v := strings.TrimRight(f.s[start:f.i], " ")
	if v == "" || !flowPlainOK(v) {
		return nil, ErrUnsupported
	}
	return f.p.plain(v)
}

func (f *flow) collection(end byte) (*Node, error) {
	if f.p.depth++; f.p.depth > maxYAMLDepth {
		return nil, ErrUnsupported
	}
	defer func() { f.p.depth-- }()
	f.i++
	kind := Seq
	if end == '}' {
		kind = Map
	}
	n := f.p.node(kind, "")
	for first := true; ; first = false {
		f.space()
		if f.i >= len(f.s) {
			return nil, ErrUnsupported // spans lines
		}
		if f.s[f.i] == end {
			f.i++
			return n, nil
		}
		if !first {
			if f.s[f.i] != ',' {
				return nil, ErrUnsupported
			}
			f.i++
			f.space()
			if f.i < len(f.s) && f.s[f.i] == end {
				f.i++
				return n, nil
			}
		}
		item, err := f.value()
		if err != nil {
			return nil, err
		}
		f.space()
		if kind == Seq {
			if f.i < len(f.s) && f.s[f.i] == ':' {
				return nil, ErrUnsupported // single-pair mappings in sequences
			}
			n.Children = append(n.Children, item)
			continue
		}
		if item.Kind != String {
			return nil, ErrUnsupported
		}
		for _, k := range n.Keys {
			if k == item.Text {
				return nil, ErrUnsupported
			}
		}
		var val *Node
		if f.i < len(f.s) && f.s[f.i] == ':' {
			f.i++
			f.space()
			if f.i < len(f.s) && (f.s[f.i] == ',' || f.s[f.i] == end) {
				val = f.p.node(Null, "")
			} else if val, err = f.value(); err != nil {
				return nil, err
			}
		} else {
			val = f.p.node(Null, "")
		}
		n.Keys = append(n.Keys, item.Text)
		n.Children = append(n.Children, val)
	}
}

// flowPlainOK keeps plain scalars inside flow collections to the simple
// ones people write ({app: web}, [80, 443], {image: web:1}); goyaml's
// handling of indicators inside flow scalars has corners best left to
// goyaml itself. (A colon is part of the scalar only when value has not
// stopped at it: followed by a space, a flow indicator or the line's end.)
func flowPlainOK(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(" ._/=+-:", c) >= 0) {
			return false
		}
	}
	return true
}
