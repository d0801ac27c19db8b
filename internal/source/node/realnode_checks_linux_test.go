//go:build linux

package node

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meshdoctor/meshdoctor/internal/conntrack"
	"github.com/meshdoctor/meshdoctor/internal/netfilter"
	"github.com/meshdoctor/meshdoctor/internal/netns"
)

// The checks of TestCollectRealNode's default collection, one part of the
// node folder each.

func checkMeta(t *testing.T, n *realNode, dir string, before, after time.Time) {
	t.Helper()
	meta := readJSON[Meta](t, filepath.Join(dir, "meta.json"))
	kernel, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		t.Fatal(err)
	}
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		t.Fatal(err)
	}
	boot, err := bootTime(stat)
	if err != nil {
		t.Fatal(err)
	}
	want := Meta{
		Node:          "mdtest-node",
		Collected:     meta.Collected,
		Tool:          "meshdoctor test",
		Kernel:        strings.TrimSpace(string(kernel)),
		BootTime:      boot.UTC().Format(time.RFC3339),
		ClockTicks:    100,
		HostNetns:     &n.hostID,
		HostNetnsFrom: "proc/1",
		Backends:      map[string]string{},
	}
	for _, tool := range backendTools {
		out, err := exec.Command(tool, "--version").Output()
		if err != nil {
			t.Fatal(err)
		}
		want.Backends[tool] = strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	}
	if !reflect.DeepEqual(meta, want) {
		t.Errorf("meta.json\n got %+v\nwant %+v", meta, want)
	}
	if c, err := time.Parse(time.RFC3339, meta.Collected); err != nil || c.Before(before) || c.After(after) {
		t.Errorf("collected %q (%v), want between %v and %v", meta.Collected, err, before, after)
	}
}

// checkProcs checks procs.json and returns the collector's own entry.
func checkProcs(t *testing.T, n *realNode, dir string) Proc {
	t.Helper()
	list := readJSON[[]Proc](t, filepath.Join(dir, "procs.json"))
	procs := map[int]Proc{}
	for _, p := range list {
		procs[p.PID] = p
	}
	// init, five helpers and the collector: the node's PID namespace holds
	// nothing else.
	if len(list) != 7 || len(procs) != 7 {
		t.Errorf("procs.json has %d entries (%d pids), want 7", len(list), len(procs))
	}
	if !slices.IsSortedFunc(list, func(a, b Proc) int { return a.PID - b.PID }) {
		t.Error("procs.json not in pid order")
	}
	podA := netns.Identity{PodUID: n.uidA, ContainerID: n.idA, Runtime: netns.RuntimeContainerd}
	envoy := wantProc(t, procs, n.envoy, "envoy", n.podAID, n.cgA, podA)
	// envoy opened one descriptor more when it accepted the connection.
	wantLimits(t, envoy, &Limit{Soft: 4321, Hard: 8765}, n.accepted["fds"])
	agent := wantProc(t, procs, n.agent, "pilot-agent", n.podAID, n.cgA, podA)
	wantLimits(t, agent, &Limit{Soft: 1024, Hard: 4096}, n.agent.Ready["fds"])
	pause := wantProc(t, procs, n.pause, "pause", n.podBID, n.cgB,
		netns.Identity{PodUID: n.uidB, ContainerID: n.idB, Runtime: netns.RuntimeCRIO})
	wantLimits(t, pause, nil, "")
	// CRI-O's conmon: pod B's UID, in the host netns (incident (a)).
	conmon := wantProc(t, procs, n.conmon, "conmon", n.hostID, n.cgConmon,
		netns.Identity{PodUID: n.uidB, ContainerID: n.idB, Runtime: netns.RuntimeCRIOConmon})
	wantLimits(t, conmon, nil, "")
	ztunnel := wantProc(t, procs, n.ztunnel, "ztunnel", n.hostID, nil, netns.Identity{})
	wantLimits(t, ztunnel, &Limit{Soft: 2048, Hard: 2048}, n.ztunnel.Ready["fds"])

	init := procs[1]
	if init.Comm != filepath.Base(n.node.Init.Cmdline[0]) || !slices.Equal(init.Cmdline, n.node.Init.Cmdline) ||
		init.PPID != 0 || init.Netns == nil || *init.Netns != n.hostID {
		t.Errorf("PID 1: %+v, want the node's init in the host netns", init)
	}
	var collector Proc
	for _, p := range list {
		if p.PID != 1 && slices.Contains(p.Cmdline, "-dir") {
			collector = p
		}
	}
	if collector.Netns == nil || *collector.Netns != n.hostID {
		t.Errorf("collector %+v, want a process in the host netns", collector)
	}
	return collector
}

