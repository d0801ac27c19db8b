package conntrack

import "bytes"

// Looks reports whether data looks like a conntrack table as text: its
// first non-blank line is an entry, an expectation or conntrack's summary
// line. It reads
// at most the first MaxLineLen bytes.
func Looks(data []byte) bool {
	data = data[:min(len(data), MaxLineLen+1)]
	for n := 1; len(data) > 0; n++ {
		line, rest, found := bytes.Cut(data, []byte{'\n'})
		if !found && len(data) > MaxLineLen {
			return false // one huge first line
		}
		data = rest
		line = bytes.Trim(line, " \t\r")
		if len(line) == 0 {
			continue
		}
		var d Dump
		return d.parseLine(string(line), n) == nil
	}
	return false
}
