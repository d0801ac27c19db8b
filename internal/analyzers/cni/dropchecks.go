package cni

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/cilium"
	"github.com/meshdoctor/meshdoctor/internal/netpol"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// UnattributedDrops reports drops of traffic whose source Cilium could not
// attribute to a pod: the evidence of incident (d).
var UnattributedDrops = &analysis.Analyzer{
	Code:     "MD411",
	Name:     "cilium-dropped-unmanaged-pod-traffic",
	Severity: analysis.Error,
	Summary:  "Hubble or cilium monitor shows policy drops of traffic from a pod address Cilium does not know (identity world, or remote-node from a node without Cilium): pods on nodes Cilium does not manage lose their connections to policy-protected pods.",
	Doc:      doc("MD411"),
	Inputs:   []analysis.Input{analysis.CiliumOutputs()},
	Reads: map[schema.GroupKind][]string{
		snapshot.KindPod: {"spec.nodeName", "spec.containers.name", "spec.containers.ports"},
	},
	Requires: []*analysis.Fact{CiliumDropFacts, CiliumCoverage, netpol.Fact},
	Run:      runUnattributed,
}

// DropsExplained reports the other drops Cilium recorded, grouped and
// explained from the knowledge base.
var DropsExplained = &analysis.Analyzer{
	Code:     "MD415",
	Name:     "cilium-drops",
	Severity: analysis.Warning,
	Summary:  "Hubble or cilium monitor shows packets Cilium dropped: each group of drops (reason, source, destination, port) explained, and policy drops joined to the policies that decide them.",
	Doc:      doc("MD415"),
	Inputs:   []analysis.Input{analysis.CiliumOutputs()},
	Reads: map[schema.GroupKind][]string{
		snapshot.KindPod: {"spec.containers.name", "spec.containers.ports"},
	},
	Requires: []*analysis.Fact{CiliumDropFacts, netpol.Fact},
	Run:      runDropsExplained,
}

// dropGroup is drops with one explanation.
type dropGroup struct {
	key   string
	drops []*Drop
}

// groupDrops groups drops by key, in order of first appearance.
func groupDrops(list []*Drop, keep func(*Drop) bool, key func(*Drop) string) []*dropGroup {
	by := map[string]*dropGroup{}
	var out []*dropGroup
	for _, d := range list {
		if !keep(d) {
			continue
		}
		k := key(d)
		g := by[k]
		if g == nil {
			g = &dropGroup{key: k}
			by[k] = g
			out = append(out, g)
		}
		g.drops = append(g.drops, d)
	}
	return out
}

// dstKey groups destinations by workload: a pod's namespace and labels,
// else the address or name the command printed.
func dstKey(d *Drop) string {
	if d.DstPod != nil {
		return d.DstPod.Key.Namespace + "/" + labelKey(d.DstPod.Labels)
	}
	return firstNonEmpty(d.DstName, d.Dst.String())
}

func runUnattributed(p *analysis.Pass) error {
	ds := p.ResultOf(CiliumDropFacts).(*Drops)
	cov := p.ResultOf(CiliumCoverage).(*Coverage)
	ev, _ := p.ResultOf(netpol.Fact).(*netpol.Evaluator)
	groups := groupDrops(ds.List, func(d *Drop) bool { return d.Unattributed != nil }, func(d *Drop) string {
		return dstKey(d) + "\x00" + d.Unattributed.Node + "\x00" + d.SrcID.String() + "\x00" + d.portText()
	})
	for _, g := range groups {
		reportUnattributed(p, ds, cov, ev, g)
	}
	return nil
}

// policyJoin is what the policies in the input say about a dropped packet.
type policyJoin struct {
	// allow is the rule that admits the source as the pod it is.
	allow netpol.RuleRef
	// seen is the verdict on the source as Cilium saw it.
	seen    netpol.Verdict
	checked bool
}

