package dataplane

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/decode"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/source/files"
	"github.com/meshdoctor/meshdoctor/internal/source/nodedump"
)

// loose builds a snapshot from loose files of testdata, as
// `meshdoctor node --input FILES --netns KIND` does.
func loose(t *testing.T, kind nodedump.NetNSKind, names ...string) *snapshot.Snapshot {
	t.Helper()
	var in []nodedump.LooseFile
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			t.Fatal(err)
		}
		in = append(in, nodedump.LooseFile{Name: "testdata/" + n, Data: b})
	}
	return build(t, nodedump.ReadLoose(in, kind))
}

// bundle builds a snapshot from a bundle folder of testdata.
func bundle(t *testing.T, dir string) *snapshot.Snapshot {
	t.Helper()
	members, err := files.BundleMembers(filepath.Join("testdata", dir), "nodes")
	if err != nil {
		t.Fatal(err)
	}
	return build(t, nodedump.Read(members))
}

func build(t *testing.T, res nodedump.Result) *snapshot.Snapshot {
	t.Helper()
	for _, e := range res.Errors {
		t.Errorf("input error: %v", e)
	}
	b := snapshot.NewBuilder()
	for _, n := range res.Nodes {
		b.AddNode(n)
	}
	return b.Build()
}

func run(t *testing.T, snap *snapshot.Snapshot, a *analysis.Analyzer) analysis.Result {
	t.Helper()
	res := analysis.Run(context.Background(), snap, analysis.RunConfig{Analyzers: []*analysis.Analyzer{a}})
	for _, e := range res.Errors {
		t.Errorf("analyzer error: %v", e)
	}
	for _, f := range res.Findings {
		if f.Message == "" || f.Remedy == "" || len(f.Evidence) == 0 || len(f.Locations) == 0 || f.Locations[0].File == "" {
			t.Errorf("%s finding lacks message, evidence, remedy or location: %+v", f.Code, f)
		}
	}
	return res
}

// lines returns the primary line of each finding, as "file:line".
func lines(res analysis.Result) []string {
	var out []string
	for _, f := range res.Findings {
		out = append(out, f.Locations[0].Position.String())
	}
	return out
}

func contains(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s lacks %q:\n%s", what, sub, s)
		}
	}
}

func TestIstioRulesInHostNetNS(t *testing.T) {
	res := run(t, loose(t, nodedump.NetNSInfer, "host_incident_a.txt", "host_incident_a_iprule.txt"), IstioRulesInHostNetNS)
	if len(res.Findings) != 1 {
		t.Fatalf("findings %v, want one for the host netns", lines(res))
	}
	f := res.Findings[0]
	// Two chains in mangle, two in nat, and the policy rule; not ISTIO_POSTRT.
	if len(f.Locations) != 5 {
		t.Errorf("locations %v, want 4 chains and the ip rule", f.Locations)
	}
	for _, l := range f.Locations {
		if strings.Contains(l.Object, "ISTIO_POSTRT") {
			t.Errorf("the host's own ISTIO_POSTRT reported: %v", l)
		}
	}
	contains(t, "remedy", f.Remedy,
		"iptables-nft -t mangle -D PREROUTING -j ISTIO_PRERT\n",
		"iptables-nft -t mangle -F ISTIO_PRERT\niptables-nft -t mangle -X ISTIO_PRERT\n",
		"iptables-nft -t nat -D OUTPUT -j ISTIO_OUTPUT\n",
		"ip rule del pref 32764\n")
	contains(t, "evidence", strings.Join(f.Evidence, "\n"), "taken as the node's own netns", "from all fwmark 0x111/0xfff lookup 100")

	// The same rules in a pod's netns are where they belong.
	if res := run(t, loose(t, nodedump.NetNSPod, "host_incident_a.txt"), IstioRulesInHostNetNS); len(res.Findings) != 0 {
		t.Errorf("pod netns: %v", lines(res))
	}
	// The fixed host: kube-proxy and the host's ISTIO_POSTRT only.
	if res := run(t, loose(t, nodedump.NetNSInfer, "host_fixed.txt", "host_fixed_iprule.txt"), IstioRulesInHostNetNS); len(res.Findings) != 0 {
		t.Errorf("fixed host: %v", lines(res))
	}
}

