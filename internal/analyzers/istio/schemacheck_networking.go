package istio

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"

	netv1alpha3 "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// checkAlphaSelector is validation.ValidateAlphaWorkloadSelector (Sidecar,
// ServiceEntry, EnvoyFilter workloadSelector.labels).
func checkAlphaSelector(s issueSink, at snapshot.Path, sel *netv1alpha3.WorkloadSelector, what string) {
	if sel == nil {
		return
	}
	checkSelectorLabels(s, at, "labels", "ValidateAlphaWorkloadSelector", sel.GetLabels(),
		fmt.Sprintf("workloadSelector has no labels, so the %s applies to every workload of the namespace", what), "workloadSelector: {}",
		"Add the labels of the workloads meant, or remove workloadSelector to make the namespace-wide intent explicit.")
}

// validateDestinationRuleObj follows validation.ValidateDestinationRule.
func validateDestinationRuleObj(s issueSink) {
	dr, ok := s.obj.Typed.(*networkingv1.DestinationRule)
	if !ok {
		return
	}
	spec := snapshot.P("spec")
	const up = "ValidateDestinationRule"
	if err := validateWildcardDomain(dr.Spec.GetHost()); err != nil {
		s.err(spec.Child("host"), "host", up, "host: "+err.Error(), dr.Spec.GetHost(), "Set host to the Service or ServiceEntry host the rule configures, e.g. reviews or reviews.prod.svc.cluster.local.")
	}
	checkTrafficPolicy(s, spec.Child("trafficPolicy"), dr.Spec.GetTrafficPolicy())
	seen := map[string]int{}
	for i, sub := range dr.Spec.GetSubsets() {
		at := spec.Child("subsets", i)
		name := sub.GetName()
		switch {
		case name == "":
			s.err(at, "subset-name", "validateSubsetName", "a subset needs a name", "name: \"\"", "Name the subset (lowercase letters, digits and '-'), e.g. v1.")
		case !isDNS1123Label(name):
			s.err(at.Child("name"), "subset-name", "validateSubsetName", fmt.Sprintf("subset name %q is not a DNS-1123 label", name), name, "Use lowercase letters, digits and '-', e.g. v1.")
		}
		if j, dup := seen[name]; dup {
			s.err(at.Child("name"), "subset-duplicate", up, fmt.Sprintf("subset name %q is already used by subsets[%d]", name, j), name, "Give every subset a distinct name.")
		} else {
			seen[name] = i
		}
		checkLabels(s, at.Child("labels"), sub.GetLabels(), "validateSubset")
		checkTrafficPolicy(s, at.Child("trafficPolicy"), sub.GetTrafficPolicy())
	}
	checkExportTo(s, spec.Child("exportTo"), dr.Spec.GetExportTo(), false)
	if sel := dr.Spec.GetWorkloadSelector(); sel != nil {
		checkBetaSelector(s, spec.Child("workloadSelector"), sel.GetMatchLabels(), "DestinationRule")
		checkSelectorDRExportTo(s, spec.Child("exportTo"), dr.Spec.GetExportTo())
	}
}

// checkSelectorDRExportTo is the workloadSelector part of
// validation.validateExportTo: a DestinationRule with a workloadSelector
// applies to workloads of its own namespace, so exportTo may name only that
// namespace ("." or its name), once.
func checkSelectorDRExportTo(s issueSink, at snapshot.Path, exportTo []string) {
	const up = "validateExportTo"
	ns := s.obj.Key.Namespace
	valid := map[string]bool{}
	for _, e := range exportTo {
		key := e
		if e == "." {
			key = ns
		}
		// Only entries the rest of validateExportTo accepts count.
		if e == "*" || (e != "~" && isDNS1123Label(key)) {
			valid[key] = true
		}
	}
	switch {
	case len(valid) == 0:
	case !valid[ns]:
		s.err(at, "exportto-selector", up, fmt.Sprintf("a DestinationRule with a workloadSelector cannot be exported beyond its own namespace %s", ns), fmt.Sprint(exportTo), "Use exportTo: [\".\"] (or remove exportTo): a workloadSelector DestinationRule applies only to workloads of its namespace.")
	case len(valid) > 1:
		s.err(at, "exportto-selector", up, "a DestinationRule with a workloadSelector may list only its own namespace in exportTo", fmt.Sprint(exportTo), "Use exportTo: [\".\"] (or remove exportTo).")
	}
}

// checkTrafficPolicy covers the parts of validation.validateTrafficPolicy
// meshdoctor implements: an empty policy, outlier detection, connection
// pool limits, consistent hashing and client TLS (agent.ValidateTLS).
func checkTrafficPolicy(s issueSink, at snapshot.Path, tp *netv1alpha3.TrafficPolicy) {
	if tp == nil {
		return
	}
	const up = "validateTrafficPolicy"
	if tp.GetOutlierDetection() == nil && tp.GetConnectionPool() == nil && tp.GetLoadBalancer() == nil && tp.GetTls() == nil &&
		tp.GetPortLevelSettings() == nil && tp.GetTunnel() == nil && tp.GetProxyProtocol() == nil {
		s.err(at, "policy-empty", up, "a traffic policy must set at least one field", "trafficPolicy: {}", "Remove the empty trafficPolicy, or set what it should change.")
		return
	}
	if tp.GetTunnel() != nil && tp.GetProxyProtocol() != nil {
		s.err(at, "tunnel-proxyprotocol", up, "tunnel and proxyProtocol cannot be set together", "tunnel and proxyProtocol both set", "Keep one of them.")
	}
	checkPolicyParts(s, at, tp.GetOutlierDetection(), tp.GetConnectionPool(), tp.GetLoadBalancer(), tp.GetTls())
	for i, pl := range tp.GetPortLevelSettings() {
		pat := at.Child("portLevelSettings", i)
		if pl.GetPort() == nil {
			s.err(pat, "port-policy-port", "validatePortTrafficPolicies", "a port traffic policy needs a port", "port missing", "Add port: {number: ...}.")
		}
		if pl.GetOutlierDetection() == nil && pl.GetConnectionPool() == nil && pl.GetLoadBalancer() == nil && pl.GetTls() == nil {
			s.err(pat, "policy-empty", "validatePortTrafficPolicies", "a port traffic policy must set at least one field", "only port set", "Remove the entry, or set what it should change.")
			continue
		}
		checkPolicyParts(s, pat, pl.GetOutlierDetection(), pl.GetConnectionPool(), pl.GetLoadBalancer(), pl.GetTls())
	}
}

