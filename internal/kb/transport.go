package kb

import (
	"strconv"
	"strings"
	"sync"
)

// TransportFailureInfo is one cause Envoy reports in
// %UPSTREAM_TRANSPORT_FAILURE_REASON% (and after "transport failure reason:"
// in the local reply): a BoringSSL reason from a failed TLS handshake, or the
// socket error of a failed connect ("delayed connect error: 111"), which
// ztunnel also prints ("os error 111").
type TransportFailureInfo struct {
	// Key is the BoringSSL reason (CERTIFICATE_VERIFY_FAILED), "TLS_error"
	// for a TLS error whose reason is not in the table, or the errno
	// symbol (ECONNREFUSED).
	Key string
	// Errno and Text are set for socket errors: the Linux errno number and
	// the strerror text newer Envoy and ztunnel print.
	Errno int
	Text  string
	Info
}

// IsTLS tells a TLS handshake failure from a socket error.
func (t *TransportFailureInfo) IsTLS() bool { return t.Errno == 0 }

var transportTable = [...]TransportFailureInfo{
	{Key: "CERTIFICATE_VERIFY_FAILED", Info: Info{
		Meaning: "Envoy did not accept the server's certificate: it does not chain to the trusted CA, has expired, or its SAN is not the expected one (the text after the reason, e.g. \"verify SAN list\", says which).",
		Causes: []string{
			"A DestinationRule with tls SIMPLE/MUTUAL whose caCertificates or subjectAltNames do not fit the server's certificate.",
			"Workloads with certificates from different roots: CA rotation or plugged-in certificates not rolled out, several clusters without a shared root (restart the pods after changing the root).",
			"Egress to an external host through a TLS-inspecting proxy whose CA is not trusted.",
			"ISTIO_MUTUAL towards a server that presents a non-Istio certificate.",
		},
		Next:  []string{cmdPCSecret, cmdDR, "istioctl proxy-config secret <pod> -n <ns> -o json | jq -r '.dynamicActiveSecrets[0].secret.tlsCertificate.certificateChain.inlineBytes' | base64 -d | openssl x509 -noout -text"},
		Codes: []string{"MD302", "MD239"},
	}},
	{Key: "WRONG_VERSION_NUMBER", Info: Info{
		Meaning: "Envoy started a TLS handshake and got bytes that are not TLS back: the server speaks plaintext on that port (often an HTTP 400 page).",
		Causes: []string{
			"A DestinationRule originates TLS (SIMPLE, MUTUAL or ISTIO_MUTUAL) towards a plaintext port, e.g. ISTIO_MUTUAL to a pod without a sidecar.",
			"A ServiceEntry port declared HTTPS/TLS (or port 443 declared HTTP with TLS origination) that is actually plaintext, or the reverse.",
			"TLS originated twice: the app already sends TLS and the DestinationRule adds TLS again.",
		},
		Next:  []string{cmdDR, "kubectl get serviceentries -A -o yaml", cmdPCCluster},
		Codes: []string{"MD316", "MD238", "MD239", "MD301"},
	}},
	{Key: "TLSV1_ALERT_UNKNOWN_CA", Info: Info{
		Meaning: "The peer rejected the certificate Envoy presented: it does not trust its issuing CA.",
		Causes: []string{
			"Client and server workloads have certificates from different Istio roots (multi-cluster without a shared root, CA migration half done).",
			"A DestinationRule with tls MUTUAL presents a client certificate the external server does not trust.",
		},
		Next: []string{cmdPCSecret, "kubectl get secret cacerts -n istio-system -o yaml", cmdDR},
	}},
	{Key: "SSLV3_ALERT_CERTIFICATE_UNKNOWN", Info: Info{
		Meaning: "The peer rejected Envoy's certificate for an unspecified reason (often SAN/identity checks or trust).",
		Causes: []string{
			"The server side verifies a SAN/identity the client certificate does not carry (service account mismatch, custom subjectAltNames).",
			"Certificates from different roots.",
		},
		Next: []string{cmdPCSecret, cmdDR},
	}},
	{Key: "SSLV3_ALERT_BAD_CERTIFICATE", Info: Info{
		Meaning: "The peer considered the certificate Envoy presented malformed or unacceptable.",
		Causes: []string{
			"A client certificate configured in a DestinationRule (MUTUAL) is corrupt, of the wrong type, or not a client certificate.",
		},
		Next: []string{cmdPCSecret, cmdDR},
	}},
	{Key: "SSLV3_ALERT_CERTIFICATE_EXPIRED", Info: Info{
		Meaning: "The peer rejected Envoy's certificate because it has expired.",
		Causes: []string{
			"The proxy could not renew its workload certificate (istiod/CA unreachable, clock skew).",
			"A static client certificate in a Secret referenced by a DestinationRule expired.",
		},
		Next: []string{cmdPCSecret, cmdProxyStat, "kubectl logs -n istio-system deploy/istiod --tail=200"},
	}},
	{Key: "SSLV3_ALERT_HANDSHAKE_FAILURE", Info: Info{
		Meaning: "The peer aborted the handshake: no acceptable parameters (version, cipher, SNI) or a required client certificate is missing.",
		Causes: []string{
			"The server requires a client certificate and the DestinationRule uses SIMPLE instead of MUTUAL/ISTIO_MUTUAL.",
			"The SNI Envoy sends matches no server name on the remote gateway.",
			"Minimum TLS version or cipher suites configured on one side only.",
		},
		Next:  []string{cmdDR, cmdGW, cmdPCCluster},
		Codes: []string{"MD301"},
	}},
	{Key: "TLSV1_ALERT_PROTOCOL_VERSION", Info: Info{
		Meaning: "The peer does not support the TLS version Envoy offered.",
		Causes: []string{
			"meshConfig.meshMTLS.minProtocolVersion or a DestinationRule/Gateway minProtocolVersion set to TLS 1.3 against a TLS 1.2-only peer (or the reverse limit).",
		},
		Next: []string{"kubectl get configmap istio -n istio-system -o yaml", cmdDR, cmdGW},
	}},
	{Key: "TLSV1_ALERT_CERTIFICATE_REQUIRED", Info: Info{
		Meaning: "The server requires a client certificate (mutual TLS) and Envoy did not send one.",
		Causes: []string{
			"DestinationRule tls mode SIMPLE (or DISABLE then TLS by the app) towards a server that requires mTLS, e.g. a STRICT Istio workload.",
			"The client certificate Secret referenced by a MUTUAL DestinationRule is missing in the client's namespace.",
		},
		Next:  []string{cmdDR, cmdPA, cmdPCSecret},
		Codes: []string{"MD301"},
	}},
	{Key: "PEER_DID_NOT_RETURN_A_CERTIFICATE", Info: Info{
		Meaning: "Seen on the server side: the client did not present a certificate although this listener requires one.",
		Causes: []string{
			"A client without a sidecar (or with TLS disabled by a DestinationRule) calls a STRICT mTLS workload or a MUTUAL gateway.",
		},
		Next:  []string{cmdPA, cmdDR, cmdDescribe},
		Codes: []string{"MD301"},
	}},
	{Key: "NO_SHARED_CIPHER", Info: Info{
		Meaning: "Client and server have no cipher suite in common.",
		Causes: []string{
			"cipherSuites restricted on a Gateway or in meshConfig that the peer does not support, or a legacy peer with only old ciphers.",
			"The server's certificate key type does not fit the allowed suites (ECDSA certificate with RSA-only suites).",
		},
		Next: []string{cmdGW, cmdDR, "kubectl get configmap istio -n istio-system -o yaml"},
	}},
	{Key: "HTTP_REQUEST", Info: Info{
		Meaning: "A TLS listener received a plain HTTP request instead of a TLS handshake.",
		Causes: []string{
			"A client calls http:// on a port that terminates TLS (a Gateway HTTPS server, an app serving TLS).",
			"A ServiceEntry port declared HTTP while the server expects TLS, so the sidecar forwards plaintext.",
		},
		Next:  []string{cmdGW, "kubectl get serviceentries -A -o yaml", cmdPCListener},
		Codes: []string{"MD238"},
	}},
	{Key: "TLSV1_ALERT_NO_APPLICATION_PROTOCOL", Info: Info{
		Meaning: "The peer supports none of the ALPN protocols Envoy offered.",
		Causes: []string{
			"An Istio-specific ALPN (istio-peer-exchange, istio-h2) sent to a non-Istio TLS server, e.g. ISTIO_MUTUAL towards an external TLS service.",
			"h2 required on one side and unsupported on the other.",
		},
		Next:  []string{cmdDR, cmdPCCluster},
		Codes: []string{"MD316"},
	}},
	{Key: "TLS_error", Info: Info{
		Meaning: "The TLS handshake with the upstream failed; the BoringSSL reason after \"OPENSSL_internal:\" says why.",
		Causes: []string{
			"TLS settings of the DestinationRule (mode, CA, SNI, SANs) do not fit the server.",
			"Certificates from different roots, expired, or the wrong identity.",
		},
		Next:  []string{cmdPCSecret, cmdDR, cmdPCLog},
		Codes: []string{"MD301", "MD302"},
	}},
	{Key: "ECONNREFUSED", Errno: 111, Text: "Connection refused", Info: Info{
		Meaning: "The destination host answered the connect with a reset: nothing listens on that IP and port.",
		Causes: []string{
			"The Service's targetPort does not match the port the container listens on.",
			"The application listens on 127.0.0.1/localhost only; since Istio 1.10 the sidecar forwards inbound traffic to the pod IP.",
			"The application has not started yet, or crashed (readiness probes not gating traffic).",
			"A stale endpoint: the IP now belongs to another pod.",
		},
		Next:  []string{"kubectl exec <server-pod> -n <ns> -c istio-proxy -- ss -ltnp", cmdEndpoints, cmdPCEndpoint},
		Codes: []string{"MD511"},
	}},
	{Key: "ECONNRESET", Errno: 104, Text: "Connection reset by peer", Info: Info{
		Meaning: "The peer (or something in between) sent a TCP reset on an established connection.",
		Causes: []string{
			"The server process closed the socket abruptly or crashed.",
			"mTLS/plaintext mismatch: the receiving proxy resets a connection it cannot accept.",
			"A firewall or iptables REJECT --reject-with tcp-reset rule (e.g. a connmark rule left by a traffic-stealing tool).",
			"Idle connections expired by a NAT/conntrack timeout and reset on reuse.",
		},
		Next:  []string{cmdNode, cmdProxyLogs, cmdPA},
		Codes: []string{"MD505"},
	}},
	{Key: "ETIMEDOUT", Errno: 110, Text: "Connection timed out", Info: Info{
		Meaning: "The connect (or an established connection) timed out: packets went unanswered.",
		Causes: []string{
			"A NetworkPolicy or Cilium policy drops the traffic silently.",
			"The destination IP is no longer routable (pod deleted, node down).",
		},
		Next: []string{cmdHubble, cmdMonitor, cmdNetpol},
	}},
	{Key: "EHOSTUNREACH", Errno: 113, Text: "No route to host", Info: Info{
		Meaning: "The kernel has no route to the destination, or an ICMP host-unreachable came back.",
		Causes: []string{
			"The destination pod IP is stale or belongs to a node that is gone.",
			"A REJECT rule with icmp-host-prohibited, or a CNI routing problem between nodes.",
		},
		Next: []string{cmdPCEndpoint, cmdCiliumNode, cmdHubble},
	}},
	{Key: "ENETUNREACH", Errno: 101, Text: "Network is unreachable", Info: Info{
		Meaning: "No route to the destination network exists in the pod's routing table.",
		Causes: []string{
			"IPv6 destination without IPv6 routes (dual-stack misconfiguration).",
			"A broken pod network namespace (CNI setup failed or was partially undone).",
		},
		Next: []string{"kubectl exec <pod> -n <ns> -c istio-proxy -- ip route", cmdNode},
	}},
	{Key: "EADDRNOTAVAIL", Errno: 99, Text: "Cannot assign requested address", Info: Info{
		Meaning: "The connect could not get a local address/port: the source address is not on the host or the ephemeral ports are exhausted.",
		Causes: []string{
			"Ephemeral port exhaustion from many short connections to the same destination.",
			"Binding to the original source IP (TPROXY/interception) without the right routing or freebind.",
		},
		Next: []string{"kubectl exec <pod> -n <ns> -c istio-proxy -- ss -s", cmdNode},
	}},
	{Key: "EPIPE", Errno: 32, Text: "Broken pipe", Info: Info{
		Meaning: "Data was written to a connection the peer had already closed.",
		Causes: []string{
			"The peer closed an idle or timed-out connection that was then reused.",
			"The peer rejected the connection after the handshake (policy, protocol mismatch).",
		},
		Next: []string{cmdProxyLogs, cmdZLogs},
	}},
	{Key: "EMFILE", Errno: 24, Text: "Too many open files", Info: Info{
		Meaning: "The process reached its open-files limit and could not open another socket.",
		Causes: []string{
			"The proxy (Envoy or ztunnel) runs with a low `ulimit -n` (1024) while serving many connections.",
			"Connection leaks in the application keep sockets open.",
		},
		Next:  []string{cmdNode, "kubectl exec <pod> -n <ns> -c istio-proxy -- sh -c 'ulimit -n; ls /proc/1/fd | wc -l'"},
		Codes: []string{"MD508"},
	}},
}

