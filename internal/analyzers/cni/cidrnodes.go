package cni

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/netpol"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/version"
)

// The kinds that say where the kube-apiserver runs: the endpoints of the
// Service default/kubernetes.
var (
	KindEndpointSlice = schema.GroupKind{Group: "discovery.k8s.io", Kind: "EndpointSlice"}
	KindEndpoints     = schema.GroupKind{Kind: "Endpoints"}
)

// kubeletPort is where every node's kubelet serves its API: an egress rule
// limited to it is aimed at nodes whatever else its range holds.
const kubeletPort = 10250

// cidrMatchNodesSince is the first Cilium release with
// policy-cidr-match-mode (cilium/cilium#27464).
var cidrMatchNodesSince = version.MustParse("1.15.0")

// CIDRRuleMissesNodes reports ipBlock and CIDR rules aimed at cluster
// nodes on a Cilium cluster that does not let CIDR rules match nodes.
var CIDRRuleMissesNodes = &analysis.Analyzer{
	Code:     "MD412",
	Name:     "cilium-cidr-rule-misses-nodes",
	Severity: analysis.Warning,
	Summary:  "Under Cilium, an ipBlock or CIDR rule is aimed at cluster nodes (often the kube-apiserver's) but policy-cidr-match-mode is not nodes: Cilium gives node addresses the host, remote-node or kube-apiserver identity, never a CIDR one, so the rule does not match them: what it admits is dropped, what it denies is not.",
	Doc:      doc("MD412"),
	Inputs:   []analysis.Input{analysis.Kinds(netpol.PolicyKinds...), analysis.Kinds(snapshot.KindNode, KindCiliumNode)},
	Reads:    cidrNodesReads(),
	Requires: []*analysis.Fact{CiliumCoverage, netpol.Fact},
	Run:      runCIDRNodes,
}

func cidrNodesReads() map[schema.GroupKind][]string {
	r := map[schema.GroupKind][]string{
		snapshot.KindConfigMap:   {"data"},
		netpol.KindNetworkPolicy: {"spec.podSelector"},
		snapshot.KindPod:         {"spec.containers.name", "spec.containers.image", "spec.containers.ports", "spec.serviceAccountName", "status.phase"},
		snapshot.KindDaemonSet:   {"spec.template.spec.containers.image"},
		KindEndpointSlice:        {"endpoints.addresses", "ports"},
		KindEndpoints:            {"subsets"},
	}
	// Workloads stand for their pods when the input has no Pods: their
	// template's labels, service account and ports.
	for gk, prefix := range map[schema.GroupKind]string{
		snapshot.KindDeployment: "spec.template.", snapshot.KindDaemonSet: "spec.template.", snapshot.KindStatefulSet: "spec.template.",
		snapshot.KindReplicaSet: "spec.template.", snapshot.KindJob: "spec.template.", snapshot.KindCronJob: "spec.jobTemplate.spec.template.",
	} {
		r[gk] = append(r[gk], prefix+"metadata", prefix+"spec.containers.name", prefix+"spec.containers.ports", prefix+"spec.serviceAccountName")
	}
	return r
}

// nodeAddr is an address Cilium maps to a node identity.
type nodeAddr struct {
	ip   netip.Addr
	node *NodeCoverage
	from string
	// api: an endpoint of default/kubernetes, so the kube-apiserver runs
	// there and the address has the kube-apiserver identity.
	api bool
}

// class is the identity Cilium gives the address, seen from a pod on
// another node.
func (a nodeAddr) class() netpol.Class {
	if a.api {
		return netpol.ClassKubeAPIServer
	}
	return netpol.ClassRemoteNode
}

func (a nodeAddr) String() string {
	s := a.ip.String() + " (node " + a.node.Name
	if a.api {
		s += ", kube-apiserver"
	}
	return s + ")"
}

// apiServer is where the kube-apiserver listens, from default/kubernetes.
type apiServer struct {
	addrs map[netip.Addr]bool
	ports []uint16
	obj   *snapshot.Object
}

