package istio

import (
	"strings"

	netv1alpha3 "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/facts"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// ExportToAnnotation is how a Kubernetes Service limits its visibility.
const ExportToAnnotation = "networking.istio.io/exportTo"

// Service is a Kubernetes Service as the mesh sees it.
type Service struct {
	Object   *snapshot.Object
	Spec     *corev1.Service
	Host     string
	exportTo []string
}

// Entry is a ServiceEntry.
type Entry struct {
	Object *snapshot.Object
	Spec   *netv1alpha3.ServiceEntry
}

// DestRule is a DestinationRule with its host resolved.
type DestRule struct {
	Object *snapshot.Object
	Spec   *netv1alpha3.DestinationRule
	Host   string
}

// Gateway is an Istio Gateway.
type Gateway struct {
	Object *snapshot.Object
	Spec   *netv1alpha3.Gateway
}

// Registry indexes what Istio's service registry and config store would
// hold, so that every lookup is a map hit: Services and ServiceEntries by
// host, DestinationRules by host, Gateways by namespace/name. Wildcard
// hosts are kept in short lists (there are few of them).
type Registry struct {
	Snapshot *snapshot.Snapshot
	Mesh     *facts.Mesh

	services     map[string][]*Service
	entries      map[string][]*Entry
	wildEntries  map[string][]*Entry // by the wildcard host itself
	rules        map[string][]*DestRule
	wildRules    map[string][]*DestRule // by the wildcard host itself
	ruleByObject map[*snapshot.Object]*DestRule
	gateways     map[string]*Gateway // "ns/name"
}

// Reads lists the fields the registry decodes, for analyzers' declarations.
var registryReads = map[schema.GroupKind][]string{
	snapshot.KindService:         {"spec.ports", "spec.selector", "spec.type"},
	snapshot.KindServiceEntry:    {"spec"},
	snapshot.KindDestinationRule: {"spec"},
	snapshot.KindGateway:         {"spec"},
	snapshot.KindVirtualService:  {"spec"},
}

// RegistryFact builds the Registry once per run.
var RegistryFact = &analysis.Fact{
	Name:     "istio-registry",
	Doc:      "Services, ServiceEntries, DestinationRules and Gateways indexed by host and name, as Istio's registry sees them.",
	Reads:    registryReads,
	Requires: []*analysis.Fact{facts.MeshConfig},
	Run: func(p *analysis.Pass) (any, error) {
		return buildRegistry(p.Snapshot, p.ResultOf(facts.MeshConfig).(*facts.Mesh)), nil
	},
}

func buildRegistry(s *snapshot.Snapshot, mesh *facts.Mesh) *Registry {
	r := &Registry{
		Snapshot:     s,
		Mesh:         mesh,
		services:     map[string][]*Service{},
		entries:      map[string][]*Entry{},
		wildEntries:  map[string][]*Entry{},
		rules:        map[string][]*DestRule{},
		wildRules:    map[string][]*DestRule{},
		ruleByObject: map[*snapshot.Object]*DestRule{},
		gateways:     map[string]*Gateway{},
	}
	for _, o := range s.List(snapshot.KindService) {
		svc, ok := o.Typed.(*corev1.Service)
		if !ok {
			continue
		}
		host := o.Key.Name + "." + o.Key.Namespace + ".svc." + DomainSuffix
		var exp []string
		if v := o.Annotations[ExportToAnnotation]; v != "" {
			for _, e := range strings.Split(v, ",") {
				exp = append(exp, strings.TrimSpace(e))
			}
		}
		r.services[host] = append(r.services[host], &Service{Object: o, Spec: svc, Host: host, exportTo: exp})
	}
	for _, o := range s.List(snapshot.KindServiceEntry) {
		se, ok := o.Typed.(*networkingv1.ServiceEntry)
		if !ok {
			continue
		}
		e := &Entry{Object: o, Spec: &se.Spec}
		for _, h := range se.Spec.GetHosts() {
			if wildcarded(h) {
				r.wildEntries[h] = append(r.wildEntries[h], e)
			} else {
				r.entries[h] = append(r.entries[h], e)
			}
		}
	}
	for _, o := range s.List(snapshot.KindDestinationRule) {
		dr, ok := o.Typed.(*networkingv1.DestinationRule)
		if !ok {
			continue
		}
		d := &DestRule{Object: o, Spec: &dr.Spec, Host: FQDN(dr.Spec.GetHost(), o.Key.Namespace)}
		r.ruleByObject[o] = d
		if wildcarded(d.Host) {
			r.wildRules[d.Host] = append(r.wildRules[d.Host], d)
		} else {
			r.rules[d.Host] = append(r.rules[d.Host], d)
		}
	}
	for _, o := range s.List(snapshot.KindGateway) {
		gw, ok := o.Typed.(*networkingv1.Gateway)
		if !ok {
			continue
		}
		r.gateways[o.Key.Namespace+"/"+o.Key.Name] = &Gateway{Object: o, Spec: &gw.Spec}
	}
	return r
}

// VirtualServices returns every VirtualService in input order.
func (r *Registry) VirtualServices() []*snapshot.Object {
	return r.Snapshot.List(snapshot.KindVirtualService)
}

// Services returns the Kubernetes Services named by fqdn visible from
// namespace from.
func (r *Registry) Services(fqdn, from string) []*Service {
	var out []*Service
	for _, s := range r.services[fqdn] {
		if visibleTo(s.exportTo, s.Object.Key.Namespace, from) {
			out = append(out, s)
		}
	}
	return out
}

// Entries returns the ServiceEntries whose hosts cover fqdn (exactly or by
// wildcard) and that are visible from namespace from.
func (r *Registry) Entries(fqdn, from string) []*Entry {
	var out []*Entry
	add := func(es []*Entry) {
		for _, e := range es {
			if visibleTo(e.Spec.GetExportTo(), e.Object.Key.Namespace, from) {
				out = append(out, e)
			}
		}
	}
	add(r.entries[fqdn])
	eachWildcardCover(fqdn, func(w string) bool { // the wildcards covering fqdn, by lookup
		add(r.wildEntries[w])
		return true
	})
	return out
}

// HostState says what the input tells about a destination host.
type HostState int

const (
	// HostFound: a Service or ServiceEntry defines the host.
	HostFound HostState = iota
	// HostMissing: the input holds what would define it, and nothing does.
	HostMissing
	// HostUnknown: the input lacks the objects that could define it.
	HostUnknown
)

// LookupHost tells whether fqdn (already resolved) is defined for clients
// in namespace from. A cluster-local host is judged only when the input
// holds Services of its namespace; any other host only when the input
// holds ServiceEntries.
func (r *Registry) LookupHost(fqdn, from string) (HostState, string) {
	if len(r.Services(fqdn, from)) > 0 || len(r.Entries(fqdn, from)) > 0 {
		return HostFound, ""
	}
	if _, ns, ok := ServiceOfHost(fqdn); ok {
		if !r.Snapshot.Covers(snapshot.KindService, ns) {
			return HostUnknown, "the input has no Services of namespace " + ns
		}
		return HostMissing, ""
	}
	if !r.Snapshot.Has(snapshot.KindServiceEntry) {
		return HostUnknown, "the input has no ServiceEntries"
	}
	return HostMissing, ""
}

// destHost is a destination host as written, resolved and looked up.
type destHost struct {
	fqdn  string
	state HostState
	why   string // for HostUnknown
	// alt is the Service a missing "name.namespace" host probably means.
	alt *Service
}

// resolveDestination resolves a host written in namespace ns and looks it
// up. A "name.namespace" host that is not defined while Service name in
// namespace exists is missing even when ServiceEntries are not in the
// input: Istio takes it literally.
func (r *Registry) resolveDestination(host, ns string) destHost {
	d := destHost{fqdn: FQDN(host, ns)}
	d.state, d.why = r.LookupHost(d.fqdn, ns)
	if d.state != HostFound {
		if d.alt = r.guessService(host); d.alt != nil {
			d.state = HostMissing
		}
	}
	return d
}

// guessService finds the Service a "name.namespace" or "name.namespace.svc"
// host probably means.
func (r *Registry) guessService(host string) *Service {
	name, ns, ok := strings.Cut(host, ".")
	if !ok {
		return nil
	}
	ns = strings.TrimSuffix(ns, ".svc")
	if strings.Contains(ns, ".") {
		return nil
	}
	if s := r.services[name+"."+ns+".svc."+DomainSuffix]; len(s) > 0 {
		return s[0]
	}
	return nil
}

// DestinationRules returns the DestinationRules visible from namespace from
// whose host covers fqdn: Istio picks among them by namespace (the
// client's, then the host's, then the root namespace) and merges those of
// one namespace.
func (r *Registry) DestinationRules(fqdn, from string) []*DestRule {
	var out []*DestRule
	for _, d := range r.rules[fqdn] {
		if visibleTo(d.Spec.GetExportTo(), d.Object.Key.Namespace, from) {
			out = append(out, d)
		}
	}
	eachWildcardCover(fqdn, func(w string) bool { // the wildcards covering fqdn, by lookup
		for _, d := range r.wildRules[w] {
			if visibleTo(d.Spec.GetExportTo(), d.Object.Key.Namespace, from) {
				out = append(out, d)
			}
		}
		return true
	})
	return out
}

// Gateway returns the Gateway "ns/name", or nil.
func (r *Registry) Gateway(key string) *Gateway { return r.gateways[key] }

// Gateways returns every Gateway.
func (r *Registry) Gateways() []*Gateway {
	out := make([]*Gateway, 0, len(r.gateways))
	for _, o := range r.Snapshot.List(snapshot.KindGateway) {
		if g := r.gateways[o.Key.Namespace+"/"+o.Key.Name]; g != nil {
			out = append(out, g)
		}
	}
	return out
}
