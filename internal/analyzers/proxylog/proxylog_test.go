package proxylog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/accesslog"
	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analysis/analysistest"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/proxylog"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// logSnapshot scans access logs of testdata and loads config files beside
// them, as `meshdoctor logs LOG --config FILES` does.
func logSnapshot(t *testing.T, logs []string, config ...string) *snapshot.Snapshot {
	t.Helper()
	return projectedLogSnapshot(t, nil, logs, config...)
}

// projectedLogSnapshot is logSnapshot decoding only the fields reads names
// (nil: all), as sources do for the selected analyzers.
func projectedLogSnapshot(t *testing.T, reads map[schema.GroupKind][]string, logs []string, config ...string) *snapshot.Snapshot {
	t.Helper()
	var inputs []accesslog.Input
	for _, l := range logs {
		fh, err := os.Open(filepath.Join("testdata", l))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { fh.Close() })
		inputs = append(inputs, accesslog.Input{Name: "testdata/" + l, R: fh})
	}
	sum, err := (&accesslog.Scanner{}).Scan(context.Background(), inputs)
	if err != nil {
		t.Fatal(err)
	}
	b := snapshot.NewBuilder()
	if len(config) > 0 {
		for _, o := range analysistest.LoadProjected(t, reads, config...).Objects() {
			b.Add(o)
		}
	}
	b.SetAccessLogs(&snapshot.AccessLogs{Summary: sum})
	return b.Build()
}

func run(t *testing.T, s *snapshot.Snapshot, a *analysis.Analyzer) []analysis.Finding {
	t.Helper()
	res := analysis.Run(context.Background(), s, analysis.RunConfig{Analyzers: []*analysis.Analyzer{a}})
	if len(res.Errors) > 0 {
		t.Fatal(res.Errors)
	}
	return res.Findings
}

func TestFailureGroup(t *testing.T) {
	got := run(t, logSnapshot(t, []string{"uf.log"}), proxylog.FailureGroup)
	if len(got) != 1 {
		t.Fatalf("want one failure group, got %d: %+v", len(got), got)
	}
	f := got[0]
	if f.Locations[0].File != "testdata/uf.log" || f.Locations[0].Line != 1 {
		t.Errorf("location %v, want testdata/uf.log:1", f.Locations[0].Position)
	}
	if f.Severity != analysis.Warning {
		t.Errorf("1 failure in 2 records: severity %v, want warning", f.Severity)
	}
	for _, want := range []string{"503", "UF (UpstreamConnectionFailure)", "wetown-java.468205436992-default.svc.cluster.local port 8080"} {
		if !strings.Contains(f.Message, want) {
			t.Errorf("message lacks %q: %s", want, f.Message)
		}
	}
	if got := run(t, logSnapshot(t, []string{"ok.log"}), proxylog.FailureGroup); len(got) != 0 {
		t.Errorf("successful requests only: want no finding, got %+v", got)
	}
}

func TestJoinsNCAndUH(t *testing.T) {
	snap := logSnapshot(t, []string{"nc.log"}, "testdata/nc_config.yaml")
	nc := run(t, snap, proxylog.NCSubsetMissing)
	if len(nc) != 1 {
		t.Fatalf("NC: want 1 finding, got %+v", nc)
	}
	if got := fileLine(nc[0].Locations[0]); got != "testdata/nc_config.yaml:26" || nc[0].Subject.String() != "VirtualService/shop/reviews" {
		t.Errorf("NC: first location %s subject %s, want the route's subset at testdata/nc_config.yaml:26 on VirtualService/shop/reviews", got, nc[0].Subject)
	}
	if got := fileLine(nc[0].Locations[1]); got != "testdata/nc.log:1" {
		t.Errorf("NC: log location %s", got)
	}
	uh := run(t, snap, proxylog.UHNoEndpoints)
	if len(uh) != 1 {
		t.Fatalf("UH: want 1 finding, got %+v", uh)
	}
	if got := fileLine(uh[0].Locations[0]); got != "testdata/nc_config.yaml:45" || !strings.Contains(uh[0].Message, "selects no pod") {
		t.Errorf("UH: location %s message %q, want the subset labels at testdata/nc_config.yaml:45", got, uh[0].Message)
	}
	fixed := logSnapshot(t, []string{"nc.log"}, "testdata/nc_config_fixed.yaml")
	for _, a := range []*analysis.Analyzer{proxylog.NCSubsetMissing, proxylog.UHNoEndpoints} {
		if got := run(t, fixed, a); len(got) != 0 {
			t.Errorf("%s with the fixed config: want no finding, got %+v", a.Code, got)
		}
	}
}

