// Package istioref resolves the references Istio objects make to one
// another by name, as istiod does, for every layer that needs them (the
// analyzers, and the live source deciding which namespaces to read).
package istioref

import "strings"

// GatewayRef resolves a VirtualService's gateway reference: "mesh",
// "ns/name" ("./name" for the VirtualService's own namespace), the legacy
// "name.ns[.svc.cluster.local]", or a bare name in the VirtualService's
// namespace. It returns "ns/name" (or "mesh").
func GatewayRef(ref, vsNS string) string {
	if ref == "mesh" {
		return ref
	}
	if ns, name, ok := strings.Cut(ref, "/"); ok {
		if ns == "." {
			ns = vsNS
		}
		return ns + "/" + name
	}
	if name, rest, ok := strings.Cut(ref, "."); ok {
		ns, _, _ := strings.Cut(rest, ".")
		return ns + "/" + name
	}
	return vsNS + "/" + ref
}
