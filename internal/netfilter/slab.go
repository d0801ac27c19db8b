package netfilter

// slab hands out small slices carved from large shared chunks, so that a
// dump with many rules costs a few allocations per chunk instead of several
// per rule. Handed-out slices have their capacity capped, so appending to
// one never writes into a neighbour. Chunks start small and double, so a
// small dump stays cheap.
type slab[T any] struct {
	chunk []T
}

const (
	slabFirstChunk = 16
	slabChunk      = 4096
)

// grow starts a new chunk, twice the size of the last one, up to slabChunk.
func (s *slab[T]) grow() {
	s.chunk = make([]T, 0, min(max(2*cap(s.chunk), slabFirstChunk), slabChunk))
}

// copyOf returns a slab-backed copy of src (nil when src is empty).
func (s *slab[T]) copyOf(src []T) []T {
	n := len(src)
	if n == 0 {
		return nil
	}
	if n > cap(s.chunk)-len(s.chunk) {
		if n > slabChunk/4 {
			// Large requests get their own array rather than wasting a chunk.
			return append([]T(nil), src...)
		}
		for s.grow(); n > cap(s.chunk); s.grow() {
		}
	}
	start := len(s.chunk)
	s.chunk = append(s.chunk, src...)
	return s.chunk[start : start+n : start+n]
}

// one returns a pointer to a new zero T from the slab.
func (s *slab[T]) one() *T {
	if len(s.chunk) == cap(s.chunk) {
		s.grow()
	}
	var zero T
	s.chunk = append(s.chunk, zero)
	return &s.chunk[len(s.chunk)-1]
}