func checkPolicyParts(s issueSink, at snapshot.Path, od *netv1alpha3.OutlierDetection, cp *netv1alpha3.ConnectionPoolSettings, lb *netv1alpha3.LoadBalancerSettings, tls *netv1alpha3.ClientTLSSettings) {
	if od != nil {
		oat := at.Child("outlierDetection")
		const up = "validateOutlierDetection"
		if !od.GetSplitExternalLocalOriginErrors() && od.GetConsecutiveLocalOriginFailures().GetValue() > 0 {
			s.err(oat.Child("consecutiveLocalOriginFailures"), "local-origin", up, "consecutiveLocalOriginFailures is set but splitExternalLocalOriginErrors is false, so it has no effect", fmt.Sprint(od.GetConsecutiveLocalOriginFailures().GetValue()), "Set splitExternalLocalOriginErrors: true.")
		}
		if od.GetMaxEjectionPercent() < 0 || od.GetMaxEjectionPercent() > 100 {
			s.err(oat.Child("maxEjectionPercent"), "percent", "ValidatePercent", fmt.Sprintf("maxEjectionPercent %d is outside 0–100", od.GetMaxEjectionPercent()), fmt.Sprint(od.GetMaxEjectionPercent()), "Use a value between 0 and 100.")
		}
		if od.GetMinHealthPercent() < 0 || od.GetMinHealthPercent() > 100 {
			s.err(oat.Child("minHealthPercent"), "percent", "ValidatePercent", fmt.Sprintf("minHealthPercent %d is outside 0–100", od.GetMinHealthPercent()), fmt.Sprint(od.GetMinHealthPercent()), "Use a value between 0 and 100.")
		}
		for _, f := range []struct {
			name string
			ok   bool
			msg  string
			val  string
		}{
			{"baseEjectionTime", od.GetBaseEjectionTime() != nil, durationProblemOrEmpty(od.GetBaseEjectionTime() != nil, func() string { return durationProblem(od.GetBaseEjectionTime()) }), od.GetBaseEjectionTime().AsDuration().String()},
			{"interval", od.GetInterval() != nil, durationProblemOrEmpty(od.GetInterval() != nil, func() string { return durationProblem(od.GetInterval()) }), od.GetInterval().AsDuration().String()},
		} {
			if f.ok && f.msg != "" {
				s.err(oat.Child(f.name), "duration", up, f.name+": "+f.msg, f.val, "Use a duration of at least 1ms in whole milliseconds.")
			}
		}
	}
	if cp != nil {
		cat := at.Child("connectionPool")
		const up = "validateConnectionPool"
		if cp.GetHttp() == nil && cp.GetTcp() == nil {
			s.err(cat, "pool-empty", up, "a connection pool must set tcp or http", "connectionPool: {}", "Remove it or set tcp/http limits.")
		}
		h := cp.GetHttp()
		for _, f := range []struct {
			name string
			v    int32
		}{{"http1MaxPendingRequests", h.GetHttp1MaxPendingRequests()}, {"http2MaxRequests", h.GetHttp2MaxRequests()}, {"maxRequestsPerConnection", h.GetMaxRequestsPerConnection()}, {"maxRetries", h.GetMaxRetries()}, {"maxConcurrentStreams", h.GetMaxConcurrentStreams()}} {
			if f.v < 0 {
				s.err(cat.Child("http", f.name), "pool-negative", up, fmt.Sprintf("%s %d is negative", f.name, f.v), fmt.Sprint(f.v), "Use a non-negative number.")
			}
		}
		if h.GetH2UpgradePolicy() == netv1alpha3.ConnectionPoolSettings_HTTPSettings_UPGRADE && h.GetUseClientProtocol() {
			s.err(cat.Child("http", "useClientProtocol"), "pool-h2", up, "useClientProtocol cannot be true when h2UpgradePolicy is UPGRADE", "useClientProtocol: true", "Drop one of the two settings.")
		}
		if cp.GetTcp().GetMaxConnections() < 0 {
			s.err(cat.Child("tcp", "maxConnections"), "pool-negative", up, fmt.Sprintf("maxConnections %d is negative", cp.GetTcp().GetMaxConnections()), fmt.Sprint(cp.GetTcp().GetMaxConnections()), "Use a non-negative number.")
		}
		if ct := cp.GetTcp().GetConnectTimeout(); ct != nil {
			if msg := durationProblem(ct); msg != "" {
				s.err(cat.Child("tcp", "connectTimeout"), "duration", up, "connectTimeout: "+msg, ct.AsDuration().String(), "Use a duration of at least 1ms in whole milliseconds.")
			}
		}
	}
	if lb != nil {
		lat := at.Child("loadBalancer")
		const up = "validateLoadBalancer"
		if ch := lb.GetConsistentHash(); ch != nil {
			if c := ch.GetHttpCookie(); c != nil && c.GetName() == "" {
				s.err(lat.Child("consistentHash", "httpCookie", "name"), "cookie-name", up, "a consistent-hash httpCookie needs a name", "name: \"\"", "Name the cookie.")
			}
			if minimumRingSize(ch) != 0 && ch.GetHashAlgorithm() != nil {
				s.err(lat.Child("consistentHash", "minimumRingSize"), "ring-size", up, "only one of minimumRingSize and maglev/ringHash can be set", "minimumRingSize and a hash algorithm both set", "Move the size into ringHash.minimumRingSize and remove minimumRingSize.")
			}
			if ml := ch.GetMaglev(); ml != nil && (ml.GetTableSize() == 0 || ml.GetTableSize() >= 5000011 || !isPrime(ml.GetTableSize())) {
				s.err(lat.Child("consistentHash", "maglev", "tableSize"), "maglev", up, fmt.Sprintf("maglev tableSize %d must be a prime number below 5000011", ml.GetTableSize()), fmt.Sprint(ml.GetTableSize()), "Use a prime table size such as 65537.")
			}
		}
	}
	if tls != nil {
		tat := at.Child("tls")
		const up = "ValidateTLS"
		if tls.GetInsecureSkipVerify().GetValue() {
			if tls.GetMode() == netv1alpha3.ClientTLSSettings_SIMPLE && (tls.GetCaCertificates() != "" || tls.GetCredentialName() != "" || tls.GetSubjectAltNames() != nil) {
				s.err(tat.Child("insecureSkipVerify"), "tls-skip-verify", up, "insecureSkipVerify cannot be combined with caCertificates, credentialName or subjectAltNames", "insecureSkipVerify: true", "Either verify the server (drop insecureSkipVerify) or drop the verification settings.")
			}
			if tls.GetMode() == netv1alpha3.ClientTLSSettings_MUTUAL && (tls.GetCaCertificates() != "" || tls.GetSubjectAltNames() != nil) {
				s.err(tat.Child("insecureSkipVerify"), "tls-skip-verify", up, "insecureSkipVerify cannot be combined with caCertificates or subjectAltNames", "insecureSkipVerify: true", "Either verify the server (drop insecureSkipVerify) or drop the verification settings.")
			}
		}
		mode := tls.GetMode()
		switch {
		case (mode == netv1alpha3.ClientTLSSettings_SIMPLE || mode == netv1alpha3.ClientTLSSettings_MUTUAL) && tls.GetCredentialName() != "":
			if tls.GetClientCertificate() != "" || tls.GetCaCertificates() != "" || tls.GetPrivateKey() != "" || tls.GetCaCrl() != "" {
				s.err(tat.Child("credentialName"), "tls-credential", up, "credentialName cannot be combined with clientCertificate, privateKey, caCertificates or caCrl", tls.GetCredentialName(), "Keep the certificates in the credential Secret and remove the file paths.")
			}
		case mode == netv1alpha3.ClientTLSSettings_MUTUAL:
			if tls.GetClientCertificate() == "" {
				s.err(tat, "tls-mutual-cert", up, "MUTUAL TLS needs a client certificate", "clientCertificate missing", "Set credentialName (a Secret with the client certificate and key) or clientCertificate and privateKey.")
			}
			if tls.GetPrivateKey() == "" {
				s.err(tat, "tls-mutual-key", up, "MUTUAL TLS needs a private key", "privateKey missing", "Set credentialName or privateKey.")
			}
		}
	}
}

