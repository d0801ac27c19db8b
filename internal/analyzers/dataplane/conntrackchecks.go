package dataplane

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/conntrack"
	"github.com/meshdoctor/meshdoctor/internal/netfilter"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// ConnmarkRejectHangs reports the old mirrord flush: a reject with TCP
// reset on a connmark in filter INPUT while tracked connections carry
// that mark.
var ConnmarkRejectHangs = &analysis.Analyzer{
	Code:     "MD505",
	Name:     "connmark-reject-resets-flows",
	Severity: analysis.Error,
	Summary:  "A filter INPUT rule rejects with a TCP reset every packet whose connection carries a connmark, and tracked connections carry it: replies to those connections (the pod's own outbound calls included) are reset, so calls on that port fail or hang.",
	Doc:      doc("MD505"),
	Inputs:   []analysis.Input{analysis.NodeState()},
	Reads:    map[schema.GroupKind][]string{},
	Run:      runConnmarkReject,
}

// StaleConntrackBypassesRedirect reports established connections to a port
// that is now redirected whose replies show no redirect.
var StaleConntrackBypassesRedirect = &analysis.Analyzer{
	Code:     "MD506",
	Name:     "stale-conntrack-bypasses-redirect",
	Severity: analysis.Warning,
	Summary:  "Established connections to a port that an interception rule now redirects were set up before the rule: conntrack keeps sending them to the original destination, so they bypass the interceptor (mirrord steal, the mesh) until they close.",
	Doc:      doc("MD506"),
	Inputs:   []analysis.Input{analysis.NodeState()},
	Reads:    map[schema.GroupKind][]string{},
	Run:      runStaleConntrack,
}

func runConnmarkReject(p *analysis.Pass) error {
	for _, n := range p.Snapshot.Nodes() {
		for _, ns := range n.NetNS {
			for _, v := range ruleSets(ns) {
				for c := range v.chains {
					if c.Table.Name != "filter" || c.Hooks&netfilter.HookInput == 0 {
						continue
					}
					for _, r := range c.Rules {
						mark, ok := rejectOnConnmark(r)
						if !ok {
							continue
						}
						if len(ns.Conntrack) == 0 {
							p.NotChecked("%s:%d: rejects on connmark 0x%x/0x%x, but no conntrack table of %s was given to tell whether connections carry it", v.File, r.Line, mark.Value, mark.Mask, nsName(n, ns))
							continue
						}
						hit := trackedWhere(ns, func(e *conntrack.Entry) bool { return e.HasMark && e.Mark&mark.Mask == mark.Value })
						if len(hit) == 0 {
							continue
						}
						ports := dstPorts(hit)
						evidence := append([]string{ruleEvidence(v.RuleSetFile, r)}, trackedEvidence(hit)...)
						cmd := iptablesCommand(v.RuleSetFile, c.Table)
						p.Report(analysis.Finding{
							Subject:   subject(n),
							Message:   fmt.Sprintf("Node %s, %s: chain %s rejects with a TCP reset every packet of a connection marked 0x%x/0x%x, and %d tracked connection(s) carry that mark (destination port(s) %s): their replies are reset, so those calls fail or hang — the mirrord flush of releases before 3.134.0 marked every flow to the stolen port, the pod's own outbound calls included.", n.Name, nsName(n, ns), c.Name, mark.Value, mark.Mask, len(hit), ports),
							Locations: []analysis.Location{ruleLocation(n, ns, v.RuleSetFile, r)},
							Evidence:  evidence,
							Remedy: "Upgrade mirrord to 3.134.0 or later (it deletes conntrack entries instead of marking them). To unblock the pod now, remove the rule and the marked entries only:\n" +
								inNetNS(n, ns, fmt.Sprintf("%s -t filter -D %s %s", cmd, c.Name, ruleSpec(r))) + "\n" +
								inNetNS(n, ns, fmt.Sprintf("conntrack -D --mark 0x%x/0x%x", mark.Value, mark.Mask)),
							Key: fmt.Sprintf("%s/%s/%d", nsPlace(n, ns), c.Name, r.Index),
						})
					}
				}
			}
		}
	}
	return nil
}

// rejectOnConnmark tells a rule that rejects with a TCP reset on a
// connmark test, and the mark it tests.
func rejectOnConnmark(r *netfilter.Rule) (netfilter.MarkUse, bool) {
	if r.Target.Name != "REJECT" {
		return netfilter.MarkUse{}, false
	}
	if o, ok := r.Target.Option("reject-with"); !ok || o.Arg() != "tcp-reset" {
		return netfilter.MarkUse{}, false
	}
	for _, u := range r.MarksRead() {
		if u.Space == netfilter.ConnMark && !u.Not {
			return u, true
		}
	}
	return netfilter.MarkUse{}, false
}

// tracked is a conntrack entry and the file it was read from.
type tracked struct {
	*conntrack.Entry
	file string
}

// trackedWhere returns the entries of the netns's conntrack tables that keep
// accepts.
func trackedWhere(ns *snapshot.NetNS, keep func(*conntrack.Entry) bool) []tracked {
	var out []tracked
	for _, ct := range ns.Conntrack {
		for i := range ct.Dump.Entries {
			if e := &ct.Dump.Entries[i]; keep(e) {
				out = append(out, tracked{e, ct.File})
			}
		}
	}
	return out
}

