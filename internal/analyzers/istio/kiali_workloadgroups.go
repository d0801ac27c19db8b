package istio

import (
	"fmt"
	"sort"
	"strings"

	netv1alpha3 "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

func workloadGroupSpec(o *snapshot.Object) *netv1alpha3.WorkloadGroup {
	if wg, ok := o.Typed.(*networkingv1.WorkloadGroup); ok {
		return &wg.Spec
	}
	return nil
}

// WorkloadGroupSANotFound is Kiali's KIA1701: a WorkloadGroup's
// template.serviceAccount names a ServiceAccount its namespace does not
// have. The VMs of the group bootstrap their identity with a token of that
// ServiceAccount (WorkloadGroup reference), which cannot be issued.
var WorkloadGroupSANotFound = &analysis.Analyzer{
	Code:     "MD322",
	Name:     "workloadgroup-serviceaccount-not-found",
	Severity: analysis.Warning,
	Summary:  "A WorkloadGroup's template.serviceAccount does not exist in its namespace: its VMs cannot get a token for that identity, so they cannot bootstrap mTLS certificates or auto-register.",
	Doc:      doc("MD322"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindWorkloadGroup), analysis.Kinds(snapshot.KindServiceAccount)},
	Reads: map[schema.GroupKind][]string{
		snapshot.KindWorkloadGroup:  {"spec.template.serviceAccount"},
		snapshot.KindServiceAccount: {},
	},
	Run: func(p *analysis.Pass) error {
		for _, o := range p.Snapshot.List(snapshot.KindWorkloadGroup) {
			wg := workloadGroupSpec(o)
			sa := wg.GetTemplate().GetServiceAccount()
			if wg == nil || sa == "" {
				continue // empty means the namespace's default ServiceAccount
			}
			ns := o.Key.Namespace
			if p.Snapshot.Get(snapshot.KindServiceAccount, ns, sa) != nil {
				continue
			}
			if !p.Snapshot.Covers(snapshot.KindServiceAccount, ns) {
				p.NotChecked("serviceAccount of %s: the input has no ServiceAccounts of namespace %s", o.Ref(), ns)
				continue
			}
			var have []string
			for _, s := range p.Snapshot.InNamespace(snapshot.KindServiceAccount, ns) {
				have = append(have, s.Key.Name)
			}
			sort.Strings(have)
			if len(have) > 8 {
				have = append(have[:8], "…")
			}
			p.Report(analysis.Finding{
				Subject:   o.Key,
				Message:   fmt.Sprintf("%s gives its workloads the identity of ServiceAccount %s, which namespace %s does not have: a VM of the group bootstraps its mTLS certificate with a token of that ServiceAccount (istioctl x workload entry configure requests one), which cannot be issued, so the VM gets no workload certificate and cannot join the mesh or auto-register.", o.Ref(), sa, ns),
				Locations: []analysis.Location{analysis.LocationOf(o, snapshot.P("spec", "template", "serviceAccount"))},
				Evidence:  []string{fmt.Sprintf("spec.template.serviceAccount: %q", sa), fmt.Sprintf("ServiceAccounts of %s in the input: %s", ns, strings.Join(have, ", "))},
				Remedy:    fmt.Sprintf("Create ServiceAccount %s in namespace %s (kubectl create serviceaccount %s -n %s), or correct template.serviceAccount to an existing one.", sa, ns, sa, ns),
				Key:       "serviceAccount",
			})
		}
		return nil
	},
}

// workloadGroupLabels are the labels istiod gives the WorkloadEntries it
// registers for a group before the proxy's own: template.labels, then
// metadata.labels over them (autoregistration workloadEntryFromGroup).
func workloadGroupLabels(wg *netv1alpha3.WorkloadGroup) map[string]string {
	out := map[string]string{}
	for k, v := range wg.GetTemplate().GetLabels() {
		out[k] = v
	}
	for k, v := range wg.GetMetadata().GetLabels() {
		out[k] = v
	}
	return out
}

// WorkloadGroupDuplicateLabels is Kiali's KIA1702: two WorkloadGroups of a
// namespace give their WorkloadEntries the same labels. Groups whose
// template.network differs are left out: one group per network with the
// same labels is how a multi-network VM workload is declared.
var WorkloadGroupDuplicateLabels = &analysis.Analyzer{
	Code:     "MD245",
	Name:     "workloadgroup-duplicate-labels",
	Severity: analysis.Warning,
	Summary:  "Two WorkloadGroups of one namespace give their WorkloadEntries the same labels: no Service, subset or policy selector can tell their VMs apart.",
	Doc:      doc("MD245"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindWorkloadGroup)},
	Reads:    map[schema.GroupKind][]string{snapshot.KindWorkloadGroup: {"spec.metadata.labels", "spec.template.labels", "spec.template.network"}},
	Run: func(p *analysis.Pass) error {
		type group struct {
			o   *snapshot.Object
			lbl map[string]string
		}
		byKey := map[string][]group{}
		var keys []string
		for _, o := range p.Snapshot.List(snapshot.KindWorkloadGroup) {
			wg := workloadGroupSpec(o)
			if wg == nil {
				continue
			}
			lbl := workloadGroupLabels(wg)
			if len(lbl) == 0 {
				continue
			}
			k := o.Key.Namespace + "|" + wg.GetTemplate().GetNetwork() + "|" + labelText(lbl)
			if byKey[k] == nil {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], group{o: o, lbl: lbl})
		}
		for _, k := range keys {
			g := byKey[k]
			if len(g) < 2 {
				continue
			}
			objs := make([]*snapshot.Object, len(g))
			for i, e := range g {
				objs[i] = e.o
			}
			for _, e := range g {
				at := snapshot.P("spec", "metadata", "labels")
				if wg := workloadGroupSpec(e.o); len(wg.GetMetadata().GetLabels()) == 0 {
					at = snapshot.P("spec", "template", "labels")
				}
				others := othersRelated(objs, e.o, "gives its WorkloadEntries the same labels")
				var names []string
				for _, o := range objs {
					if o != e.o {
						names = append(names, o.Ref())
					}
				}
				p.Report(analysis.Finding{
					Subject:   e.o.Key,
					Message:   fmt.Sprintf("%s and %s give their WorkloadEntries the same labels (%s) in namespace %s: every Service, DestinationRule subset, Sidecar or policy selector that matches one group's VMs matches the other's too, so traffic and policy meant for one group also reach the other.", e.o.Ref(), strings.Join(names, ", "), labelText(e.lbl), e.o.Key.Namespace),
					Locations: []analysis.Location{analysis.LocationOf(e.o, at)},
					Evidence:  []string{"labels of the registered WorkloadEntries (template.labels, then metadata.labels): " + labelText(e.lbl), "WorkloadGroups with these labels: " + refList(objs, 5)},
					Related:   others,
					Remedy:    "Give each WorkloadGroup a distinguishing label in spec.metadata.labels (for example version or group name), or merge the groups if they describe the same VMs.",
					Key:       "duplicate-labels",
				})
			}
		}
		return nil
	},
}
