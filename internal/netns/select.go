package netns

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Selection is the fixed algorithm's answer for one pod.
type Selection struct {
	PodUID string
	Found  bool
	NetNS  NetNS // zero when not found
	// Owner is the pid of the pod's oldest process in NetNS.
	Owner int
	// Reason says in one sentence why NetNS was chosen, or why none was.
	Reason      string
	Ambiguities []Ambiguity
}

// candidate is one non-host netns holding processes of the pod.
type candidate struct {
	netns   NetNS
	members []*member // ascending pid
	owner   *member   // oldest: lowest start time, then lowest pid
}

// Select finds each pod's netns with the algorithm Istio adopted after
// incident (a) (istio/istio#55170, 1.24.4/1.25.0) and its 2026 pod-IP check
// (#61211):
//
//   - a process belongs to the pod its cgroup lines name ([ParseCgroup]);
//   - processes in the host netns are ignored, so the host netns is never
//     selected;
//   - when the pod's IPs and a netns's addresses are both known, a netns
//     holding none of the IPs is refused;
//   - among the remaining netns, the one whose oldest process of the pod
//     started first wins (ties: the lower pid).
//
// Unlike Istio it does not depend on the order of /proc and does not let
// one pod's claim on a netns hide it from another pod: such a netns is
// reported as [SharedNetNS] instead. Unlike Istio's current code, a pod with
// no known IPs still gets a netns, marked [Unverified].
//
// The result has one Selection per pod, in the order given. The error is
// about the input: a bad pid or pod list, or [ErrNoHostNetNS].
func Select(t Table, pods []Pod) ([]Selection, error) {
	if err := checkPods(pods); err != nil {
		return nil, fmt.Errorf("select netns: %w", err)
	}
	ix, err := newIndex(&t)
	if err != nil {
		return nil, fmt.Errorf("select netns: %w", err)
	}
	if ix.host.IsZero() {
		return nil, fmt.Errorf("select netns: %w", ErrNoHostNetNS)
	}
	out := make([]Selection, len(pods))
	for i, pod := range pods {
		out[i] = ix.selectPod(&t, pod)
	}
	return out, nil
}

func (ix *index) selectPod(t *Table, pod Pod) Selection {
	sel := Selection{PodUID: pod.UID}
	cands := ix.candidates(&sel, pod.UID)
	hadCandidates := len(cands) > 0
	cands = sel.refuseForeign(t, pod, cands)
	if len(cands) == 0 {
		sel.Reason = noneReason(hadCandidates, sel.has(HostNetNS), sel.has(CgroupConflict) || sel.has(NetNSUnknown))
		sortAmbiguities(sel.Ambiguities)
		return sel
	}
	best := sel.choose(cands)
	sel.verify(t, pod, best)
	if others := ix.otherPods(best.netns, pod.UID); len(others) > 0 {
		sel.add(SharedNetNS, best.netns, others, fmt.Sprintf("%s also holds %s of %s", best.netns, describe(others), podUIDs(others)))
	}
	sortAmbiguities(sel.Ambiguities)
	return sel
}

// candidates groups the pod's processes by non-host netns, noting the ones
// skipped: conflicting cgroup lines, unknown netns, the host netns.
func (ix *index) candidates(sel *Selection, uid string) []*candidate {
	var conflicts, unknown, onHost []*member
	var cands []*candidate
	for _, m := range ix.conflicts {
		if namesPod(m.err, uid) {
			conflicts = append(conflicts, m)
		}
	}
	for _, m := range ix.byPod[uid] {
		switch ns := m.proc.NetNS; {
		case ns.IsZero():
			unknown = append(unknown, m)
		case ns == ix.host:
			onHost = append(onHost, m)
		default:
			cands = addToCandidate(cands, m)
		}
	}
	if len(conflicts) > 0 {
		sel.add(CgroupConflict, NetNS{}, conflicts, "the cgroup lines of "+describe(conflicts)+" name this pod and another pod or container; skipped")
	}
	if len(unknown) > 0 {
		sel.add(NetNSUnknown, NetNS{}, unknown, "no netns is known for "+describe(unknown)+" of the pod; skipped")
	}
	if len(onHost) > 0 {
		sel.add(HostNetNS, ix.host, onHost, "the host netns "+ix.host.String()+" holds "+describe(onHost)+" of the pod; it is never selected")
	}
	return cands
}

// refuseForeign drops the netns known to hold none of the pod's known IPs:
// a process of the pod visiting another pod's netns (nsenter, a debugger).
func (sel *Selection) refuseForeign(t *Table, pod Pod, cands []*candidate) []*candidate {
	return slices.DeleteFunc(cands, func(c *candidate) bool {
		addrs, looked := t.NetNSAddrs[c.netns]
		if len(pod.IPs) == 0 || !looked || holdsAny(addrs, pod.IPs) {
			return false
		}
		sel.add(IPMismatch, c.netns, c.members, fmt.Sprintf("%s holds %s of the pod but none of the pod's IPs (%s; it holds %s); refused",
			c.netns, describe(c.members), addrList(pod.IPs), addrList(addrs)))
		return true
	})
}

