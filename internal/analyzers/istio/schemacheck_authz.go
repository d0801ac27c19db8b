package istio

// AuthorizationPolicy rules of security.* in Istio's pkg/config/security:
// source lists, service accounts, path templates and when attributes.

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	secv1beta1 "istio.io/api/security/v1beta1"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// sourceList is one list field of an AuthorizationPolicy source.
type sourceList struct {
	name string
	v    []string
	// ips: addresses or CIDRs; tcp: an attribute TCP connections have;
	// identity: one the CUSTOM action does not support.
	ips, tcp, identity bool
}

func sourceLists(src *secv1beta1.Source) []sourceList {
	return []sourceList{
		{name: "principals", v: src.GetPrincipals(), tcp: true, identity: true},
		{name: "requestPrincipals", v: src.GetRequestPrincipals(), identity: true},
		{name: "namespaces", v: src.GetNamespaces(), tcp: true, identity: true},
		{name: "serviceAccounts", v: src.GetServiceAccounts(), tcp: true, identity: true},
		{name: "ipBlocks", v: src.GetIpBlocks(), ips: true, tcp: true},
		{name: "remoteIpBlocks", v: src.GetRemoteIpBlocks(), ips: true, tcp: true},
		{name: "notPrincipals", v: src.GetNotPrincipals(), tcp: true, identity: true},
		{name: "notRequestPrincipals", v: src.GetNotRequestPrincipals(), identity: true},
		{name: "notNamespaces", v: src.GetNotNamespaces(), tcp: true, identity: true},
		{name: "notServiceAccounts", v: src.GetNotServiceAccounts(), tcp: true, identity: true},
		{name: "notIpBlocks", v: src.GetNotIpBlocks(), ips: true, tcp: true},
		{name: "notRemoteIpBlocks", v: src.GetNotRemoteIpBlocks(), ips: true, tcp: true},
	}
}

// checkServiceAccounts is security.CheckServiceAccount: at most 16 values,
// each "name" or "namespace/name", no wildcard, at most 320 characters.
func checkServiceAccounts(s issueSink, at snapshot.Path, v []string, up string) {
	if len(v) > 16 {
		s.err(at, "service-account-count", up, fmt.Sprintf("%d service accounts listed; at most 16 are allowed", len(v)), fmt.Sprint(len(v)), "Split the list over several rules, or match on namespaces/principals.")
	}
	for i, x := range v {
		if msg := serviceAccountProblem(x); msg != "" {
			s.err(at.Child(i), "service-account", up, msg, x, "Write each entry as <service account> or <namespace>/<service account>, without wildcards.")
		}
	}
}

func serviceAccountProblem(x string) string {
	ns, sa, slash := strings.Cut(x, "/")
	switch {
	case x == "":
		return "an empty value is not allowed"
	case strings.Contains(x, "*"):
		return fmt.Sprintf("%q: wildcards are not allowed in service accounts", x)
	case strings.Count(x, "/") > 1:
		return fmt.Sprintf("%q is neither <serviceAccount> nor <namespace>/<serviceAccount>", x)
	case len(x) > 320:
		return fmt.Sprintf("%q is longer than 320 characters", x)
	case slash && ns == "":
		return fmt.Sprintf("%q has an empty namespace", x)
	case slash && sa == "":
		return fmt.Sprintf("%q has an empty service account name", x)
	}
	return ""
}

// portValueProblem is security.ValidatePorts for one value.
func portValueProblem(p string) string {
	if n, err := strconv.ParseUint(p, 10, 32); err != nil || n > 65535 {
		return fmt.Sprintf("%q is not a port number", p)
	}
	return ""
}

// pathLiteralRE is security.validLiteral: the RFC 3986 pchar characters a
// literal segment of a path template may hold.
var pathLiteralRE = regexp.MustCompile("^[a-zA-Z0-9-._~%!$&'()+,;:@=]+$")

