package istio

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analysis/analysistest"
	"github.com/meshdoctor/meshdoctor/internal/kb"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/version"
)

func TestServerFirst(t *testing.T) {
	str := func(s string) *string { return &s }
	for _, c := range []struct {
		name  string
		port  int32
		tp    intstr.IntOrString
		app   *string
		l4    corev1.Protocol
		proto string // "" when not server-first
	}{
		{"submission", 587, intstr.IntOrString{}, nil, "", "SMTP submission"},
		{"mail", 2525, intstr.FromInt32(25), nil, "", "SMTP"},
		{"smtp", 25, intstr.IntOrString{}, nil, "", ""},         // Istio: TCP already
		{"tcp-mail", 2525, intstr.FromInt32(25), nil, "", ""},   // declared
		{"db", 13306, intstr.FromInt32(3306), nil, "", "MySQL"}, // sniffed port, MySQL behind
		{"db", 3306, intstr.IntOrString{}, nil, "", ""},         // TCP by Istio's rule
		{"x", 9000, intstr.IntOrString{}, str("nats"), "", "NATS"},
		{"nats", 4222, intstr.IntOrString{}, str("tcp"), "", ""}, // appProtocol wins
		{"imaps", 993, intstr.IntOrString{}, nil, "", ""},        // TLS: client first
		{"imap-tls", 993, intstr.IntOrString{}, nil, "", ""},     // TLS-wrapped
		{"imap", 993, intstr.IntOrString{}, nil, "", ""},         // IMAPS port
		{"smtp-ssl", 2465, intstr.IntOrString{}, nil, "", ""},    // TLS-wrapped
		{"mail", 2465, intstr.FromInt32(465), nil, "", ""},       // SMTPS behind
		{"pop3s", 1995, intstr.IntOrString{}, nil, "", ""},       // TLS-wrapped
		{"nats", 14222, intstr.IntOrString{}, nil, "", "NATS"},   // a trailing s that is not TLS
		{"postgres", 5432, intstr.IntOrString{}, nil, "", ""},    // client first
		{"ftp-data", 2121, intstr.IntOrString{}, nil, "", "FTP"},
		{"vnc", 5900, intstr.IntOrString{}, nil, corev1.ProtocolUDP, ""},
		{"client", 4222, intstr.FromString("client"), nil, "", "NATS"},
	} {
		sp := corev1.ServicePort{Name: c.name, Port: c.port, TargetPort: c.tp, AppProtocol: c.app, Protocol: c.l4}
		p := svcPort{SP: sp, Proto: kb.ServicePortProtocol(sp.Port, sp.Name, string(sp.Protocol), sp.AppProtocol)}
		got, why, ok := p.serverFirst()
		if got != c.proto || ok != (c.proto != "") || ok && why == "" {
			t.Errorf("%s/%d: got %q (%v, %q), want %q", c.name, c.port, got, ok, why, c.proto)
		}
	}
}

func TestDRHostWildcards(t *testing.T) {
	for h, want := range map[string]bool{"*": true, "*.local": true, "*.cluster.local": true, "*.svc.cluster.local": true, "*.ns.svc.cluster.local": false, "*.example.com": false} {
		if meshWideHost(h) != want {
			t.Errorf("meshWideHost(%s) != %v", h, want)
		}
	}
	suffixes := map[string]bool{".payments.example.com": true, ".example.com": true, ".com": true}
	wild := map[string][]*Entry{"*.googleapis.com": nil}
	for w, want := range map[string]bool{"*.example.com": true, "*.payments.example.com": true, "*.partner.io": false, "*.storage.googleapis.com": true, "*.com": true} {
		if got := wildcardKnown(w, suffixes, wild); got != want {
			t.Errorf("wildcardKnown(%s) = %v, want %v", w, got, want)
		}
	}
}