func checkNetnsMeta(t *testing.T, n *realNode, dir string, collector Proc) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "netns"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	wantNames := []string{}
	for _, id := range []NetnsID{n.hostID, n.podAID, n.podBID} {
		wantNames = append(wantNames, strconv.FormatUint(id.Inode, 10))
	}
	slices.Sort(wantNames)
	if !slices.Equal(names, wantNames) {
		t.Errorf("netns folders %q, want %q", names, wantNames)
	}
	pid := func(m map[string]string) int { p, _ := strconv.Atoi(m["pid"]); return p }
	hostPIDs := []int{1, pid(n.conmon.Ready), pid(n.ztunnel.Ready), collector.PID}
	slices.Sort(hostPIDs)
	podAPIDs := []int{pid(n.envoy.Ready), pid(n.agent.Ready)}
	slices.Sort(podAPIDs)
	for _, c := range []struct {
		id   NetnsID
		host bool
		pids []int
		ipv4 []string
	}{
		{n.hostID, true, hostPIDs, []string{"10.244.1.1", "10.244.2.1", "127.0.0.1"}},
		{n.podAID, false, podAPIDs, []string{"10.244.1.17", "127.0.0.1"}},
		{n.podBID, false, []int{pid(n.pause.Ready)}, []string{"10.244.2.9", "127.0.0.1"}},
	} {
		m := readJSON[NetnsMeta](t, filepath.Join(nsDir(dir, c.id), "meta.json"))
		if m.Inode != c.id.Inode || m.Dev != c.id.Dev || m.Host != c.host || !slices.Equal(m.PIDs, c.pids) {
			t.Errorf("netns %d meta %+v, want host %v pids %v", c.id.Inode, m, c.host, c.pids)
		}
		if got := ipv4(m.Addrs); !slices.Equal(got, c.ipv4) || !slices.Contains(m.Addrs, "::1") {
			t.Errorf("netns %d addrs %q, want IPv4 %q and ::1", c.id.Inode, m.Addrs, c.ipv4)
		}
	}
}

func checkRules(t *testing.T, n *realNode, dir string) {
	t.Helper()
	host, podA, podB := nsDir(dir, n.hostID), nsDir(dir, n.podAID), nsDir(dir, n.podBID)
	wantRuleSet(t, filepath.Join(host, "iptables-save.legacy.txt"), testdata(t, "host.iptables-legacy"))
	wantRuleSet(t, filepath.Join(host, "iptables-save.nft.txt"), testdata(t, "host.iptables-nft"))
	wantRuleSet(t, filepath.Join(host, "ip6tables-save.legacy.txt"), testdata(t, "host.ip6tables-legacy"))
	wantEmptyRuleSet(t, filepath.Join(host, "ip6tables-save.nft.txt"))

	rs := wantRuleSet(t, filepath.Join(podA, "iptables-save.nft.txt"), testdata(t, "poda.iptables-nft"))
	// The one connection went through the inbound redirect: one SYN.
	if nat := rs.Table("", "nat"); nat != nil {
		if c := nat.Chain("ISTIO_IN_REDIRECT"); c == nil || len(c.Rules) != 1 || c.Rules[0].Counters.Packets != 1 {
			t.Errorf("ISTIO_IN_REDIRECT %+v, want one rule that counted one packet", c)
		}
	}
	for _, f := range []string{"iptables-save.legacy.txt", "ip6tables-save.legacy.txt", "ip6tables-save.nft.txt"} {
		wantEmptyRuleSet(t, filepath.Join(podA, f))
	}
	for _, f := range []string{"iptables-save.legacy.txt", "iptables-save.nft.txt", "ip6tables-save.legacy.txt", "ip6tables-save.nft.txt"} {
		wantEmptyRuleSet(t, filepath.Join(podB, f))
	}

	nft := netfilter.ParseNft([]byte(readText(t, filepath.Join(host, "nft.txt"))))
	var rules []string
	if tbl := nft.Table("inet", "istio-ambient-mangle"); tbl != nil {
		if c := tbl.Chain("istio-output"); c != nil {
			for _, r := range c.Rules {
				rules = append(rules, r.Text)
			}
		}
	}
	if want := []string{"ip daddr 169.254.7.127 meta mark & 0x00000fff == 0x00000111 counter packets 0 bytes 0 accept"}; !slices.Equal(rules, want) {
		t.Errorf("host nft.txt: inet istio-ambient-mangle istio-output rules %q, want %q", rules, want)
	}
	// iptables-nft's own tables show in the ruleset too.
	if tbl := nft.Table("ip", "nat"); tbl == nil || tbl.Chain("ISTIO_POSTRT") == nil {
		t.Error("host nft.txt lacks iptables-nft's ip nat ISTIO_POSTRT")
	}
	if s := readText(t, filepath.Join(podB, "nft.txt")); s != "" {
		t.Errorf("pod B nft.txt %q, want empty", s)
	}
}

