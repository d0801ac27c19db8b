package kb

import (
	"strings"
	"sync"
)

// LocalReplyInfo is a response body Envoy (or one of its filters) generates
// itself, instead of the application.
type LocalReplyInfo struct {
	Body    string
	Status  string
	Flags   []string
	Details string // the %RESPONSE_CODE_DETAILS% that come with it
	Info
}

// upstreamConnectBody is the fixed start of the router's local reply when
// the upstream connection fails or resets before response headers.
const upstreamConnectBody = "upstream connect error or disconnect/reset before headers"

var localReplyTable = [...]LocalReplyInfo{
	{Body: upstreamConnectBody, Status: "503", Flags: []string{"UF", "UC", "UR", "UO", "LR", "UPE", "OM"}, Details: "upstream_reset_before_response_started{...}", Info: Info{
		Meaning: "Envoy's router could not get response headers from the upstream: the connection failed, or was closed or reset before the response started. \"retried and the latest\" means retries happened and all failed; the reset reason and the transport failure reason that follow say why.",
		Causes: []string{
			"reset reason connection failure / remote connection failure / connection timeout: nothing listening, a policy drop, or a TLS mismatch.",
			"reset reason connection termination: keep-alive race or mTLS/plaintext mismatch.",
			"reset reason overflow: a DestinationRule connectionPool circuit breaker.",
		},
		Next:  []string{cmdProxyLogs + "  # the log line's flags and details", cmdPCEndpoint, cmdDescribe},
		Codes: []string{"MD301", "MD317", "MD316", "MD511"},
	}},
	{Body: "no healthy upstream", Status: "503", Flags: []string{"UH"}, Details: "no_healthy_upstream", Info: Info{
		Meaning: "The upstream cluster has no healthy endpoint, so the router answered 503 without trying to connect.",
		Causes: []string{
			"No ready pods behind the Service (readiness failing, selector typo, scaled to zero).",
			"A DestinationRule subset whose labels select no pod.",
			"Outlier detection ejected every endpoint.",
			"A STATIC ServiceEntry without endpoints, or a DNS ServiceEntry that resolves to nothing.",
		},
		Next:  []string{cmdEndpoints, cmdPCEndpoint, cmdPods, cmdDR},
		Codes: []string{"MD203", "MD240"},
	}},
	{Body: "upstream request timeout", Status: "504", Flags: []string{"UT"}, Details: "response_timeout", Info: Info{
		Meaning: "The route timeout fired before the upstream answered.",
		Causes: []string{
			"VirtualService timeout shorter than the application latency; retries × perTryTimeout beyond the total.",
			"A slow or stuck upstream.",
		},
		Next:  []string{cmdPCRoute, cmdVS},
		Codes: []string{"MD210"},
	}},
	{Body: "upstream max stream duration reached", Status: "408", Flags: []string{"UMSDR"}, Details: "upstream_max_stream_duration_reached", Info: Info{
		Meaning: "The upstream stream lasted longer than the configured max stream duration (408, or 504 when the request had been fully received).",
		Causes:  []string{"A max_stream_duration (route, cluster or gRPC timeout header cap) shorter than long-lived streams."},
		Next:    []string{cmdPCRoute, cmdPCCluster},
	}},
	{Body: "maintenance mode", Status: "503", Flags: []string{"UO"}, Details: "maintenance_mode", Info: Info{
		Meaning: "The upstream cluster is in maintenance mode and its traffic is shed.",
		Causes:  []string{"The runtime key upstream.maintenance_mode.<cluster> is set."},
		Next:    []string{"kubectl exec <pod> -n <ns> -c istio-proxy -- pilot-agent request GET runtime"},
	}},
	{Body: "envoy overloaded", Status: "503", Flags: []string{"OM"}, Details: "overload", Info: Info{
		Meaning: "The overload manager (or the router's load shedding) rejected the request because the proxy is short of resources.",
		Causes:  []string{"Sidecar memory near its limit; connection or file-descriptor limits reached."},
		Next:    []string{"kubectl top pod <pod> -n <ns> --containers", cmdNode},
		Codes:   []string{"MD508"},
	}},
	{Body: "stream timeout", Status: "408", Flags: []string{"SI"}, Details: "stream_idle_timeout", Info: Info{
		Meaning: "The stream idle timeout fired: no bytes moved on the stream for too long.",
		Causes:  []string{"Quiet long-lived requests (long polling, streaming) beyond the idle timeout."},
		Next:    []string{cmdPCRoute, cmdPCListener},
	}},
	{Body: "request timeout", Status: "408", Details: "request_overall_timeout", Info: Info{
		Meaning: "The connection manager's request timeout fired before the whole request was received.",
		Causes:  []string{"Slow uploads, or a request_timeout configured on the listener."},
		Next:    []string{cmdPCListener},
	}},
	{Body: "request header timeout", Status: "408", Details: "request_header_timeout", Info: Info{
		Meaning: "The request headers did not arrive within the request headers timeout.",
		Causes:  []string{"Slow or stuck clients, or a request_headers_timeout set on the listener."},
		Next:    []string{cmdPCListener},
	}},
	{Body: "RBAC: access denied", Status: "403", Details: "rbac_access_denied_matched_policy[...]", Info: Info{
		Meaning: "An Istio AuthorizationPolicy denied the request at the receiving proxy (or gateway). The response code details in that proxy's access log name the DENY policy that matched, or [none] when no ALLOW rule matched.",
		Causes: []string{
			"An ALLOW policy selects the workload and no rule matches (wrong principal, namespace, path, method or port); a policy with no rules allows nothing.",
			"A DENY policy matched.",
			"Rules on principals/namespaces while the caller has no mTLS identity (PERMISSIVE, no sidecar).",
			"requestPrincipals required but no valid JWT (RequestAuthentication missing or token rejected).",
		},
		Next:  []string{cmdAP, "kubectl logs <server-pod> -n <ns> -c istio-proxy --tail=50 | grep rbac_access_denied", "istioctl x authz check <server-pod> -n <ns>"},
		Codes: []string{"MD305", "MD306", "MD304", "MD307"},
	}},
	{Body: "fault filter abort", Status: "", Flags: []string{"FI"}, Details: "fault_filter_abort", Info: Info{
		Meaning: "A VirtualService fault-injection abort answered the request with the configured status.",
		Causes: []string{
			"A fault.abort rule left in a VirtualService.",
			"Retries on the same route do not retry the injected abort.",
		},
		Next:  []string{cmdVS, cmdPCRoute},
		Codes: []string{"MD210"},
	}},
	{Body: "local_rate_limited", Status: "429", Flags: []string{"RL"}, Details: "local_rate_limited", Info: Info{
		Meaning: "The local rate limit filter rejected the request.",
		Causes:  []string{"A local rate limit (EnvoyFilter or gateway policy) below the actual request rate."},
		Next:    []string{"kubectl get envoyfilters -A -o yaml"},
	}},
	{Body: "Jwt is missing", Status: "401", Details: "jwt_authn_access_denied{Jwt_is_missing}", Info: Info{
		Meaning: "A JWT is required for this request and none was found in the configured header or query parameter.",
		Causes: []string{
			"A JWT provider configured as required (Envoy Gateway SecurityPolicy, an EnvoyFilter with jwt_authn): Istio's RequestAuthentication alone lets requests without a token through, and an AuthorizationPolicy then denies them with 403 \"RBAC: access denied\".",
			"The client sends no Authorization: Bearer header, or sends the token in another header than the one configured (fromHeaders).",
			"A gateway or proxy in front strips the header.",
		},
		Next: []string{cmdRA, "kubectl get envoyfilters -A -o yaml", "kubectl get securitypolicies.gateway.envoyproxy.io -A -o yaml  # Envoy Gateway"},
	}},
	{Body: "Jwt verification fails", Status: "401", Details: "jwt_authn_access_denied{Jwt_verification_fails}", Info: Info{
		Meaning: "The token's signature does not verify with the keys of its issuer.",
		Causes: []string{
			"The token was signed by another key or environment (staging token on production).",
			"The JWKS in the proxy is stale or a placeholder because istiod could not fetch it.",
		},
		Next:  []string{cmdRA, "kubectl logs -n istio-system deploy/istiod --tail=200 | grep -i jwks"},
		Codes: []string{"MD309"},
	}},
	{Body: "Jwks doesn't have key to match kid or alg from Jwt", Status: "401", Details: "jwt_authn_access_denied{Jwks_doesn't_have_key_to_match_kid_or_alg_from_Jwt}", Info: Info{
		Meaning: "No key in the issuer's JWKS matches the token's kid/alg.",
		Causes: []string{
			"The identity provider rotated its keys and the proxy still has the old JWKS (istiod refreshes it every 20 minutes by default, PILOT_JWT_PUB_KEY_REFRESH_INTERVAL).",
			"istiod fetched the JWKS before the identity provider was up and used a placeholder.",
		},
		Next:  []string{cmdRA, "kubectl logs -n istio-system deploy/istiod --tail=200 | grep -i jwks"},
		Codes: []string{"MD309"},
	}},
	{Body: "Jwt issuer is not configured", Status: "401", Details: "jwt_authn_access_denied{Jwt_issuer_is_not_configured}", Info: Info{
		Meaning: "The token's iss claim matches no jwtRules issuer of the RequestAuthentications that apply.",
		Causes:  []string{"Issuer URL differs (trailing slash, http vs https, realm path), or the RequestAuthentication selects other workloads."},
		Next:    []string{cmdRA},
	}},
	{Body: "Jwt is expired", Status: "401", Details: "jwt_authn_access_denied{Jwt_is_expired}", Info: Info{
		Meaning: "The token's exp is in the past.",
		Causes:  []string{"Clients not refreshing tokens; clock skew between the issuer and the node."},
		Next:    []string{"date -u; kubectl get nodes  # compare clocks"},
	}},
	{Body: "Jwt not yet valid", Status: "401", Details: "jwt_authn_access_denied{Jwt_not_yet_valid}", Info: Info{
		Meaning: "The token's nbf is in the future.",
		Causes:  []string{"Clock skew between the token issuer and the node running the proxy."},
		Next:    []string{"date -u; kubectl get nodes  # compare clocks"},
	}},
	{Body: "Jwks remote fetch is failed", Status: "401", Details: "jwt_authn_access_denied{Jwks_remote_fetch_is_failed}", Info: Info{
		Meaning: "The proxy itself had to fetch the JWKS and the fetch failed.",
		Causes: []string{
			"The jwksUri is unreachable from the proxy (egress policy, DNS, TLS trust).",
			"Istio is set to let the proxy fetch the JWKS itself (remote JWKS) instead of istiod inlining the keys.",
		},
		Next:  []string{cmdRA, "kubectl logs -n istio-system deploy/istiod --tail=200 | grep -i jwks"},
		Codes: []string{"MD309"},
	}},
	{Body: "Audiences in Jwt are not allowed", Status: "403", Details: "jwt_authn_access_denied{Audiences_in_Jwt_are_not_allowed}", Info: Info{
		Meaning: "The token's aud claim matches none of the jwtRules audiences.",
		Causes:  []string{"The token was issued for another client/audience than the RequestAuthentication lists."},
		Next:    []string{cmdRA},
	}},
	{Body: "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections", Status: "401", Details: "jwt_authn_access_denied{Jwt_is_not_in_the_form_of_Header.Payload.Signature_with_two_dots_and_3_sections}", Info: Info{
		Meaning: "The value found where a JWT was expected is not a JWT.",
		Causes: []string{
			"An opaque access token or an API key sent as a Bearer token.",
			"A header that carries something else (Basic auth) configured as the token source.",
		},
		Next: []string{cmdRA},
	}},
}

