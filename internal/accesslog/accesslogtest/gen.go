// Package accesslogtest generates realistic proxy access logs for tests
// and benchmarks: Istio TEXT or JSON lines from a few hundred clusters,
// mostly 200s with the usual failure groups mixed in (503 UF, UH, UO, UC,
// URX; 404 NR; 504 UT; 0 DC; 403 RBAC; TCP connections), many distinct
// paths. The output depends only on the options.
package accesslogtest

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// Options shape the generated log.
type Options struct {
	// JSON writes Istio's JSON encoding instead of its TEXT format.
	JSON bool
	// Clusters is the number of distinct services (0: 300).
	Clusters int
	// Seed makes different, still reproducible, logs.
	Seed uint64
	// Prefix wraps lines as `kubectl logs --prefix` does.
	Prefix bool
}

// Outcome is one kind of result the generator writes.
type Outcome struct {
	Code                   int
	Flags, Details, Reason string
	TCP, NoRoute           bool
	Weight                 int
}

// Outcomes is the mix of results, by weight out of 1000.
var Outcomes = []Outcome{
	{Code: 200, Flags: "-", Details: "via_upstream", Weight: 858},
	{Code: 503, Flags: "UF", Details: "upstream_reset_before_response_started{remote_connection_failure|delayed_connect_error:_Connection_refused}", Reason: "delayed connect error: Connection refused", Weight: 20},
	{Code: 503, Flags: "UH", Details: "no_healthy_upstream", Weight: 15},
	{Code: 404, Flags: "NR", Details: "route_not_found", NoRoute: true, Weight: 15},
	{Code: 503, Flags: "UO", Details: "upstream_reset_before_response_started{overflow}", Weight: 10},
	{Code: 504, Flags: "UT", Details: "response_timeout", Weight: 15},
	{Code: 0, Flags: "DC", Details: "downstream_remote_disconnect", Weight: 10},
	{Code: 503, Flags: "URX,UF", Details: "upstream_reset_before_response_started{remote_connection_failure|delayed_connect_error:_Connection_refused}", Reason: "delayed connect error: Connection refused", Weight: 5},
	{Code: 503, Flags: "UC", Details: "upstream_reset_before_response_started{connection_termination}", Weight: 10},
	{Code: 403, Flags: "-", Details: "rbac_access_denied_matched_policy[none]", Weight: 10},
	{Code: 500, Flags: "-", Details: "via_upstream", Weight: 12},
	{Code: 0, Flags: "-", Details: "-", TCP: true, Weight: 15},
	{Code: 0, Flags: "UF", Details: "-", Reason: "delayed connect error: Connection refused", TCP: true, Weight: 5},
}

type cluster struct {
	name, authority, route string
	port                   int
}

// Generator writes lines one at a time.
type Generator struct {
	o        Options
	rng      *rand.Rand
	clusters []cluster
	pick     [1000]uint8 // outcome by weight
	t        time.Time
}

var (
	resources = []string{"orders", "reviews", "ratings", "details", "cart", "payments", "users", "inventory", "search", "shipping"}
	agents    = []string{"curl/8.5.0", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Go-http-client/1.1", "grpc-go/1.64.0", "python-requests/2.32.3"}
	methods   = []string{"GET", "GET", "GET", "POST", "PUT", "DELETE"}
	subsets   = []string{"", "", "v1", "v2", "v3"}
	nsNames   = []string{"default", "shop", "payments", "identity", "search", "ops"}
)

// New returns a generator.
func New(o Options) *Generator {
	if o.Clusters <= 0 {
		o.Clusters = 300
	}
	g := &Generator{o: o, rng: rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)), t: time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC)}
	for i := range o.Clusters {
		svc := resources[i%len(resources)] + strconv.Itoa(i/len(resources))
		ns := nsNames[i%len(nsNames)]
		port := []int{8080, 9080, 80, 443, 5432}[i%5]
		sub := subsets[i%len(subsets)]
		fqdn := svc + "." + ns + ".svc.cluster.local"
		g.clusters = append(g.clusters, cluster{
			name:      "outbound|" + strconv.Itoa(port) + "|" + sub + "|" + fqdn,
			authority: svc + "." + ns + ":" + strconv.Itoa(port),
			route:     []string{"default", svc + "." + ns + ".svc.cluster.local:" + strconv.Itoa(port), svc + "-route"}[i%3],
			port:      port,
		})
	}
	k := 0
	for i, oc := range Outcomes {
		for range oc.Weight {
			if k < len(g.pick) {
				g.pick[k] = uint8(i)
				k++
			}
		}
	}
	return g
}

