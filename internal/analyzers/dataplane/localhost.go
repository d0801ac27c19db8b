package dataplane

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/facts"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/istio"
	"github.com/meshdoctor/meshdoctor/internal/netns"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/version"
)

// AppListensOnLocalhost reports a meshed pod whose application listens on
// a declared port on loopback only: the sidecar forwards inbound traffic
// to the pod IP, where nothing listens.
var AppListensOnLocalhost = &analysis.Analyzer{
	Code:     "MD511",
	Name:     "app-listens-on-localhost",
	Severity: analysis.Error,
	Summary:  "A pod with an Istio sidecar declares a container port its application listens on at 127.0.0.1 (or ::1) only: since Istio 1.10 the sidecar forwards inbound traffic to the pod IP, so every request fails with a connection refused (503 UF).",
	Doc:      doc("MD511"),
	Inputs:   []analysis.Input{analysis.NodeState(), analysis.Kinds(snapshot.KindPod)},
	Reads: map[schema.GroupKind][]string{
		snapshot.KindPod: {"spec.containers.name", "spec.containers.image", "spec.containers.ports", "spec.initContainers.name", "spec.initContainers.image"},
	},
	Requires: []*analysis.Fact{facts.ComponentVersions},
	Run:      runLocalhost,
}

// podIPForwarding is the release from which the sidecar sends inbound
// traffic to the pod IP instead of 127.0.0.1.
var podIPForwarding = version.MustParse("1.10.0")

func runLocalhost(p *analysis.Pass) error {
	v := p.ResultOf(facts.ComponentVersions).(*facts.Versions)
	if len(v.Istiod) > 0 {
		old := true
		for _, c := range v.Istiod {
			old = old && !c.Version.AtLeast(podIPForwarding)
		}
		if old {
			return nil // every istiod forwards to localhost
		}
	}
	byUID := map[string]*snapshot.Object{}
	for _, o := range p.Snapshot.List(snapshot.KindPod) {
		if m, err := meta.Accessor(o.Typed); err == nil && m.GetUID() != "" {
			byUID[string(m.GetUID())] = o
		}
	}
	for _, n := range p.Snapshot.Nodes() {
		podOf := podsByNetNS(n)
		for _, ns := range n.NetNS {
			if ns.Host || ns.Listeners == nil {
				continue
			}
			for _, uid := range podOf[ns.ID.Inode] {
				pod := byUID[uid]
				if pod == nil {
					continue
				}
				reportLocalhost(p, n, ns, pod)
			}
		}
	}
	return nil
}

func reportLocalhost(p *analysis.Pass, n *snapshot.Node, ns *snapshot.NetNS, o *snapshot.Object) {
	pod, ok := o.Typed.(*corev1.Pod)
	if !ok || !istio.HasProxy(&pod.Spec) {
		return
	}
	for ci, c := range pod.Spec.Containers {
		if c.Name == istio.ProxyContainer {
			continue
		}
		for pi, cp := range c.Ports {
			if cp.Protocol != "" && cp.Protocol != corev1.ProtocolTCP {
				continue
			}
			var on []snapshot.Listener
			reachable := false
			for _, l := range ns.Listeners {
				if l.Proto != "tcp" || l.Port != uint16(cp.ContainerPort) {
					continue
				}
				if !l.Loopback() {
					reachable = true
				}
				on = append(on, l)
			}
			if reachable || len(on) == 0 {
				continue
			}
			var evidence []string
			for _, l := range on {
				evidence = append(evidence, fmt.Sprintf("%s:%d: %s", l.File, l.Line, l.Text))
			}
			evidence = append(evidence, fmt.Sprintf("%s: container %s declares port %d; the pod runs an Istio sidecar", o.Ref(), c.Name, cp.ContainerPort))
			p.Report(analysis.Finding{
				Subject: o.Key,
				Message: fmt.Sprintf("%s: container %s listens on port %d at %s only, but the Istio sidecar forwards inbound traffic to the pod IP (since 1.10): every request to this port gets a connection refused, seen by clients as 503 with UF (\"upstream connect error or disconnect/reset before headers. reset reason: connection failure\").", o.Ref(), c.Name, cp.ContainerPort, addrs(on)),
				Locations: []analysis.Location{
					{Position: snapshot.Position{File: on[0].File, Line: on[0].Line}, Object: nsPlace(n, ns) + "/listen", Exact: true},
					analysis.LocationOf(o, snapshot.P("spec", "containers", ci, "ports", pi)),
				},
				Evidence: evidence,
				Remedy:   fmt.Sprintf("Make the application listen on 0.0.0.0 (or the pod IP) for port %d. If it cannot, a Sidecar resource selecting the pod can send that port's inbound traffic to localhost: ingress: [{port: {number: %d, protocol: HTTP, name: http}, defaultEndpoint: 127.0.0.1:%d}].", cp.ContainerPort, cp.ContainerPort, cp.ContainerPort),
				Key:      fmt.Sprintf("%s/%d", c.Name, cp.ContainerPort),
			})
		}
	}
}

func addrs(ls []snapshot.Listener) string {
	var s []string
	for _, l := range ls {
		s = append(s, l.Addr.String())
	}
	return strings.Join(s, " and ")
}

// podsByNetNS maps each netns of a node, by inode (a netns folder without
// meta.json knows no device), to the pods (UIDs) whose processes are in it.
func podsByNetNS(n *snapshot.Node) map[uint64][]string {
	out := map[uint64][]string{}
	seen := map[uint64]map[string]bool{}
	for _, p := range n.Procs {
		id, err := netns.ParseCgroup(p.CgroupLines)
		if err != nil || id.PodUID == "" || p.NetNS.IsZero() {
			continue
		}
		key := p.NetNS.Inode
		if seen[key] == nil {
			seen[key] = map[string]bool{}
		}
		if !seen[key][id.PodUID] {
			seen[key][id.PodUID] = true
			out[key] = append(out[key], id.PodUID)
		}
	}
	return out
}
