package kb

// Kind says which vocabulary an explained string belongs to.
type Kind string

// The vocabularies Explain knows.
const (
	KindResponseFlag     Kind = "envoy-response-flag"
	KindDetails          Kind = "envoy-response-code-details"
	KindResetReason      Kind = "envoy-reset-reason"
	KindTransportFailure Kind = "envoy-transport-failure"
	KindSocketError      Kind = "socket-error"
	KindLocalReply       Kind = "envoy-local-reply"
	KindZtunnelError     Kind = "ztunnel-error"
	KindDropReason       Kind = "cilium-drop-reason"
	KindIdentity         Kind = "cilium-identity"
)

// label is how a kind is named in a heading.
func (k Kind) label() string {
	switch k {
	case KindResponseFlag:
		return "Envoy response flag"
	case KindDetails:
		return "Envoy response code details"
	case KindResetReason:
		return "Envoy stream reset reason"
	case KindTransportFailure:
		return "upstream transport failure"
	case KindSocketError:
		return "socket error"
	case KindLocalReply:
		return "Envoy local reply"
	case KindZtunnelError:
		return "ztunnel error"
	case KindDropReason:
		return "Cilium drop reason"
	case KindIdentity:
		return "Cilium identity"
	}
	return string(k)
}

// Info is what every knowledge-base entry says: what the string means, what
// usually causes it in a mesh, what to run next, and the meshdoctor checks
// (MDnnn codes) that detect a cause from configuration or node state.
//
// Entries are shared read-only data: callers must not modify them.
type Info struct {
	Meaning string
	Causes  []string
	Next    []string
	Codes   []string
}

// Commands reused across entries. Placeholders in angle brackets are for the
// user to fill in.
const (
	cmdPCCluster  = "istioctl proxy-config cluster <client-pod> -n <ns> --fqdn <host> -o json"
	cmdPCEndpoint = `istioctl proxy-config endpoint <client-pod> -n <ns> --cluster "outbound|<port>|<subset>|<host>"`
	cmdPCRoute    = "istioctl proxy-config route <client-pod> -n <ns> --name <port> -o json"
	cmdPCListener = "istioctl proxy-config listener <pod> -n <ns> --port <port> -o json"
	cmdPCSecret   = "istioctl proxy-config secret <pod> -n <ns>"
	cmdPCLog      = "istioctl proxy-config log <pod> -n <ns> --level connection:debug,router:debug"
	cmdProxyStat  = "istioctl proxy-status"
	cmdDescribe   = "istioctl x describe pod <server-pod> -n <ns>"
	cmdProxyLogs  = "kubectl logs <pod> -n <ns> -c istio-proxy --tail=200"
	cmdEndpoints  = "kubectl get endpoints <svc> -n <ns> -o wide"
	cmdSlices     = "kubectl get endpointslices -n <ns> -l kubernetes.io/service-name=<svc> -o yaml"
	cmdPods       = "kubectl get pods -n <ns> -l <selector> -o wide --show-labels"
	cmdDR         = "kubectl get destinationrules -A -o yaml"
	cmdVS         = "kubectl get virtualservices -A -o yaml"
	cmdPA         = "kubectl get peerauthentications -A -o yaml"
	cmdAP         = "kubectl get authorizationpolicies -A -o yaml"
	cmdRA         = "kubectl get requestauthentications -A -o yaml"
	cmdGW         = "kubectl get gateways.networking.istio.io -A -o yaml"
	cmdAnalyze    = "meshdoctor analyze <manifests-dir|bundle.tar.gz>"
	cmdNode       = "sudo meshdoctor node"
	cmdHubble     = "hubble observe --verdict DROPPED --to-pod <ns>/<pod>"
	cmdHubblePV   = "hubble observe --type policy-verdict --to-pod <ns>/<pod>"
	cmdMonitor    = "kubectl -n kube-system exec ds/cilium -- cilium-dbg monitor --type drop"
	cmdCiliumStat = "kubectl -n kube-system exec ds/cilium -- cilium-dbg status --verbose"
	cmdCiliumLogs = "kubectl -n kube-system logs ds/cilium --tail=200"
	cmdCiliumEPs  = "kubectl -n kube-system exec ds/cilium -- cilium-dbg endpoint list"
	cmdIPCache    = "kubectl -n kube-system exec ds/cilium -- cilium-dbg bpf ipcache get <ip>"
	cmdCiliumPol  = "kubectl -n kube-system exec ds/cilium -- cilium-dbg bpf policy get <endpoint-id>"
	cmdCiliumSvc  = "kubectl -n kube-system exec ds/cilium -- cilium-dbg service list"
	cmdCiliumNAT  = "kubectl -n kube-system exec ds/cilium -- cilium-dbg bpf nat list"
	cmdCiliumCT   = "kubectl -n kube-system exec ds/cilium -- cilium-dbg bpf ct list global"
	cmdCiliumID   = "kubectl -n kube-system exec ds/cilium -- cilium-dbg identity get <id>"
	cmdCiliumNode = "kubectl get ciliumnodes -o wide; kubectl get nodes -o custom-columns=NAME:.metadata.name,PODCIDRS:.spec.podCIDRs"
	cmdNetpol     = "kubectl get networkpolicies,ciliumnetworkpolicies -n <ns> -o yaml; kubectl get ciliumclusterwidenetworkpolicies -o yaml"
	cmdZWorkload  = "istioctl ztunnel-config workload"
	cmdZService   = "istioctl ztunnel-config service"
	cmdZLogs      = "kubectl logs -n istio-system -l app=ztunnel --tail=200"
	cmdWaypoints  = "istioctl waypoint list -n <ns>"
)

// lowerASCII lowercases ASCII letters only, so that offsets into the result
// are offsets into s (strings.ToLower may change the length of non-ASCII
// input).
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