func fileLine(l analysis.Location) string { return fmt.Sprintf("%s:%d", l.File, l.Line) }

func TestJoinsUOAndFI(t *testing.T) {
	snap := logSnapshot(t, []string{"uo_fi.log"}, "testdata/uo_fi_config.yaml")
	uo := run(t, snap, proxylog.UOConnectionPool)
	if len(uo) != 1 || fileLine(uo[0].Locations[0]) != "testdata/uo_fi_config.yaml:21" || !strings.Contains(uo[0].Message, "http.http1MaxPendingRequests: 1") {
		t.Errorf("UO: want one finding at the connectionPool (testdata/uo_fi_config.yaml:21) naming its limits, got %+v", uo)
	}
	fi := run(t, snap, proxylog.FIWithRetries)
	if len(fi) != 1 || fileLine(fi[0].Locations[0]) != "testdata/uo_fi_config.yaml:32" || fi[0].Subject.String() != "VirtualService/shop/details" {
		t.Errorf("FI: want one finding at the route's fault (testdata/uo_fi_config.yaml:32), got %+v", fi)
	}
	fixed := logSnapshot(t, []string{"uo_fi.log"}, "testdata/uo_fi_config_fixed.yaml")
	for _, a := range []*analysis.Analyzer{proxylog.UOConnectionPool, proxylog.FIWithRetries} {
		if got := run(t, fixed, a); len(got) != 0 {
			t.Errorf("%s with the fixed config: want no finding, got %+v", a.Code, got)
		}
	}
}

func TestJoinTLSConflict(t *testing.T) {
	got := run(t, logSnapshot(t, []string{"tls.log"}, "testdata/tls_config.yaml"), proxylog.TLSConflictsStrict)
	if len(got) != 1 {
		t.Fatalf("want one finding, got %+v", got)
	}
	var locs []string
	for _, l := range got[0].Locations {
		locs = append(locs, fileLine(l))
	}
	if want := "testdata/tls_config.yaml:33 testdata/tls_config.yaml:24 testdata/tls.log:1"; strings.Join(locs, " ") != want {
		t.Errorf("locations %q, want %q", strings.Join(locs, " "), want)
	}
	if got := run(t, logSnapshot(t, []string{"tls.log"}, "testdata/tls_config_fixed.yaml"), proxylog.TLSConflictsStrict); len(got) != 0 {
		t.Errorf("ISTIO_MUTUAL: want no finding, got %+v", got)
	}
}

func TestJoinTargetPort(t *testing.T) {
	got := run(t, logSnapshot(t, []string{"tp.log"}, "testdata/tp_config.yaml"), proxylog.UFTargetPortUnserved)
	if len(got) != 1 || fileLine(got[0].Locations[0]) != "testdata/tp_config.yaml:9" {
		t.Fatalf("want one finding at the targetPort (testdata/tp_config.yaml:9), got %+v", got)
	}
	if got := run(t, logSnapshot(t, []string{"tp.log"}, "testdata/tp_config_fixed.yaml"), proxylog.UFTargetPortUnserved); len(got) != 0 {
		t.Errorf("targetPort 9080: want no finding, got %+v", got)
	}
}

