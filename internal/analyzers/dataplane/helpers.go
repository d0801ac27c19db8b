// Package dataplane holds the checks of a node's dataplane (MD5xx): the
// rule sets, conntrack tables and processes of its network namespaces, read
// by `meshdoctor node`, from `node --input` files or a bundle's nodes/.
// Each check's documentation is a Markdown file in docs/, embedded so that
// `meshdoctor explain` and docs/codes/ show the same text.
package dataplane

import (
	"embed"
	"fmt"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/netfilter"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

//go:embed docs/*.md
var docFS embed.FS

func doc(code string) string { return analysis.DocPage(docFS, code) }

// Analyzers returns the checks of this package.
func Analyzers() []*analysis.Analyzer {
	return []*analysis.Analyzer{IstioRulesInHostNetNS, DuplicateInterceptionRules, InterceptorsOnOnePort, MarkBitsShared, ConnmarkRejectHangs, StaleConntrackBypassesRedirect, BothIptablesBackends, ProxyOpenFilesLimit, OldNetNSSelectionPicksHost, HostRulesDifferFromMajority, AppListensOnLocalhost, CiliumOldChainsLeft}
}

// subject is the finding subject of a node.
func subject(n *snapshot.Node) snapshot.Key { return snapshot.Key{Kind: "Node", Name: n.Name} }

// nsName names a netns for messages: "the host netns" or "netns net:[…]" (or
// "the pod netns" for loose files).
func nsName(n *snapshot.Node, ns *snapshot.NetNS) string {
	switch {
	case ns.Host:
		return "the host netns"
	case n.Loose:
		return "the pod netns"
	}
	return "netns " + ns.ID.String()
}

// nsPlace is the node/netns part of a rule's place, for Location.Object.
func nsPlace(n *snapshot.Node, ns *snapshot.NetNS) string {
	if ns.Host {
		return n.Name + "/host"
	}
	if n.Loose {
		return n.Name + "/pod"
	}
	return fmt.Sprintf("%s/%d", n.Name, ns.ID.Inode)
}

// procsFile names the node's process table, for evidence.
func procsFile(n *snapshot.Node) string { return n.Dir + "procs.json" }

// ruleLocation points at a rule's line in its dump.
func ruleLocation(n *snapshot.Node, ns *snapshot.NetNS, rs *snapshot.RuleSetFile, r *netfilter.Rule) analysis.Location {
	return analysis.Location{
		Position: snapshot.Position{File: rs.File, Line: r.Line},
		Object:   fmt.Sprintf("%s/%s/%s/%s#%d", nsPlace(n, ns), r.Chain.Table.Name, r.Chain.Name, "rule", r.Index),
		Exact:    true,
	}
}

// chainLocation points at a chain's declaration.
func chainLocation(n *snapshot.Node, ns *snapshot.NetNS, rs *snapshot.RuleSetFile, c *netfilter.Chain) analysis.Location {
	return analysis.Location{
		Position: snapshot.Position{File: rs.File, Line: c.Line},
		Object:   fmt.Sprintf("%s/%s/%s", nsPlace(n, ns), c.Table.Name, c.Name),
		Exact:    c.Line > 0,
	}
}

// ruleEvidence quotes a rule with where it is.
func ruleEvidence(rs *snapshot.RuleSetFile, r *netfilter.Rule) string {
	return fmt.Sprintf("%s:%d: %s", rs.File, r.Line, strings.TrimSpace(r.Text))
}

// ruleSets yields the rule sets of a netns that each rule lives in once: an
// `nft list ruleset` also prints the tables iptables-nft manages, which the
// netns's iptables-save.nft dump already holds, so those tables of the nft
// dump are passed over when such a dump is present.
func ruleSets(ns *snapshot.NetNS) []ruleSetView {
	haveNftSave := map[bool]bool{} // by IPv6
	for _, rs := range ns.RuleSets {
		if rs.Backend == "nft" && rs.Set.Format == netfilter.FormatSave {
			haveNftSave[rs.IPv6] = true
		}
	}
	var out []ruleSetView
	for _, rs := range ns.RuleSets {
		v := ruleSetView{RuleSetFile: rs}
		if rs.Set.Format == netfilter.FormatNft {
			for _, t := range rs.Set.Tables {
				if iptablesNftTable(t) && haveNftSave[t.Family == "ip6"] {
					continue
				}
				v.tables = append(v.tables, t)
			}
		} else {
			v.tables = rs.Set.Tables
		}
		out = append(out, v)
	}
	return out
}

// ruleSetView is a rule set restricted to the tables to look at.
type ruleSetView struct {
	*snapshot.RuleSetFile
	tables []*netfilter.Table
}

func (v ruleSetView) chains(yield func(*netfilter.Chain) bool) {
	for _, t := range v.tables {
		for _, c := range t.Chains {
			if !yield(c) {
				return
			}
		}
	}
}

// iptablesNftTable tells the nft tables iptables-nft writes: the classic
// table names in the ip and ip6 families.
func iptablesNftTable(t *netfilter.Table) bool {
	if t.Family != "ip" && t.Family != "ip6" {
		return false
	}
	switch t.Name {
	case "filter", "nat", "mangle", "raw", "security":
		return true
	}
	return false
}

// iptablesCommand is the binary that edits a rule set's backend.
func iptablesCommand(rs *snapshot.RuleSetFile, t *netfilter.Table) string {
	cmd := "iptables"
	if rs.IPv6 || t.Family == "ip6" {
		cmd = "ip6tables"
	}
	switch rs.Backend {
	case "legacy":
		return cmd + "-legacy"
	case "nft":
		return cmd + "-nft"
	}
	return cmd
}

// inNetNS prefixes a command to run it in a pod's netns: with nsenter and
// the pid of one of its processes when the dump knows one.
func inNetNS(n *snapshot.Node, ns *snapshot.NetNS, cmd string) string {
	if ns.Host {
		return cmd
	}
	if len(ns.PIDs) > 0 {
		return fmt.Sprintf("nsenter -n -t %d -- %s", ns.PIDs[0], cmd)
	}
	return "nsenter -n -t <PID of a process of the pod> -- " + cmd
}

// ruleSpec renders a rule's match and target part ("-p tcp … -j X") from
// its iptables-save text, for -D and -C commands.
func ruleSpec(r *netfilter.Rule) string {
	c := r.Canonical()
	if rest, ok := strings.CutPrefix(c, "-A "+r.Chain.Name); ok {
		return strings.TrimSpace(rest)
	}
	return c
}
