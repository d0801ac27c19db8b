package kb

import (
	"strings"
	"sync"
)

// DetailInfo is one %RESPONSE_CODE_DETAILS% value (or
// %CONNECTION_TERMINATION_DETAILS% value): the base token, without the
// {...}, [...] or (...) arguments some of them carry. Envoy replaces spaces
// by underscores in these fields.
type DetailInfo struct {
	Name   string
	Status string   // usual HTTP status, if any
	Flags  []string // response flags that usually come with it
	// Args says what the bracketed argument carries, when there is one.
	Args string
	Info
}

var detailTable = [...]DetailInfo{
	{Name: "via_upstream", Info: Info{
		Meaning: "The response (and its status code) came from the upstream application, not from Envoy. A 503 or 404 with via_upstream is the application's own answer.",
		Causes: []string{
			"The application itself returned the error status.",
			"Another proxy or gateway behind this one generated it (check its logs for its own details).",
		},
		Next: []string{"kubectl logs <server-pod> -n <ns>", "kubectl logs <server-pod> -n <ns> -c istio-proxy --tail=200  # the server side's log line"},
	}},
	{Name: "route_not_found", Status: "404", Flags: []string{"NR"}, Info: Info{
		Meaning: "No route of the matched virtual host (or no virtual host for the Host header) matched the request.",
		Causes: []string{
			"Host header not listed in any VirtualService host or Gateway server host; VirtualService not bound to the Gateway.",
			"The VirtualService match conditions do not cover the request and no default route exists.",
			"The Service port is not exposed, or the VirtualService targets a port the Service does not have.",
		},
		Next:  []string{cmdPCRoute, cmdVS, cmdGW},
		Codes: []string{"MD204", "MD205", "MD209", "MD213", "MD215"},
	}},
	{Name: "route_configuration_not_found", Status: "404", Flags: []string{"NR"}, Info: Info{
		Meaning: "The listener's route configuration (RDS) was not found, so no request on it can be routed.",
		Causes: []string{
			"The proxy has not received the route configuration from istiod (sync problem, push error).",
			"A Gateway listener whose routes were never created because no VirtualService binds to it.",
		},
		Next:  []string{cmdProxyStat, cmdPCRoute, cmdPCListener},
		Codes: []string{"MD204", "MD205"},
	}},
	{Name: "cluster_not_found", Status: "503", Flags: []string{"NC"}, Info: Info{
		Meaning: "The matched route names a cluster the proxy does not have.",
		Causes: []string{
			"The VirtualService names a subset no DestinationRule defines.",
			"The destination host is unknown to the proxy (no Service/ServiceEntry, or hidden by a Sidecar's egress hosts).",
		},
		Next:  []string{cmdPCCluster, cmdDR, cmdVS},
		Codes: []string{"MD202", "MD201", "MD313"},
	}},
	{Name: "no_healthy_upstream", Status: "503", Flags: []string{"UH"}, Info: Info{
		Meaning: "The cluster exists but has no healthy endpoint to send the request to.",
		Causes: []string{
			"No ready pods behind the Service, or a DestinationRule subset that selects no pod.",
			"Outlier detection ejected all hosts.",
			"A STATIC ServiceEntry without endpoints.",
		},
		Next:  []string{cmdEndpoints, cmdPCEndpoint, cmdPods},
		Codes: []string{"MD203", "MD240"},
	}},
	{Name: "maintenance_mode", Status: "503", Flags: []string{"UO"}, Info: Info{
		Meaning: "The upstream cluster is in maintenance mode (a runtime setting sheds its traffic); the body is \"maintenance mode\".",
		Causes:  []string{"The runtime key upstream.maintenance_mode.<cluster> is set (by an EnvoyFilter or runtime override)."},
		Next:    []string{"kubectl exec <pod> -n <ns> -c istio-proxy -- pilot-agent request GET runtime"},
	}},
	{Name: "response_timeout", Status: "504", Flags: []string{"UT"}, Info: Info{
		Meaning: "The request was forwarded but the route timeout expired before the response headers arrived (older Envoy: upstream_response_timeout).",
		Causes: []string{
			"The VirtualService timeout is shorter than the application's latency.",
			"Retries do not fit into the overall timeout.",
		},
		Next:  []string{cmdPCRoute, cmdVS},
		Codes: []string{"MD210"},
	}},
	{Name: "upstream_response_timeout", Status: "504", Flags: []string{"UT"}, Info: Info{
		Meaning: "Older Envoy's name for response_timeout: the route timeout expired before the upstream answered.",
		Causes:  []string{"The VirtualService timeout is shorter than the application's latency, or retries do not fit into it."},
		Next:    []string{cmdPCRoute, cmdVS},
		Codes:   []string{"MD210"},
	}},
	{Name: "upstream_per_try_timeout", Status: "504", Flags: []string{"UT"}, Info: Info{
		Meaning: "The last try timed out on its per-try timeout (retries.perTryTimeout).",
		Causes: []string{
			"retries.perTryTimeout shorter than the application's normal latency, so every try times out.",
			"The upstream is slow or overloaded.",
		},
		Next: []string{cmdPCRoute, cmdVS},
	}},
	{Name: "upstream_per_try_idle_timeout", Status: "504", Flags: []string{"UT"}, Info: Info{
		Meaning: "The last try saw no bytes for its per-try idle timeout.",
		Causes:  []string{"A per_try_idle_timeout (EnvoyFilter) shorter than gaps in a streaming response."},
		Next:    []string{cmdPCRoute},
	}},
	{Name: "upstream_max_stream_duration_reached", Status: "408", Flags: []string{"UMSDR"}, Info: Info{
		Meaning: "The upstream stream exceeded the configured max stream duration.",
		Causes:  []string{"A max_stream_duration (route or cluster, EnvoyFilter, gRPC timeout header cap) shorter than long-lived streams."},
		Next:    []string{cmdPCRoute, cmdPCCluster},
	}},
	{Name: "upstream_reset_before_response_started", Status: "503", Flags: []string{"UF", "UC", "UR", "UO", "LR", "UPE"}, Args: "the reset reason, then after \"|\" (older Envoy: \",\") the transport failure reason", Info: Info{
		Meaning: "The upstream connection failed or was reset before any response header arrived; Envoy answered with the local reply \"upstream connect error or disconnect/reset before headers. ...\". The argument in braces says why.",
		Causes: []string{
			"Connection failure: nothing listening, policy drop, TLS mismatch (see the reset reason and transport failure).",
			"The connection was closed or reset by the upstream (crash, keep-alive race, mTLS mismatch).",
			"A circuit breaker (overflow).",
		},
		Next:  []string{cmdPCEndpoint, cmdDescribe, cmdProxyLogs},
		Codes: []string{"MD301", "MD317", "MD316", "MD511"},
	}},
	{Name: "upstream_reset_after_response_started", Flags: []string{"UR", "UC", "LR"}, Args: "the reset reason and transport failure reason", Info: Info{
		Meaning: "The upstream reset the stream after response headers had been sent: the client got a status (often 200) and then a truncated body or a reset stream.",
		Causes: []string{
			"The application crashed or closed the connection mid-body.",
			"Idle/max-duration timeouts cutting long downloads or streams.",
		},
		Next: []string{"kubectl logs <server-pod> -n <ns> --previous", cmdProxyLogs},
	}},
	{Name: "overload", Status: "503", Flags: []string{"OM"}, Info: Info{
		Meaning: "The overload manager rejected the request because the proxy reached a configured resource limit; the body is \"envoy overloaded\".",
		Causes:  []string{"Sidecar memory near its limit, or connection/fd limits reached."},
		Next:    []string{"kubectl top pod <pod> -n <ns> --containers", cmdNode},
		Codes:   []string{"MD508"},
	}},
	{Name: "direct_response", Info: Info{
		Meaning: "The route answered directly with a configured status and body, without an upstream.",
		Causes: []string{
			"A VirtualService `directResponse` or `redirect`, or a Gateway HTTP-to-HTTPS redirect.",
			"Istio's generated catch-all routes (e.g. 404 for unknown hosts on some gateways).",
		},
		Next: []string{cmdPCRoute, cmdVS},
	}},
	{Name: "filter_chain_not_found", Info: Info{
		Meaning: "A connection reached a listener and matched none of its filter chains (seen in %CONNECTION_TERMINATION_DETAILS%); the connection is closed without an HTTP response.",
		Causes: []string{
			"Plaintext sent to an inbound port whose PeerAuthentication is STRICT (only the mTLS filter chain exists).",
			"TLS with an SNI no Gateway server matches, or plaintext to a TLS-only Gateway port.",
			"A destination port with no listener configuration (not declared on the Service).",
		},
		Next:  []string{cmdPCListener, cmdPA, cmdGW},
		Codes: []string{"MD301", "MD234"},
	}},
	{Name: "downstream_remote_disconnect", Flags: []string{"DC"}, Info: Info{
		Meaning: "The client disconnected before the response completed.",
		Causes: []string{
			"Client-side timeout shorter than the server latency.",
			"A load balancer in front closed the idle connection.",
		},
		Next: []string{cmdProxyLogs},
	}},
	{Name: "downstream_local_disconnect", Args: "the local close reason", Info: Info{
		Meaning: "Envoy closed the client connection itself; the argument in parentheses says why (e.g. on_idle_timeout, max_connection_duration_reached).",
		Causes: []string{
			"Idle timeout on the downstream connection (on_idle_timeout).",
			"Max connection duration reached, draining after a listener update.",
			"HTTP/2 protocol violations or ping timeouts from the client.",
		},
		Next: []string{cmdPCListener, cmdProxyLogs},
	}},
	{Name: "stream_idle_timeout", Status: "408", Flags: []string{"SI"}, Info: Info{
		Meaning: "No bytes moved on the stream for the stream idle timeout; the body is \"stream timeout\".",
		Causes:  []string{"Quiet long-lived streams (long polling, SSE, gRPC streams) longer than the idle timeout."},
		Next:    []string{cmdPCRoute, cmdPCListener},
	}},
	{Name: "max_duration_timeout", Flags: []string{"DT"}, Info: Info{
		Meaning: "The stream exceeded the connection manager's max stream duration.",
		Causes:  []string{"max_stream_duration on the HTTP connection manager shorter than long-lived streams."},
		Next:    []string{cmdPCListener},
	}},
	{Name: "duration_timeout", Flags: []string{"DT"}, Info: Info{
		Meaning: "The connection exceeded its max connection duration.",
		Causes:  []string{"DestinationRule maxConnectionDuration or an EnvoyFilter max_connection_duration cutting long-lived connections."},
		Next:    []string{cmdDR, cmdPCListener},
	}},
	{Name: "request_overall_timeout", Status: "408", Info: Info{
		Meaning: "The whole request was not received within the connection manager's request timeout; the body is \"request timeout\".",
		Causes:  []string{"A slow client upload, or a request_timeout configured on the listener (EnvoyFilter) shorter than uploads."},
		Next:    []string{cmdPCListener},
	}},
	{Name: "request_header_timeout", Status: "408", Info: Info{
		Meaning: "The request headers were not received in time; the body is \"request header timeout\".",
		Causes:  []string{"Slow or stuck clients, or a request_headers_timeout set on the listener."},
		Next:    []string{cmdPCListener},
	}},
	{Name: "low_version", Status: "426", Flags: []string{"DPE"}, Info: Info{
		Meaning: "An HTTP/1.0 (or 0.9) request was rejected because HTTP/1.0 support is not enabled (426 Upgrade Required).",
		Causes: []string{
			"Old clients or tools (ab, some health checkers, nginx proxy_pass without proxy_http_version 1.1) speaking HTTP/1.0.",
			"Istio accepts HTTP/1.0 only when the proxy is told to (ISTIO_META_HTTP10=1 in the proxy metadata).",
		},
		Next:  []string{cmdPCListener, "kubectl get pod <pod> -n <ns> -o yaml | grep -i HTTP10"},
		Codes: []string{"MD611"},
	}},
	{Name: "missing_host_header", Status: "400", Flags: []string{"DPE"}, Info: Info{
		Meaning: "The request had no Host or :authority header.",
		Causes:  []string{"HTTP/1.0 clients without Host, or hand-written HTTP clients."},
		Next:    []string{cmdProxyLogs},
	}},
	{Name: "request_headers_failed_strict_check", Status: "400", Flags: []string{"IH"}, Args: "the offending header", Info: Info{
		Meaning: "An x-envoy-* request header failed strict validation.",
		Causes:  []string{"A client forwards internal x-envoy-* headers with invalid values."},
		Next:    []string{cmdProxyLogs},
	}},
	{Name: "rbac_access_denied_matched_policy", Status: "403", Args: "the matched policy: ns[NS]-policy[NAME]-rule[N], or none", Info: Info{
		Meaning: "The RBAC filter (Istio AuthorizationPolicy) denied the request; the body is \"RBAC: access denied\". The argument names the DENY policy that matched, or [none] when ALLOW policies exist and none allowed the request.",
		Causes: []string{
			"[none]: an ALLOW policy selects the workload and no rule matches the request (wrong principal, namespace, method, path or port); an ALLOW policy with no rules denies everything.",
			"[ns[..]-policy[..]-rule[..]]: that DENY policy's rule matched.",
			"Rules on source principals/namespaces while the request arrives in plaintext (no identity) because mTLS is not STRICT.",
			"requestPrincipals conditions without a RequestAuthentication validating the JWT.",
		},
		Next:  []string{cmdAP, "istioctl x authz check <server-pod> -n <ns>", "istioctl proxy-config log <server-pod> -n <ns> --level rbac:debug"},
		Codes: []string{"MD305", "MD306", "MD304", "MD307"},
	}},
	{Name: "jwt_authn_access_denied", Status: "401", Args: "the JWT failure, e.g. {Jwt_is_missing}", Info: Info{
		Meaning: "The JWT authentication filter (Istio RequestAuthentication) rejected the request's token; the argument is the reason with underscores for spaces.",
		Causes: []string{
			"An invalid token: expired, from an issuer no RequestAuthentication lists, or signed by a key missing from the JWKS (Istio rejects invalid tokens with 401; a missing token fails here only where a provider requires one, otherwise the AuthorizationPolicy decides).",
			"istiod could not fetch the JWKS (the proxy then has a placeholder key).",
		},
		Next:  []string{cmdRA, cmdProxyLogs, "istioctl proxy-config log <server-pod> -n <ns> --level jwt:debug"},
		Codes: []string{"MD309"},
	}},
	{Name: "ext_authz_denied", Status: "403", Flags: []string{"UAEX"}, Info: Info{
		Meaning: "The external authorization service denied the request.",
		Causes:  []string{"An AuthorizationPolicy with action CUSTOM routes the request to an ext_authz provider that rejected it."},
		Next:    []string{cmdAP, "kubectl get configmap istio -n istio-system -o yaml  # extensionProviders"},
	}},
	{Name: "ext_authz_error", Status: "403", Flags: []string{"UAEX"}, Info: Info{
		Meaning: "Calling the external authorization service failed and the provider fails closed.",
		Causes: []string{
			"The ext_authz service is down, unreachable or too slow for its timeout.",
			"The provider's service/port in meshConfig.extensionProviders is wrong.",
		},
		Next: []string{"kubectl get configmap istio -n istio-system -o yaml  # extensionProviders", cmdPCCluster},
	}},
	{Name: "fault_filter_abort", Flags: []string{"FI"}, Info: Info{
		Meaning: "A fault-injection abort answered the request (body \"fault filter abort\").",
		Causes:  []string{"A VirtualService fault.abort rule matches; retries do not apply to the injected abort."},
		Next:    []string{cmdVS},
		Codes:   []string{"MD210"},
	}},
	{Name: "local_rate_limited", Status: "429", Flags: []string{"RL"}, Info: Info{
		Meaning: "The local rate limit filter rejected the request (body \"local_rate_limited\").",
		Causes:  []string{"A local rate limit token bucket configured below the request rate."},
		Next:    []string{"kubectl get envoyfilters -A -o yaml"},
	}},
	{Name: "drop_overload", Status: "503", Flags: []string{"DO"}, Info: Info{
		Meaning: "The router dropped the request because of the cluster's drop_overload percentage.",
		Causes:  []string{"drop_overloads set in the cluster's endpoint assignment by the control plane."},
		Next:    []string{cmdPCEndpoint + " -o json"},
	}},
	{Name: "unconditional_drop_overload", Status: "503", Flags: []string{"UDO"}, Info: Info{
		Meaning: "The router dropped the request because the cluster's drop_overload is 100%.",
		Causes:  []string{"The control plane asked to shed all traffic to this cluster."},
		Next:    []string{cmdPCEndpoint + " -o json"},
	}},
	{Name: "request_payload_too_large", Status: "413", Info: Info{
		Meaning: "Envoy had to buffer the request (for retries, mirroring or a filter) and it exceeded the buffer limit.",
		Causes:  []string{"Large uploads on routes with buffering filters or retries; per_connection_buffer_limit_bytes too low."},
		Next:    []string{cmdPCListener, cmdPCRoute},
	}},
	{Name: "response_payload_too_large", Status: "500", Info: Info{
		Meaning: "Envoy had to buffer the response and it exceeded the buffer limit.",
		Causes:  []string{"A buffering filter (Lua, Wasm, compression) on large responses."},
		Next:    []string{"kubectl get envoyfilters,wasmplugins -A"},
	}},
	{Name: "request_payload_exceeded_retry_buffer_limit", Info: Info{
		Meaning: "Too much request data arrived while Envoy was waiting to retry, so the request could not be retried.",
		Causes:  []string{"Retries configured on routes with large request bodies."},
		Next:    []string{cmdPCRoute},
	}},
	{Name: "upgrade_failed", Status: "403", Info: Info{
		Meaning: "The request asked for a protocol upgrade (e.g. WebSocket) the route does not allow.",
		Causes:  []string{"WebSocket or other upgrades through a route or listener where upgrades are disabled (EnvoyFilter, HTTP/2 without extended CONNECT)."},
		Next:    []string{cmdPCRoute, cmdPCListener},
	}},
	{Name: "path_normalization_failed", Status: "400", Info: Info{
		Meaning: "Path normalization is on and the request path could not be normalized.",
		Causes:  []string{"Invalid percent-encoding or path segments, with meshConfig.pathNormalization enabled."},
		Next:    []string{"kubectl get configmap istio -n istio-system -o yaml  # pathNormalization"},
	}},
	{Name: "internal_redirect", Info: Info{
		Meaning: "The original stream was replaced by an internal redirect Envoy followed.",
		Causes:  []string{"An internal redirect policy on the route (not an error by itself)."},
		Next:    []string{cmdPCRoute},
	}},
	{Name: "admin_filter_response", Info: Info{
		Meaning: "The response came from Envoy's admin endpoint, not from an application.",
		Causes:  []string{"A request to the proxy's admin port (15000) or a health/stats path served by the proxy."},
		Next:    []string{cmdPCListener},
	}},
	{Name: "filter_removed_required_request_headers", Status: "503", Flags: []string{"DPE"}, Args: "the codec's message", Info: Info{
		Meaning: "A filter removed headers the request must carry (e.g. :path or Host), so it could not be sent upstream.",
		Causes:  []string{"An EnvoyFilter, Lua or Wasm filter that deletes or rewrites pseudo-headers."},
		Next:    []string{"kubectl get envoyfilters,wasmplugins -A -o yaml"},
	}},
	{Name: "http1", Flags: []string{"DPE", "UPE"}, Args: "the HTTP/1 codec error after the dot, e.g. http1.codec_error", Info: Info{
		Meaning: "The HTTP/1 codec rejected the message (details rooted at http1.).",
		Causes: []string{
			"Malformed requests or responses: invalid characters, headers too large, chunked with Content-Length, bad URL.",
			"A non-HTTP protocol on a port Istio treats as HTTP/1.",
		},
		Next:  []string{cmdProxyLogs, "kubectl get svc <svc> -n <ns> -o yaml  # port names / appProtocol"},
		Codes: []string{"MD230"},
	}},
	{Name: "http2", Flags: []string{"DPE", "UPE"}, Args: "the HTTP/2 codec error after the dot, e.g. http2.violation.of.messaging.rule", Info: Info{
		Meaning: "The HTTP/2 codec rejected the stream (details rooted at http2.).",
		Causes: []string{
			"Invalid headers or messaging-rule violations from the peer; frame floods.",
			"HTTP/1.1 bytes on a connection Envoy treats as HTTP/2 (port declared http2/grpc).",
		},
		Next:  []string{cmdProxyLogs, "kubectl get svc <svc> -n <ns> -o yaml  # port names / appProtocol"},
		Codes: []string{"MD230", "MD233"},
	}},
}

