package node

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"time"
)

// readKernel fills the kernel release and boot time from the procfs root,
// so a dump of another root (a host's /proc in a pod) describes that host.
func (c *collector) readKernel(meta *Meta) {
	var r fileReader
	if b, err := r.read(filepath.Join(c.opts.Proc, "sys", "kernel", "osrelease")); err != nil {
		c.errs.add("meta.json kernel", err)
	} else {
		meta.Kernel = string(bytes.TrimSpace(b))
	}
	b, err := r.read(filepath.Join(c.opts.Proc, "stat"))
	if err == nil {
		var bt time.Time
		if bt, err = bootTime(b); err == nil {
			meta.BootTime = bt.UTC().Format(time.RFC3339)
		}
	}
	if err != nil {
		c.errs.add("meta.json bootTime", err)
	}
}

// bootTime reads the "btime <seconds since the epoch>" line of /proc/stat.
func bootTime(stat []byte) (time.Time, error) {
	for line := range bytes.Lines(stat) {
		v, ok := bytes.CutPrefix(line, []byte("btime "))
		if !ok {
			continue
		}
		sec, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("stat: btime: %w", err)
		}
		return time.Unix(sec, 0), nil
	}
	return time.Time{}, errors.New("stat: no btime line")
}
