package kb

import (
	"sort"
	"strconv"
	"strings"
	"sync"
)

// ZtunnelErrorInfo is one error message of istio/ztunnel (the ambient node
// proxy), as it appears in its logs and in the error="..." field of its
// access log. Pattern is the fixed part of the message, lowercase.
type ZtunnelErrorInfo struct {
	Pattern string
	Info
}

var ztunnelTable = [...]ZtunnelErrorInfo{
	{Pattern: "connection closed due to policy rejection", Info: Info{
		Meaning: "The destination ztunnel (or waypoint) rejected the connection because of an AuthorizationPolicy. The text after it says which case: \"allow policies exist, but none allowed\" or \"explicitly denied by: NS/NAME\".",
		Causes: []string{
			"An ALLOW policy selects the destination and no rule matches the source identity, namespace or port.",
			"A DENY policy matches.",
			"L7 attributes (paths, methods, JWT) in a policy enforced by ztunnel, which only sees L4: such rules need a waypoint.",
		},
		Next:  []string{cmdAP, "istioctl ztunnel-config policy", cmdZLogs},
		Codes: []string{"MD614", "MD615", "MD305", "MD304"},
	}},
	{Pattern: "connection closed due to policy change", Info: Info{
		Meaning: "An established connection was closed because an AuthorizationPolicy change no longer allows it.",
		Causes:  []string{"A policy was added or changed while the connection was open."},
		Next:    []string{cmdAP, cmdZLogs},
	}},
	{Pattern: "connection timed out, maybe a networkpolicy is blocking hbone port 15008", Info: Info{
		Meaning: "ztunnel could not open the HBONE tunnel to the destination node's ztunnel on port 15008 in time.",
		Causes: []string{
			"A NetworkPolicy or CiliumNetworkPolicy allows the application port but not port 15008 between pods/nodes.",
			"A cloud firewall or security group blocks 15008 between nodes.",
		},
		Next:  []string{cmdNetpol, cmdHubble, cmdZLogs},
		Codes: []string{"MD613", "MD413"},
	}},
	{Pattern: "connection failed", Info: Info{
		Meaning: "ztunnel could not connect to the destination (the workload, its ztunnel or a waypoint); the socket error that follows says why.",
		Causes: []string{
			"Nothing listens on the destination port (Connection refused).",
			"A network policy or firewall drops the traffic (timed out).",
			"The destination pod is gone or restarting.",
		},
		Next: []string{cmdZWorkload, cmdZLogs, cmdHubble},
	}},
	{Pattern: "http status", Info: Info{
		Meaning: "The HBONE peer (the destination ztunnel or a waypoint) answered ztunnel's CONNECT request with a non-200 HTTP status, so the tunnel was not established.",
		Causes: []string{
			"503/502: the peer could not reach the final destination (no healthy endpoint, connection refused behind it).",
			"401/403: the peer refused the client's identity or an authorization policy denied it.",
			"400/404: the peer did not know the requested destination address (stale workload information).",
		},
		Next: []string{cmdZLogs, cmdWaypoints, cmdZWorkload, "kubectl logs -n <ns> deploy/<waypoint> --tail=200"},
	}},
	{Pattern: "no healthy upstream", Info: Info{
		Meaning: "ztunnel found no healthy endpoint for the service or workload it had to reach.",
		Causes: []string{
			"The Service has no ready endpoints, or none that ztunnel knows about (not yet synced).",
			"All endpoints are on networks ztunnel cannot reach without a gateway.",
		},
		Next: []string{cmdEndpoints, cmdZService, cmdZWorkload},
	}},
	{Pattern: "unknown waypoint", Info: Info{
		Meaning: "The destination (or source) is configured to use a waypoint that ztunnel cannot find.",
		Causes: []string{
			"The istio.io/use-waypoint label names a waypoint Gateway that does not exist or is not programmed.",
			"The waypoint's Service/Deployment is missing or in another namespace than the label assumes.",
		},
		Next: []string{cmdWaypoints, "kubectl get gateways.gateway.networking.k8s.io -n <ns>", "kubectl get ns,svc,pods -n <ns> -L istio.io/use-waypoint"},
	}},
	{Pattern: "unknown network gateway", Info: Info{
		Meaning: "The destination is on another network and ztunnel knows no gateway for that network.",
		Causes:  []string{"Multi-network setup without an east-west gateway for the remote network, or network labels that do not match."},
		Next:    []string{cmdZWorkload, "kubectl get svc -n istio-system -l topology.istio.io/network"},
	}},
	{Pattern: "io error", Info: Info{
		Meaning: "A socket read or write failed in ztunnel; the operating-system error that follows says which.",
		Causes: []string{
			"Connection reset by peer: the application or the other ztunnel closed the connection abruptly, or a policy reset it.",
			"Broken pipe: the peer had already closed the connection.",
		},
		Next: []string{cmdZLogs, cmdNode},
	}},
	{Pattern: "destination disconnected before all data was written", Info: Info{
		Meaning: "The destination closed its side while ztunnel still had data to send.",
		Causes:  []string{"The server closed or crashed mid-connection; server-side idle timeouts."},
		Next:    []string{"kubectl logs <server-pod> -n <ns>", cmdZLogs},
	}},
	{Pattern: "client disconnected before all data was written", Info: Info{
		Meaning: "The client closed its side while ztunnel still had data to deliver to it.",
		Causes:  []string{"Client-side timeouts or cancelled requests."},
		Next:    []string{cmdZLogs},
	}},
	{Pattern: "no service for target address", Info: Info{
		Meaning: "ztunnel received traffic for an address that matches no service or workload it knows.",
		Causes: []string{
			"The destination IP is outside the mesh's registry (stale DNS, an external IP) or not yet synced to ztunnel.",
		},
		Next: []string{cmdZService, cmdZWorkload},
	}},
	{Pattern: "no valid routing destination for workload", Info: Info{
		Meaning: "ztunnel found the destination workload but no way to route to it.",
		Causes:  []string{"The workload has no IP on a reachable network and no gateway; or its information is incomplete."},
		Next:    []string{cmdZWorkload},
	}},
	{Pattern: "no valid target port for workload", Info: Info{
		Meaning: "The service port does not map to a port on the selected workload.",
		Causes:  []string{"A Service targetPort (often a named port) that the pod does not declare."},
		Next:    []string{"kubectl get svc <svc> -n <ns> -o yaml", cmdZService},
	}},
	{Pattern: "no service or workload for hostname", Info: Info{
		Meaning: "ztunnel was asked to reach a hostname it knows neither as a service nor as a workload.",
		Causes:  []string{"A ServiceEntry or Service missing, or not visible to ztunnel yet."},
		Next:    []string{cmdZService},
	}},
	{Pattern: "no endpoints for workload", Info: Info{
		Meaning: "The service selected for the connection has no endpoint ztunnel can use.",
		Causes:  []string{"No ready pods behind the Service."},
		Next:    []string{cmdEndpoints, cmdZService},
	}},
	{Pattern: "failed to fetch information about local workload", Info: Info{
		Meaning: "ztunnel could not find the workload the connection comes from, so it cannot pick an identity for it.",
		Causes: []string{
			"The pod was just created and its workload information has not reached ztunnel yet.",
			"The pod's IP changed or the pod is not captured correctly (istio-cni problem).",
		},
		Next: []string{cmdZWorkload, "kubectl logs -n istio-system -l k8s-app=istio-cni-node --tail=200"},
	}},
	{Pattern: "unknown source", Info: Info{
		Meaning: "Older ztunnel: the source address of the connection matches no known workload.",
		Causes:  []string{"Workload information not synced yet, or traffic from an unmeshed source captured by mistake."},
		Next:    []string{cmdZWorkload},
	}},
	{Pattern: "no ip addresses were resolved for workload", Info: Info{
		Meaning: "ztunnel had to resolve a hostname-based workload and got no address.",
		Causes:  []string{"A DNS ServiceEntry/WorkloadEntry host that does not resolve from ztunnel."},
		Next:    []string{"kubectl get serviceentries,workloadentries -A -o yaml", cmdZLogs},
	}},
	{Pattern: "tls error", Info: Info{
		Meaning: "The mTLS handshake of the HBONE tunnel failed.",
		Causes: []string{
			"Workload certificates from different roots (CA change not rolled out, multi-cluster without a shared root).",
			"ztunnel could not get certificates for the workload identity from istiod.",
		},
		Next: []string{"istioctl ztunnel-config certificate", cmdZLogs},
	}},
	{Pattern: "identity error", Info: Info{
		Meaning: "ztunnel could not obtain or use the certificate for a workload identity.",
		Causes:  []string{"istiod (CA) unreachable from ztunnel, or the service account token was rejected."},
		Next:    []string{"istioctl ztunnel-config certificate", "kubectl logs -n istio-system deploy/istiod --tail=200"},
	}},
	{Pattern: "http2 handshake failed", Info: Info{
		Meaning: "The HTTP/2 layer of the HBONE tunnel could not be set up with the peer.",
		Causes:  []string{"Something other than a ztunnel or waypoint answers on port 15008, or the peer closed the connection."},
		Next:    []string{cmdZLogs},
	}},
	{Pattern: "connection closed due to connection drain", Info: Info{
		Meaning: "ztunnel closed the connection because it (or the pod's proxy instance) is draining.",
		Causes:  []string{"ztunnel restart or upgrade, or the pod being removed from the mesh."},
		Next:    []string{"kubectl get pods -n istio-system -l app=ztunnel -o wide", cmdZLogs},
	}},
}

