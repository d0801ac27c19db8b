// Package netns finds the network namespace of a Kubernetes pod in a node's
// process table, the way Istio's CNI node agent does when it scans /proc,
// so that meshdoctor can say which netns the agent would program.
//
// Two selections are implemented over the same [Table]:
//
//   - [Select], the fixed one (Istio 1.24.4/1.25.0 and later, plus the
//     2026 pod-IP check): never the host netns; among several candidate
//     netns the one whose oldest process of the pod started first; a netns
//     holding none of the pod's IPs is refused when both are known; and
//     every ambiguity met on the way is reported with the pids involved.
//   - [SelectOld], the one before istio/istio#55170: walk the pids sorted
//     as strings (as os.ReadDir lists /proc) and keep the last process of
//     the pod whose netns had not been claimed yet. On CRI-O, whose conmon
//     runs in the pod's cgroup but in the host netns, that can be the host
//     netns (incident (a), istio/istio#55139).
//
// A process belongs to a pod through its /proc/PID/cgroup lines, parsed by
// [ParseCgroupLine] and [ParseCgroup] with the semantics of Istio's
// GetPodUIDAndContainerID (itself taken from SPIRE).
//
// Nothing here reads /proc: the caller supplies the table.
package netns
