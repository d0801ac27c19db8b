package dataplane

import (
	"fmt"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/netfilter"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// IstioRulesInHostNetNS reports Istio's in-pod interception rules in a
// node's own netns: incident (a).
var IstioRulesInHostNetNS = &analysis.Analyzer{
	Code:     "MD501",
	Name:     "istio-inpod-rules-in-host-netns",
	Severity: analysis.Error,
	Summary:  "Istio's in-pod interception rules (ISTIO_PRERT/ISTIO_OUTPUT, marks 0x539/0x111) or its in-pod policy route sit in the node's own network namespace: the node's traffic is redirected to a ztunnel port and the node loses its networking.",
	Doc:      doc("MD501"),
	Inputs:   []analysis.Input{analysis.NodeState()},
	Reads:    map[schema.GroupKind][]string{},
	Run:      runHostRules,
}

// ipRuleInpodRE matches the policy rule istio-cni adds in a pod's netns:
// "32764:	from all fwmark 0x111/0xfff lookup 100".
var ipRuleInpodRE = regexp.MustCompile(`^(\d+):\s+from all fwmark 0x111/0xfff lookup 100\b`)

func runHostRules(p *analysis.Pass) error {
	for _, n := range p.Snapshot.Nodes() {
		for _, ns := range n.NetNS {
			if !ns.Host {
				continue
			}
			var locs []analysis.Location
			var evidence, cmds, notes []string
			nativeNft, xtables := false, false
			for _, v := range ruleSets(ns) {
				for _, t := range v.tables {
					var inpod []*netfilter.Chain
					for _, c := range t.Chains {
						if !inpodOwner(c.Owner) {
							continue
						}
						inpod = append(inpod, c)
						locs = append(locs, chainLocation(n, ns, v.RuleSetFile, c))
						evidence = append(evidence, chainEvidence(v.RuleSetFile, c))
						if v.Set.Format != netfilter.FormatNft {
							cmds = append(cmds, cleanupChain(v.RuleSetFile, c)...)
							xtables = true
						}
					}
					if len(inpod) == 0 || v.Set.Format != netfilter.FormatNft {
						continue
					}
					cmds = append(cmds, cleanupNftChains(t, inpod)...)
					nativeNft = true
					if c := emptiedProbeSNAT(t); c != nil {
						evidence = append(evidence, fmt.Sprintf("%s:%d: table %s %s chain %s (%s) has no rule: the kubelet probe SNAT to 169.254.7.127 is gone", v.File, c.Line, t.Family, t.Name, c.Name, c.Owner))
						notes = append(notes, fmt.Sprintf("The in-pod write began with `flush table %s %s`, which also emptied the node's own chain %s (kubelet probe SNAT to 169.254.7.127): kubelet's probes now reach ambient pods without the source address that exempts them from capture. Then restart the istio-cni-node pod on this node: it writes the SNAT rule again.", t.Family, t.Name, c.Name))
					}
				}
			}
			for _, l := range ns.IPRules {
				if m := ipRuleInpodRE.FindStringSubmatch(strings.TrimSpace(l.Text)); m != nil {
					locs = append(locs, analysis.Location{Position: snapshot.Position{File: l.File, Line: l.Line}, Object: nsPlace(n, ns) + "/ip-rule", Exact: true})
					evidence = append(evidence, fmt.Sprintf("%s:%d: %s", l.File, l.Line, strings.TrimSpace(l.Text)))
					cmds = append(cmds, "ip rule del pref "+m[1])
					// istio-cni writes this rule in both modes: it points at
					// the old agent only without native nft tables.
					xtables = xtables || !nativeNft
				}
			}
			if len(locs) == 0 {
				continue
			}
			var then []string
			if xtables {
				then = append(then, "Then upgrade istio-cni to 1.24.4, 1.25.0 or later (it never picks the host netns for a pod) before the node runs ambient pods again; on CRI-O nodes the old agent picks conmon's (host) netns.")
			}
			if nativeNft {
				// Native nftables capture exists from Istio 1.28, which
				// already has the fixed netns selection: the upgrade advice
				// does not explain these tables.
				then = append(then, "Istio's native nft tables (istio-ambient-*, istio-proxy-*) are written only by Istio 1.28 or later, whose istio-cni already never picks the host netns on its own: find in the istio-cni-node log on this node which pod's rules it wrote here before mesh pods run on the node again.")
			}
			msg := fmt.Sprintf("Node %s: %s holds Istio's in-pod interception state (%d place(s)): the node's own traffic is marked and redirected to ztunnel's ports, so the node loses its networking (kubelet, ssh, DNS).", n.Name, nsName(n, ns), len(locs))
			if ns.HostAssumed != "" {
				evidence = append(evidence, ns.HostAssumed)
			}
			p.Report(analysis.Finding{
				Subject:   subject(n),
				Message:   msg,
				Locations: locs,
				Evidence:  evidence,
				Remedy: "Remove the rules from the node's own netns (run as root on the node, in order):\n" + strings.Join(cmds, "\n") +
					prefixEach("\n", append(then, notes...)),
				Key: nsPlace(n, ns),
			})
		}
	}
	return nil
}

// inpodOwner tells the owners whose chains belong in a pod's netns only.
func inpodOwner(o netfilter.Owner) bool {
	return o == netfilter.OwnerIstioAmbientPod || o == netfilter.OwnerIstioSidecar
}

func chainEvidence(rs *snapshot.RuleSetFile, c *netfilter.Chain) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d: table %s chain %s (%s, %d rule(s))", rs.File, c.Line, c.Table.Name, c.Name, c.Owner, len(c.Rules))
	for i, r := range c.Rules {
		if i == 3 {
			fmt.Fprintf(&b, "; …")
			break
		}
		fmt.Fprintf(&b, "; %d: %s", r.Line, strings.TrimSpace(r.Text))
	}
	return b.String()
}

