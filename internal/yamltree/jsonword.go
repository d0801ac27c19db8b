package yamltree

import "math/bits"

// The JSON reader's searches, a word at a time (see words.go).

// plainRun returns the index of the first '"', '\\' or control byte of s
// from i, or len(s), and whether the bytes before it go beyond ASCII.
func plainRun(s string, i int) (end int, nonASCII bool) {
	var high uint64
	for i+8 <= len(s) {
		w := word(s, i)
		m := bytesEqual(w, '"') | bytesEqual(w, '\\') | bytesControl(w)
		high |= belowFirstMarked(w, m)
		if m != 0 {
			return i + firstMarked(m), high&highBits != 0
		}
		i += 8
	}
	for ; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == '\\' || c < 0x20 {
			break
		}
		high |= uint64(c)
	}
	return i, high&highBits != 0
}

// toQuoteOrEscape returns the index of the first '"' or '\\' of s from i,
// or len(s).
func toQuoteOrEscape(s string, i int) int {
	for i+8 <= len(s) {
		w := word(s, i)
		if m := bytesEqual(w, '"') | bytesEqual(w, '\\'); m != 0 {
			return i + firstMarked(m)
		}
		i += 8
	}
	for i < len(s) && s[i] != '"' && s[i] != '\\' {
		i++
	}
	return i
}

// toStructural returns the index of the first byte of s from i that may be
// one skipValue acts on ('"', ',', or a bracket or brace), or that begins a
// word holding one; len(s) if there is none. Folding in the 0x20 bit makes
// '[' and ']' look like '{' and '}', so four tests cover six bytes; the
// two control bytes it also lets through (0x02, 0x0c) are not acted on.
func toStructural(s string, i int) int {
	for i+8 <= len(s) {
		w := word(s, i) | eachByte*0x20
		if m := bytesEqual(w, '"') | bytesEqual(w, ',') | bytesEqual(w, '{') | bytesEqual(w, '}'); m != 0 {
			return i + firstMarked(m)
		}
		i += 8
	}
	for i < len(s) && !skipStop[s[i]] {
		i++
	}
	return i
}

// pastCollection returns the index just past the object or array that
// opens at s[i], finding where it ends and nothing more; false if s ends
// first. deepest is at least the deepest nesting of brackets in it (1 for
// a flat one). A word without a backslash is taken whole: its quotes tell
// which of its bytes are inside strings, and its brackets outside strings
// move the depth, unless it may close the collection, which the bytes then
// do one by one.
func pastCollection(s string, i int) (end, deepest int, ok bool) {
	depth := 0
	inString := false
	for i < len(s) {
		if i+8 <= len(s) {
			w := word(s, i)
			if w == eachByte*' ' {
				i += 8 // indentation, most of pretty-printed JSON
				continue
			}
			if bytesEqual(w, '\\') == 0 {
				quotes := bytesEqual(w, '"')
				quoted := runningXor(quotes) // after an odd number of quotes in w
				if inString {
					quoted ^= highBits
				}
				// '[' and ']' with the 0x20 bit are '{' and '}'.
				folded := w | eachByte*0x20
				opens := bits.OnesCount64(bytesEqual(folded, '{') &^ quoted)
				closes := bits.OnesCount64(bytesEqual(folded, '}') &^ quoted)
				if closes < depth {
					deepest = max(deepest, depth+opens)
					depth += opens - closes
					inString = inString != (bits.OnesCount64(quotes)&1 == 1)
					i += 8
					continue
				}
			}
		}
		for stop := min(i+8, len(s)); i < stop; i++ {
			switch c := s[i]; {
			case inString:
				if c == '\\' {
					i++ // the escaped byte
				} else if c == '"' {
					inString = false
				}
			case c == '"':
				inString = true
			case c == '{' || c == '[':
				depth++
				deepest = max(deepest, depth)
			case c == '}' || c == ']':
				if depth--; depth == 0 {
					return i + 1, deepest, true
				}
			}
		}
	}
	return len(s), deepest, false
}

// runningXor marks each byte of a mark after which an odd number of the
// mark's bytes, itself included, are marked.
func runningXor(m uint64) uint64 {
	m ^= m << 8
	m ^= m << 16
	return m ^ m<<32
}
