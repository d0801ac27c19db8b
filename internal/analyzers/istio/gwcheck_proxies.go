package istio

import (
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// gatewayProxy is one kind of gateway proxy and the Gateways istiod merges
// into its configuration. Gateways select proxies by labels in every
// namespace, so pods with the same labels get the same Gateways; one
// gatewayProxy stands for all pods (or pod templates) of one namespace
// with one label set.
type gatewayProxy struct {
	// Sample is one pod or pod template of the group; nil for a proxy
	// inferred from selectors alone (the input holds no gateway pods).
	Sample *snapshot.Object
	// Namespace is the proxies' namespace ("" when inferred).
	Namespace string
	// Labels is the proxies' label set (for an inferred proxy, the
	// selector it is inferred from).
	Labels string
	// Gateways are merged in istiod's order: oldest first.
	Gateways []*Gateway
}

// Describe names the proxy for messages.
func (gp *gatewayProxy) Describe() string {
	if gp.Sample == nil {
		if gp.Namespace != "" {
			return "gateway pods labelled " + gp.Labels + " in namespace " + gp.Namespace + " (inferred from the selectors: the input holds no gateway pods)"
		}
		return "gateway pods labelled " + gp.Labels + " (inferred from the selectors: the input holds no gateway pods)"
	}
	return "gateway proxy " + gp.Sample.Ref()
}

// gatewayProxiesFact groups Gateways by the proxies that serve them. With
// the gateway pods (or their Deployments) in the input, two Gateways share a
// proxy when their selectors pick the same pod. Without them, a Gateway
// whose selector is a subset of another's (or equal) shares its proxies.
var gatewayProxiesFact = &analysis.Fact{
	Name:     "istio-gateway-proxies",
	Doc:      "Gateways grouped by the gateway proxies (pods, else pod templates, else selectors) that merge them.",
	Reads:    gatewayWorkloadReads,
	Requires: []*analysis.Fact{RegistryFact},
	Run: func(p *analysis.Pass) (any, error) {
		scoped, _ := gatewayScope(p.Snapshot)
		return gatewayProxies(p.ResultOf(RegistryFact).(*Registry), scoped), nil
	},
}

// With scoped (PILOT_SCOPE_GATEWAY_TO_NAMESPACE), a Gateway applies only to
// gateway pods of its own namespace.
func gatewayProxies(r *Registry, scoped bool) []*gatewayProxy {
	groups := map[string]*gatewayProxy{}
	var order []string
	var inferred []*Gateway
	for _, g := range r.Gateways() {
		_, objs, known := selectGatewayWorkloads(r, g, scoped)
		if len(objs) == 0 {
			if !known {
				inferred = append(inferred, g)
			}
			continue // selects nothing: MD207
		}
		seen := map[string]bool{}
		for _, o := range objs {
			l := o.Labels
			if o.Key.GroupKind() != snapshot.KindPod {
				_, _, l, _ = snapshot.PodSpecOf(o)
			}
			k := o.Key.Namespace + "\x00" + labelsText(l)
			if seen[k] {
				continue
			}
			seen[k] = true
			gp := groups[k]
			if gp == nil {
				gp = &gatewayProxy{Sample: o, Namespace: o.Key.Namespace, Labels: labelsText(l)}
				groups[k] = gp
				order = append(order, k)
			}
			gp.Gateways = append(gp.Gateways, g)
		}
	}
	// Without pods, a proxy carrying exactly a Gateway's selector labels is
	// served by every Gateway whose selector is a subset of them.
	// Scoped, only Gateways of one namespace share a proxy.
	scope := func(g *Gateway) string {
		if scoped {
			return g.Object.Key.Namespace + "\x00"
		}
		return ""
	}
	bySelector := map[string][]*Gateway{}
	for _, g := range inferred {
		k := scope(g) + labelsText(g.Spec.GetSelector())
		bySelector[k] = append(bySelector[k], g)
	}
	var sels []string
	for k := range bySelector {
		sels = append(sels, k)
	}
	sort.Strings(sels)
	for _, k := range sels {
		first := bySelector[k][0]
		sel := first.Spec.GetSelector()
		gp := &gatewayProxy{Labels: labelsText(sel)}
		if scoped {
			gp.Namespace = first.Object.Key.Namespace
		}
		for _, sub := range labelSubsets(sel) {
			gp.Gateways = append(gp.Gateways, bySelector[scope(first)+labelsText(sub)]...)
		}
		groups["\x00sel\x00"+k] = gp
		order = append(order, "\x00sel\x00"+k)
	}
	// Drop groups with the same Gateways as an earlier one (a single Gateway
	// stays: its own servers can conflict).
	var out []*gatewayProxy
	same := map[string]bool{}
	for _, k := range order {
		gp := groups[k]
		if len(gp.Gateways) == 0 {
			continue
		}
		sort.SliceStable(gp.Gateways, func(i, j int) bool { return olderFirst(gp.Gateways[i].Object, gp.Gateways[j].Object) })
		var names []string
		for _, g := range gp.Gateways {
			names = append(names, g.Object.Ref())
		}
		sig := gp.Namespace + "\x00" + strings.Join(names, "\x00")
		if same[sig] {
			continue
		}
		same[sig] = true
		out = append(out, gp)
	}
	return out
}

// labelSubsets lists every subset of a label set, the set itself included
// and the empty set too (an empty selector selects every pod). Selectors
// are short; beyond 10 labels only the set itself and the empty set are
// returned.
func labelSubsets(l map[string]string) []map[string]string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) > 10 {
		return []map[string]string{l, {}}
	}
	var out []map[string]string
	for mask := 0; mask < 1<<len(keys); mask++ {
		sub := map[string]string{}
		for i, k := range keys {
			if mask&(1<<i) != 0 {
				sub[k] = l[k]
			}
		}
		out = append(out, sub)
	}
	return out
}

// selectorOf returns a Gateway's selector for messages.
func selectorOf(g *Gateway) string {
	return selectorText(labels.SelectorFromSet(g.Spec.GetSelector()))
}
