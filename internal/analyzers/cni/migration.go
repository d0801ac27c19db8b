package cni

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/istio"
	"github.com/meshdoctor/meshdoctor/internal/netpol"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// UnmanagedSourcesDenied reports pods on nodes Cilium does not manage
// whose traffic a policy admits by pod or namespace labels, which Cilium
// cannot see for them: incident (d).
var UnmanagedSourcesDenied = &analysis.Analyzer{
	Code:     "MD410",
	Name:     "cilium-unmanaged-sources-denied",
	Severity: analysis.Error,
	Summary:  "During a migration to Cilium, pods on nodes Cilium does not manage reach Cilium-managed pods whose policy admits them by pod or namespace labels only: Cilium sees their traffic as world (or remote-node after SNAT), not as those pods, and drops it.",
	Doc:      doc("MD410"),
	Inputs:   []analysis.Input{analysis.Kinds(netpol.PolicyKinds...), analysis.Kinds(snapshot.KindPod)},
	Reads: map[schema.GroupKind][]string{
		snapshot.KindPod: {"spec.containers.name", "spec.containers.ports", "spec.nodeName"},
	},
	Requires: []*analysis.Fact{CiliumCoverage, netpol.Fact},
	Run:      runMigration,
}

// srcGroup is unmanaged pods that policy cannot tell apart: one namespace,
// one set of labels, one node.
type srcGroup struct {
	pods []UnmanagedPod
}

// dstGroup is protected pods of one namespace and labels, on managed nodes.
type dstGroup struct {
	pods []*snapshot.Object
	port uint16
}

// migrationDenial is one protected destination group and the unmanaged
// sources its policies would admit as pods but drop as Cilium sees them.
type migrationDenial struct {
	dst     dstGroup
	allow   netpol.RuleRef // the rule that admits the sources by selector
	sources []UnmanagedPod
	denied  netpol.Verdict // as Cilium sees the first source
	seenAs  netpol.Class
}

func runMigration(p *analysis.Pass) error {
	cov := p.ResultOf(CiliumCoverage).(*Coverage)
	if !cov.Known || len(cov.Unmanaged) == 0 {
		return nil
	}
	ev, _ := p.ResultOf(netpol.Fact).(*netpol.Evaluator)
	if ev == nil || ev.Options().Engine != netpol.EngineCilium || ev.Options().CiliumEnforcement == netpol.EnforceNever {
		return nil
	}
	srcs := groupSources(cov)
	for _, d := range protectedGroups(p.Snapshot, ev, cov) {
		den := migrationDenial{dst: d}
		rep := d.pods[0]
		for _, sg := range srcs {
			u := sg.pods[0]
			asPod := ev.Ingress(ev.PodPeer(u.Pod), rep, d.port, "TCP")
			if !asPod.Allowed {
				continue // the policy does not admit them anyway
			}
			view := ev.CiliumView(u.Pod, false, netip.Addr{})
			asCilium := ev.Ingress(view, rep, d.port, "TCP")
			if asCilium.Allowed {
				continue // admitted by CIDR or entity as well
			}
			if len(den.sources) == 0 {
				for _, r := range asPod.Deciding {
					if r.Role == netpol.RoleAllow {
						den.allow = r
						break
					}
				}
				den.denied, den.seenAs = asCilium, view.Class
			}
			den.sources = append(den.sources, sg.pods...)
		}
		if len(den.sources) > 0 && den.allow.Policy != nil {
			reportMigration(p, cov, den)
		}
	}
	return nil
}

// groupSources groups the unmanaged pods by namespace, labels and node.
func groupSources(cov *Coverage) []*srcGroup {
	by := map[string]*srcGroup{}
	var out []*srcGroup
	for _, u := range cov.Unmanaged {
		k := u.Pod.Key.Namespace + "\x00" + labelKey(u.Pod.Labels) + "\x00" + u.Node
		g := by[k]
		if g == nil {
			g = &srcGroup{}
			by[k] = g
			out = append(out, g)
		}
		g.pods = append(g.pods, u)
	}
	return out
}

// protectedGroups are the pods on Cilium-managed nodes that a policy
// isolates for ingress, grouped by namespace and labels, each with the
// port its application serves.
func protectedGroups(s *snapshot.Snapshot, ev *netpol.Evaluator, cov *Coverage) []dstGroup {
	by := map[string]int{}
	seen := map[*snapshot.Object]bool{} // a pod several policies select is grouped once
	var out []dstGroup
	for _, pol := range ev.Policies() {
		for _, o := range ev.SelectedPods(pol) {
			pod, ok := o.Typed.(*corev1.Pod)
			if !ok || pod.Status.Phase != corev1.PodRunning || pod.Spec.HostNetwork {
				continue
			}
			if n := cov.Nodes[pod.Spec.NodeName]; n == nil || !n.Managed {
				continue
			}
			port := appPort(pod)
			if port == 0 || seen[o] {
				continue
			}
			seen[o] = true
			k := o.Key.Namespace + "\x00" + labelKey(o.Labels) + fmt.Sprint(port)
			if i, ok := by[k]; ok {
				out[i].pods = append(out[i].pods, o)
				continue
			}
			by[k] = len(out)
			out = append(out, dstGroup{pods: []*snapshot.Object{o}, port: port})
		}
	}
	return out
}

// appPort is the first TCP port the application's containers declare (the
// port policy is enforced on, before any sidecar redirect).
func appPort(pod *corev1.Pod) uint16 { return specAppPort(&pod.Spec) }

