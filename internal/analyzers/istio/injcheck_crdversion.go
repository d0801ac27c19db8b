package istio

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/facts"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/version"
)

// bundleVersionAnnotation is where Gateway API CRDs record their release.
const bundleVersionAnnotation = "gateway.networking.k8s.io/bundle-version"

// gatewayCRDMinimum is a Gateway API CRD release Istio requires from a
// given Istio release on; below it istiod's CRD watcher ignores the CRD.
type gatewayCRDMinimum struct {
	CRD        string
	Minimum    version.V
	SinceIstio version.V
	Source     string
}

// gatewayCRDMinimums, researched from Istio's sources and release notes:
// the CRD watcher's minimumCRDVersions and, since 1.30, the analyzer's
// gatewayapi.MinimumCRDVersions.
var gatewayCRDMinimums = []gatewayCRDMinimum{
	{"grpcroutes.gateway.networking.k8s.io", version.MustParse("1.1.0"), version.MustParse("1.22.0"), "Istio 1.22 watches GRPCRoute v1 (Gateway API 1.1, istio/istio#50408)"},
	{"backendtlspolicies.gateway.networking.k8s.io", version.MustParse("1.4.0"), version.MustParse("1.28.0"), "Istio 1.28 supports only BackendTLSPolicy v1 (1.28 upgrade notes)"},
	{"tlsroutes.gateway.networking.k8s.io", version.MustParse("1.5.0"), version.MustParse("1.30.0"), "Istio 1.30 watches TLSRoute of Gateway API 1.5 (IST0176)"},
}

// newestCitedIstio is the newest Istio release the table above covers.
var newestCitedIstio = version.MustParse("1.30.0")

var crdKind = analysis.Kinds(snapshot.KindCRD)

// GatewayAPICRDTooOld: an installed Gateway API CRD older than what istiod
// watches: its objects are ignored.
var GatewayAPICRDTooOld = &analysis.Analyzer{
	Code:     "MD120",
	Name:     "gateway-api-crd-too-old",
	Severity: analysis.Warning,
	Summary:  "A Gateway API CRD's bundle version is below the minimum the installed Istio requires: istiod ignores every object of that kind.",
	Doc:      doc("MD120"),
	Inputs:   []analysis.Input{crdKind},
	Reads:    map[schema.GroupKind][]string{},
	Requires: []*analysis.Fact{facts.ComponentVersions},
	Run: func(p *analysis.Pass) error {
		vers := p.ResultOf(facts.ComponentVersions).(*facts.Versions)
		var istiod *facts.Component
		for i := range vers.Istiod {
			if istiod == nil || vers.Istiod[i].Version.Compare(istiod.Version) > 0 {
				istiod = &vers.Istiod[i]
			}
		}
		for _, o := range p.Snapshot.List(snapshot.KindCRD) {
			var req *gatewayCRDMinimum
			for i := range gatewayCRDMinimums {
				if gatewayCRDMinimums[i].CRD == o.Key.Name {
					req = &gatewayCRDMinimums[i]
				}
			}
			if req == nil {
				continue
			}
			raw, ok := o.Annotations[bundleVersionAnnotation]
			if !ok {
				continue
			}
			have, ok := version.Parse(raw)
			if !ok {
				continue
			}
			have.Raw = ""
			if have.AtLeast(req.Minimum) {
				continue
			}
			f := analysis.Finding{
				Subject:   o.Key,
				Locations: []analysis.Location{analysis.LocationOf(o, snapshot.P("metadata", "annotations", bundleVersionAnnotation))},
				Remedy:    fmt.Sprintf("Upgrade the Gateway API CRDs to at least v%s (kubectl apply --server-side -f https://github.com/kubernetes-sigs/gateway-api/releases/download/v%s/standard-install.yaml, or experimental-install.yaml for experimental kinds).", req.Minimum, req.Minimum),
				Key:       o.Key.Name,
			}
			kind := strings.SplitN(o.Key.Name, ".", 2)[0]
			switch {
			case istiod != nil && !istiod.Version.AtLeast(req.SinceIstio):
				continue // this istiod still watches the older CRD
			case istiod != nil:
				f.Message = fmt.Sprintf("CRD %s is Gateway API %s, but istiod %s requires at least %s: istiod does not watch %s, so they are never programmed (routes report no attachment, listeners stay unprogrammed).", o.Key.Name, raw, istiod.Version, req.Minimum, kind)
				f.Evidence = []string{bundleVersionAnnotation + ": " + raw, fmt.Sprintf("istiod %s is %s (%s)", istiod.Object.Ref(), istiod.Version, istiod.From), req.Source}
				f.Related = []analysis.Related{analysis.RelatedOf(istiod.Object, "the Istio control plane")}
			default:
				f.Severity = analysis.Info
				f.Message = fmt.Sprintf("CRD %s is Gateway API %s, below the %s that Istio %d.%d and later require (the input has no istiod, so its version is assumed to be the newest cited, %d.%d): with such an istiod, %s are ignored.", o.Key.Name, raw, req.Minimum, req.SinceIstio.Major, req.SinceIstio.Minor, newestCitedIstio.Major, newestCitedIstio.Minor, kind)
				f.Evidence = []string{bundleVersionAnnotation + ": " + raw, req.Source, "istiod version unknown: assumed Istio " + fmt.Sprintf("%d.%d", newestCitedIstio.Major, newestCitedIstio.Minor)}
			}
			p.Report(f)
		}
		return nil
	},
}
