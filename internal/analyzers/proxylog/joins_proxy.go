package proxylog

import (
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/meshdoctor/meshdoctor/internal/accesslog"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/istio"
	"github.com/meshdoctor/meshdoctor/internal/netpol"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// The joins of MD611 and MD612 need the proxy that wrote a line even when
// the log came without a bundle path or a kubectl prefix: its addresses
// name it, once pods are indexed by IP.

// podsByIP indexes the input's pods by pod IP. Host-network pods share
// their node's address, so an address names none of them.
func podsByIP(s *snapshot.Snapshot) map[netip.Addr]*snapshot.Object {
	out := map[netip.Addr]*snapshot.Object{}
	for _, o := range s.List(snapshot.KindPod) {
		if pod, ok := o.Typed.(*corev1.Pod); ok && !pod.Spec.HostNetwork {
			if ip := netpol.PodIP(o); ip.IsValid() {
				out[ip] = o
			}
		}
	}
	return out
}

// hasProxy tells whether a pod runs an Istio proxy container (a classic
// sidecar, a native sidecar among the init containers, or a gateway's).
func hasProxy(pod *snapshot.Object) bool {
	p, ok := pod.Typed.(*corev1.Pod)
	if !ok {
		return false
	}
	for c := range snapshot.Containers(&p.Spec, snapshot.P("spec")) {
		if c.C.Name == istio.ProxyContainer {
			return true
		}
	}
	return false
}

// howWriter: the log's own path or prefix named the pod.
const howWriter = "the log's writer"

// logProxy is the pod whose proxy wrote a line, and which way the request
// went through it.
type logProxy struct {
	pod *snapshot.Object
	// inbound: the request was addressed to the pod itself (a sidecar's
	// inbound listener, or a gateway); otherwise the pod's own
	// application sent it out through its sidecar.
	inbound       bool
	local, remote netip.AddrPort
	// how says how the writer was found, for evidence.
	how string
}

// findProxy finds the proxy that wrote a group's first sample: from the
// bundle's log path or a kubectl --prefix wrapper, else from the line's
// addresses. A sidecar logs its inbound requests with the pod's own IP as
// %DOWNSTREAM_LOCAL_ADDRESS% and its outbound ones with the pod's IP as
// %DOWNSTREAM_REMOTE_ADDRESS% (the destination being a Service VIP), so
// when exactly one side is a meshed pod of the input, that pod wrote it.
// When both are, the line is ambiguous (an outbound call to a pod IP, or
// an inbound one from a meshed client) and false is returned — unless
// inbound says the line's upstream cluster is an inbound one.
func findProxy(s *snapshot.Snapshot, al *snapshot.AccessLogs, g *accesslog.Group, rec *accesslog.Record, byIP map[netip.Addr]*snapshot.Object, inbound bool) (logProxy, bool) {
	var px logProxy
	if v, ok := rec.Value(accesslog.FieldDownstreamLocalAddress); ok {
		px.local, _ = netip.ParseAddrPort(string(v))
	}
	if v, ok := rec.Value(accesslog.FieldDownstreamRemoteAddress); ok {
		px.remote, _ = netip.ParseAddrPort(string(v))
	}
	if w := writerPod(s, al, g, rec); w != nil {
		px.pod, px.how = w, howWriter
		px.inbound = px.local.IsValid() && px.local.Addr() == netpol.PodIP(w)
		return px, true
	}
	meshed := func(ap netip.AddrPort) *snapshot.Object {
		if !ap.IsValid() {
			return nil
		}
		if o := byIP[ap.Addr()]; o != nil && hasProxy(o) {
			return o
		}
		return nil
	}
	lp, rp := meshed(px.local), meshed(px.remote)
	switch {
	case lp != nil && (rp == nil || inbound):
		px.pod, px.inbound, px.how = lp, true, "the pod with the request's destination address "+px.local.Addr().String()
	case rp != nil && lp == nil:
		px.pod, px.how = rp, "the pod with the request's source address "+px.remote.Addr().String()
	default:
		return px, false
	}
	return px, true
}

// svcPort is one port of a Kubernetes Service.
type svcPort struct {
	obj *snapshot.Object
	svc *corev1.Service
	i   int
}

func (sp svcPort) port() corev1.ServicePort { return sp.svc.Spec.Ports[sp.i] }

// targetPortOn is the pod port a Service port sends to: a named targetPort
// resolved against the pod's containers (0 when none declares it), a
// number, or the port itself when unset.
func targetPortOn(sp corev1.ServicePort, pod *corev1.Pod) int32 {
	if sp.TargetPort.Type == intstr.String && sp.TargetPort.StrVal != "" {
		for _, c := range pod.Spec.Containers {
			for _, cp := range c.Ports {
				if cp.Name == sp.TargetPort.StrVal {
					return cp.ContainerPort
				}
			}
		}
		return 0
	}
	if sp.TargetPort.IntVal != 0 {
		return sp.TargetPort.IntVal
	}
	return sp.Port
}

// inboundPorts lists the ports of the Services that select pod and send to
// its port target: what Istio builds the pod's inbound listener from.
func inboundPorts(s *snapshot.Snapshot, pod *snapshot.Object, target int) []svcPort {
	p, ok := pod.Typed.(*corev1.Pod)
	if !ok {
		return nil
	}
	var out []svcPort
	for _, o := range s.InNamespace(snapshot.KindService, pod.Key.Namespace) {
		svc, ok := o.Typed.(*corev1.Service)
		if !ok || len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(pod.Labels)) {
			continue
		}
		for i, sp := range svc.Spec.Ports {
			if int(targetPortOn(sp, p)) == target {
				out = append(out, svcPort{o, svc, i})
			}
		}
	}
	return out
}

// vipPort finds the Service port whose cluster IP and port a request was
// addressed to (an outbound request through a sidecar).
func vipPort(s *snapshot.Snapshot, ap netip.AddrPort) (svcPort, bool) {
	if !ap.IsValid() {
		return svcPort{}, false
	}
	for _, o := range s.List(snapshot.KindService) {
		svc, ok := o.Typed.(*corev1.Service)
		if !ok || !hasIP(svc, ap.Addr()) {
			continue
		}
		for i, sp := range svc.Spec.Ports {
			if int(sp.Port) == int(ap.Port()) {
				return svcPort{o, svc, i}, true
			}
		}
	}
	return svcPort{}, false
}

func hasIP(svc *corev1.Service, ip netip.Addr) bool {
	for _, s := range append([]string{svc.Spec.ClusterIP}, svc.Spec.ClusterIPs...) {
		if a, err := netip.ParseAddr(s); err == nil && a == ip {
			return true
		}
	}
	return false
}
