package node

import (
	"fmt"
	"log/slog"
	"os"
)

// Options says where to read from and what to record.
type Options struct {
	// Proc is the procfs root, "/proc" by default; in a privileged pod
	// with the host's /proc mounted, e.g. "/host/proc". Any directory laid
	// out like /proc is accepted.
	Proc string
	// HostNetNS, when set, is the file of the host netns (e.g. a
	// /run/netns/<name> mount). By default it is <Proc>/1/ns/net, or the
	// tool's own netns when PID 1's is unreadable; meta.json's
	// hostNetnsFrom records which.
	HostNetNS string
	// NodeName names the node folder's node; the hostname by default.
	NodeName string
	// Tool is meta.json's "tool", the collector's name and version.
	Tool string
	// Log receives progress; nil discards it.
	Log *slog.Logger
}

func (o Options) withDefaults() (Options, error) {
	if o.Proc == "" {
		o.Proc = "/proc"
	}
	if o.NodeName == "" {
		h, err := os.Hostname()
		if err != nil {
			return o, fmt.Errorf("node name: %w", err)
		}
		o.NodeName = h
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o, nil
}
