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
			var evidence, cmds []string
			for _, v := range ruleSets(ns) {
				for c := range v.chains {
					if !inpodOwner(c.Owner) {
						continue
					}
					locs = append(locs, chainLocation(n, ns, v.RuleSetFile, c))
					evidence = append(evidence, chainEvidence(v.RuleSetFile, c))
					cmds = append(cmds, cleanupChain(v.RuleSetFile, c)...)
				}
			}
			for _, l := range ns.IPRules {
				if m := ipRuleInpodRE.FindStringSubmatch(strings.TrimSpace(l.Text)); m != nil {
					locs = append(locs, analysis.Location{Position: snapshot.Position{File: l.File, Line: l.Line}, Object: nsPlace(n, ns) + "/ip-rule", Exact: true})
					evidence = append(evidence, fmt.Sprintf("%s:%d: %s", l.File, l.Line, strings.TrimSpace(l.Text)))
					cmds = append(cmds, "ip rule del pref "+m[1])
				}
			}
			if len(locs) == 0 {
				continue
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
					"\nThen upgrade istio-cni to 1.24.4, 1.25.0 or later (it never picks the host netns for a pod) before the node runs ambient pods again; on CRI-O nodes the old agent picks conmon's (host) netns.",
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

// cleanupChain returns the commands that remove chain c: the jumps into it
// from other chains, then its rules, then the chain itself.
func cleanupChain(rs *snapshot.RuleSetFile, c *netfilter.Chain) []string {
	var out []string
	if rs.Set.Format == netfilter.FormatNft {
		where := fmt.Sprintf("%s %s", c.Table.Family, c.Table.Name)
		for _, other := range c.Table.Chains {
			for _, r := range other.Rules {
				if r.JumpChain() != c || other == c {
					continue
				}
				if r.Handle > 0 {
					out = append(out, fmt.Sprintf("nft delete rule %s %s handle %d", where, other.Name, r.Handle))
				} else {
					out = append(out, fmt.Sprintf("nft -a list chain %s %s   # note the handle of %q, then: nft delete rule %s %s handle <handle>", where, other.Name, strings.TrimSpace(r.Text), where, other.Name))
				}
			}
		}
		return append(out, fmt.Sprintf("nft flush chain %s %s", where, c.Name), fmt.Sprintf("nft delete chain %s %s", where, c.Name))
	}
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