func durationProblemOrEmpty(set bool, f func() string) string {
	if !set {
		return ""
	}
	return f()
}

// isPrime is validation.isPrime (Envoy's own test).
func isPrime(x uint64) bool {
	if x != 0 && x < 4 {
		return true
	}
	if x&1 == 0 {
		return false
	}
	for f := uint64(3); f*f <= x; f += 2 {
		if x%f == 0 {
			return false
		}
	}
	return true
}

// checkSidecarOrGatewayHost is agent.ValidateNamespaceSlashWildcardHostname
// with validateSidecarOrGatewayHostnamePart.
func checkSidecarOrGatewayHost(s issueSink, at snapshot.Path, h string, gateway bool) {
	const up = "ValidateNamespaceSlashWildcardHostname"
	remedy := "Write hosts as <namespace>/<dnsName>, e.g. ./reviews.prod.svc.cluster.local, istio-system/*, */*.example.com."
	if gateway {
		remedy = "Write hosts as a DNS name or <namespace>/<dnsName>, e.g. bookinfo.example.com, */*.example.com, prod/api.example.com."
	}
	ns, name, slash := strings.Cut(h, "/")
	if !slash {
		if !gateway {
			s.err(at, "host-form", up, fmt.Sprintf("host %q is not of the form namespace/dnsName", h), h, remedy)
			return
		}
		name = h
	} else {
		if ns == "" || name == "" {
			s.err(at, "host-form", up, fmt.Sprintf("host %q has an empty namespace or DNS name", h), h, remedy)
		}
		if ns != "*" && ns != "." && (gateway || ns != "~") && ns != "" && !isDNS1123Label(ns) {
			s.err(at, "host-namespace", up, fmt.Sprintf("%q in host %q is not \"*\", \".\" or a namespace name", ns, h), h, remedy)
		}
		if name == "" {
			return
		}
	}
	const part = "validateSidecarOrGatewayHostnamePart"
	if name != "*" && !strings.Contains(name, ".") {
		s.err(at, "host-short", part, fmt.Sprintf("%q is a short name; hosts here must be fully qualified", name), h, "Use the full name, e.g. reviews.prod.svc.cluster.local, or a wildcard such as *.prod.svc.cluster.local.")
	}
	if err := validateWildcardDomain(name); err != nil && !(gateway && isIP(name)) {
		s.err(at, "host-name", part, err.Error(), h, remedy)
	}
	if partialWildcard(name) {
		s.err(at, "host-partial-wildcard", "ValidatePartialWildCard", fmt.Sprintf("partial wildcard %q is not allowed: a wildcard must be \"*\" or a leading \"*.\" label", name), h, "Use *.example.com (every subdomain) or list the names.")
	}
}

// validateGatewayObj follows validation.ValidateGateway and validateServer.
func validateGatewayObj(s issueSink) {
	gw, ok := s.obj.Typed.(*networkingv1.Gateway)
	if !ok {
		return
	}
	const up = "ValidateGateway"
	if !isDNS1123Label(s.obj.Key.Name) {
		s.err(snapshot.P("metadata", "name"), "gateway-object-name", up, fmt.Sprintf("Gateway name %q is not a DNS-1123 label (no dots allowed)", s.obj.Key.Name), s.obj.Key.Name, "Rename the Gateway with lowercase letters, digits and '-' only.")
	}
	spec := snapshot.P("spec")
	if len(gw.Spec.GetServers()) == 0 {
		s.err(spec, "no-servers", up, "a Gateway needs at least one server", "servers: []", "Add servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: [...]}].")
	}
	names := map[string]int{}
	for i, srv := range gw.Spec.GetServers() {
		at := spec.Child("servers", i)
		validateServer(s, at, srv)
		if srv.GetPort() != nil {
			n := srv.GetPort().GetName()
			if j, dup := names[n]; dup && n != "" {
				s.err(at.Child("port", "name"), "port-name-duplicate", up, fmt.Sprintf("port name %q is already used by servers[%d]", n, j), n, "Give every server port a distinct name.")
			} else {
				names[n] = i
			}
			if !isHTTPProtocol(srv.GetPort().GetProtocol()) && srv.GetTls().GetHttpsRedirect() {
				s.warn(at.Child("tls", "httpsRedirect"), "https-redirect", up, "tls.httpsRedirect has an effect only on HTTP servers", fmt.Sprintf("protocol %s", srv.GetPort().GetProtocol()), "Move httpsRedirect to the plain-HTTP server.")
			}
		}
	}
}