// apiServerOf reads the endpoints of the Service default/kubernetes: its
// EndpointSlices and its Endpoints, whichever the input has.
func apiServerOf(s *snapshot.Snapshot) apiServer {
	a := apiServer{addrs: map[netip.Addr]bool{}}
	port := func(p int32, proto *corev1.Protocol) {
		if p > 0 && p < 65536 && (proto == nil || *proto == corev1.ProtocolTCP) {
			for _, q := range a.ports {
				if q == uint16(p) {
					return
				}
			}
			a.ports = append(a.ports, uint16(p))
		}
	}
	addr := func(o *snapshot.Object, s string) {
		if ip, err := netip.ParseAddr(s); err == nil {
			a.addrs[ip.Unmap()] = true
			if a.obj == nil {
				a.obj = o
			}
		}
	}
	for _, o := range s.InNamespace(KindEndpointSlice, "default") {
		es, ok := o.Typed.(*discoveryv1.EndpointSlice)
		if !ok || o.Labels[discoveryv1.LabelServiceName] != "kubernetes" {
			continue
		}
		for _, ep := range es.Endpoints {
			for _, ip := range ep.Addresses {
				addr(o, ip)
			}
		}
		for _, p := range es.Ports {
			if p.Port != nil {
				port(*p.Port, p.Protocol)
			}
		}
	}
	// Endpoints are deprecated since Kubernetes 1.33, but dumps of older
	// clusters (kubectl get endpoints) carry only them.
	if o := s.Get(KindEndpoints, "default", "kubernetes"); o != nil {
		//lint:ignore SA1019 reading what older clusters and dumps hold, not creating it
		if ep, ok := o.Typed.(*corev1.Endpoints); ok {
			for _, ss := range ep.Subsets {
				for _, ad := range ss.Addresses {
					addr(o, ad.IP)
				}
				for _, p := range ss.Ports {
					proto := p.Protocol
					port(p.Port, &proto)
				}
			}
		}
	}
	sort.Slice(a.ports, func(i, j int) bool { return a.ports[i] < a.ports[j] })
	return a
}

