package istio

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	netv1alpha3 "istio.io/api/networking/v1alpha3"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// validateVirtualServiceObj follows validation.ValidateVirtualService and
// the functions it calls (validateHTTPRoute, validateTLSRoute,
// validateTCPRoute, validateGatewayNames, ...).
func validateVirtualServiceObj(s issueSink) {
	vs := virtualService(s.obj)
	if vs == nil {
		return
	}
	spec := snapshot.P("spec")
	const up = "ValidateVirtualService"
	delegate := len(vs.GetHosts()) == 0
	if delegate {
		// Without hosts the VirtualService is a delegate, which may carry
		// neither gateways nor TLS/TCP routes.
		if len(vs.GetGateways()) > 0 {
			s.err(spec.Child("gateways"), "delegate-gateways", up, "a VirtualService without hosts is a delegate, and a delegate may not list gateways", fmt.Sprintf("hosts: [], gateways: %v", vs.GetGateways()), "Add the hosts this VirtualService serves, or, if it is a delegate, remove gateways (the root VirtualService binds the gateways).")
		}
		if len(vs.GetTls()) > 0 {
			s.err(spec.Child("tls"), "delegate-tls", up, "a VirtualService without hosts is a delegate, and delegates support only http routes", "hosts: [], tls routes present", "Add the hosts this VirtualService serves, or move the TLS routes to the root VirtualService.")
		}
		if len(vs.GetTcp()) > 0 {
			s.err(spec.Child("tcp"), "delegate-tcp", up, "a VirtualService without hosts is a delegate, and delegates support only http routes", "hosts: [], tcp routes present", "Add the hosts this VirtualService serves, or move the TCP routes to the root VirtualService.")
		}
	}
	checkGatewayNames(s, spec.Child("gateways"), vs.GetGateways())
	toGateway := len(vs.GetGateways()) > 0
	for _, g := range vs.GetGateways() {
		if g == "mesh" {
			toGateway = false
		}
	}
	if !toGateway {
		for i, h := range vs.GetHttp() {
			for j, m := range h.GetMatch() {
				for _, field := range []string{"headers", "withoutHeaders"} {
					hm := m.GetHeaders()
					if field == "withoutHeaders" {
						hm = m.GetWithoutHeaders()
					}
					for _, k := range sortedKeys(hm) {
						if isJWTClaimKey(k) {
							s.err(spec.Child("http", i, "match", j, field, k), "jwt-claim-mesh", up, "routing on a JWT claim works only on gateways, and this VirtualService applies to sidecars (mesh)", fmt.Sprintf("%s key %q, gateways %v", field, k, vs.GetGateways()), "Bind the VirtualService to the ingress gateway (gateways: [ns/name]) or match on a header the application sets.")
						}
					}
				}
			}
		}
	}
	sni := false
	for _, t := range vs.GetTls() {
		for _, m := range t.GetMatch() {
			if len(m.GetSniHosts()) > 0 {
				sni = true
			}
		}
	}
	allValid := true
	for i, h := range vs.GetHosts() {
		at := spec.Child("hosts", i)
		var err error
		if toGateway {
			err = validateGatewayBoundHost(sni, h)
		} else {
			err = validateWildcardDomain(h)
		}
		switch {
		case err != nil && !isIP(h):
			s.err(at, "host", up, err.Error(), h, "Use a DNS name (optionally with a leading \"*.\" wildcard label), e.g. reviews, reviews.prod.svc.cluster.local or *.example.com.")
			allValid = false
		case err == nil && !toGateway && h == "*":
			s.err(at, "host-star-mesh", up, "the wildcard host \"*\" is not allowed for VirtualServices bound to the mesh", h, "Name the hosts the sidecars should route, or bind the VirtualService to a gateway.")
			allValid = false
		}
	}
	if allValid {
		hosts := vs.GetHosts()
		for i := range hosts {
			for j := i + 1; j < len(hosts); j++ {
				if hostsMatch(hosts[i], hosts[j]) {
					s.err(spec.Child("hosts", j), "duplicate-host", up, fmt.Sprintf("host %q overlaps host %q of the same VirtualService", hosts[j], hosts[i]), fmt.Sprintf("hosts[%d]: %s, hosts[%d]: %s", i, hosts[i], j, hosts[j]), "Remove the narrower host: the wider one already covers it.")
				}
			}
		}
	}
	if len(vs.GetHttp()) == 0 && len(vs.GetTcp()) == 0 && len(vs.GetTls()) == 0 {
		s.err(spec, "no-routes", up, "the VirtualService has no http, tcp or tls routes", "http, tcp and tls are all empty", "Add at least one route.")
	}
	for i, h := range vs.GetHttp() {
		validateHTTPRouteSpec(s, spec.Child("http", i), h, delegate)
	}
	for i, t := range vs.GetTls() {
		at := spec.Child("tls", i)
		if len(t.GetMatch()) == 0 {
			s.err(at, "tls-no-match", "validateTLSRoute", "a TLS route needs at least one match (with sniHosts)", "match: []", "Add match: [{sniHosts: [...]}].")
		}
		for j, m := range t.GetMatch() {
			mat := at.Child("match", j)
			if len(m.GetSniHosts()) == 0 {
				s.err(mat, "tls-no-sni", "validateTLSMatch", "a TLS match needs at least one SNI host", "sniHosts: []", "Add the SNI hosts this route matches (a subset of the VirtualService hosts).")
			}
			for k, h := range m.GetSniHosts() {
				checkSNIHost(s, mat.Child("sniHosts", k), h, vs, toGateway)
			}
			checkL4Match(s, mat, m.GetDestinationSubnets(), m.GetPort(), m.GetSourceLabels(), m.GetGateways(), "validateTLSMatch")
		}
		if len(t.GetRoute()) == 0 {
			s.err(at, "tls-no-route", "validateTLSRoute", "a TLS route needs a route", "route: []", "Add route: [{destination: {host: ...}}].")
		}
		checkRouteDestinations(s, at, t.GetRoute())
	}
	for i, t := range vs.GetTcp() {
		at := spec.Child("tcp", i)
		for j, m := range t.GetMatch() {
			checkL4Match(s, at.Child("match", j), m.GetDestinationSubnets(), m.GetPort(), m.GetSourceLabels(), m.GetGateways(), "validateTCPMatch")
		}
		if len(t.GetRoute()) == 0 {
			s.err(at, "tcp-no-route", "validateTCPRoute", "a TCP route needs a route", "route: []", "Add route: [{destination: {host: ...}}].")
		}
		checkRouteDestinations(s, at, t.GetRoute())
	}
	checkExportTo(s, spec.Child("exportTo"), vs.GetExportTo(), false)
}

