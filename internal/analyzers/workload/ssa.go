package workload

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/facts"
	"github.com/meshdoctor/meshdoctor/internal/kb"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// SSAUnprunedField finds stale env entries that the installer's server-side
// apply does not own and so will never remove.
var SSAUnprunedField = &analysis.Analyzer{
	Code:     "MD104",
	Name:     "ssa-unpruned-field",
	Severity: analysis.Warning,
	Summary:  "A stale env entry is owned by a hand edit, not by the installer that server-side-applies the object: upgrades will never remove it.",
	Inputs:   []analysis.Input{workloadInput},
	Requires: []*analysis.Fact{EnvResolution, facts.ComponentVersions},
	// Installers apply workloads; Pods and ReplicaSets are made by
	// controllers, and pod specs cannot be patched anyway.
	ManagedFields: []schema.GroupKind{snapshot.KindDeployment, snapshot.KindDaemonSet, snapshot.KindStatefulSet, snapshot.KindJob, snapshot.KindCronJob},
	Reads:         map[schema.GroupKind][]string{},
	Doc: `## What it detects

An object with ` + "`metadata.managedFields`" + ` that an installer maintains with
server-side apply (a manager with operation ` + "`Apply`" + `, such as ` + "`istio-operator`" + `
for ` + "`istioctl install`" + `, ` + "`helm`" + ` or ` + "`argocd-controller`" + `), where an env entry
is owned only by a hand edit (` + "`kubectl-edit`" + `, ` + "`kubectl-client-side-apply`" + `,
` + "`kubectl-patch`" + `, ` + "`before-first-apply`" + `, any other non-controller manager) or by
no manager at all, **and** the entry is stale: its reference fails (MD101), it
overrides a different value from envFrom (MD102), or the installed version of
istio-cni no longer sets it.

Only a manager that wrote the entry itself (it owns the list item, as
` + "`kubectl edit`" + ` does when it adds or re-adds the entry) keeps it through an upgrade:
server-side apply removes an item the installer dropped even if a hand edit owns a
field inside it (tested against a real API server in ` + "`test/live`" + `).

Managers that own fields legitimately (` + "`kube-controller-manager`" + `,
` + "`kubectl-rollout`" + `, autoscalers, Argo CD's client-side syncs) are never reported, and a hand-edited entry that
is not stale is not reported either.

` + "`kubectl get -o yaml`" + ` hides managedFields unless you pass
` + "`--show-managed-fields`" + `, and manifests from git have none: without them this
check has nothing to say, which means unknown, not fine.

## Why it breaks traffic

Server-side apply removes a field only when the applying manager owned it and
the new configuration drops it. A field some other manager owns stays forever.
This is how founding incident (c) happened: ` + "`CNI_NETWORK_CONFIG`" + ` had been
edited by hand on the istio-cni DaemonSet, the upgrade to 1.24 applied a spec
without it, and it survived to break every pod (istio/istio#54846, #30098).

## Evidence

The entry (` + "`file:line`" + `), the managedFields entry that owns it
(manager, operation, time), the applying installer, and why the entry is stale.

## Remedy

Remove the entry (meshdoctor prints the JSON patch). Removing it also removes
the hand edit's ownership, so later upgrades behave. Avoid ` + "`kubectl edit`" + ` on
installer-managed objects; put the change in the installer's values instead.
`,
	Run: runSSA,
}

type managerSet struct {
	index int
	entry metav1.ManagedFieldsEntry
	set   *fieldpath.Set
}

func runSSA(p *analysis.Pass) error {
	env := p.ResultOf(EnvResolution).(*Env)
	vers := p.ResultOf(facts.ComponentVersions).(*facts.Versions)
	byObject := map[*snapshot.Object][]managerSet{}
	for _, e := range env.Entries {
		if e.EnvFrom {
			continue // envFrom is an atomic list: owned as a whole
		}
		// Only stale entries matter; deciding that is cheap, while parsing
		// managedFields is not, so it comes first.
		why := staleReason(e, vers)
		if why == "" {
			continue
		}
		sets, seen := byObject[e.Object]
		if !seen {
			sets = parseManagedFields(p, e.Object)
			byObject[e.Object] = sets
		}
		if len(sets) == 0 {
			continue
		}
		var appliers, owners []managerSet
		for _, ms := range sets {
			if ms.entry.Operation == metav1.ManagedFieldsOperationApply && ms.entry.Subresource == "" {
				appliers = append(appliers, ms)
			}
			if owns(ms.set, entryFieldPath(e)) {
				owners = append(owners, ms)
			}
		}
		if len(appliers) == 0 {
			continue
		}
		appliedOwn, benign := false, true
		for _, ms := range owners {
			if ms.entry.Operation == metav1.ManagedFieldsOperationApply {
				appliedOwn = true
			}
			if !kb.BenignManagers[ms.entry.Manager] {
				benign = false
			}
		}
		if appliedOwn || (len(owners) > 0 && benign) {
			continue
		}
		p.Report(ssaFinding(e, owners, appliers, why))
	}
	return nil
}

