package node

import (
	"cmp"
	"path/filepath"
	"slices"
	"strconv"
)

// netnsJobs groups the processes by netns: one job per distinct netns,
// the host's first (even when no listed process is in it), then by inode.
// A job enters its netns through the first of its processes that is still
// there; the host's through the host netns file first.
func netnsJobs(procs []Proc, host *hostNetns, proc string) []netnsJob {
	byID := map[NetnsID]*netnsJob{}
	var jobs []*netnsJob
	add := func(id NetnsID) *netnsJob {
		j, ok := byID[id]
		if !ok {
			j = &netnsJob{id: id}
			byID[id] = j
			jobs = append(jobs, j)
		}
		return j
	}
	if host != nil {
		j := add(host.id)
		j.host = true
		j.paths = append(j.paths, host.path)
	}
	for _, p := range procs {
		if p.Netns == nil {
			continue
		}
		j := add(*p.Netns)
		j.pids = append(j.pids, p.PID)
		j.paths = append(j.paths, filepath.Join(proc, strconv.Itoa(p.PID), "ns", "net"))
	}
	slices.SortStableFunc(jobs, func(a, b *netnsJob) int {
		if a.host != b.host {
			if a.host {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.id.Inode, b.id.Inode)
	})
	out := make([]netnsJob, len(jobs))
	for i, j := range jobs {
		out[i] = *j
	}
	return out
}