func TestJoinsGateway(t *testing.T) {
	snap := logSnapshot(t, []string{"gw.log"}, "testdata/gw_config.yaml")
	nr := run(t, snap, proxylog.NRGatewayNoRoute)
	if len(nr) != 1 || nr[0].Subject.String() != "VirtualService/shop/shop" || fileLine(nr[0].Locations[0]) != "testdata/gw_config.yaml:27" || fileLine(nr[0].Locations[1]) != "testdata/gw_config.yaml:15" {
		t.Errorf("NR: want one finding at the VirtualService's gateways (line 27) and the server's hosts (line 15), got %+v", nr)
	}
	sni := run(t, snap, proxylog.GatewaySNIMissing)
	if len(sni) != 1 || fileLine(sni[0].Locations[0]) != "testdata/gw_config.yaml:18" {
		t.Errorf("SNI: want one finding at the HTTPS server's hosts (line 18), got %+v", sni)
	}
	fixed := logSnapshot(t, []string{"gw.log"}, "testdata/gw_config_fixed.yaml")
	for _, a := range []*analysis.Analyzer{proxylog.NRGatewayNoRoute, proxylog.GatewaySNIMissing} {
		if got := run(t, fixed, a); len(got) != 0 {
			t.Errorf("%s with the fixed config: want no finding, got %+v", a.Code, got)
		}
	}
}

func TestJoinPolicyDrop(t *testing.T) {
	got := run(t, logSnapshot(t, []string{"drop.log"}, "../cni/testdata/migration_positive.yaml"), proxylog.UFPolicyDrop)
	if len(got) != 1 || got[0].Subject.String() != "NetworkPolicy/468205436992-default/wetown-java-ingress" || !strings.Contains(got[0].Message, "incident (d)") {
		t.Fatalf("want one incident-(d) finding on the NetworkPolicy, got %+v", got)
	}
	if got := run(t, logSnapshot(t, []string{"drop.log"}, "../cni/testdata/migration_ipblock.yaml"), proxylog.UFPolicyDrop); len(got) != 0 {
		t.Errorf("with the old pod CIDR admitted: want no finding, got %+v", got)
	}
}

// runJoin runs a join and checks that decoding only the fields it declares
// in Reads gives the same findings, to the letter.
func runJoin(t *testing.T, a *analysis.Analyzer, logs []string, config ...string) []analysis.Finding {
	t.Helper()
	full := run(t, logSnapshot(t, logs, config...), a)
	reads, ok := analysis.Projections([]*analysis.Analyzer{a})
	if !ok {
		t.Fatalf("%s: Reads not declared", a.Code)
	}
	projected := run(t, projectedLogSnapshot(t, reads, logs, config...), a)
	fj, _ := json.Marshal(full)
	pj, _ := json.Marshal(projected)
	if string(fj) != string(pj) {
		t.Errorf("%s: findings differ when decoding only the declared reads\nfull:      %s\nprojected: %s", a.Code, fj, pj)
	}
	return full
}

func locations(f analysis.Finding) string {
	var out []string
	for _, l := range f.Locations {
		out = append(out, fileLine(l))
	}
	return strings.Join(out, " ")
}

