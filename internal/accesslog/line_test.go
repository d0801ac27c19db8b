package accesslog

import (
	"strings"
	"testing"
	"time"
)

// A JSON line as Istio's default JSON encoding writes it (keys in another
// order than the format's, nulls, numbers), with escapes added.
func TestIstioJSON(t *testing.T) {
	line := `{"upstream_cluster":"outbound|8080||orders.shop.svc.cluster.local;","start_time":"2025-03-04T09:12:33.512Z","method":"GET","path":"/api/v1/orders?q=\"caf\u00e9\"","protocol":"HTTP/1.1","response_code":503,"response_flags":"UF","response_code_details":"upstream_reset_before_response_started{remote_connection_failure|delayed_connect_error:_Connection_refused}","connection_termination_details":null,"upstream_transport_failure_reason":"delayed connect error: Connection refused","bytes_received":0,"bytes_sent":143,"duration":2,"upstream_service_time":null,"x_forwarded_for":null,"user_agent":"curl\/8.5.0","request_id":"5b6f3c1e","authority":"orders.shop:8080","upstream_host":"[fd00::17]:8080","upstream_local_address":null,"downstream_local_address":"10.96.41.20:8080","downstream_remote_address":"10.244.1.9:51234","requested_server_name":null,"route_name":"default"}`
	r := parseOne(t, NewParser(), line)
	checkRecord(t, line, r, "json", want{
		FieldStartTime: "2025-03-04T09:12:33.512Z", FieldMethod: "GET", FieldPath: `/api/v1/orders?q="café"`, FieldProtocol: "HTTP/1.1",
		FieldResponseCode: "503", FieldResponseFlags: "UF",
		FieldResponseCodeDetails:            "upstream_reset_before_response_started{remote_connection_failure|delayed_connect_error:_Connection_refused}",
		FieldConnectionTerminationDetails:   "-",
		FieldUpstreamTransportFailureReason: "delayed connect error: Connection refused",
		FieldBytesReceived:                  "0", FieldBytesSent: "143", FieldDuration: "2", FieldUpstreamServiceTime: "-",
		FieldXForwardedFor: "-", FieldUserAgent: "curl/8.5.0", FieldRequestID: "5b6f3c1e", FieldAuthority: "orders.shop:8080",
		FieldUpstreamHost: "[fd00::17]:8080", FieldUpstreamCluster: "outbound|8080||orders.shop.svc.cluster.local;",
		FieldUpstreamLocalAddress: "-", FieldDownstreamLocalAddress: "10.96.41.20:8080", FieldDownstreamRemoteAddress: "10.244.1.9:51234",
		FieldRequestedServerName: "-", FieldRouteName: "default",
	})
	if c := r.Cluster(); !c.AltStatName || c.Service != "orders.shop.svc.cluster.local" || c.Port != 8080 {
		t.Errorf("cluster %+v", c)
	}
	// With omit_empty_values the unset keys are missing: absent.
	r = parseOne(t, NewParser(), `{"response_code":"200","response_flags":"-","duration":"3"}`)
	if r.Has(FieldUpstreamCluster) || !r.Has(FieldResponseFlags) {
		t.Errorf("presence wrong: %#v", r)
	}
	if r.Failure() {
		t.Error("200 with '-' flags is not a failure")
	}
}

