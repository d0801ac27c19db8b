package yamltree

import (
	"regexp"
	"testing"
)

// goyamlFloat is goyaml v2's float pattern, the reference for yamlStyleFloat.
var goyamlFloat = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)

func TestYAMLStyleFloatMatchesGoyamlPattern(t *testing.T) {
	for _, s := range []string{"", "1", "1.", ".5", ".", "-.5", "+1.5e3", "1e", "1e+", "1e+5", "1.2.3", "10.0.17.66", "-", "+", "e5", "1E-07", "..5", "1.5e3.2", "0.0", "-1", "1_0"} {
		if got, want := yamlStyleFloat(s), goyamlFloat.MatchString(s); got != want {
			t.Errorf("yamlStyleFloat(%q) = %v, the pattern says %v", s, got, want)
		}
	}
}

func FuzzYAMLStyleFloat(f *testing.F) {
	for _, s := range []string{"1.5", ".5e-3", "1.2.3", "+1e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := yamlStyleFloat(s), goyamlFloat.MatchString(s); got != want {
			t.Errorf("yamlStyleFloat(%q) = %v, the pattern says %v", s, got, want)
		}
	})
}
