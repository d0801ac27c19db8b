package version

import "testing"

func TestParseAndCompare(t *testing.T) {
	for _, c := range []struct {
		in   string
		ok   bool
		want [3]int
	}{
		{"1.24.2", true, [3]int{1, 24, 2}}, {"v1.25.0", true, [3]int{1, 25, 0}}, {"1.26-dev", true, [3]int{1, 26, 0}},
		{"1.24.2-distroless", true, [3]int{1, 24, 2}}, {"latest", false, [3]int{}}, {"1", false, [3]int{}}, {"", false, [3]int{}},
	} {
		v, ok := Parse(c.in)
		if ok != c.ok || (ok && [3]int{v.Major, v.Minor, v.Patch} != c.want) {
			t.Errorf("Parse(%q) = %+v, %v", c.in, v, ok)
		}
	}
	if !MustParse("1.24.4").AtLeast(MustParse("1.24.4")) || MustParse("1.23.9").AtLeast(MustParse("1.24.0")) || !MustParse("2.0").AtLeast(MustParse("1.99.99")) {
		t.Error("AtLeast")
	}
	for img, want := range map[string]string{
		"docker.io/istio/install-cni:1.24.2":           "1.24.2",
		"localhost:5000/istio/pilot:1.25.0-distroless": "1.25.0-distroless",
		"gcr.io/istio-release/pilot@sha256:00":         "",
		"localhost:5000/istio/pilot":                   "",
		"pilot:latest":                                 "",
	} {
		v, ok := FromImage(img)
		if (want == "") == ok || (ok && v.String() != want) {
			t.Errorf("FromImage(%q) = %v, %v", img, v, ok)
		}
	}
}