// joinPolicy evaluates the drop's destination ingress (or the source's
// egress) for the source as the pod it is and as Cilium saw it.
func joinPolicy(ev *netpol.Evaluator, d *Drop) policyJoin {
	var j policyJoin
	if ev == nil || d.DstPod == nil || !d.Ingress {
		return j
	}
	proto := firstNonEmpty(d.Proto, "TCP")
	var seenAs netpol.Peer
	switch {
	case d.SrcID == cilium.IdentityRemoteNode:
		seenAs = netpol.Peer{Class: netpol.ClassRemoteNode, IP: d.Src}
	case d.SrcID.IsWorld() || d.SrcID == cilium.IdentityUnmanaged:
		seenAs = ev.WorldPeer(d.Src)
	case d.SrcPod != nil:
		seenAs = ev.PodPeer(d.SrcPod)
	default:
		return j
	}
	j.seen, j.checked = ev.Ingress(seenAs, d.DstPod, d.DstPort, proto), true
	if d.SrcPod != nil {
		for _, r := range ev.Ingress(ev.PodPeer(d.SrcPod), d.DstPod, d.DstPort, proto).Deciding {
			if r.Role == netpol.RoleAllow {
				j.allow = r
				break
			}
		}
	}
	return j
}

// locationOf is a rule's location, at its peer entry when there is one.
func locationOf(r netpol.RuleRef) analysis.Location {
	at := r.Path
	if r.Peer != nil {
		at = r.Peer
	}
	return analysis.LocationOf(r.Policy, at)
}

func reportUnattributed(p *analysis.Pass, ds *Drops, cov *Coverage, ev *netpol.Evaluator, g *dropGroup) {
	d := g.drops[0]
	src := d.Unattributed
	j := joinPolicy(ev, d)
	if j.checked && j.seen.Allowed {
		// The policies as they are now admit the source as Cilium sees it
		// (a temporary CIDR rule, enforcement off): the drops predate the
		// fix.
		return
	}
	f := analysis.Finding{Key: "drop/" + g.key}
	var pol *snapshot.Object
	switch {
	case j.allow.Policy != nil:
		pol = j.allow.Policy
		f.Locations = append(f.Locations, locationOf(j.allow))
	case j.checked && !j.seen.Allowed && len(j.seen.Deciding) > 0:
		pol = j.seen.Deciding[0].Policy
		f.Locations = append(f.Locations, locationOf(j.seen.Deciding[0]))
	}
	switch {
	case pol != nil:
		f.Subject = pol.Key
	case d.DstPod != nil:
		f.Subject = d.DstPod.Key
	default:
		f.Subject = snapshot.Key{Kind: "CiliumEndpoint", Name: d.dstLabel()}
	}
	f.Locations = append(f.Locations, d.location())
	if d.DstPod != nil {
		f.Related = append(f.Related, analysis.RelatedOf(d.DstPod, "destination of the dropped packets"))
	}
	srcPods := map[*snapshot.Object]bool{}
	var srcNames []string
	for _, x := range g.drops {
		if x.SrcPod != nil && !srcPods[x.SrcPod] {
			srcPods[x.SrcPod] = true
			srcNames = append(srcNames, x.SrcPod.Ref())
			if len(f.Related) < 4 {
				f.Related = append(f.Related, analysis.RelatedOf(x.SrcPod, "source pod Cilium could not attribute"))
			}
		}
	}
	sort.Strings(srcNames)
	for _, x := range g.drops[:min(3, len(g.drops))] {
		f.Evidence = append(f.Evidence, x.where()+": "+x.Text())
	}
	f.Evidence = append(f.Evidence, dropCount(g.drops), src.Why)
	if n := cov.Nodes[src.Node]; n != nil && n.Why != "" && !strings.Contains(src.Why, n.Why) {
		f.Evidence = append(f.Evidence, fmt.Sprintf("node %s: %s", n.Name, n.Why))
	}
	f.Evidence = append(f.Evidence, ds.endpointEvidence(d)...)
	switch {
	case j.allow.Policy != nil:
		f.Evidence = append(f.Evidence, fmt.Sprintf("as the pod it is, the source is admitted by %s", j.allow))
	case d.SrcPod == nil && src.CIDR.IsValid():
		f.Evidence = append(f.Evidence, fmt.Sprintf("no pod in the input has address %s; the pod CIDR %s of node %s holds it", d.Src, src.CIDR, src.Node))
	}
	if j.checked {
		f.Evidence = append(f.Evidence, fmt.Sprintf("as Cilium sees it (%s): %s", d.SrcID, j.seen.Reason))
	}
	who := d.Src.String()
	if len(srcNames) > 0 {
		who = strings.Join(compactList(srcNames, 3), ", ")
	}
	by := ""
	switch {
	case j.allow.Policy != nil:
		by = fmt.Sprintf(" %s admits the source by pod/namespace labels, which Cilium cannot match here:", pol.Ref())
	case pol != nil:
		by = fmt.Sprintf(" %s isolates the destination and admits nothing Cilium sees as %s:", pol.Ref(), d.SrcID)
	}
	f.Message = fmt.Sprintf("Cilium dropped traffic from %s (node %s) to %s on %s, %s (%s):%s traffic from pods Cilium does not manage carries no pod identity — it is %s to Cilium (%s). Callers see connection timeouts, or 503 UF \"upstream connect error … connection failure\" through a proxy.",
		who, src.Node, d.dstLabel(), d.portText(), groupReason(g.drops), plural(len(g.drops), "drop event"), by, d.SrcID, shortWhy(src))
	if src.CIDR.IsValid() {
		f.Remedy = migrationRemedy(pol, []string{src.CIDR.String()}, []string{src.Node})
	} else {
		f.Remedy = masqueradeRemedy(d, src.Node)
	}
	p.Report(f)
}

