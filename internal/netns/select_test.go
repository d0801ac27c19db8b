package netns

import (
	"errors"
	"net/netip"
	"reflect"
	"testing"
)

const (
	podP = "11111111-2222-3333-4444-555555555555"
	podQ = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
)

// base is a containerd node: systemd and kubelet on the host, pod P's
// pause (pid 300) and app (pid 320) in netns 4026532300.
func base() []Process {
	return []Process{
		proc(1, "systemd", 1, hostNS, "0::/init.scope"),
		hostProc(200, "kubelet", 50),
		proc(300, "pause", 1000, ns(300), inPod(podP, "cri-containerd-", "c0ffee01")),
		proc(320, "app", 1010, ns(300), inPod(podP, "cri-containerd-", "c0ffee02")),
	}
}

func TestSelect(t *testing.T) {
	for _, tc := range []struct {
		name  string
		table Table
		pod   Pod
		want  Selection
	}{
		{
			name:  "containerd pod, IPs verified",
			table: Table{Processes: base(), NetNSAddrs: map[NetNS][]netip.Addr{ns(300): addrs("127.0.0.1", "10.0.0.5")}},
			pod:   Pod{UID: podP, IPs: addrs("10.0.0.5")},
			want: Selection{PodUID: podP, Found: true, NetNS: ns(300), Owner: 300,
				Reason: "net:[4026532300] is the netns of pid 300 (pause), the pod's oldest process outside the host netns (started at tick 1000), and it holds pod IP 10.0.0.5"},
		},
		{
			name:  "an IPv4-mapped address counts as the IPv4 one",
			table: Table{Processes: base(), NetNSAddrs: map[NetNS][]netip.Addr{ns(300): addrs("::ffff:10.0.0.5")}},
			pod:   Pod{UID: podP, IPs: addrs("fd00::5", "10.0.0.5")},
			want: Selection{PodUID: podP, Found: true, NetNS: ns(300), Owner: 300,
				Reason: "net:[4026532300] is the netns of pid 300 (pause), the pod's oldest process outside the host netns (started at tick 1000), and it holds pod IP 10.0.0.5"},
		},
		{
			name:  "pod IPs unknown",
			table: Table{Processes: base()},
			pod:   Pod{UID: podP},
			want: Selection{PodUID: podP, Found: true, NetNS: ns(300), Owner: 300,
				Reason: "net:[4026532300] is the netns of pid 300 (pause), the pod's oldest process outside the host netns (started at tick 1000)",
				Ambiguities: []Ambiguity{{Kind: Unverified, NetNS: ns(300), PIDs: []int{300, 320},
					Detail: "the pod's IPs are not known, so net:[4026532300] was not checked to hold one"}}},
		},
		{
			name:  "netns addresses not captured",
			table: Table{Processes: base(), NetNSAddrs: map[NetNS][]netip.Addr{hostNS: addrs("192.168.1.10")}},
			pod:   Pod{UID: podP, IPs: addrs("10.0.0.5")},
			want: Selection{PodUID: podP, Found: true, NetNS: ns(300), Owner: 300,
				Reason: "net:[4026532300] is the netns of pid 300 (pause), the pod's oldest process outside the host netns (started at tick 1000)",
				Ambiguities: []Ambiguity{{Kind: Unverified, NetNS: ns(300), PIDs: []int{300, 320},
					Detail: "the addresses in net:[4026532300] were not captured, so it was not checked to hold a pod IP"}}},
		},
		{
			// A helper of the pod (pid 250, started later) made a netns of
			// its own: the pause process's netns is older.
			name: "several netns: the oldest process's wins",
			table: Table{Processes: append(base(),
				proc(250, "helper", 1500, ns(250), inPod(podP, "cri-containerd-", "c0ffee03")),
				proc(251, "helper", 1501, ns(250), inPod(podP, "cri-containerd-", "c0ffee03")))},
			pod: Pod{UID: podP},
			want: Selection{PodUID: podP, Found: true, NetNS: ns(300), Owner: 300,
				Reason: "net:[4026532300] is the netns of pid 300 (pause), the pod's oldest process outside the host netns (started at tick 1000)",
				Ambiguities: []Ambiguity{
					{Kind: SeveralNetNS, NetNS: ns(250), PIDs: []int{250, 251},
						Detail: "net:[4026532250] holds pids 250 (helper), 251 (helper) of the pod too; its oldest, pid 250, started at tick 1500, after pid 300 at tick 1000"},
					{Kind: Unverified, NetNS: ns(300), PIDs: []int{300, 320},
						Detail: "the pod's IPs are not known, so net:[4026532300] was not checked to hold one"},
				}},
		},
		{
			// Listed newest first: ambiguities still come in netns order,
			// and the other pods sharing the netns are named once each.
			name: "three netns and two other pods",
			table: Table{Processes: append([]Process{
				proc(700, "sh", 3000, ns(300), inPod(podQ, "crio-", "q1")),
				proc(650, "sh", 2900, ns(300), inPod(podA, "crio-", "a1")),
				proc(600, "sh", 2800, ns(300), inPod(podQ, "crio-", "q1")),
				proc(250, "helper", 1200, ns(250), inPod(podP, "cri-containerd-", "c0ffee03")),
				proc(210, "helper", 1500, ns(210), inPod(podP, "cri-containerd-", "c0ffee04")),
			}, base()...)},
			pod: Pod{UID: podP},
			want: Selection{PodUID: podP, Found: true, NetNS: ns(300), Owner: 300,
				Reason: "net:[4026532300] is the netns of pid 300 (pause), the pod's oldest process outside the host netns (started at tick 1000)",
				Ambiguities: []Ambiguity{
					{Kind: SeveralNetNS, NetNS: ns(210), PIDs: []int{210},
						Detail: "net:[4026532210] holds pid 210 (helper) of the pod too; its oldest, pid 210, started at tick 1500, after pid 300 at tick 1000"},
					{Kind: SeveralNetNS, NetNS: ns(250), PIDs: []int{250},
						Detail: "net:[4026532250] holds pid 250 (helper) of the pod too; its oldest, pid 250, started at tick 1200, after pid 300 at tick 1000"},
					{Kind: Unverified, NetNS: ns(300), PIDs: []int{300, 320},
						Detail: "the pod's IPs are not known, so net:[4026532300] was not checked to hold one"},
					{Kind: SharedNetNS, NetNS: ns(300), PIDs: []int{600, 650, 700},
						Detail: "net:[4026532300] also holds pids 600 (sh), 650 (sh), 700 (sh) of pods " + podA + ", " + podQ},
				}},
		},
		{
			name: "start-time tie: the lower pid wins",
			table: Table{Processes: append(base(),
				proc(350, "other", 1000, ns(350), inPod(podP, "cri-containerd-", "c0ffee03"))),
				NetNSAddrs: map[NetNS][]netip.Addr{ns(300): addrs("10.0.0.5"), ns(350): addrs("10.0.0.5")}},
			pod: Pod{UID: podP, IPs: addrs("10.0.0.5")},
			want: Selection{PodUID: podP, Found: true, NetNS: ns(300), Owner: 300,
				Reason: "net:[4026532300] is the netns of pid 300 (pause), the pod's oldest process outside the host netns (started at tick 1000), and it holds pod IP 10.0.0.5",
				Ambiguities: []Ambiguity{{Kind: StartTimeTie, NetNS: ns(350), PIDs: []int{350},
					Detail: "net:[4026532350] holds pid 350 (other) of the pod too; its oldest, pid 350, started at the same tick 1000 as pid 300 in net:[4026532300]; the lower pid won"}}},
		},
		{
			// A process carrying P's cgroup was moved into Q's netns (an
			// nsenter, a debug tool): older than P's pause, but Q's netns
			// does not hold P's IP.
			name: "foreign netns refused by the IP check",
			table: Table{Processes: append(base(),
				proc(290, "nsenter", 900, ns(400), inPod(podP, "cri-containerd-", "c0ffee01")),
				proc(400, "pause", 800, ns(400), inPod(podQ, "cri-containerd-", "beef01"))),
				NetNSAddrs: map[NetNS][]netip.Addr{ns(300): addrs("10.0.0.5"), ns(400): addrs("10.0.0.9")}},
			pod: Pod{UID: podP, IPs: addrs("10.0.0.5")},
			want: Selection{PodUID: podP, Found: true, NetNS: ns(300), Owner: 300,
				Reason: "net:[4026532300] is the netns of pid 300 (pause), the pod's oldest process outside the host netns (started at tick 1000), and it holds pod IP 10.0.0.5",
				Ambiguities: []Ambiguity{{Kind: IPMismatch, NetNS: ns(400), PIDs: []int{290},
					Detail: "net:[4026532400] holds pid 290 (nsenter) of the pod but none of the pod's IPs (10.0.0.5; it holds 10.0.0.9); refused"}}},
		},
		{
			name: "the same, seen from Q: its netns is shared",
			table: Table{Processes: append(base(),
				proc(290, "nsenter", 900, ns(400), inPod(podP, "cri-containerd-", "c0ffee01")),
				proc(400, "pause", 800, ns(400), inPod(podQ, "cri-containerd-", "beef01"))),
				NetNSAddrs: map[NetNS][]netip.Addr{ns(300): addrs("10.0.0.5"), ns(400): addrs("10.0.0.9")}},
			pod: Pod{UID: podQ, IPs: addrs("10.0.0.9")},
			want: Selection{PodUID: podQ, Found: true, NetNS: ns(400), Owner: 400,
				Reason: "net:[4026532400] is the netns of pid 400 (pause), the pod's oldest process outside the host netns (started at tick 800), and it holds pod IP 10.0.0.9",
				Ambiguities: []Ambiguity{{Kind: SharedNetNS, NetNS: ns(400), PIDs: []int{290},
					Detail: "net:[4026532400] also holds pid 290 (nsenter) of pod " + podP}}},
		},
		{
			name:  "every candidate refused",
			table: Table{Processes: base(), NetNSAddrs: map[NetNS][]netip.Addr{ns(300): nil}},
			pod:   Pod{UID: podP, IPs: addrs("10.0.0.5")},
			want: Selection{PodUID: podP,
				Reason: "every netns of the pod's processes outside the host netns holds none of the pod's IPs",
				Ambiguities: []Ambiguity{{Kind: IPMismatch, NetNS: ns(300), PIDs: []int{300, 320},
					Detail: "net:[4026532300] holds pids 300 (pause), 320 (app) of the pod but none of the pod's IPs (10.0.0.5; it holds no address); refused"}}},
		},
		{
			name: "hostNetwork pod: only the host netns",
			table: Table{Processes: []Process{
				proc(1, "systemd", 1, hostNS, "0::/init.scope"),
				proc(500, "node-exporter", 2000, hostNS, inPod(podP, "cri-containerd-", "c0ffee09")),
			}},
			pod: Pod{UID: podP},
			want: Selection{PodUID: podP,
				Reason: "every process of the pod with a known netns is in the host netns",
				Ambiguities: []Ambiguity{{Kind: HostNetNS, NetNS: hostNS, PIDs: []int{500},
					Detail: "the host netns net:[4026531840] holds pid 500 (node-exporter) of the pod; it is never selected"}}},
		},
		{
			name: "conflicting cgroup lines and an unknown netns",
			table: Table{Processes: []Process{
				proc(1, "systemd", 1, hostNS, "0::/init.scope"),
				proc(600, "odd", 10, ns(600), "1:cpu:/kubepods/pod"+podP+"/c1", "2:memory:/kubepods/pod"+podP+"/c2"),
				proc(601, "gone", 11, NetNS{}, inPod(podP, "crio-", "c3")),
			}},
			pod: Pod{UID: podP},
			want: Selection{PodUID: podP,
				Reason: "no process of the pod has a known netns and consistent cgroup lines",
				Ambiguities: []Ambiguity{
					{Kind: CgroupConflict, PIDs: []int{600}, Detail: "the cgroup lines of pid 600 (odd) name this pod and another pod or container; skipped"},
					{Kind: NetNSUnknown, PIDs: []int{601}, Detail: "no netns is known for pid 601 (gone) of the pod; skipped"},
				}},
		},
		{
			name:  "pod not in the table",
			table: Table{Processes: base()},
			pod:   Pod{UID: podQ},
			want:  Selection{PodUID: podQ, Reason: "no process of the pod is in the table"},
		},
		{
			name: "host netns given, no PID 1",
			table: Table{HostNetNS: ns(300), Processes: []Process{
				proc(300, "pause", 1000, ns(300), inPod(podP, "cri-containerd-", "c0ffee01")),
			}},
			pod: Pod{UID: podP},
			want: Selection{PodUID: podP,
				Reason: "every process of the pod with a known netns is in the host netns",
				Ambiguities: []Ambiguity{{Kind: HostNetNS, NetNS: ns(300), PIDs: []int{300},
					Detail: "the host netns net:[4026532300] holds pid 300 (pause) of the pod; it is never selected"}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Select(tc.table, []Pod{tc.pod})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, []Selection{tc.want}) {
				t.Errorf("got  %+v\nwant %+v", got[0], tc.want)
			}
		})
	}
}

func TestSelectErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		table Table
		pods  []Pod
		msg   string
	}{
		{"no host netns", Table{Processes: base()[1:]}, []Pod{{UID: podP}},
			"select netns: host netns unknown: no HostNetNS and no PID 1 with a netns in the table"},
		{"PID 1 without a netns", Table{Processes: []Process{proc(1, "systemd", 1, NetNS{})}}, []Pod{{UID: podP}},
			"select netns: host netns unknown: no HostNetNS and no PID 1 with a netns in the table"},
		{"pid twice", Table{Processes: append(base(), hostProc(200, "again", 60))}, []Pod{{UID: podP}},
			"select netns: process table: pid 200 listed twice"},
		{"pid 0", Table{Processes: append(base(), hostProc(0, "sched", 0))}, []Pod{{UID: podP}},
			"select netns: process table: pid 0: not a process id"},
		{"empty pod UID", Table{Processes: base()}, []Pod{{UID: ""}}, "select netns: pod with an empty UID"},
		{"pod twice", Table{Processes: base()}, []Pod{{UID: podP}, {UID: podP}}, "select netns: pod " + podP + " listed twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Select(tc.table, tc.pods)
			if err == nil || err.Error() != tc.msg {
				t.Fatalf("got %+v, error %v; want error %q", got, err, tc.msg)
			}
		})
	}
	_, err := Select(Table{}, []Pod{{UID: podP}})
	if !errors.Is(err, ErrNoHostNetNS) {
		t.Errorf("empty table: %v, want ErrNoHostNetNS", err)
	}
}

