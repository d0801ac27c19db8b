package snapshot

import (
	"bytes"

	"github.com/meshdoctor/meshdoctor/internal/cilium"
)

// CiliumOutput is the output of one Cilium or Hubble command, read from a
// bundle's cilium/<node>/<command> file or from a file given loose.
type CiliumOutput struct {
	// File is the input's name as positions show it.
	File string
	// Node is the node the command ran on: the bundle folder's name, or ""
	// for a loose file (a flow may still name its node).
	Node string
	*cilium.Output
	// Data is the file's content, kept so that evidence can quote a line.
	Data []byte
}

// Line returns line n (1-based) of the file without its line ending, or "".
func (c *CiliumOutput) Line(n int) string {
	data := c.Data
	for i := 1; i < n; i++ {
		j := bytes.IndexByte(data, '\n')
		if j < 0 {
			return ""
		}
		data = data[j+1:]
	}
	if j := bytes.IndexByte(data, '\n'); j >= 0 {
		data = data[:j]
	}
	return string(bytes.TrimSuffix(data, []byte("\r")))
}

// AddCiliumOutput adds the output of a Cilium or Hubble command.
func (b *Builder) AddCiliumOutput(c *CiliumOutput) { b.s.cilium = append(b.s.cilium, c) }

// CiliumOutputs returns the Cilium and Hubble command outputs read.
func (s *Snapshot) CiliumOutputs() []*CiliumOutput { return s.cilium }