// TransportFailures returns every known transport failure and socket error.
func TransportFailures() []*TransportFailureInfo {
	out := make([]*TransportFailureInfo, len(transportTable))
	for i := range transportTable {
		out[i] = &transportTable[i]
	}
	return out
}

type transportIdx struct {
	byKey   map[string]*TransportFailureInfo // TLS reasons and errno symbols
	byErrno map[int]*TransportFailureInfo
	byText  map[string]*TransportFailureInfo // lowercase strerror text
}

var transportIndex = sync.OnceValue(func() transportIdx {
	x := transportIdx{byKey: map[string]*TransportFailureInfo{}, byErrno: map[int]*TransportFailureInfo{}, byText: map[string]*TransportFailureInfo{}}
	for i := range transportTable {
		t := &transportTable[i]
		x.byKey[strings.ToUpper(t.Key)] = t
		if t.Errno != 0 {
			x.byErrno[t.Errno] = t
			x.byText[strings.ToLower(t.Text)] = t
		}
	}
	return x
})

// tlsErrorNumbers are the packed BoringSSL error numbers that show up in
// Istio logs, for TLS errors printed without their reason.
var tlsErrorNumbers = map[string]string{
	"268435581": "CERTIFICATE_VERIFY_FAILED",
	"268435703": "WRONG_VERSION_NUMBER",
}

