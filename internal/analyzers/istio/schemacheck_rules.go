package istio

// Small validation rules shared by the schema checks (MD010/MD011). They
// restate rules of Istio's pkg/config/validation (and its agent and labels
// packages) in meshdoctor's words: meshdoctor implements and tests its own
// subset of Istio's validation instead of importing
// istio.io/istio/pkg/config/validation, a very heavy dependency that pulls
// in pilot. Each rule names the upstream function it follows.

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
)

var (
	// labels.tagRegexp and labels.labelValueRegexp (Kubernetes label syntax).
	labelKeyRE   = regexp.MustCompile(`^([a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?)*/)?((?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$`)
	labelValueRE = regexp.MustCompile(`^((?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`)
	// validation.validHeaderRegex.
	headerNameRE = regexp.MustCompile(`^[-_A-Za-z0-9]+$`)
	// validation.validHeaderNameRegex: the RFC 7230 token characters
	// (tchar), which ValidateHTTPHeaderNameOrJwtClaimRoute and
	// ValidateCORSHTTPHeaderName accept in header names.
	tcharHeaderRE = regexp.MustCompile("^[!#$%&'*+\\-.^_`|~A-Za-z0-9]+$")
)

// pseudoHeaders are the HTTP/2 pseudo-headers a match may name
// (validation.pseudoHeaders).
var pseudoHeaders = map[string]bool{":method": true, ":scheme": true, ":authority": true, ":path": true, ":status": true}

// headerNameProblem is validation.ValidateHTTPHeaderNameOrJwtClaimRoute:
// a JWT claim key, a pseudo-header, or a token of tchars.
func headerNameProblem(name string) string {
	switch {
	case name == "":
		return "header name cannot be empty"
	case isJWTClaimKey(name), pseudoHeaders[name], tcharHeaderRE.MatchString(name):
		return ""
	}
	return fmt.Sprintf("%q is not a valid header name", name)
}

// jwtClaimPrefix is jwt.HeaderJWTClaim.
const jwtClaimPrefix = "@request.auth.claims"

// isJWTClaimKey is jwt.ToRoutingClaim(key).Match: the prefix
// "@request.auth.claims" in any case, followed by ".<claim>[.<claim>...]"
// or "[<claim>][<claim>...]".
func isJWTClaimKey(k string) bool {
	if len(k) < len(jwtClaimPrefix) || !strings.EqualFold(k[:len(jwtClaimPrefix)], jwtClaimPrefix) {
		return false
	}
	rest := k[len(jwtClaimPrefix):]
	switch {
	case strings.HasPrefix(rest, ".") && len(rest) > 1:
		return true
	case strings.HasPrefix(rest, "[") && strings.HasSuffix(rest, "]") && len(rest) > 2:
		return true
	}
	return false
}

// isDNS1123Label is labels.IsDNS1123Label: upstream's dns1123LabelFmt
// (^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$) and at most 63 characters,
// tested without a regexp: every host of every Istio object goes through
// it (TestDNS1123LabelMatchesRegexp holds the two together).
func isDNS1123Label(s string) bool { return len(s) <= 63 && dnsLabelChars(s) }

// isWildcardDNS1123Label is labels.IsWildcardDNS1123Label: a label, "*", or
// a label led by "*" or "*-" (so "*foo" is accepted, as upstream does).
func isWildcardDNS1123Label(s string) bool {
	if len(s) > 63 {
		return false
	}
	switch {
	case s == "*" || dnsLabelChars(s):
		return true
	case strings.HasPrefix(s, "*-"):
		return dnsLabelChars(s[2:]) || dnsLabelChars(s[1:])
	case strings.HasPrefix(s, "*"):
		return dnsLabelChars(s[1:])
	}
	return false
}

