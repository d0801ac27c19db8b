package yamltree

import (
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// Eight bytes at a time, for the stream scan and both readers. Each test
// below marks, in the high bit of each byte of a word, the bytes it
// matches. No carry crosses from one byte to the next, so every mark is
// exact, and the lowest marked byte is the first match. Indentation is most
// of the bytes of Kubernetes YAML and of pretty-printed JSON
// (`kubectl get -o json`), and these tests pass over it a word at a time.

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

// firstMarked is the index of the lowest marked byte of a non-zero mark
// (or of the lowest non-zero byte of any non-zero word).
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
// space, or len(s).
func pastSpaces(s string, i int) int {
	for i+8 <= len(s) {
		// The lowest byte that differs from a space is the first one.
		if d := word(s, i) ^ eachByte*' '; d != 0 {
			return i + firstMarked(d)
		}
		i += 8
	}
	for i < len(s) && s[i] == ' ' {
		i++
	}
	return i
}
