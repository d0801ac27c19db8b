package istio

import (
	"context"
	"strings"
	"testing"

	netv1alpha3 "istio.io/api/networking/v1alpha3"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analysis/analysistest"
)

func TestValidateWildcardDomain(t *testing.T) {
	for host, ok := range map[string]bool{
		"reviews":                          true,
		"reviews.prod.svc.cluster.local":   true,
		"*.example.com":                    true,
		"*foo.example.com":                 true, // upstream accepts a label led by "*"
		"*":                                true,
		"foo.*.com":                        false,
		"example.*":                        false,
		"10.0.0.1":                         false, // all-numeric top-level label
		"":                                 false,
		"under_score.example.com":          false,
		"trailing-dot.example.com.":        true,
		strings.Repeat("a", 64) + ".com":   false,
		"outbound_.80_._.reviews.prod.svc": false, // only for SNI on gateways
	} {
		if got := validateWildcardDomain(host) == nil; got != ok {
			t.Errorf("validateWildcardDomain(%q) ok=%v, want %v", host, got, ok)
		}
	}
	if validateGatewayBoundHost(true, "outbound_.80_._.reviews.prod.svc") != nil {
		t.Error("generated SNI host on a gateway rejected")
	}
}

func TestRuleHelpers(t *testing.T) {
	if !partialWildcard("*foo.com") || partialWildcard("*.foo.com") || partialWildcard("*") {
		t.Error("partialWildcard")
	}
	for n, want := range map[uint64]bool{1: true, 2: true, 3: true, 4: false, 65537: true, 65535: false, 5000011: true} {
		if isPrime(n) != want {
			t.Errorf("isPrime(%d) != %v", n, want)
		}
	}
	if labelProblem("app.kubernetes.io/name", "web") != "" || labelProblem("version/", "v1") == "" || labelProblem("app", "bad value") == "" {
		t.Error("labelProblem")
	}
	if jwksURIProblem("https://a.example.com/jwks") != "" || jwksURIProblem("a.example.com/jwks") == "" || jwksURIProblem("ftp://a/jwks") == "" {
		t.Error("jwksURIProblem")
	}
	if webhookURLProblem("https://istiod.example.com:15017/inject") != "" || webhookURLProblem("http://x/") == "" || webhookURLProblem("https:///x") == "" {
		t.Error("webhookURLProblem")
	}
}

func sm(kind, v string) *netv1alpha3.StringMatch {
	switch kind {
	case "exact":
		return &netv1alpha3.StringMatch{MatchType: &netv1alpha3.StringMatch_Exact{Exact: v}}
	case "prefix":
		return &netv1alpha3.StringMatch{MatchType: &netv1alpha3.StringMatch_Prefix{Prefix: v}}
	case "regex":
		return &netv1alpha3.StringMatch{MatchType: &netv1alpha3.StringMatch_Regex{Regex: v}}
	}
	return &netv1alpha3.StringMatch{}
}

