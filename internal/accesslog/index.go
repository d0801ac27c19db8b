package accesslog

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

const (
	lo8 = 0x0101010101010101
	hi8 = 0x8080808080808080
)

// indexByteFrom is bytes.IndexByte(b[i:], c) + i, or -1. Access-log values
// are mostly a few to a few dozen bytes, so it looks at the first 32 bytes
// eight at a time, which costs less than the call and setup of the
// assembly routine, and hands longer ones to it.
func indexByteFrom(b []byte, i int, c byte) int {
	rep := uint64(c) * lo8
	for stop := min(i+32, len(b)); i+8 <= stop; i += 8 {
		x := binary.LittleEndian.Uint64(b[i:]) ^ rep
		// The lowest byte of x that is zero is where c is; bytes above a
		// zero may show up falsely, the lowest cannot.
		if t := (x - lo8) &^ x & hi8; t != 0 {
			return i + bits.TrailingZeros64(t)/8
		}
	}
	if j := bytes.IndexByte(b[i:], c); j >= 0 {
		return i + j
	}
	return -1
}

// indexFrom is bytes.Index(b[i:], lit) + i, or -1; lit is not empty.
func indexFrom(b []byte, i int, lit []byte) int {
	c0, rest := lit[0], lit[1:]
	for {
		j := indexByteFrom(b, i, c0)
		if j < 0 {
			return -1
		}
		if len(b)-j-1 < len(rest) {
			return -1
		}
		k := 0
		for k < len(rest) && b[j+1+k] == rest[k] {
			k++
		}
		if k == len(rest) {
			return j
		}
		i = j + 1
	}
}