func validateServer(s issueSink, at snapshot.Path, srv *netv1alpha3.Server) {
	const up = "validateServer"
	if len(srv.GetHosts()) == 0 {
		s.err(at, "server-no-hosts", up, "a server needs at least one host", "hosts: []", "Add the hosts this server accepts, e.g. hosts: [\"*.example.com\"] or [\"prod/*\"].")
	}
	for i, h := range srv.GetHosts() {
		checkSidecarOrGatewayHost(s, at.Child("hosts", i), h, true)
	}
	p := srv.GetPort()
	portOK := true
	if p == nil {
		s.err(at, "server-no-port", "validateServerPort", "a server needs a port", "port missing", "Add port: {number: 443, name: https, protocol: HTTPS}.")
		portOK = false
	} else {
		pat := at.Child("port")
		if !knownProtocol(p.GetProtocol()) {
			s.err(pat.Child("protocol"), "protocol", "validateServerPort", fmt.Sprintf("protocol %q is not one Istio knows", p.GetProtocol()), p.GetProtocol(), "Use HTTP, HTTPS, HTTP2, GRPC, GRPC-WEB, TCP, TLS, MONGO, REDIS or MYSQL.")
			portOK = false
		}
		if (p.GetNumber() > 0 || !strings.HasPrefix(srv.GetBind(), "unix://")) && !validPort(int64(p.GetNumber())) {
			s.err(pat.Child("number"), "port", "validateServerPort", fmt.Sprintf("port %d is outside 1–65535", p.GetNumber()), fmt.Sprint(p.GetNumber()), "Use the port the gateway listens on (the Pod's container port), between 1 and 65535.")
			portOK = false
		}
		if serverTargetPort(p) > 0 {
			s.err(pat.Child("targetPort"), "target-port", "validateServerPort", "targetPort has no effect on Gateways", fmt.Sprint(serverTargetPort(p)), "Remove targetPort; port.number is the port the gateway pod listens on.")
			portOK = false
		}
		if p.GetName() == "" {
			s.err(pat, "port-name", "validateServerPort", "a server port needs a name", "name missing", "Add port.name, e.g. https-api.")
			portOK = false
		}
	}
	if b := srv.GetBind(); b != "" && !strings.HasPrefix(b, "unix://") && !isIP(b) {
		s.err(at.Child("bind"), "bind", "validateServerBind", fmt.Sprintf("bind %q is not an IP address", b), b, "Use an IP address (or unix:///path).")
	}
	tls := srv.GetTls()
	checkServerTLS(s, at.Child("tls"), tls)
	if portOK {
		proto := p.GetProtocol()
		switch {
		case isTLSProtocol(proto) && tls == nil:
			s.err(at, "tls-missing", up, fmt.Sprintf("a %s server needs tls settings", strings.ToUpper(proto)), "tls missing", "Add tls: {mode: SIMPLE, credentialName: <secret>} (or PASSTHROUGH).")
		case !isTLSProtocol(proto) && tls != nil:
			if isHTTPProtocol(proto) {
				pass := tls.GetMode() == netv1alpha3.ServerTLSSettings_PASSTHROUGH || tls.GetMode() == netv1alpha3.ServerTLSSettings_AUTO_PASSTHROUGH
				if !pass || tls.GetCaCertificates() != "" || tls.GetPrivateKey() != "" || tls.GetServerCertificate() != "" {
					s.err(at.Child("tls"), "tls-on-http", up, "a plain-text HTTP server cannot have TLS settings (only httpsRedirect)", fmt.Sprintf("protocol %s, tls mode %s", proto, tls.GetMode()), "Change the port protocol to HTTPS, or keep only tls.httpsRedirect.")
				}
			} else {
				s.err(at.Child("tls"), "tls-on-plain", up, fmt.Sprintf("a %s server cannot have TLS settings", strings.ToUpper(proto)), fmt.Sprintf("protocol %s", proto), "Change the port protocol to TLS or HTTPS, or remove tls.")
			}
		}
	}
}