func TestJoinHTTP10(t *testing.T) {
	got := runJoin(t, proxylog.HTTP10Refused, []string{"http10.log"}, "testdata/http10_config.yaml")
	if len(got) != 2 {
		t.Fatalf("want a finding for the inbound refusals (newer Envoy, DPE) and one for the outbound ones (older Envoy, no flag), got %d: %+v", len(got), got)
	}
	byProxy := map[string]analysis.Finding{}
	for _, f := range got {
		byProxy[f.Subject.String()] = f
	}
	web, ok := byProxy["Deployment/shop/web"]
	if !ok {
		t.Fatalf("no finding on Deployment/shop/web: %+v", got)
	}
	if want := "testdata/http10_config.yaml:19 testdata/http10.log:1"; locations(web) != want {
		t.Errorf("web: locations %q, want the pod template's metadata and the first 426 line: %q", locations(web), want)
	}
	for _, want := range []string{"The sidecar of Pod/shop/web-5d4f7c9b8-x2x7q answered 2 HTTP/1.0 requests sent to its port 8080 from 10.244.7.3:51000", "ISTIO_META_HTTP10"} {
		if !strings.Contains(web.Message, want) {
			t.Errorf("web: message lacks %q: %s", want, web.Message)
		}
	}
	for _, want := range []string{"kubectl patch deployment web -n shop --type merge", `\"ISTIO_META_HTTP10\":\"1\"`, "name port 80 of Service/shop/web tcp-<name>"} {
		if !strings.Contains(web.Remedy, want) {
			t.Errorf("web: remedy lacks %q: %s", want, web.Remedy)
		}
	}
	legacy, ok := byProxy["Deployment/shop/legacy"]
	if !ok {
		t.Fatalf("no finding on Deployment/shop/legacy: %+v", got)
	}
	if want := "testdata/http10_config.yaml:53 testdata/http10.log:4"; locations(legacy) != want {
		t.Errorf("legacy: locations %q, want the template's annotation and the 426 line: %q", locations(legacy), want)
	}
	if !strings.Contains(legacy.Message, `is set to "true", but Istio enables HTTP/1.0 only for the exact value "1"`) || !strings.Contains(legacy.Message, "its own application sent to 10.96.0.30:80") {
		t.Errorf("legacy: message %s", legacy.Message)
	}
	if !strings.Contains(legacy.Remedy, `Set ISTIO_META_HTTP10 to "1" (not "true") in Deployment/shop/legacy`) {
		t.Errorf("legacy: remedy %s", legacy.Remedy)
	}
	if !strings.Contains(strings.Join(legacy.Evidence, "\n"), "\n1 of 4 records") {
		t.Errorf("legacy: a 426 without flags counts as a failed request: %q", legacy.Evidence)
	}

	// The fix applied: web's template gets the annotation (its pod is not
	// rolled yet), legacy's value becomes "1".
	if got := runJoin(t, proxylog.HTTP10Refused, []string{"http10.log"}, "testdata/http10_config_fixed.yaml"); len(got) != 0 {
		t.Errorf("HTTP/1.0 enabled: want no finding, got %+v", got)
	}
	// Mesh-wide "1" enables web; legacy's own annotation overrides the
	// mesh's key with "true", so it is still refused.
	got = runJoin(t, proxylog.HTTP10Refused, []string{"http10.log"}, "testdata/http10_config.yaml", "testdata/http10_mesh.yaml")
	if len(got) != 1 || got[0].Subject.String() != "Deployment/shop/legacy" {
		t.Errorf("mesh-wide ISTIO_META_HTTP10: want only the legacy finding, got %+v", got)
	}
}

func TestJoinUPE(t *testing.T) {
	got := runJoin(t, proxylog.UPEServerProtocol, []string{"upe.log"}, "testdata/upe_config.yaml")
	want := map[string]string{
		// outbound to a port named http-*
		"Service/shop/stats": "testdata/upe_config.yaml:8 testdata/upe.log:1",
		// inbound (inbound|5000||) to a sniffed port, its named targetPort
		// resolved against the writing pod, found by its address
		"Service/shop/legacy": "testdata/upe_config.yaml:19 testdata/upe.log:3",
		// a ServiceEntry port with protocol HTTP
		"ServiceEntry/shop/partner": "testdata/upe_config.yaml:59 testdata/upe.log:4",
	}
	if len(got) != len(want) {
		t.Fatalf("want %d findings (none for the port named tcp-redis), got %d: %+v", len(want), len(got), got)
	}
	for _, f := range got {
		if locs, ok := want[f.Subject.String()]; !ok || locations(f) != locs {
			t.Errorf("%s: locations %q, want %q", f.Subject, locations(f), locs)
		}
		switch f.Subject.String() {
		case "Service/shop/stats":
			for _, w := range []string{`as HTTP — port name "http-metrics"`, "speaks HTTP/1.1"} {
				if !strings.Contains(f.Message, w) {
					t.Errorf("stats: message lacks %q: %s", w, f.Message)
				}
			}
			for _, w := range []string{`name port 9000 of Service/shop/stats "tcp-metrics" (or set appProtocol: tcp)`, "ISTIO_META_HTTP10 only lets proxies accept HTTP/1.0 from clients"} {
				if !strings.Contains(f.Remedy, w) {
					t.Errorf("stats: remedy lacks %q: %s", w, f.Remedy)
				}
			}
		case "Service/shop/legacy":
			if !strings.Contains(f.Message, `as undeclared (sniffed) — port name "web" starts with no protocol Istio knows`) {
				t.Errorf("legacy: message %s", f.Message)
			}
		}
	}
	if got := runJoin(t, proxylog.UPEServerProtocol, []string{"upe.log"}, "testdata/upe_config_fixed.yaml"); len(got) != 0 {
		t.Errorf("ports declared TCP or TLS: want no finding, got %+v", got)
	}
}