func parseManagedFields(p *analysis.Pass, o *snapshot.Object) []managerSet {
	acc, err := meta.Accessor(o.Typed)
	if err != nil {
		return nil
	}
	var out []managerSet
	for i, mf := range acc.GetManagedFields() {
		if mf.FieldsV1 == nil {
			continue
		}
		s := &fieldpath.Set{}
		if err := s.FromJSON(bytes.NewReader(mf.FieldsV1.GetRawBytes())); err != nil {
			p.NotChecked("%s: managedFields[%d] (manager %s) could not be parsed: %v", o.Ref(), i, mf.Manager, err)
			continue
		}
		out = append(out, managerSet{index: i, entry: mf, set: s})
	}
	return out
}

// entryFieldPath is the managed-fields path of an env entry: list items are
// keyed by name, not index.
func entryFieldPath(e *Entry) fieldpath.Path {
	cp := e.Container.Path() // …, "containers"|"initContainers", i
	var out []any
	for _, el := range cp[:len(cp)-1] {
		out = append(out, el)
	}
	out = append(out, fieldpath.KeyByFields("name", e.Container.C.Name), "env", fieldpath.KeyByFields("name", e.Name))
	return fieldpath.MakePathOrDie(out...)
}

// owns tells whether s owns p itself or anything below it.
func owns(s *fieldpath.Set, p fieldpath.Path) bool {
	if s.Has(p) {
		return true
	}
	cur := s
	for _, pe := range p {
		next, ok := cur.Children.Get(pe)
		if !ok {
			return false
		}
		cur = next
	}
	return !cur.Empty()
}

// staleReason says why an entry is wrong now, or "" when it is not.
func staleReason(e *Entry, vers *facts.Versions) string {
	if e.Failure != "" {
		return "its reference fails: " + e.Failure
	}
	if comp, ok := vers.CNIFor(e.Object); ok && comp.Version.AtLeast(kb.IstioCNIEnvFromConfigMap) && kb.IstioCNIEnv122Only[e.Name] {
		return fmt.Sprintf("istio-cni %s no longer sets %s as an env entry (since 1.23.0 it comes from ConfigMap %s)", comp.Version, e.Name, kb.IstioCNIConfigMap)
	}
	if e.Shadow != nil && e.Shadow.Differs {
		return fmt.Sprintf("it overrides a different value from %s (envFrom)", e.Shadow.Source.Ref())
	}
	return ""
}

func ssaFinding(e *Entry, owners, appliers []managerSet, why string) analysis.Finding {
	o := e.Object
	installers := make([]string, 0, len(appliers))
	for _, a := range appliers {
		installers = append(installers, describeManager(a.entry.Manager))
	}
	sort.Strings(installers)
	ownerText := "no field manager"
	var ownerNames []string
	for _, ms := range owners {
		ownerNames = append(ownerNames, describeManager(ms.entry.Manager))
	}
	if len(ownerNames) > 0 {
		ownerText = strings.Join(ownerNames, ", ")
	}
	f := analysis.Finding{
		Subject: o.Key,
		Message: fmt.Sprintf("env %s of container %s in %s is owned by %s, not by %s, which server-side-applies this object: upgrades never prune it, and it is stale: %s.",
			e.Name, e.Container.C.Name, o.Ref(), ownerText, strings.Join(installers, ", "), why),
		Locations: []analysis.Location{analysis.LocationOf(o, e.Path())},
		Evidence:  []string{describeEntry(e)},
		Remedy:    "Remove the entry (see fix): that also drops the hand edit's ownership. Make future changes through the installer's values, not kubectl edit.",
		Fix:       removeEntryFix(e),
		Key:       entryKey(e),
	}
	fp := entryFieldPath(e).String()
	for _, ms := range owners {
		f.Locations = append(f.Locations, analysis.LocationOf(o, snapshot.P("metadata", "managedFields", ms.index, "manager")))
		f.Evidence = append(f.Evidence, fmt.Sprintf("managedFields[%d]: manager=%s operation=%s%s owns %s", ms.index, ms.entry.Manager, ms.entry.Operation, at(ms.entry), fp))
	}
	for _, ms := range appliers {
		f.Evidence = append(f.Evidence, fmt.Sprintf("managedFields[%d]: manager=%s operation=Apply%s does not own it", ms.index, ms.entry.Manager, at(ms.entry)))
	}
	return f
}

func at(mf metav1.ManagedFieldsEntry) string {
	if mf.Time == nil {
		return ""
	}
	return " time=" + mf.Time.UTC().Format("2006-01-02T15:04:05Z")
}

func describeManager(m string) string {
	if d, ok := kb.HandEditManagers[m]; ok {
		return fmt.Sprintf("%s (%s)", m, d)
	}
	if d, ok := kb.InstallerManagers[m]; ok {
		return fmt.Sprintf("%s (%s)", m, d)
	}
	return m
}
