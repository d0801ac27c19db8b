package istio

import (
	"fmt"
	"reflect"
	"strings"

	metav1alpha1 "istio.io/api/meta/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

const gatewayAPIGroup = "gateway.networking.k8s.io"

var (
	istioStatusKinds = []schema.GroupKind{
		snapshot.KindVirtualService, snapshot.KindDestinationRule, snapshot.KindGateway, snapshot.KindServiceEntry,
		snapshot.KindSidecar, snapshot.KindEnvoyFilter, snapshot.KindPeerAuth, snapshot.KindAuthzPolicy,
		snapshot.KindRequestAuth, snapshot.KindWorkloadEntry, snapshot.KindWorkloadGroup, snapshot.KindProxyConfig,
		snapshot.KindTelemetry, snapshot.KindWasmPlugin,
	}
	gatewayAPIStatusKinds = []schema.GroupKind{
		kindGatewayClass, snapshot.KindK8sGateway, snapshot.KindHTTPRoute, snapshot.KindGRPCRoute,
		{Group: gatewayAPIGroup, Kind: "TLSRoute"}, {Group: gatewayAPIGroup, Kind: "TCPRoute"},
		{Group: gatewayAPIGroup, Kind: "UDPRoute"}, {Group: gatewayAPIGroup, Kind: "BackendTLSPolicy"},
	}
)

// negativeWhenTrue are condition types whose True state is the problem.
var negativeWhenTrue = map[string]bool{"Conflicted": true, "OverlappingTLSConfig": true, "Detached": true}

// condition is one status condition and where it is.
type condition struct {
	Path                          snapshot.Path // the condition's status field
	Where                         string        // "", "listener http", "parent Gateway x"
	Type, Status, Reason, Message string
	ObservedGeneration            int64
}

func (c condition) negative() bool {
	if negativeWhenTrue[c.Type] {
		return c.Status == "True"
	}
	return c.Status == "False"
}

// istioConditions reads the IstioStatus (or ServiceEntryStatus) conditions
// of a typed Istio object.
func istioConditions(o *snapshot.Object) []condition {
	v := reflect.ValueOf(o.Typed)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	f := v.Elem().FieldByName("Status")
	if !f.IsValid() || !f.CanAddr() {
		return nil
	}
	st, ok := f.Addr().Interface().(interface {
		GetConditions() []*metav1alpha1.IstioCondition
	})
	if !ok {
		return nil
	}
	var out []condition
	for i, c := range st.GetConditions() {
		out = append(out, condition{Path: snapshot.P("status", "conditions", i, "status"), Type: c.GetType(), Status: c.GetStatus(),
			Reason: c.GetReason(), Message: c.GetMessage(), ObservedGeneration: c.GetObservedGeneration()})
	}
	return out
}

// unstructuredConditions reads status.conditions and the conditions of
// status.listeners, status.parents and status.ancestors (Gateway API).
func unstructuredConditions(u map[string]any) []condition {
	status, _ := u["status"].(map[string]any)
	if status == nil {
		return nil
	}
	read := func(list any, at snapshot.Path, where string) []condition {
		items, _ := list.([]any)
		var out []condition
		for i, it := range items {
			m, _ := it.(map[string]any)
			if m == nil {
				continue
			}
			str := func(k string) string { s, _ := m[k].(string); return s }
			c := condition{Path: at.Child(i, "status"), Where: where, Type: str("type"), Status: str("status"), Reason: str("reason"), Message: str("message")}
			switch g := m["observedGeneration"].(type) {
			case int64:
				c.ObservedGeneration = g
			case float64:
				c.ObservedGeneration = int64(g)
			}
			out = append(out, c)
		}
		return out
	}
	out := read(status["conditions"], snapshot.P("status", "conditions"), "")
	for _, sub := range []string{"listeners", "parents", "ancestors"} {
		items, _ := status[sub].([]any)
		for i, it := range items {
			m, _ := it.(map[string]any)
			if m == nil {
				continue
			}
			out = append(out, read(m["conditions"], snapshot.P("status", sub, i, "conditions"), subjectOf(sub, m))...)
		}
	}
	return out
}

// subjectOf names a listener, parent or ancestor status entry.
func subjectOf(sub string, m map[string]any) string {
	switch sub {
	case "listeners":
		n, _ := m["name"].(string)
		return "listener " + n
	default:
		ref, _ := m[strings.TrimSuffix(sub, "s")+"Ref"].(map[string]any)
		name, _ := ref["name"].(string)
		ns, _ := ref["namespace"].(string)
		kind, _ := ref["kind"].(string)
		if kind == "" {
			kind = "Gateway"
		}
		if ns != "" {
			name = ns + "/" + name
		}
		return strings.TrimSuffix(sub, "s") + " " + kind + " " + name
	}
}

func generationOf(o *snapshot.Object) int64 {
	if acc, err := meta.Accessor(o.Typed); err == nil {
		return acc.GetGeneration()
	}
	return 0
}

// NegativeCondition: the controller reports in status that it could not
// accept, program or resolve the object.
var NegativeCondition = &analysis.Analyzer{
	Code:     "MD119",
	Name:     "negative-condition",
	Severity: analysis.Warning,
	Summary:  "An object's status carries a negative condition (Accepted=False, Programmed=False, ResolvedRefs=False, Conflicted=True, an Istio condition False): the controller did not apply it as written.",
	Doc:      doc("MD119"),
	Inputs:   []analysis.Input{analysis.Kinds(append(append([]schema.GroupKind{snapshot.KindService}, istioStatusKinds...), gatewayAPIStatusKinds...)...)},
	Reads: func() map[schema.GroupKind][]string {
		out := map[schema.GroupKind][]string{snapshot.KindService: {"status.conditions"}}
		for _, gk := range append(append([]schema.GroupKind(nil), istioStatusKinds...), gatewayAPIStatusKinds...) {
			out[gk] = []string{"status"}
		}
		return out
	}(),
	Run: func(p *analysis.Pass) error {
		s := p.Snapshot
		var objs []*snapshot.Object
		for _, gk := range append(append([]schema.GroupKind{snapshot.KindService}, istioStatusKinds...), gatewayAPIStatusKinds...) {
			objs = append(objs, s.List(gk)...)
		}
		for _, o := range objs {
			var conds []condition
			switch t := o.Typed.(type) {
			case *unstructured.Unstructured:
				conds = unstructuredConditions(t.Object)
			case *corev1.Service:
				for i, c := range t.Status.Conditions {
					if strings.Contains(c.Type, "istio.io") { // Istio's own conditions only
						conds = append(conds, condition{Path: snapshot.P("status", "conditions", i, "status"), Type: c.Type, Status: string(c.Status), Reason: c.Reason, Message: c.Message, ObservedGeneration: c.ObservedGeneration})
					}
				}
			default:
				conds = istioConditions(o)
			}
			gen := generationOf(o)
			var negs []condition
			for _, c := range conds {
				if !c.negative() || c.ObservedGeneration > 0 && gen > 0 && c.ObservedGeneration < gen {
					continue // fine, or about an older generation of the spec
				}
				if c.Type == "Reconciled" {
					continue // distribution progress (proxies not all acked yet), not a rejection
				}
				negs = append(negs, c)
			}
			for _, c := range negs {
				cause := causeOf(c, negs)
				if cause != nil {
					continue // Programmed=False because of another condition of the same entry
				}
				where := ""
				if c.Where != "" {
					where = " for " + c.Where
				}
				consequence, sev := conditionConsequence(o, c)
				f := analysis.Finding{
					Subject:   o.Key,
					Severity:  sev,
					Message:   fmt.Sprintf("%s reports %s=%s%s (reason %s: %s): %s.", o.Ref(), c.Type, c.Status, where, orDash(c.Reason), orDash(strings.TrimSuffix(strings.TrimSpace(c.Message), ".")), consequence),
					Locations: []analysis.Location{analysis.LocationOf(o, c.Path)},
					Evidence:  []string{conditionText(c)},
					Remedy:    "Fix what the condition's reason and message name (a missing backend, certificate or parent, a conflicting listener, an unsupported field), then check that the controller reports the condition positive again.",
					Key:       c.Path.String(),
				}
				for _, x := range negs {
					if x.Type == "Programmed" && causeOf(x, negs) != nil && x.Where == c.Where {
						f.Evidence = append(f.Evidence, conditionText(x)+" (a consequence)")
					}
				}
				if c.Type == "Programmed" && c.Reason == "AddressNotAssigned" {
					f.Remedy = "Give the Gateway's Service an external address: install a LoadBalancer implementation (cloud load balancer, MetalLB), or set the Service type the environment supports (annotation networking.istio.io/service-type: NodePort or ClusterIP on the Gateway) if no external address is needed."
				}
				p.Report(f)
			}
		}
		return nil
	},
}

// causeOf returns the condition of the same status entry that explains a
// Programmed=False (the entry was not accepted, a reference does not
// resolve, or it conflicts), nil when there is none.
func causeOf(c condition, negs []condition) *condition {
	if c.Type != "Programmed" {
		return nil
	}
	for i, x := range negs {
		if x.Where == c.Where && x.Type != "Programmed" {
			return &negs[i]
		}
	}
	return nil
}

func conditionText(c condition) string {
	where := ""
	if c.Where != "" {
		where = " for " + c.Where
	}
	return fmt.Sprintf("status%s: type %s, status %s, reason %s, message %q", where, c.Type, c.Status, orDash(c.Reason), c.Message)
}

// conditionConsequence says what a negative condition means where it sits
// (the object itself, a Gateway listener, a route's parent, a policy's
// ancestor), and how severe it is.
func conditionConsequence(o *snapshot.Object, c condition) (string, analysis.Severity) {
	gwAPI := o.Key.Group == gatewayAPIGroup
	switch {
	case c.Type == "Programmed" && c.Reason == "AddressNotAssigned":
		return "external address pending: the Gateway's Service has no external address yet (no LoadBalancer implementation, or one still allocating), so clients outside the cluster cannot reach it, while in-cluster traffic through the Service works", analysis.Warning
	case strings.HasPrefix(c.Where, "listener "):
		switch c.Type {
		case "Accepted":
			return "the listener was not accepted (unsupported protocol, port or setting), so it serves no traffic", analysis.Error
		case "Programmed":
			return "the listener was not programmed, so it serves no traffic", analysis.Error
		case "ResolvedRefs":
			switch c.Reason {
			case "InvalidCertificateRef", "RefNotPermitted":
				return "the listener's TLS certificate cannot be used (missing or invalid Secret, or a cross-namespace reference without ReferenceGrant), so it cannot terminate TLS and clients fail the handshake", analysis.Error
			case "InvalidRouteKinds":
				return "allowedRoutes names route kinds the controller does not support: routes of those kinds do not attach to the listener", analysis.Warning
			}
			return "a reference of the listener (certificate or route kinds) does not resolve, so it is not served as configured", analysis.Warning
		case "Conflicted", "OverlappingTLSConfig":
			return "the listener conflicts with another listener of the Gateway (port, protocol, hostname or certificate), so it is not served as configured", analysis.Warning
		}
	case strings.HasPrefix(c.Where, "parent "):
		switch c.Type {
		case "Accepted":
			return "the route is not attached to that parent, so requests through it never reach the route (404 from the gateway)", analysis.Error
		case "ResolvedRefs":
			return "backends that do not resolve are dropped; requests routed to them fail (500)", analysis.Warning
		}
		return "the route is not served as written through that parent", analysis.Warning
	case strings.HasPrefix(c.Where, "ancestor "):
		if c.Type == "Accepted" {
			return "the policy is not applied for that ancestor, so its traffic goes without it", analysis.Warning
		}
		return "the policy is not applied as written for that ancestor", analysis.Warning
	case gwAPI && o.Key.Kind == kindGatewayClass.Kind:
		return "the controller does not handle Gateways of this class as written", analysis.Warning
	case gwAPI && c.Type == "Accepted":
		return "the controller rejected it, so it is not served", analysis.Error
	case gwAPI && c.Type == "Programmed":
		return "the data plane was not configured for it, so it does not serve traffic", analysis.Error
	}
	switch c.Type {
	case "ResolvedRefs":
		return "references that do not resolve are dropped; requests to their backends fail (500)", analysis.Warning
	case "Conflicted", "OverlappingTLSConfig":
		return "the conflicting part is not served as configured", analysis.Warning
	}
	return "the controller did not apply the object as written", analysis.Warning
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