func TestDuplicateInterceptionRules(t *testing.T) {
	res := run(t, loose(t, nodedump.NetNSInfer, "pod_incident_b.txt"), DuplicateInterceptionRules)
	if len(res.Findings) != 1 {
		t.Fatalf("findings %v, want one for nat ISTIO_OUTPUT", lines(res))
	}
	f := res.Findings[0]
	if got := fmt.Sprint(f.Locations[0].Line, f.Locations[1].Line); len(f.Locations) != 2 || got != "24 25" {
		t.Errorf("locations %v, want the copies at lines 24 and 25", f.Locations)
	}
	// The later copy first, so the earlier one keeps its position.
	contains(t, "remedy", f.Remedy, "-- iptables -t nat -D ISTIO_OUTPUT 8\nnsenter -n -t <PID of a process of the pod> -- iptables -t nat -D ISTIO_OUTPUT 7")
	if res := run(t, loose(t, nodedump.NetNSInfer, "pod_fixed.txt"), DuplicateInterceptionRules); len(res.Findings) != 0 {
		t.Errorf("fixed pod: %v", lines(res))
	}
}

func TestInterceptorsOnOnePort(t *testing.T) {
	res := run(t, loose(t, nodedump.NetNSInfer, "pod_incident_b.txt"), InterceptorsOnOnePort)
	if len(res.Findings) != 1 {
		t.Fatalf("findings %v, want istio and mirrord on port 9000", lines(res))
	}
	contains(t, "message", res.Findings[0].Message, "istio-sidecar and mirrord both redirect port 9000")
	if res := run(t, loose(t, nodedump.NetNSInfer, "pod_fixed.txt"), InterceptorsOnOnePort); len(res.Findings) != 0 {
		t.Errorf("fixed pod (9000 excluded from the mesh's capture): %v", lines(res))
	}
}

func TestMarkBitsShared(t *testing.T) {
	res := run(t, loose(t, nodedump.NetNSPod, "ambient_pod_mirrord.txt"), MarkBitsShared)
	if len(res.Findings) != 1 {
		t.Fatalf("findings %v, want Istio ambient and mirrord on the connmark", lines(res))
	}
	contains(t, "message", res.Findings[0].Message, "istio-ambient-pod and mirrord use overlapping connmark bits")
	// kube-proxy and Cilium share 0x4000 by design; Istio ambient alone.
	for _, f := range []string{"host_fixed.txt", "ambient_pod.txt"} {
		if res := run(t, loose(t, nodedump.NetNSInfer, f), MarkBitsShared); len(res.Findings) != 0 {
			t.Errorf("%s: %v", f, lines(res))
		}
	}
}

func TestConnmarkRejectHangs(t *testing.T) {
	res := run(t, loose(t, nodedump.NetNSInfer, "pod_incident_b.txt", "pod_incident_b_conntrack.txt"), ConnmarkRejectHangs)
	if len(res.Findings) != 1 {
		t.Fatalf("findings %v", lines(res))
	}
	f := res.Findings[0]
	contains(t, "message", f.Message, "1 tracked connection(s) carry that mark (destination port(s) 9000)")
	contains(t, "remedy", f.Remedy, "iptables -t filter -D MIRRORD_INPUT_ab12c -p tcp -m connmark --mark 0x1 -j REJECT --reject-with tcp-reset", "conntrack -D --mark 0x1/0xffffffff")
	// Without a conntrack table: not judged, said so.
	res = run(t, loose(t, nodedump.NetNSInfer, "pod_incident_b.txt"), ConnmarkRejectHangs)
	if len(res.Findings) != 0 || len(res.NotChecked) == 0 {
		t.Errorf("without conntrack: findings %v, not checked %v", lines(res), res.NotChecked)
	}
	// The same rule, but no connection carries the mark.
	if res := run(t, loose(t, nodedump.NetNSInfer, "pod_incident_b.txt", "pod_fixed_conntrack.txt"), ConnmarkRejectHangs); len(res.Findings) != 0 {
		t.Errorf("no marked flows: %v", lines(res))
	}
}

