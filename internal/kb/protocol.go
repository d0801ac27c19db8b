package kb

import "strings"

// Protocol is the protocol Istio assigns to a port, spelled as Istio
// spells it (pkg/config/protocol).
type Protocol string

// Protocols Istio knows. Unsupported means "not declared": Istio then
// sniffs HTTP/1.1 and HTTP/2 and treats everything else as TCP.
const (
	ProtoHTTP        Protocol = "HTTP"
	ProtoHTTP2       Protocol = "HTTP2"
	ProtoHTTPProxy   Protocol = "HTTP_PROXY"
	ProtoHTTPS       Protocol = "HTTPS"
	ProtoGRPC        Protocol = "GRPC"
	ProtoGRPCWeb     Protocol = "GRPC-Web"
	ProtoTCP         Protocol = "TCP"
	ProtoTLS         Protocol = "TLS"
	ProtoUDP         Protocol = "UDP"
	ProtoMongo       Protocol = "Mongo"
	ProtoRedis       Protocol = "Redis"
	ProtoMySQL       Protocol = "MySQL"
	ProtoUnsupported Protocol = "UnsupportedProtocol"
)

// ParseProtocol reads a protocol name case-insensitively, as Istio does for
// ServiceEntry and Gateway ports and for the prefix of a Service port name.
func ParseProtocol(s string) Protocol {
	switch strings.ToLower(s) {
	case "tcp":
		return ProtoTCP
	case "udp":
		return ProtoUDP
	case "grpc":
		return ProtoGRPC
	case "grpc-web":
		return ProtoGRPCWeb
	case "http":
		return ProtoHTTP
	case "http_proxy":
		return ProtoHTTPProxy
	case "http2":
		return ProtoHTTP2
	case "https":
		return ProtoHTTPS
	case "tls":
		return ProtoTLS
	case "mongo":
		return ProtoMongo
	case "redis":
		return ProtoRedis
	case "mysql":
		return ProtoMySQL
	}
	return ProtoUnsupported
}

// ServerFirstPorts are the well-known ports of server-first protocols
// (SMTP, DNS, MySQL, MongoDB) that Istio treats as TCP when the port
// declares no protocol, because sniffing would wait for a client byte
// that never comes.
var ServerFirstPorts = map[int32]string{25: "SMTP", 53: "DNS", 3306: "MySQL", 27017: "MongoDB"}

// ServicePortProtocol is the protocol Istio gives a Kubernetes Service port
// (pkg/config/kube/conversion.go ConvertProtocol): UDP stays UDP;
// appProtocol wins over the name (with the kubernetes.io/ standard
// values); a name is read up to its first '-' ("grpc-web" first); an
// undeclared protocol on a server-first well-known port is TCP.
func ServicePortProtocol(port int32, name, l4 string, appProtocol *string) Protocol {
	if strings.EqualFold(l4, "UDP") {
		return ProtoUDP
	}
	if appProtocol != nil {
		name = *appProtocol
		switch name {
		case "kubernetes.io/h2c":
			return ProtoHTTP2
		case "kubernetes.io/ws":
			return ProtoHTTP
		case "kubernetes.io/wss":
			return ProtoHTTPS
		}
	}
	if strings.HasPrefix(strings.ToLower(name), "grpc-web") {
		return ProtoGRPCWeb
	}
	if i := strings.IndexByte(name, '-'); i >= 0 {
		name = name[:i]
	}
	p := ParseProtocol(name)
	if p == ProtoUnsupported {
		if _, ok := ServerFirstPorts[port]; ok {
			return ProtoTCP
		}
	}
	return p
}

// IsHTTP tells whether Envoy handles the protocol with its HTTP connection
// manager (VirtualService http routes apply).
func (p Protocol) IsHTTP() bool {
	switch p {
	case ProtoHTTP, ProtoHTTP2, ProtoHTTPProxy, ProtoGRPC, ProtoGRPCWeb:
		return true
	}
	return false
}

// IsTLS tells whether the port carries TLS that the proxy does not
// terminate (routed by SNI with tls routes).
func (p Protocol) IsTLS() bool { return p == ProtoHTTPS || p == ProtoTLS }

// IsTCP tells whether the proxy treats the port as opaque TCP.
func (p Protocol) IsTCP() bool {
	switch p {
	case ProtoTCP, ProtoHTTPS, ProtoTLS, ProtoMongo, ProtoRedis, ProtoMySQL:
		return true
	}
	return false
}
