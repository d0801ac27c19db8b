package cni

import (
	"fmt"
	"net/netip"
	"path"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/cilium"
	"github.com/meshdoctor/meshdoctor/internal/kb"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// Drops are the drops Cilium and Hubble reported (hubble observe flows
// with verdict DROPPED, cilium monitor drop notifications), each read
// once, with the pods at both ends found by address and the sources that
// Cilium could not attribute marked.
type Drops struct {
	List []*Drop
	// Endpoints are the rows of `cilium endpoint list` files, by address.
	Endpoints map[netip.Addr]EndpointRow
	// Policy are the rows of `cilium bpf policy get` files, by node and
	// endpoint ID.
	Policy map[nodeEndpoint][]PolicyRow
}

// EndpointRow is an endpoint and the file it was read from.
type EndpointRow struct {
	Out *snapshot.CiliumOutput
	*cilium.Endpoint
}

// PolicyRow is a policy map entry and the file it was read from.
type PolicyRow struct {
	Out *snapshot.CiliumOutput
	*cilium.PolicyEntry
}

type nodeEndpoint struct {
	node string
	id   uint32
}

// Drop is one dropped packet (or flow) as a command reported it.
type Drop struct {
	Out  *snapshot.CiliumOutput
	Line int
	// Node is where it was dropped: the flow's node_name, else the bundle
	// folder's node.
	Node string
	// Reason is the drop reason as printed; Info its knowledge-base entry
	// (nil when unknown); Policy says policy denied it.
	Reason string
	Info   *kb.DropReasonInfo
	Policy bool
	// Ingress is false only when the flow says EGRESS.
	Ingress          bool
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Proto            string
	SrcID, DstID     cilium.Identity
	HasSrcID         bool
	// DstEndpoint is the destination's Cilium endpoint ID, 0 if unknown.
	DstEndpoint uint32
	// SrcName and DstName are how the command named the ends ("ns/pod"),
	// if it did.
	SrcName, DstName string
	// flow is the Hubble JSON flow, for Text; nil for text output.
	flow *cilium.Flow
	// SrcPod and DstPod are the pods at the two ends, found by address
	// (or by name), nil when not in the input.
	SrcPod, DstPod *snapshot.Object
	// Unattributed is set when the source is a pod address (or a node that
	// masquerades pods) Cilium does not know: incident (d).
	Unattributed *UnattributedSource
}

// UnattributedSource says why a dropped packet's source is a pod Cilium
// could not attribute.
type UnattributedSource struct {
	// Node is the node whose pod range (or address) holds the source.
	Node string
	// CIDR is the pod range holding the source; invalid when the source
	// is the node's own address (masqueraded pod traffic).
	CIDR netip.Prefix
	// Why explains it, for evidence.
	Why string
}

// CiliumDropFacts reads the drops once for the checks that explain them.
var CiliumDropFacts = &analysis.Fact{
	Name:     "cilium-drops",
	Doc:      "The drops hubble observe and cilium monitor reported, with the pods at both ends and the sources Cilium could not attribute to a pod.",
	Inputs:   []analysis.Input{analysis.CiliumOutputs()},
	Reads:    map[schema.GroupKind][]string{snapshot.KindPod: {"spec.hostNetwork", "status.podIP", "status.podIPs"}},
	Requires: []*analysis.Fact{CiliumCoverage},
	Run:      runDrops,
}

func runDrops(p *analysis.Pass) (any, error) {
	cov := p.ResultOf(CiliumCoverage).(*Coverage)
	d := &Drops{Endpoints: map[netip.Addr]EndpointRow{}, Policy: map[nodeEndpoint][]PolicyRow{}}
	for _, out := range p.Snapshot.CiliumOutputs() {
		for i := range out.Flows {
			if f := &out.Flows[i]; f.Dropped() {
				d.List = append(d.List, flowDrop(out, f))
			}
		}
		for i := range out.Drops {
			d.List = append(d.List, monitorDrop(out, &out.Drops[i]))
		}
		for i := range out.Endpoints {
			ep := &out.Endpoints[i]
			for _, ip := range []netip.Addr{ep.IPv4, ep.IPv6} {
				if ip.IsValid() {
					d.Endpoints[ip] = EndpointRow{out, ep}
				}
			}
		}
		for i := range out.Policy {
			e := &out.Policy[i]
			id := e.EndpointID
			if id == 0 {
				id = endpointFromName(out.File)
			}
			k := nodeEndpoint{out.Node, id}
			d.Policy[k] = append(d.Policy[k], PolicyRow{out, e})
		}
	}
	if len(d.List) == 0 {
		return d, nil
	}
	pods := podsByIP(p.Snapshot)
	byName := map[string]*snapshot.Object{}
	for _, o := range p.Snapshot.List(snapshot.KindPod) {
		byName[o.Key.Namespace+"/"+o.Key.Name] = o
	}
	unmanaged := map[netip.Addr]*UnmanagedPod{}
	for i := range cov.Unmanaged {
		for _, ip := range cov.Unmanaged[i].IPs {
			unmanaged[ip] = &cov.Unmanaged[i]
		}
	}
	for _, dr := range d.List {
		dr.SrcPod = pods[dr.Src]
		dr.DstPod = pods[dr.Dst]
		if dr.SrcPod == nil && dr.SrcName != "" {
			dr.SrcPod = byName[dr.SrcName]
		}
		if dr.DstPod == nil && dr.DstName != "" {
			dr.DstPod = byName[dr.DstName]
		}
		dr.Src, dr.Dst = addrOf(dr.Src, dr.SrcPod), addrOf(dr.Dst, dr.DstPod)
		dr.Unattributed = classifySource(cov, unmanaged, dr)
	}
	return d, nil
}

// addrOf is ip, or the pod's first address when the command printed a
// name instead.
func addrOf(ip netip.Addr, pod *snapshot.Object) netip.Addr {
	if ip.IsValid() || pod == nil {
		return ip
	}
	if p, ok := pod.Typed.(*corev1.Pod); ok {
		if ips := podIPs(p); len(ips) > 0 {
			return ips[0]
		}
	}
	return ip
}

// classifySource tells whether a policy drop's source is a pod Cilium
// could not attribute: seen as world although its address lies in a
// node's pod range, or seen as remote-node from a node Cilium does not
// manage (whose old CNI masquerades its pods' traffic).
func classifySource(cov *Coverage, unmanaged map[netip.Addr]*UnmanagedPod, dr *Drop) *UnattributedSource {
	if !dr.Policy || !dr.HasSrcID || !dr.Src.IsValid() {
		return nil
	}
	// unmanaged (3) is a local pod Cilium does not manage: as good as world.
	world, remoteNode := dr.SrcID.IsWorld() || dr.SrcID == cilium.IdentityUnmanaged, dr.SrcID == cilium.IdentityRemoteNode
	if !world && !remoteNode {
		return nil
	}
	if u := unmanaged[dr.Src]; u != nil {
		n := cov.Nodes[u.Node]
		src := &UnattributedSource{Node: u.Node, Why: fmt.Sprintf("%s is pod %s, which %s", dr.Src, u.Pod.Ref(), u.Why)}
		if n != nil {
			src.CIDR = containing(append(append([]netip.Prefix{}, n.NodePodCIDRs...), n.PodCIDRs...), dr.Src)
		}
		return src
	}
	if dr.SrcPod != nil {
		// A pod of the input that Cilium manages: seen as world only while
		// the agent's ipcache lacked its address (a pod just started,
		// identities not yet propagated) — not a pod Cilium cannot see.
		return nil
	}
	for _, n := range cov.sorted {
		if remoteNode {
			if !cov.Known || n.Managed {
				continue // a Cilium node's own traffic is remote-node by design
			}
			for _, ip := range n.InternalIPs {
				if ip == dr.Src {
					return &UnattributedSource{Node: n.Name, Why: fmt.Sprintf("%s is the address of node %s (%s): its old CNI masquerades the node's pod traffic to it", dr.Src, n.Name, n.Why)}
				}
			}
		}
		c := containing(append(append([]netip.Prefix{}, n.NodePodCIDRs...), n.PodCIDRs...), dr.Src)
		if !c.IsValid() {
			continue
		}
		switch {
		case cov.Known && !n.Managed:
			return &UnattributedSource{Node: n.Name, CIDR: c, Why: fmt.Sprintf("%s lies in pod CIDR %s of node %s (%s)", dr.Src, c, n.Name, n.Why)}
		case world:
			// A pod address of the cluster that Cilium's ipcache does not
			// hold: a pod Cilium does not manage. (remote-node from a
			// managed node's range is its cilium_host address: by design.)
			return &UnattributedSource{Node: n.Name, CIDR: c, Why: fmt.Sprintf("%s lies in pod CIDR %s of node %s, yet Cilium gave it no pod identity: no Cilium endpoint holds that address", dr.Src, c, n.Name)}
		}
	}
	return nil
}

func containing(ps []netip.Prefix, ip netip.Addr) netip.Prefix {
	for _, p := range ps {
		if p.Contains(ip) {
			return p
		}
	}
	return netip.Prefix{}
}

// podsByIP indexes the pods that own their address (not hostNetwork).
func podsByIP(s *snapshot.Snapshot) map[netip.Addr]*snapshot.Object {
	out := map[netip.Addr]*snapshot.Object{}
	for _, o := range s.List(snapshot.KindPod) {
		pod, ok := o.Typed.(*corev1.Pod)
		if !ok || pod.Spec.HostNetwork {
			continue
		}
		for _, ip := range podIPs(pod) {
			out[ip] = o
		}
	}
	return out
}

// endpointFromName reads the endpoint ID from a file name such as
// bpf-policy-get-1317.txt, for `cilium bpf policy get <id>` output that
// has no header naming it; 0 when there is none.
func endpointFromName(name string) uint32 {
	base := path.Base(strings.ReplaceAll(name, "\\", "/"))
	base = strings.TrimSuffix(base, path.Ext(base))
	i := strings.LastIndexAny(base, "-_.")
	n, err := strconv.ParseUint(base[i+1:], 10, 32)
	if err != nil {
		return 0
	}
	return uint32(n)
}

func flowDrop(out *snapshot.CiliumOutput, f *cilium.Flow) *Drop {
	d := &Drop{
		Out: out, Line: f.Line, Node: f.Node,
		Ingress: f.TrafficDirection != "EGRESS",
		Src:     f.Source.Addr, Dst: f.Destination.Addr,
		SrcPort: f.Source.Port, DstPort: f.Destination.Port,
		Proto: f.Protocol,
		SrcID: f.Source.Identity, DstID: f.Destination.Identity, HasSrcID: f.Source.HasIdentity,
		DstEndpoint: f.Destination.ID,
		Policy:      f.PolicyDenied(),
	}
	if d.Node == "" {
		d.Node = out.Node
	}
	d.SrcName, d.DstName = peerName(&f.Source), peerName(&f.Destination)
	switch {
	case f.DropReason != 0:
		d.Info, _ = kb.DropReasonByCode(int(f.DropReason))
	case f.DropReasonDesc != "":
		d.Info, _ = kb.DropReason(f.DropReasonDesc)
	case f.DropReasonText != "":
		d.Info, _ = kb.DropReason(f.DropReasonText)
	case f.IsPolicyVerdict:
		d.Info, _ = kb.DropReasonByCode(133)
	}
	d.Reason = firstNonEmpty(f.DropReasonDesc, f.DropReasonText)
	if d.Reason == "" && d.Info != nil {
		d.Reason = d.Info.Name
	}
	if f.IsPolicyVerdict {
		d.Reason = "policy-verdict " + firstNonEmpty(f.PolicyMatch, "none") + " DENIED"
	}
	if out.Kind != cilium.KindHubbleText {
		d.flow = f // JSON lines are long: Text renders the flow instead
	}
	return d
}

// Text renders the drop on one line for evidence: the line as printed for
// text output, a compact form of the flow for JSON. It is built only for
// the drops a finding quotes.
func (d *Drop) Text() string {
	f := d.flow
	if f == nil {
		return strings.TrimSpace(d.Out.Line(d.Line))
	}
	return fmt.Sprintf("%s (%s) -> %s (%s) %s %s %s", endText(f.Source.Addr, f.Source.Port, f.Source.Namespace, f.Source.PodName),
		f.Source.Identity, endText(f.Destination.Addr, f.Destination.Port, f.Destination.Namespace, f.Destination.PodName),
		f.Destination.Identity, strings.TrimSpace(f.TrafficDirection+" "+d.Reason), f.Verdict, f.Summary)
}

// peerName is "namespace/pod" when the flow names a pod.
func peerName(p *cilium.FlowPeer) string {
	switch {
	case p.Namespace != "" && p.PodName != "":
		return p.Namespace + "/" + p.PodName
	case strings.Count(p.Name, "/") == 1:
		return p.Name
	}
	return ""
}

func monitorDrop(out *snapshot.CiliumOutput, e *cilium.DropEvent) *Drop {
	d := &Drop{
		Out: out, Line: e.Line, Node: out.Node, Ingress: true,
		Src: e.Src, Dst: e.Dst, SrcPort: e.SrcPort, DstPort: e.DstPort,
		Proto: strings.ToUpper(e.Proto), SrcID: e.SrcIdentity, DstID: e.DstIdentity, HasSrcID: e.HasIdentity,
		DstEndpoint: e.Endpoint, Reason: e.Reason,
	}
	reason, _, _ := strings.Cut(e.Reason, ",")
	d.Info, _ = kb.DropReason(reason)
	d.Policy = strings.HasPrefix(reason, "Policy denied") || d.Info != nil && (d.Info.Code == 133 || d.Info.Code == 181)
	return d
}

func endText(ip netip.Addr, port uint16, ns, pod string) string {
	s := ip.String()
	if !ip.IsValid() {
		s = "?"
	}
	if port != 0 {
		s = netip.AddrPortFrom(ip, port).String()
		if !ip.IsValid() {
			s = "?:" + strconv.Itoa(int(port))
		}
	}
	if pod != "" {
		s += " " + ns + "/" + pod
	}
	return s
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// where renders the drop's file:line.
func (d *Drop) where() string { return fmt.Sprintf("%s:%d", d.Out.File, d.Line) }

// location is the drop's line as a finding location.
func (d *Drop) location() analysis.Location {
	return analysis.Location{Position: snapshot.Position{File: d.Out.File, Line: d.Line}, Exact: true}
}

// dstLabel names the destination for messages.
func (d *Drop) dstLabel() string {
	if d.DstPod != nil {
		return d.DstPod.Ref()
	}
	if d.DstName != "" {
		return d.DstName
	}
	return d.Dst.String()
}

// portText renders port/proto.
func (d *Drop) portText() string {
	if d.DstPort == 0 {
		return strings.ToLower(firstNonEmpty(d.Proto, "any"))
	}
	return fmt.Sprintf("%d/%s", d.DstPort, firstNonEmpty(d.Proto, "TCP"))
}

// endpointEvidence says how the destination endpoint enforces policy and
// what its policy map admits on the dropped port, from `cilium endpoint
// list` and `cilium bpf policy get` when the input has them.
func (ds *Drops) endpointEvidence(d *Drop) []string {
	var out []string
	id := d.DstEndpoint
	if row, ok := ds.Endpoints[d.Dst]; ok && d.Dst.IsValid() {
		ep := row.Endpoint
		id = ep.ID
		dir := "ingress"
		if !d.Ingress {
			dir = "egress"
		}
		enf := ep.Ingress
		if !d.Ingress {
			enf = ep.Egress
		}
		name := d.dstLabel()
		if ep.PodName != "" {
			name = ep.Namespace + "/" + ep.PodName
		}
		out = append(out, fmt.Sprintf("%s:%d: endpoint %d (%s, identity %s) has %s policy enforcement %s", row.Out.File, ep.Line, ep.ID, name, ep.Identity, dir, enf))
	}
	if id == 0 {
		return out
	}
	rows := ds.Policy[nodeEndpoint{d.Node, id}]
	if len(rows) == 0 {
		// A bundle folder names the node; a loose file does not.
		rows = ds.Policy[nodeEndpoint{"", id}]
	}
	if len(rows) == 0 {
		return out
	}
	dir := "Ingress"
	if !d.Ingress {
		dir = "Egress"
	}
	var onPort []string
	var admits *PolicyRow
	for i := range rows {
		r := &rows[i]
		if r.Direction != dir || !r.portMatches(d.DstPort, d.Proto) {
			continue
		}
		if r.Action == "Allow" && (r.Wildcard || r.HasIdentity && r.Identity == d.SrcID) {
			admits = r
		}
		onPort = append(onPort, r.peerText())
	}
	file := rows[0].Out.File
	switch {
	case admits != nil:
		out = append(out, fmt.Sprintf("%s:%d: endpoint %d's policy map now admits %s on %s (%s): the drops predate the current policy", file, admits.Line, id, d.SrcID, d.portText(), admits.peerText()))
	case len(onPort) == 0:
		out = append(out, fmt.Sprintf("%s:%d: endpoint %d's policy map has no %s entry for %s at all, so nothing reaches it there from %s", file, rows[0].Line, id, strings.ToLower(dir), d.portText(), d.SrcID))
	default:
		sort.Strings(onPort)
		out = append(out, fmt.Sprintf("%s:%d: endpoint %d's policy map admits %s on %s only from %s — not from %s", file, rows[0].Line, id, strings.ToLower(dir), d.portText(), strings.Join(compactList(onPort, 4), ", "), d.SrcID))
	}
	return out
}

func (r *PolicyRow) portMatches(port uint16, proto string) bool {
	if r.Proto != "" && !strings.EqualFold(r.Proto, "ANY") && proto != "" && !strings.EqualFold(r.Proto, proto) {
		return false
	}
	if r.Port == 0 || port == 0 {
		return true
	}
	end := r.PortEnd
	if end == 0 {
		end = r.Port
	}
	return r.Port <= port && port <= end
}

func (r *PolicyRow) peerText() string {
	switch {
	case r.Wildcard:
		return "ANY"
	case len(r.Labels) > 0 && r.HasIdentity:
		return r.Identity.String() + " (" + r.Labels[0] + ")"
	case len(r.Labels) > 0:
		return r.Labels[0]
	}
	return r.Identity.String()
}

// compactList keeps the first n distinct entries, in order, and says how
// many more there were.
func compactList(ss []string, n int) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return analysis.FirstN(out, n)
}