// validateGatewayBoundHost is
// agent.ValidateWildcardDomainForVirtualServiceBoundToGateway: as
// validateWildcardDomain, and SNI hosts may be Istio's generated
// "outbound_.<port>_._.<host>" names.
func validateGatewayBoundHost(sni bool, h string) error {
	if err := checkDomainPreconditions(h); err != nil {
		return err
	}
	if sni && strings.HasPrefix(h, "outbound_") {
		return autoSNIProblem(h)
	}
	return validateWildcardDomain(h)
}

// autoSNIProblem is the check of parseAutoGeneratedSNIDomain and its
// caller: split at "_", the name needs four parts, the first "outbound",
// a port part holding a digit and a host part holding a letter.
func autoSNIProblem(h string) error {
	const format = "outbound_.<port>_._.<hostname>"
	parts := strings.Split(h, "_")
	if len(parts) < 4 {
		return fmt.Errorf("domain name %q does not follow the %s format", h, format)
	}
	port, host := strings.Trim(parts[1], "."), strings.Trim(parts[3], ".")
	switch {
	case parts[0] != "outbound":
		return fmt.Errorf("domain name %q has an invalid label %q", h, parts[0])
	case !strings.ContainsAny(port, "0123456789"):
		return fmt.Errorf("domain name %q has an invalid port label %q (format %s)", h, port, format)
	case !strings.ContainsFunc(host, func(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }):
		return fmt.Errorf("domain name %q has an invalid host part %q (format %s)", h, host, format)
	}
	return nil
}

// checkGatewayNames is validation.validateGatewayNames: "ns/name", or a
// name (a legacy "name.ns.svc.cluster.local" form draws a warning).
func checkGatewayNames(s issueSink, at snapshot.Path, names []string) {
	const up = "validateGatewayNames"
	for i, g := range names {
		p := at.Child(i)
		ns, name, slash := strings.Cut(g, "/")
		if !slash {
			if strings.Contains(g, ".") {
				parts := strings.Split(g, ".")
				s.warn(p, "legacy-gateway-name", up, fmt.Sprintf("gateway reference %q uses the legacy <name>.<namespace>... form", g), g, fmt.Sprintf("Write it as %s/%s.", parts[1], parts[0]))
			}
			if err := validateFQDN(g); err != nil {
				s.err(p, "gateway-name", up, "invalid gateway reference: "+err.Error(), g, "Write the gateway as <namespace>/<name>, e.g. istio-system/public-gateway.")
			}
			// Upstream stops at the first name of this form.
			return
		}
		switch {
		case ns == "" || name == "":
			s.err(p, "gateway-name", up, "the namespace and the name of a gateway reference cannot be empty", g, "Write the gateway as <namespace>/<name>.")
		case !isDNS1123Label(ns):
			s.err(p, "gateway-name", up, fmt.Sprintf("%q is not a valid namespace in a gateway reference", ns), g, "Write the gateway as <namespace>/<name> with a real namespace name.")
		case !isDNS1123Label(name):
			s.err(p, "gateway-name", up, fmt.Sprintf("%q is not a valid gateway name", name), g, "Write the gateway as <namespace>/<name> with the Gateway's metadata.name.")
		}
	}
}

// checkSNIHost is validation.validateSniHost.
func checkSNIHost(s issueSink, at snapshot.Path, h string, vs *netv1alpha3.VirtualService, toGateway bool) {
	const up = "validateSniHost"
	var err error
	if toGateway {
		err = validateGatewayBoundHost(true, h)
	} else {
		err = validateWildcardDomain(h)
	}
	if err != nil {
		if isIP(h) {
			s.warn(at, "sni-ip", up, fmt.Sprintf("SNI host %q is an IP address, which the SNI specification forbids and most clients never send", h), h, "Match on the DNS name clients put in the TLS ServerName.")
			return
		}
		s.err(at, "sni-host", up, err.Error(), h, "Use a DNS name, optionally with a leading \"*.\" wildcard label.")
		return
	}
	for _, vh := range vs.GetHosts() {
		if hostSubsetOf(h, vh) {
			return
		}
	}
	s.err(at, "sni-not-in-hosts", up, fmt.Sprintf("SNI host %q is not covered by any host of the VirtualService", h), fmt.Sprintf("sniHost %s, hosts %v", h, vs.GetHosts()), "Use an SNI host that is one of the VirtualService hosts (or under one of its wildcards), or add it to hosts.")
}