// ResponseCodeDetails returns every known response-code-details value.
func ResponseCodeDetails() []*DetailInfo {
	out := make([]*DetailInfo, len(detailTable))
	for i := range detailTable {
		out[i] = &detailTable[i]
	}
	return out
}

var detailIndex = sync.OnceValue(func() map[string]*DetailInfo {
	m := make(map[string]*DetailInfo, len(detailTable))
	for i := range detailTable {
		m[detailTable[i].Name] = &detailTable[i]
	}
	return m
})

// Detail looks up the base token of a response-code-details value.
func Detail(name string) (*DetailInfo, bool) {
	d, ok := detailIndex()[name]
	return d, ok
}

// splitDetails splits a details value into its base token and its argument
// (the text inside the first {...}, [...] or (...), or after the first dot
// of a codec detail such as http1.codec_error).
func splitDetails(s string) (base, arg string) {
	i := strings.IndexAny(s, "{[(")
	if i < 0 {
		if j := strings.IndexByte(s, '.'); j > 0 && (s[:j] == "http1" || s[:j] == "http2") {
			return s[:j], s[j+1:]
		}
		return s, ""
	}
	base, arg = s[:i], s[i+1:]
	closer := map[byte]byte{'{': '}', '[': ']', '(': ')'}[s[i]]
	if j := strings.LastIndexByte(arg, closer); j >= 0 {
		arg = arg[:j]
	}
	return base, arg
}