func appendIP(b []byte, a, c, d int) []byte {
	b = append(b, "10."...)
	b = strconv.AppendInt(b, int64(a), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(c), 10)
	b = append(b, '.')
	return strconv.AppendInt(b, int64(d), 10)
}

func appendAddr(b []byte, a, c, d, port int) []byte {
	b = appendIP(b, a, c, d)
	b = append(b, ':')
	return strconv.AppendInt(b, int64(port), 10)
}

const hexDigits = "0123456789abcdef"

func (g *Generator) appendUUID(b []byte) []byte {
	x, y := g.rng.Uint64(), g.rng.Uint64()
	for i := range 32 {
		if i == 8 || i == 12 || i == 16 || i == 20 {
			b = append(b, '-')
		}
		var v uint64
		if i < 16 {
			v = x >> (4 * i)
		} else {
			v = y >> (4 * (i - 16))
		}
		b = append(b, hexDigits[v&15])
	}
	return b
}

// Append appends one line, with its newline.
func (g *Generator) Append(b []byte) []byte {
	g.t = g.t.Add(time.Duration(g.rng.IntN(3000)) * time.Microsecond)
	// A few clusters get most of the traffic.
	ci := g.rng.IntN(len(g.clusters))
	if g.rng.IntN(2) == 0 {
		ci = ci % 20
	}
	c := &g.clusters[ci]
	oc := &Outcomes[g.pick[g.rng.IntN(len(g.pick))]]
	method, path, proto := methods[g.rng.IntN(len(methods))], "", "HTTP/1.1"
	if g.rng.IntN(4) == 0 {
		proto = "HTTP/2"
	}
	var pathBuf [64]byte
	p := append(pathBuf[:0], "/api/v"...)
	p = strconv.AppendInt(p, int64(1+ci%2), 10)
	p = append(p, '/')
	p = append(p, resources[ci%len(resources)]...)
	p = append(p, '/')
	p = strconv.AppendInt(p, int64(g.rng.IntN(100000)), 10)
	path = string(p)
	if oc.TCP {
		method, path, proto = "-", "-", "-"
	}
	clusterName, route, host := c.name, c.route, ""
	hostAddr := appendAddr(nil, 244, ci%250, 2+g.rng.IntN(200), c.port)
	host = string(hostAddr)
	if oc.NoRoute {
		clusterName, route, host = "-", "-", "-"
	}
	if oc.Flags == "UH" {
		host = "-"
	}
	if oc.TCP {
		route = "-"
	}
	code := oc.Code
	bytesIn, bytesOut := g.rng.IntN(2000), 100+g.rng.IntN(20000)
	dur := g.rng.IntN(300)
	svcTime := "-"
	if oc.Details == "via_upstream" {
		svcTime = strconv.Itoa(max(dur-1, 0))
	}
	ua := agents[g.rng.IntN(len(agents))]
	if oc.TCP {
		ua = "-"
	}
	down := appendAddr(nil, 96, ci%250, 10, c.port)
	remote := appendAddr(nil, 244, g.rng.IntN(250), 2+g.rng.IntN(250), 30000+g.rng.IntN(30000))
	upLocal := "-"
	if host != "-" {
		upLocal = string(appendAddr(nil, 244, 1, 9, 40000+g.rng.IntN(20000)))
	}
	ts := g.t.Format("2006-01-02T15:04:05.000Z")
	if g.o.Prefix {
		b = append(b, "[pod/"...)
		b = append(b, resources[ci%len(resources)]...)
		b = append(b, "-v1-7d99fd7978-zznnq/istio-proxy] "...)
	}
	if g.o.JSON {
		return g.appendJSON(b, ts, method, path, proto, code, oc, bytesIn, bytesOut, dur, svcTime, ua, c.authority, host, clusterName, upLocal, string(down), string(remote), route)
	}
	b = append(b, '[')
	b = append(b, ts...)
	b = append(b, "] \""...)
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, path...)
	b = append(b, ' ')
	b = append(b, proto...)
	b = append(b, "\" "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	b = append(b, oc.Flags...)
	b = append(b, ' ')
	b = append(b, oc.Details...)
	b = append(b, " - \""...)
	if oc.Reason == "" {
		b = append(b, '-')
	} else {
		b = append(b, oc.Reason...)
	}
	b = append(b, "\" "...)
	b = strconv.AppendInt(b, int64(bytesIn), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(bytesOut), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(dur), 10)
	b = append(b, ' ')
	b = append(b, svcTime...)
	b = append(b, " \"-\" \""...)
	b = append(b, ua...)
	b = append(b, "\" \""...)
	if oc.TCP {
		b = append(b, '-')
	} else {
		b = g.appendUUID(b)
	}
	b = append(b, "\" \""...)
	if oc.TCP {
		b = append(b, '-')
	} else {
		b = append(b, c.authority...)
	}
	b = append(b, "\" \""...)
	b = append(b, host...)
	b = append(b, "\" "...)
	b = append(b, clusterName...)
	b = append(b, ' ')
	b = append(b, upLocal...)
	b = append(b, ' ')
	b = append(b, down...)
	b = append(b, ' ')
	b = append(b, remote...)
	b = append(b, " - "...)
	b = append(b, route...)
	return append(b, '\n')
}

