package workload

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/facts"
	"github.com/meshdoctor/meshdoctor/internal/kb"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// IstioCNILegacyEnv finds the pre-1.23 CNI_NETWORK_CONFIG entry on a 1.23+
// istio-cni DaemonSet.
var IstioCNILegacyEnv = &analysis.Analyzer{
	Code:     "MD103",
	Name:     "istio-cni-legacy-env",
	Severity: analysis.Warning,
	Summary:  "The istio-cni DaemonSet of Istio 1.23 or later still carries CNI_NETWORK_CONFIG / the cni_network_config key reference of a pre-1.23 install.",
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindDaemonSet)},
	Requires: []*analysis.Fact{EnvResolution, facts.ComponentVersions},
	Reads:    map[schema.GroupKind][]string{},
	Doc: `## What it detects

An istio-cni node-agent DaemonSet whose version (from the install-cni image tag,
the chart's version labels, or ` + "`CURRENT_AGENT_VERSION`" + ` in ` + "`istio-cni-config`" + `)
is 1.23.0 or later, but whose install-cni container still has the env entry
` + "`CNI_NETWORK_CONFIG`" + ` or any reference to the ConfigMap key ` + "`cni_network_config`" + `.

## Why it breaks traffic

Istio 1.23 (istio/istio#51050) moved the agent's settings into flat keys of the
` + "`istio-cni-config`" + ` ConfigMap, read with ` + "`envFrom`" + `, and removed both the
` + "`CNI_NETWORK_CONFIG`" + ` env entry and the ` + "`cni_network_config`" + ` key. An upgrade with
server-side apply removes only entries its field manager owns; an entry that was
hand-edited (see MD104) survives. The new ConfigMap has no such key, so every
istio-cni pod fails with ` + "`couldn't find key cni_network_config in ConfigMap kube-system/istio-cni-config`" + `
(founding incident c, istio/istio#54846), and with no CNI agent no meshed pod
can start on any node. Severity is error when the reference fails, warning when
the key happens to exist (the entry is then ignored but still stale).

## Evidence

The entry (` + "`file:line`" + `), the version and where it was read.

## Remedy

Remove the entry with the JSON patch meshdoctor prints, then let the DaemonSet
roll out. Check the other env entries the 1.22 chart had (MD102, MD104).

## Example

` + "```yaml" + `
image: docker.io/istio/install-cni:1.24.2
env:
- name: CNI_NETWORK_CONFIG        # gone from the chart since 1.23.0
  valueFrom:
    configMapKeyRef: {name: istio-cni-config, key: cni_network_config}
` + "```" + `
`,
	Run: func(p *analysis.Pass) error {
		env := p.ResultOf(EnvResolution).(*Env)
		vers := p.ResultOf(facts.ComponentVersions).(*facts.Versions)
		for _, e := range env.Entries {
			if e.Object.Key.GroupKind() != snapshot.KindDaemonSet || !isLegacyCNIConfig(e) {
				continue
			}
			comp, ok := vers.CNIFor(e.Object)
			if !ok {
				if facts.IsIstioCNI(e.Object) {
					p.NotChecked("the version of %s could not be read (no version image tag, label or CURRENT_AGENT_VERSION)", e.Object.Ref())
				}
				continue
			}
			if !comp.Version.AtLeast(kb.IstioCNIEnvFromConfigMap) {
				continue
			}
			f := analysis.Finding{
				Subject: e.Object.Key,
				Message: fmt.Sprintf("%s runs istio-cni %s, but container %s still has %s from a pre-1.23 install: Istio 1.23.0 removed CNI_NETWORK_CONFIG and the %s key.",
					e.Object.Ref(), comp.Version, e.Container.C.Name, what(e), kb.IstioCNILegacyConfigKey),
				Locations: []analysis.Location{analysis.LocationOf(e.Object, e.Path())},
				Evidence: []string{
					describeEntry(e),
					fmt.Sprintf("istio-cni version %s (from %s)", comp.Version, comp.From),
				},
				Remedy: "Remove the leftover entry (see fix); the 1.23+ agent reads its settings from ConfigMap istio-cni-config through envFrom.",
				Fix:    removeEntryFix(e),
				Key:    entryKey(e),
			}
			if e.Failure != "" {
				f.Severity = analysis.Error
				f.Message += " The key is gone, so every istio-cni pod fails: " + e.Failure + "."
				f.Evidence = append(f.Evidence, "kubelet: "+e.Failure)
			}
			p.Report(f)
		}
		return nil
	},
}

func isLegacyCNIConfig(e *Entry) bool {
	if e.EnvFrom {
		return false
	}
	return e.Name == kb.IstioCNILegacyConfigEnv || (e.Ref != nil && e.Ref.Kind == snapshot.KindConfigMap && e.Ref.Key == kb.IstioCNILegacyConfigKey)
}

func what(e *Entry) string {
	if e.Ref != nil {
		return fmt.Sprintf("env %s (configMapKeyRef %s/%s)", e.Name, e.Ref.Name, e.Ref.Key)
	}
	return "env " + e.Name
}
