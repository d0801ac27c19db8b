package netns

import "fmt"

// Identity is what a process's cgroup lines say about it.
type Identity struct {
	PodUID      string // "" for a process outside any pod (or CRI-O without a pod segment)
	ContainerID string // "" for a process outside any container
	Runtime     Runtime
}

// ConflictError is returned by [ParseCgroup] when the lines of one process
// name two containers, or one container under two pods. Istio skips such a
// process; so do both selections here.
type ConflictError struct {
	// First and Second are the identities from the two disagreeing lines.
	First, Second Identity
}

func (e *ConflictError) Error() string {
	if e.First.ContainerID != e.Second.ContainerID {
		return fmt.Sprintf("multiple container IDs in cgroups (%s, %s)", e.First.ContainerID, e.Second.ContainerID)
	}
	return fmt.Sprintf("multiple pod UIDs in cgroups (%q, %q)", e.First.PodUID, e.Second.PodUID)
}

// ParseCgroup reads the lines of /proc/PID/cgroup into the process's pod
// UID and container ID. Empty lines are skipped (a dump's trailing newline);
// any other malformed line fails the whole process, as in Istio. Lines that
// name no container are ignored, and all that do must agree: the first
// container ID found is kept, and a different one, or the same one under a
// different pod UID, is a *ConflictError.
func ParseCgroup(lines []string) (Identity, error) {
	var id Identity
	var lastPath string
	for i, line := range lines {
		if line == "" {
			continue
		}
		l, err := splitCgroupLine(line)
		if err != nil {
			return Identity{}, fmt.Errorf("cgroup line %d: %w", i+1, err)
		}
		// cgroup v1 repeats one path for every controller: read it once.
		if i > 0 && l.Path == lastPath {
			continue
		}
		lastPath = l.Path
		var found Identity
		var ok bool
		if found.PodUID, found.ContainerID, found.Runtime, ok = containerOfPath(l.Path); !ok {
			continue
		}
		switch {
		case id.ContainerID == "":
			id = found
		case id.ContainerID != found.ContainerID, id.PodUID != found.PodUID:
			return Identity{}, &ConflictError{First: id, Second: found}
		}
	}
	return id, nil
}
