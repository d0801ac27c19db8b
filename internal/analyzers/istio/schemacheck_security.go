package istio

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	secv1beta1 "istio.io/api/security/v1beta1"
	typev1beta1 "istio.io/api/type/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/version"
)

// checkBetaSelector is validation.validateWorkloadSelector (selector.matchLabels
// of security and telemetry policies).
func checkBetaSelector(s issueSink, at snapshot.Path, l map[string]string, what string) {
	checkSelectorLabels(s, at, "matchLabels", "validateWorkloadSelector", l,
		fmt.Sprintf("the selector has no matchLabels, so the %s applies to every workload in its namespace", what), "selector: {}",
		"Add matchLabels for the workloads meant, or remove selector to make the namespace-wide intent explicit.")
}

// checkPolicyTarget is validation.validateOneOfSelectorType and the
// name/namespace part of validatePolicyTargetReference.
func checkPolicyTarget(s issueSink, spec snapshot.Path, sel *typev1beta1.WorkloadSelector, ref *typev1beta1.PolicyTargetReference, refs []*typev1beta1.PolicyTargetReference, what string) {
	set := 0
	if sel != nil {
		set++
		checkBetaSelector(s, spec.Child("selector"), sel.GetMatchLabels(), what)
	}
	if ref != nil {
		set++
	}
	if len(refs) > 0 {
		set++
	}
	if set > 1 {
		s.err(spec, "selector-and-target", "validateOneOfSelectorType", "only one of selector, targetRef and targetRefs may be set", "several set", "Keep selector (sidecars) or targetRefs (gateways and waypoints), not both.")
	}
	all := refs
	paths := make([]snapshot.Path, len(refs))
	for i := range refs {
		paths[i] = spec.Child("targetRefs", i)
	}
	if ref != nil {
		all = append([]*typev1beta1.PolicyTargetReference{ref}, refs...)
		paths = append([]snapshot.Path{spec.Child("targetRef")}, paths...)
	}
	for i, r := range all {
		if r.GetName() == "" {
			s.err(paths[i], "target-name", "validatePolicyTargetReference", "a targetRef needs a name", "name missing", "Name the Gateway, Service or ServiceEntry the policy attaches to.")
		}
		if r.GetNamespace() != "" {
			s.err(paths[i].Child("namespace"), "target-namespace", "validatePolicyTargetReference", "targetRef namespace must not be set: cross-namespace references are not supported", r.GetNamespace(), "Remove namespace and put the policy in the target's namespace.")
		}
	}
}