func TestCovers(t *testing.T) {
	type M = netv1alpha3.HTTPMatchRequest
	for _, c := range []struct {
		name string
		a, b *M
		want bool
	}{
		{"empty covers all", &M{}, &M{Uri: sm("exact", "/x"), Port: 80}, true},
		{"prefix / covers all", &M{Uri: sm("prefix", "/")}, &M{Method: sm("exact", "POST")}, true},
		{"prefix covers longer prefix", &M{Uri: sm("prefix", "/api")}, &M{Uri: sm("prefix", "/api/v2")}, true},
		{"prefix covers exact", &M{Uri: sm("prefix", "/api")}, &M{Uri: sm("exact", "/api/health")}, true},
		{"longer prefix does not cover", &M{Uri: sm("prefix", "/api/v2")}, &M{Uri: sm("prefix", "/api")}, false},
		{"method narrows", &M{Uri: sm("prefix", "/api"), Method: sm("exact", "GET")}, &M{Uri: sm("prefix", "/api/v2")}, false},
		{"method implied", &M{Method: sm("exact", "GET")}, &M{Uri: sm("prefix", "/x"), Method: sm("exact", "GET")}, true},
		{"header prefix reversed", &M{Headers: map[string]*netv1alpha3.StringMatch{"x": sm("prefix", "abc")}}, &M{Headers: map[string]*netv1alpha3.StringMatch{"x": sm("prefix", "ab")}}, false},
		{"header prefix covers exact", &M{Headers: map[string]*netv1alpha3.StringMatch{"x": sm("prefix", "ab")}}, &M{Headers: map[string]*netv1alpha3.StringMatch{"x": sm("exact", "abc"), "y": sm("exact", "1")}}, true},
		{"header presence", &M{Headers: map[string]*netv1alpha3.StringMatch{"x": sm("", "")}}, &M{Headers: map[string]*netv1alpha3.StringMatch{"x": sm("regex", ".+")}}, true},
		{"different regexes", &M{Uri: sm("regex", "/a.*")}, &M{Uri: sm("regex", "/b.*")}, false},
		{"same regex", &M{Uri: sm("regex", "/a.*")}, &M{Uri: sm("regex", "/a.*")}, true},
		{"case-insensitive b", &M{Uri: sm("prefix", "/docs")}, &M{Uri: sm("prefix", "/docs/api"), IgnoreUriCase: true}, false},
		{"case-insensitive a", &M{Uri: sm("prefix", "/DOCS"), IgnoreUriCase: true}, &M{Uri: sm("prefix", "/docs/api")}, true},
		{"port", &M{Port: 80}, &M{Port: 8080}, false},
		{"source labels subset", &M{SourceLabels: map[string]string{"app": "a"}}, &M{SourceLabels: map[string]string{"app": "a", "v": "1"}}, true},
		{"source labels missing", &M{SourceLabels: map[string]string{"app": "a"}}, &M{}, false},
		{"gateways", &M{Gateways: []string{"ns/a"}}, &M{Gateways: []string{"ns/a", "ns/b"}}, false},
		{"scheme narrows", &M{Scheme: sm("exact", "https")}, &M{Uri: sm("prefix", "/")}, false},
		{"withoutHeaders", &M{WithoutHeaders: map[string]*netv1alpha3.StringMatch{"x": sm("exact", "1")}}, &M{}, false},
	} {
		if got := covers(c.a, c.b); got != c.want {
			t.Errorf("%s: covers=%v, want %v", c.name, got, c.want)
		}
	}
}

// TestSchemaNotChecked: without the objects that define the answer, the
// checks say what they could not check instead of reporting.
func TestSchemaNotChecked(t *testing.T) {
	for file, want := range map[string]map[string]string{
		"testdata/telcheck_nomesh.yaml": {
			"MD250": "no mesh configuration",
			"MD253": "no mesh configuration",
		},
		"testdata/schemacheck_multicluster_unchecked.yaml": {
			"MD130": "no istiod Deployment in namespace istio-system",
		},
		"testdata/schemacheck_multicluster_valuefrom.yaml": {
			"MD130": "sets CLUSTER_ID through valueFrom, so the local cluster ID is unknown",
		},
	} {
		snap := analysistest.Load(t, file)
		res := analysis.Run(context.Background(), snap, analysis.RunConfig{Analyzers: Analyzers()})
		if len(res.Findings) != 0 {
			t.Errorf("%s: findings on unknown input: %+v", file, res.Findings)
		}
		notes := map[string]string{}
		for _, n := range res.NotChecked {
			notes[n.Code] += n.Reason + "\n"
		}
		for code, w := range want {
			if !strings.Contains(notes[code], w) {
				t.Errorf("%s: %s notes %q lack %q", file, code, notes[code], w)
			}
		}
	}
}

// TestWebhookSeverity: an unusable Istio webhook is an error when the API
// server fails closed, a warning when it skips the webhook.
func TestWebhookSeverity(t *testing.T) {
	file := "testdata/schemacheck_webhooks_positive.yaml"
	got := map[string]analysis.Severity{}
	for _, f := range analysistest.Run(t, Analyzers(), nil, file)[file] {
		if f.Code == "MD131" {
			got[f.Locations[0].Field] = f.Severity
		}
	}
	if got[".webhooks[0].clientConfig.url"] != analysis.Warning || got[".webhooks[1].clientConfig"] != analysis.Error {
		t.Errorf("MD131 severities: %v", got)
	}
}

