package kb

import (
	"strings"
	"sync"
)

// ResetInfo is one stream reset reason as Envoy prints it in the
// "upstream connect error or disconnect/reset before headers. reset reason: X"
// body and, with spaces turned into underscores, inside
// upstream_reset_before_response_started{X}.
type ResetInfo struct {
	Reason string // e.g. "remote connection failure"
	Flag   string // the response flag the router sets for it
	// Legacy is set for the wording of older Envoy releases.
	Legacy bool
	Info
}

var resetTable = [...]ResetInfo{
	{Reason: "connection failure", Flag: "UF", Legacy: true, Info: Info{
		Meaning: "Older Envoy's single reason for any failed connect: refused, unreachable, timed out or a failed TLS handshake. Newer Envoy splits it into local connection failure, remote connection failure and connection timeout.",
		Causes: []string{
			"Nothing listens on the target port, or the app listens on 127.0.0.1 only (transport failure \"delayed connect error: 111\").",
			"A NetworkPolicy, Cilium policy or firewall drops the connection.",
			"TLS/mTLS mismatch between the DestinationRule and the server (a TLS_error transport failure).",
		},
		Next:  []string{cmdPCEndpoint, cmdDescribe, cmdHubble},
		Codes: []string{"MD301", "MD317", "MD316", "MD511"},
	}},
	{Reason: "local connection failure", Flag: "UF", Info: Info{
		Meaning: "The connection attempt failed on Envoy's own side before reaching the peer (socket creation, bind or local resource failure).",
		Causes: []string{
			"The proxy ran out of file descriptors or ephemeral ports.",
			"Source-address binding failed (original-source / TPROXY setups, EADDRNOTAVAIL).",
		},
		Next:  []string{cmdProxyLogs, cmdNode},
		Codes: []string{"MD508"},
	}},
	{Reason: "remote connection failure", Flag: "UF", Info: Info{
		Meaning: "The peer refused or broke the connection attempt: TCP was refused/reset, or the TLS handshake failed. The transport failure reason after it says which.",
		Causes: []string{
			"\"delayed connect error: Connection refused\" (111): no listener on the target port, wrong targetPort, app bound to 127.0.0.1, pod still starting.",
			"A TLS_error (CERTIFICATE_VERIFY_FAILED, WRONG_VERSION_NUMBER...): DestinationRule TLS settings do not fit the server (ISTIO_MUTUAL to a pod without sidecar, SIMPLE/DISABLE to a STRICT server, TLS originated twice).",
			"A policy rejects the connection with a reset (REJECT rules, connmark reset rules).",
		},
		Next:  []string{cmdPCEndpoint, cmdDescribe, cmdDR + " ; " + cmdPA, "kubectl exec <server-pod> -n <ns> -c istio-proxy -- ss -ltnp"},
		Codes: []string{"MD301", "MD317", "MD316", "MD239", "MD511", "MD505"},
	}},
	{Reason: "connection timeout", Flag: "UF", Info: Info{
		Meaning: "The connect did not complete within the cluster's connect timeout (Istio default 10s): SYNs went unanswered.",
		Causes: []string{
			"A NetworkPolicy, CiliumNetworkPolicy or cloud firewall silently drops the traffic (Cilium: source seen as world/remote-node during a CNI migration).",
			"The endpoint IP is stale (pod gone, IP not routable) or the node is unreachable.",
			"In ambient mode, HBONE port 15008 blocked between nodes.",
		},
		Next: []string{cmdHubble, cmdMonitor, cmdNetpol, cmdPCEndpoint},
	}},
	{Reason: "connection termination", Flag: "UC", Info: Info{
		Meaning: "The upstream connection closed while the request was in flight, before response headers.",
		Causes: []string{
			"Keep-alive race: the server closed an idle pooled connection as Envoy reused it (server idle timeout shorter than the client's).",
			"Plaintext sent to a STRICT mTLS port, or mTLS to a plaintext server: the peer closes the connection.",
			"HTTP/2 configured towards an HTTP/1-only server (or the reverse).",
			"The server crashed or closed connections under load.",
		},
		Next:  []string{cmdDescribe, cmdPA, cmdPCCluster, cmdProxyLogs},
		Codes: []string{"MD234", "MD301", "MD317", "MD316"},
	}},
	{Reason: "local reset", Flag: "LR", Info: Info{
		Meaning: "Envoy reset the stream itself before the upstream answered.",
		Causes: []string{
			"The proxy is draining or the listener/cluster was updated and old connections were closed.",
			"A local timeout (per-try idle timeout, max stream duration) fired.",
		},
		Next: []string{cmdProxyLogs, cmdPCLog},
	}},
	{Reason: "local refused stream reset", Flag: "LR", Info: Info{
		Meaning: "Envoy refused the stream locally (HTTP/2 REFUSED_STREAM semantics); the request is safe to retry.",
		Causes:  []string{"Connection pool limits or a draining connection made Envoy refuse the stream."},
		Next:    []string{cmdPCCluster, cmdProxyLogs},
	}},
	{Reason: "overflow", Flag: "UO", Info: Info{
		Meaning: "A circuit breaker tripped: the cluster's pending-request, request or connection limit was reached.",
		Causes: []string{
			"DestinationRule `trafficPolicy.connectionPool` limits are too small for the load.",
			"A slow upstream makes requests queue until the pending limit is hit.",
		},
		Next: []string{cmdDR, cmdPCCluster},
	}},
	{Reason: "remote reset", Flag: "UR", Info: Info{
		Meaning: "The upstream reset the stream (TCP RST, or HTTP/2 RST_STREAM) before sending response headers.",
		Causes: []string{
			"The application crashed, panicked or was OOM-killed while handling the request.",
			"An HTTP/2/gRPC server cancelled the stream (handler panic, deadline, shutdown).",
			"A policy in the data path resets established connections (connmark REJECT with tcp-reset).",
		},
		Next:  []string{"kubectl get pods -n <ns> -o wide", "kubectl logs <server-pod> -n <ns> --previous", cmdNode},
		Codes: []string{"MD505"},
	}},
	{Reason: "remote refused stream reset", Flag: "UR", Info: Info{
		Meaning: "The upstream refused the stream (HTTP/2 REFUSED_STREAM): it did not process it, so it can be retried.",
		Causes: []string{
			"The server's max concurrent streams per connection is reached.",
			"The server sent GOAWAY (shutting down, connection age limit).",
		},
		Next: []string{cmdPCCluster, cmdDR},
	}},
	{Reason: "remote error with CONNECT request", Flag: "UR", Info: Info{
		Meaning: "The peer answered a CONNECT (tunnel) request with an error; in Istio this is the HBONE tunnel on port 15008.",
		Causes: []string{
			"The destination ztunnel or waypoint rejected the tunnel (authorization policy, unknown destination).",
			"The destination is not reachable from the tunnel endpoint.",
		},
		Next: []string{cmdZLogs, cmdZWorkload, cmdWaypoints},
	}},
	{Reason: "protocol error", Flag: "UPE", Info: Info{
		Meaning: "The upstream sent bytes that are not valid for the HTTP protocol Envoy used; Envoy answers 502.",
		Causes: []string{
			"A non-HTTP or HTTP/1.0 server on a port Istio treats as HTTP (port name http-*, or sniffed).",
			"HTTP/2 or gRPC declared for a server that speaks HTTP/1.1 (or the reverse).",
			"TLS from the server on a port declared plaintext HTTP.",
		},
		Next:  []string{"kubectl get svc <svc> -n <ns> -o yaml  # port names / appProtocol", cmdPCCluster},
		Codes: []string{"MD230", "MD233", "MD237"},
	}},
	{Reason: "overload manager reset", Flag: "OM", Info: Info{
		Meaning: "Envoy's overload manager reset the stream because the proxy reached a resource limit.",
		Causes: []string{
			"The sidecar is near its memory limit.",
			"Connection or file-descriptor limits reached (open-files limit 1024).",
		},
		Next:  []string{"kubectl top pod <pod> -n <ns> --containers", cmdNode},
		Codes: []string{"MD508"},
	}},
}

