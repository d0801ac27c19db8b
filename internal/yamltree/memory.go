package yamltree

import "unsafe"

// memory hands out nodes and key/child slices from chunks that a Parser
// reuses from one document to the next, so reading a document allocates
// almost nothing once warmed up. Collections under construction push their
// entries on a stack; when a collection ends its entries move to the slabs
// as one exactly-sized slice.
type memory struct {
	nodes  [][]Node
	ni, nj int // current chunk, next free node in it
	keys   slab[string]
	kids   slab[*Node]
	stackK []string
	stackN []*Node
	memos  slab[MemoRef]
	text   slab[byte] // block scalars' values
}

const chunk = 512

func (m *memory) reset() {
	m.ni, m.nj = 0, 0
	m.keys.reset()
	m.kids.reset()
	m.memos.clearUsed() // drop the last document's references to values
	m.memos.reset()
	m.text.reset()
	m.stackK, m.stackN = m.stackK[:0], m.stackN[:0]
}

func (m *memory) node(k Kind, text string) *Node {
	if m.ni == len(m.nodes) {
		m.nodes = append(m.nodes, make([]Node, chunk))
	}
	n := &m.nodes[m.ni][m.nj]
	*n = Node{Kind: k, Text: text}
	if m.nj++; m.nj == chunk {
		m.ni, m.nj = m.ni+1, 0
	}
	return n
}

// memoRef stores r in reused memory.
func (m *memory) memoRef(r MemoRef) *MemoRef {
	return &m.memos.copyOf([]MemoRef{r})[0]
}

// mark returns the stack height where a collection's entries start.
func (m *memory) mark() int { return len(m.stackN) }

func (m *memory) push(key string, child *Node) {
	m.stackK = append(m.stackK, key)
	m.stackN = append(m.stackN, child)
}

// keysSince returns the keys pushed since mark (for duplicate checks).
func (m *memory) keysSince(mark int) []string { return m.stackK[mark:] }

// pop moves the entries pushed since mark into slab-backed slices.
func (m *memory) pop(mark int, withKeys bool) ([]string, []*Node) {
	var keys []string
	if withKeys {
		keys = m.keys.copyOf(m.stackK[mark:])
	}
	kids := m.kids.copyOf(m.stackN[mark:])
	m.stackK, m.stackN = m.stackK[:mark], m.stackN[:mark]
	return keys, kids
}

// slab allocates slices out of large reusable chunks.
type slab[T any] struct {
	chunks [][]T
	ci, cj int
}

func (s *slab[T]) reset() { s.ci, s.cj = 0, 0 }

// clearUsed zeroes what was handed out since the last reset.
func (s *slab[T]) clearUsed() {
	for i := 0; i < s.ci && i < len(s.chunks); i++ {
		clear(s.chunks[i])
	}
	if s.ci < len(s.chunks) {
		clear(s.chunks[s.ci][:s.cj])
	}
}

func (s *slab[T]) copyOf(src []T) []T {
	out := s.take(len(src))[:len(src)]
	copy(out, src)
	return out
}

// take returns an empty slice with room for n elements, out of the chunks.
func (s *slab[T]) take(n int) []T {
	if n == 0 {
		return nil
	}
	size := 4096
	if n > size {
		size = n
	}
	for {
		if s.ci == len(s.chunks) {
			s.chunks = append(s.chunks, make([]T, size))
		}
		c := s.chunks[s.ci]
		if s.cj+n <= len(c) {
			out := c[s.cj : s.cj : s.cj+n]
			s.cj += n
			return out
		}
		s.ci, s.cj = s.ci+1, 0
	}
}

// blockLine is one content line of a block scalar: its indentation beyond
// the scalar's own, and its text.
type blockLine struct {
	pad  int
	text string
}

func (l blockLine) empty() bool { return l.pad == 0 && l.text == "" }

// literal returns a literal (|) scalar's value: the lines joined by line
// breaks, then breaks more of them. The string lives in reused memory,
// like the rest of the tree.
func (m *memory) literal(lines []blockLine, breaks int) string {
	n := breaks
	for i, l := range lines {
		if i > 0 {
			n++
		}
		n += l.pad + len(l.text)
	}
	b := m.text.take(n)
	for i, l := range lines {
		if i > 0 {
			b = append(b, '\n')
		}
		for range l.pad {
			b = append(b, ' ')
		}
		b = append(b, l.text...)
	}
	for range breaks {
		b = append(b, '\n')
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// folded returns a folded (>) scalar's value: a single line break becomes
// a space, each empty line a line break, then breaks more. More-indented
// lines keep their breaks in YAML; they are left to the complete reader.
func (m *memory) folded(lines []blockLine, breaks int) (string, error) {
	n := breaks
	for _, l := range lines {
		if l.pad > 0 || l.text != "" && l.text[0] == '\t' {
			return "", ErrUnsupported
		}
		n += len(l.text) + 1
	}
	b := m.text.take(n)
	prevText := false
	for _, l := range lines {
		if l.text == "" {
			b = append(b, '\n')
			prevText = false
			continue
		}
		if prevText {
			b = append(b, ' ')
		}
		b = append(b, l.text...)
		prevText = true
	}
	for range breaks {
		b = append(b, '\n')
	}
	if len(b) == 0 {
		return "", nil
	}
	return unsafe.String(unsafe.SliceData(b), len(b)), nil
}