func appendJSONString(b []byte, key, v string, comma bool) []byte {
	if comma {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, key...)
	b = append(b, "\":"...)
	if v == "-" || v == "" {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = append(b, v...) // the generator's values need no escaping
	return append(b, '"')
}

func appendJSONNumber(b []byte, key string, v int) []byte {
	b = append(b, ",\""...)
	b = append(b, key...)
	b = append(b, "\":"...)
	return strconv.AppendInt(b, int64(v), 10)
}

func (g *Generator) appendJSON(b []byte, ts, method, path, proto string, code int, oc *Outcome, in, out, dur int, svcTime, ua, authority, host, cluster, upLocal, down, remote, route string) []byte {
	b = append(b, '{')
	b = appendJSONString(b, "start_time", ts, false)
	b = appendJSONString(b, "method", method, true)
	b = appendJSONString(b, "path", path, true)
	b = appendJSONString(b, "protocol", proto, true)
	b = appendJSONNumber(b, "response_code", code)
	b = appendJSONString(b, "response_flags", oc.Flags, true)
	b = appendJSONString(b, "response_code_details", oc.Details, true)
	b = appendJSONString(b, "connection_termination_details", "-", true)
	b = appendJSONString(b, "upstream_transport_failure_reason", oc.Reason, true)
	b = appendJSONNumber(b, "bytes_received", in)
	b = appendJSONNumber(b, "bytes_sent", out)
	b = appendJSONNumber(b, "duration", dur)
	if svcTime == "-" {
		b = appendJSONString(b, "upstream_service_time", "-", true)
	} else {
		b = appendJSONString(b, "upstream_service_time", svcTime, true)
	}
	b = appendJSONString(b, "x_forwarded_for", "-", true)
	b = appendJSONString(b, "user_agent", ua, true)
	if oc.TCP {
		b = appendJSONString(b, "request_id", "-", true)
		b = appendJSONString(b, "authority", "-", true)
	} else {
		b = append(b, `,"request_id":"`...)
		b = g.appendUUID(b)
		b = append(b, '"')
		b = appendJSONString(b, "authority", authority, true)
	}
	b = appendJSONString(b, "upstream_host", host, true)
	b = appendJSONString(b, "upstream_cluster", cluster, true)
	b = appendJSONString(b, "upstream_local_address", upLocal, true)
	b = appendJSONString(b, "downstream_local_address", down, true)
	b = appendJSONString(b, "downstream_remote_address", remote, true)
	b = appendJSONString(b, "requested_server_name", "-", true)
	b = appendJSONString(b, "route_name", route, true)
	return append(b, "}\n"...)
}

// Lines returns n lines.
func Lines(o Options, n int) []byte {
	g := New(o)
	var b []byte
	for range n {
		b = g.Append(b)
	}
	return b
}
