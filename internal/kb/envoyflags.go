package kb

import (
	"strings"
	"sync"
)

// FlagInfo is one Envoy %RESPONSE_FLAGS% value: the short form the default
// access log prints (%RESPONSE_FLAGS%) and the long form %RESPONSE_FLAGS_LONG%
// prints, as listed in Envoy's source/common/stream_info/utility.h.
type FlagInfo struct {
	Short  string
	Long   string
	Status string // the HTTP status Envoy usually answers with, if any
	// Since is set for flags recent Envoy releases added: older proxies
	// never print them.
	Since string
	Info
}

// flagTable is in Envoy's own order (the order of its flag enum), which is
// also the order it prints several flags in.
var flagTable = [...]FlagInfo{
	{Short: "LH", Long: "FailedLocalHealthCheck", Info: Info{
		Meaning: "The local Envoy failed its own health check, so it answered 503 instead of forwarding.",
		Causes: []string{
			"The proxy is draining or shutting down (pod termination, `/healthz/ready` failing on the sidecar).",
			"A health-check filter on the listener reports the local service as unhealthy (rare with Istio's generated config).",
		},
		Next: []string{cmdProxyLogs, "kubectl get pod <pod> -n <ns> -o jsonpath='{.status.containerStatuses[*].ready}'"},
	}},
	{Short: "UH", Long: "NoHealthyUpstream", Status: "503", Info: Info{
		Meaning: "The load balancer found no healthy host in the upstream cluster: the cluster exists but has no usable endpoint. The body is \"no healthy upstream\".",
		Causes: []string{
			"The Service has no ready endpoints (pods not ready, selector matches nothing, all pods crash-looping).",
			"A DestinationRule subset's labels select no pod, so the subset cluster is empty.",
			"Outlier detection ejected every host of the cluster.",
			"A ServiceEntry with resolution STATIC has no endpoints, or DNS resolution returned no address.",
			"EDS has not reached the proxy yet (stale proxy after a control-plane problem).",
		},
		Next:  []string{cmdEndpoints, cmdPCEndpoint, cmdPods, cmdProxyStat},
		Codes: []string{"MD203", "MD240"},
	}},
	{Short: "UT", Long: "UpstreamRequestTimeout", Status: "504", Info: Info{
		Meaning: "The route timeout fired before the upstream sent response headers. The body is \"upstream request timeout\".",
		Causes: []string{
			"The VirtualService `timeout` is shorter than the application's latency.",
			"Retries with `perTryTimeout` × attempts do not fit into the overall route timeout.",
			"The application hangs or is overloaded; the request queued behind slow requests.",
			"A fault-injection delay (DI) in front of a short timeout.",
		},
		Next:  []string{cmdPCRoute, cmdVS, cmdProxyLogs},
		Codes: []string{"MD210"},
	}},
	{Short: "LR", Long: "LocalReset", Status: "503", Info: Info{
		Meaning: "Envoy reset the stream itself (a local codec-level reset), not the upstream.",
		Causes: []string{
			"The proxy is draining (pod shutdown, listener update) and closed streams in flight.",
			"An idle or max-duration timeout on the local side closed the stream.",
			"An HTTP/1 upstream half-closed the connection before the response, which Envoy treats as a local reset.",
		},
		Next: []string{cmdProxyLogs, cmdPCLog},
	}},
	{Short: "UR", Long: "UpstreamRemoteReset", Status: "503", Info: Info{
		Meaning: "The upstream reset the stream (TCP RST or HTTP/2 RST_STREAM) before or while answering.",
		Causes: []string{
			"The application crashed, was OOM-killed or restarted mid-request.",
			"An HTTP/2 or gRPC server refused the stream (max concurrent streams, GOAWAY during shutdown).",
			"A middlebox or policy resets established connections (connmark REJECT rules, conntrack flushes).",
			"The server side expected mTLS and reset a plaintext connection.",
		},
		Next:  []string{"kubectl get pods -n <ns> -o wide  # restarts, OOMKilled", cmdProxyLogs, cmdNode},
		Codes: []string{"MD505"},
	}},
	{Short: "UF", Long: "UpstreamConnectionFailure", Status: "503", Info: Info{
		Meaning: "Envoy could not open a connection to the upstream host: the TCP connect or the TLS handshake failed. The body is \"upstream connect error or disconnect/reset before headers. reset reason: connection failure\" (newer Envoy: local/remote connection failure or connection timeout).",
		Causes: []string{
			"Nothing listens on the target port: wrong targetPort, app not started, or the app listens on 127.0.0.1 only (transport failure \"delayed connect error: 111\" / \"Connection refused\").",
			"A NetworkPolicy, CiliumNetworkPolicy or firewall drops the SYN (reset reason \"connection timeout\"); with Cilium, traffic from non-Cilium nodes is seen as `world` during a CNI migration.",
			"TLS mismatch: a DestinationRule with ISTIO_MUTUAL towards a server without a sidecar, DISABLE/SIMPLE towards a STRICT PeerAuthentication, or TLS originated twice (transport failure with a TLS_error).",
			"Certificate problems: unknown CA, SAN mismatch, expired certificate (CERTIFICATE_VERIFY_FAILED).",
		},
		Next:  []string{cmdPCEndpoint, cmdPCCluster, cmdDescribe, cmdHubble, cmdDR + " ; " + cmdPA},
		Codes: []string{"MD301", "MD317", "MD316", "MD511", "MD239", "MD505"},
	}},
	{Short: "UC", Long: "UpstreamConnectionTermination", Status: "503", Info: Info{
		Meaning: "The upstream connection was closed while the request was in flight (reset reason \"connection termination\").",
		Causes: []string{
			"Keep-alive race: the server closed an idle pooled HTTP/1.1 connection just as Envoy reused it (server idle timeout shorter than Envoy's).",
			"Plaintext sent to a port that requires mTLS (STRICT PeerAuthentication), or mTLS sent to a plaintext server: the peer closes the connection.",
			"A headless Service addressed by pod IP under STRICT mTLS: the client passes the request through in plaintext.",
			"The server process exits or drops connections under load.",
		},
		Next:  []string{cmdPCCluster, cmdDescribe, cmdPA, cmdProxyLogs},
		Codes: []string{"MD234", "MD301", "MD317", "MD316"},
	}},
	{Short: "UO", Long: "UpstreamOverflow", Status: "503", Info: Info{
		Meaning: "A circuit breaker tripped: the cluster's connection, pending-request, request or retry budget was exhausted (reset reason \"overflow\"). Also set when a cluster is in maintenance mode.",
		Causes: []string{
			"DestinationRule `trafficPolicy.connectionPool` limits (http1MaxPendingRequests, http2MaxRequests, maxConnections, maxRetries) are too small for the load.",
			"A slow upstream makes requests pile up until the pending queue is full.",
			"Retry storms use up the retry budget.",
		},
		Next: []string{cmdDR, cmdPCCluster, "kubectl exec <client-pod> -n <ns> -c istio-proxy -- pilot-agent request GET stats | grep -E 'overflow|pending'"},
	}},
	{Short: "NR", Long: "NoRouteFound", Status: "404", Info: Info{
		Meaning: "No route matched the request (HTTP: answered 404 with details route_not_found), or no filter chain matched the connection (TCP).",
		Causes: []string{
			"The Host/authority is in no VirtualService or route for this listener: wrong Host header, host missing from the Gateway's `hosts`, or the VirtualService is not bound to that Gateway.",
			"The VirtualService's http match rules do not cover this path/method/header and there is no catch-all route.",
			"The port is not exposed by the Service or the Gateway, or the VirtualService names a port the Service does not have.",
			"A Sidecar resource's egress hosts do not include the destination, so the proxy has no route for it.",
			"With REGISTRY_ONLY outbound policy, a host outside the registry (502 from BlackHoleCluster).",
			"Two HTTPS servers sharing one certificate: browsers reuse an HTTP/2 connection for the other host and get 404.",
		},
		Next:  []string{cmdPCRoute, cmdPCListener, cmdVS, cmdGW},
		Codes: []string{"MD201", "MD204", "MD205", "MD206", "MD209", "MD213", "MD215", "MD313"},
	}},
	{Short: "DI", Long: "DelayInjected", Info: Info{
		Meaning: "A fault-injection delay was applied to the request before it was forwarded.",
		Causes: []string{
			"A VirtualService `fault.delay` matches the request (often a leftover from a test).",
			"Combined with a short route timeout, the delay turns into 504 UT.",
		},
		Next:  []string{cmdVS, cmdPCRoute},
		Codes: []string{"MD210"},
	}},
	{Short: "FI", Long: "FaultInjected", Info: Info{
		Meaning: "A fault-injection abort answered the request with the configured status; the body is \"fault filter abort\".",
		Causes: []string{
			"A VirtualService `fault.abort` matches the request (often a leftover from a test).",
			"Retries and timeouts on the same route do not apply to the injected abort: the client sees the abort code, not a retried success.",
		},
		Next:  []string{cmdVS, cmdPCRoute},
		Codes: []string{"MD210"},
	}},
	{Short: "RL", Long: "RateLimited", Status: "429", Info: Info{
		Meaning: "A rate-limit filter rejected the request (429); the local rate limit answers \"local_rate_limited\".",
		Causes: []string{
			"A local or global rate limit (EnvoyFilter, Gateway policy) is configured below the actual request rate.",
			"Token buckets shared across many clients (per-proxy limits) fill faster than expected.",
		},
		Next: []string{"kubectl get envoyfilters -A -o yaml", cmdProxyLogs},
	}},
	{Short: "UAEX", Long: "UnauthorizedExternalService", Status: "403", Info: Info{
		Meaning: "The external authorization service (ext_authz) denied the request.",
		Causes: []string{
			"An AuthorizationPolicy with action CUSTOM sends the request to an ext_authz provider that said no.",
			"The ext_authz service is unreachable or times out and the provider is configured to fail closed.",
		},
		Next: []string{cmdAP, "kubectl get configmap istio -n istio-system -o yaml  # meshConfig.extensionProviders", cmdProxyLogs},
	}},
	{Short: "RLSE", Long: "RateLimitServiceError", Status: "500", Info: Info{
		Meaning: "The global rate-limit service could not be called or answered with an error.",
		Causes: []string{
			"The rate-limit service is down, unreachable, or slower than the filter's timeout.",
			"The rate-limit cluster referenced by the EnvoyFilter does not exist in the proxy.",
		},
		Next: []string{"kubectl get envoyfilters -A -o yaml", cmdPCCluster},
	}},
	{Short: "DC", Long: "DownstreamConnectionTermination", Info: Info{
		Meaning: "The client (downstream) closed the connection before the response was complete; the response code is often 0.",
		Causes: []string{
			"The client's own timeout is shorter than the service latency (client gave up).",
			"A load balancer or gateway in front has a shorter idle timeout.",
			"The client process was stopped or the user cancelled the request.",
			"A server-first protocol on a port Istio sniffs: both sides wait until the client gives up.",
		},
		Next:  []string{cmdProxyLogs, "kubectl logs <client-pod> -n <ns>  # the client's own timeout, against the log line's duration"},
		Codes: []string{"MD232"},
	}},
	{Short: "URX", Long: "UpstreamRetryLimitExceeded", Status: "503", Info: Info{
		Meaning: "The request was retried until the retry limit (HTTP) or the maximum connect attempts (TCP) was reached, and the last attempt failed too.",
		Causes: []string{
			"It accompanies the real failure flag (UF, UC, UR, UT...): explain that one; retries only hide the first failure.",
			"Retry policies (Istio retries on connect-failure, refused-stream, unavailable, cancelled and 503 by default) multiply load on a failing upstream.",
		},
		Next: []string{cmdPCRoute, cmdProxyLogs},
	}},
	{Short: "SI", Long: "StreamIdleTimeout", Status: "408", Info: Info{
		Meaning: "No bytes moved on the stream for the stream idle timeout; Envoy answered 408 \"stream timeout\" or reset the stream.",
		Causes: []string{
			"Long-polling, server-sent events or streaming RPCs quiet for longer than the idle timeout.",
			"The upstream stalls without closing the connection.",
			"A VirtualService `timeout` or DestinationRule idleTimeout lower than the application's quiet periods.",
		},
		Next: []string{cmdPCRoute, cmdPCListener},
	}},
	{Short: "IH", Long: "InvalidEnvoyRequestHeaders", Status: "400", Info: Info{
		Meaning: "The request carried x-envoy-* headers with invalid values and strict header checking is on (details request_headers_failed_strict_check).",
		Causes: []string{
			"A client or an upstream proxy forwards internal Envoy headers (x-envoy-retry-on, x-envoy-max-retries, x-envoy-upstream-rq-timeout-ms...) with bad values.",
		},
		Next: []string{cmdProxyLogs},
	}},
	{Short: "DPE", Long: "DownstreamProtocolError", Status: "400", Info: Info{
		Meaning: "The client spoke malformed HTTP, or a filter removed headers the request must have.",
		Causes: []string{
			"HTTP/1.0 requests (or requests without Host) reaching an HTTP listener: Envoy rejects HTTP/1.0 unless accept_http_10 is set (details low_version / missing_host_header).",
			"TLS sent to a plaintext HTTP port, or plaintext HTTP to a port declared HTTPS.",
			"Headers too large, invalid characters, underscores in header names (http1.* / http2.* details).",
		},
		Next:  []string{cmdPCListener, cmdProxyLogs},
		Codes: []string{"MD230", "MD238", "MD611"},
	}},
	{Short: "UMSDR", Long: "UpstreamMaxStreamDurationReached", Status: "408", Info: Info{
		Meaning: "The upstream request exceeded the configured max stream duration; Envoy answers \"upstream max stream duration reached\" (408, or 504 once the request was fully received).",
		Causes: []string{
			"A route or cluster `max_stream_duration` (EnvoyFilter, gRPC timeout headers with grpc_timeout_header_max) shorter than long-lived streams.",
		},
		Next: []string{cmdPCRoute, cmdPCCluster},
	}},
	{Short: "RFCF", Long: "ResponseFromCacheFilter", Info: Info{
		Meaning: "The response was served by Envoy's HTTP cache filter, not by the upstream.",
		Causes:  []string{"A cache filter is configured (EnvoyFilter); not a failure by itself, but stale content comes from here."},
		Next:    []string{"kubectl get envoyfilters -A -o yaml"},
	}},
	{Short: "NFCF", Long: "NoFilterConfigFound", Info: Info{
		Meaning: "A dynamically delivered filter configuration (ECDS) was not received within the warming deadline, so the request could not be processed.",
		Causes: []string{
			"A WasmPlugin whose module failed to download or load (wrong URL, pull secret, image format).",
			"istiod could not deliver the extension configuration (ECDS) to the proxy.",
		},
		Next: []string{"kubectl get wasmplugins -A -o yaml", cmdProxyLogs, cmdProxyStat},
	}},
	{Short: "DT", Long: "DurationTimeout", Info: Info{
		Meaning: "The request or connection reached the maximum (downstream) connection or stream duration.",
		Causes: []string{
			"`max_connection_duration` / `max_stream_duration` settings (DestinationRule maxConnectionDuration, EnvoyFilter) cutting long-lived connections such as WebSockets or gRPC streams.",
		},
		Next: []string{cmdPCListener, cmdPCCluster, cmdDR},
	}},
	{Short: "UPE", Long: "UpstreamProtocolError", Status: "502", Info: Info{
		Meaning: "The upstream answered with something that is not valid HTTP for the protocol Envoy used (reset reason \"protocol error\").",
		Causes: []string{
			"The application speaks HTTP/1.0 or a non-HTTP protocol on a port Istio treats as HTTP (port named http-*, or sniffed as HTTP).",
			"Protocol mismatch: the port is declared http2/grpc but the server speaks HTTP/1.1 (or h2c vs HTTP/1.1 the other way round).",
			"The server answers TLS or a binary protocol on a port declared http (e.g. TLS inside a port named http-).",
			"The response has malformed headers (invalid characters, duplicate Content-Length).",
		},
		Next:  []string{"kubectl get svc <svc> -n <ns> -o yaml  # port names / appProtocol", cmdPCCluster, cmdProxyLogs},
		Codes: []string{"MD230", "MD233", "MD237", "MD612"},
	}},
	{Short: "NC", Long: "NoClusterFound", Status: "503", Info: Info{
		Meaning: "The matched route points to a cluster the proxy does not have (details cluster_not_found).",
		Causes: []string{
			"The VirtualService names a subset that no DestinationRule defines, so the subset cluster was never created.",
			"The destination host does not exist (no Service or ServiceEntry), or is outside the namespaces a Sidecar resource exports to the proxy.",
			"Configuration has not synced to the proxy yet.",
		},
		Next:  []string{cmdPCCluster, cmdPCRoute, cmdDR, cmdProxyStat},
		Codes: []string{"MD202", "MD201", "MD313"},
	}},
	{Short: "OM", Long: "OverloadManagerTerminated", Status: "503", Since: "recent Envoy", Info: Info{
		Meaning: "Envoy's overload manager refused or terminated the request because a resource limit was reached (memory, connections, file descriptors).",
		Causes: []string{
			"The proxy is near its memory limit (too small a sidecar memory limit for the mesh size or traffic).",
			"Global downstream connection limits reached.",
			"Too low an open-files limit (`ulimit -n` 1024) for the number of connections.",
		},
		Next:  []string{"kubectl top pod <pod> -n <ns> --containers", cmdProxyLogs, cmdNode},
		Codes: []string{"MD508"},
	}},
	{Short: "DF", Long: "DnsResolutionFailed", Status: "503", Since: "recent Envoy", Info: Info{
		Meaning: "A DNS resolution Envoy needed failed (dynamic forward proxy or a DNS cluster).",
		Causes: []string{
			"A ServiceEntry with resolution DNS for a name that does not resolve from the proxy (typo, private zone, search domains).",
			"The DNS server is unreachable from the pod (NetworkPolicy blocking port 53, DNS proxying issues).",
		},
		Next: []string{"kubectl get serviceentries -A -o yaml", "kubectl exec <pod> -n <ns> -c istio-proxy -- nslookup <host>", cmdPCCluster},
	}},
	{Short: "DO", Long: "DropOverload", Status: "503", Since: "recent Envoy", Info: Info{
		Meaning: "The request was dropped by the cluster's drop_overload policy (a percentage of traffic the control plane asked to shed).",
		Causes:  []string{"The control plane sets drop_overloads in the cluster's endpoint assignment (rare with Istio, which does not set it by default)."},
		Next:    []string{cmdPCEndpoint + " -o json"},
	}},
	{Short: "DR", Long: "DownstreamRemoteReset", Since: "recent Envoy", Info: Info{
		Meaning: "The client reset the stream at the codec level (HTTP/2 or HTTP/3 RST_STREAM) before the response completed.",
		Causes: []string{
			"A gRPC client cancelled the call or its deadline expired on the client side.",
			"A browser or client navigated away or closed the stream.",
		},
		Next: []string{cmdProxyLogs, "kubectl logs <client-pod> -n <ns>  # the client's deadline, against the log line's duration"},
	}},
	{Short: "UDO", Long: "UnconditionalDropOverload", Status: "503", Since: "recent Envoy", Info: Info{
		Meaning: "The request was dropped because the cluster's drop_overload is set to 100%: all traffic to the cluster is shed.",
		Causes:  []string{"The control plane asked to drop every request to this cluster (drop_overloads at 100%)."},
		Next:    []string{cmdPCEndpoint + " -o json"},
	}},
}

