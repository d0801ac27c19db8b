//go:build linux

// Package node runs `meshdoctor node --dump` on a node built of real
// network namespaces, processes, cgroups and connections (internal/testnetns)
// in the state of incidents (a) and (b), analyzes the dump, applies the
// findings' fix commands there, and dumps and analyzes again.
package node

import (
	"bytes"
	"context"

	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/dataplane"
	"github.com/meshdoctor/meshdoctor/internal/cli"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/source/files"
	"github.com/meshdoctor/meshdoctor/internal/source/nodedump"
	"github.com/meshdoctor/meshdoctor/internal/testnetns"
)

func TestMain(m *testing.M) {
	testnetns.RunHelper(map[string]testnetns.Helper{"meshdoctor": runCLI})
	os.Exit(m.Run())
}

// runCLI is `meshdoctor ARGS`, run where the test node put it.
func runCLI(args []string) error {
	root := cli.NewRoot(cli.Streams{In: bytes.NewReader(nil), Out: os.Stdout, Err: os.Stderr}, cli.BuildInfo{Version: "test"})
	root.SetArgs(args)
	return root.Execute()
}

// incidentNode is a node in the state of incidents (a) and (b): its own
// netns holds Istio ambient's in-pod rules and policy route; a pod holds a
// sidecar's nat rules with duplicates, and mirrord's steal of port 9000
// installed after connections on that port were set up, with the old
// flush's connmark 0x1 on them and its reset rule.
type incidentNode struct {
	node      *testnetns.Node
	host, pod *testnetns.NS
	lastDump  string // the bundle folder of the last analyze
}

func newIncidentNode(t *testing.T) *incidentNode {
	t.Helper()
	testnetns.Require(t, "nsenter", "iptables-nft-restore", "iptables-nft", "iptables-nft-save", "iptables-legacy-save", "nft", "ip", "ss", "conntrack")
	n := &incidentNode{host: testnetns.NewNS(t, "host"), pod: testnetns.NewNS(t, "pod")}
	testnetns.Veth(t, n.host, "10.244.1.1/24", n.pod, "10.244.1.17/24")
	tree := testnetns.NewCgroupTree(t)
	uid := testnetns.RandomUID()
	cg := tree.KubeletContainer(t, "burstable", uid, "cri-containerd-"+testnetns.RandomHex(32)+".scope")

	// mirrord before 3.134.0 put connmark 0x1 on every flow to the stolen
	// port (conntrack -U … -m 1; this kernel refuses netlink updates, so
	// rules set the same mark while the connections start).
	for _, chain := range []string{"PREROUTING", "OUTPUT"} {
		n.pod.Run(t, "iptables-nft", "-t", "mangle", "-A", chain, "-p", "tcp", "--dport", "9000", "-j", "CONNMARK", "--set-mark", "1")
	}
	n.node = testnetns.NewNode(t, n.host)
	n.node.Start(t, n.pod, cg, "pause", "hold")
	app := n.node.Start(t, n.pod, cg, "app", "listen", "10.244.1.17:9000")
	svc := n.node.Start(t, n.host, nil, "svc", "listen", "10.244.1.1:9000")
	// Connections on port 9000 both ways, set up before any rule exists.
	n.node.Start(t, n.host, nil, "client", "dial", "10.244.1.17:9000")
	app.Next(t, "accepted")
	n.node.Start(t, n.pod, cg, "app-out", "dial", "10.244.1.1:9000")
	svc.Next(t, "accepted")
	n.pod.Run(t, "iptables-nft", "-t", "mangle", "-F")
	// Then mirrord's rules, with the sidecar's (written twice) around them.
	n.pod.RunInput(t, readTestdata(t, "pod.iptables-nft.txt"), "iptables-nft-restore")
	n.host.RunInput(t, readTestdata(t, "host.iptables-nft.txt"), "iptables-nft-restore")
	n.host.Run(t, "ip", "rule", "add", "fwmark", "0x111/0xfff", "pref", "32764", "lookup", "100")
	return n
}

