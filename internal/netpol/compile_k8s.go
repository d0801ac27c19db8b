package netpol

import (
	"fmt"
	"net/netip"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// compileK8s compiles a NetworkPolicy. Each problem makes the offending
// peer or port match nothing, as the API server would have refused it.
func (c *compiler) compileK8s(o *snapshot.Object) *policy {
	np, ok := o.Typed.(*networkingv1.NetworkPolicy)
	if !ok {
		c.problem(o, nil, fmt.Errorf("not a networking.k8s.io/v1 NetworkPolicy (decoded as %T)", o.Typed))
		return nil
	}
	pol := &policy{obj: o, flavor: flavorK8s}
	sp := &spec{pol: pol, path: snapshot.P("spec"), selectsPods: true, selPath: snapshot.P("spec", "podSelector")}
	pol.specs = []*spec{sp}
	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if err != nil {
		c.problem(o, sp.selPath, fmt.Errorf("podSelector: %w", err))
		sp.selectsPods = false
	}
	sp.podSel = sel

	// policyTypes: Ingress is always implied when absent; Egress only when
	// there are egress rules.
	if len(np.Spec.PolicyTypes) == 0 {
		sp.isolates[Ingress] = true
		sp.isolates[Egress] = len(np.Spec.Egress) > 0
	}
	for _, t := range np.Spec.PolicyTypes {
		switch t {
		case networkingv1.PolicyTypeIngress:
			sp.isolates[Ingress] = true
		case networkingv1.PolicyTypeEgress:
			sp.isolates[Egress] = true
		}
	}
	sp.has = sp.isolates
	// Rules of a direction the policy does not name are ignored, as
	// Kubernetes documents.
	if sp.isolates[Ingress] {
		for i, r := range np.Spec.Ingress {
			p := snapshot.P("spec", "ingress", i)
			sp.allow[Ingress] = append(sp.allow[Ingress], c.k8sRule(o, p, "from", r.From, r.Ports))
		}
	}
	if sp.isolates[Egress] {
		for i, r := range np.Spec.Egress {
			p := snapshot.P("spec", "egress", i)
			sp.allow[Egress] = append(sp.allow[Egress], c.k8sRule(o, p, "to", r.To, r.Ports))
		}
	}
	return pol
}

func (c *compiler) k8sRule(o *snapshot.Object, at snapshot.Path, field string, peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort) *rule {
	r := &rule{path: at, anyPeer: len(peers) == 0}
	for j, pe := range peers {
		pp := at.Child(field, j)
		pr, err := k8sPeer(pp, pe)
		if err != nil {
			c.problem(o, pp, err)
			pr = &peerRule{path: pp, kind: peerNever}
		}
		r.peers = append(r.peers, pr)
	}
	for k, pt := range ports {
		pp := at.Child("ports", k)
		pr, err := k8sPort(pp, pt)
		if err != nil {
			c.problem(o, pp, err)
			pr = portRule{path: pp, proto: "none"}
		}
		r.ports = append(r.ports, pr)
	}
	return r
}

func k8sPeer(at snapshot.Path, pe networkingv1.NetworkPolicyPeer) (*peerRule, error) {
	if pe.IPBlock != nil {
		if pe.PodSelector != nil || pe.NamespaceSelector != nil {
			return nil, fmt.Errorf("ipBlock cannot be combined with podSelector or namespaceSelector")
		}
		pr := &peerRule{path: at, kind: peerCIDR}
		var err error
		if pr.cidr, err = netip.ParsePrefix(pe.IPBlock.CIDR); err != nil {
			return nil, fmt.Errorf("ipBlock.cidr: %w", err)
		}
		pr.cidr = pr.cidr.Masked()
		for _, ex := range pe.IPBlock.Except {
			p, err := netip.ParsePrefix(ex)
			if err != nil {
				return nil, fmt.Errorf("ipBlock.except: %w", err)
			}
			pr.except = append(pr.except, p.Masked())
		}
		return pr, nil
	}
	if pe.PodSelector == nil && pe.NamespaceSelector == nil {
		return nil, fmt.Errorf("peer has none of podSelector, namespaceSelector, ipBlock")
	}
	pr := &peerRule{path: at, kind: peerK8s}
	var err error
	if pe.PodSelector != nil {
		if pr.podSel, err = metav1.LabelSelectorAsSelector(pe.PodSelector); err != nil {
			return nil, fmt.Errorf("podSelector: %w", err)
		}
	}
	if pe.NamespaceSelector != nil {
		if pr.nsSel, err = metav1.LabelSelectorAsSelector(pe.NamespaceSelector); err != nil {
			return nil, fmt.Errorf("namespaceSelector: %w", err)
		}
	}
	return pr, nil
}

func k8sPort(at snapshot.Path, pt networkingv1.NetworkPolicyPort) (portRule, error) {
	pr := portRule{path: at, proto: "TCP"}
	if pt.Protocol != nil && *pt.Protocol != "" {
		pr.proto = strings.ToUpper(string(*pt.Protocol))
	}
	switch pr.proto {
	case "TCP", "UDP", "SCTP":
	default:
		return pr, fmt.Errorf("protocol %q is not TCP, UDP or SCTP", pr.proto)
	}
	if pt.Port == nil {
		if pt.EndPort != nil {
			return pr, fmt.Errorf("endPort without port")
		}
		return pr, nil
	}
	if pt.Port.Type == intstr.String {
		if pt.EndPort != nil {
			return pr, fmt.Errorf("endPort with the named port %q", pt.Port.StrVal)
		}
		pr.name = pt.Port.StrVal
		return pr, nil
	}
	if pt.Port.IntVal < 1 || pt.Port.IntVal > 65535 {
		return pr, fmt.Errorf("port %d out of range", pt.Port.IntVal)
	}
	pr.port, pr.end = uint16(pt.Port.IntVal), uint16(pt.Port.IntVal)
	if pt.EndPort != nil {
		if *pt.EndPort < pt.Port.IntVal || *pt.EndPort > 65535 {
			return pr, fmt.Errorf("endPort %d not in [port, 65535]", *pt.EndPort)
		}
		pr.end = uint16(*pt.EndPort)
	}
	return pr, nil
}