// ResponseFlags returns every known response flag, in Envoy's order.
func ResponseFlags() []*FlagInfo {
	out := make([]*FlagInfo, len(flagTable))
	for i := range flagTable {
		out[i] = &flagTable[i]
	}
	return out
}

var flagIndex = sync.OnceValue(func() map[string]*FlagInfo {
	m := make(map[string]*FlagInfo, 2*len(flagTable))
	for i := range flagTable {
		f := &flagTable[i]
		m[strings.ToUpper(f.Short)] = f
		m[strings.ToUpper(f.Long)] = f
	}
	return m
})

// ResponseFlag looks a flag up by its short (UF) or long
// (UpstreamConnectionFailure) name, case-insensitively.
func ResponseFlag(name string) (*FlagInfo, bool) {
	f, ok := flagIndex()[strings.ToUpper(strings.TrimSpace(name))]
	return f, ok
}

// SplitFlags splits a %RESPONSE_FLAGS% value ("UF,URX", or long names) into
// the flags it names, in order, and the parts it does not know. "-" and
// empty parts name no flag.
func SplitFlags(s string) (flags []*FlagInfo, unknown []string) {
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" || p == "-" {
			continue
		}
		if f, ok := ResponseFlag(p); ok {
			flags = append(flags, f)
		} else {
			unknown = append(unknown, p)
		}
	}
	return flags, unknown
}

func (f *FlagInfo) explanation(input string) Explanation {
	e := Explanation{Kind: KindResponseFlag, Key: f.Short, Title: f.Short + " (" + f.Long + ")", Input: input, Status: f.Status, Info: f.Info}
	if f.Since != "" {
		e.Notes = append(e.Notes, "Added in "+f.Since+": older proxies do not print it.")
	}
	return e
}
