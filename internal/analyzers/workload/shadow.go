package workload

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// EnvShadowsEnvFrom finds explicit env entries that override envFrom keys.
var EnvShadowsEnvFrom = &analysis.Analyzer{
	Code:     "MD102",
	Name:     "env-shadows-envfrom",
	Severity: analysis.Warning,
	Summary:  "An explicit env entry overrides, with a different value, a key the container also gets through envFrom: the ConfigMap's or Secret's value never takes effect.",
	Inputs:   []analysis.Input{workloadInput, analysis.Kinds(snapshot.KindConfigMap, snapshot.KindSecret)},
	Requires: []*analysis.Fact{EnvResolution, OwnershipFact},
	Reads:    map[schema.GroupKind][]string{},
	Doc: `## What it detects

A container gets a variable from ` + "`envFrom`" + ` (a ConfigMap or Secret, with its
` + "`prefix`" + `) and also sets the same name explicitly in ` + "`env`" + `, with a different value.

## Why it breaks traffic

The kubelet applies ` + "`envFrom`" + ` first and ` + "`env`" + ` second, so the explicit entry
silently wins. After an upgrade that moved settings from ` + "`env`" + ` into a
ConfigMap read with ` + "`envFrom`" + ` (Istio CNI 1.23 did exactly this), an old
explicit entry left behind keeps overriding the new configuration: changing the
ConfigMap has no effect, and nothing says why. Entries with the same value as
the source are not reported.

## Evidence

The explicit entry (` + "`file:line`" + `), its value, and the value the ConfigMap would
have given (values of Secrets are never shown).

## Remedy

Remove the explicit entry (meshdoctor prints the JSON patch) so the envFrom
value applies, or, if the explicit value is what you want, set it in the
ConfigMap instead.

## Example

` + "```yaml" + `
envFrom:
- configMapRef: {name: istio-cni-config}   # LOG_LEVEL: info
env:
- name: LOG_LEVEL
  value: debug                             # wins over the ConfigMap
` + "```" + `
`,
	Run: func(p *analysis.Pass) error {
		env := p.ResultOf(EnvResolution).(*Env)
		own := p.ResultOf(OwnershipFact).(*Ownership)
		var cands []candidate
		for _, e := range env.Entries {
			if e.EnvFrom && e.Ref != nil && e.Ref.Target != nil && e.Ref.Target.MetadataOnly && len(e.Container.C.Env) > 0 {
				p.NotChecked("the keys of %s were not read, so env entries that override them are not known (live Secrets are read as metadata only; run with --read-secrets)", e.Ref.Target.Ref())
			}
			if e.Shadow == nil || !e.Shadow.Differs {
				continue
			}
			e := e
			cands = append(cands, candidate{
				obj: e.Object,
				key: e.Container.C.Name + "\x00" + e.Name,
				build: func(affected []*snapshot.Object) analysis.Finding {
					return shadowFinding(e, affected)
				},
			})
		}
		reportMerged(p, own, cands)
		return nil
	},
}

func shadowFinding(e *Entry, affected []*snapshot.Object) analysis.Finding {
	sh := e.Shadow
	src := sh.Source
	explicit := "a valueFrom reference"
	if e.Env.ValueFrom == nil {
		explicit = fmt.Sprintf("%q", e.Env.Value)
	}
	provided := "its own value"
	if src.Secret == nil {
		provided = fmt.Sprintf("%q", sh.SourceValue)
	}
	if src.Secret != nil && e.Env.ValueFrom == nil {
		explicit = "an explicit value"
	}
	envFromPath := e.Container.Path().Child("envFrom", sh.EnvFrom)
	f := analysis.Finding{
		Subject: e.Object.Key,
		Message: fmt.Sprintf("env %s of container %s in %s is set explicitly to %s and overrides %s from %s (envFrom): the %s's value never takes effect.",
			e.Name, e.Container.C.Name, e.Object.Ref(), explicit, provided, src.Ref(), src.Key.Kind),
		Locations: []analysis.Location{analysis.LocationOf(e.Object, e.Path()), analysis.LocationOf(e.Object, envFromPath)},
		Evidence: []string{
			describeEntryMasked(e, src.Secret != nil),
			fmt.Sprintf("%s: envFrom %s provides %s=%s", envFromPath, src.Ref(), e.Name, provided),
			"the kubelet applies envFrom first and env second, so env wins",
		},
		Related: []analysis.Related{analysis.RelatedOf(src, "envFrom source the entry overrides")},
		Remedy:  fmt.Sprintf("Remove env %s so the value from %s applies (see fix), or set the value you want in %s.", e.Name, src.Ref(), src.Ref()),
		Fix:     removeEntryFix(e),
		Key:     entryKey(e),
	}
	for _, po := range affected {
		f.Related = append(f.Related, analysis.RelatedOf(po, "pod of "+e.Object.Ref()))
	}
	return f
}

// describeEntryMasked hides explicit values that shadow a Secret key.
func describeEntryMasked(e *Entry, mask bool) string {
	if mask && e.Env.ValueFrom == nil {
		return fmt.Sprintf("%s: env %s=(value hidden: it shadows a Secret key)", e.Path(), e.Name)
	}
	return describeEntry(e)
}