// checkL4Match covers the common part of validateTLSMatch and
// validateTCPMatch.
func checkL4Match(s issueSink, at snapshot.Path, subnets []string, port uint32, sourceLabels map[string]string, gateways []string, up string) {
	for i, sn := range subnets {
		if err := validateIPSubnet(sn); err != nil {
			s.err(at.Child("destinationSubnets", i), "subnet", up, err.Error(), sn, "Use an IP address or a CIDR block such as 10.0.0.0/16.")
		}
	}
	if port != 0 && !validPort(int64(port)) {
		s.err(at.Child("port"), "port", up, fmt.Sprintf("port %d is outside 1–65535", port), fmt.Sprint(port), "Use a port number between 1 and 65535.")
	}
	checkLabels(s, at.Child("sourceLabels"), sourceLabels, up)
	checkGatewayNames(s, at.Child("gateways"), gateways)
}

func checkLabels(s issueSink, at snapshot.Path, l map[string]string, up string) {
	bad := false
	for k, v := range l {
		if s.out.labelProblem(k, v) != "" {
			bad = true
			break
		}
	}
	if !bad {
		return
	}
	for _, k := range sortedKeys(l) { // the issues in key order
		if msg := s.out.labelProblem(k, l[k]); msg != "" {
			s.err(at.Child(k), "label", up, msg, k+"="+l[k], "Use Kubernetes label syntax: keys [prefix/]name of letters, digits, '-', '_' and '.', values of at most 63 such characters.")
		}
	}
}

// checkExportTo is validation.validateExportTo.
func checkExportTo(s issueSink, at snapshot.Path, exportTo []string, serviceEntry bool) {
	const up = "validateExportTo"
	if len(exportTo) == 0 {
		return
	}
	ns := s.obj.Key.Namespace
	seen := map[string]bool{}
	for i, e := range exportTo {
		key := e
		if e == "." {
			key = ns
		}
		p := at.Child(i)
		if seen[key] {
			s.err(p, "exportto-duplicate", up, fmt.Sprintf("exportTo lists %q twice (\".\" is the object's own namespace %s)", e, ns), fmt.Sprint(exportTo), "Remove the duplicate entry.")
			continue
		}
		switch {
		case e == "~" && serviceEntry, e == "*":
		case e == "~":
			s.err(p, "exportto-value", up, "exportTo \"~\" (visible to no one) is allowed only on ServiceEntries", e, "Remove the entry, or use \".\" to keep the object in its namespace.")
			continue
		case !isDNS1123Label(key):
			s.err(p, "exportto-value", up, fmt.Sprintf("exportTo entry %q is neither \".\", \"*\" nor a namespace name", e), e, "Use \".\", \"*\" or namespace names.")
			continue
		}
		seen[key] = true
	}
	if seen["*"] && len(exportTo) > 1 {
		s.err(at, "exportto-mixed", up, "exportTo mixes \"*\" (everywhere) with other entries", fmt.Sprint(exportTo), "Keep only \"*\", or list the namespaces without \"*\".")
	}
	if seen["~"] && len(exportTo) > 1 {
		s.err(at, "exportto-mixed", up, "exportTo mixes \"~\" (no one) with other entries", fmt.Sprint(exportTo), "Keep only \"~\", or list the namespaces without it.")
	}
}

