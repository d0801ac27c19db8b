package node

import (
	"bufio"
	"encoding/json"
	"os"
)

// writeJSON writes v as a JSON file, indented when it is small and read
// by people.
func writeJSON(path string, v any, indent bool) error {
	var b []byte
	var err error
	if indent {
		b, err = json.MarshalIndent(v, "", "  ")
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		return &outputError{err}
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return &outputError{err}
	}
	return nil
}

// writeProcs writes procs.json as a JSON array with one process a line,
// which stays greppable and diffable for thousands of processes.
func writeProcs(path string, procs []Proc) error {
	f, err := os.Create(path)
	if err != nil {
		return &outputError{err}
	}
	w := bufio.NewWriterSize(f, 64<<10)
	w.WriteString("[")
	for i, p := range procs {
		b, err := json.Marshal(p)
		if err != nil {
			f.Close()
			return &outputError{err}
		}
		if i > 0 {
			w.WriteByte(',')
		}
		w.WriteString("\n")
		w.Write(b)
	}
	w.WriteString("\n]\n")
	if err := w.Flush(); err != nil {
		f.Close()
		return &outputError{err}
	}
	if err := f.Close(); err != nil {
		return &outputError{err}
	}
	return nil
}
