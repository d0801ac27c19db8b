package netns

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// ErrNoHostNetNS is returned by [Select] when the table neither names the
// host netns nor holds PID 1 with a known netns: without it the host cannot
// be told apart from a pod.
var ErrNoHostNetNS = errors.New("host netns unknown: no HostNetNS and no PID 1 with a netns in the table")

// member is a process with its parsed cgroup identity.
type member struct {
	proc *Process
	id   Identity
	err  error // from ParseCgroup; such a process belongs to no pod
}

// index is a validated table with every process's identity parsed once.
type index struct {
	members []member // sorted by PID
	host    NetNS    // zero if unknown
	// The slices below hold members in PID order.
	byPod     map[string][]*member // members of a pod
	byNetNS   map[NetNS][]*member  // members of any pod, by netns
	conflicts []*member            // cgroup lines naming two pods or containers
}

// newIndex checks the table (PIDs positive and unique) and parses each
// process's cgroup lines. Sorting by PID makes everything downstream
// independent of the order the table lists processes in.
func newIndex(t *Table) (*index, error) {
	ix := &index{members: make([]member, len(t.Processes)), host: t.HostNetNS}
	for i := range t.Processes {
		p := &t.Processes[i]
		if p.PID <= 0 {
			return nil, fmt.Errorf("process table: pid %d: not a process id", p.PID)
		}
		id, err := ParseCgroup(p.CgroupLines)
		ix.members[i] = member{proc: p, id: id, err: err}
	}
	slices.SortFunc(ix.members, func(a, b member) int { return cmp.Compare(a.proc.PID, b.proc.PID) })
	for i := 1; i < len(ix.members); i++ {
		if ix.members[i].proc.PID == ix.members[i-1].proc.PID {
			return nil, fmt.Errorf("process table: pid %d listed twice", ix.members[i].proc.PID)
		}
	}
	ix.byPod = make(map[string][]*member)
	ix.byNetNS = make(map[NetNS][]*member)
	for i := range ix.members {
		m := &ix.members[i]
		switch {
		case m.err != nil:
			if _, ok := errors.AsType[*ConflictError](m.err); ok {
				ix.conflicts = append(ix.conflicts, m)
			}
		case m.id.PodUID != "":
			ix.byPod[m.id.PodUID] = append(ix.byPod[m.id.PodUID], m)
			ix.byNetNS[m.proc.NetNS] = append(ix.byNetNS[m.proc.NetNS], m)
		}
	}
	if ix.host.IsZero() {
		if i, ok := slices.BinarySearchFunc(ix.members, 1, func(m member, pid int) int { return cmp.Compare(m.proc.PID, pid) }); ok {
			ix.host = ix.members[i].proc.NetNS
		}
	}
	return ix, nil
}

// checkPods rejects pod lists a selection cannot answer unambiguously.
func checkPods(pods []Pod) error {
	seen := make(map[string]bool, len(pods))
	for _, p := range pods {
		if p.UID == "" {
			return errors.New("pod with an empty UID")
		}
		if seen[p.UID] {
			return fmt.Errorf("pod %s listed twice", p.UID)
		}
		seen[p.UID] = true
	}
	return nil
}
