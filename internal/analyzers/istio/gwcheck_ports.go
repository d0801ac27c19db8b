package istio

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// gatewayServicePorts is what the Services selecting one kind of gateway pod
// expose: Service ports and the target ports they forward to.
type gatewayServicePorts struct {
	services []*snapshot.Object
	ports    map[uint32]string // port or target port -> how it is exposed
	unknown  string            // why the ports cannot be judged, if so
}

// servicePortsOf collects the TCP ports and target ports of the Services in
// the namespace of gateway workload o (a pod or pod template) that select it.
func servicePortsOf(s *snapshot.Snapshot, o *snapshot.Object) gatewayServicePorts {
	spec, _, podLabels, _ := snapshot.PodSpecOf(o)
	out := gatewayServicePorts{ports: map[uint32]string{}}
	if spec != nil && spec.HostNetwork {
		out.unknown = o.Ref() + " uses the host network, so its listeners are reachable on the node without a Service"
		return out
	}
	named := map[string]int32{}
	hostPorts := 0
	if spec != nil {
		for _, c := range spec.Containers {
			for _, cp := range c.Ports {
				if cp.Name != "" {
					named[cp.Name] = cp.ContainerPort
				}
				// A hostPort makes the container port reachable on the
				// node's address without any Service.
				if cp.HostPort != 0 && (cp.Protocol == "" || cp.Protocol == corev1.ProtocolTCP) {
					hostPorts++
					if _, seen := out.ports[uint32(cp.ContainerPort)]; !seen {
						out.ports[uint32(cp.ContainerPort)] = fmt.Sprintf("container port %d of %s (hostPort %d)", cp.ContainerPort, o.Ref(), cp.HostPort)
					}
				}
			}
		}
	}
	for _, so := range s.InNamespace(snapshot.KindService, o.Key.Namespace) {
		svc, ok := so.Typed.(*corev1.Service)
		if !ok || len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(podLabels)) {
			continue
		}
		out.services = append(out.services, so)
		for _, sp := range svc.Spec.Ports {
			if sp.Protocol != "" && sp.Protocol != corev1.ProtocolTCP {
				continue
			}
			out.ports[uint32(sp.Port)] = fmt.Sprintf("port %d of %s", sp.Port, so.Ref())
			switch {
			case sp.TargetPort.Type == intstr.String && sp.TargetPort.StrVal != "":
				n, ok := named[sp.TargetPort.StrVal]
				if !ok {
					out.unknown = fmt.Sprintf("%s targets the named port %q, which %s does not declare", so.Ref(), sp.TargetPort.StrVal, o.Ref())
					continue
				}
				if _, seen := out.ports[uint32(n)]; !seen {
					out.ports[uint32(n)] = fmt.Sprintf("target port %d (%s) of %s", n, sp.TargetPort.StrVal, so.Ref())
				}
			case sp.TargetPort.IntVal != 0:
				if _, seen := out.ports[uint32(sp.TargetPort.IntVal)]; !seen {
					out.ports[uint32(sp.TargetPort.IntVal)] = fmt.Sprintf("target port %d of %s", sp.TargetPort.IntVal, so.Ref())
				}
			}
		}
	}
	if len(out.services) == 0 && hostPorts == 0 && out.unknown == "" {
		out.unknown = "no Service in namespace " + o.Key.Namespace + " selects " + o.Ref()
	}
	return out
}

func (gsp gatewayServicePorts) list() string {
	var ps []int
	for p := range gsp.ports {
		ps = append(ps, int(p))
	}
	sort.Ints(ps)
	var out []string
	for _, p := range ps {
		out = append(out, fmt.Sprint(p))
	}
	return orNone(out)
}

// GatewayPortNotOnService: a Gateway server port the gateway's Services
// neither expose nor forward to.
var GatewayPortNotOnService = &analysis.Analyzer{
	Code:     "MD217",
	Name:     "gateway-port-not-on-service",
	Severity: analysis.Warning,
	Summary:  "A Gateway server listens on a port that no Service of its gateway pods exposes or targets, so clients outside the pod cannot reach that listener.",
	Doc:      doc("MD217"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindGateway), analysis.Kinds(snapshot.KindService)},
	Reads: reads(gatewayWorkloadReads, templateReads("spec.hostNetwork", "spec.containers.ports"), map[schema.GroupKind][]string{
		snapshot.KindPod: {"spec.hostNetwork", "spec.containers.ports"},
	}),
	Requires: []*analysis.Fact{RegistryFact},
	Run: func(p *analysis.Pass) error {
		r := p.ResultOf(RegistryFact).(*Registry)
		cache := map[string]gatewayServicePorts{}
		scoped, _ := gatewayScope(p.Snapshot)
		for _, g := range r.Gateways() {
			_, objs, _ := selectGatewayWorkloads(r, g, scoped)
			// One workload per namespace and label set stands for the rest.
			seen := map[string]bool{}
			for _, o := range objs {
				_, _, l, _ := snapshot.PodSpecOf(o)
				k := o.Key.Namespace + "\x00" + labelsText(l)
				if seen[k] {
					continue
				}
				seen[k] = true
				if !p.Snapshot.Covers(snapshot.KindService, o.Key.Namespace) {
					p.NotChecked("ports of %s: the input has no Services of namespace %s, where its gateway pods run", g.Object.Ref(), o.Key.Namespace)
					continue
				}
				gsp, ok := cache[k]
				if !ok {
					gsp = servicePortsOf(p.Snapshot, o)
					cache[k] = gsp
				}
				if gsp.unknown != "" {
					p.NotChecked("ports of %s: %s", g.Object.Ref(), gsp.unknown)
					continue
				}
				for si, s := range g.Spec.GetServers() {
					n := s.GetPort().GetNumber()
					if n == 0 {
						continue
					}
					if _, ok := gsp.ports[n]; ok {
						continue
					}
					var svcNames []string
					var rel []analysis.Related
					for _, so := range gsp.services {
						svcNames = append(svcNames, so.Ref())
						rel = append(rel, analysis.RelatedOf(so, "a Service of the gateway pods"))
					}
					p.Report(analysis.Finding{
						Subject:   g.Object.Key,
						Message:   fmt.Sprintf("%s server %d listens on port %d, but no Service selecting its gateway pods (%s) exposes or targets port %d (they expose %s): istiod opens the listener on port %d inside the pod, and no load balancer or client outside the pod can reach it.", g.Object.Ref(), si, n, o.Ref(), n, gsp.list(), n),
						Locations: []analysis.Location{analysis.LocationOf(g.Object, snapshot.P("spec", "servers", si, "port", "number"))},
						Evidence: []string{
							fmt.Sprintf("servers[%d].port: %d %s", si, n, s.GetPort().GetProtocol()),
							fmt.Sprintf("Services selecting %s: %s; ports and target ports: %s", o.Ref(), strings.Join(svcNames, ", "), gsp.list()),
						},
						Remedy:  portRemedy(gsp, n, svcNames),
						Related: rel,
						Key:     fmt.Sprintf("servers[%d]@%s", si, o.Key.Namespace),
					})
				}
			}
		}
		return nil
	},
}

func portRemedy(gsp gatewayServicePorts, n uint32, svcNames []string) string {
	if len(svcNames) == 0 {
		return fmt.Sprintf("Set the server port to a port the gateway pods expose (one of %s), or add a hostPort or a Service for port %d.", gsp.list(), n)
	}
	return fmt.Sprintf("Set the server port to a port of the gateway Service (e.g. one of %s; istiod maps a Service port to its targetPort), or add port %d to the Service %s.", gsp.list(), n, svcNames[0])
}