// validateAuthorizationPolicyObj follows validation.ValidateAuthorizationPolicy.
func validateAuthorizationPolicyObj(s issueSink) {
	ap, ok := s.obj.Typed.(*securityv1.AuthorizationPolicy)
	if !ok {
		return
	}
	in := &ap.Spec
	spec := snapshot.P("spec")
	const up = "ValidateAuthorizationPolicy"
	checkPolicyTarget(s, spec, in.GetSelector(), in.GetTargetRef(), in.GetTargetRefs(), "AuthorizationPolicy")
	action := in.GetAction()
	if action == secv1beta1.AuthorizationPolicy_CUSTOM {
		if in.GetRules() == nil {
			s.err(spec, "custom-no-rules", up, "a CUSTOM policy without rules is never triggered", "action CUSTOM, rules missing", "Add the rules that select the requests to send to the provider, or rules: [{}] for every request.")
		} else if in.GetProvider().GetName() == "" {
			s.err(spec.Child("action"), "custom-no-provider", up, "a CUSTOM policy needs provider.name (an extensionProviders entry of MeshConfig)", "action CUSTOM, provider.name missing", "Set provider: {name: <extension provider>}.")
		}
		for i, r := range in.GetRules() {
			for j, f := range r.GetFrom() {
				for _, l := range sourceLists(f.GetSource()) {
					if l.identity && len(l.v) > 0 {
						s.err(spec.Child("rules", i, "from", j, "source", l.name), "custom-source", up, fmt.Sprintf("from.source.%s is not supported with the CUSTOM action", l.name), l.name, "Match CUSTOM requests on ipBlocks, to and when fields, and check identities in the external authorizer.")
					}
				}
			}
			for j, w := range r.GetWhen() {
				k := w.GetKey()
				if k == "source.namespace" || k == "source.serviceAccount" || k == "source.principal" || strings.HasPrefix(k, "request.auth.") {
					s.err(spec.Child("rules", i, "when", j, "key"), "custom-when", up, fmt.Sprintf("when key %q is not supported with the CUSTOM action", k), k, "Check identities in the external authorizer.")
				}
			}
		}
	}
	if in.GetProvider() != nil && action != secv1beta1.AuthorizationPolicy_CUSTOM {
		s.err(spec.Child("provider"), "provider-not-custom", up, fmt.Sprintf("provider may be set only with action CUSTOM, not %s", action), action.String(), "Set action: CUSTOM, or remove provider.")
	}
	if action == secv1beta1.AuthorizationPolicy_DENY && in.GetRules() == nil {
		s.err(spec, "deny-no-rules", up, "a DENY policy without rules is never triggered", "action DENY, rules missing", "Add the rules to deny, or rules: [{}] to deny every request.")
	}
	for i, r := range in.GetRules() {
		rat := spec.Child("rules", i)
		fromExist, toExist, tcpFrom, tcpTo := false, false, false, false
		for j, f := range r.GetFrom() {
			fat := rat.Child("from", j)
			src := f.GetSource()
			if src == nil {
				s.err(fat, "from-no-source", up, "a from entry needs a source", "source missing", "Add source: {...} with the callers to match, or remove the empty entry.")
				continue
			}
			fromExist = true
			empty := true
			identities, accounts := 0, 0
			for _, l := range sourceLists(src) {
				if len(l.v) == 0 {
					continue
				}
				empty = false
				switch l.name {
				case "serviceAccounts", "notServiceAccounts":
					accounts++
					checkServiceAccounts(s, fat.Child("source", l.name), l.v, "security.CheckServiceAccount")
				default:
					checkStringList(s, fat.Child("source", l.name), l.v, l.ips)
				}
				switch l.name {
				case "principals", "notPrincipals", "namespaces", "notNamespaces":
					identities++
				}
				if l.tcp {
					tcpFrom = true
				}
			}
			if empty {
				s.err(fat.Child("source"), "from-empty", up, "from.source sets no field, so it matches nothing", "source: {}", "Add the callers to match (principals, namespaces, serviceAccounts, ipBlocks, ...) or remove the entry.")
			}
			if identities > 0 && accounts > 0 {
				s.err(fat.Child("source"), "from-sa-mixed", up, "serviceAccounts cannot be combined with namespaces or principals in one source", "serviceAccounts and namespaces/principals both set", "Use separate from entries (or rules), or express the service accounts as principals (cluster.local/ns/<ns>/sa/<name>).")
			}
		}
		for j, t := range r.GetTo() {
			tat := rat.Child("to", j)
			op := t.GetOperation()
			if op == nil {
				s.err(tat, "to-no-operation", up, "a to entry needs an operation", "operation missing", "Add operation: {...} with the requests to match, or remove the empty entry.")
				continue
			}
			toExist = true
			lists := []struct {
				name string
				v    []string
			}{{"ports", op.GetPorts()}, {"methods", op.GetMethods()}, {"paths", op.GetPaths()}, {"hosts", op.GetHosts()}, {"notPorts", op.GetNotPorts()}, {"notMethods", op.GetNotMethods()}, {"notPaths", op.GetNotPaths()}, {"notHosts", op.GetNotHosts()}}
			empty := true
			for _, l := range lists {
				if len(l.v) > 0 {
					empty = false
					checkStringList(s, tat.Child("operation", l.name), l.v, false)
				}
			}
			if empty {
				s.err(tat.Child("operation"), "to-empty", up, "to.operation sets no field, so it matches nothing", "operation: {}", "Add the requests to match (ports, methods, paths, hosts) or remove the entry.")
			}
			for _, f := range []string{"ports", "notPorts"} {
				list := op.GetPorts()
				if f == "notPorts" {
					list = op.GetNotPorts()
				}
				for k, p := range list {
					if p != "" && portValueProblem(p) != "" {
						s.err(tat.Child("operation", f, k), "to-port", "security.ValidatePorts", fmt.Sprintf("%q is not a port number", p), p, "Use port numbers as strings, e.g. \"8080\".")
					}
				}
			}
			for _, f := range []string{"paths", "notPaths"} {
				list := op.GetPaths()
				if f == "notPaths" {
					list = op.GetNotPaths()
				}
				for k, p := range list {
					if msg := pathTemplateProblem(p); msg != "" {
						s.err(tat.Child("operation", f, k), "path-template", "security.CheckValidPathTemplate", msg, p, "Use {*} for one path segment and {**} for any number of them (last only), each as a whole segment; other segments are literal path characters, e.g. /api/{*}/items/{**}.")
					}
				}
			}
			if len(op.GetPorts()) > 0 || len(op.GetNotPorts()) > 0 {
				tcpTo = true
			}
		}
		for j, w := range r.GetWhen() {
			wat := rat.Child("when", j)
			switch {
			case w.GetKey() == "":
				s.err(wat, "when-key", up, "a when condition needs a key", "key missing", "Set key, e.g. request.headers[x-token].")
			case len(w.GetValues()) == 0 && len(w.GetNotValues()) == 0:
				s.err(wat, "when-values", up, fmt.Sprintf("when condition %q has neither values nor notValues", w.GetKey()), w.GetKey(), "Add values or notValues.")
			default:
				checkWhenCondition(s, wat, w.GetKey(), w.GetValues(), w.GetNotValues())
			}
		}
		if action == secv1beta1.AuthorizationPolicy_DENY && ((fromExist && !toExist && !tcpFrom) || (toExist && !tcpTo)) {
			s.warn(rat, "deny-http-only", up, "this DENY rule uses only HTTP attributes, which TCP traffic does not have, so on TCP ports it denies every connection", "DENY rule without ports (to) or TCP source fields (from)", "Add to.operation.ports to limit the rule to the HTTP ports, or use TCP attributes.")
		}
	}
}

