package netns

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Claim is one step of the old walk that assigned a netns to the pod.
type Claim struct {
	PID   int
	Comm  string
	NetNS NetNS
}

// OldSelection is the pre-fix algorithm's answer for one pod.
type OldSelection struct {
	PodUID string
	Found  bool
	NetNS  NetNS
	// PID is the process whose claim came last, and so won.
	PID int
	// IsHost reports that NetNS is the host netns (false when the table
	// does not tell the host netns).
	IsHost bool
	// Claims are every assignment of a netns to the pod, in walk order;
	// each overwrote the one before.
	Claims []Claim
	Reason string
}

// SelectOld replays Istio's node-agent /proc scan before istio/istio#55170
// (1.24.3 and earlier, 1.25 pre-releases): processes are visited in the
// order os.ReadDir lists /proc, pids sorted as strings ("10012" before
// "9998"); a process whose netns inode was already claimed, by any pod, is
// skipped; otherwise, if its cgroup names one of the pods, it claims its
// netns for that pod, replacing the pod's previous claim. No host-netns
// guard, no start-time comparison, no IP check: the last claim wins, and
// with CRI-O's conmon in the pod cgroup it can be the host netns.
//
// Pods sharing one scan matter: a netns claimed for one pod is skipped for
// the others, so pass the same pod set the agent scanned for. Processes with
// an unknown netns are skipped, as a failed stat was.
func SelectOld(t Table, pods []Pod) ([]OldSelection, error) {
	if err := checkPods(pods); err != nil {
		return nil, fmt.Errorf("select netns (old): %w", err)
	}
	ix, err := newIndex(&t)
	if err != nil {
		return nil, fmt.Errorf("select netns (old): %w", err)
	}
	want := make(map[string]int, len(pods))
	out := make([]OldSelection, len(pods))
	for i, p := range pods {
		want[p.UID] = i
		out[i].PodUID = p.UID
	}
	claimed := make(map[uint64]bool) // by inode alone, as Istio keyed it
	for _, m := range ix.walkOrder() {
		ns := m.proc.NetNS
		if ns.IsZero() || claimed[ns.Inode] || m.err != nil {
			continue
		}
		i, ok := want[m.id.PodUID]
		if !ok {
			continue
		}
		claimed[ns.Inode] = true
		o := &out[i]
		o.Claims = append(o.Claims, Claim{PID: m.proc.PID, Comm: m.proc.Comm, NetNS: ns})
		o.Found, o.NetNS, o.PID = true, ns, m.proc.PID
		o.IsHost = !ix.host.IsZero() && ns == ix.host
	}
	for i := range out {
		out[i].Reason = oldReason(&out[i])
	}
	return out, nil
}

// walkOrder lists the members as os.ReadDir("/proc") would: by name.
func (ix *index) walkOrder() []*member {
	type named struct {
		name string
		m    *member
	}
	ns := make([]named, len(ix.members))
	for i := range ix.members {
		ns[i] = named{strconv.Itoa(ix.members[i].proc.PID), &ix.members[i]}
	}
	slices.SortFunc(ns, func(a, b named) int { return strings.Compare(a.name, b.name) })
	out := make([]*member, len(ns))
	for i, n := range ns {
		out[i] = n.m
	}
	return out
}

func oldReason(o *OldSelection) string {
	if !o.Found {
		return "no process of the pod claimed a netns in the /proc walk"
	}
	last := o.Claims[len(o.Claims)-1]
	who := "pid " + strconv.Itoa(last.PID)
	if last.Comm != "" {
		who += " (" + last.Comm + ")"
	}
	s := fmt.Sprintf("%s was the last process of the pod, in /proc name order, to claim a netns not claimed before: %s", who, last.NetNS)
	if o.IsHost {
		s += ", the host netns"
	}
	if len(o.Claims) > 1 {
		s += fmt.Sprintf(" (it replaced %d earlier claim", len(o.Claims)-1)
		if len(o.Claims) > 2 {
			s += "s"
		}
		s += ")"
	}
	return s
}