func TestStaleConntrackBypassesRedirect(t *testing.T) {
	res := run(t, loose(t, nodedump.NetNSInfer, "pod_incident_b.txt", "pod_incident_b_conntrack.txt"), StaleConntrackBypassesRedirect)
	if len(res.Findings) != 1 {
		t.Fatalf("findings %v", lines(res))
	}
	f := res.Findings[0]
	contains(t, "message", f.Message, "1 established connection(s) to port(s) 9000 predate mirrord's redirect")
	contains(t, "remedy", f.Remedy, "conntrack -D -p tcp -d 10.1.0.5 --dport 9000\n")
	if strings.Contains(f.Remedy, "conntrack -D -p tcp --dport") {
		t.Errorf("remedy deletes by port alone:\n%s", f.Remedy)
	}
	if res := run(t, loose(t, nodedump.NetNSInfer, "pod_incident_b.txt", "pod_fixed_conntrack.txt"), StaleConntrackBypassesRedirect); len(res.Findings) != 0 {
		t.Errorf("every connection to 9000 redirected: %v", lines(res))
	}
}

func TestBothIptablesBackends(t *testing.T) {
	res := run(t, bundle(t, "bundle_mixed"), BothIptablesBackends)
	if len(res.Findings) != 1 {
		t.Fatalf("findings %v", lines(res))
	}
	contains(t, "message", res.Findings[0].Message, "Node worker-1, netns net:[4026532690]")
	if res := run(t, bundle(t, "bundle_clean"), BothIptablesBackends); len(res.Findings) != 0 {
		t.Errorf("clean bundle: %v", lines(res))
	}
}

func TestProxyOpenFilesLimit(t *testing.T) {
	res := run(t, bundle(t, "bundle_mixed"), ProxyOpenFilesLimit)
	if len(res.Findings) != 1 {
		t.Fatalf("findings %v", lines(res))
	}
	contains(t, "message", res.Findings[0].Message, "envoy (pid 10050", "open-files limit is 1024 (soft)")
	if res := run(t, bundle(t, "bundle_clean"), ProxyOpenFilesLimit); len(res.Findings) != 0 {
		t.Errorf("clean bundle: %v", lines(res))
	}
}

// bundleWithCluster builds a snapshot from a bundle folder's nodes and its
// cluster/ objects.
func bundleWithCluster(t *testing.T, dir string) *snapshot.Snapshot {
	t.Helper()
	path := filepath.Join("testdata", dir)
	dec, err := decode.New()
	if err != nil {
		t.Fatal(err)
	}
	b := snapshot.NewBuilder()
	if _, err := os.Stat(filepath.Join(path, "cluster")); err == nil {
		loaded := (&files.Loader{Decoder: dec}).Load(context.Background(), []string{path})
		for _, e := range loaded.Errors {
			t.Errorf("input error: %v", e)
		}
		for _, o := range loaded.Objects {
			b.Add(o)
		}
	}
	members, err := files.BundleMembers(path, "nodes")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodedump.Read(members).Nodes {
		b.AddNode(n)
	}
	return b.Build()
}

