package istio

import (
	"regexp"
	"testing"
)

// Upstream's expressions (istio pkg/config/labels), the oracle for the
// hand-written label tests.
var (
	upstreamDNS1123Label  = regexp.MustCompile(`^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$`)
	upstreamWildcardLabel = regexp.MustCompile(`^(\*|(\*|\*-)?[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?)$`)
)

func checkLabelAgainstRegexp(t *testing.T, s string) {
	t.Helper()
	if got, want := isDNS1123Label(s), len(s) <= 63 && upstreamDNS1123Label.MatchString(s); got != want {
		t.Errorf("isDNS1123Label(%q) = %v, upstream %v", s, got, want)
	}
	if got, want := isWildcardDNS1123Label(s), len(s) <= 63 && upstreamWildcardLabel.MatchString(s); got != want {
		t.Errorf("isWildcardDNS1123Label(%q) = %v, upstream %v", s, got, want)
	}
}

func TestDNS1123LabelMatchesRegexp(t *testing.T) {
	for _, s := range []string{"", "a", "-", "*", "**", "*-", "*--a", "*-a", "*a", "*-*a", "a-", "-a", "a-b", "a--b", "A9",
		"reviews", "my_svc", "a.b", "é", "*.example", "x\n", "0", "a*",
		"a23456789012345678901234567890123456789012345678901234567890123",
		"a234567890123456789012345678901234567890123456789012345678901234"} {
		checkLabelAgainstRegexp(t, s)
	}
}

func FuzzDNS1123Label(f *testing.F) {
	for _, s := range []string{"reviews", "*-a", "*a", "a--b", "-a"} {
		f.Add(s)
	}
	f.Fuzz(checkLabelAgainstRegexp)
}
