package istio

import (
	"net/netip"
	"strings"
)

// DomainSuffix is the cluster's DNS domain. Istio reads it from
// DOMAIN_SUFFIX; nearly every cluster keeps the default.
const DomainSuffix = "cluster.local"

// FQDN resolves a host written in namespace ns the way Istio does
// (ResolveShortnameToFQDN): a name without a dot is a Service of that
// namespace; wildcards, IPs and names with a dot stay as written. So
// "reviews" means reviews.<ns>.svc.cluster.local, but "reviews.bookinfo"
// is taken literally and matches no Kubernetes Service.
func FQDN(host, ns string) string {
	if host == "*" || strings.Contains(host, ".") || host == "" {
		return host
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return host
	}
	return host + "." + ns + ".svc." + DomainSuffix
}

// ServiceOfHost splits a cluster-local FQDN name.ns.svc.cluster.local into
// its Service name and namespace.
func ServiceOfHost(fqdn string) (name, ns string, ok bool) {
	rest, found := strings.CutSuffix(fqdn, ".svc."+DomainSuffix)
	if !found {
		return "", "", false
	}
	name, ns, found = strings.Cut(rest, ".")
	if !found || name == "" || ns == "" || strings.Contains(ns, ".") {
		return "", "", false
	}
	return name, ns, true
}

func wildcarded(h string) bool { return strings.HasPrefix(h, "*") }

// hostsMatch is Istio's host.Name.Matches: true when the two hosts (either
// possibly a wildcard like *.example.com or *) have a name in common.
func hostsMatch(a, b string) bool {
	aw, bw := wildcarded(a), wildcarded(b)
	switch {
	case aw && bw:
		if len(a) < len(b) {
			return strings.HasSuffix(b[1:], a[1:])
		}
		return strings.HasSuffix(a[1:], b[1:])
	case aw:
		return strings.HasSuffix(b, a[1:])
	case bw:
		return strings.HasSuffix(a, b[1:])
	}
	return a == b
}

// hostSubsetOf is Istio's host.Name.SubsetOf: every name a covers, b
// covers too.
func hostSubsetOf(a, b string) bool {
	if wildcarded(b) {
		if !wildcarded(a) {
			return strings.HasSuffix(a, b[1:])
		}
		return strings.HasSuffix(a[1:], b[1:])
	}
	return !wildcarded(a) && a == b
}

// visibleTo reports whether an object of namespace ns exported to exportTo
// is visible from namespace from. Empty means exported everywhere (the
// mesh default); "." is the object's own namespace; "~" is nowhere.
func visibleTo(exportTo []string, ns, from string) bool {
	if len(exportTo) == 0 {
		return true
	}
	for _, e := range exportTo {
		switch e {
		case "*":
			return true
		case ".":
			if ns == from {
				return true
			}
		default:
			if e == from {
				return true
			}
		}
	}
	return false
}
