package netns

import (
	"fmt"
	"net/netip"
	"testing"
)

// benchNode is a node with 5,000 processes: 250 pods of 7 processes each
// (pause, and two containers of three processes) and 3,250 host processes.
// v1 gives each process the 13 lines of a cgroup v1 file, v2 one line.
func benchNode(v1 bool) (Table, []Pod) {
	t := Table{NetNSAddrs: map[NetNS][]netip.Addr{}}
	lines := func(path string) []string {
		if v1 {
			return cgroupV1(path)
		}
		return []string{"0::" + path}
	}
	pid := 1
	add := func(comm string, netns NetNS, path string) {
		t.Processes = append(t.Processes, Process{PID: pid, PPID: 1, Comm: comm, StartTime: uint64(pid) * 3, NetNS: netns, CgroupLines: lines(path)})
		pid += 1 + pid%3
	}
	add("systemd", hostNS, "/init.scope")
	var pods []Pod
	for i := range 250 {
		uid := fmt.Sprintf("%08x-1b3f-4a5e-8c7d-%012x", i, i*7919)
		ip := netip.AddrFrom4([4]byte{10, 128, byte(i / 200), byte(i % 200)})
		netns := ns(uint64(i))
		t.NetNSAddrs[netns] = []netip.Addr{netip.MustParseAddr("127.0.0.1"), ip}
		pods = append(pods, Pod{UID: uid, IPs: []netip.Addr{ip}})
		slice := "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + underscores(uid) + ".slice/"
		add("pause", netns, slice+fmt.Sprintf("cri-containerd-%064x.scope", i))
		for c := range 2 {
			for range 3 {
				add("app", netns, slice+fmt.Sprintf("cri-containerd-%064x.scope", i*3+c+1))
			}
		}
		for range 13 {
			add("worker", hostNS, fmt.Sprintf("/system.slice/service-%d.service", i%40))
		}
	}
	return t, pods
}

func BenchmarkSelect5000(b *testing.B) {
	for _, v1 := range []bool{false, true} {
		table, pods := benchNode(v1)
		if len(table.Processes) != 5001 {
			b.Fatalf("%d processes", len(table.Processes))
		}
		name := map[bool]string{false: "cgroup-v2", true: "cgroup-v1"}[v1]
		b.Run(name+"/all-250-pods", func(b *testing.B) {
			for b.Loop() {
				if _, err := Select(table, pods); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/one-pod", func(b *testing.B) {
			for b.Loop() {
				if _, err := Select(table, pods[100:101]); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/old-all-250-pods", func(b *testing.B) {
			for b.Loop() {
				if _, err := SelectOld(table, pods); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
