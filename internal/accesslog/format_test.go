package accesslog

import (
	"reflect"
	"strings"
	"testing"
)

// want is the expected set values of a line; fields not listed must be
// absent or unset, and listed "-" means present but unset.
type want map[Field]string

func checkRecord(t *testing.T, line string, r *Record, format string, w want) {
	t.Helper()
	if got := r.FormatName(); got != format {
		t.Fatalf("%q: format %q, want %q", line, got, format)
	}
	for f := range numFields {
		exp, listed := w[f]
		got, ok := r.Value(f)
		switch {
		case !listed && ok:
			t.Errorf("%q: %s = %q, want unset", line, f, got)
		case listed && exp == "-":
			if !r.Has(f) || ok {
				t.Errorf("%q: %s has=%v value=%q, want present and unset", line, f, r.Has(f), got)
			}
		case listed && r.String(f) != exp:
			t.Errorf("%q: %s = %q, want %q", line, f, r.String(f), exp)
		}
	}
}

func parseOne(t *testing.T, p *Parser, line string) *Record {
	t.Helper()
	r := &Record{}
	if _, ok := p.ParseLine([]byte(line), r); !ok {
		t.Fatalf("no format matched %q", line)
	}
	return r
}

// Lines written by hand from Istio's default TEXT format string.
func TestIstioText(t *testing.T) {
	p := NewParser()
	for _, tc := range []struct {
		name, line string
		want       want
	}{{
		name: "503 UF, connection refused",
		line: `[2025-03-04T09:12:33.512Z] "GET /api/v1/orders?id=7 HTTP/1.1" 503 UF upstream_reset_before_response_started{remote_connection_failure|delayed_connect_error:_Connection_refused} - "delayed connect error: Connection refused" 0 143 2 - "-" "curl/8.5.0" "5b6f3c1e-8f2a-4c55-9d0e-2a1f0b7c9e11" "orders.shop:8080" "10.244.3.17:8080" outbound|8080||orders.shop.svc.cluster.local - 10.96.41.20:8080 10.244.1.9:51234 - default`,
		want: want{
			FieldStartTime: "2025-03-04T09:12:33.512Z", FieldMethod: "GET", FieldPath: "/api/v1/orders?id=7", FieldProtocol: "HTTP/1.1",
			FieldResponseCode: "503", FieldResponseFlags: "UF",
			FieldResponseCodeDetails:            "upstream_reset_before_response_started{remote_connection_failure|delayed_connect_error:_Connection_refused}",
			FieldConnectionTerminationDetails:   "-",
			FieldUpstreamTransportFailureReason: "delayed connect error: Connection refused",
			FieldBytesReceived:                  "0", FieldBytesSent: "143", FieldDuration: "2", FieldUpstreamServiceTime: "-",
			FieldXForwardedFor: "-", FieldUserAgent: "curl/8.5.0", FieldRequestID: "5b6f3c1e-8f2a-4c55-9d0e-2a1f0b7c9e11",
			FieldAuthority: "orders.shop:8080", FieldUpstreamHost: "10.244.3.17:8080",
			FieldUpstreamCluster: "outbound|8080||orders.shop.svc.cluster.local", FieldUpstreamLocalAddress: "-",
			FieldDownstreamLocalAddress: "10.96.41.20:8080", FieldDownstreamRemoteAddress: "10.244.1.9:51234",
			FieldRequestedServerName: "-", FieldRouteName: "default",
		},
	}, {
		name: "TCP connection, every HTTP field a dash",
		line: `[2025-03-04T09:12:40.001Z] "- - -" 0 UF - - "-" 0 0 1003 - "-" "-" "-" "-" "10.244.5.21:5432" outbound|5432||pg.db.svc.cluster.local - 10.96.8.4:5432 10.244.1.9:40210 - -`,
		want: want{
			FieldStartTime: "2025-03-04T09:12:40.001Z", FieldMethod: "-", FieldPath: "-", FieldProtocol: "-",
			FieldResponseCode: "0", FieldResponseFlags: "UF", FieldResponseCodeDetails: "-", FieldConnectionTerminationDetails: "-",
			FieldUpstreamTransportFailureReason: "-", FieldBytesReceived: "0", FieldBytesSent: "0", FieldDuration: "1003",
			FieldUpstreamServiceTime: "-", FieldXForwardedFor: "-", FieldUserAgent: "-", FieldRequestID: "-", FieldAuthority: "-",
			FieldUpstreamHost: "10.244.5.21:5432", FieldUpstreamCluster: "outbound|5432||pg.db.svc.cluster.local",
			FieldUpstreamLocalAddress: "-", FieldDownstreamLocalAddress: "10.96.8.4:5432", FieldDownstreamRemoteAddress: "10.244.1.9:40210",
			FieldRequestedServerName: "-", FieldRouteName: "-",
		},
	}, {
		name: "IPv6 addresses, a user agent with spaces and quotes inside, an SNI, CRLF",
		line: "[2025-03-04T09:13:02.877Z] \"POST /v2/cart HTTP/2\" 200 - via_upstream - \"-\" 512 20 7 6 \"2001:db8::7, 10.0.0.1\" \"Mozilla/5.0 (X11; Linux x86_64) \"quoted\" \"x\"\" \"0f6d\" \"cart.shop.svc.cluster.local:9443\" \"[fd00:10:244::17]:9443\" outbound|9443|v2|cart.shop.svc.cluster.local [fd00:10:244::9]:51022 [::1]:15001 [fd00:10:244::3]:55110 outbound_.9443_.v2_.cart.shop.svc.cluster.local cart-route\r\n",
		want: want{
			FieldStartTime: "2025-03-04T09:13:02.877Z", FieldMethod: "POST", FieldPath: "/v2/cart", FieldProtocol: "HTTP/2",
			FieldResponseCode: "200", FieldResponseFlags: "-", FieldResponseCodeDetails: "via_upstream", FieldConnectionTerminationDetails: "-",
			FieldUpstreamTransportFailureReason: "-", FieldBytesReceived: "512", FieldBytesSent: "20", FieldDuration: "7", FieldUpstreamServiceTime: "6",
			FieldXForwardedFor: "2001:db8::7, 10.0.0.1", FieldUserAgent: `Mozilla/5.0 (X11; Linux x86_64) "quoted" "x"`, FieldRequestID: "0f6d",
			FieldAuthority: "cart.shop.svc.cluster.local:9443", FieldUpstreamHost: "[fd00:10:244::17]:9443",
			FieldUpstreamCluster: "outbound|9443|v2|cart.shop.svc.cluster.local", FieldUpstreamLocalAddress: "[fd00:10:244::9]:51022",
			FieldDownstreamLocalAddress: "[::1]:15001", FieldDownstreamRemoteAddress: "[fd00:10:244::3]:55110",
			FieldRequestedServerName: "outbound_.9443_.v2_.cart.shop.svc.cluster.local", FieldRouteName: "cart-route",
		},
	}, {
		name: "waypoint (ambient), 1.23's alt_stat_name with ';', internal addresses",
		line: `[2025-03-20T15:37:23.708Z] "GET / HTTP/1.1" 503 UC upstream_reset_before_response_started{connection_termination} - "-" 0 95 1 - "-" "curl/8.7.1" "3a029828-3b3c-4acf-a9c6-6c9ed188e3f8" "barista.caffeine:8000" "envoy://connect_originate/10.244.3.101:8080" inbound-vip|8000|http/v1|barista.caffeine.svc.cluster.local; envoy://internal_client_address/ 10.0.81.76:8000 10.244.2.106:53454 - default`,
		want: want{
			FieldStartTime: "2025-03-20T15:37:23.708Z", FieldMethod: "GET", FieldPath: "/", FieldProtocol: "HTTP/1.1",
			FieldResponseCode: "503", FieldResponseFlags: "UC", FieldResponseCodeDetails: "upstream_reset_before_response_started{connection_termination}",
			FieldConnectionTerminationDetails: "-", FieldUpstreamTransportFailureReason: "-", FieldBytesReceived: "0", FieldBytesSent: "95",
			FieldDuration: "1", FieldUpstreamServiceTime: "-", FieldXForwardedFor: "-", FieldUserAgent: "curl/8.7.1",
			FieldRequestID: "3a029828-3b3c-4acf-a9c6-6c9ed188e3f8", FieldAuthority: "barista.caffeine:8000",
			FieldUpstreamHost: "envoy://connect_originate/10.244.3.101:8080", FieldUpstreamCluster: "inbound-vip|8000|http/v1|barista.caffeine.svc.cluster.local;",
			FieldUpstreamLocalAddress: "envoy://internal_client_address/", FieldDownstreamLocalAddress: "10.0.81.76:8000",
			FieldDownstreamRemoteAddress: "10.244.2.106:53454", FieldRequestedServerName: "-", FieldRouteName: "default",
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			r := parseOne(t, p, tc.line)
			checkRecord(t, tc.line, r, "istio", tc.want)
		})
	}
}

