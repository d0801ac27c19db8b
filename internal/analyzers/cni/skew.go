package cni

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/facts"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// AmbientComponentSkew reports an istio-cni or ztunnel release that no
// istiod of the cluster supports.
var AmbientComponentSkew = &analysis.Analyzer{
	Code:     "MD403",
	Name:     "ambient-component-version-skew",
	Severity: analysis.Warning,
	Summary:  "istio-cni or ztunnel runs a release no istiod of the cluster supports: node components at 1.x work with a control plane at 1.x or 1.x+1 only, so a node component newer than istiod, or two minors older, is outside the tested skew.",
	Doc:      doc("MD403"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindDaemonSet)},
	Reads:    map[schema.GroupKind][]string{}, // ComponentVersions declares its own
	Requires: []*analysis.Fact{facts.ComponentVersions},
	Run:      runSkew,
}

func runSkew(p *analysis.Pass) error {
	v := p.ResultOf(facts.ComponentVersions).(*facts.Versions)
	if len(v.CNI)+len(v.Ztunnel) == 0 {
		return nil
	}
	if len(v.Istiod) == 0 {
		p.NotChecked("no istiod Deployment with a known version in the input: the istio-cni/ztunnel version skew was not checked")
		return nil
	}
	var istiods []string
	for _, c := range v.Istiod {
		istiods = append(istiods, fmt.Sprintf("%s %s", c.Object.Ref(), c.Version.Raw))
	}
	for _, group := range []struct {
		what string
		cs   []facts.Component
	}{{"istio-cni", v.CNI}, {"ztunnel", v.Ztunnel}} {
		for _, c := range group.cs {
			newer, older := true, true
			for _, i := range v.Istiod {
				d := i.Version.Minor - c.Version.Minor
				if i.Version.Major != c.Version.Major {
					d = 100 * (i.Version.Major - c.Version.Major)
				}
				newer = newer && d < 0
				older = older && d > 1
				if d == 0 || d == 1 {
					newer, older = false, false
					break
				}
			}
			if !newer && !older {
				continue
			}
			how := fmt.Sprintf("newer than every istiod (%s): the control plane must be upgraded before the node components", strings.Join(istiods, ", "))
			if older {
				how = fmt.Sprintf("more than one minor release behind every istiod (%s)", strings.Join(istiods, ", "))
			}
			p.Report(analysis.Finding{
				Subject:   c.Object.Key,
				Key:       group.what,
				Locations: []analysis.Location{analysis.LocationOf(c.Object, versionPath(c))},
				Evidence:  []string{fmt.Sprintf("%s %s: version %s (from %s)", group.what, c.Object.Ref(), c.Version.Raw, c.From), "istiod: " + strings.Join(istiods, ", ")},
				Message:   fmt.Sprintf("%s %s runs %s, %s. Istio supports %s at 1.x only with istiod at 1.x or 1.x+1; outside that, the xDS and node-agent protocols they share are untested and ambient pods may lose traffic.", group.what, c.Object.Ref(), c.Version.Raw, how, group.what),
				Remedy:    fmt.Sprintf("Upgrade in the supported order: istiod first, then istio-cni and ztunnel (one minor release at a time), e.g. `helm upgrade %s istio/%s -n %s --version <istiod's version>`. Check with `istioctl version` afterwards.", group.what, chartOf(group.what), c.Object.Key.Namespace),
			})
		}
	}
	return nil
}

func chartOf(what string) string {
	if what == "istio-cni" {
		return "cni"
	}
	return what
}

// versionPath points at where a component's version was read.
func versionPath(c facts.Component) snapshot.Path {
	image, ok := strings.CutPrefix(c.From, "image ")
	if !ok {
		if l, ok := strings.CutPrefix(c.From, "label "); ok {
			return snapshot.P("metadata", "labels", l)
		}
		return snapshot.P("metadata")
	}
	spec, at, _, ok := snapshot.PodSpecOf(c.Object)
	if !ok {
		return snapshot.P("metadata")
	}
	for i, ct := range spec.Containers {
		if ct.Image == image {
			return at.Child("containers", i, "image")
		}
	}
	return at
}