// nodeAddrsOf lists, by address, the node addresses Cilium maps to node
// identities: those of the nodes in Cilium's registry (a CiliumNode) when
// the input has CiliumNodes, else of the nodes with a cilium agent pod,
// else (no sign of where Cilium runs) of every node, and then assumed says
// so. A node Cilium does not know is left out: its addresses may well be
// world, which CIDR rules do match.
func nodeAddrsOf(cov *Coverage, api apiServer) (out []nodeAddr, assumed bool) {
	registry := false
	for _, n := range cov.SortedNodes() {
		registry = registry || n.CiliumNode != nil
	}
	seen := map[netip.Addr]bool{}
	for _, n := range cov.SortedNodes() {
		switch {
		case registry && n.CiliumNode == nil:
			continue
		case !registry && cov.Known && n.Agent == nil:
			continue
		}
		for _, a := range n.Addresses {
			if !seen[a.IP] {
				seen[a.IP] = true
				out = append(out, nodeAddr{ip: a.IP, node: n, from: a.From, api: api.addrs[a.IP]})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ip.Less(out[j].ip) })
	return out, !cov.Known
}

// admits tells whether a CIDR peer admits ip: inside the CIDR, outside
// every except.
func admits(cp netpol.CIDRPeer, ip netip.Addr) bool {
	if !cp.CIDR.Contains(ip) {
		return false
	}
	for _, ex := range cp.Except {
		if ex.Contains(ip) {
			return false
		}
	}
	return true
}

// admitsOnlyNodes tells whether the n node addresses a peer admits are
// every address it admits: the CIDR's size less its excepts (prefixes are
// nested or disjoint, so the outermost excepts inside it are summed).
func admitsOnlyNodes(cp netpol.CIDRPeer, n int) bool {
	host := cp.CIDR.Addr().BitLen() - cp.CIDR.Bits()
	if host > 16 {
		return false // 65536 addresses or more: never all nodes
	}
	excluded := 0
	for i, ex := range cp.Except {
		ex = ex.Masked()
		if ex.Bits() < cp.CIDR.Bits() || !cp.CIDR.Contains(ex.Addr()) {
			continue
		}
		inner := false
		for j, o := range cp.Except {
			o = o.Masked()
			if j != i && o.Bits() <= ex.Bits() && o.Contains(ex.Addr()) && (o.Bits() < ex.Bits() || j < i) {
				inner = true // inside a wider except, or a repeat: counted once
				break
			}
		}
		if !inner {
			excluded += 1 << (ex.Addr().BitLen() - ex.Bits())
		}
	}
	return n == 1<<host-excluded
}

// overlapsAny tells whether the peer admits part of any of the prefixes.
func overlapsAny(cp netpol.CIDRPeer, ps []netip.Prefix) bool {
	for _, p := range ps {
		if !cp.CIDR.Overlaps(p) {
			continue
		}
		excepted := false
		for _, ex := range cp.Except {
			if ex.Bits() <= p.Bits() && ex.Contains(p.Addr()) {
				excepted = true
				break
			}
		}
		if !excepted {
			return true
		}
	}
	return false
}

// meantForNodes decides whether a CIDR peer that admits the node
// addresses in is evidently aimed at nodes (see docs/MD412.md, "When a
// rule is meant for nodes"), and says why.
func meantForNodes(cp netpol.CIDRPeer, in []nodeAddr, api apiServer, podCIDRs []netip.Prefix) (string, bool) {
	if admitsOnlyNodes(cp, len(in)) {
		if len(in) == 1 {
			return fmt.Sprintf("%s is exactly the address of node %s", cp.CIDR, in[0].node.Name), true
		}
		return fmt.Sprintf("every address %s admits is a node address", cp.CIDR), true
	}
	// Ports can show the aim where the range is wider: the kubelet's and
	// the API server's ports are served by nodes. A range that also holds
	// pod addresses is left alone: "the internal network" is not "the nodes".
	if cp.Direction != netpol.Egress || len(cp.Ports) == 0 || overlapsAny(cp, podCIDRs) {
		return "", false
	}
	svc := map[uint16]string{kubeletPort: "kubelet"}
	for _, a := range in {
		if a.api {
			for _, p := range api.ports {
				svc[p] = "kube-apiserver"
			}
			break
		}
	}
	var names []string
	for _, pe := range cp.Ports {
		what, ok := svc[pe.Port]
		if pe.Name != "" || pe.Port == 0 || pe.End != pe.Port || (pe.Proto != "" && pe.Proto != "TCP") || !ok {
			return "", false
		}
		names = append(names, fmt.Sprintf("%d (%s)", pe.Port, what))
	}
	return fmt.Sprintf("its only ports are served by nodes — %s — and %s holds no pod CIDR", strings.Join(names, ", "), cp.CIDR), true
}

// harm is one pod (or workload) whose traffic to or from a node address
// goes otherwise than the rule meant.
type harm struct {
	subject *snapshot.Object
	addr    nodeAddr
	port    uint16
	proto   string
	v       netpol.Verdict
}

// candidate is one CIDR peer meant for nodes, and what it does.
type candidate struct {
	cp  netpol.CIDRPeer
	in  []nodeAddr
	why string
	// harms are the subjects whose traffic goes otherwise than the rule
	// meant; judgedAlone is set when no pod or workload the rule applies
	// to is in the input.
	harms       []harm
	judgedAlone bool
}

type portProto struct {
	port  uint16
	proto string
}

func runCIDRNodes(p *analysis.Pass) error {
	ev, _ := p.ResultOf(netpol.Fact).(*netpol.Evaluator)
	if ev == nil {
		return nil
	}
	opt := ev.Options()
	if opt.Engine != netpol.EngineCilium || opt.CIDRMatchNodes || opt.CiliumEnforcement == netpol.EnforceNever {
		return nil
	}
	cov := p.ResultOf(CiliumCoverage).(*Coverage)
	api := apiServerOf(p.Snapshot)
	addrs, assumed := nodeAddrsOf(cov, api)
	if len(addrs) == 0 {
		return nil
	}
	cm := netpol.CiliumConfig(p.Snapshot)
	podCIDRs := clusterPodCIDRs(cov, cm)

	type group struct {
		pol   *snapshot.Object
		dir   netpol.Direction
		role  netpol.Role
		cands []*candidate
	}
	var groups []*group
	byKey := map[string]*group{}
	var unknown []string // rules judged, when cilium-config is absent
	for _, pol := range ev.Policies() {
		for _, cp := range ev.CIDRPeers(pol) {
			// A catch-all (0.0.0.0/0, ::/0) is written for the world; an
			// ICMP-only rule is not what breaks a workload.
			if cp.CIDR.Bits() == 0 || cp.ICMPOnly {
				continue
			}
			var in []nodeAddr
			for _, a := range addrs {
				if admits(cp, a.ip) {
					in = append(in, a)
				}
			}
			if len(in) == 0 {
				continue
			}
			why, ok := meantForNodes(cp, in, api, podCIDRs)
			if !ok {
				continue
			}
			c := &candidate{cp: cp, in: in, why: why}
			judge(ev, c, api)
			if !c.judgedAlone && len(c.harms) == 0 {
				continue // every pod it applies to reaches those nodes through another rule
			}
			if cm == nil {
				unknown = append(unknown, pol.Ref()+" "+cp.Rule.Peer.String())
				continue
			}
			k := pol.Ref() + "/" + cp.Direction.String() + "/" + string(cp.Rule.Role)
			g := byKey[k]
			if g == nil {
				g = &group{pol: pol, dir: cp.Direction, role: cp.Rule.Role}
				byKey[k] = g
				groups = append(groups, g)
			}
			g.cands = append(g.cands, c)
		}
	}
	if len(unknown) > 0 {
		// The finding rests on one setting: without the ConfigMap, "not
		// set" cannot be told from "not in the input".
		p.NotChecked("cilium-config is not in the input, so whether policy-cidr-match-mode includes nodes is unknown: %d CIDR rule(s) aimed at node addresses not judged (%s)",
			len(unknown), strings.Join(unknown[:min(3, len(unknown))], ", ")+more(len(unknown), 3))
	}
	ver, verFrom, verOK := ciliumVersion(p.Snapshot, cov)
	for _, g := range groups {
		f := cidrFinding(g.pol, g.dir, g.role, g.cands, api, cm)
		if assumed {
			f.Evidence = append(f.Evidence, "no CiliumNode or cilium agent pod in the input: every Node is taken as managed by Cilium")
		}
		if verOK {
			f.Evidence = append(f.Evidence, fmt.Sprintf("Cilium %s (%s)", ver, verFrom))
		}
		f.Remedy = cidrRemedy(g.pol, g.dir, g.cands, cm, ver, verOK)
		p.Report(f)
	}
	return nil
}

// clusterPodCIDRs are the pod ranges the input names: the nodes' (their
// CiliumNode's or Node's podCIDRs) and Cilium's cluster pools.
func clusterPodCIDRs(cov *Coverage, cm *snapshot.Object) []netip.Prefix {
	var out []netip.Prefix
	for _, n := range cov.SortedNodes() {
		out = append(out, n.PodCIDRs...)
	}
	if cm != nil {
		data := cm.Typed.(*corev1.ConfigMap).Data
		out = append(out, parsePrefixes(strings.Fields(data["cluster-pool-ipv4-cidr"]+" "+data["cluster-pool-ipv6-cidr"]))...)
	}
	return out
}

// judge evaluates, for each pod (or workload) the rule applies to, the
// traffic the rule was meant for as Cilium sees it: to or from one node
// address of each identity (remote-node, kube-apiserver), on the rule's
// ports. An allow rule harms a subject whose traffic is dropped other
// than by a deny rule (a deny would drop it with the mode set, too); a
// deny rule harms a subject whose traffic is admitted.
func judge(ev *netpol.Evaluator, c *candidate, api apiServer) {
	subjects := ruleSubjects(ev, c.cp)
	if len(subjects) == 0 {
		c.judgedAlone = true
		return
	}
	var reps []nodeAddr
	for _, cl := range []netpol.Class{netpol.ClassKubeAPIServer, netpol.ClassRemoteNode} {
		for _, a := range c.in {
			if a.class() == cl {
				reps = append(reps, a)
				break
			}
		}
	}
	for _, subj := range subjects {
		for _, a := range reps {
			peer := netpol.Peer{Class: a.class(), IP: a.ip}
			for _, pp := range queryPorts(c.cp, a, api, subj) {
				var v netpol.Verdict
				if c.cp.Direction == netpol.Egress {
					v = ev.Egress(subj, peer, pp.port, pp.proto)
				} else {
					v = ev.Ingress(peer, subj, pp.port, pp.proto)
				}
				hurt := v.Allowed
				if c.cp.Rule.Role == netpol.RoleAllow {
					hurt = !v.Allowed && !deniedByRule(v)
				}
				if hurt {
					c.harms = append(c.harms, harm{subject: subj, addr: a, port: pp.port, proto: pp.proto, v: v})
					break
				}
			}
		}
	}
}

func deniedByRule(v netpol.Verdict) bool {
	for _, r := range v.Deciding {
		if r.Role == netpol.RoleDeny {
			return true
		}
	}
	return false
}

// ruleSubjects are the pods the rule's spec selects, one per namespace,
// labels and service account (Cilium cannot tell those apart); the
// workloads it selects when the input has none of their pods. Finished
// pods send nothing and are left out.
func ruleSubjects(ev *netpol.Evaluator, cp netpol.CIDRPeer) []*snapshot.Object {
	pol := cp.Rule.Policy
	var cands []*snapshot.Object
	for _, o := range ev.SelectedPods(pol) {
		if pod, ok := o.Typed.(*corev1.Pod); ok && (pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed) {
			continue
		}
		cands = append(cands, o)
	}
	if len(cands) == 0 {
		cands = ev.SelectedWorkloads(pol)
	}
	seen := map[string]bool{}
	var out []*snapshot.Object
	for _, o := range cands {
		spec, _, lbls, ok := snapshot.PodSpecOf(o)
		if !ok {
			continue
		}
		k := o.Key.Namespace + "\x00" + labelKey(lbls) + "\x00" + spec.ServiceAccountName
		if seen[k] {
			continue
		}
		seen[k] = true
		// Another spec of the same policy may select it; only the rule's
		// own spec makes it a subject.
		for _, sel := range ev.PoliciesSelecting(o) {
			if sel.Policy == pol && sel.Path.String() == cp.Selector.String() {
				out = append(out, o)
				break
			}
		}
	}
	return out
}

// queryPorts are the ports to evaluate the rule's traffic on: its own
// numeric ports; else, for the API server, its endpoint ports; else, on
// ingress, the port the subject's application declares; else port 0,
// which only rules without a port restriction admit, as the rule itself.
func queryPorts(cp netpol.CIDRPeer, a nodeAddr, api apiServer, subj *snapshot.Object) []portProto {
	var out []portProto
	for _, pe := range cp.Ports {
		if pe.Name != "" || pe.Proto == "none" {
			continue
		}
		proto := pe.Proto
		if proto == "" {
			proto = "TCP"
		}
		out = append(out, portProto{pe.Port, proto})
		if len(out) == 3 {
			break
		}
	}
	switch {
	case len(out) > 0:
		return out
	case a.api && len(api.ports) > 0:
		for _, p := range api.ports {
			out = append(out, portProto{p, "TCP"})
		}
		return out
	}
	if spec, _, _, ok := snapshot.PodSpecOf(subj); ok && cp.Direction == netpol.Ingress {
		if port := specAppPort(spec); port != 0 {
			return []portProto{{port, "TCP"}}
		}
	}
	return []portProto{{0, "TCP"}}
}

func portText(port uint16, proto string) string {
	if port == 0 {
		return "any port"
	}
	return fmt.Sprintf("%s/%d", proto, port)
}

// identityText says which identities Cilium gives an address.
func identityText(a nodeAddr) string {
	if a.api {
		return fmt.Sprintf("kube-apiserver (7), or host (1) with the kube-apiserver label from pods on node %s", a.node.Name)
	}
	return fmt.Sprintf("remote-node (6), or host (1) from pods on node %s", a.node.Name)
}

func cidrFinding(pol *snapshot.Object, dir netpol.Direction, role netpol.Role, cands []*candidate, api apiServer, cm *snapshot.Object) analysis.Finding {
	f := analysis.Finding{Subject: pol.Key, Key: dir.String() + "/" + string(role)}
	var cidrs []string
	var in []nodeAddr
	seen := map[netip.Addr]bool{}
	apiCovered, apiAim, alone := false, false, true
	var harms []harm
	for _, c := range cands {
		apiAim = apiAim || aimsAtAPIServer(c, api)
		f.Locations = append(f.Locations, analysis.LocationOf(pol, c.cp.Rule.Peer))
		cidrs = append(cidrs, c.cp.CIDR.String())
		var names []string
		for _, a := range c.in {
			names = append(names, a.String())
			if !seen[a.ip] {
				seen[a.ip] = true
				in = append(in, a)
				apiCovered = apiCovered || a.api
			}
		}
		ex := ""
		if len(c.cp.Except) > 0 {
			var es []string
			for _, e := range c.cp.Except {
				es = append(es, e.String())
			}
			ex = " except " + strings.Join(es, ", ")
		}
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s %s%s holds node address(es) %s; taken as meant for nodes because %s",
			c.cp.Rule.Peer, c.cp.CIDR, ex, strings.Join(names[:min(4, len(names))], ", ")+more(len(names), 4), c.why))
		alone = alone && c.judgedAlone
		harms = append(harms, c.harms...)
	}
	sort.Slice(in, func(i, j int) bool { return in[i].ip.Less(in[j].ip) })
	for _, a := range in[:min(4, len(in))] {
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s: %s of node %s; Cilium's identity for it: %s", a.ip, a.from, a.node.Name, identityText(a)))
	}
	mode := cm.Typed.(*corev1.ConfigMap).Data["policy-cidr-match-mode"]
	if strings.TrimSpace(mode) == "" {
		mode = "unset (CIDR rules match no node)"
	}
	f.Evidence = append(f.Evidence, fmt.Sprintf("%s: policy-cidr-match-mode %s", cm.Ref(), mode))
	f.Related = append(f.Related, analysis.RelatedOf(cm, "policy-cidr-match-mode does not include nodes"))
	if apiCovered && api.obj != nil {
		f.Related = append(f.Related, analysis.RelatedOf(api.obj, "endpoints of the kube-apiserver"))
	}
	var nodes, apiNodes []string
	seenNode := map[string]bool{}
	for _, a := range in {
		if !seenNode[a.node.Name] {
			seenNode[a.node.Name] = true
			nodes = append(nodes, a.node.Name)
			if a.api {
				apiNodes = append(apiNodes, a.node.Name)
			}
			if a.node.Node != nil && len(seenNode) <= 3 {
				f.Related = append(f.Related, analysis.RelatedOf(a.node.Node, "node whose address the rule names"))
			}
		}
	}
	var hurt []string
	seenSubj := map[*snapshot.Object]bool{}
	for i, h := range harms {
		if i < 3 {
			f.Evidence = append(f.Evidence, harmText(h, dir, role))
		}
		if !seenSubj[h.subject] {
			seenSubj[h.subject] = true
			if len(hurt) < 3 {
				why := "pod the rule applies to"
				if h.subject.Key.GroupKind() != snapshot.KindPod {
					why = "workload whose pods the rule applies to"
				}
				f.Related = append(f.Related, analysis.RelatedOf(h.subject, why))
			}
			hurt = append(hurt, h.subject.Ref())
		}
	}
	if alone {
		f.Evidence = append(f.Evidence, "no pod or workload the rule applies to is in the input: the rule is judged alone")
	}

	to := map[netpol.Direction]string{netpol.Egress: "egress to", netpol.Ingress: "ingress from"}[dir]
	verb := "admits"
	if role == netpol.RoleDeny {
		verb = "denies"
	}
	aim := "node(s) " + strings.Join(nodes[:min(4, len(nodes))], ", ") + more(len(nodes), 4)
	if len(apiNodes) > 0 {
		aim += " (kube-apiserver runs on " + strings.Join(apiNodes[:min(3, len(apiNodes))], ", ") + more(len(apiNodes), 3) + ")"
	}
	msg := fmt.Sprintf("%s %s %s %s, aimed at %s. Cilium gives node addresses the identity host, remote-node or kube-apiserver, never a CIDR identity, and policy-cidr-match-mode in %s does not include nodes, so the rule never matches them",
		pol.Ref(), verb, to, strings.Join(cidrs, ", "), aim, cm.Ref())
	switch {
	case role == netpol.RoleDeny:
		msg += ": the traffic it means to deny is not denied"
	case dir == netpol.Egress && apiAim:
		msg += ": connections to the API server on those nodes are dropped (POLICY_DENIED) — webhooks, operators and controllers time out reaching kube-apiserver"
	case dir == netpol.Egress:
		msg += ": connections to those nodes are dropped (POLICY_DENIED)"
	case apiCovered:
		msg += ": connections from those nodes (the API server calling webhooks, hostNetwork pods, traffic SNATed to a node address) are dropped (POLICY_DENIED)"
	default:
		msg += ": connections from those nodes (hostNetwork pods, traffic SNATed to a node address) are dropped (POLICY_DENIED)"
	}
	switch {
	case len(hurt) > 0:
		msg += ". Affected: " + strings.Join(hurt[:min(3, len(hurt))], ", ") + more(len(hurt), 3)
	case role == netpol.RoleAllow:
		msg += " unless another rule admits them"
	}
	f.Message = msg + "."
	return f
}

