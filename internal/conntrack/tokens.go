package conntrack

// tokens splits a line at runs of spaces and tabs without allocating.
type tokens struct {
	s string
	i int
}

func (t *tokens) next() string {
	for t.i < len(t.s) && (t.s[t.i] == ' ' || t.s[t.i] == '\t') {
		t.i++
	}
	start := t.i
	for t.i < len(t.s) && t.s[t.i] != ' ' && t.s[t.i] != '\t' {
		t.i++
	}
	return t.s[start:t.i]
}

func (t *tokens) peek() string {
	saved := t.i
	s := t.next()
	t.i = saved
	return s
}
