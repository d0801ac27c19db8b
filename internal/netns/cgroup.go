package netns

import (
	"fmt"
	"strings"
	"unicode"
)

// Runtime names the container runtime a cgroup path was written by, as far
// as its last path segment tells.
type Runtime string

// Runtimes recognised from the container's cgroup segment.
const (
	// RuntimeUnnamed is a cgroupfs path whose last segment is the bare
	// container ID (/kubepods/burstable/pod<uid>/<id>): any runtime.
	RuntimeUnnamed    Runtime = ""
	RuntimeContainerd Runtime = "containerd"   // cri-containerd-<id>.scope
	RuntimeCRIO       Runtime = "cri-o"        // crio-<id>.scope
	RuntimeCRIOConmon Runtime = "cri-o conmon" // crio-conmon-<id>.scope: CRI-O's monitor, in the host netns
	RuntimeDocker     Runtime = "docker"       // docker-<id>.scope
	RuntimeOther      Runtime = "other"        // a prefix not listed above
)

// CgroupLine is one parsed line of /proc/PID/cgroup.
type CgroupLine struct {
	Hierarchy   string // "0" on cgroup v2
	Controllers string // "" on cgroup v2
	Path        string
	// PodUID and ContainerID are set when the path names a container
	// (ContainerID non-empty). PodUID uses dashes, whatever punctuation the
	// path used (systemd writes underscores). A CRI-O path without a pod
	// segment (crio-<id>.scope alone) has a container ID and no pod UID.
	PodUID      string
	ContainerID string
	Runtime     Runtime
}

// maxCgroupLine bounds what is looked at: real lines are a few hundred
// bytes, and the matching below is quadratic in the worst case.
const maxCgroupLine = 4096

// ParseCgroupLine splits a /proc/PID/cgroup line and extracts the pod UID
// and container ID from its path. A line without two colons, or longer than
// 4096 bytes, is an error; a path that names no container is not.
func ParseCgroupLine(line string) (CgroupLine, error) {
	l, err := splitCgroupLine(line)
	if err != nil {
		return CgroupLine{}, err
	}
	l.PodUID, l.ContainerID, l.Runtime, _ = containerOfPath(l.Path)
	return l, nil
}

// splitCgroupLine fills the first three fields of a CgroupLine.
func splitCgroupLine(line string) (CgroupLine, error) {
	if len(line) > maxCgroupLine {
		return CgroupLine{}, fmt.Errorf("cgroup line of %d bytes, longer than %d", len(line), maxCgroupLine)
	}
	hier, rest, ok1 := strings.Cut(line, ":")
	ctrl, path, ok2 := strings.Cut(rest, ":")
	if !ok1 || !ok2 {
		return CgroupLine{}, fmt.Errorf("cgroup line %q: want hierarchy-ID:controller-list:path", line)
	}
	return CgroupLine{Hierarchy: hier, Controllers: ctrl, Path: path}, nil
}

// containerOfPath is Istio's getPodUIDAndContainerIDFromCGroupPath: a path
// is read after trimming one ".scope" suffix, first as a "pod<uid>" form,
// then as a CRI-O "crio-<id>" form without a pod UID; a path that reads
// both ways is rejected as ambiguous.
func containerOfPath(path string) (uid, id string, rt Runtime, ok bool) {
	p := strings.TrimSuffix(path, ".scope")
	// Cheap rejection of host processes (/system.slice/...): both forms
	// need one of these words.
	hasPod, hasCRIO := strings.Contains(p, "pod"), strings.Contains(p, "crio")
	if !hasPod && !hasCRIO {
		return "", "", "", false
	}
	var uidForm, crioForm bool
	var rawUID string
	if hasPod {
		rawUID, id, uidForm = podUIDForm(p)
	}
	if hasCRIO {
		var crioID string
		crioID, crioForm = crioOnlyForm(p)
		if !uidForm {
			id = crioID
		}
	}
	if uidForm == crioForm {
		return "", "", "", false
	}
	if uidForm {
		uid = canonicalUID(rawUID)
	}
	return uid, id, runtimeOf(p, id), true
}