// checkStringList is security.CheckEmptyValues, plus security.ValidateIPs
// for address lists.
func checkStringList(s issueSink, at snapshot.Path, v []string, ips bool) {
	for i, x := range v {
		if x == "" {
			s.err(at.Child(i), "empty-value", "security.CheckEmptyValues", "an empty value is not allowed", `""`, "Remove the empty entry.")
			continue
		}
		if ips {
			if err := validateIPOrCIDR(x); err != nil {
				s.err(at.Child(i), "ip-block", "security.ValidateIPs", err.Error(), x, "Use an IP address or a CIDR range such as 10.0.0.0/8.")
			}
		}
	}
}

// validatePeerAuthenticationObj follows validation.ValidatePeerAuthentication.
func validatePeerAuthenticationObj(s issueSink) {
	pa, ok := s.obj.Typed.(*securityv1.PeerAuthentication)
	if !ok {
		return
	}
	spec := snapshot.P("spec")
	const up = "ValidatePeerAuthentication"
	noSelector := pa.Spec.GetSelector() == nil || len(pa.Spec.GetSelector().GetMatchLabels()) == 0
	if noSelector && len(pa.Spec.GetPortLevelMtls()) > 0 {
		s.err(spec.Child("portLevelMtls"), "port-mtls-no-selector", up, "portLevelMtls needs a workload selector: mesh- and namespace-wide PeerAuthentications cannot set port-level mTLS", "selector missing or without matchLabels", "Add selector.matchLabels for the workload whose ports differ, or move the port settings to a workload PeerAuthentication.")
	}
	ports := pa.Spec.GetPortLevelMtls()
	keys := make([]int, 0, len(ports))
	for p := range ports {
		keys = append(keys, int(p))
	}
	for _, p := range sortInts(keys) {
		if !validPort(int64(p)) {
			s.err(spec.Child("portLevelMtls", strconv.Itoa(p)), "port", up, fmt.Sprintf("port %d is outside 1–65535", p), strconv.Itoa(p), "Use the workload's container port.")
		}
	}
	if pa.Spec.GetSelector() != nil {
		checkBetaSelector(s, spec.Child("selector"), pa.Spec.GetSelector().GetMatchLabels(), "PeerAuthentication")
	}
}

