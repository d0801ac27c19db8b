package accesslog_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/accesslog"
)

func ExampleParseLine() {
	line := `[pod/orders-v1-7d9/istio-proxy] [2025-03-04T09:12:33.512Z] "GET /api/v1/orders HTTP/1.1" 503 URX,UF upstream_reset_before_response_started{remote_connection_failure|delayed_connect_error:_Connection_refused} - "delayed connect error: Connection refused" 0 143 2 - "-" "curl/8.5.0" "5b6f3c1e" "orders.shop:8080" "10.244.3.17:8080" outbound|8080|v1|orders.shop.svc.cluster.local - 10.96.41.20:8080 10.244.1.9:51234 - default`
	var r accesslog.Record
	f, ok := accesslog.ParseLine([]byte(line), &r)
	code, _ := r.Code()
	c := r.Cluster()
	fmt.Println(f.Name(), ok, string(r.Pod), code, r.Flags(), r.Failure())
	fmt.Println(c.Direction, c.Port, c.Subset, c.Service)
	fmt.Println(r.String(accesslog.FieldUpstreamTransportFailureReason))
	_, set := r.Value(accesslog.FieldUpstreamServiceTime)
	fmt.Println(r.Has(accesslog.FieldUpstreamServiceTime), set, r.Has(accesslog.FieldDstService))
	// Output:
	// istio true orders-v1-7d9 503 [URX UF] true
	// outbound 8080 v1 orders.shop.svc.cluster.local
	// delayed connect error: Connection refused
	// true false false
}

func ExampleScanner_Scan() {
	log := `[2025-03-04T09:12:33.512Z] "GET /a HTTP/1.1" 503 UH no_healthy_upstream - "-" 0 19 0 - "-" "curl" "1" "a:80" "-" outbound|80||a.ns.svc.cluster.local - 10.96.0.1:80 10.0.0.2:5000 - default
[2025-03-04T09:12:34.000Z] "GET /a HTTP/1.1" 200 - via_upstream - "-" 0 9 3 2 "-" "curl" "2" "a:80" "10.0.0.9:80" outbound|80||a.ns.svc.cluster.local 10.0.0.2:4000 10.96.0.1:80 10.0.0.2:5001 - default
[2025-03-04T09:12:35.000Z] "GET /a HTTP/1.1" 503 UH no_healthy_upstream - "-" 0 19 0 - "-" "curl" "3" "a:80" "-" outbound|80||a.ns.svc.cluster.local - 10.96.0.1:80 10.0.0.2:5002 - default
not an access log line
`
	s := accesslog.Scanner{Samples: 1}
	sum, err := s.Scan(context.Background(), []accesslog.Input{{Name: "access.log", R: strings.NewReader(log)}})
	if err != nil {
		panic(err)
	}
	for _, g := range sum.Groups {
		fmt.Println(g.Count, g.Key, g.Failure(), g.First, g.Last, g.Last.Time)
	}
	fmt.Println(sum.Lines, sum.Unmatched, sum.UnmatchedSamples[0].Position)
	// Output:
	// 2 outbound|80||a.ns.svc.cluster.local 503 UH no_healthy_upstream route=default true access.log:1 access.log:3 2025-03-04T09:12:35.000Z
	// 1 outbound|80||a.ns.svc.cluster.local 200 - via_upstream route=default false access.log:2 access.log:2 2025-03-04T09:12:34.000Z
	// 4 1 access.log:4
}