// aimsAtAPIServer tells whether an egress allow rule is meant for the API
// server: it holds an API server's node address, on no port restriction
// or on one of the API server's ports.
func aimsAtAPIServer(c *candidate, api apiServer) bool {
	if c.cp.Direction != netpol.Egress {
		return false
	}
	hasAPI := false
	for _, a := range c.in {
		hasAPI = hasAPI || a.api
	}
	if !hasAPI || len(c.cp.Ports) == 0 {
		return hasAPI
	}
	for _, pe := range c.cp.Ports {
		for _, p := range api.ports {
			if pe.Name == "" && (pe.Port == 0 || pe.Port <= p && p <= pe.End) {
				return true
			}
		}
	}
	return false
}

// harmText is one subject's verdict, as Cilium sees the node address.
func harmText(h harm, dir netpol.Direction, role netpol.Role) string {
	flow := fmt.Sprintf("%s → %s as %s", h.subject.Ref(), h.addr.ip, h.addr.class())
	if dir == netpol.Ingress {
		flow = fmt.Sprintf("%s as %s → %s", h.addr.ip, h.addr.class(), h.subject.Ref())
	}
	var refs []string
	for _, r := range h.v.Deciding {
		refs = append(refs, r.String())
	}
	what := strings.Join(refs[:min(3, len(refs))], ", ") + more(len(refs), 3)
	switch {
	case role == netpol.RoleDeny && len(refs) > 0:
		return fmt.Sprintf("%s on %s: admitted by %s; the deny rule does not match", flow, portText(h.port, h.proto), what)
	case role == netpol.RoleDeny:
		return fmt.Sprintf("%s on %s: admitted, no policy isolates it; the deny rule does not match", flow, portText(h.port, h.proto))
	case len(refs) > 0:
		return fmt.Sprintf("%s on %s: dropped, isolated by %s and no rule admits it", flow, portText(h.port, h.proto), what)
	}
	return fmt.Sprintf("%s on %s: dropped, Cilium's enforcement mode is always and no rule admits it", flow, portText(h.port, h.proto))
}