// checkServerTLS is validation.validateTLSOptions (the certificate rules).
func checkServerTLS(s issueSink, at snapshot.Path, tls *netv1alpha3.ServerTLSSettings) {
	if tls == nil {
		return
	}
	const up = "validateTLSOptions"
	credential := tls.GetCredentialName() != "" || len(tls.GetCredentialNames()) > 0
	switch tls.GetMode() {
	case netv1alpha3.ServerTLSSettings_ISTIO_MUTUAL:
		for _, f := range []struct {
			name string
			set  bool
		}{{"serverCertificate", tls.GetServerCertificate() != ""}, {"privateKey", tls.GetPrivateKey() != ""}, {"caCertificates", tls.GetCaCertificates() != ""},
			{"tlsCertificates", len(tls.GetTlsCertificates()) > 0}, {"credentialName", tls.GetCredentialName() != ""}, {"credentialNames", len(tls.GetCredentialNames()) > 0}} {
			if f.set {
				s.err(at.Child(f.name), "istio-mutual-cert", up, fmt.Sprintf("ISTIO_MUTUAL uses Istio's own certificates and cannot have %s", f.name), f.name+" set", "Remove "+f.name+", or use MUTUAL with your own certificates.")
			}
		}
		return
	case netv1alpha3.ServerTLSSettings_PASSTHROUGH, netv1alpha3.ServerTLSSettings_AUTO_PASSTHROUGH:
		if tls.GetCaCrl() != "" || tls.GetServerCertificate() != "" || tls.GetPrivateKey() != "" || tls.GetCaCertificates() != "" || len(tls.GetTlsCertificates()) > 0 || credential {
			s.warn(at.Child("mode"), "passthrough-certs", up, fmt.Sprintf("%s does not terminate TLS, so the certificates set are ignored", tls.GetMode()), tls.GetMode().String(), "Remove the certificate settings, or use SIMPLE/MUTUAL to terminate TLS at the gateway.")
		}
	}
	sources := 0
	for _, set := range []bool{tls.GetServerCertificate() != "" && tls.GetPrivateKey() != "", tls.GetCredentialName() != "", len(tls.GetCredentialNames()) > 0, len(tls.GetTlsCertificates()) > 0} {
		if set {
			sources++
		}
	}
	if sources > 1 {
		s.err(at, "tls-sources", up, "only one of credentialName, credentialNames, serverCertificate/privateKey and tlsCertificates may be set", "several certificate sources", "Keep one certificate source (credentialName is the usual one).")
	}
	mode := tls.GetMode()
	mutual := mode == netv1alpha3.ServerTLSSettings_MUTUAL || mode == netv1alpha3.ServerTLSSettings_OPTIONAL_MUTUAL
	if (mode == netv1alpha3.ServerTLSSettings_SIMPLE || mutual) && credential {
		// Upstream stops here: with a credential the certificates (and a
		// CRL) come from the Secret, and no further rule applies, not
		// even the caCrl ones below.
		return
	}
	if mode == netv1alpha3.ServerTLSSettings_SIMPLE || mutual {
		if mutual && tls.GetCaCertificates() == "" {
			s.err(at, "tls-client-ca", up, fmt.Sprintf("%s TLS needs a client CA bundle", mode), "caCertificates missing", "Set caCertificates, or use a credentialName whose Secret has ca.crt.")
		}
		certs := tls.GetTlsCertificates()
		if len(certs) == 0 {
			certs = []*netv1alpha3.ServerTLSSettings_TLSCertificate{{ServerCertificate: tls.GetServerCertificate(), PrivateKey: tls.GetPrivateKey()}}
		}
		for _, c := range certs {
			if c.GetServerCertificate() == "" {
				s.err(at, "tls-server-cert", up, fmt.Sprintf("%s TLS needs a server certificate", mode), "no credentialName and no serverCertificate", "Set credentialName to the Secret holding the certificate and key.")
			}
			if c.GetPrivateKey() == "" {
				s.err(at, "tls-private-key", up, fmt.Sprintf("%s TLS needs a private key", mode), "no credentialName and no privateKey", "Set credentialName to the Secret holding the certificate and key.")
			}
		}
	}
	if tls.GetCaCrl() != "" {
		if tls.GetCredentialName() != "" {
			s.err(at.Child("caCrl"), "crl-credential", up, "caCrl cannot be combined with credentialName (put the CRL in the credential)", tls.GetCaCrl(), "Add ca.crl to the credential Secret and remove caCrl.")
		}
		if mode == netv1alpha3.ServerTLSSettings_SIMPLE {
			s.err(at.Child("caCrl"), "crl-simple", up, "caCrl is not supported with SIMPLE TLS", tls.GetCaCrl(), "Remove caCrl, or use MUTUAL.")
		}
	}
}