// LocalReplies returns every known local-reply body.
func LocalReplies() []*LocalReplyInfo {
	out := make([]*LocalReplyInfo, len(localReplyTable))
	for i := range localReplyTable {
		out[i] = &localReplyTable[i]
	}
	return out
}

var localReplyIndex = sync.OnceValue(func() map[string]*LocalReplyInfo {
	m := make(map[string]*LocalReplyInfo, len(localReplyTable))
	for i := range localReplyTable {
		m[strings.ToLower(localReplyTable[i].Body)] = &localReplyTable[i]
	}
	return m
})

// LocalReply looks a local-reply body up, case-insensitively. The upstream
// connect error body matches with whatever reset and transport reasons
// follow it (Explain decomposes those).
func LocalReply(body string) (*LocalReplyInfo, bool) {
	b := strings.ToLower(strings.Join(strings.Fields(body), " "))
	b = strings.TrimRight(b, ".")
	if strings.HasPrefix(b, upstreamConnectBody) {
		return localReplyIndex()[upstreamConnectBody], true
	}
	r, ok := localReplyIndex()[b]
	return r, ok
}

func (r *LocalReplyInfo) explanation(input string) Explanation {
	e := Explanation{Kind: KindLocalReply, Key: r.Body, Title: "\"" + r.Body + "\"", Input: input, Status: r.Status, Flags: r.Flags, Info: r.Info}
	if r.Details != "" {
		e.Notes = append(e.Notes, "Access log response code details: "+r.Details+".")
	}
	return e
}