// An HTTP/2 path may hold a space; the line still splits.
func TestPathWithSpace(t *testing.T) {
	line := `[2025-03-04T09:12:33.512Z] "GET /files/my report.pdf HTTP/2" 200 - via_upstream - "-" 0 143 2 1 "-" "curl" "id" "a:80" "10.0.0.1:80" outbound|80||a.ns.svc.cluster.local - 10.96.0.1:80 10.0.0.2:5000 - r1`
	r := parseOne(t, NewParser(), line)
	if got := r.String(FieldPath); got != "/files/my report.pdf" || r.String(FieldProtocol) != "HTTP/2" {
		t.Errorf("path %q protocol %q", got, r.String(FieldProtocol))
	}
}

func TestIstioTextValues(t *testing.T) {
	line := `[2025-03-04T09:12:33.512Z] "GET /a HTTP/1.1" 503 URX,UF upstream_reset_before_response_started{remote_connection_failure} - "-" 0 143 2500 - "-" "curl" "id" "a:80" "10.0.0.1:80" outbound|80|v1|a.ns.svc.cluster.local; - 10.96.0.1:80 10.0.0.2:5000 - r1`
	r := parseOne(t, NewParser(), line)
	if c, ok := r.Code(); !ok || c != 503 {
		t.Errorf("Code = %d, %v", c, ok)
	}
	if got := r.Flags(); !reflect.DeepEqual(got, []string{"URX", "UF"}) {
		t.Errorf("Flags = %q", got)
	}
	if d, ok := r.Duration(); !ok || d.Milliseconds() != 2500 {
		t.Errorf("Duration = %v, %v", d, ok)
	}
	if n, ok := r.Int(FieldBytesSent); !ok || n != 143 {
		t.Errorf("bytes sent = %d %v", n, ok)
	}
	if _, ok := r.Int(FieldUpstreamServiceTime); ok {
		t.Errorf("upstream service time '-' read as a number")
	}
	if tm, ok := r.Time(); !ok || tm.UnixMilli() != 1741079553512 {
		t.Errorf("Time = %v, %v", tm, ok)
	}
	c := r.Cluster()
	if c != (Cluster{Name: "outbound|80|v1|a.ns.svc.cluster.local", Direction: DirOutbound, Port: 80, Subset: "v1", Service: "a.ns.svc.cluster.local", AltStatName: true}) {
		t.Errorf("Cluster = %+v", c)
	}
	if !r.Failure() {
		t.Error("503 not a failure")
	}
}

