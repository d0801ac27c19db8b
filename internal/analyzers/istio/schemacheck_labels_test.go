package istio

import (
	"regexp"
	"strconv"
	"strings"
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

// TestDNS1123LabelsLikeUpstream: the allocation-free label walk decides as
// upstream's Split and Atoi do, numeric top-level domains (signed, too
// long for an int) and empty labels included.
func TestDNS1123LabelsLikeUpstream(t *testing.T) {
	upstream := func(domain string) bool {
		parts := strings.Split(domain, ".")
		if _, err := strconv.Atoi(parts[len(parts)-1]); err == nil {
			return false
		}
		for i, l := range parts {
			if i == len(parts)-1 && l == "" {
				return true
			}
			if !isDNS1123Label(l) {
				return false
			}
		}
		return true
	}
	for _, d := range []string{"", ".", "a", "a.", "a..b", "a.b.c", "a.1", "a.+1", "a.-1", "a.+", "1", "a.99999999999999999999", "a.1a", "*.a", "a.*",
		"web.ns.svc.cluster.local", "a.b.", "..", "a-.b", "-a.b", "x.y.007"} {
		if got, want := validateDNS1123Labels(d) == nil, upstream(d); got != want {
			t.Errorf("%q: valid %v, upstream %v", d, got, want)
		}
	}
}