// ResetReasons returns every known reset reason.
func ResetReasons() []*ResetInfo {
	out := make([]*ResetInfo, len(resetTable))
	for i := range resetTable {
		out[i] = &resetTable[i]
	}
	return out
}

var resetIndex = sync.OnceValue(func() map[string]*ResetInfo {
	m := make(map[string]*ResetInfo, len(resetTable))
	for i := range resetTable {
		m[resetTable[i].Reason] = &resetTable[i]
	}
	return m
})

// ResetReason looks a reset reason up in either wording: as the body prints
// it ("remote connection failure") or as response code details print it
// ("remote_connection_failure").
func ResetReason(s string) (*ResetInfo, bool) {
	r, ok := resetIndex()[normalizeReason(s)]
	return r, ok
}

// normalizeReason lowercases s, turns underscores into spaces and collapses
// runs of spaces, except in "CONNECT", which only the CONNECT reason has.
func normalizeReason(s string) string {
	s = strings.ReplaceAll(strings.TrimSpace(s), "_", " ")
	s = strings.Join(strings.Fields(s), " ")
	if strings.EqualFold(s, "remote error with CONNECT request") {
		return "remote error with CONNECT request"
	}
	return strings.ToLower(s)
}

func (r *ResetInfo) explanation(input string) Explanation {
	e := Explanation{Kind: KindResetReason, Key: r.Reason, Title: "reset reason: " + r.Reason, Input: input, Flags: []string{r.Flag}, Info: r.Info}
	if r.Legacy {
		e.Notes = append(e.Notes, "Older Envoy wording; newer proxies print local connection failure, remote connection failure or connection timeout instead.")
	}
	return e
}
