package cni

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/netpol"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// PolicyBlocksAmbient reports network policies that isolate ambient pods
// without admitting what ambient needs: HBONE on 15008 from the pods they
// admit, and kubelet probes, which ambient SNATs to 169.254.7.127.
var PolicyBlocksAmbient = &analysis.Analyzer{
	Code:     "MD413",
	Name:     "network-policy-blocks-ambient",
	Severity: analysis.Error,
	Summary:  "A network policy isolates ambient pods but does not admit what ambient needs: HBONE (port 15008) from the peers it admits on the application port, or kubelet probes, which reach the pod from 169.254.7.127 — so mesh traffic or probes are dropped.",
	Doc:      doc("MD413"),
	Inputs:   []analysis.Input{analysis.Kinds(netpol.PolicyKinds...), analysis.Kinds(snapshot.KindPod)},
	Reads: func() map[schema.GroupKind][]string {
		r := agentReads()
		r[snapshot.KindPod] = append(r[snapshot.KindPod], "spec.containers.ports", "spec.containers.readinessProbe", "spec.containers.livenessProbe", "spec.containers.startupProbe")
		return r
	}(),
	Requires: []*analysis.Fact{netpol.Fact},
	Run:      runAmbientPolicy,
}

// PolicySelectsNothing reports network policies whose selector matches no
// pod and no workload's pod template.
var PolicySelectsNothing = &analysis.Analyzer{
	Code:     "MD414",
	Name:     "network-policy-selects-no-pods",
	Severity: analysis.Warning,
	Summary:  "A NetworkPolicy or CiliumNetworkPolicy selects no pod and no workload of its namespace: it protects nothing, usually because of a label typo.",
	Doc:      doc("MD414"),
	Inputs:   []analysis.Input{analysis.Kinds(netpol.PolicyKinds...)},
	Reads:    map[schema.GroupKind][]string{},
	Requires: []*analysis.Fact{netpol.Fact},
	Run:      runSelectsNothing,
}

// hbonePort is ztunnel's HBONE port: ambient traffic between pods arrives
// on it, not on the application's port.
const hbonePort = 15008

func runAmbientPolicy(p *analysis.Pass) error {
	ev, _ := p.ResultOf(netpol.Fact).(*netpol.Evaluator)
	if ev == nil {
		return nil
	}
	// Ambient pods, one per namespace and labels (policy cannot tell them
	// apart), as sources and destinations.
	type group struct{ pods []*snapshot.Object }
	var groups []*group
	by := map[string]*group{}
	for _, o := range p.Snapshot.List(snapshot.KindPod) {
		if ok, _ := ambientPod(p.Snapshot, o); !ok || o.Typed.(*corev1.Pod).Status.Phase != corev1.PodRunning {
			continue
		}
		k := o.Key.Namespace + "\x00" + labelKey(o.Labels)
		g := by[k]
		if g == nil {
			g = &group{}
			by[k] = g
			groups = append(groups, g)
		}
		g.pods = append(g.pods, o)
	}
	for _, dg := range groups {
		d := dg.pods[0]
		if !ingressIsolated(ev, d) {
			continue // no policy isolates it: nothing to block
		}
		pod := d.Typed.(*corev1.Pod)
		port := appPort(pod)
		if port != 0 {
			var blocked []*snapshot.Object
			var denied netpol.Verdict
			for _, sg := range groups {
				s := sg.pods[0]
				if s == d {
					continue
				}
				if !ev.Ingress(ev.PodPeer(s), d, port, "TCP").Allowed {
					continue
				}
				if v := ev.Ingress(ev.PodPeer(s), d, hbonePort, "TCP"); !v.Allowed {
					if len(blocked) == 0 {
						denied = v
					}
					blocked = append(blocked, s)
				}
			}
			if len(blocked) > 0 {
				reportAmbientPolicy(p, d, dg.pods, denied, "hbone", fmt.Sprintf(
					"it admits %s on port %d, but ambient carries that traffic over HBONE to port %d, which it does not admit from them: their connections through ztunnel are dropped",
					refList(blocked, 3), port, hbonePort),
					fmt.Sprintf("Also admit port %d (TCP) from the same peers in the rule that admits port %d.", hbonePort, port))
			}
		}
		for _, pr := range probePorts(pod) {
			v := ev.Ingress(ev.WorldPeer(netpol.AmbientProbeSource), d, pr.port, "TCP")
			if v.Allowed || !v.Isolated {
				continue
			}
			reportAmbientPolicy(p, d, dg.pods, v, "probe", fmt.Sprintf(
				"the %s probe of container %s reaches port %d from %s (ambient SNATs kubelet probes to that address), which it does not admit: the probe fails and the pod is restarted or never ready",
				pr.kind, pr.container, pr.port, netpol.AmbientProbeSource),
				fmt.Sprintf("Admit ingress from %s/32 on port %d (an ipBlock in a NetworkPolicy; fromCIDR in a CiliumNetworkPolicy, or one CiliumClusterwideNetworkPolicy for every ambient pod).", netpol.AmbientProbeSource, pr.port))
			break
		}
	}
	return nil
}