// validateServiceEntryObj follows validation.ValidateServiceEntry.
func validateServiceEntryObj(s issueSink) {
	se, ok := s.obj.Typed.(*networkingv1.ServiceEntry)
	if !ok {
		return
	}
	spec := snapshot.P("spec")
	sp := &se.Spec
	const up = "ValidateServiceEntry"
	checkAlphaSelector(s, spec.Child("workloadSelector"), sp.GetWorkloadSelector(), "ServiceEntry")
	if sp.GetWorkloadSelector() != nil && sp.GetEndpoints() != nil {
		s.err(spec.Child("endpoints"), "selector-and-endpoints", up, "a ServiceEntry may set only one of workloadSelector and endpoints", "both set", "Keep endpoints (fixed addresses) or workloadSelector (pods and WorkloadEntries), not both.")
	}
	if len(sp.GetHosts()) == 0 {
		s.err(spec, "no-hosts", up, "a ServiceEntry needs at least one host", "hosts: []", "Add the DNS names clients use, e.g. hosts: [api.example.com].")
	}
	for i, h := range sp.GetHosts() {
		at := spec.Child("hosts", i)
		switch {
		case h == "*":
			s.err(at, "host-star", up, "\"*\" is not a valid ServiceEntry host", h, "Name the external hosts, or use a wildcard such as *.example.com.")
		case isIP(h) || strings.Contains(h, "/"):
			s.err(at, "host-ip", up, fmt.Sprintf("host %q is an IP address or CIDR; hosts must be DNS names", h), h, "Put IPs and CIDRs in addresses (with a DNS name in hosts); with resolution NONE or STATIC the address is what is matched.")
		default:
			if err := validateWildcardDomain(h); err != nil {
				s.err(at, "host", up, err.Error(), h, "Use a DNS name, optionally with a leading \"*.\" wildcard label.")
			} else if partialWildcard(h) {
				s.warn(at, "host-partial-wildcard", "ValidatePartialWildCard", fmt.Sprintf("partial wildcard %q: only \"*.\" as the whole first label is supported", h), h, "Use *.example.com or list the names.")
			}
		}
	}
	cidr := false
	for i, a := range sp.GetAddresses() {
		cidr = cidr || strings.Contains(a, "/")
		if err := validateIPSubnet(a); err != nil {
			s.err(spec.Child("addresses", i), "address", "ValidateIPSubnet", err.Error(), a, "Use an IP address or CIDR block.")
		}
	}
	res := sp.GetResolution()
	if cidr && res != netv1alpha3.ServiceEntry_NONE && res != netv1alpha3.ServiceEntry_STATIC {
		s.err(spec.Child("resolution"), "cidr-resolution", up, fmt.Sprintf("CIDR addresses are allowed only with resolution NONE or STATIC, not %s", res), res.String(), "Use resolution NONE (or STATIC with endpoints), or give single addresses.")
	}
	portNames := map[string]bool{}
	portNums := map[uint32]bool{}
	for i, p := range sp.GetPorts() {
		at := spec.Child("ports", i)
		if portNames[p.GetName()] {
			s.err(at.Child("name"), "port-name-duplicate", up, fmt.Sprintf("port name %q is defined twice", p.GetName()), p.GetName(), "Give every port a distinct name.")
		}
		portNames[p.GetName()] = true
		if portNums[p.GetNumber()] {
			s.err(at.Child("number"), "port-duplicate", up, fmt.Sprintf("port %d is defined twice", p.GetNumber()), fmt.Sprint(p.GetNumber()), "Define every port once.")
		}
		portNums[p.GetNumber()] = true
		if p.GetTargetPort() != 0 && !validPort(int64(p.GetTargetPort())) {
			s.err(at.Child("targetPort"), "port", up, fmt.Sprintf("targetPort %d is outside 1–65535", p.GetTargetPort()), fmt.Sprint(p.GetTargetPort()), "Use a port between 1 and 65535.")
		}
		if !isDNS1123Label(p.GetName()) {
			s.err(at.Child("name"), "port-name", "ValidatePortName", fmt.Sprintf("port name %q is not a DNS-1123 label", p.GetName()), p.GetName(), "Name the port with lowercase letters, digits and '-', e.g. https.")
		}
		if p.GetProtocol() != "" && !knownProtocol(p.GetProtocol()) {
			s.err(at.Child("protocol"), "protocol", "ValidateProtocol", fmt.Sprintf("protocol %q is not one Istio knows", p.GetProtocol()), p.GetProtocol(), "Use HTTP, HTTPS, HTTP2, GRPC, TCP, TLS, MONGO, REDIS or MYSQL.")
		}
		if !validPort(int64(p.GetNumber())) {
			s.err(at.Child("number"), "port", "ValidatePort", fmt.Sprintf("port %d is outside 1–65535", p.GetNumber()), fmt.Sprint(p.GetNumber()), "Use a port between 1 and 65535.")
		}
	}
	switch res {
	case netv1alpha3.ServiceEntry_NONE:
		if len(sp.GetEndpoints()) != 0 {
			s.err(spec.Child("endpoints"), "none-endpoints", up, "resolution NONE takes no endpoints", fmt.Sprintf("%d endpoints", len(sp.GetEndpoints())), "Use resolution STATIC (or DNS) with endpoints, or remove the endpoints.")
		}
		// No warning for workloadSelector with NONE: listener.go builds
		// per-endpoint listeners from the selected workloads.
	case netv1alpha3.ServiceEntry_STATIC:
		for i, ep := range sp.GetEndpoints() {
			at := spec.Child("endpoints", i)
			a := ep.GetAddress()
			switch {
			case a == "" && ep.GetNetwork() == "":
				s.err(at, "endpoint-address", "validateWorkloadEntry", "an endpoint needs an address", "address missing", "Set address to the endpoint's IP.")
			case strings.HasPrefix(a, "unix://"):
			case a != "" && !isIP(a):
				s.err(at.Child("address"), "endpoint-address", "validateWorkloadEntry", fmt.Sprintf("endpoint address %q is not an IP address (resolution STATIC)", a), a, "Use IP addresses with resolution STATIC, or resolution DNS for host names.")
			}
			checkEndpointPorts(s, at, ep.GetPorts(), portNames)
			checkLabels(s, at.Child("labels"), ep.GetLabels(), "validateWorkloadEntry")
		}
		// STATIC without endpoints or workloadSelector is accepted by Istio;
		// MD240 reports the empty cluster it produces.
	case netv1alpha3.ServiceEntry_DNS, netv1alpha3.ServiceEntry_DNS_ROUND_ROBIN:
		if len(sp.GetEndpoints()) == 0 {
			for i, h := range sp.GetHosts() {
				if err := validateFQDN(h); err != nil && h != "*" && !isIP(h) && !strings.Contains(h, "/") && validateWildcardDomain(h) == nil {
					s.err(spec.Child("hosts", i), "dns-host", up, fmt.Sprintf("with resolution %s and no endpoints the hosts themselves are resolved, so %q must be a plain DNS name (no wildcard)", res, h), h, "Use resolution NONE for wildcard hosts (or DYNAMIC_DNS), or add endpoints to resolve.")
				}
			}
		}
		if res == netv1alpha3.ServiceEntry_DNS_ROUND_ROBIN && len(sp.GetEndpoints()) > 1 {
			s.err(spec.Child("endpoints"), "dns-rr-endpoints", up, "resolution DNS_ROUND_ROBIN takes at most one endpoint", fmt.Sprintf("%d endpoints", len(sp.GetEndpoints())), "Use resolution DNS for several endpoints.")
		}
		for i, ep := range sp.GetEndpoints() {
			at := spec.Child("endpoints", i)
			if a := ep.GetAddress(); !isIP(a) && validateFQDN(a) != nil {
				s.err(at.Child("address"), "endpoint-address", up, fmt.Sprintf("endpoint address %q is neither a DNS name nor an IP address", a), a, "Use a DNS name or an IP address.")
			}
			checkLabels(s, at.Child("labels"), ep.GetLabels(), up)
			checkEndpointPorts(s, at, ep.GetPorts(), portNames)
		}
		// A workloadSelector with DNS resolution takes effect: the selected
		// workloads (e.g. WorkloadEntries with DNS addresses) become the
		// endpoints. Istio dropped its warning for it (istio/istio#50164,
		// #55567); only NONE ignores the selector.
	case netv1alpha3.ServiceEntry_DYNAMIC_DNS:
	default:
		s.err(spec.Child("resolution"), "resolution", up, fmt.Sprintf("resolution %s is not supported", res), res.String(), "Use NONE, STATIC, DNS or DNS_ROUND_ROBIN.")
	}
	if res != netv1alpha3.ServiceEntry_NONE && len(sp.GetHosts()) > 1 {
		for i, p := range sp.GetPorts() {
			if !isHTTPProtocol(p.GetProtocol()) && !isTLSProtocol(p.GetProtocol()) {
				s.err(spec.Child("ports", i, "protocol"), "multi-host-tcp", up, fmt.Sprintf("several hosts share port %d, whose protocol %q carries no host name (neither HTTP nor TLS), so the proxy cannot tell the hosts apart", p.GetNumber(), p.GetProtocol()), fmt.Sprintf("hosts %v, resolution %s", sp.GetHosts(), res), "Use one ServiceEntry per host for TCP ports, set the protocol to HTTP/TLS, or use resolution NONE.")
				break
			}
		}
	}
	checkExportTo(s, spec.Child("exportTo"), sp.GetExportTo(), true)
}

func checkEndpointPorts(s issueSink, at snapshot.Path, ports map[string]uint32, defined map[string]bool) {
	for _, name := range sortedKeys(ports) {
		p := at.Child("ports", name)
		if !defined[name] {
			s.err(p, "endpoint-port", "validateWorkloadEntry", fmt.Sprintf("endpoint port %q is not a port name of the ServiceEntry", name), fmt.Sprintf("%s: %d", name, ports[name]), "Key endpoint ports by the name of a ServiceEntry port.")
		}
		if !validPort(int64(ports[name])) {
			s.err(p, "port", "ValidatePort", fmt.Sprintf("port %d is outside 1–65535", ports[name]), fmt.Sprint(ports[name]), "Use a port between 1 and 65535.")
		}
	}
}