// maxTLSError bounds the text read as one TLS error.
const maxTLSError = 1024

// tlsFailure is a decoded TLS error string.
type tlsFailure struct {
	reason string // BoringSSL reason, "" if none could be read
	number string // the packed error number, if printed
	extra  string // text after the reason (e.g. "verify cert failed: verify SAN list")
	start  int    // offset of the "TLS_error"/"TLS error" marker
	end    int    // offset just past the error
}

// findTLSError finds a TLS error in s in any of the forms Envoy prints:
//
//	TLS_error:|268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:TLS_error_end
//	TLS error: 268435703:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER     (older)
//
// and their response-code-details forms, where spaces became underscores.
func findTLSError(s string) (tlsFailure, bool) {
	lower := lowerASCII(s)
	start := -1
	for _, m := range []string{"tls_error:", "tls error:"} {
		if i := strings.Index(lower, m); i >= 0 && (start < 0 || i < start) {
			start = i
		}
	}
	if start < 0 {
		return tlsFailure{}, false
	}
	f := tlsFailure{start: start}
	rest := s[start+len("tls_error:"):]
	// A TLS error is short and ends at its end marker, or at the end of
	// the field that holds it.
	if len(rest) > maxTLSError {
		rest = rest[:maxTLSError]
	}
	if i := strings.IndexAny(rest, "}\"\n"); i >= 0 {
		rest = rest[:i]
	}
	f.end = start + len("tls_error:") + len(rest)
	if i := strings.Index(lowerASCII(rest), "tls_error_end"); i >= 0 {
		f.end = start + len("tls_error:") + i + len("tls_error_end")
		rest = rest[:i]
	}
	// The packed number.
	r := strings.TrimLeft(rest, "|_ ")
	n := 0
	for n < len(r) && r[n] >= '0' && r[n] <= '9' {
		n++
	}
	f.number = r[:n]
	// The reason follows "OPENSSL_internal:".
	if i := strings.Index(lowerASCII(rest), "openssl_internal:"); i >= 0 {
		tail := rest[i+len("openssl_internal:"):]
		j := 0
		for j < len(tail) && (tail[j] >= 'A' && tail[j] <= 'Z' || tail[j] >= '0' && tail[j] <= '9' || tail[j] == '_') {
			j++
		}
		f.reason = tail[:j]
		extra := strings.Trim(tail[j:], ":|_ ")
		extra = strings.Join(strings.Fields(strings.ReplaceAll(extra, "_", " ")), " ")
		f.extra = extra
	}
	if f.reason == "" {
		f.reason = tlsErrorNumbers[f.number]
	}
	return f, true
}

