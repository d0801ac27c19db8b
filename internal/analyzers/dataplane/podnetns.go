package dataplane

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/facts"
	"github.com/meshdoctor/meshdoctor/internal/kb"
	"github.com/meshdoctor/meshdoctor/internal/netns"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// OldNetNSSelectionPicksHost reports pods whose processes span several
// network namespaces on a node where an istio-cni older than the fix runs
// ambient: its selection would program the wrong netns (incident (a)).
var OldNetNSSelectionPicksHost = &analysis.Analyzer{
	Code:     "MD509",
	Name:     "pod-netns-selection-unsafe",
	Severity: analysis.Error,
	Summary:  "A pod's processes span several network namespaces on a node where an istio-cni older than 1.24.4 runs ambient: its node agent picks the netns of the pod's last-listed process — the host's when CRI-O's conmon is that process — and writes the pod's capture rules there.",
	Doc:      doc("MD509"),
	Inputs:   []analysis.Input{analysis.NodeState()},
	Reads:    map[schema.GroupKind][]string{}, // ComponentVersions declares its own
	Requires: []*analysis.Fact{facts.ComponentVersions},
	Run:      runPodNetNS,
}

func runPodNetNS(p *analysis.Pass) error {
	versions := p.ResultOf(facts.ComponentVersions).(*facts.Versions)
	for _, n := range p.Snapshot.Nodes() {
		if n.Procs == nil || n.Meta.HostNetNS.IsZero() {
			continue
		}
		pods, table := podTable(n)
		if len(pods) == 0 {
			continue
		}
		olds, err := netns.SelectOld(table, pods)
		if err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
		fixed, err := netns.Select(table, pods)
		if err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
		var risky []int
		for i, o := range olds {
			if o.Found && (o.IsHost || o.NetNS != fixed[i].NetNS) {
				risky = append(risky, i)
			}
		}
		if len(risky) == 0 {
			continue
		}
		exposed, why := cniExposed(n, versions)
		if why != "" {
			p.NotChecked("node %s: %d pod(s) whose processes span several netns; %s", n.Name, len(risky), why)
			continue
		}
		if !exposed {
			continue
		}
		for _, i := range risky {
			o, f := olds[i], fixed[i]
			var ev []string
			for _, c := range o.Claims {
				ev = append(ev, fmt.Sprintf("pid %d (%s) in %s", c.PID, c.Comm, c.NetNS))
			}
			evidence := []string{
				"processes of the pod, in the old agent's /proc order: " + strings.Join(ev, ", "),
				"old selection (istio-cni before 1.24.4): " + o.Reason,
				"fixed selection (1.24.4, 1.25.0 and later): " + f.Reason,
			}
			for _, a := range f.Ambiguities {
				evidence = append(evidence, fmt.Sprintf("%s: %s", a.Kind, a.Detail))
			}
			where := o.NetNS.String()
			if o.IsHost {
				where = "the host netns " + where
			}
			p.Report(analysis.Finding{
				Subject: subject(n),
				Message: fmt.Sprintf("Node %s: pod %s has processes in several network namespaces, and the node runs ambient with an istio-cni older than 1.24.4: its node agent picks %s (pid %d, %s) instead of %s, and writes the pod's in-pod capture rules there%s.",
					n.Name, o.PodUID, where, o.PID, commOf(n, o.PID), f.NetNS, hostConsequence(o.IsHost)),
				Locations: []analysis.Location{{Position: snapshot.Position{File: procsFile(n)}, Object: fmt.Sprintf("%s/pod/%s", n.Name, o.PodUID)}},
				Evidence:  evidence,
				Remedy:    "Upgrade istio-cni to 1.24.4, 1.25.0 or later before (re)starting ambient pods on this node; until then keep ambient pods off CRI-O nodes (or disable ambient for their namespaces). If the rules already landed in the host netns, MD501 gives the cleanup commands.",
				Key:       o.PodUID,
			})
		}
	}
	return nil
}

func hostConsequence(host bool) string {
	if host {
		return ": the node's own traffic is then redirected to ztunnel and the node loses its networking"
	}
	return ": another netns gets the pod's rules and the pod's traffic is not captured"
}

func commOf(n *snapshot.Node, pid int) string {
	for _, p := range n.Procs {
		if p.PID == pid {
			return p.Comm
		}
	}
	return "?"
}

// podTable builds the selection input of a node: its processes, its host
// netns and the addresses seen in each netns; the pods are those whose
// processes (by the pod UID of their cgroups) sit in more than one netns —
// a pod wholly in one netns, hostNetwork pods included, is unambiguous.
func podTable(n *snapshot.Node) ([]netns.Pod, netns.Table) {
	t := netns.Table{HostNetNS: n.Meta.HostNetNS, NetNSAddrs: map[netns.NetNS][]netip.Addr{}}
	spans := map[string]map[netns.NetNS]bool{}
	for _, p := range n.Procs {
		t.Processes = append(t.Processes, p.Process)
		if id, err := netns.ParseCgroup(p.CgroupLines); err == nil && id.PodUID != "" && !p.NetNS.IsZero() {
			if spans[id.PodUID] == nil {
				spans[id.PodUID] = map[netns.NetNS]bool{}
			}
			spans[id.PodUID][p.NetNS] = true
		}
	}
	uids := map[string]bool{}
	for uid, nss := range spans {
		if len(nss) > 1 {
			uids[uid] = true
		}
	}
	for _, ns := range n.NetNS {
		if len(ns.Addrs) > 0 {
			t.NetNSAddrs[ns.ID] = ns.Addrs
		}
	}
	var pods []netns.Pod
	for uid := range uids {
		pods = append(pods, netns.Pod{UID: uid})
	}
	sort.Slice(pods, func(i, j int) bool { return pods[i].UID < pods[j].UID })
	return pods, t
}

// cniExposed tells whether the node runs ambient with an istio-cni older
// than the fix; why is set when the input cannot tell.
func cniExposed(n *snapshot.Node, v *facts.Versions) (exposed bool, why string) {
	ambient := len(v.Ztunnel) > 0
	for _, p := range n.Procs {
		if p.Comm == "ztunnel" {
			ambient = true
		}
	}
	if !ambient {
		return false, ""
	}
	if len(v.CNI) == 0 {
		return false, "the node runs ztunnel (ambient), but the input has no istio-cni DaemonSet to tell its version (give the cluster's objects too, e.g. a bundle's cluster/)"
	}
	for _, c := range v.CNI {
		if !c.Version.AtLeast(kb.IstioCNINetNSFix) {
			return true, ""
		}
	}
	return false, ""
}
