package netns

import (
	"net/netip"
	"reflect"
	"testing"
)

// Incident (a), istio/istio#55139: on a CRI-O node, conmon (CRI-O's
// per-container monitor) sits in the pod's cgroup but in the host netns.
// Pod A's pause and app containers are in A's netns, each with a conmon in
// the host netns; pod B likewise. PIDs cross a digit boundary (9998 →
// 10012), so the name-sorted /proc walk visits the pod's later conmon after
// its pause process.
const (
	podA  = "5f0c1a7e-3b7d-4c52-9a57-2f1e8d6c4b10"
	podB  = "8e2d4c6a-1b3f-4a5e-8c7d-9f0e1a2b3c4d"
	infA  = "3b1f0c9e8d7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c"
	appA  = "7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d"
	infB  = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"
	nsA   = 690
	nsB   = 801
	ipA   = "10.128.2.15"
	ipB   = "10.128.2.16"
	start = 120000
)

func incidentA() (Table, []Pod) {
	t := Table{
		Processes: []Process{
			proc(1, "systemd", 1, hostNS, "0::/init.scope"),
			hostProc(812, "crio", 900),
			hostProc(1450, "kubelet", 1200),
			proc(9998, "conmon", start, hostNS, inPod(podA, "crio-conmon-", infA)),
			proc(10012, "pause", start+3, ns(nsA), inPod(podA, "crio-", infA)),
			proc(10089, "conmon", start+150, hostNS, inPod(podA, "crio-conmon-", appA)),
			proc(10103, "python3", start+152, ns(nsA), inPod(podA, "crio-", appA)),
			proc(10240, "conmon", start+400, hostNS, inPod(podB, "crio-conmon-", infB)),
			proc(10255, "pause", start+403, ns(nsB), inPod(podB, "crio-", infB)),
		},
		NetNSAddrs: map[NetNS][]netip.Addr{
			hostNS:  addrs("127.0.0.1", "192.168.126.11", "10.128.2.1"),
			ns(nsA): addrs("127.0.0.1", "::1", ipA),
			ns(nsB): addrs("127.0.0.1", ipB),
		},
	}
	return t, []Pod{{UID: podA, IPs: addrs(ipA)}, {UID: podB, IPs: addrs(ipB)}}
}

func TestIncidentAOldPicksHost(t *testing.T) {
	table, pods := incidentA()
	got, err := SelectOld(table, pods)
	if err != nil {
		t.Fatal(err)
	}
	want := []OldSelection{{
		PodUID: podA, Found: true, NetNS: hostNS, PID: 10089, IsHost: true,
		Claims: []Claim{{10012, "pause", ns(nsA)}, {10089, "conmon", hostNS}},
		Reason: "pid 10089 (conmon) was the last process of the pod, in /proc name order, to claim a netns not claimed before: net:[4026531840], the host netns (it replaced 1 earlier claim)",
	}, {
		// B's conmon 10240 comes next in the walk, but A claimed the host
		// netns already: B keeps its own.
		PodUID: podB, Found: true, NetNS: ns(nsB), PID: 10255,
		Claims: []Claim{{10255, "pause", ns(nsB)}},
		Reason: "pid 10255 (pause) was the last process of the pod, in /proc name order, to claim a netns not claimed before: net:[4026532801]",
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestIncidentAFixedPicksPodNetns(t *testing.T) {
	table, pods := incidentA()
	got, err := Select(table, pods)
	if err != nil {
		t.Fatal(err)
	}
	want := []Selection{{
		PodUID: podA, Found: true, NetNS: ns(nsA), Owner: 10012,
		Reason: "net:[4026532690] is the netns of pid 10012 (pause), the pod's oldest process outside the host netns (started at tick 120003), and it holds pod IP 10.128.2.15",
		Ambiguities: []Ambiguity{{
			Kind: HostNetNS, NetNS: hostNS, PIDs: []int{9998, 10089},
			Detail: "the host netns net:[4026531840] holds pids 9998 (conmon), 10089 (conmon) of the pod; it is never selected",
		}},
	}, {
		PodUID: podB, Found: true, NetNS: ns(nsB), Owner: 10255,
		Reason: "net:[4026532801] is the netns of pid 10255 (pause), the pod's oldest process outside the host netns (started at tick 120403), and it holds pod IP 10.128.2.16",
		Ambiguities: []Ambiguity{{
			Kind: HostNetNS, NetNS: hostNS, PIDs: []int{10240},
			Detail: "the host netns net:[4026531840] holds pid 10240 (conmon) of the pod; it is never selected",
		}},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

// With pids that sort the same as strings and as numbers, the old walk
// meets the pod's first conmon before its pause process: the host netns is
// claimed first and overwritten by the pod's. The bug needs the order.
func TestIncidentAOldDependsOnPidOrder(t *testing.T) {
	table := Table{Processes: []Process{
		proc(1, "systemd", 1, hostNS, "0::/init.scope"),
		proc(4711, "conmon", start, hostNS, inPod(podA, "crio-conmon-", infA)),
		proc(4725, "pause", start+3, ns(nsA), inPod(podA, "crio-", infA)),
		proc(4802, "conmon", start+150, hostNS, inPod(podA, "crio-conmon-", appA)),
		proc(4815, "python3", start+152, ns(nsA), inPod(podA, "crio-", appA)),
	}}
	got, err := SelectOld(table, []Pod{{UID: podA}})
	if err != nil {
		t.Fatal(err)
	}
	want := OldSelection{
		PodUID: podA, Found: true, NetNS: ns(nsA), PID: 4725,
		Claims: []Claim{{4711, "conmon", hostNS}, {4725, "pause", ns(nsA)}},
		Reason: "pid 4725 (pause) was the last process of the pod, in /proc name order, to claim a netns not claimed before: net:[4026532690] (it replaced 1 earlier claim)",
	}
	if !reflect.DeepEqual(got, []OldSelection{want}) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}
