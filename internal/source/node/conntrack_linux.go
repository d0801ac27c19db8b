//go:build linux

package node

import (
	"bufio"
	"fmt"
	"io"

	ct "github.com/ti-mo/conntrack"

	"github.com/meshdoctor/meshdoctor/internal/conntrack/ctflow"
)

// writeConntrack dumps the conntrack table of the calling thread's netns
// (both families) in `conntrack -L` format: the netlink socket belongs to
// the netns of the thread that creates it, so this runs inside inNetns.
func writeConntrack(w io.Writer) error {
	c, err := ct.Dial(nil)
	if err != nil {
		return fmt.Errorf("conntrack netlink: %w", err)
	}
	defer c.Close()
	flows, err := c.Dump(nil)
	if err != nil {
		return fmt.Errorf("conntrack dump: %w", err)
	}
	bw := bufio.NewWriter(w)
	for _, f := range flows {
		e := ctflow.ToEntry(f)
		bw.WriteString(e.String())
		bw.WriteByte('\n')
	}
	return bw.Flush()
}