// reportAmbientPolicy reports one kind of ambient traffic (key: hbone or
// probe) the policies deciding v drop for the pods of d's group.
func reportAmbientPolicy(p *analysis.Pass, d *snapshot.Object, pods []*snapshot.Object, v netpol.Verdict, key, what, remedy string) {
	f := analysis.Finding{
		Key:      d.Key.Namespace + "/" + labelKey(d.Labels) + "/" + key,
		Evidence: []string{fmt.Sprintf("ambient pods of this kind: %s", refList(pods, 3)), "verdict: " + v.Reason},
		Related:  []analysis.Related{analysis.RelatedOf(d, "ambient pod the policy isolates")},
		Remedy:   remedy,
	}
	var names []string
	for _, r := range v.Deciding {
		if f.Locations == nil {
			f.Subject = r.Policy.Key
		}
		f.Locations = append(f.Locations, analysis.LocationOf(r.Policy, r.Path))
		names = append(names, r.Policy.Ref())
	}
	if len(f.Locations) == 0 {
		return
	}
	f.Message = fmt.Sprintf("%s isolate(s) ambient pod %s: %s.", strings.Join(names, ", "), d.Ref(), what)
	p.Report(f)
}

// ingressIsolated tells whether some policy puts the pod in ingress
// default-deny.
func ingressIsolated(ev *netpol.Evaluator, o *snapshot.Object) bool {
	for _, sel := range ev.PoliciesSelecting(o) {
		if sel.Isolates[netpol.Ingress] {
			return true
		}
	}
	return false
}

// probe is a kubelet probe's target.
type probe struct {
	kind, container string
	port            uint16
}

// probePorts lists the TCP ports a pod's HTTP and TCP probes target.
func probePorts(pod *corev1.Pod) []probe {
	var out []probe
	for _, c := range pod.Spec.Containers {
		for _, pr := range []struct {
			kind string
			p    *corev1.Probe
		}{{"readiness", c.ReadinessProbe}, {"liveness", c.LivenessProbe}, {"startup", c.StartupProbe}} {
			if pr.p == nil {
				continue
			}
			var port intstr.IntOrString
			switch {
			case pr.p.HTTPGet != nil:
				port = pr.p.HTTPGet.Port
			case pr.p.TCPSocket != nil:
				port = pr.p.TCPSocket.Port
			default:
				continue
			}
			n := port.IntVal
			if port.Type == intstr.String {
				n = 0
				for _, cp := range c.Ports {
					if cp.Name == port.StrVal {
						n = cp.ContainerPort
					}
				}
			}
			if n > 0 && n < 65536 {
				out = append(out, probe{pr.kind, c.Name, uint16(n)})
			}
		}
	}
	return out
}

func runSelectsNothing(p *analysis.Pass) error {
	ev, _ := p.ResultOf(netpol.Fact).(*netpol.Evaluator)
	if ev == nil {
		return nil
	}
	for _, pol := range ev.Policies() {
		ns := pol.Key.Namespace
		if ns == "" {
			continue // clusterwide: judged only with every namespace's pods, which files rarely hold
		}
		if !p.Snapshot.Covers(snapshot.KindPod, ns) && !p.Snapshot.CoversWorkloads(ns) {
			p.NotChecked("%s: the input has no Pods or workloads of namespace %s", pol.Ref(), ns)
			continue
		}
		if len(ev.SelectedPods(pol)) > 0 || len(ev.SelectedWorkloads(pol)) > 0 {
			continue
		}
		at := snapshot.P("spec", "podSelector")
		if pol.Key.GroupKind() != netpol.KindNetworkPolicy {
			at = snapshot.P("spec", "endpointSelector")
		}
		p.Report(analysis.Finding{
			Subject:   pol.Key,
			Locations: []analysis.Location{analysis.LocationOf(pol, at)},
			Evidence:  []string{fmt.Sprintf("pods and workloads of namespace %s: none matches %s", ns, at)},
			Message:   fmt.Sprintf("%s selects no pod and no workload of namespace %s: it protects nothing (a label typo, or the workload was renamed).", pol.Ref(), ns),
			Remedy:    fmt.Sprintf("Compare the selector with the pods' labels (`kubectl get pods -n %s --show-labels`) and fix it, or delete the policy if its workload is gone.", ns),
		})
	}
	return nil
}
