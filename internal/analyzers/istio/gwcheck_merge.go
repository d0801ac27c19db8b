package istio

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// disablePortTranslationLabel on a gateway Service stops istiod from mapping
// Gateway server ports that equal its ports to its target ports.
const disablePortTranslationLabel = "experimental.istio.io/disable-gateway-port-translation"

// listenerKey is one listener of a gateway proxy: the port Envoy listens on
// and the bind address.
type listenerKey struct {
	port uint32
	bind string
}

func (lk listenerKey) text(serverPort uint32) string {
	out := fmt.Sprintf("port %d", serverPort)
	if lk.port != serverPort {
		out += fmt.Sprintf(" (listener port %d)", lk.port)
	}
	if lk.bind != "" {
		out += " (bind " + lk.bind + ")"
	}
	return out
}

// placedServer is one server of a Gateway placed on one listener.
type placedServer struct {
	serverRef
	lk    listenerKey
	hosts []string // sanitized as istiod compares them
}

// mergedProxy is what istiod builds from the Gateways of one proxy: every
// server on the listener ports it resolves to, and the servers it skips.
type mergedProxy struct {
	gp      *gatewayProxy
	placed  []placedServer        // merge order: oldest Gateway first, servers in order
	dropped map[int]droppedServer // by index in placed
	// portMap maps a server port that is a Service port of the proxy to the
	// target port Envoy listens on; nil when the proxy's Services are unknown.
	portMap map[uint32]uint32
}

// listenerPort is the port a server port is served on: istiod maps a port
// of the gateway's Services to its target port (resolvePorts); other ports
// are used as they are.
func (m *mergedProxy) listenerPort(n uint32) uint32 {
	if t, ok := m.portMap[n]; ok {
		return t
	}
	return n
}

// mergeProxy replays istiod's mergeGateways for one proxy: servers with TLS
// settings (HTTPS, TLS, and HTTP servers carrying tls.httpsRedirect) claim
// their hosts on their listener port and bind; a later server naming a host
// already claimed there is skipped whole.
func mergeProxy(s *snapshot.Snapshot, gp *gatewayProxy) *mergedProxy {
	m := &mergedProxy{gp: gp, dropped: map[int]droppedServer{}}
	if gp.Sample != nil {
		m.portMap = listenerPortMap(s, gp.Sample)
	}
	type claim struct {
		bind string
		by   serverRef
	}
	// istiod keeps one bind per host and port (the last one recorded).
	known := map[uint32]map[string]claim{}
	for _, g := range gp.Gateways {
		for si, srv := range g.Spec.GetServers() {
			if srv.GetPort() == nil {
				continue
			}
			me := serverRef{g, si}
			lk := listenerKey{m.listenerPort(srv.GetPort().GetNumber()), srv.GetBind()}
			hosts := sanitizedHosts(srv.GetHosts(), g.Object.Key.Namespace)
			i := len(m.placed)
			m.placed = append(m.placed, placedServer{me, lk, hosts})
			if srv.GetTls() == nil {
				continue
			}
			kh := known[lk.port]
			if kh == nil {
				kh = map[string]claim{}
				known[lk.port] = kh
			}
			var d droppedServer
			for hi, h := range hosts {
				if c, ok := kh[h]; ok && c.bind == lk.bind {
					if len(d.hosts) == 0 {
						d.by, d.first = c.by, hi
					}
					d.hosts = append(d.hosts, h)
				}
			}
			if len(d.hosts) > 0 {
				m.dropped[i] = d
				continue
			}
			for _, h := range hosts {
				kh[h] = claim{lk.bind, me}
			}
		}
	}
	return m
}

// namedContainerPorts maps the names of a pod spec's container ports to
// their numbers (what a Service's named targetPort resolves to).
func namedContainerPorts(spec *corev1.PodSpec) map[string]int32 {
	named := map[string]int32{}
	if spec == nil {
		return named
	}
	for _, c := range spec.Containers {
		for _, cp := range c.Ports {
			if cp.Name != "" {
				named[cp.Name] = cp.ContainerPort
			}
		}
	}
	return named
}

// listenerPortMap reads, from the Services in the namespace of gateway
// workload o that select it, which target port each Service port forwards
// to. Like istiod with a label-selector Gateway, the first Service port that
// matches wins; Services labelled to disable the translation are skipped.
func listenerPortMap(s *snapshot.Snapshot, o *snapshot.Object) map[uint32]uint32 {
	spec, _, podLabels, _ := snapshot.PodSpecOf(o)
	named := namedContainerPorts(spec)
	// A copy: the snapshot's own slice is shared by every check running.
	svcs := append([]*snapshot.Object(nil), s.InNamespace(snapshot.KindService, o.Key.Namespace)...)
	sort.Slice(svcs, func(i, j int) bool { return svcs[i].Key.Name < svcs[j].Key.Name })
	out := map[uint32]uint32{}
	for _, so := range svcs {
		svc, ok := so.Typed.(*corev1.Service)
		if !ok || len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(podLabels)) {
			continue
		}
		if _, off := so.Labels[disablePortTranslationLabel]; off {
			continue
		}
		for _, sp := range svc.Spec.Ports {
			if sp.Protocol != "" && sp.Protocol != corev1.ProtocolTCP {
				continue
			}
			var target int32
			switch {
			case sp.TargetPort.Type == intstr.String && sp.TargetPort.StrVal != "":
				target = named[sp.TargetPort.StrVal]
			case sp.TargetPort.IntVal != 0:
				target = sp.TargetPort.IntVal
			default:
				target = sp.Port
			}
			if target == 0 {
				continue
			}
			if _, seen := out[uint32(sp.Port)]; !seen {
				out[uint32(sp.Port)] = uint32(target)
			}
		}
	}
	return out
}

// listenerReads are the fields listenerPortMap reads.
var listenerReads = mergeReads(templateReads("spec.containers.ports"), map[schema.GroupKind][]string{
	snapshot.KindPod:     {"spec.containers.ports"},
	snapshot.KindService: {"metadata.labels", "spec.selector", "spec.ports"},
})

// hostCover finds, among the hosts kept on one listener, the one a request
// for host h lands on: the same host, else the most specific wildcard that
// covers it. Hosts carry istiod's "ns/" prefix, which SNI and Host matching
// ignore.
type hostCover map[string]serverRef

func (hc hostCover) add(h string, ref serverRef) {
	h = bareHost(h)
	if _, ok := hc[h]; !ok {
		hc[h] = ref
	}
}

func (hc hostCover) lookup(h string) (serverRef, string, bool) {
	h = bareHost(h)
	if ref, ok := hc[h]; ok {
		return ref, h, true
	}
	rest := strings.TrimPrefix(h, "*.")
	for {
		i := strings.IndexByte(rest, '.')
		if i < 0 {
			break
		}
		rest = rest[i+1:]
		if ref, ok := hc["*."+rest]; ok {
			return ref, "*." + rest, true
		}
	}
	if ref, ok := hc["*"]; ok && h != "*" {
		return ref, "*", true
	}
	return serverRef{}, "", false
}

// bareHost drops a "namespace/" prefix.
func bareHost(h string) string {
	if _, after, ok := strings.Cut(h, "/"); ok {
		return after
	}
	return h
}