// run analyzes one file with the given analyzers and returns findings and
// not-checked notes by code.
func run(t *testing.T, file string, as ...*analysis.Analyzer) ([]analysis.Finding, map[string]string) {
	t.Helper()
	res := analysis.Run(context.Background(), analysistest.Load(t, file), analysis.RunConfig{Analyzers: as})
	notes := map[string]string{}
	for _, n := range res.NotChecked {
		notes[n.Code] += n.Reason + "\n"
	}
	return res.Findings, notes
}

// TestAllocationUnknown: with DNS capture on and no istiod in the input,
// an entry without an allocated address is not judged; one whose status
// shows an address is fine; one opted out of allocation is reported.
func TestAllocationUnknown(t *testing.T) {
	fs, notes := run(t, "testdata/svccheck/dnscapture_unknown_istiod.yaml", SEAddressesRequired)
	if len(fs) != 1 || fs[0].Subject.Name != "opted-out" {
		t.Errorf("findings: %+v, want one on opted-out", fs)
	}
	if n := notes["MD236"]; !strings.Contains(n, "ServiceEntry/shop/cache") || strings.Contains(n, "orders-db") {
		t.Errorf("MD236 notes %q: want cache only", n)
	}
}

func TestServiceSeverities(t *testing.T) {
	fs, _ := run(t, "testdata/svccheck_se_positive.yaml", SEAddressesRequired)
	sev := map[string]analysis.Severity{}
	for _, f := range fs {
		sev[f.Subject.Name] = f.Severity
	}
	if sev["orders-db"] != analysis.Warning || sev["kafka-any"] != analysis.Info {
		t.Errorf("MD236 severities %v: want DNS warning, NONE info", sev)
	}
}

// TestUnknownNamespacesNotJudged: workloads, Services and hosts of
// namespaces the input lacks are noted, not reported.
func TestUnknownNamespacesNotJudged(t *testing.T) {
	_, notes := run(t, "testdata/svccheck_multiservice_negative.yaml", MultiServiceProtocolConflict)
	if !strings.Contains(notes["MD233"], "Deployment/ops/agent") {
		t.Errorf("MD233 notes %q lack Deployment/ops/agent", notes["MD233"])
	}
	_, notes = run(t, "testdata/svccheck_drhost_negative.yaml", DRHostUnknown)
	if !strings.Contains(notes["MD241"], "no Services of namespace other") {
		t.Errorf("MD241 notes %q lack namespace other", notes["MD241"])
	}
	_, notes = run(t, "testdata/svccheck_se_positive.yaml", SEHTTPOnTLSPort)
	if !strings.Contains(notes["MD238"], "no DestinationRules") {
		t.Errorf("MD238 notes %q: want a note on the missing DestinationRules", notes["MD238"])
	}
}

func TestEachWildcardCover(t *testing.T) {
	for h, want := range map[string]string{
		"api.example.com": "*.example.com *.com *",
		"*.example.com":   "*.example.com *.com *",
		"*":               "*",
		"localhost":       "*",
	} {
		var got []string
		eachWildcardCover(h, func(w string) bool { got = append(got, w); return true })
		if strings.Join(got, " ") != want {
			t.Errorf("eachWildcardCover(%s) = %v, want %s", h, got, want)
		}
	}
}