// An Envoy default-format line carries no cluster, details or addresses:
// those fields are absent, not empty.
func TestEnvoyDefault(t *testing.T) {
	line := `[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "10.0.35.28" "nsq2http" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" "tcp://10.0.2.1:80"`
	r := parseOne(t, NewParser(), line)
	checkRecord(t, line, r, "envoy", want{
		FieldStartTime: "2016-04-15T20:17:00.310Z", FieldMethod: "POST", FieldPath: "/api/v1/locations", FieldProtocol: "HTTP/2",
		FieldResponseCode: "204", FieldResponseFlags: "-", FieldBytesReceived: "154", FieldBytesSent: "0", FieldDuration: "226",
		FieldUpstreamServiceTime: "100", FieldXForwardedFor: "10.0.35.28", FieldUserAgent: "nsq2http",
		FieldRequestID: "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2", FieldAuthority: "locations", FieldUpstreamHost: "tcp://10.0.2.1:80",
	})
	for _, f := range []Field{FieldUpstreamCluster, FieldRouteName, FieldResponseCodeDetails, FieldDownstreamRemoteAddress} {
		if r.Has(f) {
			t.Errorf("%s present in an Envoy default line", f)
		}
	}
	if r.Failure() {
		t.Error("204 taken for a failure")
	}
}

