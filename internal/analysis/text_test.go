package analysis

import (
	"slices"
	"testing"
)

func TestFirstN(t *testing.T) {
	in := []string{"a", "b", "c", "d", "e"}
	if got := FirstN(in, 3); !slices.Equal(got, []string{"a", "b", "c", "and 2 more"}) {
		t.Errorf("FirstN(5 items, 3) = %q", got)
	}
	if !slices.Equal(in, []string{"a", "b", "c", "d", "e"}) {
		t.Errorf("FirstN changed its input: %q", in)
	}
	if got := FirstN(in, 5); !slices.Equal(got, in) {
		t.Errorf("FirstN(5 items, 5) = %q", got)
	}
	if got := FirstN(nil, 2); len(got) != 0 {
		t.Errorf("FirstN(nil) = %q", got)
	}
}