// validateHTTPRouteSpec follows validation.validateHTTPRoute.
func validateHTTPRouteSpec(s issueSink, at snapshot.Path, h *netv1alpha3.HTTPRoute, delegate bool) {
	if h == nil {
		return
	}
	const up = "validateHTTPRoute"
	const conflict = "validateHTTPRouteConflict"
	switch {
	case !delegate && h.GetDelegate() != nil:
		// A root route only delegates.
		if h.GetRedirect() != nil {
			s.err(at.Child("redirect"), "root-redirect", conflict, "a route that delegates may not also redirect", "delegate and redirect both set", "Remove redirect, or remove delegate.")
		}
		if len(h.GetRoute()) > 0 {
			s.err(at.Child("route"), "root-route", conflict, "a route that delegates may not also route", "delegate and route both set", "Remove route (the delegate VirtualService routes), or remove delegate.")
		}
	default:
		if delegate && h.GetDelegate() != nil {
			s.err(at.Child("delegate"), "delegate-in-delegate", conflict, "a delegate VirtualService cannot delegate again", "delegate set in a VirtualService without hosts", "Route here instead of delegating twice.")
		}
		switch {
		case h.GetRedirect() != nil:
			if len(h.GetRoute()) > 0 {
				s.err(at.Child("redirect"), "redirect-route", conflict, "an http route cannot have both route and redirect", "route and redirect both set", "Keep either route or redirect (split them into two rules with different matches).")
			}
			if h.GetFault() != nil {
				s.err(at.Child("fault"), "redirect-fault", conflict, "an http route cannot have both fault and redirect", "fault and redirect both set", "Remove fault, or route instead of redirecting.")
			}
			if h.GetRewrite() != nil {
				s.err(at.Child("rewrite"), "redirect-rewrite", conflict, "an http route cannot have both rewrite and redirect", "rewrite and redirect both set", "Remove rewrite: a redirect already names the new location.")
			}
			if h.GetDirectResponse() != nil {
				s.err(at.Child("directResponse"), "redirect-direct", conflict, "an http route cannot have both directResponse and redirect", "directResponse and redirect both set", "Keep one of them.")
			}
		case h.GetDirectResponse() != nil:
			if len(h.GetRoute()) > 0 {
				s.err(at.Child("directResponse"), "direct-route", conflict, "an http route cannot have both route and directResponse", "route and directResponse both set", "Keep either route or directResponse.")
			}
			if h.GetFault() != nil {
				s.err(at.Child("fault"), "direct-fault", conflict, "an http route cannot have both fault and directResponse", "fault and directResponse both set", "Remove fault.")
			}
			if h.GetRewrite() != nil {
				s.err(at.Child("rewrite"), "direct-rewrite", conflict, "an http route cannot have both rewrite and directResponse", "rewrite and directResponse both set", "Remove rewrite.")
			}
		case len(h.GetRoute()) == 0:
			s.err(at, "no-destination", conflict, "an http route needs a route, a redirect or a directResponse", "route, redirect and directResponse are all empty", "Add route: [{destination: {host: ...}}] (a fault alone is not a route).")
		}
		if h.GetMirror() != nil && len(h.GetMirrors()) > 0 {
			s.err(at.Child("mirrors"), "mirror-mirrors", conflict, "an http route cannot have both mirror and mirrors", "mirror and mirrors both set", "Move the mirror into mirrors.")
		}
	}
	checkHTTPMatches(s, at, h)
	// Paths are made only for what is there: most routes set none of
	// these, and the schema checks run on every route of every object.
	if hd := h.GetHeaders(); hd != nil {
		checkHeaderOps(s, at.Child("headers"), hd, up)
	}
	if c := h.GetCorsPolicy(); c != nil {
		checkCORS(s, at.Child("corsPolicy"), c)
	}
	if f := h.GetFault(); f != nil {
		checkFault(s, at.Child("fault"), f)
	}
	if mp, ok := mirrorPercent(h); ok && mp > 100 {
		s.err(at.Child("mirrorPercent"), "mirror-percent", up, fmt.Sprintf("mirrorPercent %d is above 100", mp), fmt.Sprint(mp), "Use mirrorPercentage: {value: 0–100}.")
	}
	if mp := h.GetMirrorPercentage(); mp != nil && (mp.GetValue() > 100 || mp.GetValue() < 0) {
		s.err(at.Child("mirrorPercentage", "value"), "mirror-percentage", up, fmt.Sprintf("mirrorPercentage %g is outside 0–100", mp.GetValue()), fmt.Sprint(mp.GetValue()), "Use a value between 0 and 100.")
	}
	if h.GetMirror() != nil {
		checkDestination(s, at.Child("mirror"), h.GetMirror())
	}
	for i, m := range h.GetMirrors() {
		mat := at.Child("mirrors", i)
		if m.GetDestination() == nil {
			s.err(mat, "mirror-destination", "validateHTTPMirrors", "a mirror needs a destination", "destination missing", "Add destination: {host: ...}.")
			continue
		}
		checkDestination(s, mat.Child("destination"), m.GetDestination())
		if pc := m.GetPercentage(); pc != nil && (pc.GetValue() > 100 || pc.GetValue() < 0) {
			s.err(mat.Child("percentage", "value"), "mirror-percentage", "validateHTTPMirrors", fmt.Sprintf("mirror percentage %g is outside 0–100", pc.GetValue()), fmt.Sprint(pc.GetValue()), "Use a value between 0 and 100.")
		}
	}
	if r := h.GetRedirect(); r != nil {
		rat := at.Child("redirect")
		const rup = "validateHTTPRedirect"
		switch {
		case r.GetUri() == "" && r.GetAuthority() == "" && r.GetRedirectPort() == nil && r.GetScheme() == "":
			s.err(rat, "redirect-empty", rup, "a redirect must set uri, authority, scheme or port", "redirect: {}", "Say where to redirect to.")
		case r.GetRedirectCode() != 0 && (r.GetRedirectCode() < 300 || r.GetRedirectCode() > 399):
			s.err(rat.Child("redirectCode"), "redirect-code", rup, fmt.Sprintf("redirect code %d is not a 3xx code", r.GetRedirectCode()), fmt.Sprint(r.GetRedirectCode()), "Use 301, 302, 303, 307 or 308.")
		case r.GetScheme() != "" && r.GetScheme() != "http" && r.GetScheme() != "https":
			s.err(rat.Child("scheme"), "redirect-scheme", rup, fmt.Sprintf("redirect scheme %q is neither http nor https", r.GetScheme()), r.GetScheme(), "Use http or https.")
		case r.GetPort() > 0 && !validPort(int64(r.GetPort())):
			s.err(rat.Child("port"), "redirect-port", rup, fmt.Sprintf("redirect port %d is outside 1–65535", r.GetPort()), fmt.Sprint(r.GetPort()), "Use a port between 1 and 65535.")
		}
	}
	if d := h.GetDirectResponse(); d != nil {
		// validateHTTPStatus accepts 200–600; Envoy's direct response
		// takes statuses below 600 only.
		switch st := d.GetStatus(); {
		case st < 200 || st > 600:
			s.err(at.Child("directResponse", "status"), "direct-status", "validateHTTPDirectResponse", fmt.Sprintf("directResponse status %d is outside 200–599", st), fmt.Sprint(st), "Use an HTTP status between 200 and 599.")
		case st == 600:
			s.envoyErr(at.Child("directResponse", "status"), "direct-status", "validateHTTPDirectResponse", "directResponse status 600 is above the 599 Envoy's direct responses accept", "600", "Use an HTTP status between 200 and 599.")
		}
	}
	if r := h.GetRetries(); r != nil {
		rat := at.Child("retries")
		const rup = "validateHTTPRetry"
		if r.GetAttempts() < 0 {
			s.err(rat.Child("attempts"), "retry-negative", rup, fmt.Sprintf("retry attempts %d is negative", r.GetAttempts()), fmt.Sprint(r.GetAttempts()), "Use 0 (no retries) or a positive number.")
		}
		if r.GetAttempts() == 0 && (r.GetPerTryTimeout() != nil || r.GetRetryOn() != "" || r.GetRetryRemoteLocalities() != nil) {
			s.err(rat, "retry-disabled", rup, "retries sets perTryTimeout, retryOn or retryRemoteLocalities while attempts is 0 (retries disabled)", "attempts: 0", "Set attempts to the number of retries wanted, or remove the other retry settings.")
		}
		if r.GetPerTryTimeout() != nil {
			if msg := durationProblem(r.GetPerTryTimeout()); msg != "" {
				s.err(rat.Child("perTryTimeout"), "duration", rup, "perTryTimeout: "+msg, r.GetPerTryTimeout().AsDuration().String(), "Use a duration of at least 1ms in whole milliseconds, e.g. 2s or 250ms.")
			}
		}
		if r.GetBackoff() != nil {
			if msg := durationProblem(r.GetBackoff()); msg != "" {
				s.err(rat.Child("backoff"), "duration", rup, "backoff: "+msg, r.GetBackoff().AsDuration().String(), "Use a backoff of at least 1ms in whole milliseconds, e.g. 25ms.")
			}
		}
		if r.GetRetryOn() != "" {
			for _, pol := range strings.Split(r.GetRetryOn(), ",") {
				// As upstream: a policy name, or anything strconv.Atoi
				// reads as a status code Go knows ("+503" passes, "599"
				// does not).
				if retryOnPolicies[pol] {
					continue
				}
				if n, _ := strconv.Atoi(pol); http.StatusText(n) == "" {
					s.err(rat.Child("retryOn"), "retry-on", rup, fmt.Sprintf("%q is not a retryOn policy Envoy knows", pol), r.GetRetryOn(), "Use Envoy retry policies (5xx, gateway-error, reset, connect-failure, retriable-4xx, refused-stream, retriable-status-codes, ...) or HTTP status codes, separated by commas without spaces.")
				}
			}
		}
	}
	if rw := h.GetRewrite(); rw != nil {
		rat := at.Child("rewrite")
		const rup = "validateHTTPRewrite"
		switch {
		case rw.GetUri() != "" && rw.GetUriRegexRewrite() != nil:
			s.err(rat, "rewrite-both", rup, "a rewrite may set only one of uri and uriRegexRewrite", "uri and uriRegexRewrite both set", "Keep one of them.")
		case rw.GetUri() == "" && rw.GetUriRegexRewrite() == nil && rw.GetAuthority() == "":
			s.err(rat, "rewrite-empty", rup, "a rewrite must set uri, uriRegexRewrite or authority", "rewrite: {}", "Say what to rewrite, or remove rewrite.")
		case rw.GetUriRegexRewrite() != nil:
			rr := rw.GetUriRegexRewrite()
			if rr.GetMatch() == "" || rr.GetRewrite() == "" {
				s.err(rat.Child("uriRegexRewrite"), "rewrite-regex", rup, "uriRegexRewrite needs both match and rewrite", fmt.Sprintf("match %q, rewrite %q", rr.GetMatch(), rr.GetRewrite()), "Set both match and rewrite.")
			} else if msg := regexProblem(rr.GetMatch()); msg != "" {
				s.err(rat.Child("uriRegexRewrite", "match"), "regex", rup, msg, rr.GetMatch(), "Write the regex in RE2 syntax (no look-around or back-references).")
			}
		}
	}
	checkAuthorityRewrite(s, at, h.GetRewrite(), h.GetHeaders())
	for i, rd := range h.GetRoute() {
		rat := at.Child("route", i)
		if rd.GetDestination() == nil {
			s.err(rat, "no-destination-host", "validateHTTPRouteDestinations", "a route entry needs a destination", "destination missing", "Add destination: {host: ...}.")
		} else {
			checkDestination(s, rat.Child("destination"), rd.GetDestination())
		}
		checkHeaderOps(s, rat.Child("headers"), rd.GetHeaders(), "validateHTTPRouteDestinations")
	}
	checkWeights(s, at, routeWeights(h.GetRoute()))
	if h.GetTimeout() != nil {
		if msg := durationProblem(h.GetTimeout()); msg != "" {
			s.err(at.Child("timeout"), "duration", up, "timeout: "+msg, h.GetTimeout().AsDuration().String(), "Use a timeout of at least 1ms in whole milliseconds (remove the field to keep Istio's default of no route timeout).")
		}
	}
}