// dnsLabelChars: letters and digits, with hyphens inside only.
func dnsLabelChars(s string) bool {
	if s == "" || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// checkDomainPreconditions is agent.CheckDNS1123Preconditions.
func checkDomainPreconditions(name string) error {
	if len(name) > 255 {
		return fmt.Errorf("domain name %q is too long (max 255)", name)
	}
	if name == "" {
		return fmt.Errorf("empty domain name")
	}
	return nil
}

// validateDNS1123Labels is agent.ValidateDNS1123Labels: every label valid,
// the top-level one not all digits, a trailing dot allowed.
func validateDNS1123Labels(domain string) error {
	// strconv.Atoi as upstream, asked only of a label it could accept:
	// every other label would cost it an error value, hosts by the
	// thousand.
	if last := domain[strings.LastIndexByte(domain, '.')+1:]; signedDigits(last) {
		if _, err := strconv.Atoi(last); err == nil {
			return fmt.Errorf("the top-level domain of %q is all digits", domain)
		}
	}
	for rest := domain; ; {
		l, r, more := strings.Cut(rest, ".")
		if !more && l == "" {
			return nil // a trailing dot
		}
		if !isDNS1123Label(l) {
			return fmt.Errorf("label %q is not a DNS-1123 label (a wildcard may only be the first label)", l)
		}
		if !more {
			return nil
		}
		rest = r
	}
}

// signedDigits tells whether s is an optional sign and one or more digits:
// the only strings strconv.Atoi can accept.
func signedDigits(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validateFQDN is agent.ValidateFQDN.
func validateFQDN(s string) error {
	if err := checkDomainPreconditions(s); err != nil {
		return err
	}
	return validateDNS1123Labels(s)
}

// validateWildcardDomain is agent.ValidateWildcardDomain: a wildcard is
// allowed only in the first label.
func validateWildcardDomain(s string) error {
	if err := checkDomainPreconditions(s); err != nil {
		return err
	}
	first, rest, more := strings.Cut(s, ".")
	if !isWildcardDNS1123Label(first) {
		return fmt.Errorf("domain name %q has an invalid first label %q (a wildcard may only be the whole first label or lead it)", s, first)
	}
	if more {
		if err := validateDNS1123Labels(rest); err != nil {
			return fmt.Errorf("domain name %q: %w", s, err)
		}
	}
	return nil
}

// partialWildcard is agent.ValidatePartialWildCard: "*" anywhere except a
// whole host "*" or a leading "*." label.
func partialWildcard(host string) bool {
	return strings.Contains(host, "*") && host != "*" && !strings.HasPrefix(host, "*.")
}

// isIP is netutil.IsValidIPAddress.
func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// validateIPSubnet is agent.ValidateIPSubnet: an address or a CIDR block.
func validateIPSubnet(s string) error {
	if strings.Count(s, "/") == 1 {
		if _, err := netip.ParsePrefix(s); err != nil {
			return fmt.Errorf("%q is not a valid CIDR block", s)
		}
		return nil
	}
	if !isIP(s) {
		return fmt.Errorf("%q is not a valid IP address", s)
	}
	return nil
}

// validateIPOrCIDR is security.ValidateIPs for one value.
func validateIPOrCIDR(s string) error {
	if strings.Contains(s, "/") {
		if _, err := netip.ParsePrefix(s); err != nil {
			return fmt.Errorf("%q is not a valid CIDR range", s)
		}
		return nil
	}
	if !isIP(s) {
		return fmt.Errorf("%q is not a valid IP address", s)
	}
	return nil
}

// validPort is agent.ValidatePort.
func validPort(n int64) bool { return n >= 1 && n <= 65535 }

// durationProblem is agent.ValidateDuration: at least 1ms, whole
// milliseconds.
func durationProblem(d *durationpb.Duration) string {
	v := d.AsDuration()
	if v < time.Millisecond {
		return fmt.Sprintf("duration %s is shorter than 1ms", v)
	}
	if v%time.Millisecond != 0 {
		return fmt.Sprintf("duration %s is not a whole number of milliseconds", v)
	}
	return ""
}

// labelProblem is labels.Instance.Validate for one label.
func labelProblem(k, v string) string {
	m := labelKeyRE.FindStringSubmatch(k)
	switch {
	case m == nil:
		return fmt.Sprintf("label key %q is not a valid Kubernetes label key", k)
	case len(m[1]) > 0 && len(m[1])-1 > 253:
		return fmt.Sprintf("label key %q has a DNS prefix longer than 253 characters", k)
	case len(m[2]) > 63:
		return fmt.Sprintf("label key %q has a name longer than 63 characters", k)
	case !labelValueRE.MatchString(v):
		return fmt.Sprintf("label value %q (key %q) is not a valid Kubernetes label value", v, k)
	}
	return ""
}

// regexProblem is validation.validateStringRegexp: Istio (and Envoy) use
// RE2, which Go's regexp implements; upstream also caps the length.
func regexProblem(re string) string {
	if re == "" {
		return "the regex is empty"
	}
	if len(re) > 1024 {
		return fmt.Sprintf("the regex is %d characters long (max 1024)", len(re))
	}
	if _, err := regexp.Compile(re); err != nil {
		return fmt.Sprintf("%q is not a valid RE2 regex: %v", re, err)
	}
	return ""
}

// corsMethods is validation.supportedCORSMethods: Go's method constants and
// "*".
var corsMethods = map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "CONNECT": true, "OPTIONS": true, "TRACE": true, "*": true}

// retryOnPolicies is validation.supportedRetryOnPolicies.
var retryOnPolicies = map[string]bool{
	"5xx": true, "gateway-error": true, "reset": true, "reset-before-request": true, "connect-failure": true,
	"retriable-4xx": true, "refused-stream": true, "retriable-status-codes": true, "retriable-headers": true,
	"envoy-ratelimited": true, "http3-post-connect-failure": true,
	"cancelled": true, "deadline-exceeded": true, "internal": true, "resource-exhausted": true, "unavailable": true,
}

// grpcStatuses is grpc.SupportedGRPCStatus (the canonical gRPC code names).
var grpcStatuses = map[string]bool{
	"OK": true, "CANCELLED": true, "UNKNOWN": true, "INVALID_ARGUMENT": true, "DEADLINE_EXCEEDED": true,
	"NOT_FOUND": true, "ALREADY_EXISTS": true, "PERMISSION_DENIED": true, "RESOURCE_EXHAUSTED": true,
	"FAILED_PRECONDITION": true, "ABORTED": true, "OUT_OF_RANGE": true, "UNIMPLEMENTED": true,
	"INTERNAL": true, "UNAVAILABLE": true, "DATA_LOSS": true, "UNAUTHENTICATED": true,
}

// protocolNames are the names protocol.Parse accepts (case-insensitive).
var protocolNames = map[string]bool{
	"TCP": true, "UDP": true, "GRPC": true, "GRPC-WEB": true, "HTTP": true, "HTTP_PROXY": true, "HTTP2": true,
	"HTTPS": true, "TLS": true, "MONGO": true, "REDIS": true, "MYSQL": true, "HBONE": true,
}

func knownProtocol(p string) bool { return protocolNames[strings.ToUpper(p)] }

func isHTTPProtocol(p string) bool {
	switch strings.ToUpper(p) {
	case "HTTP", "HTTP2", "GRPC", "GRPC-WEB", "HTTP_PROXY":
		return true
	}
	return false
}

func isTLSProtocol(p string) bool {
	switch strings.ToUpper(p) {
	case "HTTPS", "TLS":
		return true
	}
	return false
}

// headerFormatProblem follows validation.validateHeaderValue (a port of
// Envoy's header_parser.cc): in a header value "%" starts a command such
// as %HOSTNAME% or %REQ(x-id)% or %PER_REQUEST_STATE(["a"])%, and a
// literal percent sign must be written "%%". It returns why Envoy's parser
// (and Istio's validation) rejects the value, or "".
func headerFormatProblem(v string) string {
	const (
		literal     = iota // plain text
		name               // inside %NAME
		wantArray          // after "(": "[" or a bare argument
		wantString         // inside [...]: expecting a quoted string
		inString           // inside an argument
		wantNextArg        // after a string: "," or "]"
		wantParen          // after "]": ")"
		wantPercent        // after ")": the closing "%"
	)
	state := literal
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch state {
		case literal:
			if c != '%' {
				continue
			}
			switch {
			case i+1 == len(v):
				return "the value ends with an unescaped '%' (write a literal percent sign as %%)"
			case v[i+1] == '%':
				i++
			default:
				state = name
			}
		case name:
			switch c {
			case '%':
				state = literal
			case '(':
				state = wantArray
			}
		case wantArray:
			switch {
			case c == '[':
				state = wantString
			case c != ' ':
				state = inString
			}
		case wantString:
			switch {
			case c == '"':
				state = inString
			case c != ' ':
				return "a %COMMAND([...])% argument list expects a quoted string"
			}
		case inString:
			switch c {
			case '\\':
				if i+1 == len(v) {
					return "the value ends inside a backslash escape"
				}
				i++
			case ')':
				state = wantPercent
			case '"':
				state = wantNextArg
			}
		case wantNextArg:
			switch {
			case c == ',':
				state = wantString
			case c == ']':
				state = wantParen
			case c != ' ':
				return "a %COMMAND([...])% argument list expects ',' or ']'"
			}
		case wantParen:
			switch {
			case c == ')':
				state = wantPercent
			case c != ' ':
				return "a %COMMAND(...)% expects ')' after its arguments"
			}
		case wantPercent:
			switch {
			case c == '%':
				state = literal
			case c != ' ':
				return "a %COMMAND(...)% expects the closing '%'"
			}
		}
	}
	if state != literal {
		return "a %COMMAND% expression is not terminated (write a literal percent sign as %%)"
	}
	return ""
}