func TestOldNetNSSelectionPicksHost(t *testing.T) {
	res := run(t, bundleWithCluster(t, "podnetns_old"), OldNetNSSelectionPicksHost)
	if len(res.Findings) != 1 {
		t.Fatalf("findings %v, want the CRI-O pod only (not ztunnel's, wholly in one netns)", lines(res))
	}
	f := res.Findings[0]
	contains(t, "message", f.Message, "pod 1a2b3c4d-0000-1111-2222-333344445555", "picks the host netns net:[4026531840] (pid 9998, conmon) instead of net:[4026532690]", "the node loses its networking")
	contains(t, "evidence", strings.Join(f.Evidence, "\n"), "pid 10012 (pause) in net:[4026532690], pid 9998 (conmon) in net:[4026531840]")
	// The fixed agent, and an input that cannot tell the version.
	if res := run(t, bundleWithCluster(t, "podnetns_fixed"), OldNetNSSelectionPicksHost); len(res.Findings) != 0 {
		t.Errorf("istio-cni 1.24.4: %v", lines(res))
	}
	res = run(t, bundleWithCluster(t, "podnetns_nocluster"), OldNetNSSelectionPicksHost)
	if len(res.Findings) != 0 || len(res.NotChecked) == 0 || !strings.Contains(strings.Join(notes(res), " "), "no istio-cni DaemonSet") {
		t.Errorf("version unknown: findings %v, not checked %v", lines(res), res.NotChecked)
	}
}

func notes(res analysis.Result) []string {
	var out []string
	for _, s := range res.NotChecked {
		out = append(out, fmt.Sprint(s))
	}
	return out
}

func TestHostRulesDifferFromMajority(t *testing.T) {
	res := run(t, bundle(t, "majority_differs"), HostRulesDifferFromMajority)
	var got []string
	for _, f := range res.Findings {
		got = append(got, f.Key)
		contains(t, "message", f.Message, "Node node-3: its istio-ambient-pod rules", "2 other node(s) (node-1, node-2)")
	}
	sort.Strings(got)
	if strings.Join(got, ",") != "istio-ambient-pod mangle,istio-ambient-pod nat" {
		t.Errorf("findings %v (%v), want node-3's ambient rules in mangle and nat", got, lines(res))
	}
	// Node IPs differ, the rules do not.
	if res := run(t, bundle(t, "majority_same"), HostRulesDifferFromMajority); len(res.Findings) != 0 {
		t.Errorf("same rules, other addresses: %v", lines(res))
	}
}

func TestAppListensOnLocalhost(t *testing.T) {
	res := run(t, bundleWithCluster(t, "localhost_bound"), AppListensOnLocalhost)
	if len(res.Findings) != 1 {
		t.Fatalf("findings %v, want the sidecar pod's port 9080", lines(res))
	}
	f := res.Findings[0]
	if f.Subject.String() != "Pod/bookinfo/reviews-v1-6d5b8c7f9-x2x4k" || f.Locations[0].Line != 1 || f.Locations[1].Line != 14 {
		t.Errorf("subject %s, locations %v", f.Subject, f.Locations)
	}
	contains(t, "message", f.Message, "listens on port 9080 at 127.0.0.1 and ::1 only")
	if res := run(t, bundleWithCluster(t, "localhost_fixed"), AppListensOnLocalhost); len(res.Findings) != 0 {
		t.Errorf("listening on every address: %v", lines(res))
	}
}

func TestCiliumOldChainsLeft(t *testing.T) {
	res := run(t, loose(t, nodedump.NetNSHost, "host_cilium_old.txt"), CiliumOldChainsLeft)
	if got := lines(res); len(got) != 1 || got[0] != "testdata/host_cilium_old.txt:9" {
		t.Fatalf("findings %v, want one at the OLD_CILIUM_POST_nat declaration (line 9)", got)
	}
	f := res.Findings[0]
	contains(t, "remedy", f.Remedy,
		"iptables-nft -t nat -D POSTROUTING -m comment --comment \"cilium-feeder: CILIUM_POST_nat\" -j OLD_CILIUM_POST_nat\n",
		"iptables-nft -t nat -F OLD_CILIUM_POST_nat\niptables-nft -t nat -X OLD_CILIUM_POST_nat\n")
	contains(t, "evidence", strings.Join(f.Evidence, "\n"), "testdata/host_cilium_old.txt:11: -A POSTROUTING", "1 jump(s) to it")
	if res := run(t, loose(t, nodedump.NetNSHost, "host_cilium_clean.txt"), CiliumOldChainsLeft); len(res.Findings) != 0 {
		t.Errorf("clean host: %v", lines(res))
	}
}