// findErrno finds a socket error in s: "delayed connect error: 111",
// "delayed connect error: Connection refused", their underscore forms, and
// ztunnel's "Connection refused (os error 111)".
func findErrno(s string) (*TransportFailureInfo, int, bool) {
	x := transportIndex()
	lower := lowerASCII(strings.ReplaceAll(s, "_", " "))
	for _, m := range []string{"delayed connect error:", "os error "} {
		if i := strings.Index(lower, m); i >= 0 {
			r := strings.TrimLeft(lower[i+len(m):], " ")
			n := 0
			for n < len(r) && n < 4 && r[n] >= '0' && r[n] <= '9' {
				n++
			}
			if n > 0 {
				if v, err := strconv.Atoi(r[:n]); err == nil {
					if t, ok := x.byErrno[v]; ok {
						return t, i, true
					}
				}
			}
		}
	}
	best, at := (*TransportFailureInfo)(nil), -1
	for text, t := range x.byText {
		if i := strings.Index(lower, text); i >= 0 && (at < 0 || i < at || i == at && t.Errno < best.Errno) {
			best, at = t, i
		}
	}
	return best, at, best != nil
}

// TransportFailure decodes a transport failure reason: a TLS error string
// (any form, see findTLSError), a BoringSSL reason name
// (CERTIFICATE_VERIFY_FAILED), a socket error ("delayed connect error: 111",
// "Connection refused", "os error 104") or an errno symbol (ECONNREFUSED).
func TransportFailure(s string) (*TransportFailureInfo, bool) {
	s = strings.TrimSpace(s)
	x := transportIndex()
	if t, ok := x.byKey[strings.ToUpper(s)]; ok {
		return t, true
	}
	if f, ok := findTLSError(s); ok {
		if t, ok := x.byKey[f.reason]; ok {
			return t, true
		}
		return x.byKey["TLS_ERROR"], true
	}
	if t, _, ok := findErrno(s); ok {
		return t, true
	}
	return nil, false
}