func TestJoinUPEHTTP2(t *testing.T) {
	got := runJoin(t, proxylog.UPEServerProtocol, []string{"upe_h2.log"}, "testdata/upe_h2_config.yaml")
	want := map[string]string{
		// an HTTP port a DestinationRule upgrades to HTTP/2
		"Service/shop/catalog": "testdata/upe_h2_config.yaml:7 testdata/upe_h2_config.yaml:18 testdata/upe_h2.log:1",
		// a gRPC port: HTTP/2 toward a server that may speak HTTP/1.1
		"Service/shop/pricing": "testdata/upe_h2_config.yaml:26 testdata/upe_h2.log:2",
	}
	if len(got) != len(want) {
		t.Fatalf("want %d findings, got %+v", len(want), got)
	}
	for _, f := range got {
		if locs := want[f.Subject.String()]; locations(f) != locs {
			t.Errorf("%s: locations %q, want %q", f.Subject, locations(f), locs)
		}
		if !strings.Contains(f.Message, "HTTP/2") || !strings.Contains(f.Remedy, "HTTP/1.1") {
			t.Errorf("%s: message and remedy must name the HTTP/2 the proxy speaks: %s / %s", f.Subject, f.Message, f.Remedy)
		}
	}
}

func TestJoinHTTP10Gateway(t *testing.T) {
	got := runJoin(t, proxylog.HTTP10Refused, []string{"http10_gw.log"}, "testdata/http10_gw_config.yaml")
	if len(got) != 1 {
		t.Fatalf("want one finding on the gateway, got %+v", got)
	}
	f := got[0]
	if f.Subject.String() != "Deployment/istio-system/istio-ingressgateway" || locations(f) != "testdata/http10_gw_config.yaml:8 testdata/http10_gw.log:1" {
		t.Errorf("subject %s locations %q, want the gateway Deployment's pod template metadata and the log line", f.Subject, locations(f))
	}
	if !strings.Contains(f.Message, "The gateway Pod/istio-system/istio-ingressgateway-5f7d9c-abcde answered 1 HTTP/1.0 request") {
		t.Errorf("message %s", f.Message)
	}
	// The gateway's template names istio-proxy itself: an env var there
	// reaches the proxy, with or without injection.
	if !strings.Contains(f.Remedy, "kubectl set env deployment/istio-ingressgateway -n istio-system -c istio-proxy ISTIO_META_HTTP10=1") {
		t.Errorf("remedy %s", f.Remedy)
	}
	// istiod's PILOT_HTTP10 enables HTTP/1.0 for every proxy.
	if got := runJoin(t, proxylog.HTTP10Refused, []string{"http10_gw.log"}, "testdata/http10_gw_config.yaml", "testdata/http10_istiod.yaml"); len(got) != 0 {
		t.Errorf("PILOT_HTTP10=true: want no finding, got %+v", got)
	}
}

