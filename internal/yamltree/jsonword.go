package yamltree

import (
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// Eight bytes of JSON at a time. Each test below marks, in the high bit of
// each byte of a word, the bytes it matches. No carry crosses from one byte
// to the next, so every mark is exact, and the lowest marked byte is the
// first match. Pretty-printed JSON (`kubectl get -o json`) is mostly
// indentation and text between a few structural bytes, which these tests
// pass over a word at a time.

const (
	lowSevens = 0x7f7f7f7f7f7f7f7f
	highBits  = 0x8080808080808080
	eachByte  = 0x0101010101010101
)

// word reads the eight bytes of s from i, the first in the low byte. The
// caller makes sure that i+8 <= len(s).
func word(s string, i int) uint64 {
	return binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s[i:]), 8))
}

// bytesEqual marks the bytes of w equal to c.
func bytesEqual(w uint64, c byte) uint64 {
	x := w ^ eachByte*uint64(c)
	return ^((x&lowSevens + lowSevens) | x) & highBits
}

// bytesControl marks the bytes of w below 0x20.
func bytesControl(w uint64) uint64 {
	return ^(w&lowSevens + 0x6060606060606060 | w) & highBits
}

// firstMarked is the index of the lowest marked byte of a non-zero mark.
func firstMarked(m uint64) int { return bits.TrailingZeros64(m) >> 3 }

// belowFirstMarked keeps the bytes of w before the lowest marked byte of m
// (all of w when m is zero).
func belowFirstMarked(w, m uint64) uint64 {
	if m == 0 {
		return w
	}
	return w & (uint64(1)<<(bits.TrailingZeros64(m)&^7) - 1)
}

// pastSpaces returns the index of the first byte of s from i that is not a
// space, or of the last seven or fewer bytes of s: the caller reads on
// from there byte by byte.
func pastSpaces(s string, i int) int {
	const spaces = eachByte * ' '
	for i+8 <= len(s) {
		if w := word(s, i); w != spaces {
			return i + firstMarked(^bytesEqual(w, ' ')&highBits)
		}
		i += 8
	}
	return i
}

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
