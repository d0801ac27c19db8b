package istio_test

import (
	"slices"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
)

// TestSecurityFixSeverity: a jwtRule without issuer is an Error only for an
// istiod older than 1.27 (Info when no version is known, nothing from 1.27
// on; a rule with neither issuer nor jwksUri is always an Error); MD306 is
// Info for ALLOW rules and a Warning for DENY rules; on ambient workloads a
// DENY on JWT attributes is an Error and an ALLOW a Warning.
func TestSecurityFixSeverity(t *testing.T) {
	sev := func(file, code string) []analysis.Severity { return severities(t, file, code) }
	for _, c := range []struct {
		file, code string
		want       []analysis.Severity
	}{
		{"testdata/seccheck_jwtissuer_positive.yaml", "MD010", []analysis.Severity{analysis.Error, analysis.Error}},
		{"testdata/seccheck_mtls_positive.yaml", "MD306", []analysis.Severity{analysis.Info, analysis.Warning}},
		{"testdata/seccheck_ambient_positive.yaml", "MD307", []analysis.Severity{analysis.Error, analysis.Warning}},
	} {
		got := sev(c.file, c.code)
		slices.Sort(got)
		slices.Sort(c.want)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s %s: %v, want %v", c.file, c.code, got, c.want)
		}
	}
	infos := 0
	for _, s := range sev("testdata/schemacheck_kinds_positive.yaml", "MD010") {
		if s == analysis.Info {
			infos++
		}
	}
	if infos != 1 {
		t.Errorf("MD010 without istiod version: %d Info findings, want 1 (the jwtRule with only jwksUri)", infos)
	}
}
