// Package workload checks pod templates and the objects they depend on:
// env references that will fail at container start, stale env entries left
// behind by upgrades, and fields that server-side apply will never prune
// (founding incident c).
package workload

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// Analyzers returns the checks of this package.
func Analyzers() []*analysis.Analyzer {
	return []*analysis.Analyzer{EnvRefMissing, EnvShadowsEnvFrom, IstioCNILegacyEnv, SSAUnprunedField}
}

var workloadInput = analysis.Kinds(snapshot.WorkloadKinds...)

// EnvRefMissing predicts CreateContainerConfigError.
var EnvRefMissing = &analysis.Analyzer{
	Code:     "MD101",
	Name:     "env-ref-missing",
	Severity: analysis.Error,
	Summary:  "An env or envFrom entry reads a ConfigMap, Secret or key that does not exist: the container cannot start (CreateContainerConfigError).",
	Inputs:   []analysis.Input{workloadInput, analysis.Kinds(snapshot.KindConfigMap, snapshot.KindSecret)},
	Requires: []*analysis.Fact{EnvResolution, OwnershipFact},
	// Affected pods' node and container states are shown as evidence.
	Reads: map[schema.GroupKind][]string{snapshot.KindPod: append([]string{"spec.nodeName"}, snapshot.ContainerStatusReads()...)},
	Doc: `## What it detects

A container's ` + "`env[].valueFrom.configMapKeyRef`" + ` or ` + "`secretKeyRef`" + ` names a ConfigMap or
Secret that does not exist, or a key that the object does not have, and the
reference is not ` + "`optional: true`" + `; or an ` + "`envFrom`" + ` entry names a ConfigMap or
Secret that does not exist.

## Why it breaks traffic

The kubelet resolves every reference before it creates the container. When
one fails it refuses to start the container and the pod stays in
` + "`CreateContainerConfigError`" + ` with the kubelet's message, for example
` + "`couldn't find key cni_network_config in ConfigMap kube-system/istio-cni-config`" + `.
Every pod of the workload fails the same way. When the workload is a mesh
component (the istio-cni node agent, a gateway), every pod that depends on it
fails too: in founding incident (c) an Istio CNI upgrade left a stale
` + "`CNI_NETWORK_CONFIG`" + ` entry behind and no pod on any node could start.

## Evidence

The env entry (` + "`file:line`" + ` of the entry), the keys the ConfigMap or Secret
really has, and, when pods are in the input, their container state.

Meshdoctor checks a namespace's ConfigMaps (or Secrets) only when the input
holds at least one of them; otherwise it says the reference was not checked,
instead of guessing.

## Remedy

If the entry is left over from an older release (see MD103, MD104), remove it
with the JSON patch meshdoctor prints. Otherwise create the key or object,
fix the name, or mark the reference ` + "`optional: true`" + ` if the program copes
without it. Pods and Jobs cannot be patched: fix the owner, then delete the
pods.

## Example

` + "```yaml" + `
env:
- name: CNI_NETWORK_CONFIG
  valueFrom:
    configMapKeyRef:
      name: istio-cni-config
      key: cni_network_config   # the 1.23+ ConfigMap has no such key
` + "```" + `
`,
	Run: runEnvRefMissing,
}

func runEnvRefMissing(p *analysis.Pass) error {
	env := p.ResultOf(EnvResolution).(*Env)
	own := p.ResultOf(OwnershipFact).(*Ownership)
	var cands []candidate
	for _, e := range env.Entries {
		if e.Unchecked != "" {
			p.NotChecked("%s", e.Unchecked)
			continue
		}
		if e.Failure == "" {
			continue
		}
		e := e
		cands = append(cands, candidate{
			obj: e.Object,
			key: e.Container.C.Name + "\x00" + e.List() + "\x00" + e.Name + "\x00" + e.Failure,
			build: func(affected []*snapshot.Object) analysis.Finding {
				return envRefFinding(e, affected)
			},
		})
	}
	reportMerged(p, own, cands)
	return nil
}

func envRefFinding(e *Entry, affected []*snapshot.Object) analysis.Finding {
	o := e.Object
	what := "env " + e.Name
	if e.EnvFrom {
		what = "envFrom"
	}
	effect := "every pod it creates will stay in CreateContainerConfigError"
	if o.Key.Kind == "Pod" {
		effect = "the pod cannot start: CreateContainerConfigError"
	}
	f := analysis.Finding{
		Subject: o.Key,
		Message: fmt.Sprintf("container %s of %s reads %s from %s %s, which fails (%s): %s.",
			e.Container.C.Name, o.Ref(), what, e.Ref.Kind.Kind, e.Ref.Name, e.Failure, effect),
		Locations: []analysis.Location{analysis.LocationOf(o, e.Path())},
		Evidence:  []string{describeEntry(e), "kubelet: " + e.Failure},
		Remedy: fmt.Sprintf("Remove the entry if it is left over from an older release, or create %s %s/%s%s, or mark the reference optional: true if the program copes without it.",
			e.Ref.Kind.Kind, o.Key.Namespace, e.Ref.Name, keySuffix(e.Ref.Key)),
		Fix: removeEntryFix(e),
		Key: entryKey(e),
	}
	if t := e.Ref.Target; t != nil {
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s has keys: %v", t.Ref(), keysOf(t)))
		f.Related = append(f.Related, analysis.RelatedOf(t, "the referenced "+t.Key.Kind))
	} else {
		f.Evidence = append(f.Evidence, fmt.Sprintf("no %s %s/%s in the input, which holds that namespace's %ss", e.Ref.Kind.Kind, o.Key.Namespace, e.Ref.Name, e.Ref.Kind.Kind))
	}
	for _, po := range affected {
		f.Related = append(f.Related, analysis.RelatedOf(po, "pod of "+o.Ref()))
	}
	f.Evidence = append(f.Evidence, podStateEvidence(affected, e.Container.C.Name)...)
	if o.Key.Kind == "Pod" {
		f.Evidence = append(f.Evidence, podStateEvidence([]*snapshot.Object{o}, e.Container.C.Name)...)
		f.Remedy += " A pod's env cannot be changed: fix its owner (or manifest) and recreate the pod."
	}
	return f
}

func keySuffix(k string) string {
	if k == "" {
		return ""
	}
	return " with key " + k
}

func keysOf(o *snapshot.Object) []string {
	if o.Secret != nil {
		return o.Secret.KeyNames()
	}
	cm, ok := o.Typed.(*corev1.ConfigMap)
	if !ok {
		return nil
	}
	keys := make([]string, 0, len(cm.Data)+len(cm.BinaryData))
	for k := range cm.Data {
		keys = append(keys, k)
	}
	for k := range cm.BinaryData {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
