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

func TestExportOverlap(t *testing.T) {
	for _, c := range []struct {
		a, b     []string
		nsA, nsB string
		want     bool
	}{
		{nil, nil, "a", "b", true},
		{[]string{"."}, []string{"."}, "a", "b", false},
		{[]string{"."}, []string{"."}, "a", "a", true},
		{[]string{"."}, nil, "a", "b", true},
		{[]string{"~"}, nil, "a", "b", false},
		{[]string{".", "c"}, []string{"c"}, "a", "b", true},
		{[]string{"*"}, []string{"x"}, "a", "b", true},
	} {
		if got := exportsOf(c.a, c.nsA).overlaps(exportsOf(c.b, c.nsB)); got != c.want {
			t.Errorf("%v@%s vs %v@%s: %v, want %v", c.a, c.nsA, c.b, c.nsB, got, c.want)
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