// maxBody bounds the text read as one local-reply body.
const maxBody = 2048

// upstreamConnectParts decomposes the upstream connect error body that
// starts at s: the body itself (noting retries), the reset reason and the
// transport failure reason.
func upstreamConnectParts(s string) []Explanation {
	r := localReplyIndex()[upstreamConnectBody]
	if len(s) > maxBody {
		s = s[:maxBody]
	}
	body := firstLine(s)
	e := r.explanation(body)
	lower := lowerASCII(body)
	if strings.Contains(lower, "retried and the latest") {
		e.Notes = append(e.Notes, "\"retried and the latest\": the request was retried and every try failed; the reason given is the last try's (the access log will show URX with the failure flag).")
	}
	out := []Explanation{e}
	const rr, tr = "reset reason:", "transport failure reason:"
	i := strings.Index(lower, rr)
	if i < 0 {
		return out
	}
	reason := body[i+len(rr):]
	transport := ""
	if j := strings.Index(lowerASCII(reason), tr); j >= 0 {
		reason, transport = reason[:j], reason[j+len(tr):]
	}
	reason = strings.TrimRight(strings.TrimSpace(reason), ",")
	if x, ok := ResetReason(reason); ok {
		out = append(out, x.explanation(strings.TrimSpace(reason)))
	}
	if transport = strings.TrimSpace(transport); transport != "" {
		if x, ok := explainTransport(transport); ok {
			out = append(out, x)
		}
	}
	return out
}

// firstLine cuts s at the first double quote, which ends a body pasted from
// a JSON or log line, and joins the lines of a body that was wrapped.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '"'); i >= 0 {
		s = s[:i]
	}
	return strings.Join(strings.Fields(s), " ")
}
