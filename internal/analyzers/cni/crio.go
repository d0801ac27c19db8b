package cni

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/facts"
	"github.com/meshdoctor/meshdoctor/internal/kb"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// CRIONetNSBugExposure reports CRI-O nodes that run ambient pods with an
// istio-cni release that can pick the host netns for a pod (incident a).
var CRIONetNSBugExposure = &analysis.Analyzer{
	Code:     "MD404",
	Name:     "crio-ambient-host-netns-risk",
	Severity: analysis.Warning,
	Summary:  "A CRI-O node runs ambient pods with an istio-cni older than 1.24.4: its node agent can take CRI-O's conmon (in the host netns) for a pod's process and write the pod's capture rules into the node's own namespace, cutting the node off the network.",
	Doc:      doc("MD404"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindNode), analysis.Kinds(snapshot.KindDaemonSet)},
	Reads: func() map[schema.GroupKind][]string {
		r := agentReads()
		r[snapshot.KindNode] = []string{"status.nodeInfo.containerRuntimeVersion"}
		return r
	}(),
	Requires: []*analysis.Fact{facts.ComponentVersions},
	Run:      runCRIO,
}

func runCRIO(p *analysis.Pass) error {
	_, ambient, why := ambientByNode(p.Snapshot)
	var exposed []*snapshot.Object // CRI-O nodes with ambient pods
	for _, o := range p.Snapshot.List(snapshot.KindNode) {
		node, ok := o.Typed.(*corev1.Node)
		if ok && strings.HasPrefix(node.Status.NodeInfo.ContainerRuntimeVersion, "cri-o://") && len(ambient[o.Key.Name]) > 0 {
			exposed = append(exposed, o)
		}
	}
	if len(exposed) == 0 {
		return nil
	}
	v := p.ResultOf(facts.ComponentVersions).(*facts.Versions)
	if len(v.CNI) == 0 {
		p.NotChecked("no istio-cni DaemonSet with a known version in the input: CRI-O nodes running ambient pods were not checked for the host-netns bug")
		return nil
	}
	var old []facts.Component
	for _, c := range v.CNI {
		if !c.Version.AtLeast(kb.IstioCNINetNSFix) {
			old = append(old, c)
		}
	}
	if len(old) == 0 {
		return nil
	}
	c := old[0]
	for _, o := range exposed {
		node := o.Typed.(*corev1.Node)
		pods := ambient[o.Key.Name]
		p.Report(analysis.Finding{
			Subject:   o.Key,
			Locations: []analysis.Location{analysis.LocationOf(o, snapshot.P("status", "nodeInfo", "containerRuntimeVersion"))},
			Related:   []analysis.Related{analysis.RelatedOf(c.Object, "istio-cni "+c.Version.Raw), analysis.RelatedOf(pods[0], "ambient pod on the node")},
			Evidence: []string{
				fmt.Sprintf("node %s: containerRuntimeVersion %s", o.Key.Name, node.Status.NodeInfo.ContainerRuntimeVersion),
				fmt.Sprintf("istio-cni %s: version %s (from %s), older than %s", c.Object.Ref(), c.Version.Raw, c.From, kb.IstioCNINetNSFix.Raw),
				fmt.Sprintf("%d ambient pod(s) on the node: %s (%s)", len(pods), refList(pods, 3), why[pods[0]]),
			},
			Message: fmt.Sprintf("Node %s runs CRI-O and %d ambient pod(s), with istio-cni %s: before 1.24.4 the node agent can choose the netns of CRI-O's conmon — which lives in the host netns — as a pod's, write the pod's in-pod rules (ISTIO_PRERT/ISTIO_OUTPUT, marks 0x539/0x111) into the node's own namespace and take the whole node off the network (istio/istio#55139).", o.Key.Name, len(pods), c.Version.Raw),
			Remedy:  "Upgrade istio-cni (and istiod first) to 1.24.4, 1.25.0 or later, which never picks the host netns (istio/istio#55170). Until then, check the node with `meshdoctor node` (MD501/MD509) after pod restarts, or keep ambient workloads off CRI-O nodes (remove the istio.io/dataplane-mode=ambient label from their namespaces).",
		})
	}
	return nil
}
