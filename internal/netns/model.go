package netns

import (
	"net/netip"
	"strconv"
)

// NetNS identifies a network namespace the way stat(2) on /proc/PID/ns/net
// does: inode and device. The zero value means "not known".
type NetNS struct {
	Inode uint64
	Dev   uint64
}

// IsZero reports whether the namespace is unknown (no inode).
func (n NetNS) IsZero() bool { return n.Inode == 0 }

// String is the form readlink(2) gives /proc/PID/ns/net: net:[4026531840].
func (n NetNS) String() string {
	return "net:[" + strconv.FormatUint(n.Inode, 10) + "]"
}

// compare orders namespaces by inode, then device.
func (n NetNS) compare(o NetNS) int {
	switch {
	case n.Inode != o.Inode:
		return cmpUint(n.Inode, o.Inode)
	default:
		return cmpUint(n.Dev, o.Dev)
	}
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Process is one row of a node's process table, as a node dump records it
// from /proc/PID/{stat,ns/net,cgroup}.
type Process struct {
	PID  int
	PPID int
	Comm string
	// StartTime is field 22 of /proc/PID/stat: clock ticks since boot.
	StartTime uint64
	NetNS     NetNS
	// CgroupLines are the lines of /proc/PID/cgroup,
	// "hierarchy-ID:controller-list:cgroup-path" (cgroup v1 and v2).
	CgroupLines []string
}

// Table is a node's process table plus what is known about its namespaces.
type Table struct {
	Processes []Process
	// HostNetNS is the node's own netns. Zero means: the netns of PID 1,
	// which is how Istio identifies it.
	HostNetNS NetNS
	// NetNSAddrs holds the interface addresses seen inside a netns, when
	// the dump captured them. A netns missing from the map was not looked
	// into; an entry with no addresses was, and holds none.
	NetNSAddrs map[NetNS][]netip.Addr
}

// Pod is a pod to find the netns of.
type Pod struct {
	UID string
	// IPs are the pod's status.podIPs; empty when not known yet.
	IPs []netip.Addr
}
