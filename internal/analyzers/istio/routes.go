package istio

import (
	netv1alpha3 "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// RouteDest is one destination of a VirtualService with where it is written.
type RouteDest struct {
	VS   *snapshot.Object
	Dest *netv1alpha3.Destination
	// Kind is http, tls or tcp (mirror destinations are http).
	Kind string
	// Mirror is set for http mirror destinations, which copy traffic.
	Mirror bool
	// rule, list and index locate the destination object (see Path).
	rule  int
	list  string // route, mirror or mirrors
	index int    // in list (not for mirror)
}

// Path is the path of the destination object. It is made only for
// findings: seven checks list every destination of every VirtualService.
func (d RouteDest) Path() snapshot.Path {
	if d.list == "mirror" {
		return snapshot.P("spec", d.Kind, d.rule, "mirror")
	}
	return snapshot.P("spec", d.Kind, d.rule, d.list, d.index, "destination")
}

// virtualService returns the typed spec of a VirtualService object.
func virtualService(o *snapshot.Object) *netv1alpha3.VirtualService {
	if vs, ok := o.Typed.(*networkingv1.VirtualService); ok {
		return &vs.Spec
	}
	return nil
}

// Destinations lists every destination a VirtualService routes or mirrors to.
func Destinations(o *snapshot.Object) []RouteDest {
	vs := virtualService(o)
	if vs == nil {
		return nil
	}
	var out []RouteDest
	add := func(kind string, i int, routes []*netv1alpha3.RouteDestination) {
		for j, rd := range routes {
			if rd.GetDestination() != nil {
				out = append(out, RouteDest{VS: o, Dest: rd.GetDestination(), Kind: kind, rule: i, list: "route", index: j})
			}
		}
	}
	for i, h := range vs.GetHttp() {
		for j, rd := range h.GetRoute() {
			if rd.GetDestination() != nil {
				out = append(out, RouteDest{VS: o, Dest: rd.GetDestination(), Kind: "http", rule: i, list: "route", index: j})
			}
		}
		if h.GetMirror() != nil {
			out = append(out, RouteDest{VS: o, Dest: h.GetMirror(), Kind: "http", Mirror: true, rule: i, list: "mirror"})
		}
		for j, m := range h.GetMirrors() {
			if m.GetDestination() != nil {
				out = append(out, RouteDest{VS: o, Dest: m.GetDestination(), Kind: "http", Mirror: true, rule: i, list: "mirrors", index: j})
			}
		}
	}
	for i, t := range vs.GetTls() {
		add("tls", i, t.GetRoute())
	}
	for i, t := range vs.GetTcp() {
		add("tcp", i, t.GetRoute())
	}
	return out
}