// masqueradeRemedy is the fix when the old CNI masquerades pod traffic to
// the node's address: Cilium sees remote-node, which only an entity rule
// (or a CIDR rule with policy-cidr-match-mode=nodes) admits.
func masqueradeRemedy(d *Drop, node string) string {
	sel := "<the destination pods' labels>"
	if d.DstPod != nil && d.DstPod.Labels["app"] != "" {
		sel = "{app: " + d.DstPod.Labels["app"] + "}"
	}
	ns := "<namespace>"
	if d.DstPod != nil {
		ns = d.DstPod.Key.Namespace
	}
	return fmt.Sprintf("Cilium's migration guide: keep policy enforcement off until every node runs Cilium (policyEnforcementMode: never, i.e. enable-policy: never in cilium-config), then move node %s to Cilium. Or, temporarily, admit what the old nodes masquerade:\n"+
		"apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: allow-masqueraded-nodes, namespace: %s}\nspec:\n  endpointSelector: {matchLabels: %s}\n  ingress:\n  - fromEntities: [remote-node]\n    toPorts:\n    - ports: [{port: \"%d\", protocol: %s}]\n"+
		"(an ipBlock of the node's address matches only with policyCIDRMatchMode: nodes). Delete it once %s runs Cilium.",
		node, ns, sel, d.DstPort, firstNonEmpty(d.Proto, "TCP"), node)
}

// groupReason is the drop reason of a group as the datapath printed it,
// preferring a drop notification's reason to a policy-verdict event's.
func groupReason(ds []*Drop) string {
	for _, d := range ds {
		if !strings.HasPrefix(d.Reason, "policy-verdict") && d.Reason != "" {
			return d.Reason
		}
	}
	return ds[0].Reason
}

