package dataplane

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/netfilter"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// HostRulesDifferFromMajority reports a node whose own rule set, for one
// owner and table, differs from what most nodes of the bundle have.
var HostRulesDifferFromMajority = &analysis.Analyzer{
	Code:     "MD510",
	Name:     "node-rules-differ",
	Severity: analysis.Warning,
	Summary:  "A node's own iptables rules for one component and table differ from those most nodes of the bundle have (per-node details such as kube-proxy's chain hashes, addresses and counters set aside): something rewrote or lost rules on that node.",
	Doc:      doc("MD510"),
	Inputs:   []analysis.Input{analysis.NodeState()},
	Reads:    map[schema.GroupKind][]string{},
	Run:      runMajority,
}

// minNodesForMajority: with fewer nodes "most" means little.
const minNodesForMajority = 3

// hostRules is one node's normalised host rules for one owner and table.
type hostRules struct {
	node  *snapshot.Node
	rules map[string][]ruleAt // canonical text → where it is
}

type ruleAt struct {
	rs *snapshot.RuleSetFile
	r  *netfilter.Rule
}

func runMajority(p *analysis.Pass) error {
	// group ("owner table") → node name → rules
	groups := map[string]map[string]*hostRules{}
	var nodes []*snapshot.Node
	for _, n := range p.Snapshot.Nodes() {
		host := hostNetNS(n)
		if host == nil || n.Loose {
			continue
		}
		nodes = append(nodes, n)
		for _, rs := range host.RuleSets {
			if rs.Set.Format != netfilter.FormatSave {
				continue // nft.txt repeats the iptables-nft tables
			}
			for r := range rs.Set.Rules() {
				owner := r.Owner
				if !owner.IsComponent() {
					owner = r.Chain.Owner
				}
				g := fmt.Sprintf("%s %s", owner, r.Chain.Table.Name)
				if groups[g] == nil {
					groups[g] = map[string]*hostRules{}
				}
				hr := groups[g][n.Name]
				if hr == nil {
					hr = &hostRules{node: n, rules: map[string][]ruleAt{}}
					groups[g][n.Name] = hr
				}
				k := string(r.AppendCanonical(nil, normaliseWord))
				hr.rules[k] = append(hr.rules[k], ruleAt{rs, r})
			}
		}
	}
	if len(nodes) < minNodesForMajority {
		return nil
	}
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	for _, g := range names {
		byNode := groups[g]
		sigs := map[string][]*snapshot.Node{}
		sigOf := map[string]string{}
		for _, n := range nodes {
			s := signature(byNode[n.Name])
			sigs[s] = append(sigs[s], n)
			sigOf[n.Name] = s
		}
		majority, count := "", 0
		for s, ns := range sigs {
			if len(ns) > count || len(ns) == count && s < majority {
				majority, count = s, len(ns)
			}
		}
		if count*2 <= len(nodes) {
			continue // no majority to compare with
		}
		ref := byNode[sigs[majority][0].Name]
		for _, n := range nodes {
			if sigOf[n.Name] == majority {
				continue
			}
			reportDifference(p, g, n, byNode[n.Name], ref, sigs[majority])
		}
	}
	return nil
}

func reportDifference(p *analysis.Pass, group string, n *snapshot.Node, mine, ref *hostRules, like []*snapshot.Node) {
	extra, missing := diffRules(mine, ref)
	var evidence []string
	var locs []analysis.Location
	host := hostNetNS(n)
	for i, k := range extra {
		at := mine.rules[k][0]
		if i < 10 {
			evidence = append(evidence, "only here: "+ruleEvidence(at.rs, at.r))
		}
		if len(locs) < 5 {
			locs = append(locs, ruleLocation(n, host, at.rs, at.r))
		}
	}
	for i, k := range missing {
		if i < 10 {
			at := ref.rules[k][0]
			evidence = append(evidence, fmt.Sprintf("missing here, present on %s: %s", ref.node.Name, ruleEvidence(at.rs, at.r)))
		}
	}
	if len(locs) == 0 && len(host.RuleSets) > 0 {
		locs = append(locs, analysis.Location{Position: snapshot.Position{File: host.RuleSets[0].File}, Object: nsPlace(n, host)})
	}
	var peers []string
	for _, o := range like {
		peers = append(peers, o.Name)
	}
	owner, table, _ := strings.Cut(group, " ")
	p.Report(analysis.Finding{
		Subject:   subject(n),
		Message:   fmt.Sprintf("Node %s: its %s rules in the %s table differ from those of %d other node(s) (%s): %d rule(s) only here, %d missing here. Nodes of one cluster carry the same rules once per-node details are set aside, so something rewrote or lost rules on this node.", n.Name, owner, table, len(like), strings.Join(peers, ", "), len(extra), len(missing)),
		Locations: locs,
		Evidence:  evidence,
		Remedy:    "Compare this node's iptables-save with a healthy node's. Rules only here that belong in pods (Istio's ISTIO_PRERT/ISTIO_OUTPUT) are incident (a): MD501 lists their cleanup. Rules missing here: restart the component that owns them on this node (kube-proxy, the CNI agent, istio-cni) so it writes them again, and find why they went (a flush by another tool, a backend switch: MD507).",
		Key:       group,
	})
}

// diffRules lists the canonical rules only in mine and only in ref.
func diffRules(mine, ref *hostRules) (extra, missing []string) {
	get := func(h *hostRules) map[string][]ruleAt {
		if h == nil {
			return nil
		}
		return h.rules
	}
	m, r := get(mine), get(ref)
	for k, at := range m {
		if len(at) > len(r[k]) {
			extra = append(extra, k)
		}
	}
	for k, at := range r {
		if len(at) > len(m[k]) {
			missing = append(missing, k)
		}
	}
	byLine := func(set map[string][]ruleAt, ks []string) {
		sort.Slice(ks, func(i, j int) bool { return set[ks[i]][0].r.Line < set[ks[j]][0].r.Line })
	}
	byLine(m, extra)
	byLine(r, missing)
	return extra, missing
}

// signature is a node's rules of one group as one comparable string.
func signature(h *hostRules) string {
	if h == nil {
		return ""
	}
	var ks []string
	for k, at := range h.rules {
		ks = append(ks, fmt.Sprintf("%d×%s", len(at), k))
	}
	sort.Strings(ks)
	return strings.Join(ks, "\n")
}

// normaliseWord sets aside what legitimately differs between nodes:
// kube-proxy's hashed chain names, addresses and CIDRs (a node's own IP,
// its pod CIDR).
func normaliseWord(w string) string {
	w = netfilter.GenericChainName(w)
	if _, err := netip.ParsePrefix(w); err == nil {
		return "<cidr>"
	}
	if _, err := netip.ParseAddr(w); err == nil {
		return "<addr>"
	}
	return w
}

// hostNetNS returns the node's own netns, if it was read.
func hostNetNS(n *snapshot.Node) *snapshot.NetNS {
	for _, ns := range n.NetNS {
		if ns.Host {
			return ns
		}
	}
	return nil
}