// validateSidecarObj follows validation.ValidateSidecar.
func validateSidecarObj(s issueSink) {
	sc, ok := s.obj.Typed.(*networkingv1.Sidecar)
	if !ok {
		return
	}
	spec := snapshot.P("spec")
	sp := &sc.Spec
	const up = "ValidateSidecar"
	checkAlphaSelector(s, spec.Child("workloadSelector"), sp.GetWorkloadSelector(), "Sidecar")
	if len(sp.GetEgress()) == 0 && len(sp.GetIngress()) == 0 && sp.GetOutboundTrafficPolicy() == nil && sp.GetInboundConnectionPool() == nil {
		s.err(spec, "sidecar-empty", up, "the Sidecar configures nothing (no egress, ingress, outboundTrafficPolicy or inboundConnectionPool)", "spec: {}", "Add egress hosts (e.g. egress: [{hosts: [\"./*\", \"istio-system/*\"]}]) or delete the Sidecar.")
		return
	}
	ports := map[uint32]int{}
	for i, in := range sp.GetIngress() {
		at := spec.Child("ingress", i)
		p := in.GetPort()
		if p == nil {
			s.err(at, "ingress-port", up, "an ingress listener needs a port", "port missing", "Add port: {number: ..., protocol: ..., name: ...}.")
			continue
		}
		if sidecarTargetPort(p) > 0 {
			s.err(at.Child("port", "targetPort"), "target-port", up, "targetPort has no effect on Sidecars", fmt.Sprint(sidecarTargetPort(p)), "Remove targetPort; set defaultEndpoint to forward to another port.")
		}
		checkSidecarPort(s, at.Child("port"), p, in.GetBind(), false)
		if j, dup := ports[p.GetNumber()]; dup {
			s.err(at.Child("port", "number"), "ingress-port-duplicate", up, fmt.Sprintf("port %d is already used by ingress[%d]", p.GetNumber(), j), fmt.Sprint(p.GetNumber()), "Use each port once.")
		} else {
			ports[p.GetNumber()] = i
		}
		if ep := in.GetDefaultEndpoint(); ep != "" && !strings.HasPrefix(ep, "unix://") {
			host, port, err := net.SplitHostPort(ep)
			switch {
			case err != nil:
				s.err(at.Child("defaultEndpoint"), "default-endpoint", up, fmt.Sprintf("defaultEndpoint %q is not host:port", ep), ep, "Use 127.0.0.1:<port>, 0.0.0.0:<port>, [::1]:<port>, [::]:<port> or unix:///path.")
			case host != "" && host != "127.0.0.1" && host != "0.0.0.0" && host != "::1" && host != "::":
				s.err(at.Child("defaultEndpoint"), "default-endpoint", up, fmt.Sprintf("defaultEndpoint %q must point at the loopback or any address", ep), ep, "Use 127.0.0.1:<port> or 0.0.0.0:<port>.")
			default:
				if n, err := strconv.Atoi(port); err != nil || !validPort(int64(n)) {
					s.err(at.Child("defaultEndpoint"), "default-endpoint", up, fmt.Sprintf("defaultEndpoint %q has an invalid port", ep), ep, "Use a port between 1 and 65535.")
				}
			}
		}
	}
	egressPorts := map[uint32]int{}
	for i, eg := range sp.GetEgress() {
		at := spec.Child("egress", i)
		if eg.GetPort() == nil {
			if i != len(sp.GetEgress())-1 {
				s.err(at, "egress-catchall", up, "the egress listener without a port (the catch-all) must be the last one", fmt.Sprintf("egress[%d] has no port, %d listeners follow", i, len(sp.GetEgress())-1-i), "Move this listener to the end of egress, or give it a port.")
			}
		} else {
			p := eg.GetPort()
			if sidecarTargetPort(p) > 0 {
				s.err(at.Child("port", "targetPort"), "target-port", up, "targetPort has no effect on Sidecars", fmt.Sprint(sidecarTargetPort(p)), "Remove targetPort.")
			}
			checkSidecarPort(s, at.Child("port"), p, eg.GetBind(), true)
			if p.GetNumber() != 0 {
				if j, dup := egressPorts[p.GetNumber()]; dup {
					s.err(at.Child("port", "number"), "egress-port-duplicate", up, fmt.Sprintf("port %d is already used by egress[%d]", p.GetNumber(), j), fmt.Sprint(p.GetNumber()), "Use each port once.")
				} else {
					egressPorts[p.GetNumber()] = i
				}
			}
		}
		if len(eg.GetHosts()) == 0 {
			s.err(at, "egress-no-hosts", up, "an egress listener needs at least one host", "hosts: []", "Add hosts such as \"./*\" and \"istio-system/*\".")
		}
		for j, h := range eg.GetHosts() {
			checkSidecarOrGatewayHost(s, at.Child("hosts", j), h, false)
		}
	}
	if tp := sp.GetOutboundTrafficPolicy(); tp != nil && tp.GetEgressProxy() != nil {
		if tp.GetMode() != netv1alpha3.OutboundTrafficPolicy_ALLOW_ANY {
			s.err(spec.Child("outboundTrafficPolicy", "egressProxy"), "egress-proxy-mode", "validateSidecarOutboundTrafficPolicy", "egressProxy may be set only with mode ALLOW_ANY", tp.GetMode().String(), "Set mode: ALLOW_ANY, or remove egressProxy.")
		}
	}
}

func checkSidecarPort(s issueSink, at snapshot.Path, p *netv1alpha3.SidecarPort, bind string, egress bool) {
	const up = "validateSidecarPortBind"
	if p.GetName() != "" && !isDNS1123Label(p.GetName()) {
		s.err(at.Child("name"), "port-name", "ValidatePortName", fmt.Sprintf("port name %q is not a DNS-1123 label", p.GetName()), p.GetName(), "Use lowercase letters, digits and '-'.")
	}
	if p.GetProtocol() != "" && !knownProtocol(p.GetProtocol()) {
		s.err(at.Child("protocol"), "protocol", "ValidateProtocol", fmt.Sprintf("protocol %q is not one Istio knows", p.GetProtocol()), p.GetProtocol(), "Use HTTP, HTTPS, HTTP2, GRPC, TCP, TLS, MONGO, REDIS or MYSQL.")
	}
	if egress && p.GetNumber() == 0 {
		if !strings.HasPrefix(bind, "unix://") {
			s.err(at.Child("number"), "port", up, "port 0 is allowed only with a unix:// bind", "0", "Give the port number the application connects to.")
		}
		return
	}
	if !validPort(int64(p.GetNumber())) {
		s.err(at.Child("number"), "port", "ValidatePort", fmt.Sprintf("port %d is outside 1–65535", p.GetNumber()), fmt.Sprint(p.GetNumber()), "Use a port between 1 and 65535.")
	}
	if bind != "" && !isIP(bind) {
		s.err(at, "bind", "ValidateIPAddress", fmt.Sprintf("bind %q is not an IP address", bind), bind, "Use an IP address.")
	}
}

