package snapshot

import "testing"

func TestCiliumOutputLine(t *testing.T) {
	c := NewCiliumOutput("f", "n", nil, []byte("one\r\ntwo\n\nfour"))
	for n, want := range map[int]string{0: "", 1: "one", 2: "two", 3: "", 4: "four", 5: ""} {
		if got := c.Line(n); got != want {
			t.Errorf("Line(%d) = %q, want %q", n, got, want)
		}
	}
	if got := NewCiliumOutput("f", "", nil, []byte("a\n")).Line(2); got != "" {
		t.Errorf("a final newline opens no line: Line(2) = %q", got)
	}
	if got := NewCiliumOutput("f", "", nil, nil).Line(1); got != "" {
		t.Errorf("empty file: Line(1) = %q", got)
	}
}