// validateRequestAuthenticationObj follows
// validation.ValidateRequestAuthentication and validateJwtRule.
func validateRequestAuthenticationObj(s issueSink) {
	ra, ok := s.obj.Typed.(*securityv1.RequestAuthentication)
	if !ok {
		return
	}
	spec := snapshot.P("spec")
	checkPolicyTarget(s, spec, ra.Spec.GetSelector(), ra.Spec.GetTargetRef(), ra.Spec.GetTargetRefs(), "RequestAuthentication")
	const up = "validateJwtRule"
	for i, r := range ra.Spec.GetJwtRules() {
		at := spec.Child("jwtRules", i)
		if r.GetIssuer() == "" {
			checkJwtIssuer(s, at, r.GetJwksUri())
		}
		for j, a := range r.GetAudiences() {
			if a == "" {
				s.err(at.Child("audiences", j), "jwt-audience", up, "an audience cannot be empty", `""`, "Remove the empty entry.")
			}
		}
		if u := r.GetJwksUri(); u != "" {
			if msg := jwksURIProblem(u); msg != "" {
				s.err(at.Child("jwksUri"), "jwks-uri", "security.ParseJwksURI", msg, u, "Use an http:// or https:// URL of the issuer's JWKS, e.g. https://accounts.example.com/.well-known/jwks.json.")
			}
		}
		for j, h := range r.GetFromHeaders() {
			if h.GetName() == "" {
				s.err(at.Child("fromHeaders", j), "jwt-from-header", up, "a fromHeaders entry needs a header name", "name missing", "Set name, e.g. Authorization.")
			}
		}
		for j, p := range r.GetFromParams() {
			if p == "" {
				s.err(at.Child("fromParams", j), "jwt-from-param", up, "a fromParams entry cannot be empty", `""`, "Remove the empty entry.")
			}
		}
		for j, c := range r.GetFromCookies() {
			if c == "" {
				s.err(at.Child("fromCookies", j), "jwt-from-cookie", up, "a fromCookies entry cannot be empty", `""`, "Remove the empty entry.")
			}
		}
		for j, o := range r.GetOutputClaimToHeaders() {
			oat := at.Child("outputClaimToHeaders", j)
			if o.GetClaim() == "" || o.GetHeader() == "" {
				s.err(oat, "jwt-claim-header", up, "outputClaimToHeaders needs both claim and header", fmt.Sprintf("claim %q, header %q", o.GetClaim(), o.GetHeader()), "Set both claim and header.")
			} else if !headerNameRE.MatchString(o.GetHeader()) {
				s.err(oat.Child("header"), "jwt-claim-header", "ValidateHTTPHeaderName", fmt.Sprintf("%q is not a valid header name", o.GetHeader()), o.GetHeader(), "Use letters, digits, '-' and '_'.")
			}
		}
		if r.GetTimeout() != nil {
			if msg := durationProblem(r.GetTimeout()); msg != "" {
				s.err(at.Child("timeout"), "duration", up, "timeout: "+msg, r.GetTimeout().AsDuration().String(), "Use a duration of at least 1ms in whole milliseconds.")
			}
		}
	}
}