// cleanupChain returns the iptables commands that remove chain c: the
// jumps into it from other chains, then its rules, then the chain itself.
func cleanupChain(rs *snapshot.RuleSetFile, c *netfilter.Chain) []string {
	var out []string
	cmd := iptablesCommand(rs, c.Table)
	for _, other := range c.Table.Chains {
		for _, r := range other.Rules {
			if r.JumpChain() == c && other != c {
				out = append(out, fmt.Sprintf("%s -t %s -D %s %s", cmd, c.Table.Name, other.Name, ruleSpec(r)))
			}
		}
	}
	return append(out, fmt.Sprintf("%s -t %s -F %s", cmd, c.Table.Name, c.Name), fmt.Sprintf("%s -t %s -X %s", cmd, c.Table.Name, c.Name))
}

// cleanupNftChains returns the nft commands that remove the in-pod chains
// of native table t. In nft the in-pod base chains (prerouting, output) are
// Istio's own too, and they jump into istio-prerouting/istio-output, so the
// commands flush every such chain before deleting any: nft refuses to
// delete a chain a rule still jumps to. A table holding nothing but in-pod
// chains (istio-ambient-mangle, istio-ambient-raw) is deleted whole; the
// node's own istio-ambient-nat keeps its postrouting chain and probe sets.
func cleanupNftChains(t *netfilter.Table, inpod []*netfilter.Chain) []string {
	where := t.Family + " " + t.Name
	if len(inpod) == len(t.Chains) {
		return []string{"nft delete table " + where}
	}
	isInpod := make(map[*netfilter.Chain]bool, len(inpod))
	for _, c := range inpod {
		isInpod[c] = true
	}
	var out []string
	// Jumps from the node's own chains into in-pod ones go one by one;
	// `nft list ruleset` without -a prints no handles, so the command
	// says how to find it.
	for _, other := range t.Chains {
		if isInpod[other] {
			continue
		}
		for _, r := range other.Rules {
			if !isInpod[r.JumpChain()] {
				continue
			}
			if r.Handle > 0 {
				out = append(out, fmt.Sprintf("nft delete rule %s %s handle %d", where, other.Name, r.Handle))
			} else {
				out = append(out, fmt.Sprintf("nft -a list chain %s %s   # note the handle of %q, then: nft delete rule %s %s handle <handle>", where, other.Name, strings.TrimSpace(r.Text), where, other.Name))
			}
		}
	}
	for _, c := range inpod {
		out = append(out, fmt.Sprintf("nft flush chain %s %s", where, c.Name))
	}
	for _, c := range inpod {
		out = append(out, fmt.Sprintf("nft delete chain %s %s", where, c.Name))
	}
	return out
}

// emptiedProbeSNAT returns the host-side chain of native table t when it
// has no rule left: istio-cni's in-pod transaction flushes the whole
// istio-ambient-nat table, which the node's probe SNAT shares.
func emptiedProbeSNAT(t *netfilter.Table) *netfilter.Chain {
	for _, c := range t.Chains {
		if c.Owner == netfilter.OwnerIstioAmbientHost && len(c.Rules) == 0 {
			return c
		}
	}
	return nil
}

// prefixEach joins ss, each preceded by sep.
func prefixEach(sep string, ss []string) string {
	var b strings.Builder
	for _, s := range ss {
		b.WriteString(sep)
		b.WriteString(s)
	}
	return b.String()
}