// Details explains a response-code-details value: its base token, then
// whatever its argument names: the reset reason and transport failure of
// upstream_reset_before_response_started{remote_connection_failure|delayed_connect_error:_111},
// the JWT failure of jwt_authn_access_denied{Jwt_is_missing}, the policy of
// rbac_access_denied_matched_policy[ns[foo]-policy[bar]-rule[0]]. It returns
// nothing when the base token is unknown.
func Details(s string) []Explanation {
	s = strings.TrimSpace(s)
	base, arg := splitDetails(s)
	d, ok := Detail(base)
	if !ok {
		return nil
	}
	e := Explanation{Kind: KindDetails, Key: d.Name, Title: d.Name, Input: s, Status: d.Status, Flags: d.Flags, Info: d.Info}
	var more []Explanation
	switch d.Name {
	case "upstream_reset_before_response_started", "upstream_reset_after_response_started":
		more = resetArgs(arg)
	case "rbac_access_denied_matched_policy":
		e.Notes = append(e.Notes, rbacNote(arg))
	case "jwt_authn_access_denied":
		if arg != "" {
			body := strings.ReplaceAll(arg, "_", " ")
			if r, ok := LocalReply(body); ok {
				more = append(more, r.explanation(body))
			} else {
				e.Notes = append(e.Notes, "JWT failure: \""+body+"\".")
			}
		}
	case "downstream_local_disconnect", "request_headers_failed_strict_check", "filter_removed_required_request_headers":
		if arg != "" {
			e.Notes = append(e.Notes, "Argument: "+strings.ReplaceAll(arg, "_", " ")+".")
		}
	case "http1", "http2":
		if arg != "" {
			e.Notes = append(e.Notes, "Codec error: "+d.Name+"."+arg+".")
		}
	}
	return append([]Explanation{e}, more...)
}