func TestHeaderAndClaimNames(t *testing.T) {
	for name, ok := range map[string]bool{
		"x-request-id":               true,
		"x.request.id":               true, // tchar '.'
		"x-user~id":                  true,
		"X_Custom!#$%&'*+^`|":        true,
		":authority":                 true,
		":path":                      true,
		":tenant":                    false, // not a pseudo-header
		"x user":                     false,
		"":                           false,
		"@request.auth.claims.group": true,
		"@Request.Auth.Claims[grp]":  true, // the prefix is case-insensitive
		"@request.auth.claims":       false,
		"@request.auth.claims.":      false,
		"@request.auth.claims[]":     false,
		"@request.auth.claimsgroup":  false,
	} {
		if got := headerNameProblem(name) == ""; got != ok {
			t.Errorf("headerNameProblem(%q) ok=%v, want %v", name, got, ok)
		}
	}
}

func TestAutoSNI(t *testing.T) {
	for host, ok := range map[string]bool{
		"outbound_.9080_._.reviews.prod.svc.cluster.local": true,
		"outbound_.80_._.reviews":                          true,
		"outbound_.http_._.reviews":                        false,
		"outbound_.80_._.1234":                             false,
		"outbound_.80":                                     false,
	} {
		if got := validateGatewayBoundHost(true, host) == nil; got != ok {
			t.Errorf("validateGatewayBoundHost(sni, %q) ok=%v, want %v", host, got, ok)
		}
	}
}

func TestAuthzValueRules(t *testing.T) {
	for path, ok := range map[string]bool{
		"/api/{*}/items/{**}": true,
		"/api/{**}":           true,
		"/static/*":           true, // not a template
		"/api/{**}/x/{*}":     false,
		"/api/{**}/{**}":      false,
		"/api/{id}":           false,
		"/a b/{*}":            false,
		"/a*/{*}":             false,
	} {
		if got := pathTemplateProblem(path) == ""; got != ok {
			t.Errorf("pathTemplateProblem(%q) ok=%v, want %v", path, got, ok)
		}
	}
	for sa, ok := range map[string]bool{"frontend": true, "shop/frontend": true, "a/b/c": false, "shop/*": false, "/x": false, "shop/": false, "": false} {
		if got := serviceAccountProblem(sa) == ""; got != ok {
			t.Errorf("serviceAccountProblem(%q) ok=%v, want %v", sa, got, ok)
		}
	}
	for key, ok := range map[string]bool{
		"request.headers[x-token]": true, "request.headers": false, "request.headers[]": false, "request.header[x]": false,
		"source.serviceAccount": true, "request.auth.claims[iss]": true, "request.auth.claims": false,
		"destination.labels[app]": false, "destination.namespace": false, "destination.user": false, "connection.sni": true,
		"experimental.envoy.filters.a.b[c]": true, "request.experimental.inline.headers[x]": true, "source.name": false,
	} {
		if msg, _ := whenAttribute(key); (msg == "") != ok {
			t.Errorf("whenAttribute(%q) = %q, want ok=%v", key, msg, ok)
		}
	}
}

// TestDelegateNeverCovers: a root rule that delegates is neither a
// catch-all nor a cover, because requests its delegate does not match fall
// through to the later root rules.
func TestDelegateNeverCovers(t *testing.T) {
	deleg := &netv1alpha3.Delegate{Name: "d", Namespace: "ns"}
	route := []*netv1alpha3.HTTPRouteDestination{{Destination: &netv1alpha3.Destination{Host: "x"}}}
	vs := &netv1alpha3.VirtualService{Http: []*netv1alpha3.HTTPRoute{
		{Delegate: deleg},
		{Match: []*netv1alpha3.HTTPMatchRequest{{Uri: sm("prefix", "/")}}, Delegate: deleg},
		{Match: []*netv1alpha3.HTTPMatchRequest{{Uri: sm("prefix", "/static")}}, Route: route},
		{Match: []*netv1alpha3.HTTPMatchRequest{{Uri: sm("prefix", "/static/img")}}, Route: route},
	}}
	got := vsShadows(vs)["http"]
	if len(got) != 1 || got[0].rule != 3 || got[0].byRule != 2 {
		t.Errorf("shadows = %+v, want only http[3] covered by http[2]", got)
	}
}

