package cilium

import (
	"bytes"
	"strings"
)

// eachLine calls fn for every line of data with its 1-based number, the
// line end ("\n" or "\r\n") removed. A last line without a newline counts.
// A byte order mark before the first line is dropped.
func eachLine(data []byte, fn func(n int, line string)) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	for n := 1; len(data) > 0; n++ {
		line, rest, _ := bytes.Cut(data, []byte{'\n'})
		data = rest
		fn(n, string(bytes.TrimSuffix(line, []byte{'\r'})))
	}
}

// isBlank reports whether a line holds only white space.
func isBlank(s string) bool { return strings.TrimSpace(s) == "" }

// kubectlNoise reports lines that `kubectl exec` adds in front of a
// command's output and that are not part of it.
func kubectlNoise(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasPrefix(s, "Defaulted container ") ||
		strings.HasPrefix(s, "Unable to use a TTY") ||
		strings.HasPrefix(s, "If you don't see a command prompt")
}