// podUIDForm matches "<punct>pod<uid><punct>" followed by punctuation-
// separated words to the end of the path, the last word being the
// container ID. The leftmost such pod segment wins.
func podUIDForm(p string) (rawUID, id string, ok bool) {
	// The words after the pod segment must be non-empty, each separated by
	// one punctuation character: a tail starting after the last doubled
	// punctuation is the only kind that can qualify.
	lastDouble := -1
	for i := 0; i+1 < len(p); i++ {
		if isPunct(p[i]) && isPunct(p[i+1]) {
			lastDouble = i
		}
	}
	if len(p) == 0 || isPunct(p[len(p)-1]) {
		return "", "", false
	}
	for at := 0; ; at++ {
		k := strings.Index(p[at:], "pod")
		if k < 0 {
			return "", "", false
		}
		at += k
		if at == 0 || !isPunct(p[at-1]) {
			continue
		}
		n := uidLen(p, at+3)
		end := at + 3 + n
		if n < 0 || end >= len(p) || !isPunct(p[end]) {
			continue
		}
		tail := end + 1
		if tail >= len(p) || isPunct(p[tail]) || lastDouble >= tail {
			continue
		}
		return p[at+3 : end], lastWord(p), true
	}
}

// crioOnlyForm matches a path ending in "crio<punct><id>" where everything
// between the start of the match and "crio" is words and slashes, unless
// that stretch is preceded by (or starts with) a "pod<uid><punct>"
// segment: a path with a pod UID belongs to podUIDForm.
func crioOnlyForm(p string) (id string, ok bool) {
	word := lastWord(p)
	k := len(p) - len(word) - 5 // index of "crio" before "<punct><id>"
	if word == "" || k < 0 || p[k:k+4] != "crio" || !isPunct(p[k+4]) {
		return "", false
	}
	start := k
	for start > 0 && (p[start-1] == '/' || !isPunct(p[start-1])) {
		start--
	}
	// A pod segment ending at or after start makes the match begin at the
	// segment, and such a match is rejected.
	for j := max(0, start-len("pod")-maxUIDLen-1); j <= start; j++ {
		if !strings.HasPrefix(p[j:], "pod") {
			continue
		}
		n := uidLen(p, j+3)
		end := j + 3 + n // the punctuation after the UID
		if n >= 0 && end < k && isPunct(p[end]) && end+1 >= start {
			return "", false
		}
	}
	return word, true
}

// maxUIDLen is 32 hex digits and 4 separators.
const maxUIDLen = 36

// uidLen is the length of a pod UID at p[i:] — 8, 4, 4, 4 and 12 hex digits,
// each group optionally preceded by one punctuation character — or -1.
func uidLen(p string, i int) int {
	j := i
	for g, digits := range [...]int{8, 4, 4, 4, 12} {
		if g > 0 && j < len(p) && isPunct(p[j]) {
			j++
		}
		for range digits {
			if j >= len(p) || !isHex(p[j]) {
				return -1
			}
			j++
		}
	}
	return j - i
}

// lastWord is the run of non-punctuation bytes ending p.
func lastWord(p string) string {
	i := len(p)
	for i > 0 && !isPunct(p[i-1]) {
		i--
	}
	return p[i:]
}

// isPunct is POSIX [[:punct:]] in the C locale: ASCII punctuation only, so
// bytes of multi-byte UTF-8 sequences never are.
func isPunct(b byte) bool {
	return '!' <= b && b <= '/' || ':' <= b && b <= '@' || '[' <= b && b <= '`' || '{' <= b && b <= '~'
}

func isHex(b byte) bool {
	return '0' <= b && b <= '9' || 'a' <= b && b <= 'f' || 'A' <= b && b <= 'F'
}

// canonicalUID replaces the UID's separators with dashes. Istio maps what
// unicode.IsPunct calls punctuation, which leaves symbols such as '+' in
// place; the same rule is kept so the two agree on odd paths too.
func canonicalUID(raw string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsPunct(r) {
			return '-'
		}
		return r
	}, raw)
}

// runtimeOf names the runtime from the path's last segment.
func runtimeOf(p, id string) Runtime {
	seg := p[strings.LastIndexByte(p, '/')+1:]
	switch {
	case seg == id:
		return RuntimeUnnamed
	case strings.HasPrefix(seg, "cri-containerd-"), strings.Contains(seg, ":cri-containerd:"):
		return RuntimeContainerd
	case strings.HasPrefix(seg, "crio-conmon-"):
		return RuntimeCRIOConmon
	case strings.HasPrefix(seg, "crio-"):
		return RuntimeCRIO
	case strings.HasPrefix(seg, "docker-"):
		return RuntimeDocker
	}
	return RuntimeOther
}
