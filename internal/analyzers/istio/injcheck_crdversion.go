package istio

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/facts"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/version"
)

// bundleVersionAnnotation is where Gateway API CRDs record their release.
const bundleVersionAnnotation = "gateway.networking.k8s.io/bundle-version"

// gatewayCRDRule is a Gateway API CRD release range a range of Istio
// releases requires: below Minimum, or at or above Ceiling, istiod's CRD
// watcher filters the CRD out (and, for those filters, also a CRD without
// the bundle-version annotation); Served names an API version istiod reads
// without a watcher filter, which the CRD must serve.
type gatewayCRDRule struct {
	CRD                    string
	Minimum, Ceiling       version.V // zero: none
	Served                 string
	SinceIstio, UntilIstio version.V // UntilIstio zero: still in force
	Source                 string
}

// crdConsequence says what ignoring the CRD's objects breaks.
func crdConsequence(crd string) string {
	switch strings.SplitN(crd, ".", 2)[0] {
	case "referencegrants":
		return "its ReferenceGrants are ignored, so the cross-namespace references they allow are refused (ResolvedRefs=False, RefNotPermitted: backends and certificates in other namespaces fail)"
	case "backendtlspolicies":
		return "its BackendTLSPolicies are ignored, so gateways connect to those backends without the TLS they require"
	}
	kind := strings.SplitN(crd, ".", 2)[0]
	return "its " + kind + " are ignored: they never attach to their Gateways (no status, attachedRoutes: 0) and their listeners serve nothing"
}

func (r *gatewayCRDRule) appliesTo(istio version.V) bool {
	return istio.AtLeast(r.SinceIstio) && (r.UntilIstio == version.V{} || istio.Compare(r.UntilIstio) < 0)
}

// filtered tells whether the watcher filters on the bundle version (a
// Minimum or a Ceiling), so that a missing annotation hides the CRD too.
func (r *gatewayCRDRule) filtered() bool { return r.Minimum != version.V{} || r.Ceiling != version.V{} }

// gatewayCRDRules, researched from Istio's sources and release notes: the
// CRD watcher's minimumCRDVersions and MaximumCRDVersions (pkg/kube/kclient
// crdwatcher.go) and, since 1.30, gatewayapi.MinimumCRDVersions.
var gatewayCRDRules = []gatewayCRDRule{
	{CRD: "grpcroutes.gateway.networking.k8s.io", Minimum: version.MustParse("1.1.0"), SinceIstio: version.MustParse("1.22.0"), Source: "Istio 1.22 watches GRPCRoute v1 (Gateway API 1.1, istio/istio#50408)"},
	{CRD: "backendtlspolicies.gateway.networking.k8s.io", Minimum: version.MustParse("1.4.0"), SinceIstio: version.MustParse("1.28.0"), Source: "Istio 1.28 supports only BackendTLSPolicy v1 (1.28 upgrade notes)"},
	{CRD: "tlsroutes.gateway.networking.k8s.io", Minimum: version.MustParse("1.5.0"), SinceIstio: version.MustParse("1.30.0"), Source: "Istio 1.30 watches TLSRoute of Gateway API 1.5 (IST0176)"},
	{CRD: "tlsroutes.gateway.networking.k8s.io", Ceiling: version.MustParse("1.5.0"), SinceIstio: version.MustParse("1.29.2"), UntilIstio: version.MustParse("1.30.0"), Source: "Istio 1.29.2 ignores TLSRoute of Gateway API 1.5 and later, whose v1alpha2 it reads is no longer served (MaximumCRDVersions, 1.29.2 release notes, istio/istio#59443)"},
	{CRD: "referencegrants.gateway.networking.k8s.io", Served: "v1", SinceIstio: version.MustParse("1.30.0"), Source: "Istio 1.30 reads ReferenceGrant v1, served from Gateway API 1.5 on (1.30 upgrade notes, istio/istio.io#17394)"},
}

// referenceGrantV1Bundle is the first Gateway API release serving
// ReferenceGrant v1, for CRDs whose served versions are not in the input.
var referenceGrantV1Bundle = version.MustParse("1.5.0")

// newestCitedIstio is the newest Istio release the table above covers.
var newestCitedIstio = version.MustParse("1.30.0")

var crdKind = analysis.Kinds(snapshot.KindCRD)

// crdServes tells whether a CRD serves an API version; known is false when
// the input lacks its spec.versions.
func crdServes(o *snapshot.Object, v string) (serves, known bool) {
	u, ok := o.Typed.(*unstructured.Unstructured)
	if !ok {
		return false, false
	}
	vs, found, _ := unstructured.NestedSlice(u.Object, "spec", "versions")
	if !found || len(vs) == 0 {
		return false, false
	}
	for _, x := range vs {
		m, _ := x.(map[string]any)
		if m["name"] == v && m["served"] == true {
			return true, true
		}
	}
	return false, true
}

