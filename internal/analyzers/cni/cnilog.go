package cni

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// CNIAgentSawSeveralNetNS reports the istio-cni agent's warning that a pod
// has processes in more than one network namespace.
var CNIAgentSawSeveralNetNS = &analysis.Analyzer{
	Code:     "MD405",
	Name:     "istio-cni-pod-netns-ambiguous",
	Severity: analysis.Warning,
	Summary:  "The istio-cni node agent logged that a pod has processes in more than one network namespace and that it picked the oldest process's: if that is not the pod's own netns, the pod's capture rules were written elsewhere (incident a's mechanism).",
	Doc:      doc("MD405"),
	Inputs:   []analysis.Input{analysis.ContainerLogs()},
	Reads:    map[schema.GroupKind][]string{snapshot.KindPod: {"spec.nodeName"}},
	Run:      runCNILog,
}

// netnsAmbiguity is the agent's warning (cni/pkg/nodeagent, since the fix
// of istio/istio#55139), followed by the pod UID.
var netnsAmbiguity = []byte("found more than one netns for the same pod: ")

// isCNIAgentLog tells the istio-cni agent's log by its container (the
// agent runs in install-cni) or the chart's pod name.
func isCNIAgentLog(l *snapshot.ContainerLog) bool {
	return l.Container == "install-cni" || strings.HasPrefix(l.Pod, "istio-cni-node")
}

func runCNILog(p *analysis.Pass) error {
	byUID := map[string]*snapshot.Object{}
	for _, o := range p.Snapshot.List(snapshot.KindPod) {
		if m, err := meta.Accessor(o.Typed); err == nil && m.GetUID() != "" {
			byUID[string(m.GetUID())] = o
		}
	}
	for _, l := range p.Snapshot.Logs() {
		if !isCNIAgentLog(l) {
			continue
		}
		type seen struct {
			first int
			text  string
			count int
		}
		pods := map[string]*seen{}
		for n, text := range l.Lines {
			i := bytes.Index(text, netnsAmbiguity)
			if i < 0 {
				continue
			}
			uid := text[i+len(netnsAmbiguity):]
			if j := bytes.IndexAny(uid, ", \t"); j >= 0 {
				uid = uid[:j]
			}
			if s := pods[string(uid)]; s != nil {
				s.count++
				continue
			}
			pods[string(uid)] = &seen{first: n, text: string(text), count: 1}
		}
		uids := make([]string, 0, len(pods))
		for uid := range pods {
			uids = append(uids, uid)
		}
		sort.Slice(uids, func(i, j int) bool { return pods[uids[i]].first < pods[uids[j]].first })
		node := agentNode(p.Snapshot, l)
		for _, uid := range uids {
			s := pods[uid]
			pod := byUID[uid]
			f := analysis.Finding{
				Subject:   snapshot.Key{Kind: "Pod", Name: uid},
				Key:       uid,
				Locations: []analysis.Location{{Position: snapshot.Position{File: l.File, Line: s.first}, Object: "log " + l.Namespace + "/" + l.Pod + "/" + l.Container, Exact: true}},
				Evidence:  []string{fmt.Sprintf("%s:%d: %s", l.File, s.first, s.text)},
			}
			if s.count > 1 {
				f.Evidence = append(f.Evidence, fmt.Sprintf("logged %d times in this log", s.count))
			}
			what := "pod with UID " + uid + " (not in the input)"
			if pod != nil {
				f.Subject = pod.Key
				f.Related = []analysis.Related{analysis.RelatedOf(pod, "the pod the agent names")}
				what = "pod " + pod.Key.Namespace + "/" + pod.Key.Name
			}
			on := "its node"
			if node != "" {
				on = "node " + node
				f.Evidence = append(f.Evidence, fmt.Sprintf("the agent pod %s/%s runs on node %s", l.Namespace, l.Pod, node))
			}
			f.Message = fmt.Sprintf("The istio-cni agent on %s found processes of %s in more than one network namespace and used the oldest process's. A second netns means a process of another pod or a debug/dev tool (a mirrord agent, nsenter, a container sharing the cgroup) sits in the pod's cgroup; if the oldest is not the pod's own, the pod's capture rules went into the wrong namespace and its traffic bypasses ztunnel.", on, what)
			f.Remedy = fmt.Sprintf("Run `meshdoctor node` on %s (or collect it with `meshdoctor node --dump`): MD509 shows the pod's processes and namespaces and which one the agent chose, MD501 whether rules landed in the host netns. Remove the foreign process, then restart the pod so the agent captures it again.", strings.TrimPrefix(on, "node "))
			p.Report(f)
		}
	}
	return nil
}

// agentNode is the node the agent pod that wrote l runs on, when the pod is
// in the input.
func agentNode(s *snapshot.Snapshot, l *snapshot.ContainerLog) string {
	if o := s.Get(snapshot.KindPod, l.Namespace, l.Pod); o != nil {
		if pod, ok := o.Typed.(*corev1.Pod); ok {
			return pod.Spec.NodeName
		}
	}
	return ""
}
