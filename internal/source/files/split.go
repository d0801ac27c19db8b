package files

import (
	"bytes"

	"github.com/meshdoctor/meshdoctor/internal/yamltree"
)

// span is one document of a stream: its bytes are data[start:end], its first
// byte is on line `line` (1-based) and column `col`, and its first line with
// content is contentLine (0 for a document with no content).
type span struct {
	start, end  int
	line, col   int
	contentLine int
	// list is set when a line at column 0 reads `kind: List`.
	list bool
}

// splitYAML cuts a scanned YAML stream at `---` and `...` marker lines,
// keeping line numbers. A marker with content after it (`--- {a: 1}`)
// stays part of its document, which YAML allows. Empty and comment-only
// documents are dropped. The spans are appended to out.
func splitYAML(st *yamltree.Stream, out []span) []span {
	data := st.Data
	cur := span{start: 0, line: 1, col: 1}
	flush := func(end int) {
		cur.end = end
		if cur.contentLine > 0 {
			out = append(out, cur)
		}
	}
	for line, off := 1, 0; off < len(data); line++ {
		next := nextLine(st, line)
		// Only lines starting with '-' or '.' can be markers, content
		// matters only until the document's first content line, and only
		// a line starting with 'k' can say `kind: List`: most lines need
		// no more than a look at their first byte.
		if c := data[off]; c == '-' || c == '.' || c == 'k' || cur.contentLine == 0 {
			ln := trimEOL(data[off:next])
			switch {
			case isMarker(ln, "---"):
				flush(off)
				rest := bytes.TrimSpace(ln[3:])
				if len(rest) > 0 && rest[0] != '#' {
					cur = span{start: off, line: line, col: 1, contentLine: line}
				} else {
					cur = span{start: next, line: line + 1, col: 1}
				}
			case isMarker(ln, "..."):
				flush(off)
				cur = span{start: next, line: line + 1, col: 1}
			default:
				if cur.contentLine == 0 && hasContent(ln) {
					cur.contentLine = line
				}
				if c == 'k' && string(bytes.TrimRight(ln, " ")) == "kind: List" {
					cur.list = true
				}
			}
		}
		off = next
	}
	flush(len(data))
	return out
}

// nextLine returns the offset of the line after the 1-based line n.
func nextLine(st *yamltree.Stream, n int) int {
	if n-1 < len(st.Ends) {
		return int(st.Ends[n-1]) + 1
	}
	return len(st.Data)
}

// trimEOL drops a line's trailing line-break bytes.
func trimEOL(ln []byte) []byte {
	for len(ln) > 0 && (ln[len(ln)-1] == '\n' || ln[len(ln)-1] == '\r') {
		ln = ln[:len(ln)-1]
	}
	return ln
}

func isMarker(ln []byte, m string) bool {
	if !bytes.HasPrefix(ln, []byte(m)) {
		return false
	}
	return len(ln) == 3 || ln[3] == ' ' || ln[3] == '\t'
}

func hasContent(ln []byte) bool {
	t := bytes.TrimSpace(ln)
	return len(t) > 0 && t[0] != '#' && !(t[0] == '%' && len(ln) > 0 && ln[0] == '%')
}

// looksLikeJSON tells whether a stream is JSON rather than YAML: its first
// significant byte opens an object or array.
func looksLikeJSON(data []byte) bool {
	t := bytes.TrimLeft(data, " \t\r\n")
	return len(t) > 0 && (t[0] == '{' || t[0] == '[')
}

// splitList cuts a `kind: List` document (what `kubectl get -o yaml`
// prints) into one span per item, so a dump of a whole cluster is read item
// by item instead of as one huge document. Each span starts at its "- "
// line and reads as a one-item sequence. ok is false when the document is
// not laid out that way; it is then read whole.
func splitList(st *yamltree.Stream, sp span) (items []span, ok bool) {
	const (
		beforeItems = iota
		inItems
		afterItems
	)
	if !sp.list {
		return nil, false // the common case, decided by splitYAML's look at each line
	}
	body := st.Data
	state, col, kindList := beforeItems, -1, false
	var cur *span
	closeItem := func(end int) {
		if cur != nil {
			cur.end = end
			items = append(items, *cur)
			cur = nil
		}
	}
	isItem := func(t []byte) bool { return bytes.HasPrefix(t, []byte("- ")) || string(t) == "-" }
	line := sp.line
	for off := sp.start; off < sp.end; line++ {
		next := min(nextLine(st, line), sp.end)
		ln := trimEOL(body[off:next])
		text := bytes.TrimLeft(ln, " ")
		indent := len(ln) - len(text)
		if len(text) > 0 && text[0] != '#' {
			key := bytes.TrimRight(text, " ")
			if indent == 0 && string(key) == "kind: List" {
				kindList = true
			}
			switch state {
			case beforeItems:
				if indent == 0 && string(key) == "items:" {
					state = inItems
				}
			case inItems:
				if col < 0 {
					if !isItem(text) {
						return nil, false
					}
					col = indent
				}
				switch {
				case indent == col && isItem(text):
					closeItem(off)
					cur = &span{start: off, line: line, col: 1, contentLine: line}
				case indent <= col:
					closeItem(off)
					state = afterItems
				}
			}
		}
		off = next
	}
	closeItem(sp.end)
	if !kindList || len(items) == 0 {
		return nil, false
	}
	return items, true
}