func TestIstio15(t *testing.T) {
	line := `[2020-06-01T10:00:00.000Z] "GET /ratings/0 HTTP/1.1" 503 UH "-" "-" 0 19 0 - "-" "curl/7.64.0" "c5a5e6c2-43b1-9b37-8a4d-1c2b7a0f5b11" "ratings:9080" "-" outbound|9080||ratings.default.svc.cluster.local - 10.100.0.5:9080 10.244.0.8:41234 - default`
	r := parseOne(t, NewParser(), line)
	checkRecord(t, line, r, "istio-1.5", want{
		FieldStartTime: "2020-06-01T10:00:00.000Z", FieldMethod: "GET", FieldPath: "/ratings/0", FieldProtocol: "HTTP/1.1",
		FieldResponseCode: "503", FieldResponseFlags: "UH", FieldUpstreamTransportFailureReason: "-", FieldBytesReceived: "0",
		FieldBytesSent: "19", FieldDuration: "0", FieldUpstreamServiceTime: "-", FieldXForwardedFor: "-", FieldUserAgent: "curl/7.64.0",
		FieldRequestID: "c5a5e6c2-43b1-9b37-8a4d-1c2b7a0f5b11", FieldAuthority: "ratings:9080", FieldUpstreamHost: "-",
		FieldUpstreamCluster: "outbound|9080||ratings.default.svc.cluster.local", FieldUpstreamLocalAddress: "-",
		FieldDownstreamLocalAddress: "10.100.0.5:9080", FieldDownstreamRemoteAddress: "10.244.0.8:41234",
		FieldRequestedServerName: "-", FieldRouteName: "default",
	})
}

// The 1.9–1.23 and 1.24+ format strings differ only in the cluster
// operator, so they compile to the same layout.
func TestIstioFormatsSameLayout(t *testing.T) {
	a, b := mustCompile("a", IstioTextFormat), mustCompile("b", IstioTextFormat19)
	if !reflect.DeepEqual(a.lead, b.lead) || !reflect.DeepEqual(a.steps, b.steps) || a.carries != b.carries {
		t.Fatal("Istio TEXT formats before and after 1.24 compile differently")
	}
	if got := len(a.steps); got != 24 {
		t.Fatalf("%d fields, want 24", got)
	}
	var names []string
	for _, f := range a.Fields() {
		names = append(names, f.String())
	}
	wantNames := "start_time method path protocol response_code response_flags response_code_details connection_termination_details upstream_transport_failure_reason bytes_received bytes_sent duration upstream_service_time x_forwarded_for user_agent request_id authority upstream_host upstream_cluster upstream_local_address downstream_local_address downstream_remote_address requested_server_name route_name"
	if strings.Join(names, " ") != wantNames {
		t.Errorf("fields: %s", strings.Join(names, " "))
	}
}

func TestNotMatched(t *testing.T) {
	p := NewParser()
	full := `[2025-03-04T09:12:40.001Z] "- - -" 0 UF - - "-" 0 0 1003 - "-" "-" "-" "-" "10.244.5.21:5432" outbound|5432||pg.db.svc.cluster.local - 10.96.8.4:5432 10.244.1.9:40210 - -`
	for _, line := range []string{
		"",
		"   ",
		full[:len(full)/2], // truncated
		full[:len(full)-4], // truncated in the last fields
		`[2025-03-04T09:12:40.001Z] "- - -" x UF - - "-" 0 0 1003 - "-" "-" "-" "-" "h" c - a b - -`, // code not a number
		"2025-11-20T10:00:00.000000Z\tinfo\txds\tconnected to upstream XDS server: istiod.istio-system.svc:15012",
		`[2025-11-20 10:00:00.000][15][warning][config] [source/common/config/grpc_stream.h:191] StreamAggregatedResources gRPC config stream closed`,
		`{"level":"info","time":"2025-11-20T10:00:00.000Z","scope":"xds","msg":"connected"}`,
		`{"broken": `,
		"\x00\x01\x02\xff\xfe",
		`[pod/x/y] `,
	} {
		var r Record
		if f, ok := p.ParseLine([]byte(line), &r); ok {
			t.Errorf("%q matched %s: %#v", line, f.Name(), &r)
		}
	}
}

