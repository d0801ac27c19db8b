package dataplane

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/netfilter"
)

// DuplicateInterceptionRules reports rules repeated in Istio's chains and
// jumps into an Istio chain written twice: what a non-idempotent
// istio-iptables leaves when it runs again (incident (b)).
var DuplicateInterceptionRules = &analysis.Analyzer{
	Code:     "MD502",
	Name:     "duplicate-istio-rules",
	Severity: analysis.Warning,
	Summary:  "Identical rules repeat in an ISTIO_* chain, or a chain jumps into one ISTIO_* chain twice: istio-iptables ran again over its own rules (not idempotent before Istio 1.24), and another interceptor's rules no longer sit where it expects.",
	Doc:      doc("MD502"),
	Inputs:   []analysis.Input{analysis.NodeState()},
	Reads:    map[schema.GroupKind][]string{},
	Run:      runDuplicates,
}

func runDuplicates(p *analysis.Pass) error {
	for _, n := range p.Snapshot.Nodes() {
		for _, ns := range n.NetNS {
			for _, v := range ruleSets(ns) {
				for c := range v.chains {
					groups := duplicateGroups(c)
					if len(groups) == 0 {
						continue
					}
					var locs []analysis.Location
					var evidence, whats []string
					var surplus []*netfilter.Rule
					for _, dup := range groups {
						first := dup[0]
						if c.Owner.IsIstio() {
							whats = append(whats, fmt.Sprintf("rule %q appears %d times", first.Canonical(), len(dup)))
						} else {
							whats = append(whats, fmt.Sprintf("it jumps into %s %d times", first.JumpChain().Name, len(dup)))
						}
						evidence = append(evidence, ruleEvidence(v.RuleSetFile, first))
						for _, r := range dup[1:] {
							locs = append(locs, ruleLocation(n, ns, v.RuleSetFile, r))
							evidence = append(evidence, ruleEvidence(v.RuleSetFile, r))
							surplus = append(surplus, r)
						}
					}
					// Delete from the highest position down, so the positions
					// still to delete do not move.
					sort.Slice(surplus, func(i, j int) bool { return surplus[i].Index > surplus[j].Index })
					var cmds []string
					for _, r := range surplus {
						cmds = append(cmds, inNetNS(n, ns, fmt.Sprintf("%s -t %s -D %s %d", iptablesCommand(v.RuleSetFile, c.Table), c.Table.Name, c.Name, r.Index)))
					}
					p.Report(analysis.Finding{
						Subject:   subject(n),
						Message:   fmt.Sprintf("Node %s, %s, table %s, chain %s: %s. istio-iptables was applied again over its own rules (it is idempotent only from Istio 1.24); the copies after the first never match, but they show the capture was re-run and they shift the positions other tools (mirrord, CNI chaining) insert at.", n.Name, nsName(n, ns), c.Table.Name, c.Name, strings.Join(whats, "; ")),
						Locations: locs,
						Evidence:  evidence,
						Remedy:    "Upgrade Istio to 1.24 or later (istio-iptables then skips or reconciles rules already present) and restart the pod so its rules are written once. To clean the running pod now, delete the copies, in this order (highest position first):\n" + strings.Join(cmds, "\n"),
						Key:       fmt.Sprintf("%s/%s/%s", nsPlace(n, ns), c.Table.Name, c.Name),
					})
				}
			}
		}
	}
	return nil
}

// duplicateGroups returns, for chain c, the groups of rules that repeat:
// identical rules anywhere in an Istio chain, and, in any chain, jumps
// into the same Istio chain with the same conditions. Rules are compared
// by their canonical text (no counters, options in save order); empty
// for iptables-save only, as nft rule sets carry handles that differ.
func duplicateGroups(c *netfilter.Chain) [][]*netfilter.Rule {
	if c.Table.Family != "" && c.Table.Family != "ip" && c.Table.Family != "ip6" {
		return nil
	}
	byText := map[string][]*netfilter.Rule{}
	for _, r := range c.Rules {
		inIstio := c.Owner.IsIstio()
		jumpsIntoIstio := r.JumpChain() != nil && r.JumpChain().Owner.IsIstio()
		if !inIstio && !jumpsIntoIstio {
			continue
		}
		k := r.Canonical()
		byText[k] = append(byText[k], r)
	}
	var out [][]*netfilter.Rule
	for _, g := range byText {
		if len(g) > 1 {
			out = append(out, g)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0].Index < out[j][0].Index })
	return out
}
