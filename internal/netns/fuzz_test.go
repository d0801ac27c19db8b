package netns

import (
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"testing"
)

var fuzzPods = []string{podA, podB, podP}

// fuzzTable decodes bytes into a small node: five bytes per process (pid,
// netns, pod, start time, runtime), netns 1 being the host's, and a few
// netns whose captured addresses may or may not hold the pods' IPs.
func fuzzTable(data []byte) (Table, []Pod) {
	var t Table
	if len(data) > 0 && data[0]&1 == 1 {
		t.HostNetNS = hostNS // else PID 1, when decoded, says
	}
	podIPs := addrs("10.0.0.1", "10.0.0.2", "10.0.0.3")
	var pods []Pod
	for i, uid := range fuzzPods {
		p := Pod{UID: uid}
		if len(data) > 1 && data[1]>>i&1 == 1 {
			p.IPs = podIPs[i : i+1]
		}
		pods = append(pods, p)
	}
	if len(data) > 2 {
		t.NetNSAddrs = map[NetNS][]netip.Addr{}
		for n := range uint64(3) {
			switch data[2] >> (2 * n) & 3 {
			case 1:
				t.NetNSAddrs[ns(n)] = nil
			case 2:
				t.NetNSAddrs[ns(n)] = podIPs[n : n+1]
			case 3:
				t.NetNSAddrs[ns(n)] = podIPs
			}
		}
	}
	seen := map[int]bool{}
	for rest := data[min(3, len(data)):]; len(rest) >= 5; rest = rest[5:] {
		pid := 1 + int(rest[0])*13%1200
		if seen[pid] {
			continue
		}
		seen[pid] = true
		var netns NetNS
		switch k := rest[1] % 5; k {
		case 0: // unknown
		case 1:
			netns = hostNS
		default:
			netns = ns(uint64(k - 2))
		}
		scope := [...]string{"crio-", "crio-conmon-", "cri-containerd-", "docker-"}[rest[4]%4]
		var cgroup []string
		switch k := int(rest[2] % 5); k {
		case 0:
			cgroup = []string{"0::/system.slice/sshd.service"}
		case 4:
			cgroup = []string{inPod(podA, scope, "c1"), inPod(podB, scope, "c1")}
		default:
			cgroup = []string{inPod(fuzzPods[k-1], scope, "c"+string(rune('0'+rest[2]/5%3)))}
		}
		t.Processes = append(t.Processes, proc(pid, "p", uint64(rest[3]%8), netns, cgroup...))
	}
	return t, pods
}

func FuzzSelect(f *testing.F) {
	table, _ := incidentA()
	var seed []byte
	for _, p := range table.Processes {
		seed = append(seed, byte(p.PID), byte(p.NetNS.Inode%5), byte(p.PID%5), byte(p.StartTime), byte(p.PID/7))
	}
	f.Add(append([]byte{0, 7, 0x2a}, seed...))
	f.Add([]byte{1, 0, 0, 0, 1, 1, 0, 0, 5, 2, 1, 3, 0, 9, 3, 2, 3, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		table, pods := fuzzTable(data)
		sels, err := Select(table, pods)
		olds, oldErr := SelectOld(table, pods)
		if oldErr != nil {
			t.Fatalf("old selection: %v", oldErr)
		}
		shuffled := table
		shuffled.Processes = slices.Clone(table.Processes)
		rng := rand.New(rand.NewPCG(uint64(len(data)), 7))
		rng.Shuffle(len(shuffled.Processes), func(i, j int) {
			shuffled.Processes[i], shuffled.Processes[j] = shuffled.Processes[j], shuffled.Processes[i]
		})
		sels2, err2 := Select(shuffled, pods)
		olds2, _ := SelectOld(shuffled, pods)
		if !reflect.DeepEqual(sels, sels2) || (err == nil) != (err2 == nil) {
			t.Fatalf("Select depends on the process order:\n%+v %v\n%+v %v", sels, err, sels2, err2)
		}
		if !reflect.DeepEqual(olds, olds2) {
			t.Fatalf("SelectOld depends on the process order:\n%+v\n%+v", olds, olds2)
		}
		if err != nil {
			return
		}
		host := table.HostNetNS
		for _, p := range table.Processes {
			if host.IsZero() && p.PID == 1 {
				host = p.NetNS // no error: PID 1 is there with a netns
			}
		}
		for i, s := range sels {
			checkSelection(t, table, host, pods[i], s)
		}
		for _, o := range olds {
			if o.Found != (len(o.Claims) > 0) || o.Found && (o.NetNS != o.Claims[len(o.Claims)-1].NetNS || o.IsHost != (o.NetNS == host)) {
				t.Fatalf("old selection inconsistent with its claims: %+v", o)
			}
		}
	})
}

// checkSelection holds the fixed selection to its promises, the choice
// recomputed by brute force: the oldest process of the pod outside the host
// netns whose netns is not refused by the IP check.
func checkSelection(t *testing.T, table Table, host NetNS, pod Pod, s Selection) {
	t.Helper()
	var best *Process
	for i := range table.Processes {
		p := &table.Processes[i]
		id, err := ParseCgroup(p.CgroupLines)
		if err != nil || id.PodUID != pod.UID || p.NetNS.IsZero() || p.NetNS == host {
			continue
		}
		if a, looked := table.NetNSAddrs[p.NetNS]; len(pod.IPs) > 0 && looked && !holdsAny(a, pod.IPs) {
			continue
		}
		if best == nil || p.StartTime < best.StartTime || p.StartTime == best.StartTime && p.PID < best.PID {
			best = p
		}
	}
	switch {
	case s.Found && s.NetNS == host:
		t.Fatalf("selected the host netns: %+v", s)
	case best == nil && s.Found, best != nil && (!s.Found || s.NetNS != best.NetNS || s.Owner != best.PID):
		t.Fatalf("pod %s: selected %+v, want the netns of %+v", pod.UID, s, best)
	}
	for _, a := range s.Ambiguities {
		if len(a.PIDs) == 0 || !slices.IsSorted(a.PIDs) || a.Detail == "" {
			t.Fatalf("ambiguity without sorted pids or detail: %+v", a)
		}
	}
	if !slices.IsSortedFunc(s.Ambiguities, compareAmbiguities) {
		t.Fatalf("ambiguities out of order: %+v", s.Ambiguities)
	}
}