// TestEnvoyRejection: values Istio accepts but Envoy rejects say so.
func TestEnvoyRejection(t *testing.T) {
	for file, field := range map[string]string{
		"testdata/schemacheck_review_positive.yaml": ".spec.http[1].directResponse.status",
		"testdata/schemacheck_vs_positive.yaml":     ".spec.http[0].fault.abort.httpStatus",
	} {
		found := false
		for _, f := range analysistest.Run(t, Analyzers(), nil, file)[file] {
			if f.Code != "MD010" || f.Locations[0].Field != field {
				continue
			}
			found = true
			if !strings.Contains(f.Message, "Envoy rejects the route (NACK)") || strings.Contains(f.Message, "validating webhook rejects") {
				t.Errorf("%s %s: message %q does not blame Envoy", file, field, f.Message)
			}
		}
		if !found {
			t.Errorf("%s: no MD010 at %s", file, field)
		}
	}
}

func TestHeaderFormat(t *testing.T) {
	for v, ok := range map[string]bool{
		"plain":                           true,
		"100%%":                           true,
		"%HOSTNAME%":                      true,
		"pre %REQ(x-request-id)% post":    true,
		`%PER_REQUEST_STATE(["a", "b"])%`: true,
		"%START_TIME(%s.%3f)%":            true,
		"100%":                            false,
		"abc%123":                         false,
		"%START_TIME%%":                   false,
		`%PER_REQUEST_STATE(["a" x])%`:    false,
		`%PER_REQUEST_STATE([a])%`:        false,
		`%PER_REQUEST_STATE(["a"]) x%`:    false,
		`%REQ(a\`:                         false,
	} {
		if got := headerFormatProblem(v) == ""; got != ok {
			t.Errorf("headerFormatProblem(%q) ok=%v, want %v", v, got, ok)
		}
	}
}

func TestWorkloadAndWasmRules(t *testing.T) {
	for u, ok := range map[string]bool{
		"oci://ghcr.io/example/filter:1.0": true,
		"ghcr.io/example/filter:1.0":       true, // read with http:// in front, as upstream does
		"https://example.com/filter.wasm":  true,
		"file:///opt/filter.wasm":          true,
		"/opt/filter.wasm":                 true, // no scheme
		"ftp://example.com/filter.wasm":    false,
		"s3://bucket/filter.wasm":          false,
		"ghcr.io/example/filter%zz":        false, // bad escape
	} {
		if got := wasmURLProblem(u) == ""; got != ok {
			t.Errorf("wasmURLProblem(%q) ok=%v, want %v", u, got, ok)
		}
	}
	good := strings.Repeat("0123456789abcdef", 4)
	for sum, ok := range map[string]bool{good: true, strings.ToUpper(good): false, good[:63]: false, good + "0": false, good[:63] + "g": false} {
		if got := sha256Problem(sum) == ""; got != ok {
			t.Errorf("sha256Problem(%q) ok=%v, want %v", sum, got, ok)
		}
	}
	for addr, ok := range map[string]bool{"/var/run/app.sock": true, "@abstract": true, "": false, "relative/app.sock": false, "/var/run/": false} {
		if got := unixAddressProblem(addr) == ""; got != ok {
			t.Errorf("unixAddressProblem(%q) ok=%v, want %v", addr, got, ok)
		}
	}
}

func TestMeshConfigRules(t *testing.T) {
	for _, c := range []struct {
		locs []string
		ok   bool
	}{
		{[]string{"us-east", "us-west/zone1", "us-west/zone2/a"}, true},
		{[]string{"us-east/*", "us-west/*"}, true},
		{[]string{"*"}, true},
		{[]string{"*", "us-east"}, false},
		{[]string{"us-east", "us-east/zone1"}, false},
		{[]string{"us-east/zone1", "us-east/zone1/a"}, false},
		{[]string{"us-east/zone1/a", "us-east/zone1/a"}, false},
		{[]string{"us-east//a"}, false},
		{[]string{"us-*/zone1"}, false},
		{[]string{"us-east/**"}, false},
	} {
		if got := localitiesProblem(c.locs) == ""; got != c.ok {
			t.Errorf("localitiesProblem(%q) ok=%v, want %v", c.locs, got, c.ok)
		}
	}
	for d, ok := range map[string]bool{"cluster.local": true, "cluster.local.": true, "td": true, "": false, "a..b": false, "cluster_local": false} {
		if got := trustDomainProblem(d) == ""; got != ok {
			t.Errorf("trustDomainProblem(%q) ok=%v, want %v", d, got, ok)
		}
	}
}