// choose takes the netns of the oldest owner and notes the others.
func (sel *Selection) choose(cands []*candidate) *candidate {
	slices.SortFunc(cands, func(a, b *candidate) int { return older(a.owner, b.owner) })
	best := cands[0]
	sel.Found, sel.NetNS, sel.Owner = true, best.netns, best.owner.proc.PID
	sel.Reason = fmt.Sprintf("%s is the netns of %s, the pod's oldest process outside the host netns (started at %s)",
		best.netns, describe([]*member{best.owner}), tick(best.owner.proc.StartTime))
	for _, c := range cands[1:] {
		if c.owner.proc.StartTime == best.owner.proc.StartTime {
			sel.add(StartTimeTie, c.netns, c.members, fmt.Sprintf("%s holds %s of the pod too; its oldest, pid %d, started at the same %s as pid %d in %s; the lower pid won",
				c.netns, describe(c.members), c.owner.proc.PID, tick(c.owner.proc.StartTime), best.owner.proc.PID, best.netns))
			continue
		}
		sel.add(SeveralNetNS, c.netns, c.members, fmt.Sprintf("%s holds %s of the pod too; its oldest, pid %d, started at %s, after pid %d at %s",
			c.netns, describe(c.members), c.owner.proc.PID, tick(c.owner.proc.StartTime), best.owner.proc.PID, tick(best.owner.proc.StartTime)))
	}
	return best
}

// verify says which pod IP the chosen netns holds, or why that is unknown.
func (sel *Selection) verify(t *Table, pod Pod, best *candidate) {
	addrs, looked := t.NetNSAddrs[best.netns]
	switch {
	case len(pod.IPs) == 0:
		sel.add(Unverified, best.netns, best.members, "the pod's IPs are not known, so "+best.netns.String()+" was not checked to hold one")
	case !looked:
		sel.add(Unverified, best.netns, best.members, "the addresses in "+best.netns.String()+" were not captured, so it was not checked to hold a pod IP")
	default:
		sel.Reason += fmt.Sprintf(", and it holds pod IP %s", firstHeld(addrs, pod.IPs))
	}
}

func (s *Selection) add(k Kind, ns NetNS, ms []*member, detail string) {
	s.Ambiguities = append(s.Ambiguities, Ambiguity{Kind: k, NetNS: ns, PIDs: pids(ms), Detail: detail})
}

func (s *Selection) has(k Kind) bool {
	return slices.ContainsFunc(s.Ambiguities, func(a Ambiguity) bool { return a.Kind == k })
}

func addToCandidate(cands []*candidate, m *member) []*candidate {
	for _, c := range cands {
		if c.netns == m.proc.NetNS {
			c.members = append(c.members, m)
			if older(m, c.owner) < 0 {
				c.owner = m
			}
			return cands
		}
	}
	return append(cands, &candidate{netns: m.proc.NetNS, members: []*member{m}, owner: m})
}

// older orders processes by start time, then pid: negative if a is older.
func older(a, b *member) int {
	if a.proc.StartTime != b.proc.StartTime {
		return cmpUint(a.proc.StartTime, b.proc.StartTime)
	}
	return a.proc.PID - b.proc.PID
}

// namesPod reports whether a cgroup parse error is a conflict involving uid.
func namesPod(err error, uid string) bool {
	ce, ok := errors.AsType[*ConflictError](err)
	return ok && (ce.First.PodUID == uid || ce.Second.PodUID == uid)
}

// otherPods lists the processes of pods other than uid in ns.
func (ix *index) otherPods(ns NetNS, uid string) []*member {
	var out []*member
	for _, m := range ix.byNetNS[ns] {
		if m.id.PodUID != uid {
			out = append(out, m)
		}
	}
	return out
}

func podUIDs(ms []*member) string {
	var uids []string
	for _, m := range ms {
		uids = append(uids, m.id.PodUID)
	}
	slices.Sort(uids)
	uids = slices.Compact(uids)
	if len(uids) == 1 {
		return "pod " + uids[0]
	}
	return "pods " + strings.Join(uids, ", ")
}

func noneReason(hadCandidates, onHost, skipped bool) string {
	switch {
	case hadCandidates:
		return "every netns of the pod's processes outside the host netns holds none of the pod's IPs"
	case onHost:
		return "every process of the pod with a known netns is in the host netns"
	case skipped:
		return "no process of the pod has a known netns and consistent cgroup lines"
	}
	return "no process of the pod is in the table"
}

// holdsAny compares addresses with IPv4-mapped IPv6 unmapped, as Istio does.
func holdsAny(addrs, ips []netip.Addr) bool {
	return firstHeld(addrs, ips).IsValid()
}

func firstHeld(addrs, ips []netip.Addr) netip.Addr {
	for _, ip := range ips {
		if !ip.IsValid() {
			continue
		}
		for _, a := range addrs {
			if a.Unmap() == ip.Unmap() {
				return ip
			}
		}
	}
	return netip.Addr{}
}

func addrList(as []netip.Addr) string {
	if len(as) == 0 {
		return "no address"
	}
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}
