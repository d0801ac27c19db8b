package snapshot

import "bytes"

// ContainerLog is one container's log: a bundle's
// logs/<namespace>/<pod>/<container>.log.
type ContainerLog struct {
	// File names the log in positions.
	File                      string
	Namespace, Pod, Container string
	Data                      []byte
}

// Lines calls yield with each line of the log (1-based numbers, without
// the line end) until it returns false.
func (l *ContainerLog) Lines(yield func(line int, text []byte) bool) {
	data := l.Data
	for n := 1; len(data) > 0; n++ {
		i := bytes.IndexByte(data, '\n')
		var line []byte
		if i < 0 {
			line, data = data, nil
		} else {
			line, data = data[:i], data[i+1:]
		}
		if !yield(n, bytes.TrimSuffix(line, []byte{'\r'})) {
			return
		}
	}
}