// specAppPort is appPort for any pod spec (a Pod's, or a workload's
// template).
func specAppPort(spec *corev1.PodSpec) uint16 {
	for _, c := range spec.Containers {
		if c.Name == istio.ProxyContainer {
			continue
		}
		for _, p := range c.Ports {
			if p.Protocol == "" || p.Protocol == corev1.ProtocolTCP {
				return uint16(p.ContainerPort)
			}
		}
	}
	return 0
}

func labelKey(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + l[k] + ",")
	}
	return b.String()
}

func reportMigration(p *analysis.Pass, cov *Coverage, d migrationDenial) {
	pol := d.allow.Policy
	at := d.allow.Peer
	if at == nil {
		at = d.allow.Path
	}
	var srcNames, nodes, cidrs []string
	seenNode := map[string]bool{}
	for _, u := range d.sources {
		srcNames = append(srcNames, u.Pod.Key.Namespace+"/"+u.Pod.Key.Name)
		if !seenNode[u.Node] {
			seenNode[u.Node] = true
			nodes = append(nodes, u.Node)
			if n := cov.Nodes[u.Node]; n != nil {
				for _, c := range n.PodCIDRs {
					cidrs = append(cidrs, c.String())
				}
			}
		}
	}
	sort.Strings(nodes)
	sort.Strings(cidrs)
	var dstNames []string
	for _, o := range d.dst.pods {
		dstNames = append(dstNames, o.Key.Namespace+"/"+o.Key.Name)
	}
	f := analysis.Finding{
		Subject:   pol.Key,
		Key:       d.dst.pods[0].Key.Namespace + "/" + labelKey(d.dst.pods[0].Labels),
		Locations: []analysis.Location{analysis.LocationOf(pol, at)},
		Related:   []analysis.Related{analysis.RelatedOf(d.dst.pods[0], "protected pod on a Cilium-managed node")},
	}
	for _, u := range d.sources[:min(3, len(d.sources))] {
		f.Related = append(f.Related, analysis.RelatedOf(u.Pod, "source pod Cilium does not manage"))
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s (%s) %s", u.Pod.Ref(), ipList(u.IPs), u.Why))
	}
	for _, n := range nodes {
		if nc := cov.Nodes[n]; nc != nil {
			f.Evidence = append(f.Evidence, fmt.Sprintf("node %s: %s; pod CIDRs %s", n, nc.Why, prefixList(nc.PodCIDRs)))
		}
	}
	f.Evidence = append(f.Evidence,
		fmt.Sprintf("as pods, the sources are admitted by %s %s", pol.Ref(), at),
		fmt.Sprintf("as Cilium sees them (%s): %s", d.seenAs, d.denied.Reason))
	f.Message = fmt.Sprintf("%s admits %s by pod/namespace labels on port %d of %s, but %d of those pod(s) run on node(s) Cilium does not manage (%s): Cilium cannot attribute their traffic to pods and sees it as world (or remote-node after SNAT), so it drops it as POLICY_DENIED — callers see 503 UF \"upstream connect error … connection failure\" or timeouts. Protected: %s.",
		pol.Ref(), strings.Join(srcNames[:min(3, len(srcNames))], ", ")+more(len(srcNames), 3), d.dst.port, strings.Join(dstNames[:min(3, len(dstNames))], ", ")+more(len(dstNames), 3),
		len(d.sources), strings.Join(nodes, ", "), strings.Join(dstNames[:min(3, len(dstNames))], ", "))
	f.Remedy = migrationRemedy(pol, cidrs, nodes)
	p.Report(f)
}

// migrationRemedy is the fix of incident (d) from Cilium's migration
// guide, naming the policy, the old pod CIDRs and the nodes to migrate.
func migrationRemedy(pol *snapshot.Object, cidrs, nodes []string) string {
	var blocks []string
	for _, c := range cidrs {
		blocks = append(blocks, "  - ipBlock: {cidr: "+c+"}")
	}
	where := "the ingress rule of the policy that should admit them"
	if pol != nil {
		where = "the same ingress rule of " + pol.Ref()
	}
	if len(blocks) == 0 {
		blocks = []string{"  - ipBlock: {cidr: <the old nodes' pod CIDR>}"}
	}
	return fmt.Sprintf("Cilium's migration guide: keep policy enforcement off until every node runs Cilium (Helm value policyEnforcementMode: never, i.e. enable-policy: never in cilium-config), then finish the migration. Or, temporarily, admit the old pod CIDRs in %s:\n%s\n(a CiliumNetworkPolicy can use fromCIDR; when the old nodes masquerade to their node IP, use fromEntities: [remote-node] — ipBlock matches node IPs only with policyCIDRMatchMode: nodes). Remove the temporary rule once %s run Cilium.",
		where, strings.Join(blocks, "\n"), firstNonEmpty(strings.Join(nodes, ", "), "those nodes"))
}

func more(n, shown int) string {
	if n > shown {
		return fmt.Sprintf(" and %d more", n-shown)
	}
	return ""
}

func ipList(ips []netip.Addr) string {
	var s []string
	for _, ip := range ips {
		s = append(s, ip.String())
	}
	if len(s) == 0 {
		return "no IP"
	}
	return strings.Join(s, ", ")
}

func prefixList(ps []netip.Prefix) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.String())
	}
	if len(s) == 0 {
		return "unknown"
	}
	return strings.Join(s, ", ")
}
