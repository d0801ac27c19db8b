package netns

import "net/netip"

// nsfs is the device of the kernel's namespace filesystem on a typical node.
const nsfs = 4

var hostNS = NetNS{Inode: 4026531840, Dev: nsfs}

// ns(n) is netns 4026532000+n: pod namespaces get inodes just above the
// host's 4026531840.
func ns(n uint64) NetNS { return NetNS{Inode: 4026532000 + n, Dev: nsfs} }

func proc(pid int, comm string, start uint64, netns NetNS, cgroup ...string) Process {
	return Process{PID: pid, PPID: 1, Comm: comm, StartTime: start, NetNS: netns, CgroupLines: cgroup}
}

// hostProc is a systemd service on the host.
func hostProc(pid int, comm string, start uint64) Process {
	return proc(pid, comm, start, hostNS, "0::/system.slice/"+comm+".service")
}

// inPod is a cgroup v2 line of the systemd driver for a burstable pod;
// scope is "crio-", "crio-conmon-" or "cri-containerd-".
func inPod(uid, scope, id string) string {
	return "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + underscores(uid) + ".slice/" + scope + id + ".scope"
}

func underscores(uid string) string {
	b := []byte(uid)
	for i := range b {
		if b[i] == '-' {
			b[i] = '_'
		}
	}
	return string(b)
}

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}
