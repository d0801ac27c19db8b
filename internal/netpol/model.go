package netpol

import (
	"net/netip"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// Direction of traffic relative to the pod a policy selects.
type Direction int

const (
	Ingress Direction = iota
	Egress
)

func (d Direction) String() string {
	if d == Egress {
		return "egress"
	}
	return "ingress"
}

type policyFlavor int

const (
	flavorK8s policyFlavor = iota
	flavorCNP
	flavorCCNP
)

// policy is one policy object compiled once.
type policy struct {
	obj    *snapshot.Object
	flavor policyFlavor
	specs  []*spec
}

// spec is one unit that selects pods: a NetworkPolicy's spec, or one entry
// of a Cilium policy's spec/specs.
type spec struct {
	pol  *policy
	path snapshot.Path // spec, or specs[i]
	// Subject selection: NetworkPolicy podSelector, or Cilium
	// endpointSelector (namespaced to the policy for a CNP).
	podSel      labels.Selector
	epSel       cSelector
	selectsPods bool // false for Cilium host policies (nodeSelector)
	selPath     snapshot.Path
	// has tells the directions the spec has rules for (allow or deny);
	// isolates the directions it puts into default deny.
	has      [2]bool
	isolates [2]bool
	allow    [2][]*rule
	deny     [2][]*rule
}

// rule is one ingress or egress rule: peers ORed, ports ORed.
type rule struct {
	path snapshot.Path
	// anyPeer: the rule does not restrict the peer (NetworkPolicy rule
	// without from/to; Cilium rule with ports but no L3 part).
	anyPeer bool
	peers   []*peerRule
	ports   []portRule
	// icmpOnly: a Cilium rule with icmps and no toPorts admits only ICMP.
	icmpOnly bool
	// caveats say what in the rule is not evaluated.
	caveats []string
}

type peerKind int

const (
	peerK8s       peerKind = iota // NetworkPolicy podSelector/namespaceSelector
	peerEndpoints                 // Cilium fromEndpoints/toEndpoints
	peerCIDR                      // ipBlock, fromCIDR, fromCIDRSet
	peerEntity                    // Cilium fromEntities/toEntities
	peerNever                     // a peer not evaluated (toFQDNs, toServices, ...)
)

type peerRule struct {
	path snapshot.Path
	kind peerKind
	// peerK8s: nil selectors are absent; with nsSel nil the pod must be in
	// the policy's namespace.
	podSel, nsSel labels.Selector
	csel          cSelector
	cidr          netip.Prefix
	except        []netip.Prefix
	entity        string
}

// portRule is one port entry. proto is TCP, UDP, SCTP or "" for any; port
// 0 with no name means every port of the protocol.
type portRule struct {
	path      snapshot.Path
	proto     string
	port, end uint16
	name      string
}

// Problem is part of a policy that could not be read; it matches nothing.
type Problem struct {
	Policy *snapshot.Object
	Path   snapshot.Path
	Err    error
}

func (p Problem) Error() string {
	return p.Policy.Ref() + " " + p.Path.String() + ": " + p.Err.Error()
}

func (p Problem) Unwrap() error { return p.Err }