// crdProblem says why istiod (of release istio) ignores the CRD under rule
// r, the field at fault and the evidence; "" when it does not.
func crdProblem(o *snapshot.Object, r *gatewayCRDRule) (problem string, at snapshot.Path, ev []string, remedy string) {
	annAt := snapshot.P("metadata", "annotations", bundleVersionAnnotation)
	raw, hasAnn := o.Annotations[bundleVersionAnnotation]
	have, parsed := version.Parse(raw)
	have.Raw = ""
	upgrade := func(to version.V) string {
		return fmt.Sprintf("Upgrade the Gateway API CRDs to at least v%s (kubectl apply --server-side -f https://github.com/kubernetes-sigs/gateway-api/releases/download/v%s/standard-install.yaml, or experimental-install.yaml for experimental kinds).", to, to)
	}
	if r.Served != "" {
		serves, known := crdServes(o, r.Served)
		switch {
		case known && !serves:
			return "does not serve " + r.Served, snapshot.P("spec", "versions"), []string{"served versions lack " + r.Served}, upgrade(referenceGrantV1Bundle)
		case !known && hasAnn && parsed && !have.AtLeast(referenceGrantV1Bundle):
			return fmt.Sprintf("is Gateway API %s, which does not serve %s", raw, r.Served), annAt, []string{bundleVersionAnnotation + ": " + raw}, upgrade(referenceGrantV1Bundle)
		}
		return "", nil, nil, ""
	}
	if !hasAnn {
		return "has no " + bundleVersionAnnotation + " annotation, which istiod's CRD watcher requires", snapshot.P("metadata", "name"), []string{"no " + bundleVersionAnnotation + " annotation"},
			"Install the Gateway API CRDs from a Gateway API release (they carry the bundle-version annotation), or add the annotation with the release the CRD comes from."
	}
	if !parsed {
		return fmt.Sprintf("has a bundle version %q that istiod cannot parse", raw), annAt, []string{bundleVersionAnnotation + ": " + raw},
			"Set " + bundleVersionAnnotation + " to the Gateway API release the CRD comes from (e.g. v1.4.1), or reinstall the CRDs from a Gateway API release."
	}
	switch {
	case r.Minimum != version.V{} && !have.AtLeast(r.Minimum):
		return fmt.Sprintf("is Gateway API %s, below the required %s", raw, r.Minimum), annAt, []string{bundleVersionAnnotation + ": " + raw}, upgrade(r.Minimum)
	case r.Ceiling != version.V{} && have.AtLeast(r.Ceiling):
		return fmt.Sprintf("is Gateway API %s, but this istiod reads only releases below %s", raw, r.Ceiling), annAt, []string{bundleVersionAnnotation + ": " + raw},
			"Upgrade istiod to 1.30 or later (which reads the newer CRDs), or install the Gateway API CRDs of a release below " + r.Ceiling.String() + "."
	}
	return "", nil, nil, ""
}

// GatewayAPICRDTooOld: an installed Gateway API CRD outside the releases
// istiod watches: its objects are ignored.
var GatewayAPICRDTooOld = &analysis.Analyzer{
	Code:     "MD120",
	Name:     "gateway-api-crd-too-old",
	Severity: analysis.Warning,
	Summary:  "A Gateway API CRD is outside the releases the installed Istio watches (too old, too new for it, without the bundle-version annotation, or not serving the version istiod reads): istiod ignores every object of that kind.",
	Doc:      doc("MD120"),
	Inputs:   []analysis.Input{crdKind},
	Reads:    map[schema.GroupKind][]string{snapshot.KindCRD: {"spec.versions.name", "spec.versions.served"}},
	Requires: []*analysis.Fact{facts.ComponentVersions},
	Run: func(p *analysis.Pass) error {
		vers := p.ResultOf(facts.ComponentVersions).(*facts.Versions)
		var istiod *facts.Component
		for i := range vers.Istiod {
			if istiod == nil || vers.Istiod[i].Version.Compare(istiod.Version) > 0 {
				istiod = &vers.Istiod[i]
			}
		}
		assumed := newestCitedIstio
		if istiod != nil {
			assumed = istiod.Version
			assumed.Raw = ""
		}
		for _, o := range p.Snapshot.List(snapshot.KindCRD) {
			for i := range gatewayCRDRules {
				r := &gatewayCRDRules[i]
				if r.CRD != o.Key.Name || !r.appliesTo(assumed) {
					continue
				}
				problem, at, ev, remedy := crdProblem(o, r)
				if problem == "" {
					continue
				}
				if _, ok := o.Annotations[bundleVersionAnnotation]; istiod == nil && !ok && r.filtered() {
					continue // no annotation and no istiod: too little to judge
				}
				f := analysis.Finding{
					Subject:   o.Key,
					Locations: []analysis.Location{analysis.LocationOf(o, at)},
					Remedy:    remedy,
					Key:       o.Key.Name,
					Evidence:  append(ev, r.Source),
				}
				if istiod != nil {
					f.Message = fmt.Sprintf("CRD %s %s: istiod %s ignores it, and %s.", o.Key.Name, problem, istiod.Version, crdConsequence(o.Key.Name))
					f.Evidence = append(f.Evidence, fmt.Sprintf("istiod %s is %s (%s)", istiod.Object.Ref(), istiod.Version, istiod.From))
					f.Related = []analysis.Related{analysis.RelatedOf(istiod.Object, "the Istio control plane")}
				} else {
					f.Severity = analysis.Info
					f.Message = fmt.Sprintf("CRD %s %s, for Istio %d.%d and later (the input has no istiod, so its version is assumed to be the newest cited, %d.%d): with such an istiod, %s.", o.Key.Name, problem, r.SinceIstio.Major, r.SinceIstio.Minor, newestCitedIstio.Major, newestCitedIstio.Minor, crdConsequence(o.Key.Name))
					f.Evidence = append(f.Evidence, fmt.Sprintf("istiod version unknown: assumed Istio %d.%d", newestCitedIstio.Major, newestCitedIstio.Minor))
				}
				p.Report(f)
			}
		}
		return nil
	},
}
