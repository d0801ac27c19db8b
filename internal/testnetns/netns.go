//go:build linux

package testnetns

import (
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// NS is a named network namespace (/run/netns/<Name>).
type NS struct {
	Name string
	Path string
}

// NewNS creates the netns mdtest-<random>-<role> with its loopback up and
// deletes it in t.Cleanup. Delete the namespaces after the processes in
// them: create them first, so their cleanup runs last.
func NewNS(t testing.TB, role string) *NS {
	t.Helper()
	name := "mdtest-" + RandomHex(4) + "-" + role
	run(t, "ip", "netns", "add", name)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("testnetns: deleting netns %s: %v: %s", name, err, out)
		}
	})
	ns := &NS{Name: name, Path: "/run/netns/" + name}
	ns.Run(t, "ip", "link", "set", "lo", "up")
	return ns
}

// Run runs a command inside the netns (ip netns exec) and returns its
// standard output; a failure fails t.
func (ns *NS) Run(t testing.TB, args ...string) string {
	t.Helper()
	return run(t, append([]string{"ip", "netns", "exec", ns.Name}, args...)...)
}

// RunInput is Run with input on the command's standard input, as for
// iptables-restore or nft -f -.
func (ns *NS) RunInput(t testing.TB, input string, args ...string) string {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns.Name}, args...)...)
	cmd.Stdin = strings.NewReader(input)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("testnetns: %s in %s: %v%s", strings.Join(args, " "), ns.Name, err, stderrOf(err))
	}
	return string(out)
}

// Inode and Dev identify the netns as a stat of /proc/PID/ns/net does.
func (ns *NS) Inode(t testing.TB) (ino, dev uint64) {
	t.Helper()
	var sb syscall.Stat_t
	if err := syscall.Stat(ns.Path, &sb); err != nil {
		t.Fatalf("testnetns: stat %s: %v", ns.Path, err)
	}
	return sb.Ino, uint64(sb.Dev)
}

// Veth joins a and b with a veth pair, named to-<peer role> on each side,
// with the given addresses (CIDR notation) and both ends up. The pair is
// created inside a, its peer end moved straight to b: it never appears in
// the machine's own netns.
func Veth(t testing.TB, a *NS, aAddr string, b *NS, bAddr string) {
	t.Helper()
	aName, bName := ifName(b), ifName(a)
	a.Run(t, "ip", "link", "add", aName, "type", "veth", "peer", "name", bName, "netns", b.Name)
	a.Run(t, "ip", "addr", "add", aAddr, "dev", aName)
	b.Run(t, "ip", "addr", "add", bAddr, "dev", bName)
	a.Run(t, "ip", "link", "set", aName, "up")
	b.Run(t, "ip", "link", "set", bName, "up")
}

// ifName is "to-<role>" within the 15 bytes of an interface name.
func ifName(peer *NS) string {
	role := peer.Name[strings.LastIndexByte(peer.Name, '-')+1:]
	return truncate("to-"+role, 15)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).Output()
	if err != nil {
		t.Fatalf("testnetns: %s: %v%s", strings.Join(args, " "), err, stderrOf(err))
	}
	return string(out)
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
		return fmt.Sprintf(": %s", strings.TrimSpace(string(ee.Stderr)))
	}
	return ""
}
