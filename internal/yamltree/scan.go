package yamltree

import (
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
	"slices"
	"unicode/utf8"
)

// Stream is a YAML stream read once for what every later step needs:
// where its lines end, and whether all of it is made of the characters
// YAML allows. Loaders cut the stream into documents with the line ends
// and parse each document with ParseDoc, so no byte is searched for line
// breaks or checked twice.
type Stream struct {
	Data []byte
	// Ends holds the offset in Data of each line feed, in order.
	Ends []int32
	// Readable is goyaml's reader check on the whole stream: valid UTF-8
	// made of the characters YAML allows.
	Readable bool
}

// ErrStreamTooLarge is returned by Scan for a stream whose offsets do not
// fit the int32 line ends.
var ErrStreamTooLarge = errors.New("a YAML stream over 2 GiB is not supported")

// Scan reads data into s, reusing s.Ends' memory.
func (s *Stream) Scan(data []byte) error {
	if len(data) > math.MaxInt32 {
		return ErrStreamTooLarge
	}
	s.Data = data
	s.Ends, s.Readable = scanLines(data, s.Ends[:0])
	return nil
}

// scanLines appends the offsets of data's line feeds to ends and applies
// the reader check. Thirty-two bytes at a time while they are printable
// ASCII or line feeds; the rest goes character by character.
func scanLines(data []byte, ends []int32) ([]int32, bool) {
	ok := true
	n := len(data)
	for i := 0; i < n; {
		for i+32 <= n {
			if cap(ends)-len(ends) < 32 {
				ends = slices.Grow(ends, 32+len(ends))
			}
			b := data[i : i+32 : i+32]
			bad1, lf1 := classify(binary.LittleEndian.Uint64(b))
			bad2, lf2 := classify(binary.LittleEndian.Uint64(b[8:]))
			bad3, lf3 := classify(binary.LittleEndian.Uint64(b[16:]))
			bad4, lf4 := classify(binary.LittleEndian.Uint64(b[24:]))
			if bad1|bad2|bad3|bad4 != 0 {
				break
			}
			// The line feeds' positions go into the spare capacity. Two
			// are written whether or not there are that many (the count
			// moves on by the real number): a block holds one or two line
			// feeds, and a loop whose length varies block by block is
			// mispredicted.
			m := movemask(lf1) | movemask(lf2)<<8 | movemask(lf3)<<16 | movemask(lf4)<<24
			free := ends[len(ends):cap(ends)]
			free = free[:32]
			k := bits.OnesCount64(m)
			free[0] = int32(i + bits.TrailingZeros64(m))
			m &= m - 1
			free[1] = int32(i + bits.TrailingZeros64(m))
			for j := 2; j < k; j++ {
				m &= m - 1
				free[j] = int32(i + bits.TrailingZeros64(m))
			}
			ends = ends[:len(ends)+k]
			i += 32
		}
		// The characters of the next thirty-two bytes (or the tail) one by
		// one.
		for stop := min(i+32, n); i < stop; {
			c := data[i]
			switch {
			case c == '\n':
				ends = append(ends, int32(i))
				i++
			case asciiOK[c]:
				i++
			case c == '\r' && i+1 < n && data[i+1] == '\n':
				i++ // the line feed is recorded next
			case c < utf8.RuneSelf:
				ok = false // control characters; a lone CR is a line break to YAML
				i++
			default:
				r, size := utf8.DecodeRune(data[i:])
				if r == utf8.RuneError && size == 1 ||
					!(r >= 0xA0 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000) || r == 0x2028 || r == 0x2029 {
					ok = false // NEL, LS and PS are line breaks in YAML 1.1
				}
				i += size
			}
		}
	}
	return ends, ok
}

// movemask gathers the high bits of w's bytes into the low eight bits:
// byte j's into bit j.
func movemask(w uint64) uint64 { return ((w >> 7) * 0x0102040810204080) >> 56 }

// classify marks, in the high bit of each byte of w, the bytes that are
// neither printable ASCII (0x20-0x7e) nor a line feed (bad), and the line
// feeds (lf). Each byte is tested on its own (no carry crosses a byte), so
// the answer is exact.
func classify(w uint64) (bad, lf uint64) {
	low := w & lowSevens
	control := ^(low + 0x6060606060606060) & highBits // low seven bits below 0x20
	lf = bytesEqual(w, '\n')
	high := (low + eachByte | w) & highBits // 0x7f and above
	return control&^lf | high, lf
}