func TestJoinZtunnelPolicyDrop(t *testing.T) {
	got := runJoin(t, proxylog.ZtunnelConnectPolicyDrop, []string{"zt_np.log"}, "testdata/zt_np_config.yaml")
	if len(got) != 1 {
		t.Fatalf("want one finding for the HBONE timeouts toward backend (none for the plain-TCP timeout to legacy, which no policy isolates, nor for the reset), got %d: %+v", len(got), got)
	}
	f := got[0]
	if want := "testdata/zt_np_config.yaml:35 testdata/zt_np.log:1 testdata/zt_np.log:3"; locations(f) != want || f.Subject.String() != "NetworkPolicy/shop/backend-ingress" {
		t.Errorf("subject %s locations %q, want NetworkPolicy/shop/backend-ingress at its podSelector and the two timeout lines: %q", f.Subject, locations(f), want)
	}
	for _, want := range []string{"2 connections through ztunnel toward backend.shop.svc.cluster.local", "HBONE connects to 10.244.2.20:15008 timed out", "the ingress policy of Pod/shop/backend-1 drops connections from Pod/shop/frontend-1 on port 15008", "admits the application's port 8080", "isolated by NetworkPolicy/shop/backend-ingress .spec.podSelector, and no rule admits it"} {
		if !strings.Contains(f.Message, want) {
			t.Errorf("message lacks %q: %s", want, f.Message)
		}
	}
	if !strings.Contains(f.Remedy, "Admit TCP 15008") {
		t.Errorf("remedy: %s", f.Remedy)
	}
	if got := runJoin(t, proxylog.ZtunnelConnectPolicyDrop, []string{"zt_np.log"}, "testdata/zt_np_config_fixed.yaml"); len(got) != 0 {
		t.Errorf("15008 admitted: want no finding, got %+v", got)
	}
	// The source's egress policy admits backend on 8080 only.
	got = runJoin(t, proxylog.ZtunnelConnectPolicyDrop, []string{"zt_np.log"}, "testdata/zt_np_egress_config.yaml")
	if len(got) != 1 || got[0].Subject.String() != "NetworkPolicy/shop/frontend-egress" || locations(got[0]) != "testdata/zt_np_egress_config.yaml:35 testdata/zt_np.log:1 testdata/zt_np.log:3" {
		t.Fatalf("egress: want one finding on frontend-egress's podSelector, got %+v", got)
	}
	if w := "the egress policy of Pod/shop/frontend-1 drops its connections to Pod/shop/backend-1 on port 15008"; !strings.Contains(got[0].Message, w) {
		t.Errorf("egress: message lacks %q: %s", w, got[0].Message)
	}
}

func TestJoinZtunnelAuthz(t *testing.T) {
	got := runJoin(t, proxylog.ZtunnelAuthzRejection, []string{"zt_authz.log"}, "testdata/zt_authz_config.yaml")
	want := map[string]string{
		// "allow policies exist, but none allowed": both rules of the ALLOW
		// policy, the second because ztunnel never sees its HTTP method
		"AuthorizationPolicy/shop/backend-allow": "testdata/zt_authz_config.yaml:35 testdata/zt_authz_config.yaml:38 testdata/zt_authz.log:1",
		// "explicitly denied by: shop/ratings-deny": its matching rule
		"AuthorizationPolicy/shop/ratings-deny": "testdata/zt_authz_config.yaml:53 testdata/zt_authz.log:2",
	}
	if len(got) != len(want) {
		t.Fatalf("want %d findings (none for reviews, whose ALLOW policy admits the caller now, nor for the STRICT or 401 lines), got %d: %+v", len(want), len(got), got)
	}
	for _, f := range got {
		if locs, ok := want[f.Subject.String()]; !ok || locations(f) != locs {
			t.Errorf("%s: locations %q, want %q", f.Subject, locations(f), locs)
		}
		switch f.Subject.String() {
		case "AuthorizationPolicy/shop/backend-allow":
			for _, w := range []string{"ALLOW policy AuthorizationPolicy/shop/backend-allow applies to the workload and does not admit the connection", `rule 0: from: principals requires ["cluster.local/ns/shop/sa/web"] (the peer is cluster.local/ns/shop/sa/frontend)`, "rule 1: it matches HTTP attributes (methods)"} {
				if !strings.Contains(f.Message, w) {
					t.Errorf("backend: message lacks %q: %s", w, f.Message)
				}
			}
			for _, w := range []string{`from.source.principals: ["cluster.local/ns/shop/sa/frontend"]`, "enforced only by a waypoint"} {
				if !strings.Contains(f.Remedy, w) {
					t.Errorf("backend: remedy lacks %q: %s", w, f.Remedy)
				}
			}
		case "AuthorizationPolicy/shop/ratings-deny":
			if !strings.Contains(f.Message, "DENY policy AuthorizationPolicy/shop/ratings-deny applies to the workload and its rule 0 matches the connection") {
				t.Errorf("ratings: message %s", f.Message)
			}
		}
	}
	if got := runJoin(t, proxylog.ZtunnelAuthzRejection, []string{"zt_authz.log"}, "testdata/zt_authz_config_fixed.yaml"); len(got) != 0 {
		t.Errorf("frontend admitted on port 8080, the DENY narrowed: want no finding, got %+v", got)
	}
	for _, log := range []string{"zt_np.log", "zt_strict.log"} {
		if got := runJoin(t, proxylog.ZtunnelAuthzRejection, []string{log}, "testdata/zt_authz_config.yaml"); len(got) != 0 {
			t.Errorf("%s: no AuthorizationPolicy rejection: want no finding, got %+v", log, got)
		}
	}
}

