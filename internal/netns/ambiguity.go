package netns

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// Kind classifies an [Ambiguity].
type Kind string

// The ambiguities [Select] reports, in the order it lists them.
const (
	// CgroupConflict: a process's cgroup lines name this pod and another
	// pod or container; the process was skipped.
	CgroupConflict Kind = "cgroup-conflict"
	// NetNSUnknown: processes of the pod whose netns the table does not
	// know; they were skipped.
	NetNSUnknown Kind = "netns-unknown"
	// HostNetNS: processes of the pod in the host netns (CRI-O's conmon,
	// a hostNetwork pod); the host netns is never selected.
	HostNetNS Kind = "host-netns"
	// IPMismatch: a netns of the pod's processes holds none of the pod's
	// IPs; it was refused.
	IPMismatch Kind = "ip-mismatch"
	// SeveralNetNS: the pod's processes are in another non-host netns too,
	// whose oldest process started later than the chosen one's.
	SeveralNetNS Kind = "several-netns"
	// StartTimeTie: another netns's oldest process started at the same
	// tick as the chosen one's; the lower pid won.
	StartTimeTie Kind = "start-time-tie"
	// Unverified: the chosen netns could not be checked against the pod's
	// IPs (pod IPs unknown, or the netns's addresses not captured).
	Unverified Kind = "unverified"
	// SharedNetNS: the chosen netns also holds processes of other pods.
	SharedNetNS Kind = "shared-netns"
)

var kindOrder = []Kind{CgroupConflict, NetNSUnknown, HostNetNS, IPMismatch, SeveralNetNS, StartTimeTie, Unverified, SharedNetNS}

// Ambiguity is something met while selecting a pod's netns that a reader
// should know about, with the processes involved.
type Ambiguity struct {
	Kind  Kind
	NetNS NetNS // the netns concerned; zero for CgroupConflict and NetNSUnknown
	PIDs  []int // ascending
	// Detail is one sentence naming the pids.
	Detail string
}

// sortAmbiguities orders by kind, then netns, then pids, so the report
// does not depend on the order candidates were met in.
func sortAmbiguities(as []Ambiguity) { slices.SortFunc(as, compareAmbiguities) }

func compareAmbiguities(a, b Ambiguity) int {
	if c := cmp.Compare(slices.Index(kindOrder, a.Kind), slices.Index(kindOrder, b.Kind)); c != 0 {
		return c
	}
	if c := a.NetNS.compare(b.NetNS); c != 0 {
		return c
	}
	return slices.Compare(a.PIDs, b.PIDs)
}

// pids lists the members' pids, ascending (members come sorted).
func pids(ms []*member) []int {
	out := make([]int, len(ms))
	for i, m := range ms {
		out[i] = m.proc.PID
	}
	return out
}

// describe writes "pid 4711 (conmon)" or "pids 4711 (conmon), 4725 (pause)".
func describe(ms []*member) string {
	var b strings.Builder
	b.WriteString("pid")
	if len(ms) > 1 {
		b.WriteString("s")
	}
	for i, m := range ms {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(" ")
		b.WriteString(strconv.Itoa(m.proc.PID))
		if m.proc.Comm != "" {
			b.WriteString(" (" + m.proc.Comm + ")")
		}
	}
	return b.String()
}

func tick(t uint64) string { return "tick " + strconv.FormatUint(t, 10) }
