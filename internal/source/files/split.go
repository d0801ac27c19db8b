package files

import (
	"bytes"
)

// span is one document of a stream: its bytes are data[start:end], its first
// byte is on line `line` (1-based) and column `col`, and its first line with
// content is contentLine (0 for a document with no content).
type span struct {
	start, end  int
	line, col   int
	contentLine int
}

// splitYAML cuts a YAML stream at `---` and `...` marker lines, keeping
// line numbers. A marker with content after it (`--- {a: 1}`) stays part of
// its document, which YAML allows. Empty and comment-only documents are
// dropped. The spans are appended to out.
func splitYAML(data []byte, out []span) []span {
	cur := span{start: 0, line: 1, col: 1}
	line := 1
	flush := func(end int) {
		cur.end = end
		if cur.contentLine > 0 {
			out = append(out, cur)
		}
	}
	for off := 0; off < len(data); {
		nl := bytes.IndexByte(data[off:], '\n')
		next := len(data)
		if nl >= 0 {
			next = off + nl + 1
		}
		// Only lines starting with '-' or '.' can be markers, and content
		// matters only until the document's first content line: most lines
		// need no more than a look at their first byte.
		if c := data[off]; c == '-' || c == '.' || cur.contentLine == 0 {
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
			}
		}
		off = next
		line++
	}
	flush(len(data))
	return out
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
func splitList(body []byte, sp span) (items []span, ok bool) {
	const (
		beforeItems = iota
		inItems
		afterItems
	)
	if !bytes.Contains(body[sp.start:sp.end], []byte("kind: List")) {
		return nil, false // the common case, decided without walking the lines
	}
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
		next := sp.end
		if nl := bytes.IndexByte(body[off:sp.end], '\n'); nl >= 0 {
			next = off + nl + 1
		}
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
