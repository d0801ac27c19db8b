package dataplane

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/netfilter"
)

// CiliumOldChainsLeft reports the OLD_CILIUM_* chains an interrupted
// cilium-agent restart leaves behind.
var CiliumOldChainsLeft = &analysis.Analyzer{
	Code:     "MD512",
	Name:     "cilium-old-chains-left",
	Severity: analysis.Warning,
	Summary:  "A node still holds OLD_CILIUM_* chains: the cilium agent renames its chains with that prefix while it installs new ones and deletes them at the end, so leftovers mean a restart was interrupted — and while built-in chains still jump to them, packets go through two generations of Cilium's rules.",
	Doc:      doc("MD512"),
	Inputs:   []analysis.Input{analysis.NodeState()},
	Reads:    map[schema.GroupKind][]string{},
	Run:      runCiliumOld,
}

const oldCiliumPrefix = "OLD_CILIUM_"

func runCiliumOld(p *analysis.Pass) error {
	for _, n := range p.Snapshot.Nodes() {
		for _, ns := range n.NetNS {
			var locs []analysis.Location
			var evidence, cmds []string
			var orphans []string // old chains without a current one
			for _, v := range ruleSets(ns) {
				for c := range v.chains {
					if !strings.HasPrefix(c.Name, oldCiliumPrefix) {
						continue
					}
					locs = append(locs, chainLocation(n, ns, v.RuleSetFile, c))
					jumps := 0
					for _, other := range c.Table.Chains {
						for _, r := range other.Rules {
							if r.JumpChain() == c && other != c {
								jumps++
								evidence = append(evidence, ruleEvidence(v.RuleSetFile, r))
							}
						}
					}
					evidence = append(evidence, fmt.Sprintf("%s: chain %s in table %s, %d rule(s), %d jump(s) to it", v.File, c.Name, c.Table.Name, len(c.Rules), jumps))
					if current(c) == nil {
						orphans = append(orphans, c.Table.Name+"/"+c.Name)
						continue
					}
					cmds = append(cmds, cleanupChain(v.RuleSetFile, c)...)
				}
			}
			if len(locs) == 0 {
				continue
			}
			remedy := "The agent's current chains are in place, so the old ones are only a leftover. Remove them (as root on the node, in order):\n" + strings.Join(cmds, "\n") +
				"\nand check why the restart stopped half-way (`kubectl -n kube-system logs <cilium pod> --previous`)."
			if len(orphans) > 0 {
				remedy = fmt.Sprintf("For %s no current CILIUM_ chain exists: the agent never reinstalled its rules. Do not delete them by hand; restart the cilium agent on the node (`kubectl -n kube-system delete pod <cilium pod on %s>`) and let it reconcile, then check again.", strings.Join(orphans, ", "), n.Name)
				if len(cmds) > 0 {
					remedy += " The others have a current chain and can be removed:\n" + strings.Join(cmds, "\n")
				}
			}
			p.Report(analysis.Finding{
				Subject:   subject(n),
				Key:       nsPlace(n, ns),
				Locations: locs,
				Evidence:  evidence,
				Message:   fmt.Sprintf("Node %s: %s holds %d OLD_CILIUM_* chain(s) from an interrupted cilium-agent restart; while built-in chains jump to them, packets are handled twice, by stale and current rules (stale proxy ports, double masquerading).", n.Name, nsName(n, ns), len(locs)),
				Remedy:    remedy,
			})
		}
	}
	return nil
}

// current is the chain an OLD_ chain was renamed from, if it exists again.
func current(c *netfilter.Chain) *netfilter.Chain {
	name := strings.TrimPrefix(c.Name, "OLD_")
	for _, o := range c.Table.Chains {
		if o.Name == name {
			return o
		}
	}
	return nil
}