// trackedEvidence quotes up to five entries with file:line.
func trackedEvidence(hit []tracked) []string {
	var out []string
	for i, h := range hit {
		if i == 5 {
			return append(out, fmt.Sprintf("… %d more connection(s)", len(hit)-5))
		}
		out = append(out, fmt.Sprintf("%s:%d: %s", h.file, h.Line, strings.TrimSpace(h.Raw)))
	}
	return out
}

func dstPorts(es []tracked) string {
	seen := map[uint16]bool{}
	for _, e := range es {
		if e.Proto.HasPorts() {
			seen[e.Orig.DstPort] = true
		}
	}
	var ps []int
	for p := range seen {
		ps = append(ps, int(p))
	}
	sort.Ints(ps)
	var s []string
	for _, p := range ps {
		s = append(s, fmt.Sprint(p))
	}
	return strings.Join(s, ", ")
}

// localAddrs returns the netns's own addresses: from the dump when it has
// them, else those its connections leave from (a pod's outbound flows start
// at its IP). Without either, nothing counts as inbound, so nothing is
// claimed.
func localAddrs(ns *snapshot.NetNS) map[netip.Addr]bool {
	out := map[netip.Addr]bool{}
	for _, a := range ns.Addrs {
		out[a.Unmap()] = true
	}
	if len(out) > 0 {
		return out
	}
	inbound := map[netip.Addr]bool{} // destinations of flows to this netns
	for _, ct := range ns.Conntrack {
		for i := range ct.Dump.Entries {
			e := &ct.Dump.Entries[i]
			if e.Redirected() {
				// Redirected to a local port: the destination is ours.
				inbound[e.Orig.Dst.Unmap()] = true
			}
		}
	}
	for _, ct := range ns.Conntrack {
		for i := range ct.Dump.Entries {
			if src := ct.Dump.Entries[i].Orig.Src.Unmap(); inbound[src] {
				out[src] = true
			}
		}
	}
	return out
}

func runStaleConntrack(p *analysis.Pass) error {
	for _, n := range p.Snapshot.Nodes() {
		for _, ns := range n.NetNS {
			if len(ns.Conntrack) == 0 {
				continue
			}
			for _, v := range ruleSets(ns) {
				for c := range v.chains {
					for _, r := range c.Rules {
						owner := r.Owner
						if !interceptor(owner) {
							owner = c.Owner
						}
						rd, ok := r.Redirect()
						if !ok || rd.Target == "DNAT" || !interceptor(owner) || c.Hooks&netfilter.HookPrerouting == 0 {
							continue
						}
						ports := namedPorts(r)
						if len(ports) == 0 {
							continue // a catch-all capture: no port to judge
						}
						reportStale(p, n, ns, v.RuleSetFile, r, owner, ports)
					}
				}
			}
		}
	}
	return nil
}

// reportStale reports the inbound connections to ports of a PREROUTING
// redirect that the redirect did not apply to.
func reportStale(p *analysis.Pass, n *snapshot.Node, ns *snapshot.NetNS, rs *snapshot.RuleSetFile, r *netfilter.Rule, owner netfilter.Owner, ports []uint16) {
	local := localAddrs(ns)
	hit := trackedWhere(ns, func(e *conntrack.Entry) bool {
		return e.Proto == conntrack.TCP && e.State == conntrack.StateEstablished && e.Flags.Has(conntrack.FlagAssured) && !e.Redirected() &&
			slices.Contains(ports, e.Orig.DstPort) && admits(r, e.Orig.DstPort) &&
			local[e.Orig.Dst.Unmap()] // a connection to this netns: inbound
	})
	if len(hit) == 0 {
		return
	}
	dsts := map[netip.Addr]bool{}
	for _, h := range hit {
		dsts[h.Orig.Dst.Unmap()] = true
	}
	evidence := append([]string{ruleEvidence(rs, r)}, trackedEvidence(hit)...)
	var cmds []string
	addrs := make([]netip.Addr, 0, len(dsts))
	for a := range dsts {
		addrs = append(addrs, a)
	}
	slices.SortFunc(addrs, func(a, b netip.Addr) int { return a.Compare(b) })
	for _, a := range addrs {
		for _, port := range ports {
			cmds = append(cmds, inNetNS(n, ns, fmt.Sprintf("conntrack -D -p tcp -d %s --dport %d", a, port)))
		}
	}
	p.Report(analysis.Finding{
		Subject:   subject(n),
		Message:   fmt.Sprintf("Node %s, %s: %d established connection(s) to port(s) %s predate %s's redirect (%s): their conntrack entries still send them to the original destination, so they bypass the redirect until they close.", n.Name, nsName(n, ns), len(hit), dstPorts(hit), owner, strings.TrimSpace(r.Text)),
		Locations: []analysis.Location{ruleLocation(n, ns, rs, r)},
		Evidence:  evidence,
		Remedy:    "Delete only those entries, by destination address and port, so the clients reconnect through the redirect:\n" + strings.Join(cmds, "\n") + "\nNever delete by --dport alone: that also cuts the pod's own outbound connections to other services on the same port.",
		Key:       fmt.Sprintf("%s/%s/%d", nsPlace(n, ns), r.Chain.Name, r.Index),
	})
}
