package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressLine(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, 100<<20)
	p.start = time.Now().Add(-2 * time.Second)
	p.update(50<<20, 123456)
	p.update(60<<20, 130000) // within 200 ms of the last: not drawn
	got := b.String()
	for _, want := range []string{"\rread 50 MB of 100 MB", "123456 lines", "MB/s", "left"} {
		if !strings.Contains(got, want) {
			t.Errorf("progress %q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "130000") {
		t.Errorf("progress drawn twice within 200 ms: %q", got)
	}
	p.done()
	if !strings.HasSuffix(b.String(), "\r\033[K") {
		t.Errorf("done should clear the line: %q", b.String())
	}
}
