package istio

import (
	"fmt"
	"strings"

	secv1beta1 "istio.io/api/security/v1beta1"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// AuthzMethodNeverMatches reports AuthorizationPolicy methods written in a
// case no request uses (Kiali's KIA0102, narrowed to what is certain).
var AuthzMethodNeverMatches = &analysis.Analyzer{
	Code:     "MD318",
	Name:     "authz-method-never-matches",
	Severity: analysis.Warning,
	Summary:  "An AuthorizationPolicy lists an HTTP method in lower or mixed case (\"get\"): methods are matched exactly and case-sensitively against the request's :method, which clients send upper-case, so the value never matches — a DENY rule then denies nothing, a notMethods entry excludes nothing.",
	Doc:      doc("MD318"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindAuthzPolicy)},
	Reads:    policySpecReads(),
	Run:      runAuthzMethods,
}

// standardMethods are the methods of RFC 9110 and PATCH (RFC 5789): the
// ones a lower-case spelling certainly meant. Other tokens (WebDAV's
// PROPFIND, custom verbs) are legal methods and left alone.
var standardMethods = map[string]bool{
	"GET": true, "HEAD": true, "POST": true, "PUT": true, "DELETE": true,
	"CONNECT": true, "OPTIONS": true, "TRACE": true, "PATCH": true,
}

func runAuthzMethods(p *analysis.Pass) error {
	for _, o := range p.Snapshot.List(snapshot.KindAuthzPolicy) {
		ap := authzPolicy(o)
		if ap == nil {
			continue
		}
		for i, r := range ap.GetRules() {
			for j, to := range r.GetTo() {
				op := to.GetOperation()
				for _, field := range []struct {
					name   string
					values []string
				}{{"methods", op.GetMethods()}, {"notMethods", op.GetNotMethods()}} {
					for k, m := range field.values {
						if upper := strings.ToUpper(m); m != upper && standardMethods[upper] {
							reportMethodCase(p, o, ap.GetAction(), snapshot.P("spec", "rules", i, "to", j, "operation", field.name, k), field.name, m, upper)
						}
					}
				}
			}
		}
	}
	return nil
}

func reportMethodCase(p *analysis.Pass, o *snapshot.Object, action secv1beta1.AuthorizationPolicy_Action, at snapshot.Path, field, m, upper string) {
	effect := ""
	severity := analysis.Warning
	switch {
	case field == "notMethods":
		effect = fmt.Sprintf("no request has method %q, so this notMethods entry excludes nothing: the rule applies to %s requests too", m, upper)
		if action == secv1beta1.AuthorizationPolicy_DENY {
			severity = analysis.Error
			effect += ", and they are denied"
		}
	case action == secv1beta1.AuthorizationPolicy_DENY:
		severity = analysis.Error
		effect = fmt.Sprintf("no request has method %q, so the DENY rule never denies %s requests", m, upper)
	case action == secv1beta1.AuthorizationPolicy_AUDIT:
		effect = fmt.Sprintf("no request has method %q, so %s requests are never audited by this rule", m, upper)
	default:
		effect = fmt.Sprintf("no request has method %q, so %s requests are not allowed by this rule (denied, if no other rule allows them)", m, upper)
	}
	p.Report(analysis.Finding{
		Severity:  severity,
		Subject:   o.Key,
		Message:   fmt.Sprintf("%s %s lists %q: Envoy matches the request's :method exactly and case-sensitively, and clients send %s; %s.", o.Ref(), at, m, upper, effect),
		Locations: []analysis.Location{analysis.LocationOf(o, at)},
		Evidence:  []string{fmt.Sprintf("%s: %q (action %s)", at, m, action)},
		Remedy:    fmt.Sprintf("Write the method upper-case: %s: [%q].", field, upper),
		Key:       at.String(),
	})
}
