package snapshot

import (
	"bytes"

	"github.com/meshdoctor/meshdoctor/internal/cilium"
)

// CiliumOutput is the output of one Cilium or Hubble command, read from a
// bundle's cilium/<node>/<command> file or from a file given loose. Make
// one with NewCiliumOutput.
type CiliumOutput struct {
	// File is the input's name as positions show it.
	File string
	// Node is the node the command ran on: the bundle folder's name, or ""
	// for a loose file (a flow may still name its node).
	Node string
	*cilium.Output
	// Data is the file's content, kept so that evidence can quote a line.
	Data []byte
	// lineStart[i] is the offset of line i+1 in Data: evidence quotes the
	// line of each of thousands of drops, so finding one must not rescan.
	lineStart []int
}

// NewCiliumOutput records a command's parsed output and its text.
func NewCiliumOutput(file, node string, out *cilium.Output, data []byte) *CiliumOutput {
	starts := []int{0}
	for i, c := range data {
		if c == '\n' && i+1 < len(data) {
			starts = append(starts, i+1)
		}
	}
	return &CiliumOutput{File: file, Node: node, Output: out, Data: data, lineStart: starts}
}

// Line returns line n (1-based) of the file without its line ending, or "".
func (c *CiliumOutput) Line(n int) string {
	if n < 1 || n > len(c.lineStart) || len(c.Data) == 0 {
		return ""
	}
	line := c.Data[c.lineStart[n-1]:]
	if j := bytes.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	return string(bytes.TrimSuffix(line, []byte("\r")))
}

// AddCiliumOutput adds the output of a Cilium or Hubble command.
func (b *Builder) AddCiliumOutput(c *CiliumOutput) { b.s.cilium = append(b.s.cilium, c) }

// CiliumOutputs returns the Cilium and Hubble command outputs read.
func (s *Snapshot) CiliumOutputs() []*CiliumOutput { return s.cilium }