// analyze dumps the node with `meshdoctor node --dump` run inside it and
// returns the dataplane findings on the dump.
func (n *incidentNode) analyze(t *testing.T) ([]analysis.Finding, *snapshot.Node) {
	t.Helper()
	dir := t.TempDir()
	n.lastDump = dir
	stdout, stderr, err := n.node.Exec(t, "meshdoctor", nil, "node", "--dump", dir, "--node-name", "worker-1")
	if err != nil {
		t.Fatalf("meshdoctor node --dump: %v\n%s\n%s", err, stdout, stderr)
	}
	members, err := files.BundleMembers(dir, "nodes")
	if err != nil {
		t.Fatal(err)
	}
	res := nodedump.Read(members)
	for _, e := range res.Errors {
		t.Errorf("reading the dump: %v", e)
	}
	if len(res.Nodes) != 1 {
		t.Fatalf("nodes in the dump: %d", len(res.Nodes))
	}
	b := snapshot.NewBuilder()
	b.AddNode(res.Nodes[0])
	out := analysis.Run(context.Background(), b.Build(), analysis.RunConfig{Analyzers: dataplane.Analyzers()})
	for _, e := range out.Errors {
		t.Errorf("analyzer error: %s", e)
	}
	return out.Findings, res.Nodes[0]
}

func codes(fs []analysis.Finding) string {
	var c []string
	for _, f := range fs {
		c = append(c, f.Code)
	}
	sort.Strings(c)
	return strings.Join(c, " ")
}

// TestIncidentsABOnARealNode: the dump of the node shows exactly the
// incidents' findings; after running the fix commands they give, only
// MD503 (two interceptors on port 9000, whose fix is configuration, not a
// command) is left, and nothing new appears.
func TestIncidentsABOnARealNode(t *testing.T) {
	n := newIncidentNode(t)
	findings, dumped := n.analyze(t)
	if out := os.Getenv("MESHDOCTOR_EXAMPLE_DUMP"); out != "" {
		// For examples/incidents/{a,b}: the bundle this node gave.
		if err := os.CopyFS(out, os.DirFS(n.lastDump)); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := codes(findings), "MD501 MD502 MD503 MD505 MD506"; got != want {
		for _, f := range findings {
			t.Logf("%s %s\n%s", f.Code, f.Message, strings.Join(f.Evidence, "\n"))
		}
		t.Fatalf("findings %s, want %s", got, want)
	}
	hostPlace := dumped.Name + "/host"
	for _, f := range findings {
		ns := n.pod
		if strings.HasPrefix(f.Locations[0].Object, hostPlace) {
			ns = n.host
		}
		for _, line := range strings.Split(f.Remedy, "\n") {
			cmd := line
			if _, rest, ok := strings.Cut(line, " -- "); ok && strings.HasPrefix(line, "nsenter -n -t ") {
				cmd = rest // the pod's pid is the node's; the test enters the netns by name
			}
			if !isCommand(cmd) {
				continue
			}
			t.Logf("%s in %s: %s", f.Code, ns.Name, cmd)
			out, err := exec.Command("ip", "netns", "exec", ns.Name, "sh", "-c", cmd).CombinedOutput()
			// conntrack -D exits 1 when an earlier fix already deleted
			// the entries it names (MD505's and MD506's overlap here).
			if err != nil && !(strings.HasPrefix(cmd, "conntrack -D") && strings.Contains(string(out), " 0 flow entries have been deleted")) {
				t.Fatalf("%s: %v\n%s", cmd, err, out)
			}
		}
	}
	after, _ := n.analyze(t)
	if got := codes(after); got != "MD503" {
		for _, f := range after {
			t.Logf("%s %s\n%s", f.Code, f.Message, strings.Join(f.Evidence, "\n"))
		}
		t.Errorf("after the fixes: %s, want only MD503", got)
	}
	// The node's own rules are intact.
	save := n.host.Run(t, "iptables-nft-save")
	for _, keep := range []string{"-A POSTROUTING -j ISTIO_POSTRT", "-A ISTIO_POSTRT -p tcp -m owner --socket-exists -j SNAT", "-j MASQUERADE --random-fully"} {
		if !strings.Contains(save, keep) {
			t.Errorf("fix removed %q from the node's own rules:\n%s", keep, save)
		}
	}
}

// isCommand tells a remedy line that is a command to run.
func isCommand(l string) bool {
	for _, p := range []string{"iptables", "ip6tables", "ip rule ", "nft ", "conntrack "} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
