package dataplane

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/netfilter"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// MarkBitsShared reports two components using overlapping packet-mark or
// connmark bits in one netns and hook, one of them writing.
var MarkBitsShared = &analysis.Analyzer{
	Code:     "MD504",
	Name:     "mark-bits-shared",
	Severity: analysis.Warning,
	Summary:  "Two components use overlapping bits of the packet mark or connmark in one network namespace, one of them writing: each can set or clear what the other tests, so packets are routed, redirected or rejected by the wrong rule.",
	Doc:      doc("MD504"),
	Inputs:   []analysis.Input{analysis.NodeState()},
	Reads:    map[schema.GroupKind][]string{},
	Run:      runMarks,
}

type markUse struct {
	rs    *snapshot.RuleSetFile
	r     *netfilter.Rule
	owner netfilter.Owner
	use   netfilter.MarkUse
	write bool
}

// sharedByDesign lists owner pairs documented to share mark bits:
// kube-proxy and Cilium both use 0x4000 (masquerade) and 0x8000 (drop),
// the Kubernetes convention Cilium follows.
func sharedByDesign(a, b netfilter.Owner) bool {
	pair := func(x, y netfilter.Owner) bool { return a == x && b == y || a == y && b == x }
	return pair(netfilter.OwnerKubeProxy, netfilter.OwnerCilium)
}

func runMarks(p *analysis.Pass) error {
	for _, n := range p.Snapshot.Nodes() {
		for _, ns := range n.NetNS {
			var uses []markUse
			// One use per owner, space, bits and hook set is enough to
			// find a clash: keeps the pairwise comparison small on nodes
			// with thousands of rules.
			type useKey struct {
				owner netfilter.Owner
				space netfilter.MarkSpace
				bits  uint32
				write bool
				hooks netfilter.Hook
			}
			seenUse := map[useKey]bool{}
			add := func(u markUse) {
				k := useKey{u.owner, u.use.Space, u.use.Bits, u.write, u.r.Chain.Hooks}
				if !seenUse[k] {
					seenUse[k] = true
					uses = append(uses, u)
				}
			}
			for _, v := range ruleSets(ns) {
				for c := range v.chains {
					for _, r := range c.Rules {
						owner := r.Owner
						if !owner.IsComponent() {
							owner = c.Owner
						}
						if !owner.IsComponent() {
							continue
						}
						for _, u := range r.MarksRead() {
							add(markUse{v.RuleSetFile, r, owner, u, false})
						}
						for _, u := range r.MarksWritten() {
							add(markUse{v.RuleSetFile, r, owner, u, true})
						}
					}
				}
			}
			reported := map[string]bool{}
			for i, a := range uses {
				for _, b := range uses[i+1:] {
					if a.owner == b.owner || !(a.write || b.write) || !a.use.Overlaps(b.use) || sharedByDesign(a.owner, b.owner) ||
						a.r.Chain.Hooks&b.r.Chain.Hooks == 0 && a.use.Space == netfilter.PacketMark {
						continue
					}
					// A connmark lives with the connection, so it crosses
					// hooks; a packet mark only within one packet's path.
					key := fmt.Sprintf("%s/%s/%s/%s", nsPlace(n, ns), a.use.Space, min(a.owner, b.owner), max(a.owner, b.owner))
					if reported[key] {
						continue
					}
					reported[key] = true
					p.Report(analysis.Finding{
						Subject:   subject(n),
						Message:   fmt.Sprintf("Node %s, %s: %s and %s use overlapping %s bits (0x%x): %s %s and %s %s. Each can change what the other tests, so connections get the other component's treatment — the old mirrord connmark 0x1 next to Istio's marks made outbound calls on a stolen port reset or hang.", n.Name, nsName(n, ns), a.owner, b.owner, a.use.Space, a.use.Bits&b.use.Bits, a.owner, verb(a.write, a.use), b.owner, verb(b.write, b.use)),
						Locations: []analysis.Location{ruleLocation(n, ns, a.rs, a.r), ruleLocation(n, ns, b.rs, b.r)},
						Evidence:  []string{ruleEvidence(a.rs, a.r), ruleEvidence(b.rs, b.r)},
						Remedy:    "Give each component its own mark bits: Istio uses 0x539 and 0x111 under mask 0xfff (ambient) and 1337/1338 (sidecar TPROXY), Cilium 0x0f00 and 0x4000/0x8000, Calico the bits of 0xffff0000. Upgrade mirrord to 3.134.0 or later (it no longer marks connections), or move the other component's mark with its configuration.",
						Key:       key,
					})
				}
			}
		}
	}
	return nil
}

func verb(write bool, u netfilter.MarkUse) string {
	if write {
		return "writes " + u.String()
	}
	return "tests " + u.String()
}
