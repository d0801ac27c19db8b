// Package version parses and compares the release versions of mesh
// components as they appear in image tags and labels (1.24.2, 1.24.2-distroless,
// v1.25.0, 1.26-dev).
package version

import (
	"fmt"
	"strconv"
	"strings"
)

// V is a major.minor.patch release; Raw keeps the text it came from.
type V struct {
	Major, Minor, Patch int
	Raw                 string
}

// Parse reads the leading major.minor[.patch] of s; a missing patch is 0.
func Parse(s string) (V, bool) {
	t := strings.TrimPrefix(strings.TrimSpace(s), "v")
	var nums [3]int
	n := 0
	for n < 3 {
		end := 0
		for end < len(t) && t[end] >= '0' && t[end] <= '9' {
			end++
		}
		if end == 0 {
			break
		}
		v, err := strconv.Atoi(t[:end])
		if err != nil {
			return V{}, false
		}
		nums[n] = v
		n++
		t = t[end:]
		if !strings.HasPrefix(t, ".") {
			break
		}
		t = t[1:]
	}
	if n < 2 {
		return V{}, false
	}
	return V{Major: nums[0], Minor: nums[1], Patch: nums[2], Raw: s}, true
}

// MustParse is for constants in code.
func MustParse(s string) V {
	v, ok := Parse(s)
	if !ok {
		panic(fmt.Sprintf("version %q", s))
	}
	return v
}

// Compare returns -1, 0 or 1.
func (a V) Compare(b V) int {
	for _, d := range [3]int{a.Major - b.Major, a.Minor - b.Minor, a.Patch - b.Patch} {
		if d < 0 {
			return -1
		}
		if d > 0 {
			return 1
		}
	}
	return 0
}

// AtLeast tells whether a >= b.
func (a V) AtLeast(b V) bool { return a.Compare(b) >= 0 }

func (a V) String() string {
	if a.Raw != "" {
		return a.Raw
	}
	return fmt.Sprintf("%d.%d.%d", a.Major, a.Minor, a.Patch)
}

// FromImage returns the version in an image reference's tag
// (docker.io/istio/install-cni:1.24.2-distroless → 1.24.2). Digests and
// tags that are not versions give false.
func FromImage(image string) (V, bool) {
	ref := image
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		ref = ref[:i]
	}
	slash := strings.LastIndexByte(ref, '/')
	colon := strings.LastIndexByte(ref, ':')
	if colon < 0 || colon < slash {
		return V{}, false
	}
	v, ok := Parse(ref[colon+1:])
	if ok {
		v.Raw = ref[colon+1:]
	}
	return v, ok
}