// shortWhy says in a few words why the source has no identity.
func shortWhy(src *UnattributedSource) string {
	if !src.CIDR.IsValid() {
		return "masqueraded to node " + src.Node + "'s address"
	}
	return "an address of node " + src.Node + "'s pod CIDR " + src.CIDR.String()
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// dropCount says how many drops a group holds and where they were seen.
func dropCount(ds []*Drop) string {
	files := map[string]bool{}
	var names []string
	for _, d := range ds {
		if !files[d.Out.File] {
			files[d.Out.File] = true
			names = append(names, d.Out.File)
		}
	}
	return fmt.Sprintf("%s like this in %s", plural(len(ds), "drop"), strings.Join(compactList(names, 3), ", "))
}

// notDrops are reasons Cilium counts as drops that are not lost traffic:
// multicast/IGMP consumed by Cilium, and packets punted to a proxy.
var notDrops = map[int]bool{199: true, 200: true, 201: true, 205: true}

func runDropsExplained(p *analysis.Pass) error {
	ds := p.ResultOf(CiliumDropFacts).(*Drops)
	ev, _ := p.ResultOf(netpol.Fact).(*netpol.Evaluator)
	keep := func(d *Drop) bool { return d.Unattributed == nil && (d.Info == nil || !notDrops[d.Info.Code]) }
	groups := groupDrops(ds.List, keep, func(d *Drop) string {
		src := d.SrcID.String()
		if d.SrcPod != nil {
			src = d.SrcPod.Key.Namespace + "/" + labelKey(d.SrcPod.Labels)
		}
		return d.Reason + "\x00" + src + "\x00" + dstKey(d) + "\x00" + d.portText()
	})
	for _, g := range groups {
		reportDrops(p, ds, ev, g)
	}
	return nil
}

func reportDrops(p *analysis.Pass, ds *Drops, ev *netpol.Evaluator, g *dropGroup) {
	d := g.drops[0]
	f := analysis.Finding{Key: "drop/" + g.key}
	if d.DstPod != nil {
		f.Subject = d.DstPod.Key
		f.Related = append(f.Related, analysis.RelatedOf(d.DstPod, "destination of the dropped packets"))
	} else {
		f.Subject = snapshot.Key{Kind: "CiliumEndpoint", Name: d.dstLabel()}
	}
	if d.SrcPod != nil {
		f.Related = append(f.Related, analysis.RelatedOf(d.SrcPod, "source of the dropped packets"))
	}
	for _, x := range g.drops[:min(3, len(g.drops))] {
		f.Evidence = append(f.Evidence, x.where()+": "+x.Text())
	}
	f.Evidence = append(f.Evidence, dropCount(g.drops))
	src := srcLabel(d)
	meaning, next := "a drop reason the knowledge base does not know", []string{"cilium-dbg monitor --type drop"}
	if d.Info != nil {
		meaning, next = d.Info.Meaning, d.Info.Next
		for _, c := range d.Info.Causes {
			f.Evidence = append(f.Evidence, "typical cause: "+c)
		}
	}
	f.Message = fmt.Sprintf("Cilium dropped traffic from %s to %s on %s (%s): %s — %s", src, d.dstLabel(), d.portText(), plural(len(g.drops), "drop event"), firstNonEmpty(groupReason(g.drops), "reason not printed"), meaning)
	f.Remedy = "Find out why with: " + strings.Join(next, "; ") + "."
	if d.Policy && d.SrcPod != nil && (d.SrcID.IsWorld() || d.SrcID == cilium.IdentityUnmanaged) {
		f.Evidence = append(f.Evidence, fmt.Sprintf("the source %s is a pod Cilium manages, yet it was seen as %s: the agent's ipcache had no entry for %s then (a pod just started, or identities not yet propagated to this node)", d.SrcPod.Ref(), d.SrcID, d.Src))
	}
	if d.Policy {
		f.Severity = analysis.Info
		j := joinPolicy(ev, d)
		switch {
		case !j.checked:
			f.Message += " Policy drops are often intended; the input holds no policy verdict to compare with."
		case j.seen.Allowed:
			// The policies as written admit what the datapath dropped.
			f.Severity = analysis.Warning
			f.Message += fmt.Sprintf(" Yet the policies in the input admit this traffic (%s): the agent's view is stale (identity or policy not yet propagated, agent not reconciling) or the drops predate the policy.", j.seen.Reason)
			for _, r := range j.seen.Deciding {
				f.Locations = append(f.Locations, locationOf(r))
			}
			f.Remedy = "Compare the endpoint's realized policy with the policy objects: cilium-dbg endpoint get <id> and cilium-dbg bpf policy get <id> on the node; cilium-dbg policy get; restart the agent on that node if its identities or policies are stale. " + f.Remedy
		default:
			f.Message += " The policies in the input deny it as written: " + j.seen.Reason
			for _, r := range j.seen.Deciding {
				f.Locations = append(f.Locations, locationOf(r))
			}
			f.Remedy = "If this traffic should flow, admit it in one of the policies named (a from rule for the source and port); otherwise nothing to do. " + f.Remedy
		}
		f.Evidence = append(f.Evidence, ds.endpointEvidence(d)...)
	}
	f.Locations = append(f.Locations, d.location())
	p.Report(f)
}

// srcLabel names the source for messages.
func srcLabel(d *Drop) string {
	switch {
	case d.SrcPod != nil:
		return d.SrcPod.Ref()
	case d.Src.IsValid() && d.HasSrcID:
		return d.Src.String() + " (" + d.SrcID.String() + ")"
	case d.Src.IsValid():
		return d.Src.String()
	case d.HasSrcID:
		return "identity " + d.SrcID.String()
	}
	return "an unknown source"
}
