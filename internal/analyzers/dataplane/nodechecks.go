package dataplane

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/netfilter"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// BothIptablesBackends reports a netns whose rules are split between the
// nf_tables and legacy iptables backends.
var BothIptablesBackends = &analysis.Analyzer{
	Code:     "MD507",
	Name:     "iptables-backends-mixed",
	Severity: analysis.Warning,
	Summary:  "A network namespace holds rules in both the nf_tables and the legacy iptables backends: both run, but each tool sees only its own backend, so interceptors that inspect or reconcile rules miss half of them.",
	Doc:      doc("MD507"),
	Inputs:   []analysis.Input{analysis.NodeState()},
	Reads:    map[schema.GroupKind][]string{},
	Run:      runBackends,
}

// ProxyOpenFilesLimit reports mesh proxies near or at a low open-files limit.
var ProxyOpenFilesLimit = &analysis.Analyzer{
	Code:     "MD508",
	Name:     "proxy-open-files-limit",
	Severity: analysis.Warning,
	Summary:  "A mesh proxy (envoy, pilot-agent, ztunnel) runs with an open-files limit of 1024 or less, or has used most of it: under load Envoy fails to accept or open connections and can crash.",
	Doc:      doc("MD508"),
	Inputs:   []analysis.Input{analysis.NodeState()},
	Reads:    map[schema.GroupKind][]string{},
	Run:      runProxyLimits,
}

func runBackends(p *analysis.Pass) error {
	for _, n := range p.Snapshot.Nodes() {
		for _, ns := range n.NetNS {
			type count struct {
				rules  int
				owners map[string]bool
				file   string
				first  *netfilter.Rule
			}
			by := map[string]*count{}
			for _, rs := range ns.RuleSets {
				if rs.Set.Format != netfilter.FormatSave || rs.Backend == "" {
					continue
				}
				c := by[rs.Backend]
				if c == nil {
					c = &count{owners: map[string]bool{}, file: rs.File}
					by[rs.Backend] = c
				}
				for r := range rs.Set.Rules() {
					c.rules++
					if c.first == nil {
						c.first = r
					}
					o := r.Owner
					if !o.IsComponent() {
						o = r.Chain.Owner
					}
					c.owners[o.String()] = true
				}
			}
			nft, legacy := by["nft"], by["legacy"]
			if nft == nil || legacy == nil || nft.rules == 0 || legacy.rules == 0 {
				continue
			}
			names := func(m map[string]bool) string {
				var s []string
				for k := range m {
					s = append(s, k)
				}
				sort.Strings(s)
				return strings.Join(s, ", ")
			}
			p.Report(analysis.Finding{
				Subject: subject(n),
				Message: fmt.Sprintf("Node %s, %s: %d rule(s) live in the nf_tables backend (%s) and %d in the legacy one (%s). The kernel runs both, but iptables-nft-save shows only the first and iptables-legacy-save only the second, so a component that checks or reconciles its rules with the other backend's tool misses them, and the order between the two sets is not what either intends.", n.Name, nsName(n, ns), nft.rules, names(nft.owners), legacy.rules, names(legacy.owners)),
				Locations: []analysis.Location{
					{Position: snapshot.Position{File: nft.file, Line: nft.first.Line}, Object: nsPlace(n, ns) + "/nft", Exact: true},
					{Position: snapshot.Position{File: legacy.file, Line: legacy.first.Line}, Object: nsPlace(n, ns) + "/legacy", Exact: true},
				},
				Evidence: []string{fmt.Sprintf("%s: %d rule(s), owners %s", nft.file, nft.rules, names(nft.owners)), fmt.Sprintf("%s: %d rule(s), owners %s", legacy.file, legacy.rules, names(legacy.owners))},
				Remedy:   "Run every component with the backend the node uses (the one kube-proxy and the CNI detect, usually nf_tables on current distributions): for Istio set the istio-cni / istio-init backend to match (Istio detects it from the existing rules from 1.23), update images that ship only iptables-legacy, then remove the stray rules with the other backend's tool (e.g. iptables-legacy -t nat -F CHAIN; iptables-legacy -t nat -X CHAIN).",
				Key:      nsPlace(n, ns),
			})
		}
	}
	return nil
}

// proxyComms are the process names of mesh proxies.
func proxyComm(c string) bool { return c == "envoy" || c == "pilot-agent" || c == "ztunnel" }

func runProxyLimits(p *analysis.Pass) error {
	for _, n := range p.Snapshot.Nodes() {
		if n.Procs == nil {
			continue
		}
		for _, pr := range n.Procs {
			if !proxyComm(pr.Comm) || !pr.HasLimits {
				continue
			}
			low := pr.NoFileSoft <= 1024
			near := pr.HasFDs && pr.NoFileSoft > 0 && uint64(pr.FDs)*10 >= pr.NoFileSoft*8
			if !low && !near {
				continue
			}
			why := fmt.Sprintf("its open-files limit is %d (soft) / %d (hard)", pr.NoFileSoft, pr.NoFileHard)
			if near {
				why += fmt.Sprintf(" and it has %d files open", pr.FDs)
			}
			p.Report(analysis.Finding{
				Subject:   subject(n),
				Message:   fmt.Sprintf("Node %s: %s (pid %d, %s) — %s: each connection takes a descriptor, so under load it cannot accept or open connections and Envoy may abort.", n.Name, pr.Comm, pr.PID, nsOfProc(n, pr), why),
				Locations: []analysis.Location{{Position: snapshot.Position{File: procsFile(n)}, Object: fmt.Sprintf("%s/pid/%d", n.Name, pr.PID)}},
				Evidence:  []string{fmt.Sprintf("pid %d comm %s nofile soft=%d hard=%d fds=%d", pr.PID, pr.Comm, pr.NoFileSoft, pr.NoFileHard, pr.FDs)},
				Remedy:    "Raise the container runtime's default RLIMIT_NOFILE (containerd: LimitNOFILE in its systemd unit, which its containers inherit; CRI-O: default_ulimits = [\"nofile=1048576:1048576\"]) and restart the pod; Istio's proxies raise their soft limit to the hard one at start, so the hard limit is what must be high.",
				Key:       fmt.Sprintf("%d", pr.PID),
			})
		}
	}
	return nil
}

func nsOfProc(n *snapshot.Node, pr snapshot.Proc) string {
	if pr.NetNS == n.Meta.HostNetNS && pr.NetNS.Inode != 0 {
		return "host netns"
	}
	return "netns " + pr.NetNS.String()
}
