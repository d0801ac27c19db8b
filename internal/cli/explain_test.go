package cli

import (
	"bytes"
	"strings"
	"testing"
)

// runCLI runs meshdoctor in-process with the given standard input and
// returns stdout, stderr and the exit code.
func runCLI(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, Streams{In: strings.NewReader(stdin), Out: &out, Err: &errb}, BuildInfo{Version: "test"})
	return out.String(), errb.String(), code
}

func TestExplainCheck(t *testing.T) {
	for _, arg := range []string{"MD101", "md101", "env-ref-missing"} {
		out, stderr, code := runCLI(t, "", "explain", arg)
		if code != 0 || !strings.HasPrefix(out, "# MD101 env-ref-missing") {
			t.Errorf("explain %s: exit %d, stderr %q\n%s", arg, code, stderr, out)
		}
	}
}

func TestExplainFailureStrings(t *testing.T) {
	for _, c := range []struct {
		args  []string
		stdin string
		want  []string
	}{
		{[]string{"UF"}, "", []string{
			"## UF (UpstreamConnectionFailure) — Envoy response flag\n",
			"meshdoctor checks that detect a cause: MD301, MD317, MD316, MD511, MD239, MD505",
			"## meshdoctor checks named above\n\n- MD301 dr-tls-conflicts-strict-mtls: ",
			"- MD511 app-listens-on-localhost: ",
		}},
		{[]string{"UpstreamRetryLimitExceeded,UpstreamConnectionFailure"}, "", []string{"## URX (UpstreamRetryLimitExceeded)", "## UF (UpstreamConnectionFailure)"}},
		{[]string{"upstream_reset_before_response_started{remote_connection_failure|delayed_connect_error:_111}"}, "", []string{
			"## upstream_reset_before_response_started — Envoy response code details",
			"## reset reason: remote connection failure — Envoy stream reset reason",
			"## ECONNREFUSED (errno 111, \"Connection refused\") — socket error",
		}},
		// A body given unquoted, as several arguments.
		{strings.Fields("upstream connect error or disconnect/reset before headers. reset reason: overflow"), "", []string{
			"## \"upstream connect error or disconnect/reset before headers\" — Envoy local reply",
			"## reset reason: overflow — Envoy stream reset reason",
		}},
		{[]string{"http status: 503"}, "", []string{"## ztunnel: http status — ztunnel error", "The peer answered 503."}},
		{[]string{"133"}, "", []string{"## 133 Policy denied (POLICY_DENIED) — Cilium drop reason"}},
		{[]string{"Policy", "denied", "by", "denylist"}, "", []string{"## 181 Policy denied by denylist (POLICY_DENY)"}},
		{[]string{"world"}, "", []string{"## identity 2 (reserved:world) — Cilium identity"}},
		{[]string{"-"}, `[2025-03-04T09:13:02.877Z] "GET /productpage HTTP/1.1" 404 NR route_not_found - "-" 0 0 0 - "203.0.113.9"` + "\n", []string{
			"## NR (NoRouteFound)", "## route_not_found — Envoy response code details", "- MD205 vs-host-not-in-gateway: ",
		}},
	} {
		out, stderr, code := runCLI(t, c.stdin, append([]string{"explain"}, c.args...)...)
		if code != 0 {
			t.Errorf("explain %q: exit %d, stderr %q", c.args, code, stderr)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("explain %q: output lacks %q:\n%s", c.args, w, out)
			}
		}
	}
}

func TestExplainNoMatch(t *testing.T) {
	for _, args := range [][]string{
		{"explain", "MD" + "999"}, // a code no check has
		{"explain", "nothing", "to", "see"},
		{"explain", "503"},
		{"explain"},
	} {
		out, stderr, code := runCLI(t, "", args...)
		if code != 2 || out != "" || !strings.HasPrefix(stderr, "meshdoctor: ") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and a message", args, code, out, stderr)
		}
		if len(args) > 1 && !strings.Contains(stderr, "no check, response flag, details, reset reason, local reply, ztunnel error or Cilium drop reason matches \""+strings.Join(args[1:], " ")+"\"") {
			t.Errorf("%q: stderr %q", args, stderr)
		}
	}
	_, stderr, code := runCLI(t, "just words\n", "explain", "-")
	if code != 2 || !strings.Contains(stderr, `matches "just words"`) {
		t.Errorf("explain - with nothing known: exit %d, stderr %q", code, stderr)
	}
}

func TestExplainHelp(t *testing.T) {
	out, _, code := runCLI(t, "", "explain", "--help")
	if code != 0 {
		t.Fatalf("explain --help: exit %d", code)
	}
	for _, w := range []string{"explain CODE|NAME|STRING...", "meshdoctor explain UF,URX", "Cilium drop reasons", "meshdoctor explain -"} {
		if !strings.Contains(out, w) {
			t.Errorf("help lacks %q:\n%s", w, out)
		}
	}
}
