// Package input reports problems of the input itself that are not fatal:
// fields a kind does not have, and objects given twice.
package input

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// Analyzers returns the checks of this package.
func Analyzers() []*analysis.Analyzer { return []*analysis.Analyzer{UnknownField, DuplicateObject} }

// UnknownField reports fields the kind's schema does not define.
var UnknownField = &analysis.Analyzer{
	Code:     "MD001",
	Name:     "unknown-field",
	Severity: analysis.Warning,
	Summary:  "A field that the object's kind does not define (often a typo or a wrong indentation): Kubernetes rejects or drops it and istioctl ignores it silently.",
	Reads:    map[schema.GroupKind][]string{}, // unknown fields are found while decoding
	Doc: `## What it detects

A field in a Kubernetes or Istio object that its schema does not have, at any
depth, including inside Istio specs (` + "`spec.http[0].route[0].destination.subnet`" + `
for ` + "`subset`" + `), and a field given twice in one mapping.

Not under ` + "`status`" + `: controllers write it, so a field there the schema lacks
comes from a newer Kubernetes or controller than meshdoctor's, not from a mistake.
Nor in a built-in Kubernetes kind (Pod, Deployment, Service, ...) that an API
server returned — metadata with a ` + "`uid`" + ` and a ` + "`resourceVersion`" + `, as in
` + "`kubectl get -o yaml`" + ` output and live mode: the server drops every field its
types lack before storing the object, so a field meshdoctor does not know there
belongs to a newer Kubernetes, and reporting it would flag every such object.
Custom resources the server returned (Istio's included) are still checked:
their schemas may keep unknown fields. To check an exported manifest you edited
by hand, remove its ` + "`uid`" + ` and ` + "`resourceVersion`" + ` first (you must anyway
before applying it elsewhere).

## Why it breaks traffic

The setting you meant is not applied. The API server rejects unknown fields with
` + "`kubectl apply --validate=strict`" + ` (the default since Kubernetes 1.27 warns) and
silently drops them otherwise; Istio's own decoders accept and drop them, and
` + "`istioctl analyze`" + ` says nothing. A misspelt ` + "`subset`" + ` or ` + "`timeout`" + ` then quietly
routes or times out differently than intended.

## Evidence

The field's ` + "`file:line:col`" + ` and its path.

## Remedy

Fix the spelling or indentation so the field lands where the schema expects it,
or remove it.
`,
	Run: func(p *analysis.Pass) error {
		for _, o := range p.Snapshot.Objects() {
			for _, fi := range o.FieldIssues {
				problem := fmt.Sprintf("%s has no field %s", o.Key.Kind, fi.Path)
				loc := analysis.LocationOf(o, fi.Path)
				if fi.Duplicate {
					problem = fmt.Sprintf("field %s is given more than once; only the last value counts", fi.Path)
				}
				if fi.Line > 0 {
					// Known by line only: a key repeated in one YAML mapping.
					problem = fmt.Sprintf("key %q is given twice in one mapping; only the last value counts", fi.Path[len(fi.Path)-1])
					loc = analysis.Location{Position: snapshot.Position{File: o.Origin.File, Line: fi.Line}, Object: o.Ref(), Exact: true}
				}
				p.Report(analysis.Finding{
					Subject:   o.Key,
					Message:   fmt.Sprintf("%s: %s, so it is not applied.", o.Ref(), problem),
					Locations: []analysis.Location{loc},
					Evidence:  []string{fmt.Sprintf("%s %s: %s", o.APIVersion, o.Key.Kind, problem)},
					Remedy:    "Correct the field name or indentation (see the kind's API reference), or remove the field.",
					Key:       fmt.Sprintf("%s@%d", fi.Path, fi.Line),
				})
			}
		}
		return nil
	},
}

// DuplicateObject reports an identity given more than once.
var DuplicateObject = &analysis.Analyzer{
	Code:     "MD002",
	Name:     "duplicate-object",
	Severity: analysis.Warning,
	Summary:  "The same object (kind, namespace, name) appears more than once in the input; only the first is analyzed.",
	Reads:    map[schema.GroupKind][]string{},
	Doc: `## What it detects

Two documents that describe the same object: same group, kind, namespace and name.

## Why it matters

Applying both makes the last one win, so what runs depends on file order; and an
analysis of the input can only consider one of them. Meshdoctor analyzes the
first and names both places.

## Evidence

Both ` + "`file:line`" + ` positions.

## Remedy

Remove one copy, or give the objects distinct names or namespaces.
`,
	Run: func(p *analysis.Pass) error {
		for _, d := range p.Snapshot.Duplicates() {
			first, _ := analysis.PositionOf(d.Kept, nil)
			again, _ := analysis.PositionOf(d.Dropped, nil)
			p.Report(analysis.Finding{
				Subject:   d.Kept.Key,
				Message:   fmt.Sprintf("%s is defined again at %s; only the first definition, at %s, is analyzed.", d.Kept.Ref(), again, first),
				Locations: []analysis.Location{analysis.LocationOf(d.Kept, nil), analysis.LocationOf(d.Dropped, nil)},
				Evidence:  []string{"first: " + first.String(), "again: " + again.String()},
				Remedy:    "Keep one definition of the object.",
				Key:       again.String(),
			})
		}
		return nil
	},
}