// resetArgs explains the argument of upstream_reset_*: "reason|transport"
// (older Envoy: "reason,transport"), spaces written as underscores.
func resetArgs(arg string) []Explanation {
	if arg == "" {
		return nil
	}
	reason, transport := arg, ""
	if i := strings.IndexAny(arg, "|,"); i >= 0 {
		reason, transport = arg[:i], arg[i+1:]
	}
	var out []Explanation
	if r, ok := ResetReason(reason); ok {
		out = append(out, r.explanation(reason))
	}
	if transport != "" {
		if e, ok := explainTransport(transport); ok {
			out = append(out, e)
		}
	}
	return out
}

// explainTransport explains a transport failure reason with what was read
// from it.
func explainTransport(s string) (Explanation, bool) {
	if f, ok := findTLSError(s); ok {
		return tlsExplanation(f, s), true
	}
	if t, ok := TransportFailure(s); ok {
		return t.explanation(s), true
	}
	return Explanation{}, false
}

// rbacNote reads Istio's policy id, ns[NS]-policy[NAME]-rule[N].
func rbacNote(arg string) string {
	if arg == "" || arg == "none" {
		return "Matched policy: none. ALLOW policies select this workload and none of their rules allowed the request (or an ALLOW policy without rules denies everything)."
	}
	ns, name, rule := bracketed(arg, "ns["), bracketed(arg, "policy["), bracketed(arg, "rule[")
	if ns != "" && name != "" {
		return "Matched DENY policy: AuthorizationPolicy " + ns + "/" + name + ", rule " + rule + "."
	}
	return "Matched policy: " + arg + "."
}

// bracketed returns the text after prefix up to the next "]".
func bracketed(s, prefix string) string {
	i := strings.Index(s, prefix)
	if i < 0 {
		return ""
	}
	rest := s[i+len(prefix):]
	if j := strings.IndexByte(rest, ']'); j >= 0 {
		return rest[:j]
	}
	return ""
}