func (t *TransportFailureInfo) explanation(input string) Explanation {
	if t.IsTLS() {
		return Explanation{Kind: KindTransportFailure, Key: t.Key, Title: "TLS handshake failed: " + t.Key, Input: input, Flags: []string{"UF"}, Info: t.Info}
	}
	return Explanation{Kind: KindSocketError, Key: t.Key, Title: t.Key + " (errno " + strconv.Itoa(t.Errno) + ", \"" + t.Text + "\")", Input: input, Info: t.Info}
}

// tlsExplanation explains a decoded TLS error, with what was read from it.
func tlsExplanation(f tlsFailure, input string) Explanation {
	x := transportIndex()
	t, known := x.byKey[f.reason]
	if !known {
		t = x.byKey["TLS_ERROR"]
	}
	e := t.explanation(input)
	if !known && f.reason != "" {
		e.Notes = append(e.Notes, "BoringSSL reason: "+f.reason+".")
	}
	if f.number != "" {
		e.Notes = append(e.Notes, "Packed BoringSSL error number: "+f.number+".")
	}
	if f.extra != "" {
		e.Notes = append(e.Notes, "Detail after the reason: \""+f.extra+"\".")
		if strings.Contains(strings.ToLower(f.extra), "san") {
			e.Notes = append(e.Notes, "The certificate chain was trusted but its subject alternative names did not match what the client expected (DestinationRule subjectAltNames, or the service account identity).")
		}
	}
	return e
}
