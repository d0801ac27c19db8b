package dataplane

import (
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/netfilter"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// InterceptorsOnOnePort reports two traffic interceptors (Istio, mirrord,
// Linkerd, Kuma) redirecting the same port in one netns and hook.
var InterceptorsOnOnePort = &analysis.Analyzer{
	Code:     "MD503",
	Name:     "interceptors-share-port",
	Severity: analysis.Warning,
	Summary:  "Two traffic interceptors (Istio and mirrord, Linkerd or Kuma) both redirect the same port in one network namespace: only the rule met first takes the connection, and which one that is depends on insertion order.",
	Doc:      doc("MD503"),
	Inputs:   []analysis.Input{analysis.NodeState()},
	Reads:    map[schema.GroupKind][]string{},
	Run:      runInterceptors,
}

// interceptor tells the owners that capture application traffic.
func interceptor(o netfilter.Owner) bool {
	switch o {
	case netfilter.OwnerIstioSidecar, netfilter.OwnerIstioAmbientPod, netfilter.OwnerMirrord, netfilter.OwnerLinkerd, netfilter.OwnerKuma:
		return true
	}
	return false
}

type redirectRule struct {
	rs    *snapshot.RuleSetFile
	r     *netfilter.Rule
	owner netfilter.Owner
}

func runInterceptors(p *analysis.Pass) error {
	for _, n := range p.Snapshot.Nodes() {
		for _, ns := range n.NetNS {
			var all []redirectRule
			for _, v := range ruleSets(ns) {
				for c := range v.chains {
					for _, r := range c.Rules {
						owner := r.Owner
						if !interceptor(owner) {
							owner = c.Owner
						}
						if _, ok := r.Redirect(); ok && interceptor(owner) {
							all = append(all, redirectRule{v.RuleSetFile, r, owner})
						}
					}
				}
			}
			reported := map[[2]netfilter.Owner]bool{}
			for i, a := range all {
				for _, b := range all[i+1:] {
					pair := [2]netfilter.Owner{a.owner, b.owner}
					if a.owner == b.owner || reported[pair] || a.r.Chain.Table != b.r.Chain.Table || a.r.Chain.Hooks&b.r.Chain.Hooks == 0 {
						continue
					}
					port, ok := sharedPort(a.r, b.r, a.r.Chain.Hooks&b.r.Chain.Hooks)
					if !ok {
						continue
					}
					reported[pair], reported[[2]netfilter.Owner{b.owner, a.owner}] = true, true
					first, second := a, b
					if a.r.Line > b.r.Line {
						first, second = b, a
					}
					p.Report(analysis.Finding{
						Subject:   subject(n),
						Message:   fmt.Sprintf("Node %s, %s: %s and %s both redirect port %d (table %s, hook %s): a connection is taken by whichever rule it meets first, so one of them silently does not see it — with mirrord, stolen traffic bypasses the mesh or mesh traffic bypasses mirrord.", n.Name, nsName(n, ns), first.owner, second.owner, port, a.r.Chain.Table.Name, a.r.Chain.Hooks&b.r.Chain.Hooks),
						Locations: []analysis.Location{ruleLocation(n, ns, first.rs, first.r), ruleLocation(n, ns, second.rs, second.r)},
						Evidence:  []string{ruleEvidence(first.rs, first.r), ruleEvidence(second.rs, second.r)},
						Remedy:    "Let one interceptor own the port. For mirrord in a mesh: use a mirrord release that detects the mesh (it then inserts its rules in the mesh's chains), or exclude the port from the mesh (traffic.sidecar.istio.io/excludeInboundPorts / excludeOutboundPorts) while mirroring it; for two meshes, inject only one per pod.",
						Key:       fmt.Sprintf("%s/%s/%s", nsPlace(n, ns), first.owner, second.owner),
					})
				}
			}
		}
	}
	return nil
}

// sharedPort returns a destination port both rules act on: a port one of
// them names that the other's conditions also admit (a rule without a port
// condition admits every port) on some path from one of the hooks.
func sharedPort(a, b *netfilter.Rule, hooks netfilter.Hook) (uint16, bool) {
	for _, cand := range append(namedPorts(a), namedPorts(b)...) {
		for h := netfilter.Hook(1); h != 0 && h <= hooks; h <<= 1 {
			if hooks&h != 0 && reachesWith(a, cand, h) && reachesWith(b, cand, h) {
				return cand, true
			}
		}
	}
	return 0, false
}

// reachesWith tells whether a packet to port p can reach rule r and match
// its port conditions: r admits p, no earlier rule of its chain returns or
// accepts p by port, and some jump into the chain does the same, up to a
// chain of hook h. Conditions other than ports are taken as holding.
func reachesWith(r *netfilter.Rule, p uint16, h netfilter.Hook) bool {
	return admits(r, p) && !excludedBefore(r.Chain, r.Index, p) && chainReached(r.Chain, p, h, 0)
}

func chainReached(c *netfilter.Chain, p uint16, h netfilter.Hook, depth int) bool {
	if c.Hooks&h == 0 {
		return false
	}
	if c.Builtin {
		return true
	}
	if depth > 16 {
		return false
	}
	for _, other := range c.Table.Chains {
		for _, j := range other.Rules {
			if j.JumpChain() == c && other != c && admits(j, p) && !excludedBefore(other, j.Index, p) && chainReached(other, p, h, depth+1) {
				return true
			}
		}
	}
	return false
}

// excludedBefore tells whether a rule of c before position idx ends port
// p's way through c by port: RETURN or ACCEPT with port conditions that
// all admit p.
func excludedBefore(c *netfilter.Chain, idx int, p uint16) bool {
	for _, r := range c.Rules {
		if r.Index >= idx {
			break
		}
		if r.Target.Name != "RETURN" && r.Target.Name != "ACCEPT" {
			continue
		}
		if pms := r.DestPorts(); len(pms) > 0 && admits(r, p) {
			return true
		}
	}
	return false
}

// namedPorts lists the first port of each positive destination-port range
// of a rule.
func namedPorts(r *netfilter.Rule) []uint16 {
	var out []uint16
	for _, pm := range r.DestPorts() {
		if pm.Not || pm.Unknown {
			continue
		}
		for _, pr := range pm.Ranges {
			out = append(out, pr.First)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// admits tells whether every destination-port condition of r holds for p;
// a condition that did not parse admits nothing, so no clash is claimed on
// a guess.
func admits(r *netfilter.Rule, p uint16) bool {
	for _, pm := range r.DestPorts() {
		if pm.Unknown || !pm.Contains(p) {
			return false
		}
	}
	return true
}