// optionalIssuer is the first Istio release whose validateJwtRule accepts a
// jwtRule without issuer when jwksUri is set (istio/istio#56158, issue
// #14400; 1.27.0 change notes). Older releases require an issuer.
var optionalIssuer = version.MustParse("1.27.0")

// checkJwtIssuer judges a jwtRule without issuer: without jwksUri too every
// release rejects it; with jwksUri only istiod older than optionalIssuer
// does, so the verdict follows the istiod version of the input.
func checkJwtIssuer(s issueSink, at snapshot.Path, jwksURI string) {
	const up = "validateJwtRule"
	if jwksURI == "" {
		s.err(at, "jwt-issuer", up, "a JWT rule needs an issuer or a jwksUri (it has neither)", "issuer and jwksUri missing", "Set issuer to the token's iss claim (e.g. https://accounts.example.com) and jwksUri to the issuer's JWKS URL.")
		return
	}
	remedy := "Set issuer to the token's iss claim, e.g. https://accounts.example.com (or upgrade istiod to " + optionalIssuer.String() + " or later, which accepts a jwtRule with only jwksUri)."
	var vers []string
	for _, c := range s.vers.Istiod {
		vers = append(vers, fmt.Sprintf("%s %s (%s)", c.Object.Ref(), c.Version, c.From))
	}
	switch old, known := istiodBefore(s.vers, optionalIssuer); {
	case known && old:
		s.err(at, "jwt-issuer", up, fmt.Sprintf("a JWT rule needs an issuer: istiod %s rejects a rule with only jwksUri (accepted from Istio %s on)", strings.Join(vers, ", "), optionalIssuer), "issuer missing, jwksUri "+jwksURI, remedy)
	case !known:
		s.out.errs = append(s.out.errs, schemaIssue{
			Obj: s.obj, Path: at, Rule: "jwt-issuer", Upstream: up, Severity: analysis.Info,
			Problem:     "this JWT rule has jwksUri but no issuer, which only Istio " + optionalIssuer.String() + " and later accept",
			Consequence: "Istio releases before " + optionalIssuer.String() + " reject the object (`admission webhook \"validation.istio.io\" denied the request`: the JWT rule needs an issuer); the input names no istiod version to tell which applies. Without issuer, tokens of any iss signed by these keys are accepted",
			Value:       "issuer missing, jwksUri " + jwksURI,
			Remedy:      remedy,
		})
	}
}

// jwksURIProblem is security.ParseJwksURI: the URI must parse and use
// http or https.
func jwksURIProblem(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return fmt.Sprintf("jwksUri %q is not a URL: %v", u, err)
	}
	if p.Scheme != "http" && p.Scheme != "https" {
		return fmt.Sprintf("jwksUri %q must be an http or https URL (scheme %q)", u, p.Scheme)
	}
	if port := p.Port(); port != "" {
		if _, err := strconv.Atoi(port); err != nil {
			return fmt.Sprintf("jwksUri %q has an invalid port", u)
		}
	}
	return ""
}

// checkSelectorLabels holds the rules both selector kinds share: no empty
// keys, no wildcards, and a warning when no label is given at all. field is
// where the labels live (labels or matchLabels), up the upstream function.
func checkSelectorLabels(s issueSink, at snapshot.Path, field, up string, l map[string]string, emptyProblem, emptyValue, emptyRemedy string) {
	for _, k := range sortedKeys(l) {
		switch {
		case k == "":
			s.err(at.Child(field, k), "selector-empty-key", up, "a selector label has an empty key", "="+l[k], "Remove the entry or give it a key.")
		case strings.Contains(k, "*") || strings.Contains(l[k], "*"):
			s.err(at.Child(field, k), "selector-wildcard", up, "selectors do not support wildcards", k+"="+l[k], "Use exact label values.")
		}
	}
	if len(l) == 0 {
		s.warn(at, "selector-no-labels", up, emptyProblem, emptyValue, emptyRemedy)
	}
}