// validateEnvoyFilterObj follows envoyfilter.validateEnvoyFilter (without
// the Envoy proto checks of the patch value). Upstream also warns on every
// EnvoyFilter that the API is fragile; meshdoctor does not repeat that.
func validateEnvoyFilterObj(s issueSink) {
	ef := envoyFilter(s.obj)
	if ef == nil {
		return
	}
	spec := snapshot.P("spec")
	const up = "validateEnvoyFilter"
	checkAlphaSelector(s, spec.Child("workloadSelector"), ef.GetWorkloadSelector(), "EnvoyFilter")
	for i, cp := range ef.GetConfigPatches() {
		at := spec.Child("configPatches", i)
		switch {
		case cp.GetApplyTo() == netv1alpha3.EnvoyFilter_INVALID:
			s.err(at, "ef-apply-to", up, "the patch has no applyTo", "applyTo missing", "Set applyTo (e.g. HTTP_FILTER, CLUSTER, LISTENER).")
			continue
		case cp.GetPatch() == nil:
			s.err(at, "ef-patch", up, "the config patch has no patch", "patch missing", "Add patch: {operation: ..., value: ...}.")
			continue
		case cp.GetPatch().GetOperation() == netv1alpha3.EnvoyFilter_Patch_INVALID:
			s.err(at.Child("patch"), "ef-operation", up, "the patch has no operation", "operation missing", "Set patch.operation (MERGE, ADD, INSERT_BEFORE, INSERT_AFTER, INSERT_FIRST, REPLACE or REMOVE).")
			continue
		case cp.GetPatch().GetOperation() != netv1alpha3.EnvoyFilter_Patch_REMOVE && cp.GetPatch().GetValue() == nil:
			s.err(at.Child("patch"), "ef-value", up, fmt.Sprintf("operation %s needs a patch value", cp.GetPatch().GetOperation()), "value missing", "Add patch.value with the Envoy configuration to apply.")
			continue
		}
		if pv := cp.GetMatch().GetProxy().GetProxyVersion(); pv != "" {
			if _, err := regexp.Compile(pv); err != nil {
				s.err(at.Child("match", "proxy", "proxyVersion"), "ef-proxy-version", up, fmt.Sprintf("proxyVersion %q is not a valid regex: %v", pv, err), pv, "Write proxyVersion as an RE2 regex, e.g. ^1\\.2[0-9].*.")
				continue
			}
		}
		m := cp.GetMatch()
		if m == nil || m.GetObjectTypes() == nil {
			continue
		}
		switch cp.GetApplyTo() {
		case netv1alpha3.EnvoyFilter_LISTENER, netv1alpha3.EnvoyFilter_FILTER_CHAIN, netv1alpha3.EnvoyFilter_NETWORK_FILTER, netv1alpha3.EnvoyFilter_HTTP_FILTER:
			l := m.GetListener()
			if l == nil {
				s.err(at.Child("match"), "ef-match-class", up, fmt.Sprintf("applyTo %s needs a listener match", cp.GetApplyTo()), "match is not a listener match", "Match on listener: {...}.")
				continue
			}
			f := l.GetFilterChain().GetFilter()
			if f == nil {
				continue
			}
			fat := at.Child("match", "listener", "filterChain", "filter")
			if cp.GetApplyTo() == netv1alpha3.EnvoyFilter_LISTENER || cp.GetApplyTo() == netv1alpha3.EnvoyFilter_FILTER_CHAIN {
				s.warn(fat, "ef-filter-ignored", up, fmt.Sprintf("a filter match has no effect with applyTo %s", cp.GetApplyTo()), cp.GetApplyTo().String(), "Remove the filter match, or apply the patch to NETWORK_FILTER/HTTP_FILTER.")
			}
			switch {
			case f.GetName() == "":
				s.err(fat, "ef-filter-name", up, "a filter match needs a name", "name missing", "Set filter.name, e.g. envoy.filters.network.http_connection_manager.")
			case f.GetSubFilter() != nil && cp.GetApplyTo() != netv1alpha3.EnvoyFilter_HTTP_FILTER:
				s.err(fat.Child("subFilter"), "ef-subfilter", up, "a subFilter match is allowed only with applyTo HTTP_FILTER", cp.GetApplyTo().String(), "Remove subFilter, or apply to HTTP_FILTER.")
			case f.GetSubFilter() != nil && f.GetName() != "envoy.filters.network.http_connection_manager" && f.GetName() != "envoy.http_connection_manager":
				s.err(fat.Child("name"), "ef-subfilter-hcm", up, "a subFilter match requires the filter match envoy.filters.network.http_connection_manager", f.GetName(), "Set filter.name to envoy.filters.network.http_connection_manager.")
			case f.GetSubFilter() != nil && f.GetSubFilter().GetName() == "":
				s.err(fat.Child("subFilter"), "ef-subfilter-name", up, "a subFilter match needs a name", "name missing", "Set subFilter.name, e.g. envoy.filters.http.router.")
			}
		case netv1alpha3.EnvoyFilter_ROUTE_CONFIGURATION, netv1alpha3.EnvoyFilter_VIRTUAL_HOST, netv1alpha3.EnvoyFilter_HTTP_ROUTE:
			if m.GetRouteConfiguration() == nil {
				s.err(at.Child("match"), "ef-match-class", up, fmt.Sprintf("applyTo %s needs a routeConfiguration match", cp.GetApplyTo()), "match is not a routeConfiguration match", "Match on routeConfiguration: {...}.")
			}
		case netv1alpha3.EnvoyFilter_CLUSTER:
			if m.GetCluster() == nil {
				s.err(at.Child("match"), "ef-match-class", up, "applyTo CLUSTER needs a cluster match", "match is not a cluster match", "Match on cluster: {...}.")
			}
		}
	}
}