func routeWeights(rs []*netv1alpha3.HTTPRouteDestination) []int32 {
	out := make([]int32, len(rs))
	for i, r := range rs {
		out[i] = r.GetWeight()
	}
	return out
}

// checkWeights is the weight part of validateHTTPRouteDestinations and
// validateRouteDestinations.
func checkWeights(s issueSink, at snapshot.Path, weights []int32) {
	for i, w := range weights {
		if w < 0 {
			s.err(at.Child("route", i, "weight"), "weight-negative", "validateWeight", fmt.Sprintf("weight %d is negative", w), fmt.Sprint(w), "Use weights between 0 and 100 that add up to 100.")
		}
	}
	// Several destinations with a total weight of 0 (validateHTTPRouteDestinations
	// rejects it) is MD219's: it also explains the effective split of other totals.
}

func checkRouteDestinations(s issueSink, at snapshot.Path, rs []*netv1alpha3.RouteDestination) {
	w := make([]int32, len(rs))
	for i, rd := range rs {
		w[i] = rd.GetWeight()
		if rd.GetDestination() == nil {
			s.err(at.Child("route", i), "no-destination-host", "validateRouteDestinations", "a route entry needs a destination", "destination missing", "Add destination: {host: ...}.")
			continue
		}
		checkDestination(s, at.Child("route", i, "destination"), rd.GetDestination())
	}
	checkWeights(s, at, w)
}

