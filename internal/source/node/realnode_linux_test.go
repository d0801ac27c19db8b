//go:build linux

package node

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/testnetns"
)

// realNode is a small node in real namespaces, built after incidents (a)
// and (b) of the reference notes: a host-like netns holding the Istio
// ambient in-pod rules that belong in a pod (legacy backend), a legit
// ISTIO_POSTRT (nft backend), an IPv6 rule and a native nft table; pod A
// with an Istio sidecar nat table whose ISTIO_OUTPUT has a duplicated rule,
// a mirrord-style connmark REJECT in filter INPUT, ambient-style policy
// routing, and an "envoy" behind the inbound REDIRECT; pod B a CRI-O pod
// whose conmon runs in the host netns. A "ztunnel" in the host holds a TCP
// connection to pod A's port 8080, which pod A redirects to envoy.
type realNode struct {
	node             *testnetns.Node
	host, podA, podB *testnetns.NS
	// ids of the three namespaces, as stat shows them
	hostID, podAID, podBID NetnsID

	envoy, agent, pause, conmon, ztunnel *testnetns.Proc
	// accepted is envoy's status line for the redirected connection.
	accepted map[string]string

	uidA, idA, uidB, idB string
	cgA, cgB, cgConmon   *testnetns.Cgroup
}

// collectorTools are the programs Collect runs, and setupTools those the
// node is built with; conntrack is read through netlink, and ipset is
// optional (its absence is a tested errors.txt line).
var (
	collectorTools = []string{
		"iptables-nft-save", "iptables-legacy-save", "ip6tables-nft-save", "ip6tables-legacy-save",
		"nft", "ip", "ss", "iptables-nft", "iptables-legacy",
	}
	setupTools = []string{"nsenter", "iptables-legacy-restore", "iptables-nft-restore", "ip6tables-legacy-restore"}
)

func newRealNode(t *testing.T) *realNode {
	t.Helper()
	testnetns.Require(t, append(setupTools, collectorTools...)...)
	n := &realNode{
		host: testnetns.NewNS(t, "host"),
		podA: testnetns.NewNS(t, "poda"),
		podB: testnetns.NewNS(t, "podb"),
	}
	n.hostID, n.podAID, n.podBID = nsID(t, n.host), nsID(t, n.podA), nsID(t, n.podB)
	testnetns.Veth(t, n.host, "10.244.1.1/24", n.podA, "10.244.1.17/24")
	testnetns.Veth(t, n.host, "10.244.2.1/24", n.podB, "10.244.2.9/24")

	n.host.RunInput(t, testdata(t, "host.iptables-legacy"), "iptables-legacy-restore")
	n.host.RunInput(t, testdata(t, "host.iptables-nft"), "iptables-nft-restore")
	n.host.RunInput(t, testdata(t, "host.ip6tables-legacy"), "ip6tables-legacy-restore")
	n.host.RunInput(t, testdata(t, "host.nft"), "nft", "-f", "-")
	n.podA.RunInput(t, testdata(t, "poda.iptables-nft"), "iptables-nft-restore")
	n.podA.Run(t, "ip", "rule", "add", "fwmark", "0x111/0xfff", "pref", "32764", "lookup", "100")
	n.podA.Run(t, "ip", "route", "add", "local", "0.0.0.0/0", "dev", "lo", "table", "100")

	tree := testnetns.NewCgroupTree(t)
	n.uidA, n.idA = testnetns.RandomUID(), testnetns.RandomHex(32)
	n.uidB, n.idB = testnetns.RandomUID(), testnetns.RandomHex(32)
	n.cgA = tree.KubeletContainer(t, "burstable", n.uidA, "cri-containerd-"+n.idA+".scope")
	n.cgB = tree.KubeletContainer(t, "besteffort", n.uidB, "crio-"+n.idB+".scope")
	n.cgConmon = tree.KubeletContainer(t, "besteffort", n.uidB, "crio-conmon-"+n.idB+".scope")

	n.node = testnetns.NewNode(t, n.host)
	n.envoy = n.node.Start(t, n.podA, n.cgA, "envoy", "listen", "-nofile=4321:8765", "0.0.0.0:15006")
	n.agent = n.node.Start(t, n.podA, n.cgA, "pilot-agent", "hold", "-nofile=1024:4096")
	n.pause = n.node.Start(t, n.podB, n.cgB, "pause", "hold")
	n.conmon = n.node.Start(t, n.host, n.cgConmon, "conmon", "hold")
	// Marked as ztunnel marks its sockets (0x539), so the misplaced
	// ambient nat rules let it through instead of redirecting it.
	n.ztunnel = n.node.Start(t, n.host, nil, "ztunnel", "dial", "-mark=1337", "-nofile=2048:2048", "10.244.1.17:8080")
	n.accepted = n.envoy.Next(t, "accepted")
	if n.accepted["remote"] != n.ztunnel.Ready["local"] || n.accepted["local"] != "10.244.1.17:15006" {
		t.Fatalf("envoy accepted %v; ztunnel connected %v: not the redirected connection", n.accepted, n.ztunnel.Ready)
	}
	return n
}

// collect runs Collect inside the node, with extra environment, and
// returns the node folder it wrote.
func (n *realNode) collect(t *testing.T, env []string, args ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "nodes", "mdtest-node")
	stdout, stderr, err := n.node.Exec(t, "collect", env, append([]string{"-dir", dir}, args...)...)
	if err != nil {
		t.Fatalf("collector: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	t.Logf("collector log:\n%s", stderr)
	return dir
}

func nsID(t *testing.T, ns *testnetns.NS) NetnsID {
	t.Helper()
	ino, dev := ns.Inode(t)
	return NetnsID{Inode: ino, Dev: dev}
}

func testdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "realnode", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