// pathTemplateProblem is security.CheckValidPathTemplate for one path:
// "{*}" and "{**}" only as whole segments, "{**}" last, no other braces,
// and, in a template, only pchar characters in the other segments.
func pathTemplateProblem(path string) string {
	template := strings.Contains(path, "{*}") || strings.Contains(path, "{**}")
	anySeen := false
	for _, seg := range strings.Split(strings.Trim(path, "/"), "/") {
		isOp := seg == "{*}" || seg == "{**}"
		switch {
		case isOp && anySeen:
			return fmt.Sprintf("path %q: {**} must be the last operator of the template", path)
		case seg == "{**}":
			anySeen = true
			continue
		case isOp:
			continue
		case strings.ContainsAny(seg, "{}"):
			return fmt.Sprintf("path %q has '{' or '}' outside a {*} or {**} segment", path)
		case template && !pathLiteralRE.MatchString(seg):
			return fmt.Sprintf("path template %q has segment %q with characters a template does not allow", path, seg)
		}
	}
	return ""
}

// checkWhenCondition is security.ValidateAttribute for a when condition:
// the key must be a known attribute (a[b] form for maps), and the values
// must fit it (addresses, ports, service accounts).
func checkWhenCondition(s issueSink, at snapshot.Path, key string, values, notValues []string) {
	const up = "security.ValidateAttribute"
	keyProblem, check := whenAttribute(key)
	if keyProblem != "" {
		s.err(at.Child("key"), "when-attribute", up, keyProblem, key, "Use a supported attribute: request.headers[<name>], source.ip, remote.ip, source.namespace, source.principal, source.serviceAccount, request.auth.principal, request.auth.audiences, request.auth.presenter, request.auth.claims[<claim>], destination.ip, destination.port, connection.sni, experimental.envoy.filters.*[<key>].")
	}
	for _, f := range []struct {
		name string
		v    []string
	}{{"values", values}, {"notValues", notValues}} {
		for i, v := range f.v {
			p := at.Child(f.name, i)
			switch {
			case v == "":
				s.err(p, "empty-value", up, "an empty value is not allowed", `""`, "Remove the empty entry.")
			case keyProblem == "" && check != nil:
				if msg := check(v); msg != "" {
					s.err(p, "when-value", up, fmt.Sprintf("%s (when key %s)", msg, key), v, "Give a value the attribute can hold.")
				}
			}
		}
		if key == "source.serviceAccount" && len(f.v) > 16 {
			s.err(at.Child(f.name), "service-account-count", up, fmt.Sprintf("%d service accounts listed; at most 16 are allowed", len(f.v)), fmt.Sprint(len(f.v)), "Split the values over several conditions or rules.")
		}
	}
}

// whenAttribute classifies a when key as security.ValidateAttribute does:
// a problem with the key itself, or the check its values need.
func whenAttribute(key string) (string, func(string) string) {
	mapKey := func() string {
		open := strings.Index(key, "[")
		if strings.HasSuffix(key, "]") && open > 0 && open < len(key)-2 {
			return ""
		}
		return fmt.Sprintf("when key %q must have the form attribute[name]", key)
	}
	ip := func(v string) string {
		if err := validateIPOrCIDR(v); err != nil {
			return err.Error()
		}
		return ""
	}
	switch {
	case strings.HasPrefix(key, "request.headers"), strings.HasPrefix(key, "request.experimental.inline.headers"),
		strings.HasPrefix(key, "request.auth.claims"), strings.HasPrefix(key, "experimental.envoy.filters."):
		return mapKey(), nil
	case key == "source.ip", key == "remote.ip", key == "destination.ip":
		return "", ip
	case key == "destination.port":
		return "", portValueProblem
	case key == "source.serviceAccount":
		return "", serviceAccountProblem
	case key == "source.namespace", key == "source.principal", key == "request.auth.principal", key == "request.auth.audiences",
		key == "request.auth.presenter", key == "connection.sni":
		return "", nil
	case key == "destination.namespace":
		return "attribute destination.namespace is not supported: the policy's own namespace (metadata.namespace) decides it", nil
	case strings.HasPrefix(key, "destination.labels"):
		return fmt.Sprintf("attribute %s is not supported: use the policy's selector instead", key), nil
	case key == "destination.name", key == "destination.user":
		return fmt.Sprintf("attribute %s was removed (v1alpha1 only)", key), nil
	}
	return fmt.Sprintf("%q is not an attribute AuthorizationPolicy knows", key), nil
}