// ZtunnelErrors returns every known ztunnel error message.
func ZtunnelErrors() []*ZtunnelErrorInfo {
	out := make([]*ZtunnelErrorInfo, len(ztunnelTable))
	for i := range ztunnelTable {
		out[i] = &ztunnelTable[i]
	}
	return out
}

// ztunnelByLength holds the table longest pattern first, so a more specific
// message wins over a shorter one it contains.
var ztunnelByLength = sync.OnceValue(func() []*ZtunnelErrorInfo {
	out := ZtunnelErrors()
	sort.SliceStable(out, func(i, j int) bool { return len(out[i].Pattern) > len(out[j].Pattern) })
	return out
})

// findZtunnel finds the most specific ztunnel message contained in s and
// its offset.
func findZtunnel(s string) (*ZtunnelErrorInfo, int) {
	lower := lowerASCII(s)
	for _, z := range ztunnelByLength() {
		if i := strings.Index(lower, z.Pattern); i >= 0 {
			return z, i
		}
	}
	return nil, -1
}

// ZtunnelError finds the ztunnel error message contained in msg.
func ZtunnelError(msg string) (*ZtunnelErrorInfo, bool) {
	z, _ := findZtunnel(msg)
	return z, z != nil
}

// ztunnelParts explains a ztunnel message and what it carries: the policy
// rejection's reason, the HTTP status, the operating-system error.
func ztunnelParts(msg string, z *ZtunnelErrorInfo, at int) []Explanation {
	rest := msg[at+len(z.Pattern):]
	e := Explanation{Kind: KindZtunnelError, Key: z.Pattern, Title: "ztunnel: " + z.Pattern, Input: strings.TrimSpace(msg[at:]), Info: z.Info}
	lower := lowerASCII(rest)
	var more []Explanation
	switch z.Pattern {
	case "connection closed due to policy rejection":
		switch {
		case strings.Contains(lower, "allow policies exist, but none allowed"):
			e.Notes = append(e.Notes, "No ALLOW policy rule matched the connection (\"allow policies exist, but none allowed\").")
		case strings.Contains(lower, "explicitly denied by:"):
			i := strings.Index(lower, "explicitly denied by:")
			pol := strings.Trim(strings.TrimSpace(rest[i+len("explicitly denied by:"):]), "\"")
			e.Notes = append(e.Notes, "A DENY policy matched: "+pol+".")
		case strings.Contains(lower, "workload not found"):
			e.Notes = append(e.Notes, "ztunnel did not find the destination workload when evaluating policy.")
		case strings.Contains(lower, "workload mismatch"):
			e.Notes = append(e.Notes, "The connection's destination does not match the workload ztunnel evaluated policy for.")
		}
	case "http status":
		if code := leadingNumber(strings.TrimLeft(rest, ": ")); code != "" {
			e.Notes = append(e.Notes, "The peer answered "+code+". "+httpStatusHint(code))
		}
	}
	if t, _, ok := findErrno(rest); ok {
		more = append(more, t.explanation(strings.TrimSpace(rest)))
	}
	if f, ok := findTLSError(rest); ok {
		more = append(more, tlsExplanation(f, rest[f.start:f.end]))
	}
	return append([]Explanation{e}, more...)
}

func leadingNumber(s string) string {
	n := 0
	for n < len(s) && n < 3 && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	if n != 3 {
		return ""
	}
	return s[:n]
}

func httpStatusHint(code string) string {
	c, _ := strconv.Atoi(code)
	switch {
	case c == 401 || c == 403:
		return "Usually the peer refused the client's identity or an authorization policy denied it."
	case c == 503 || c == 502 || c == 504:
		return "Usually the peer could not reach the final destination (no healthy endpoint, connection refused or timed out behind it)."
	case c == 400 || c == 404:
		return "Usually the peer did not accept the requested destination address."
	}
	return "See the peer's (ztunnel or waypoint) log for the reason."
}