// ciliumVersion reads the agent's version from the cilium DaemonSet's
// image, else from an agent pod's.
func ciliumVersion(s *snapshot.Snapshot, cov *Coverage) (version.V, string, bool) {
	var objs []*snapshot.Object
	for _, o := range s.List(snapshot.KindDaemonSet) {
		if o.Key.Name == "cilium" || o.Labels[ciliumAgentPodLabel] == "cilium" {
			objs = append(objs, o)
		}
	}
	for _, n := range cov.SortedNodes() {
		if n.Agent != nil {
			objs = append(objs, n.Agent)
		}
	}
	for _, o := range objs {
		spec, _, _, ok := snapshot.PodSpecOf(o)
		if !ok {
			continue
		}
		for _, c := range spec.Containers {
			if c.Name != "cilium-agent" {
				continue
			}
			if v, ok := version.FromImage(c.Image); ok {
				return v, "image " + c.Image + " of " + o.Ref(), true
			}
		}
	}
	return version.V{}, "", false
}

// cidrRemedy gives both fixes: the agent setting (Cilium 1.15+), and
// entities in a CiliumNetworkPolicy, which work on every version — as a
// policy named after the NetworkPolicy, or as a rule to add to the Cilium
// policy itself.
func cidrRemedy(pol *snapshot.Object, dir netpol.Direction, cands []*candidate, cm *snapshot.Object, ver version.V, verOK bool) string {
	var b strings.Builder
	mode := strings.TrimSpace(cm.Typed.(*corev1.ConfigMap).Data["policy-cidr-match-mode"])
	setting := `policy-cidr-match-mode: "nodes"`
	if mode != "" {
		setting = fmt.Sprintf(`policy-cidr-match-mode: "%s nodes"`, mode)
	}
	if verOK && !ver.AtLeast(cidrMatchNodesSince) {
		fmt.Fprintf(&b, "This cluster runs Cilium %s, which has no policy-cidr-match-mode (it came in %d.%d, cilium/cilium#27464): admit the nodes by entity in a CiliumNetworkPolicy, or upgrade and set %s in %s. ",
			ver, cidrMatchNodesSince.Major, cidrMatchNodesSince.Minor, setting, cm.Ref())
	} else {
		fmt.Fprintf(&b, "Set %s in %s (Helm: policyCIDRMatchMode: nodes; Cilium 1.15 or later), then restart the agents (kubectl -n %s rollout restart daemonset/cilium): ipBlock and CIDR rules then match node addresses too. Or admit the nodes by entity in a CiliumNetworkPolicy, which works on every Cilium version. ",
			setting, cm.Ref(), cm.Key.Namespace)
	}
	apiOnly, anyAPI := true, false
	for _, c := range cands {
		for _, a := range c.in {
			apiOnly = apiOnly && a.api
			anyAPI = anyAPI || a.api
		}
	}
	var ents []string
	if anyAPI {
		ents = append(ents, "kube-apiserver")
	}
	if !apiOnly {
		ents = append(ents, "remote-node", "host")
	}
	field, sect := "toEntities", "egress"
	if dir == netpol.Ingress {
		field, sect = "fromEntities", "ingress"
	}
	if cands[0].cp.Rule.Role == netpol.RoleDeny {
		sect += "Deny"
	}
	rule := fmt.Sprintf("  - %s: [%s]\n", field, strings.Join(ents, ", ")) + toPortsYAML(cands)
	var paths []string
	for _, c := range cands {
		paths = append(paths, c.cp.Rule.Peer.String())
	}
	if np, ok := pol.Typed.(*networkingv1.NetworkPolicy); ok {
		sel, err := json.Marshal(np.Spec.PodSelector)
		if err != nil {
			sel = []byte("{}")
		}
		fmt.Fprintf(&b, "For the pods of %s:\n\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n  endpointSelector: %s\n  %s:\n%s",
			pol.Ref(), pol.Key.Name, pol.Key.Namespace, sel, sect, rule)
		return b.String()
	}
	fmt.Fprintf(&b, "In %s, next to %s (which match no node), add to the same spec's %s:\n\n%s", pol.Ref(), strings.Join(paths, ", "), sect, rule)
	return b.String()
}

// toPortsYAML renders the ports of the rules as a Cilium toPorts block,
// nothing when some rule admits every port.
func toPortsYAML(cands []*candidate) string {
	var lines []string
	seen := map[string]bool{}
	for _, c := range cands {
		if len(c.cp.Ports) == 0 {
			return ""
		}
		for _, pe := range c.cp.Ports {
			var l string
			switch {
			case pe.Name != "":
				l = fmt.Sprintf(`port: "%s"`, pe.Name)
			case pe.Port == 0:
				l = `port: "0"`
			default:
				l = fmt.Sprintf(`port: "%d"`, pe.Port)
				if pe.End > pe.Port {
					l += fmt.Sprintf(", endPort: %d", pe.End)
				}
			}
			if pe.Proto != "" && pe.Proto != "none" {
				l += ", protocol: " + pe.Proto
			}
			if !seen[l] {
				seen[l] = true
				lines = append(lines, "      - {"+l+"}\n")
			}
		}
	}
	return "    toPorts:\n    - ports:\n" + strings.Join(lines, "")
}