func TestJoinZtunnelStrict(t *testing.T) {
	got := runJoin(t, proxylog.ZtunnelStrictPlaintext, []string{"zt_strict.log"}, "testdata/zt_strict_config.yaml")
	want := map[string]string{
		// mesh-wide STRICT: istio_converted_static_strict
		"PeerAuthentication/istio-system/default": "testdata/zt_strict_config.yaml:14 testdata/zt_strict.log:1",
		// STRICT on port 9443 only: line 3 (port 8080, PERMISSIVE) is
		// not explained by this config and is left out
		"PeerAuthentication/shop/payments": "testdata/zt_strict_config.yaml:26 testdata/zt_strict.log:2",
	}
	if len(got) != len(want) {
		t.Fatalf("want %d findings, got %d: %+v", len(want), len(got), got)
	}
	for _, f := range got {
		if locs, ok := want[f.Subject.String()]; !ok || locations(f) != locs {
			t.Errorf("%s: locations %q, want %q", f.Subject, locations(f), locs)
		}
		for _, w := range []string{"Pod/legacy/legacy-client-1 (dataplane none: no istio-proxy container)", "sets mTLS STRICT for that port"} {
			if !strings.Contains(f.Message, w) {
				t.Errorf("%s: message lacks %q: %s", f.Subject, w, f.Message)
			}
		}
		if f.Subject.String() == "PeerAuthentication/shop/payments" && !strings.Contains(f.Message, "does not explain the group's other sample line (testdata/zt_strict.log:3)") {
			t.Errorf("payments: the port-8080 sample is not explained and must be named as such: %s", f.Message)
		}
	}
	if got := runJoin(t, proxylog.ZtunnelStrictPlaintext, []string{"zt_strict.log"}, "testdata/zt_strict_config_fixed.yaml"); len(got) != 0 {
		t.Errorf("PERMISSIVE: want no finding, got %+v", got)
	}
	// The authorization and network-policy logs hold no plaintext
	// rejection by a STRICT PeerAuthentication this config explains.
	for _, log := range []string{"zt_np.log", "zt_authz.log"} {
		if got := runJoin(t, proxylog.ZtunnelStrictPlaintext, []string{log}, "testdata/zt_strict_config_fixed.yaml"); len(got) != 0 {
			t.Errorf("%s: want no finding, got %+v", log, got)
		}
	}
}

// TestFailureGroupZtunnelNextSteps: a ztunnel group's next steps are the
// knowledge base's for its error, not Envoy's proxy-config.
func TestFailureGroupZtunnelNextSteps(t *testing.T) {
	got := run(t, logSnapshot(t, []string{"zt_np.log"}), proxylog.FailureGroup)
	if len(got) != 3 {
		t.Fatalf("want the HBONE timeout, TCP timeout and reset groups, got %d: %+v", len(got), got)
	}
	for _, f := range got {
		if strings.Contains(f.Remedy, "proxy-config") || !strings.Contains(f.Remedy, "kubectl logs -n istio-system -l app=ztunnel") {
			t.Errorf("%s: remedy %s", f.Key, f.Remedy)
		}
	}
}