func TestCustomFormat(t *testing.T) {
	f, err := CompileNamedFormat("gw", `[%START_TIME(%Y/%m/%dT%H:%M:%S%z %s)%] %REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH):64% %PROTOCOL% %RESPONSE_CODE% %RESPONSE_FLAGS_LONG% cluster=%UPSTREAM_CLUSTER% ua="%REQ(USER-AGENT)%" %DURATION%ms 100%% %DYNAMIC_METADATA(envoy.filters.http.rbac:shadow_effective_policy_id)%\n`)
	if err != nil {
		t.Fatal(err)
	}
	p := NewParser(f)
	line := `[2025/03/04T09:12:33+0000 1741079553] GET /x HTTP/1.1 503 UpstreamConnectionFailure,UpstreamRetryLimitExceeded cluster=outbound|80||a.b.svc.cluster.local ua="curl/8 (x)" 12ms 100% -`
	r := parseOne(t, p, line)
	checkRecord(t, line, r, "gw", want{
		FieldStartTime: "2025/03/04T09:12:33+0000 1741079553", FieldMethod: "GET", FieldPath: "/x", FieldProtocol: "HTTP/1.1",
		FieldResponseCode: "503", FieldResponseFlags: "UpstreamConnectionFailure,UpstreamRetryLimitExceeded",
		FieldUpstreamCluster: "outbound|80||a.b.svc.cluster.local", FieldUserAgent: "curl/8 (x)", FieldDuration: "12",
	})
	if got := r.Flags(); !reflect.DeepEqual(got, []string{"UF", "URX"}) {
		t.Errorf("long flags read as %q", got)
	}
	// A custom format is tried before the built-in ones, which still work.
	r = parseOne(t, p, `[2016-04-15T20:17:00.310Z] "POST /l HTTP/2" 204 - 154 0 226 100 "-" "n" "c" "l" "h"`)
	if r.FormatName() != "envoy" {
		t.Errorf("built-in format not tried after the custom one: %s", r.FormatName())
	}
}

func TestCustomJSONFormat(t *testing.T) {
	f, err := CompileNamedFormat("mine", `{"code":"%RESPONSE_CODE%","flags":"%RESPONSE_FLAGS%","cluster":"%UPSTREAM_CLUSTER_RAW%","when":"%START_TIME%","static":"x","mixed":"a %PROTOCOL%"}`)
	if err != nil {
		t.Fatal(err)
	}
	if !f.IsJSON() {
		t.Fatal("not a JSON format")
	}
	p := NewParser(f)
	line := `{"when":"2025-03-04T09:12:33.512Z","code":503,"flags":"UH","cluster":"outbound|80||a.b.svc.cluster.local","extra":{"x":[1,2]}}`
	r := parseOne(t, p, line)
	checkRecord(t, line, r, "mine", want{
		FieldStartTime: "2025-03-04T09:12:33.512Z", FieldResponseCode: "503", FieldResponseFlags: "UH",
		FieldUpstreamCluster: "outbound|80||a.b.svc.cluster.local",
	})
}

func TestCompileFormatErrors(t *testing.T) {
	for _, s := range []string{
		"",
		"\n",
		"no operators here",
		"%",
		"%RESPONSE_CODE",
		"%response_code%",
		"%REQ(:METHOD%",
		"%PROTOCOL%%DURATION%",
		"%DURATION:x%",
		`{"a":"b"}`,
		`{"a":`,
	} {
		if f, err := CompileFormat(s); err == nil {
			t.Errorf("CompileFormat(%q) = %+v, want an error", s, f)
		}
	}
}

func TestScanCommand(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want command
		n    int
	}{
		{"%PROTOCOL% x", command{name: "PROTOCOL"}, 10},
		{"%REQ(:METHOD)%", command{name: "REQ", arg: ":METHOD"}, 14},
		{"%REQ(USER-AGENT):10%", command{name: "REQ", arg: "USER-AGENT", maxLen: 10}, 20},
		{"%START_TIME(%s.%3f)%", command{name: "START_TIME", arg: "%s.%3f"}, 20},
		{"%START_TIME(a)b)%", command{name: "START_TIME", arg: "a)b"}, 17},
	} {
		c, n, ok := scanCommand(tc.in)
		if !ok || c != tc.want || n != tc.n {
			t.Errorf("scanCommand(%q) = %+v %d %v, want %+v %d", tc.in, c, n, ok, tc.want, tc.n)
		}
	}
}
