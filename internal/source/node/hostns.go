package node

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// hostNetns says which netns is the host's and how it was found.
type hostNetns struct {
	id   NetnsID
	path string // a file to open to enter it
	from string // meta.json hostNetnsFrom
}

// selfNetns is the tool's own netns, the fallback when PID 1's is
// unreadable (a pod without hostPID sees its own PID 1 or none). It is the
// real /proc whatever Options.Proc says: it names this process.
const selfNetns = "/proc/self/ns/net"

// findHostNetns stats the override if one is given, else <proc>/1/ns/net,
// else the tool's own netns. fallbackErr is set when PID 1's netns was
// unreadable and the tool's own was used instead.
func findHostNetns(proc, override string) (h hostNetns, fallbackErr, err error) {
	if override != "" {
		id, err := statNetns(override)
		if err != nil {
			return hostNetns{}, nil, fmt.Errorf("host netns %s: %w", override, err)
		}
		return hostNetns{id: id, path: override, from: override}, nil, nil
	}
	pid1 := filepath.Join(proc, "1", "ns", "net")
	id, err1 := statNetns(pid1)
	if err1 == nil {
		return hostNetns{id: id, path: pid1, from: "proc/1"}, nil, nil
	}
	id, err = statNetns(selfNetns)
	if err != nil {
		return hostNetns{}, nil, fmt.Errorf("host netns: %s: %v; %s: %w", pid1, err1, selfNetns, err)
	}
	return hostNetns{id: id, path: selfNetns, from: "self"}, fmt.Errorf("%s: %w (using the tool's own netns)", pid1, err1), nil
}

func statNetns(path string) (NetnsID, error) {
	var sb syscall.Stat_t
	if err := syscall.Stat(path, &sb); err != nil {
		return NetnsID{}, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	return NetnsID{Inode: sb.Ino, Dev: uint64(sb.Dev)}, nil
}
