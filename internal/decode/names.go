package decode

import "math/bits"

// names is a read-only map from a few names — a struct's JSON fields, the
// fields a projection keeps — to values, asked about every key of every
// object read. It is an open-addressing table at most half full, its slot
// chosen by a cheap hash of the name's length and three of its bytes:
// most lookups are one multiplication and one string comparison, where a
// Go map hashes the whole name and compares again.
type names[V any] struct {
	keys  []string // "" in an empty slot; names are never empty
	vals  []V
	shift uint8 // of the 64-bit hash, to the slot index
	n     int
}

func newNames[V any](m map[string]V) names[V] {
	var t names[V]
	if len(m) == 0 {
		return t
	}
	size := 1 << bits.Len(uint(2*len(m)-1)) // at least two slots per name
	t.keys, t.vals = make([]string, size), make([]V, size)
	t.shift = uint8(64 - bits.TrailingZeros(uint(size)))
	for k, v := range m {
		if k == "" {
			continue // no struct field or projection step is named ""
		}
		i := t.slot(k)
		for t.keys[i] != "" {
			i = (i + 1) & uint64(size-1)
		}
		t.keys[i], t.vals[i] = k, v
		t.n++
	}
	return t
}

// slot is where the search for k starts.
func (t *names[V]) slot(k string) uint64 {
	h := uint64(len(k))
	if len(k) > 0 {
		h |= uint64(k[0])<<8 | uint64(k[len(k)>>1])<<16 | uint64(k[len(k)-1])<<24
	}
	return (h * 0x9E3779B97F4A7C15) >> t.shift & uint64(len(t.keys)-1)
}

// get returns the value of name k.
func (t *names[V]) get(k string) (V, bool) {
	if t.n > 0 && k != "" {
		mask := uint64(len(t.keys) - 1)
		for i := t.slot(k); t.keys[i] != ""; i = (i + 1) & mask {
			if t.keys[i] == k {
				return t.vals[i], true
			}
		}
	}
	var zero V
	return zero, false
}
