package kb

import "testing"

func TestServicePortProtocol(t *testing.T) {
	s := func(v string) *string { return &v }
	for _, c := range []struct {
		port int32
		name string
		l4   string
		app  *string
		want Protocol
	}{
		{80, "http", "TCP", nil, ProtoHTTP},
		{80, "http-api", "TCP", nil, ProtoHTTP},
		{80, "HTTP2-x", "TCP", nil, ProtoHTTP2},
		{80, "http2foo", "TCP", nil, ProtoUnsupported}, // the dash is required
		{80, "grpc-web-x", "TCP", nil, ProtoGRPCWeb},
		{80, "grpc-x", "TCP", nil, ProtoGRPC},
		{443, "https", "TCP", nil, ProtoHTTPS},
		{80, "web", "TCP", nil, ProtoUnsupported},
		{80, "", "TCP", nil, ProtoUnsupported},
		{3306, "", "TCP", nil, ProtoTCP}, // server-first well-known port
		{3306, "db", "TCP", nil, ProtoTCP},
		{3306, "http", "TCP", nil, ProtoHTTP},
		{53, "dns", "UDP", nil, ProtoUDP},
		{80, "tcp", "TCP", s("http"), ProtoHTTP}, // appProtocol wins
		{80, "http", "TCP", s("kubernetes.io/h2c"), ProtoHTTP2},
		{80, "http", "TCP", s("kubernetes.io/wss"), ProtoHTTPS},
		{80, "http", "TCP", s("custom.io/thing"), ProtoUnsupported},
	} {
		if got := ServicePortProtocol(c.port, c.name, c.l4, c.app); got != c.want {
			t.Errorf("ServicePortProtocol(%d, %q, %s, %v) = %s, want %s", c.port, c.name, c.l4, c.app, got, c.want)
		}
	}
	if !ProtoGRPC.IsHTTP() || ProtoHTTPS.IsHTTP() || !ProtoHTTPS.IsTLS() || !ProtoMySQL.IsTCP() || ProtoHTTP.IsTCP() {
		t.Error("protocol classes")
	}
}