func TestExternalNameListeners(t *testing.T) {
	v := func(s string) version.V { return version.MustParse(s) }
	for _, c := range []struct {
		name      string
		ver       string
		env       map[string]string
		listeners bool
		known     bool
	}{
		{"1.19", "1.19.3", nil, true, true},
		{"1.19 with the flag (not yet there)", "1.19.3", map[string]string{externalNameAliasEnv: "true"}, true, true},
		{"1.20 default off", "1.20.8", nil, true, true},
		{"1.20 opted in", "1.20.8", map[string]string{externalNameAliasEnv: "true"}, false, true},
		{"1.22 default on", "1.22.1", nil, false, true},
		{"1.22 opted out", "1.22.1", map[string]string{externalNameAliasEnv: "false"}, true, true},
		{"1.24 flag removed", "1.24.2", map[string]string{externalNameAliasEnv: "false"}, false, true},
		{"unknown version, opted out", "", map[string]string{externalNameAliasEnv: "false"}, true, true},
		{"unknown", "", nil, false, false},
	} {
		d := istiodInfo{obj: &snapshot.Object{}, env: c.env}
		if c.ver != "" {
			d.version, d.known = v(c.ver), true
		}
		l, known, why := externalNameListeners(d)
		if l != c.listeners || known != c.known || known && why == "" {
			t.Errorf("%s: listeners %v known %v (%q), want %v %v", c.name, l, known, why, c.listeners, c.known)
		}
	}
	fs, notes := run(t, "testdata/svccheck/extname_no_istiod.yaml", ExternalNamePortCatchAll)
	if len(fs) != 0 || !strings.Contains(notes["MD231"], "Service/shop/orders-db") {
		t.Errorf("without istiod: findings %v, notes %q; want a not-checked note only", fs, notes["MD231"])
	}
}

// TestNoneWithSelector: resolution NONE with a workloadSelector gets
// per-endpoint listeners, not 0.0.0.0:<port>.
func TestNoneWithSelector(t *testing.T) {
	fs, _ := run(t, "testdata/svccheck/none_selector.yaml", SEAddressesRequired)
	if len(fs) != 1 || fs[0].Subject.Name != "any-db" || fs[0].Severity != analysis.Info {
		t.Errorf("findings %+v: want one info on any-db", fs)
	}
}

// TestHeadlessRemedyKeepsServicesConsistent: when another Service declares
// the container port HTTP, MD234 does not advise tcp-… (which MD233 would
// then report) but an undeclared port, naming that Service.
func TestHeadlessRemedyKeepsServicesConsistent(t *testing.T) {
	fs, _ := run(t, "testdata/svccheck/headless_shared_port.yaml", HeadlessHTTPStrict)
	if len(fs) != 1 {
		t.Fatalf("findings %+v: want one", fs)
	}
	if r := fs[0].Remedy; !strings.Contains(r, "Service/data/es ") || !strings.Contains(r, "undeclared") || strings.Contains(r, "name tcp-") {
		t.Errorf("remedy %q: want the undeclared-port advice naming Service/data/es", r)
	}
}

func TestServiceMessages(t *testing.T) {
	fs, _ := run(t, "testdata/svccheck_ports_positive.yaml", ServicePortProtocolUnknown)
	for _, f := range fs {
		if strings.Contains(f.Message, "treated as TCP") || !strings.Contains(f.Message, "stalls") {
			t.Errorf("MD230 message %q: a server-first protocol stalls, it is not treated as TCP", f.Message)
		}
	}
	sev := func(file string, a *analysis.Analyzer) []analysis.Severity {
		fs, _ := run(t, file, a)
		var out []analysis.Severity
		for _, f := range fs {
			out = append(out, f.Severity)
		}
		return out
	}
	for file, want := range map[string]analysis.Severity{
		"testdata/svccheck_setls_positive.yaml":              analysis.Info,
		"testdata/svccheck_setls_registryonly_positive.yaml": analysis.Warning,
		"testdata/svccheck_setls_dnscapture_positive.yaml":   analysis.Warning,
	} {
		if got := sev(file, SEHTTPOnTLSPort); len(got) != 1 || got[0] != want {
			t.Errorf("MD238 in %s: %v, want one %s", file, got, want)
		}
	}
	got := map[string]analysis.Severity{}
	fs, _ = run(t, "testdata/svccheck_multiservice_positive.yaml", MultiServiceProtocolConflict)
	for _, f := range fs {
		got[f.Subject.Name] = f.Severity
	}
	if len(got) != 2 || got["api"] != analysis.Warning || got["store"] != analysis.Info {
		t.Errorf("MD233 severities %v: want HTTP/TCP warning on api, sniffed/TCP info on store, nothing on cart", got)
	}
}