func TestSelectOld(t *testing.T) {
	for _, tc := range []struct {
		name  string
		table Table
		pods  []Pod
		want  []OldSelection
	}{
		{
			// "300" and "320" share P's netns: the second is skipped.
			name:  "one netns, claimed once",
			table: Table{Processes: base()},
			pods:  []Pod{{UID: podP}},
			want: []OldSelection{{PodUID: podP, Found: true, NetNS: ns(300), PID: 300,
				Claims: []Claim{{300, "pause", ns(300)}},
				Reason: "pid 300 (pause) was the last process of the pod, in /proc name order, to claim a netns not claimed before: net:[4026532300]"}},
		},
		{
			// "1500" sorts before "300": the newer helper netns is claimed
			// first and the pause netns replaces it.
			name: "several netns: the last in name order wins, not the newest",
			table: Table{Processes: append(base(),
				proc(1500, "helper", 1500, ns(1500), inPod(podP, "cri-containerd-", "c0ffee03")),
				proc(9000, "helper2", 1600, ns(9000), inPod(podP, "cri-containerd-", "c0ffee04")))},
			pods: []Pod{{UID: podP}},
			want: []OldSelection{{PodUID: podP, Found: true, NetNS: ns(9000), PID: 9000,
				Claims: []Claim{{1500, "helper", ns(1500)}, {300, "pause", ns(300)}, {9000, "helper2", ns(9000)}},
				Reason: "pid 9000 (helper2) was the last process of the pod, in /proc name order, to claim a netns not claimed before: net:[4026541000] (it replaced 2 earlier claims)"}},
		},
		{
			// Q's pause (400) claims netns 400 first; P's nsenter in it is
			// skipped, so P keeps its own.
			name: "a netns claimed by one pod is skipped for the others",
			table: Table{Processes: append(base(),
				proc(400, "pause", 800, ns(400), inPod(podQ, "cri-containerd-", "beef01")),
				proc(4000, "nsenter", 900, ns(400), inPod(podP, "cri-containerd-", "c0ffee01")))},
			pods: []Pod{{UID: podP}, {UID: podQ}},
			want: []OldSelection{
				{PodUID: podP, Found: true, NetNS: ns(300), PID: 300, Claims: []Claim{{300, "pause", ns(300)}},
					Reason: "pid 300 (pause) was the last process of the pod, in /proc name order, to claim a netns not claimed before: net:[4026532300]"},
				{PodUID: podQ, Found: true, NetNS: ns(400), PID: 400, Claims: []Claim{{400, "pause", ns(400)}},
					Reason: "pid 400 (pause) was the last process of the pod, in /proc name order, to claim a netns not claimed before: net:[4026532400]"},
			},
		},
		{
			name:  "host netns unknown: IsHost stays false",
			table: Table{Processes: []Process{proc(70, "conmon", 5, hostNS, inPod(podP, "crio-conmon-", "c1"))}},
			pods:  []Pod{{UID: podP}, {UID: podQ}},
			want: []OldSelection{
				{PodUID: podP, Found: true, NetNS: hostNS, PID: 70, Claims: []Claim{{70, "conmon", hostNS}},
					Reason: "pid 70 (conmon) was the last process of the pod, in /proc name order, to claim a netns not claimed before: net:[4026531840]"},
				{PodUID: podQ, Reason: "no process of the pod claimed a netns in the /proc walk"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SelectOld(tc.table, tc.pods)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
	if _, err := SelectOld(Table{Processes: []Process{hostProc(-3, "x", 0)}}, nil); err == nil || err.Error() != "select netns (old): process table: pid -3: not a process id" {
		t.Errorf("negative pid: %v", err)
	}
}