// checkDestination is validation.validateDestination.
func checkDestination(s issueSink, at snapshot.Path, d *netv1alpha3.Destination) {
	const up = "validateDestination"
	h := d.GetHost()
	if h == "*" {
		s.err(at.Child("host"), "destination-host", up, "\"*\" is not a valid destination host", h, "Name the Service or ServiceEntry host to send traffic to.")
	} else if err := validateWildcardDomain(h); err != nil {
		s.err(at.Child("host"), "destination-host", up, err.Error(), h, "Name the Service or ServiceEntry host to send traffic to, e.g. reviews or reviews.prod.svc.cluster.local.")
	}
	if sub := d.GetSubset(); sub != "" && !isDNS1123Label(sub) {
		s.err(at.Child("subset"), "subset-name", up, fmt.Sprintf("subset name %q is not a DNS-1123 label", sub), sub, "Use the name of a DestinationRule subset: lowercase letters, digits and '-'.")
	}
	if d.GetPort() != nil && !validPort(int64(d.GetPort().GetNumber())) {
		s.err(at.Child("port", "number"), "port", up, fmt.Sprintf("port %d is outside 1–65535", d.GetPort().GetNumber()), fmt.Sprint(d.GetPort().GetNumber()), "Use the Service port number, between 1 and 65535.")
	}
}

// checkHeaderOps is the header-manipulation part of validateHTTPRoute and
// validateHTTPRouteDestinations.
func checkHeaderOps(s issueSink, at snapshot.Path, h *netv1alpha3.Headers, up string) {
	if h == nil {
		return
	}
	reqName := func(n string) string {
		switch {
		case n == "":
			return "header name cannot be empty"
		case (strings.HasPrefix(n, ":") || strings.EqualFold(n, "host")) && !isAuthorityName(n):
			return fmt.Sprintf("header %q cannot be set: it starts with \":\"", n)
		}
		return ""
	}
	otherName := func(n string) string {
		switch {
		case n == "":
			return "header name cannot be empty"
		case strings.EqualFold(n, "host"):
			return "the Host header cannot be set or removed here"
		case strings.HasPrefix(n, ":"):
			return fmt.Sprintf("header %q cannot be modified: it starts with \":\"", n)
		}
		return ""
	}
	value := func(v string) string {
		for _, r := range v {
			if (r < 0x20 && r != '\t') || r == 0x7f {
				return "header value contains a control character"
			}
		}
		return headerFormatProblem(v)
	}
	check := func(op *netv1alpha3.Headers_HeaderOperations, side string, name func(string) string) {
		if op == nil {
			return
		}
		for _, kind := range []string{"add", "set"} {
			m := op.GetAdd()
			if kind == "set" {
				m = op.GetSet()
			}
			for _, k := range sortedKeys(m) {
				p := at.Child(side, kind, k)
				if msg := name(k); msg != "" {
					s.err(p, "header-op", up, msg, k, "Use rewrite.authority to change the authority; other pseudo-headers cannot be changed.")
				}
				if msg := value(m[k]); msg != "" {
					s.err(p, "header-value", up, msg, fmt.Sprintf("%q", m[k]), "Remove control characters, write a literal percent sign as %%, and close every %COMMAND% (e.g. %REQ(x-request-id)%).")
				}
			}
		}
		for i, k := range op.GetRemove() {
			if msg := otherName(k); msg != "" {
				s.err(at.Child(side, "remove", i), "header-op", up, msg, k, "Remove this entry.")
			}
		}
	}
	check(h.GetRequest(), "request", reqName)
	check(h.GetResponse(), "response", otherName)
}

// checkAuthorityRewrite is validation.validateAuthorityRewrite: the
// authority may be rewritten in one place only (rewrite.authority, or one
// Host/:authority entry of headers.request.set or add).
func checkAuthorityRewrite(s issueSink, at snapshot.Path, rw *netv1alpha3.HTTPRewrite, h *netv1alpha3.Headers) {
	current, where := rw.GetAuthority(), "rewrite.authority"
	for _, op := range []string{"set", "add"} {
		m := h.GetRequest().GetSet()
		if op == "add" {
			m = h.GetRequest().GetAdd()
		}
		for _, k := range sortedKeys(m) {
			if !isAuthorityName(k) {
				continue
			}
			if current != "" {
				s.err(at.Child("headers", "request", op, k), "authority-twice", "validateAuthorityRewrite", fmt.Sprintf("the authority is rewritten twice: %s already sets %q, and headers.request.%s.%s sets %q", where, current, op, k, m[k]), fmt.Sprintf("%s: %s, headers.request.%s.%s: %s", where, current, op, k, m[k]), "Rewrite the authority in one place: keep rewrite.authority and remove the Host/:authority header entry (or the reverse).")
				return
			}
			current, where = m[k], "headers.request."+op+"."+k
		}
	}
}

