package netpol

import (
	"net/netip"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// Policies returns the policy objects the engine enforces, in load order.
func (e *Evaluator) Policies() []*snapshot.Object {
	out := make([]*snapshot.Object, len(e.policies))
	for i, p := range e.policies {
		out[i] = p.obj
	}
	return out
}

// SelectedPods returns the Pods a policy selects (any of its specs), in
// load order; nil for an object the engine does not enforce. An empty
// result for a policy means it protects nothing in the input.
func (e *Evaluator) SelectedPods(policyObj *snapshot.Object) []*snapshot.Object {
	return e.selected(policyObj, func(ns string) []*snapshot.Object {
		if ns == snapshot.AllNamespaces {
			return e.s.List(snapshot.KindPod)
		}
		return e.s.InNamespace(snapshot.KindPod, ns)
	}, func(sp *spec) []*snapshot.Object {
		return e.s.SelectPods(sp.pol.obj.Key.Namespace, sp.podSel)
	})
}

// SelectedWorkloads is SelectedPods for controllers (Deployment,
// DaemonSet, ...) by their pod template: what a policy will select once
// their pods run, when the input holds no Pods.
func (e *Evaluator) SelectedWorkloads(policyObj *snapshot.Object) []*snapshot.Object {
	return e.selected(policyObj, func(ns string) []*snapshot.Object {
		var out []*snapshot.Object
		for _, gk := range snapshot.WorkloadKinds[1:] {
			if ns == snapshot.AllNamespaces {
				out = append(out, e.s.List(gk)...)
			} else {
				out = append(out, e.s.InNamespace(gk, ns)...)
			}
		}
		return out
	}, func(sp *spec) []*snapshot.Object {
		return e.s.SelectWorkloads(sp.pol.obj.Key.Namespace, sp.podSel)
	})
}

// selected applies a policy's selectors to candidates: k8s lists what a
// NetworkPolicy spec selects (through the snapshot's label index), all the
// objects of a namespace for Cilium selectors. The result is non-nil for
// an enforced policy even when it selects nothing.
func (e *Evaluator) selected(policyObj *snapshot.Object, all func(ns string) []*snapshot.Object, k8s func(*spec) []*snapshot.Object) []*snapshot.Object {
	p := e.byObj[policyObj]
	if p == nil {
		return nil
	}
	out := []*snapshot.Object{}
	seen := map[*snapshot.Object]bool{}
	for _, sp := range p.specs {
		if !sp.selectsPods {
			continue
		}
		var cands []*snapshot.Object
		if p.flavor == flavorK8s {
			cands = k8s(sp)
		} else {
			ns := p.obj.Key.Namespace
			if p.flavor == flavorCCNP {
				ns = snapshot.AllNamespaces
			}
			for _, o := range all(ns) {
				if e.selects(sp, e.prepare(e.PodPeer(o))) {
					cands = append(cands, o)
				}
			}
		}
		for _, o := range cands {
			if !seen[o] {
				seen[o] = true
				out = append(out, o)
			}
		}
	}
	return out
}

// Selection is one policy spec selecting a pod.
type Selection struct {
	Policy *snapshot.Object
	// Path is the selector (spec.podSelector, specs[1].endpointSelector).
	Path snapshot.Path
	// Ingress and Egress tell the directions it has rules for; Isolates
	// the directions it puts into default deny.
	Ingress, Egress bool
	Isolates        [2]bool
}

// PoliciesSelecting lists the policy specs that select a pod (or a
// workload's pod template), namespace-local ones first.
func (e *Evaluator) PoliciesSelecting(pod *snapshot.Object) []Selection {
	subj := e.prepare(e.PodPeer(pod))
	var out []Selection
	for _, list := range e.candidates(subj.Namespace) {
		for _, sp := range list {
			if (sp.has[Ingress] || sp.has[Egress]) && e.selects(sp, subj) {
				out = append(out, Selection{Policy: sp.pol.obj, Path: sp.selPath, Ingress: sp.has[Ingress], Egress: sp.has[Egress], Isolates: sp.isolates})
			}
		}
	}
	return out
}

// PeerSummary sorts the peers of a policy's ingress allow rules by kind,
// ports aside. Each RuleRef names the rule and, in Peer, the peer entry.
type PeerSummary struct {
	// Isolates: some spec of the policy puts its pods in ingress default
	// deny.
	Isolates bool
	// Selectors admit pods by labels: podSelector / namespaceSelector
	// peers, fromEndpoints on pod labels.
	Selectors []RuleRef
	// CIDRs are ipBlock, fromCIDR and fromCIDRSet peers.
	CIDRs []RuleRef
	// Reserved are fromEntities peers and fromEndpoints on reserved labels.
	Reserved []RuleRef
	// AnyPeer are rules that admit every peer (no from, or ports only).
	AnyPeer []RuleRef
	// WorldOrNode are the Reserved and AnyPeer entries that admit a peer
	// Cilium sees as world or remote-node whatever its address.
	WorldOrNode []RuleRef
	// Unevaluated are peers not evaluated here (toFQDNs, fromNodes, ...)
	// or that could not be read.
	Unevaluated []RuleRef
}

// OnlySelectors tells the shape of incident (d): the policy isolates its
// pods and admits peers only by pod or namespace labels — nothing admits
// a pod on a node Cilium does not manage, which Cilium sees as world (or
// remote-node after SNAT).
func (s PeerSummary) OnlySelectors() bool {
	return s.Isolates && len(s.Selectors) > 0 && len(s.CIDRs) == 0 && len(s.WorldOrNode) == 0 && len(s.AnyPeer) == 0
}

// IngressPeers summarizes who a policy's ingress allow rules admit.
func (e *Evaluator) IngressPeers(policyObj *snapshot.Object) PeerSummary {
	var s PeerSummary
	p := e.byObj[policyObj]
	if p == nil {
		return s
	}
	world := e.prepare(Peer{Class: ClassWorld})
	node := e.prepare(Peer{Class: ClassRemoteNode})
	for _, sp := range p.specs {
		s.Isolates = s.Isolates || (sp.selectsPods && sp.isolates[Ingress])
		for _, r := range sp.allow[Ingress] {
			ref := RuleRef{Policy: p.obj, Role: RoleAllow, Path: r.path}
			if r.anyPeer {
				s.AnyPeer = append(s.AnyPeer, ref)
				s.WorldOrNode = append(s.WorldOrNode, ref)
				continue
			}
			for _, pr := range r.peers {
				ref.Peer = pr.path
				switch {
				case pr.kind == peerK8s:
					s.Selectors = append(s.Selectors, ref)
				case pr.kind == peerCIDR:
					s.CIDRs = append(s.CIDRs, ref)
				case pr.kind == peerEntity || pr.kind == peerEndpoints && pr.csel.hasSource(sourceReserved):
					s.Reserved = append(s.Reserved, ref)
					q := &query{dir: Ingress}
					for _, o := range []*remote{world, node} {
						q.other = o
						if e.matchPeer(q, p, pr) {
							s.WorldOrNode = append(s.WorldOrNode, ref)
							break
						}
					}
				case pr.kind == peerEndpoints:
					s.Selectors = append(s.Selectors, ref)
				default:
					s.Unevaluated = append(s.Unevaluated, ref)
				}
			}
		}
	}
	return s
}

// CIDRPeer is one address-range peer of a policy rule: an ipBlock, or one
// CIDR of a fromCIDR, toCIDR, fromCIDRSet or toCIDRSet entry (a
// cidrGroupRef gives one CIDRPeer per CIDR of the group, all at the same
// path).
type CIDRPeer struct {
	// Rule locates the peer: Policy, Role (RoleAllow, or RoleDeny for
	// ingressDeny/egressDeny), Path (the rule) and Peer (the entry).
	Rule      RuleRef
	Direction Direction
	// Selector is the selector of the spec the rule belongs to, as
	// Selection.Path names it, so a caller can tell which pods the rule
	// applies to.
	Selector snapshot.Path
	CIDR     netip.Prefix
	Except   []netip.Prefix
	// Ports are the rule's port entries; none means every port.
	Ports []PortEntry
	// ICMPOnly: a Cilium rule with icmps and no toPorts, which admits
	// only ICMP.
	ICMPOnly bool
}

// PortEntry is one port entry of a rule.
type PortEntry struct {
	Path snapshot.Path
	// Proto is TCP, UDP or SCTP, "" for any protocol, or "none" for an
	// entry that could not be read (it matches nothing).
	Proto string
	// Port..End is a numeric range (Port == End for one port); Port 0
	// with no Name means every port; Name is a named port.
	Port, End uint16
	Name      string
}

// CIDRPeers lists the CIDR peers of the rules of a policy that apply to
// pods, allow and deny, in rule order. Rules of Cilium host policies
// (nodeSelector) are left out: they protect nodes, not pods.
func (e *Evaluator) CIDRPeers(policyObj *snapshot.Object) []CIDRPeer {
	p := e.byObj[policyObj]
	if p == nil {
		return nil
	}
	var out []CIDRPeer
	for _, sp := range p.specs {
		if !sp.selectsPods {
			continue
		}
		for _, dir := range []Direction{Ingress, Egress} {
			for _, rr := range []struct {
				role  Role
				rules []*rule
			}{{RoleAllow, sp.allow[dir]}, {RoleDeny, sp.deny[dir]}} {
				for _, r := range rr.rules {
					var ports []PortEntry
					for _, pr := range r.ports {
						ports = append(ports, PortEntry{Path: pr.path, Proto: pr.proto, Port: pr.port, End: pr.end, Name: pr.name})
					}
					for _, pr := range r.peers {
						if pr.kind != peerCIDR {
							continue
						}
						out = append(out, CIDRPeer{
							Rule:      RuleRef{Policy: p.obj, Role: rr.role, Path: r.path, Peer: pr.path},
							Direction: dir,
							Selector:  sp.selPath,
							CIDR:      pr.cidr,
							Except:    append([]netip.Prefix(nil), pr.except...),
							Ports:     ports,
							ICMPOnly:  r.icmpOnly,
						})
					}
				}
			}
		}
	}
	return out
}
