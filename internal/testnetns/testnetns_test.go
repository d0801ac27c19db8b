//go:build linux

package testnetns

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestMain(m *testing.M) {
	RunHelper(map[string]Helper{"readlink": func(args []string) error {
		target, err := os.Readlink(args[0])
		if err != nil {
			return err
		}
		_, err = os.Stdout.WriteString(target + "\n")
		return err
	}})
	os.Exit(m.Run())
}

// A node with two namespaces, processes in cgroups and a TCP connection
// between them, then nothing left of it once its test has ended.
func TestNodeLifecycle(t *testing.T) {
	Require(t, "ip", "nsenter")
	var (
		netnsPaths []string
		cgroupDir  string
		pids       []int
	)
	t.Run("build", func(t *testing.T) {
		host := NewNS(t, "host")
		pod := NewNS(t, "pod")
		Veth(t, host, "10.244.1.1/24", pod, "10.244.1.17/24")
		tree := NewCgroupTree(t)
		uid, id := RandomUID(), RandomHex(32)
		cg := tree.KubeletContainer(t, "besteffort", uid, "cri-containerd-"+id+".scope")
		node := NewNode(t, host)

		server := node.Start(t, pod, cg, "envoy", "listen", "-nofile=4321:8765", "10.244.1.17:15006")
		client := node.Start(t, host, nil, "curl", "dial", "10.244.1.17:15006")
		acc := server.Next(t, "accepted")
		if acc["remote"] != client.Ready["local"] || acc["local"] != client.Ready["remote"] {
			t.Errorf("server accepted %v, client connected %v", acc, client.Ready)
		}

		hostIno, _ := host.Inode(t)
		podIno, _ := pod.Inode(t)
		if got := client.Ready["netns"]; got != strconv.FormatUint(hostIno, 10) {
			t.Errorf("client netns %s, want the host's %d", got, hostIno)
		}
		if got := server.Ready["netns"]; got != strconv.FormatUint(podIno, 10) {
			t.Errorf("server netns %s, want the pod's %d", got, podIno)
		}
		// The helpers count from 1 in the node's PID namespace, after init.
		if server.Ready["pid"] == strconv.Itoa(server.HostPID) || server.Ready["pid"] == "1" {
			t.Errorf("server pid in the node %s, host pid %d: not in its own PID namespace", server.Ready["pid"], server.HostPID)
		}
		cgroups, err := os.ReadFile("/proc/" + strconv.Itoa(server.HostPID) + "/cgroup")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(strings.Split(string(cgroups), "\n"), cg.Line) {
			t.Errorf("server cgroups\n%s\nlack %q", cgroups, cg.Line)
		}
		limits, err := os.ReadFile("/proc/" + strconv.Itoa(server.HostPID) + "/limits")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(limits), "Max open files            4321                 8765                 files") {
			t.Errorf("server limits:\n%s", limits)
		}
		comm, _ := os.ReadFile("/proc/" + strconv.Itoa(server.HostPID) + "/comm")
		if string(comm) != "envoy\n" {
			t.Errorf("server comm %q, want envoy", comm)
		}

		// Inside the node, /proc is the node's: PID 1 is init, in the host netns.
		out, errOut, err := node.Exec(t, "readlink", nil, "/proc/1/ns/net")
		if err != nil {
			t.Fatalf("%v: %s", err, errOut)
		}
		if want := "net:[" + strconv.FormatUint(hostIno, 10) + "]\n"; string(out) != want {
			t.Errorf("node's /proc/1/ns/net is %q, want %q", out, want)
		}

		netnsPaths = []string{host.Path, pod.Path}
		cgroupDir = filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(cg.Dir)))) // mdtest-…
		pids = []int{node.Init.HostPID, server.HostPID, client.HostPID}
	})
	if t.Failed() {
		return
	}
	for _, p := range netnsPaths {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind (%v)", p, err)
		}
	}
	if _, err := os.Lstat(cgroupDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cgroup %s left behind (%v)", cgroupDir, err)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process %d left behind (kill 0: %v)", pid, err)
		}
	}
}
