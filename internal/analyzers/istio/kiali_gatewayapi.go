package istio

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/facts"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

var kindReferenceGrant = schema.GroupKind{Group: "gateway.networking.k8s.io", Kind: "ReferenceGrant"}

// K8sGatewayClassNotFound is Kiali's KIA1504: a Gateway API Gateway whose
// gatewayClassName names no GatewayClass. Judged only when the input holds
// GatewayClasses (the Input requires them), so a class that was not
// exported is not reported missing. Istio's built-in class names (istio,
// istio-waypoint, istio-remote, istio-east-west) are served by istiod
// without a GatewayClass object (pilot/pkg/config/kube/gateway,
// getGatewayClasses: builtinClasses) and are not reported.
var K8sGatewayClassNotFound = &analysis.Analyzer{
	Code:     "MD246",
	Name:     "k8s-gateway-class-not-found",
	Severity: analysis.Error,
	Summary:  "A Gateway API Gateway names a gatewayClassName for which there is no GatewayClass: no controller picks it up, so it is never programmed and its routes serve nothing.",
	Doc:      doc("MD246"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindK8sGateway), analysis.Kinds(kindGatewayClass)},
	Reads:    map[schema.GroupKind][]string{snapshot.KindK8sGateway: {"spec.gatewayClassName"}, kindGatewayClass: {}},
	Run: func(p *analysis.Pass) error {
		if !p.Snapshot.Has(kindGatewayClass) {
			return nil
		}
		var classes []string
		for _, c := range p.Snapshot.List(kindGatewayClass) {
			classes = append(classes, c.Key.Name)
		}
		sort.Strings(classes)
		for _, o := range p.Snapshot.List(snapshot.KindK8sGateway) {
			u, ok := o.Typed.(*unstructured.Unstructured)
			if !ok {
				continue
			}
			class, _, _ := unstructured.NestedString(u.Object, "spec", "gatewayClassName")
			if class == "" || istioGatewayClasses[class] || p.Snapshot.Get(kindGatewayClass, "", class) != nil {
				continue
			}
			p.Report(analysis.Finding{
				Subject:   o.Key,
				Message:   fmt.Sprintf("%s names gatewayClassName %q, but no GatewayClass %s exists (the input holds %d: %s): no controller takes the Gateway, so it gets no deployment or listeners and stays unaccepted, and the routes attached to it serve no traffic.", o.Ref(), class, class, len(classes), strings.Join(classes, ", ")),
				Locations: []analysis.Location{analysis.LocationOf(o, snapshot.P("spec", "gatewayClassName"))},
				Evidence:  []string{fmt.Sprintf("spec.gatewayClassName: %q", class), "GatewayClasses in the input: " + strings.Join(classes, ", ")},
				Remedy:    fmt.Sprintf("Set gatewayClassName to an installed class (for Istio: istio), or create the GatewayClass %s for the controller meant to serve it.", class),
				Key:       "gatewayClassName",
			})
		}
		return nil
	},
}

// ReferenceGrantNamespaceNotFound is Kiali's KIA1601: a ReferenceGrant
// allows references from a namespace that does not exist, judged only
// against a complete Namespace list.
var ReferenceGrantNamespaceNotFound = &analysis.Analyzer{
	Code:     "MD247",
	Name:     "referencegrant-from-namespace-not-found",
	Severity: analysis.Warning,
	Summary:  "A ReferenceGrant allows references from a namespace that does not exist: that entry permits nothing (if it is a typo, the routes or gateways of the namespace meant are still refused).",
	Doc:      doc("MD247"),
	Inputs:   []analysis.Input{analysis.Kinds(kindReferenceGrant), analysis.Kinds(snapshot.KindNamespace)},
	Reads:    map[schema.GroupKind][]string{kindReferenceGrant: {"spec.from"}, snapshot.KindNamespace: {}},
	Requires: []*analysis.Fact{facts.MeshConfig},
	Run: func(p *analysis.Pass) error {
		nsx := newNamespaceIndex(p.Snapshot, p.ResultOf(facts.MeshConfig).(*facts.Mesh).RootNamespace())
		for _, o := range p.Snapshot.List(kindReferenceGrant) {
			u, ok := o.Typed.(*unstructured.Unstructured)
			if !ok {
				continue
			}
			from, _, _ := unstructured.NestedSlice(u.Object, "spec", "from")
			for i, f := range from {
				m, ok := f.(map[string]any)
				if !ok {
					continue
				}
				ns, _ := m["namespace"].(string)
				if ns == "" || nsx.set[ns] {
					continue
				}
				if !nsx.known() {
					p.NotChecked("from[%d].namespace of %s: the input does not list every Namespace", i, o.Ref())
					continue
				}
				kind, _ := m["kind"].(string)
				p.Report(analysis.Finding{
					Subject:   o.Key,
					Message:   fmt.Sprintf("%s allows %s references from namespace %s, which the input's complete Namespace list does not hold: the entry permits nothing, and if %s is a typo the %ss of the namespace meant are still refused (ResolvedRefs=False, RefNotPermitted).", o.Ref(), kind, ns, ns, kind),
					Locations: []analysis.Location{analysis.LocationOf(o, snapshot.P("spec", "from", i, "namespace"))},
					Evidence:  []string{fmt.Sprintf("spec.from[%d]: kind %s, namespace %s", i, kind, ns), fmt.Sprintf("namespaces listed: %d", len(nsx.names))},
					Remedy:    "Correct the namespace name in spec.from, remove the entry, or create the namespace if it is still to come.",
					Key:       fmt.Sprintf("from[%d]", i),
				})
			}
		}
		return nil
	},
}