func TestZtunnel(t *testing.T) {
	p := NewParser()
	lines := strings.Split(strings.TrimSuffix(ztunnelLines, "\n"), "\n")
	r := parseOne(t, p, lines[0])
	checkRecord(t, lines[0], r, "ztunnel", want{
		FieldStartTime: "2025-01-23T05:07:25.806642Z", FieldLevel: "info", FieldMessage: "connection complete",
		FieldSrcAddr: "10.129.0.48:40978", FieldSrcWorkload: "productpage-v1-54bb874995-xkq5r", FieldSrcNamespace: "bookinfo",
		FieldSrcIdentity: "spiffe://cluster.local/ns/bookinfo/sa/bookinfo-productpage",
		FieldDstAddr:     "10.129.0.43:15008", FieldDstHBONEAddr: "10.129.0.43:9080", FieldDstService: "details.bookinfo.svc.cluster.local",
		FieldDstWorkload: "details-v1-65cfcf56f9-8xjz2", FieldDstNamespace: "bookinfo",
		FieldDstIdentity: "spiffe://cluster.local/ns/bookinfo/sa/bookinfo-details", FieldDirection: "outbound",
		FieldBytesSent: "283", FieldBytesReceived: "358", FieldDuration: "2ms",
	})
	if d, ok := r.Duration(); !ok || d != 2*time.Millisecond {
		t.Errorf("duration %v %v", d, ok)
	}
	if r.Failure() || !r.IsZtunnel() {
		t.Error("a completed connection is not a failure")
	}
	r = parseOne(t, p, lines[1])
	if r.String(FieldError) != "connection closed due to policy rejection: allow policies exist, but none allowed" || !r.Failure() || r.String(FieldLevel) != "error" {
		t.Errorf("error line: %#v", r)
	}
	// Space-padded (as in Istio's docs), quoted hbone address.
	r = parseOne(t, p, lines[2])
	if r.String(FieldDstHBONEAddr) != "10.244.1.10:9080" || r.String(FieldDirection) != "inbound" {
		t.Errorf("padded line: %#v", r)
	}
	// An early denial: addresses and error only.
	r = parseOne(t, p, lines[3])
	checkRecord(t, lines[3], r, "ztunnel", want{
		FieldStartTime: "2025-02-11T10:00:00.000001Z", FieldLevel: "warn", FieldMessage: "connection failed",
		FieldSrcAddr: "10.244.0.7:51512", FieldDstAddr: "10.244.0.9:8080", FieldDirection: "inbound", FieldError: "unknown source: 10.244.0.7",
	})
	// Rust escapes in a quoted value.
	r = parseOne(t, p, `2025-02-11T10:00:00Z error access connection complete dst.service="a" error="io error: \"reset\" \u{e9}\\"`)
	if got := r.String(FieldError); got != `io error: "reset" é\` {
		t.Errorf("unescaped error %q", got)
	}
	// ztunnel's JSON logs.
	r = parseOne(t, p, `{"level":"error","time":"2025-01-23T05:07:26.1Z","scope":"access","message":"connection complete","src.addr":"10.129.0.48:40980","dst.service":"details.bookinfo.svc.cluster.local","direction":"inbound","bytes_sent":0,"error":"connection closed due to policy rejection"}`)
	if r.FormatName() != "ztunnel-json" || r.String(FieldDstService) != "details.bookinfo.svc.cluster.local" || !r.Failure() {
		t.Errorf("ztunnel JSON: %#v", r)
	}
}

func TestKubectlWrappers(t *testing.T) {
	p := NewParser()
	istio := `[2025-03-04T09:13:02.877Z] "GET /productpage HTTP/1.1" 404 NR route_not_found - "-" 0 0 0 - "203.0.113.9" "Mozilla/5.0" "0f6d" "shop.example.com" "-" - - 10.244.0.12:8080 203.0.113.9:55110 - -`
	for _, tc := range []struct {
		line, pod, container, kubeTime string
	}{
		{"[pod/reviews-v1-abc/istio-proxy] " + istio, "reviews-v1-abc", "istio-proxy", ""},
		{"2025-03-04T09:13:02.877312000Z " + istio, "", "", "2025-03-04T09:13:02.877312000Z"},
		{"[pod/reviews-v1-abc/istio-proxy] 2025-03-04T09:13:02.877312000+01:00 " + istio, "reviews-v1-abc", "istio-proxy", "2025-03-04T09:13:02.877312000+01:00"},
		{"2025-03-04T09:13:02Z [pod/gw-7d9/istio-proxy] " + istio, "gw-7d9", "istio-proxy", "2025-03-04T09:13:02Z"},
		{"2025-03-04T09:13:02.877312345Z stdout F " + istio, "", "", "2025-03-04T09:13:02.877312345Z"}, // /var/log/pods
		{"\xef\xbb\xbf" + istio, "", "", ""},
	} {
		r := parseOne(t, p, tc.line)
		if string(r.Pod) != tc.pod || string(r.Container) != tc.container || string(r.KubeTime) != tc.kubeTime || r.FormatName() != "istio" {
			t.Errorf("%q: pod %q container %q time %q format %s", tc.line, r.Pod, r.Container, r.KubeTime, r.FormatName())
		}
	}
	// ztunnel's own timestamp is not kubectl's; behind kubectl's, both read.
	zt := strings.SplitN(ztunnelLines, "\n", 2)[0]
	r := parseOne(t, p, zt)
	if len(r.KubeTime) != 0 || r.FormatName() != "ztunnel" {
		t.Errorf("ztunnel timestamp taken for kubectl's: %q", r.KubeTime)
	}
	r = parseOne(t, p, "[pod/ztunnel-x7k2p/istio-proxy] 2025-01-23T05:07:25.900000000Z "+zt)
	if string(r.KubeTime) != "2025-01-23T05:07:25.900000000Z" || string(r.Pod) != "ztunnel-x7k2p" || r.String(FieldStartTime) != "2025-01-23T05:07:25.806642Z" {
		t.Errorf("wrapped ztunnel line: %#v", r)
	}
	// The line's own time wins; without one, kubectl's is the record's.
	r = parseOne(t, p, `2025-03-04T10:00:00Z {"response_code":200,"response_flags":"-"}`)
	if tm, ok := r.Time(); !ok || tm.Hour() != 10 {
		t.Errorf("kubectl time not used: %v %v", tm, ok)
	}
}

func TestParseCluster(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Cluster
	}{
		{"outbound|9080|v1|reviews.default.svc.cluster.local", Cluster{Name: "outbound|9080|v1|reviews.default.svc.cluster.local", Direction: DirOutbound, Port: 9080, Subset: "v1", Service: "reviews.default.svc.cluster.local"}},
		{"outbound|443||*.example.com", Cluster{Name: "outbound|443||*.example.com", Direction: DirOutbound, Port: 443, Service: "*.example.com"}},
		{"outbound|9080||reviews.default.svc.cluster.local;", Cluster{Name: "outbound|9080||reviews.default.svc.cluster.local", Direction: DirOutbound, Port: 9080, Service: "reviews.default.svc.cluster.local", AltStatName: true}},
		{"inbound|8080||", Cluster{Name: "inbound|8080||", Direction: DirInbound, Port: 8080}},
		{"inbound|9080|http|reviews.default.svc.cluster.local", Cluster{Name: "inbound|9080|http|reviews.default.svc.cluster.local", Direction: DirInbound, Port: 9080, PortName: "http", Service: "reviews.default.svc.cluster.local"}},
		{"inbound-vip|8081|http/canary|customers.lab.svc.cluster.local;", Cluster{Name: "inbound-vip|8081|http/canary|customers.lab.svc.cluster.local", Direction: DirInboundVIP, Port: 8081, PortName: "http", Subset: "canary", Service: "customers.lab.svc.cluster.local", AltStatName: true}},
		{"inbound-vip|9000|tcp|tcp-echo.ns.svc.cluster.local", Cluster{Name: "inbound-vip|9000|tcp|tcp-echo.ns.svc.cluster.local", Direction: DirInboundVIP, Port: 9000, PortName: "tcp", Service: "tcp-echo.ns.svc.cluster.local"}},
		{"inbound-pod|9080||10.244.2.9", Cluster{Name: "inbound-pod|9080||10.244.2.9", Direction: DirInboundPod, Port: 9080, Service: "10.244.2.9"}},
		{"outbound_.9080_.v1_.reviews.default.svc.cluster.local", Cluster{Name: "outbound_.9080_.v1_.reviews.default.svc.cluster.local", Direction: DirOutbound, Port: 9080, Subset: "v1", Service: "reviews.default.svc.cluster.local"}},
		{"outbound_.9080_._.reviews.default.svc.cluster.local", Cluster{Name: "outbound_.9080_._.reviews.default.svc.cluster.local", Direction: DirOutbound, Port: 9080, Service: "reviews.default.svc.cluster.local"}},
		{"PassthroughCluster", Cluster{Name: "PassthroughCluster", Direction: DirPassthrough}},
		{"BlackHoleCluster", Cluster{Name: "BlackHoleCluster", Direction: DirBlackHole}},
		{"InboundPassthroughClusterIpv4", Cluster{Name: "InboundPassthroughClusterIpv4", Direction: DirInboundPassthrough}},
		{"InboundPassthroughCluster", Cluster{Name: "InboundPassthroughCluster", Direction: DirInboundPassthrough}},
		{"main_internal", Cluster{Name: "main_internal", Direction: DirInternal}},
		{"-", Cluster{}},
		{"", Cluster{}},
		{"reviews.default.svc.cluster.local_9080", Cluster{Name: "reviews.default.svc.cluster.local_9080", Direction: DirUnknown}},
		{"outbound|http|v1|x", Cluster{Name: "outbound|http|v1|x", Direction: DirUnknown}},
		{"sideways|80||x", Cluster{Name: "sideways|80||x", Direction: DirUnknown}},
		{"xds-grpc", Cluster{Name: "xds-grpc", Direction: DirUnknown}},
	} {
		if got := ParseCluster(tc.in); got != tc.want {
			t.Errorf("ParseCluster(%q) =\n %+v, want\n %+v", tc.in, got, tc.want)
		}
	}
}

func TestFlags(t *testing.T) {
	for in, want := range map[string]string{
		"-":      "",
		"":       "",
		"UF":     "UF",
		"UF,URX": "UF URX",
		"NoHealthyUpstream,UpstreamRetryLimitExceeded": "UH URX",
		"XYZ,DC": "XYZ DC",
	} {
		if got := strings.Join(SplitFlags(in), " "); got != want {
			t.Errorf("SplitFlags(%q) = %q, want %q", in, got, want)
		}
	}
	if LongFlag("UO") != "UpstreamOverflow" || LongFlag("nope") != "" {
		t.Error("LongFlag")
	}
}

func TestFailure(t *testing.T) {
	p := NewParser()
	for line, want := range map[string]bool{
		`{"response_code":200,"response_flags":"-","protocol":"HTTP/1.1"}`:  false,
		`{"response_code":404,"response_flags":"NR","protocol":"HTTP/1.1"}`: true,
		`{"response_code":502,"response_flags":"-","protocol":"HTTP/1.1"}`:  true,
		`{"response_code":0,"response_flags":"-","protocol":"HTTP/2"}`:      true,  // no response sent
		`{"response_code":0,"response_flags":"-","protocol":null}`:          false, // TCP
		`{"response_code":0,"response_flags":"UF","protocol":"-"}`:          true,
	} {
		if got := parseOne(t, p, line).Failure(); got != want {
			t.Errorf("%s: Failure = %v", line, got)
		}
	}
}
