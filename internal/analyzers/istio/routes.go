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
	// Path is the path of the destination object; Kind is http, tls or tcp
	// (mirror destinations are http).
	Path snapshot.Path
	Kind string
	// Route is the index of the route among its kind's routes.
	Route int
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
	spec := snapshot.P("spec")
	var out []RouteDest
	for i, h := range vs.GetHttp() {
		for j, rd := range h.GetRoute() {
			if rd.GetDestination() != nil {
				out = append(out, RouteDest{VS: o, Dest: rd.GetDestination(), Path: spec.Child("http", i, "route", j, "destination"), Kind: "http", Route: i})
			}
		}
		if h.GetMirror() != nil {
			out = append(out, RouteDest{VS: o, Dest: h.GetMirror(), Path: spec.Child("http", i, "mirror"), Kind: "http", Route: i})
		}
		for j, m := range h.GetMirrors() {
			if m.GetDestination() != nil {
				out = append(out, RouteDest{VS: o, Dest: m.GetDestination(), Path: spec.Child("http", i, "mirrors", j, "destination"), Kind: "http", Route: i})
			}
		}
	}
	for i, t := range vs.GetTls() {
		for j, rd := range t.GetRoute() {
			if rd.GetDestination() != nil {
				out = append(out, RouteDest{VS: o, Dest: rd.GetDestination(), Path: spec.Child("tls", i, "route", j, "destination"), Kind: "tls", Route: i})
			}
		}
	}
	for i, t := range vs.GetTcp() {
		for j, rd := range t.GetRoute() {
			if rd.GetDestination() != nil {
				out = append(out, RouteDest{VS: o, Dest: rd.GetDestination(), Path: spec.Child("tcp", i, "route", j, "destination"), Kind: "tcp", Route: i})
			}
		}
	}
	return out
}