func isAuthorityName(n string) bool {
	return strings.EqualFold(n, ":authority") || strings.EqualFold(n, "host")
}

// checkHTTPMatches is validation.validateHTTPRouteMatchRequest.
func checkHTTPMatches(s issueSink, at snapshot.Path, h *netv1alpha3.HTTPRoute) {
	const up = "validateHTTPRouteMatchRequest"
	for i, m := range h.GetMatch() {
		if m == nil {
			continue
		}
		mat := at.Child("match", i)
		for _, field := range []string{"headers", "withoutHeaders"} {
			hm := m.GetHeaders()
			if field == "withoutHeaders" {
				hm = m.GetWithoutHeaders()
			}
			for _, k := range sortedKeys(hm) {
				p := mat.Child(field, k)
				if msg := headerNameProblem(k); msg != "" {
					s.err(p, "header-name", "ValidateHTTPHeaderNameOrJwtClaimRoute", msg, k, "Use a header name of letters, digits and !#$%&'*+-.^_`|~, a pseudo-header (:authority, :method, :path, :scheme, :status), or @request.auth.claims.<claim> on gateways.")
				}
				if field == "withoutHeaders" && hm[k].GetRegex() == "*" {
					continue // "*" means "present", not a regex
				}
				checkStringMatch(s, p, hm[k], true)
			}
		}
		// An empty uri prefix is allowed; scheme, method, authority and
		// query parameters need a non-empty prefix.
		for _, sm := range []struct {
			field      string
			m          *netv1alpha3.StringMatch
			needPrefix bool
		}{{"uri", m.GetUri(), false}, {"scheme", m.GetScheme(), true}, {"method", m.GetMethod(), true}, {"authority", m.GetAuthority(), true}} {
			if sm.m != nil {
				checkStringMatch(s, mat.Child(sm.field), sm.m, sm.needPrefix)
			}
		}
		for _, k := range sortedKeys(m.GetQueryParams()) {
			checkStringMatch(s, mat.Child("queryParams", k), m.GetQueryParams()[k], true)
		}
		if m.GetPort() != 0 && !validPort(int64(m.GetPort())) {
			s.err(mat.Child("port"), "port", up, fmt.Sprintf("port %d is outside 1–65535", m.GetPort()), fmt.Sprint(m.GetPort()), "Use a port between 1 and 65535.")
		}
		if len(m.GetSourceLabels()) > 0 {
			checkLabels(s, mat.Child("sourceLabels"), m.GetSourceLabels(), up)
		}
		if len(m.GetGateways()) > 0 {
			checkGatewayNames(s, mat.Child("gateways"), m.GetGateways())
		}
		if ns := m.GetSourceNamespace(); ns != "" && !isDNS1123Label(ns) {
			s.err(mat.Child("sourceNamespace"), "source-namespace", up, fmt.Sprintf("sourceNamespace %q is not a namespace name", ns), ns, "Use a namespace name.")
		}
	}
}

// checkStringMatch is validation.validateStringMatch (prefix must not be
// empty when needPrefix) and validateStringMatchRegexp.
func checkStringMatch(s issueSink, at snapshot.Path, sm *netv1alpha3.StringMatch, needPrefix bool) {
	switch sm.GetMatchType().(type) {
	case *netv1alpha3.StringMatch_Prefix:
		if needPrefix && sm.GetPrefix() == "" {
			s.err(at.Child("prefix"), "empty-prefix", "validateStringMatch", "an empty prefix match is not allowed here (Envoy rejects it)", `prefix: ""`, "Remove the condition to match any value, or give a non-empty prefix.")
		}
	case *netv1alpha3.StringMatch_Regex:
		if msg := regexProblem(sm.GetRegex()); msg != "" {
			s.err(at.Child("regex"), "regex", "validateStringRegexp", msg, sm.GetRegex(), "Write the regex in RE2 syntax (no look-around or back-references); Envoy matches it against the whole value.")
		}
	}
}

// checkCORS is validation.validateCORSPolicy.
func checkCORS(s issueSink, at snapshot.Path, c *netv1alpha3.CorsPolicy) {
	if c == nil {
		return
	}
	const up = "validateCORSPolicy"
	for i, o := range c.GetAllowOrigins() {
		p := at.Child("allowOrigins", i)
		var v string
		switch o.GetMatchType().(type) {
		case *netv1alpha3.StringMatch_Exact:
			v = o.GetExact()
		case *netv1alpha3.StringMatch_Prefix:
			v = o.GetPrefix()
		case *netv1alpha3.StringMatch_Regex:
			v = o.GetRegex()
		}
		if v == "" {
			s.err(p, "cors-origin", "validateAllowOrigins", "an allowOrigins entry needs a non-empty exact, prefix or regex", "{}", "Give the origin, e.g. exact: https://example.com.")
			continue
		}
		checkStringMatch(s, p, o, false)
	}
	for i, m := range c.GetAllowMethods() {
		if !corsMethods[m] {
			s.err(at.Child("allowMethods", i), "cors-method", "validateCORSHTTPMethod", fmt.Sprintf("%q is not a supported HTTP method", m), m, "Use upper-case methods: GET, HEAD, POST, PUT, PATCH, DELETE, CONNECT, OPTIONS, TRACE, or \"*\".")
		}
	}
	for _, f := range []string{"allowHeaders", "exposeHeaders"} {
		list := c.GetAllowHeaders()
		if f == "exposeHeaders" {
			list = c.GetExposeHeaders()
		}
		for i, h := range list {
			switch {
			case h == "":
				s.err(at.Child(f, i), "cors-header", "ValidateCORSHTTPHeaderName", "header name cannot be empty", `""`, "Remove the empty entry.")
			case h != "*" && !tcharHeaderRE.MatchString(h):
				s.err(at.Child(f, i), "cors-header", "ValidateCORSHTTPHeaderName", fmt.Sprintf("%q is not a valid header name", h), h, "Use header names of letters, digits and !#$%&'*+-.^_`|~, or \"*\".")
			}
		}
	}
	if c.GetMaxAge() != nil {
		if msg := durationProblem(c.GetMaxAge()); msg != "" {
			s.err(at.Child("maxAge"), "duration", up, "maxAge: "+msg, c.GetMaxAge().AsDuration().String(), "Use a duration in whole seconds, e.g. 24h.")
		} else if c.GetMaxAge().GetNanos() > 0 {
			s.err(at.Child("maxAge"), "cors-maxage", up, "maxAge is accurate only to seconds", c.GetMaxAge().AsDuration().String(), "Use a duration in whole seconds.")
		}
	}
}