// checkConntrack finds the ztunnel → pod A:8080 connection on both sides:
// as sent in the host, and redirected to envoy's 15006 in pod A.
func checkConntrack(t *testing.T, n *realNode, dir string) {
	t.Helper()
	local := n.ztunnel.Ready["local"] // 10.244.1.1:<port>
	ip, portStr, _ := strings.Cut(local, ":")
	port, _ := strconv.Atoi(portStr)
	for _, c := range []struct {
		name      string
		id        NetnsID
		replyPort uint16
	}{
		{"host", n.hostID, 8080},
		{"pod A", n.podAID, 15006},
	} {
		d := conntrack.Parse([]byte(readText(t, filepath.Join(nsDir(dir, c.id), "conntrack.txt"))))
		if err := d.Err(); err != nil {
			t.Errorf("%s conntrack.txt: %v", c.name, err)
		}
		var tcp []conntrack.Entry
		for _, e := range d.Entries {
			if e.Proto == conntrack.TCP {
				tcp = append(tcp, e)
			}
		}
		if len(tcp) != 1 {
			t.Errorf("%s conntrack: %d TCP entries, want 1: %+v", c.name, len(tcp), tcp)
			continue
		}
		e := tcp[0]
		o, r := e.Orig, e.Reply
		if o.Src.String() != ip || o.SrcPort != uint16(port) || o.Dst.String() != "10.244.1.17" || o.DstPort != 8080 ||
			r.Src.String() != "10.244.1.17" || r.SrcPort != c.replyPort || r.Dst.String() != ip || r.DstPort != uint16(port) ||
			e.State != "ESTABLISHED" || !e.Flags.Has(conntrack.FlagAssured) || !e.HasMark || e.Mark != 0 {
			t.Errorf("%s conntrack entry %q, want %s -> 10.244.1.17:8080 ESTABLISHED ASSURED, reply from port %d, mark 0",
				c.name, e.String(), local, c.replyPort)
		}
		if e.Redirected() != (c.replyPort == 15006) {
			t.Errorf("%s conntrack entry %q: Redirected %v", c.name, e.String(), e.Redirected())
		}
	}
	if s := readText(t, filepath.Join(nsDir(dir, n.podBID), "conntrack.txt")); s != "" {
		t.Errorf("pod B conntrack.txt %q, want empty (nothing there tracks)", s)
	}
}

func checkRoutingAndSockets(t *testing.T, n *realNode, dir string) {
	t.Helper()
	podA, podB := nsDir(dir, n.podAID), nsDir(dir, n.podBID)
	const v6Rules = "0:\tfrom all lookup local\n32766:\tfrom all lookup main\n"
	wantRules := "0:\tfrom all lookup local\n32764:\tfrom all fwmark 0x111/0xfff lookup 100\n32766:\tfrom all lookup main\n32767:\tfrom all lookup default\n" + v6Rules
	if s := readText(t, filepath.Join(podA, "ip-rule.txt")); s != wantRules {
		t.Errorf("pod A ip-rule.txt:\n%s\nwant:\n%s", s, wantRules)
	}
	wantRules = "0:\tfrom all lookup local\n32766:\tfrom all lookup main\n32767:\tfrom all lookup default\n" + v6Rules
	if s := readText(t, filepath.Join(podB, "ip-rule.txt")); s != wantRules {
		t.Errorf("pod B ip-rule.txt:\n%s\nwant:\n%s", s, wantRules)
	}
	routes := strings.Split(readText(t, filepath.Join(podA, "ip-route.txt")), "\n")
	for _, want := range []string{
		"local default dev lo table 100 scope host ",
		"10.244.1.0/24 dev to-host proto kernel scope link src 10.244.1.17 ",
	} {
		if !slices.Contains(routes, want) {
			t.Errorf("pod A ip-route.txt lacks %q:\n%s", want, strings.Join(routes, "\n"))
		}
	}
	listen := strings.Fields(readText(t, filepath.Join(podA, "listen.txt")))
	if len(listen) != 6 || listen[0] != "tcp" || listen[1] != "LISTEN" || listen[4] != "0.0.0.0:15006" || listen[5] != "0.0.0.0:*" {
		t.Errorf("pod A listen.txt %q, want envoy's one listener on 0.0.0.0:15006", listen)
	}
	if s := readText(t, filepath.Join(nsDir(dir, n.hostID), "listen.txt")); s != "" {
		t.Errorf("host listen.txt %q, want empty", s)
	}
}

func checkErrors(t *testing.T, dir string, want []string) {
	t.Helper()
	s := readText(t, filepath.Join(dir, "errors.txt"))
	got := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if s == "" {
		got = nil
	}
	if !slices.Equal(got, want) {
		t.Errorf("errors.txt:\n%s\nwant:\n%s", s, strings.Join(want, "\n"))
	}
}