// percentProblem is validation.validatePercentage.
func percentProblem(p *netv1alpha3.Percent) string {
	if p == nil {
		return ""
	}
	v := p.GetValue()
	if v < 0 || v > 100 || (v > 0 && v < 0.0001) {
		return fmt.Sprintf("percentage %g is neither 0 nor between 0.0001 and 100", v)
	}
	return ""
}

// checkFault is validation.validateHTTPFaultInjection.
func checkFault(s issueSink, at snapshot.Path, f *netv1alpha3.HTTPFaultInjection) {
	if f == nil {
		return
	}
	if f.GetAbort() == nil && f.GetDelay() == nil {
		s.err(at, "fault-empty", "validateHTTPFaultInjection", "fault injection needs an abort or a delay", "fault: {}", "Add abort or delay, or remove fault.")
	}
	if a := f.GetAbort(); a != nil {
		aat := at.Child("abort")
		const up = "validateHTTPFaultInjectionAbort"
		if msg := percentProblem(a.GetPercentage()); msg != "" {
			s.err(aat.Child("percentage", "value"), "percentage", up, msg, fmt.Sprint(a.GetPercentage().GetValue()), "Use a percentage between 0 and 100.")
		}
		switch a.GetErrorType().(type) {
		case *netv1alpha3.HTTPFaultInjection_Abort_GrpcStatus:
			if !grpcStatuses[a.GetGrpcStatus()] {
				s.err(aat.Child("grpcStatus"), "grpc-status", "validateGRPCStatus", fmt.Sprintf("gRPC status %q is not a gRPC status code name", a.GetGrpcStatus()), a.GetGrpcStatus(), "Use an upper-case code name such as UNAVAILABLE or NOT_FOUND.")
			}
		case *netv1alpha3.HTTPFaultInjection_Abort_Http2Error:
			s.err(aat.Child("http2Error"), "http2-error", up, "HTTP/2 error aborts are not supported", a.GetHttp2Error(), "Use httpStatus or grpcStatus.")
		case *netv1alpha3.HTTPFaultInjection_Abort_HttpStatus:
			// Upstream's validateHTTPStatus accepts 200–600, but Envoy's
			// fault filter takes only [200, 600): 600 is NACKed by Envoy.
			switch st := a.GetHttpStatus(); {
			case st < 200 || st > 600:
				s.err(aat.Child("httpStatus"), "http-status", "validateHTTPStatus", fmt.Sprintf("abort httpStatus %d is outside 200–599", st), fmt.Sprint(st), "Use an HTTP status between 200 and 599, e.g. 503.")
			case st == 600:
				s.envoyErr(aat.Child("httpStatus"), "http-status", "validateHTTPStatus", "abort httpStatus 600 is outside the 200–599 Envoy's fault filter accepts", "600", "Use an HTTP status between 200 and 599, e.g. 503.")
			}
		default:
			s.warn(aat, "abort-no-type", up, "abort is configured without httpStatus, grpcStatus or http2Error, so nothing is aborted", "abort without an error type", "Set httpStatus (e.g. 503) or grpcStatus.")
		}
	}
	if d := f.GetDelay(); d != nil {
		dat := at.Child("delay")
		const up = "validateHTTPFaultInjectionDelay"
		if msg := percentProblem(d.GetPercentage()); msg != "" {
			s.err(dat.Child("percentage", "value"), "percentage", up, msg, fmt.Sprint(d.GetPercentage().GetValue()), "Use a percentage between 0 and 100.")
		}
		switch d.GetHttpDelayType().(type) {
		case *netv1alpha3.HTTPFaultInjection_Delay_FixedDelay:
			if msg := durationProblem(d.GetFixedDelay()); msg != "" {
				s.err(dat.Child("fixedDelay"), "duration", up, "fixedDelay: "+msg, d.GetFixedDelay().AsDuration().String(), "Use a delay of at least 1ms in whole milliseconds.")
			}
		case *netv1alpha3.HTTPFaultInjection_Delay_ExponentialDelay:
			s.err(dat.Child("exponentialDelay"), "exponential-delay", up, "exponentialDelay is not supported", d.GetExponentialDelay().AsDuration().String(), "Use fixedDelay.")
		}
	}
}
