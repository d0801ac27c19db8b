package kb

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

type part struct {
	kind Kind
	key  string
}

func parts(es []Explanation) []part {
	out := []part{}
	for _, e := range es {
		out = append(out, part{e.Kind, e.Key})
	}
	return out
}

const (
	upstreamBody  = "upstream connect error or disconnect/reset before headers"
	envoyLogLine  = `[2025-03-04T09:12:33.512Z] "GET /api/v1/orders HTTP/1.1" 503 UF,URX upstream_reset_before_response_started{remote_connection_failure|delayed_connect_error:_Connection_refused} - "delayed connect error: Connection refused" 0 143 2 - "-" "curl/8.5.0" "5b6f3c1e" "orders.shop:8080" "10.244.3.17:8080" outbound|8080||orders.shop.svc.cluster.local - 10.96.41.20:8080 10.244.1.9:51234 - default`
	envoyJSONLine = `{"start_time":"2025-03-04T09:12:33.512Z","method":"GET","response_code":503,"response_flags":"URX,UF","response_code_details":"upstream_reset_before_response_started{remote_connection_failure|TLS_error:|268435703:SSL_routines:OPENSSL_internal:WRONG_VERSION_NUMBER:TLS_error_end}","upstream_transport_failure_reason":"TLS_error:|268435703:SSL_routines:OPENSSL_internal:WRONG_VERSION_NUMBER:TLS_error_end"}`
	ztunnelLine   = `2025-01-23T05:07:25.806642Z	error	access	connection complete	src.addr=10.129.0.48:40978 dst.addr=10.129.0.43:15008 direction="inbound" bytes_sent=0 bytes_recv=0 duration="0ms" error="connection closed due to policy rejection: allow policies exist, but none allowed"`
	hubbleLine    = `Mar  4 09:12:33.512: 10.240.3.7:41234 (world) -> shop/orders-6d9f:8080 (ID:12345) policy-verdict:none INGRESS DENIED (TCP Flags: SYN)
Mar  4 09:12:33.512: 10.240.3.7:41234 (world) -> shop/orders-6d9f:8080 (ID:12345) Policy denied DROPPED (TCP Flags: SYN)`
)

func TestExplainDecomposes(t *testing.T) {
	flag := func(k string) part { return part{KindResponseFlag, k} }
	det := func(k string) part { return part{KindDetails, k} }
	reset := func(k string) part { return part{KindResetReason, k} }
	tls := func(k string) part { return part{KindTransportFailure, k} }
	sock := func(k string) part { return part{KindSocketError, k} }
	reply := func(k string) part { return part{KindLocalReply, k} }
	zt := func(k string) part { return part{KindZtunnelError, k} }
	drop := func(k string) part { return part{KindDropReason, k} }
	id := func(k string) part { return part{KindIdentity, k} }

	for _, c := range []struct {
		q    string
		want []part
	}{
		// Response flags, either name, alone or listed.
		{"UF", []part{flag("UF")}},
		{"UpstreamConnectionFailure", []part{flag("UF")}},
		{"uf", []part{flag("UF")}},
		{"UF,URX", []part{flag("UF"), flag("URX")}},
		{"NoRouteFound,UpstreamOverflow", []part{flag("NR"), flag("UO")}},
		{"UDO", []part{flag("UDO")}},

		// Response code details, arguments decomposed.
		{"upstream_reset_before_response_started{remote_connection_failure|delayed_connect_error:_111}",
			[]part{det("upstream_reset_before_response_started"), reset("remote connection failure"), sock("ECONNREFUSED")}},
		{"upstream_reset_before_response_started{connection_failure,delayed_connect_error:_111}",
			[]part{det("upstream_reset_before_response_started"), reset("connection failure"), sock("ECONNREFUSED")}},
		{"upstream_reset_before_response_started{remote_connection_failure|delayed_connect_error:_Connection_refused}",
			[]part{det("upstream_reset_before_response_started"), reset("remote connection failure"), sock("ECONNREFUSED")}},
		{"upstream_reset_before_response_started{remote_connection_failure|TLS_error:_268435581:SSL_routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED}",
			[]part{det("upstream_reset_before_response_started"), reset("remote connection failure"), tls("CERTIFICATE_VERIFY_FAILED")}},
		{"upstream_reset_before_response_started{remote_connection_failure|TLS_error:|268435703:SSL_routines:OPENSSL_internal:WRONG_VERSION_NUMBER:TLS_error_end}",
			[]part{det("upstream_reset_before_response_started"), reset("remote connection failure"), tls("WRONG_VERSION_NUMBER")}},
		{"upstream_reset_before_response_started{overflow}", []part{det("upstream_reset_before_response_started"), reset("overflow")}},
		{"upstream_reset_before_response_started{connection_termination}", []part{det("upstream_reset_before_response_started"), reset("connection termination")}},
		{"upstream_reset_after_response_started{remote_reset}", []part{det("upstream_reset_after_response_started"), reset("remote reset")}},
		{"upstream_reset_before_response_started{remote_error_with_CONNECT_request}", []part{det("upstream_reset_before_response_started"), reset("remote error with CONNECT request")}},
		{"via_upstream", []part{det("via_upstream")}},
		{"route_not_found", []part{det("route_not_found")}},
		{"cluster_not_found", []part{det("cluster_not_found")}},
		{"no_healthy_upstream", []part{det("no_healthy_upstream")}},
		{"upstream_per_try_timeout", []part{det("upstream_per_try_timeout")}},
		{"response_timeout", []part{det("response_timeout")}},
		{"overload", []part{det("overload")}},
		{"direct_response", []part{det("direct_response")}},
		{"filter_chain_not_found", []part{det("filter_chain_not_found")}},
		{"upstream_max_stream_duration_reached", []part{det("upstream_max_stream_duration_reached")}},
		{"ext_authz_denied", []part{det("ext_authz_denied")}},
		{"fault_filter_abort", []part{det("fault_filter_abort")}},
		{"downstream_remote_disconnect", []part{det("downstream_remote_disconnect")}},
		{"downstream_local_disconnect(on_idle_timeout)", []part{det("downstream_local_disconnect")}},
		{"rbac_access_denied_matched_policy[none]", []part{det("rbac_access_denied_matched_policy")}},
		{"rbac_access_denied_matched_policy[ns[shop]-policy[deny-admin]-rule[0]]", []part{det("rbac_access_denied_matched_policy")}},
		{"jwt_authn_access_denied{Jwt_is_missing}", []part{det("jwt_authn_access_denied"), reply("Jwt is missing")}},
		{"http1.codec_error", []part{det("http1")}},

		// Local replies, the upstream connect error decomposed.
		{upstreamBody + ". reset reason: overflow", []part{reply(upstreamBody), reset("overflow")}},
		{upstreamBody + ". reset reason: connection failure", []part{reply(upstreamBody), reset("connection failure")}},
		{upstreamBody + ". reset reason: connection termination", []part{reply(upstreamBody), reset("connection termination")}},
		{upstreamBody + ". reset reason: connection failure, transport failure reason: delayed connect error: 111",
			[]part{reply(upstreamBody), reset("connection failure"), sock("ECONNREFUSED")}},
		{upstreamBody + ". retried and the latest reset reason: remote connection failure, transport failure reason: delayed connect error: Connection refused",
			[]part{reply(upstreamBody), reset("remote connection failure"), sock("ECONNREFUSED")}},
		{upstreamBody + ". retried and the latest reset reason: remote connection failure, transport failure reason: TLS_error:|268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:TLS_error_end",
			[]part{reply(upstreamBody), reset("remote connection failure"), tls("CERTIFICATE_VERIFY_FAILED")}},
		{upstreamBody + ". retried and the latest reset reason: connection timeout", []part{reply(upstreamBody), reset("connection timeout")}},
		{upstreamBody + ".\nretried and the latest reset reason: remote connection failure,\ntransport failure reason: delayed connect error: Connection refused",
			[]part{reply(upstreamBody), reset("remote connection failure"), sock("ECONNREFUSED")}},
		{"no healthy upstream", []part{reply("no healthy upstream")}},
		{"upstream request timeout", []part{reply("upstream request timeout")}},
		{"Request timeout", []part{reply("request timeout")}},
		{"RBAC: access denied", []part{reply("RBAC: access denied")}},
		{"Jwt is missing", []part{reply("Jwt is missing")}},
		{"Jwt verification fails", []part{reply("Jwt verification fails")}},
		{"fault filter abort", []part{reply("fault filter abort")}},
		{"503 Service Unavailable: " + upstreamBody + ". reset reason: overflow", []part{reply(upstreamBody), reset("overflow")}},
		{"HTTP 503: no healthy upstream", []part{reply("no healthy upstream")}},

		// Reset and transport failure reasons on their own.
		{"remote connection failure", []part{reset("remote connection failure")}},
		{"remote_connection_failure", []part{reset("remote connection failure")}},
		{"protocol error", []part{reset("protocol error")}},
		{"TLS_error:|268435703:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER:TLS_error_end", []part{tls("WRONG_VERSION_NUMBER")}},
		{"TLS error: 268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED", []part{tls("CERTIFICATE_VERIFY_FAILED")}},
		{"TLS_error:|268435563:SSL routines:OPENSSL_internal:BAD_ECC_CERT:TLS_error_end", []part{tls("TLS_error")}},
		{"tls error: invalid peer certificate: UnknownIssuer", []part{zt("tls error")}},
		{"CERTIFICATE_VERIFY_FAILED", []part{tls("CERTIFICATE_VERIFY_FAILED")}},
		{"delayed connect error: 111", []part{sock("ECONNREFUSED")}},
		{"delayed connect error: 113", []part{sock("EHOSTUNREACH")}},
		{"ECONNRESET", []part{sock("ECONNRESET")}},
		{"Connection refused", []part{sock("ECONNREFUSED")}},

		// ztunnel.
		{"http status: 503", []part{zt("http status")}},
		{"http status: 401 Unauthorized", []part{zt("http status")}},
		{"connection failed: Connection refused (os error 111)", []part{zt("connection failed"), sock("ECONNREFUSED")}},
		{"io error: Connection reset by peer (os error 104)", []part{zt("io error"), sock("ECONNRESET")}},
		{"no healthy upstream: 10.244.1.7:8080", []part{zt("no healthy upstream")}},
		{"unknown waypoint: shop/waypoint", []part{zt("unknown waypoint")}},
		{`error="connection closed due to policy rejection: allow policies exist, but none allowed"`, []part{zt("connection closed due to policy rejection")}},
		{"connection timed out, maybe a NetworkPolicy is blocking HBONE port 15008: deadline has elapsed", []part{zt("connection timed out, maybe a networkpolicy is blocking hbone port 15008")}},

		// Cilium.
		{"133", []part{drop("133")}},
		{"-133", []part{drop("133")}},
		{"Policy denied", []part{drop("133")}},
		{"POLICY_DENIED", []part{drop("133")}},
		{"Policy denied (L3)", []part{drop("133")}},
		{"181", []part{drop("181")}},
		{"Policy denied by denylist", []part{drop("181")}},
		{"POLICY_DENY", []part{drop("181")}},
		{"Stale or unroutable IP", []part{drop("151")}},
		{"No mapping for NAT masquerade", []part{drop("167")}},
		{"Unsupported L3 protocol", []part{drop("139")}},
		{"CT: Map insertion failed", []part{drop("155")}},
		{"Missed tail call", []part{drop("140")}},
		{"SERVICE_BACKEND_NOT_FOUND", []part{drop("158")}},
		{"DROP_HOST_NOT_READY", []part{drop("202")}},
		{"world", []part{id("2")}},
		{"2", []part{id("2")}},
		{"reserved:remote-node", []part{id("6")}},
		{"ID:7", []part{id("7")}},
		{"kube-apiserver", []part{id("7")}},
		{"world-ipv6", []part{id("10")}},
		{"ID:12345", []part{id("cluster-scoped")}},
		{"16777217", []part{id("node-local")}},

		// Free text.
		{envoyLogLine, []part{flag("UF"), flag("URX"), det("upstream_reset_before_response_started"), reset("remote connection failure"), sock("ECONNREFUSED")}},
		{envoyJSONLine, []part{flag("URX"), flag("UF"), det("upstream_reset_before_response_started"), reset("remote connection failure"), tls("WRONG_VERSION_NUMBER")}},
		{`[2025-03-04T09:13:02.877Z] "GET /productpage HTTP/1.1" 404 NR route_not_found - "-" 0 0 0 - "203.0.113.9"`, []part{flag("NR"), det("route_not_found")}},
		{ztunnelLine, []part{zt("connection closed due to policy rejection")}},
		{hubbleLine, []part{id("2"), id("cluster-scoped"), drop("133")}},

		// Nothing known.
		{"", []part{}},
		{"   ", []part{}},
		{"hello there", []part{}},
		{"MD" + "999", []part{}}, // a code no check has (spelt so as not to look like one)
		{"503", []part{}},
		{"404", []part{}},
		{"200", []part{drop("200")}}, // IGMP subscribed, not an HTTP status
		{"11", []part{}},
		{"Uf,XX", []part{}},
	} {
		if got := parts(Explain(c.q)); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Explain(%q)\n got %v\nwant %v", c.q, got, c.want)
		}
	}
}

func TestExplainNotes(t *testing.T) {
	for _, c := range []struct {
		q, key, note string
	}{
		{upstreamBody + ". retried and the latest reset reason: connection timeout", upstreamBody, "retried"},
		{"rbac_access_denied_matched_policy[none]", "rbac_access_denied_matched_policy", "none"},
		{"rbac_access_denied_matched_policy[ns[shop]-policy[deny-admin]-rule[0]]", "rbac_access_denied_matched_policy", "AuthorizationPolicy shop/deny-admin, rule 0"},
		{"http status: 503", "http status", "503"},
		{`connection closed due to policy rejection: explicitly denied by: shop/deny-all`, "connection closed due to policy rejection", "shop/deny-all"},
		{ztunnelLine, "connection closed due to policy rejection", "none allowed"},
		{"TLS_error:|268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:verify cert failed: verify SAN list:TLS_error_end", "CERTIFICATE_VERIFY_FAILED", "subject alternative names"},
		{"TLS_error:|268435563:SSL routines:OPENSSL_internal:BAD_ECC_CERT:TLS_error_end", "TLS_error", "BAD_ECC_CERT"},
		{"connection failure", "connection failure", "Older Envoy"},
		{"ID:131074", "cluster-scoped", "cluster ID 2"},
		{"DR", "DR", "older proxies"},
	} {
		found := false
		for _, e := range Explain(c.q) {
			if e.Key == c.key && strings.Contains(strings.Join(e.Notes, " "), c.note) {
				found = true
			}
		}
		if !found {
			t.Errorf("Explain(%q): no %q explanation noting %q: %+v", c.q, c.key, c.note, Explain(c.q))
		}
	}
}

func TestResponseFlagsBothNames(t *testing.T) {
	flags := ResponseFlags()
	if len(flags) != 30 {
		t.Errorf("%d flags, want Envoy's 30 (29 in CORE_RESPONSE_FLAGS plus UDO)", len(flags))
	}
	shorts, longs := map[string]bool{}, map[string]bool{}
	for _, f := range flags {
		if shorts[f.Short] || longs[f.Long] {
			t.Errorf("duplicate flag %s/%s", f.Short, f.Long)
		}
		shorts[f.Short], longs[f.Long] = true, true
		for _, name := range []string{f.Short, f.Long} {
			got, ok := ResponseFlag(name)
			if !ok || got != f {
				t.Errorf("ResponseFlag(%q) = %v, %v", name, got, ok)
			}
			if es := Explain(name); len(es) != 1 || es[0].Kind != KindResponseFlag || es[0].Key != f.Short {
				t.Errorf("Explain(%q) = %v", name, parts(es))
			}
		}
	}
	for _, s := range []string{"UF", "UH", "UO", "NR", "URX", "NC", "DT", "DC", "LH", "UT", "LR", "UR", "UC", "DI", "FI", "RL", "UAEX", "RLSE", "IH", "SI", "DPE", "UPE", "UMSDR", "RFCF", "NFCF", "OM", "DF", "DO", "DR", "UDO"} {
		if !shorts[s] {
			t.Errorf("flag %s missing", s)
		}
	}
}

func TestSplitFlags(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    []string
		unknown []string
	}{
		{"UF,URX", []string{"UF", "URX"}, nil},
		{"UpstreamRetryLimitExceeded,UpstreamConnectionFailure", []string{"URX", "UF"}, nil},
		{"-", nil, nil},
		{"", nil, nil},
		{"UF, XX", []string{"UF"}, []string{"XX"}},
	} {
		flags, unknown := SplitFlags(c.in)
		var got []string
		for _, f := range flags {
			got = append(got, f.Short)
		}
		if !reflect.DeepEqual(got, c.want) || !reflect.DeepEqual(unknown, c.unknown) {
			t.Errorf("SplitFlags(%q) = %v, %v; want %v, %v", c.in, got, unknown, c.want, c.unknown)
		}
	}
}

func TestLookups(t *testing.T) {
	if r, ok := ResetReason("remote_connection_failure"); !ok || r.Reason != "remote connection failure" || r.Flag != "UF" {
		t.Errorf("ResetReason(remote_connection_failure) = %+v, %v", r, ok)
	}
	if r, ok := ResetReason("Remote Error With CONNECT Request"); !ok || r.Flag != "UR" {
		t.Errorf("ResetReason(CONNECT) = %+v, %v", r, ok)
	}
	for in, want := range map[string]string{
		"TLS_error:|268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:TLS_error_end": "CERTIFICATE_VERIFY_FAILED",
		"TLS_error:_268435703:SSL_routines:OPENSSL_internal:WRONG_VERSION_NUMBER":                    "WRONG_VERSION_NUMBER",
		"TLS_error:|268435703:TLS_error_end":                                                         "WRONG_VERSION_NUMBER",
		"delayed connect error: 111":                                                                 "ECONNREFUSED",
		"delayed_connect_error:_Connection_refused":                                                  "ECONNREFUSED",
		"Too many open files (os error 24)":                                                          "EMFILE",
		"econnrefused":                                                                               "ECONNREFUSED",
	} {
		if tf, ok := TransportFailure(in); !ok || tf.Key != want {
			t.Errorf("TransportFailure(%q) = %+v, %v; want %s", in, tf, ok, want)
		}
	}
	if _, ok := TransportFailure("all good"); ok {
		t.Error("TransportFailure(all good) found something")
	}
	if d, ok := Detail("upstream_reset_before_response_started"); !ok || d.Args == "" {
		t.Errorf("Detail = %+v, %v", d, ok)
	}
	if r, ok := LocalReply("  No healthy upstream\n"); !ok || r.Body != "no healthy upstream" {
		t.Errorf("LocalReply = %+v, %v", r, ok)
	}
	if z, ok := ZtunnelError("2025 warn connection failed: Connection refused (os error 111)"); !ok || z.Pattern != "connection failed" {
		t.Errorf("ZtunnelError = %+v, %v", z, ok)
	}
}

func TestCilium(t *testing.T) {
	codes := map[int]bool{}
	for _, d := range DropReasons() {
		if codes[d.Code] {
			t.Errorf("drop code %d twice", d.Code)
		}
		codes[d.Code] = true
		if d.Code < 130 || d.Code > 205 {
			t.Errorf("drop code %d out of the datapath range", d.Code)
		}
		for _, n := range append([]string{d.Name, d.Enum}, d.Aliases...) {
			if n == "" {
				continue
			}
			if got, ok := DropReason(n); !ok || got.Code != d.Code && !(n == "Policy denied (CIDR)") {
				t.Errorf("DropReason(%q) = %v, %v; want %d", n, got, ok, d.Code)
			}
		}
		if got, ok := DropReasonByCode(-d.Code); !ok || got != d {
			t.Errorf("DropReasonByCode(-%d) = %v, %v", d.Code, got, ok)
		}
	}
	for c := 130; c <= 205; c++ {
		if !codes[c] {
			t.Errorf("drop code %d missing", c)
		}
	}
	for in, want := range map[string]string{
		"0": "unknown", "1": "host", "2": "world", "3": "unmanaged", "4": "health", "5": "init", "6": "remote-node",
		"7": "kube-apiserver", "8": "ingress", "9": "world-ipv4", "10": "world-ipv6", "reserved:health": "health",
		"ID:2": "world", "identity 6": "remote-node", "102": "well-known", "200": "user-reserved", "12345": "cluster-scoped",
		"16777221": "node-local",
	} {
		if id, ok := Identity(in); !ok || id.Name != want {
			t.Errorf("Identity(%q) = %+v, %v; want %s", in, id, ok, want)
		}
	}
	for _, in := range []string{"11", "99", "120", "nobody", "-1"} {
		if id, ok := Identity(in); ok {
			t.Errorf("Identity(%q) = %+v", in, id)
		}
	}
}

// TestEntriesComplete: every entry says what it means, what causes it and
// what to run next, and names only well-formed codes.
func TestEntriesComplete(t *testing.T) {
	code := regexp.MustCompile(`^MD\d{3}$`)
	for name, info := range allInfos() {
		if strings.TrimSpace(info.Meaning) == "" || len(info.Causes) == 0 || len(info.Next) == 0 {
			t.Errorf("%s: meaning, causes and next commands are all required", name)
		}
		for _, s := range append(append([]string{}, info.Causes...), info.Next...) {
			if strings.TrimSpace(s) == "" {
				t.Errorf("%s: empty cause or command", name)
			}
		}
		for _, c := range info.Codes {
			if !code.MatchString(c) {
				t.Errorf("%s: malformed code %q", name, c)
			}
		}
	}
}

// TestCodesExist: every MD code an entry names has a page in docs/codes.
func TestCodesExist(t *testing.T) {
	pages, err := filepath.Glob(filepath.Join("..", "..", "docs", "codes", "MD*.md"))
	if err != nil || len(pages) == 0 {
		t.Fatalf("no docs/codes pages: %v", err)
	}
	exists := map[string]bool{}
	for _, p := range pages {
		exists[strings.TrimSuffix(filepath.Base(p), ".md")] = true
	}
	for name, info := range allInfos() {
		for _, c := range info.Codes {
			if !exists[c] {
				t.Errorf("%s names %s, which has no docs/codes page", name, c)
			}
		}
	}
}

func allInfos() map[string]Info {
	m := map[string]Info{}
	for _, f := range ResponseFlags() {
		m["flag "+f.Short] = f.Info
	}
	for _, d := range ResponseCodeDetails() {
		m["details "+d.Name] = d.Info
	}
	for _, r := range ResetReasons() {
		m["reset "+r.Reason] = r.Info
	}
	for _, tf := range TransportFailures() {
		m["transport "+tf.Key] = tf.Info
	}
	for _, r := range LocalReplies() {
		m["reply "+r.Body] = r.Info
	}
	for _, z := range ZtunnelErrors() {
		m["ztunnel "+z.Pattern] = z.Info
	}
	for _, d := range DropReasons() {
		m["drop "+d.Name] = d.Info
	}
	for _, id := range Identities() {
		m["identity "+id.Name] = id.Info
	}
	return m
}

func TestRender(t *testing.T) {
	es := Explain(upstreamBody + ". reset reason: remote connection failure, transport failure reason: delayed connect error: 111")
	var b bytes.Buffer
	if err := Render(&b, es); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"## \"upstream connect error or disconnect/reset before headers\" — Envoy local reply\n",
		"## reset reason: remote connection failure — Envoy stream reset reason\n",
		"## ECONNREFUSED (errno 111, \"Connection refused\") — socket error\n",
		"Usual status: 503",
		"Typical causes:\n\n- ",
		"Next:\n\n    istioctl proxy-config endpoint",
		"meshdoctor checks that detect a cause: MD301, MD317, MD316, MD511\n\n    meshdoctor analyze <manifests-dir|bundle.tar.gz> --check MD301,MD317,MD316,MD511\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rendering lacks %q:\n%s", want, out)
		}
	}
	if es[0].String()+"\n"+es[1].String()+"\n"+es[2].String() != out {
		t.Error("Render is not the explanations' String()s joined by blank lines")
	}
}

// TestGolden keeps a rendering of the founding incidents' strings, so that
// wording changes are seen in review. UPDATE_GOLDEN=1 rewrites it.
func TestGolden(t *testing.T) {
	var b bytes.Buffer
	for _, q := range []string{
		upstreamBody + ". retried and the latest reset reason: remote connection failure, transport failure reason: TLS_error:|268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:TLS_error_end",
		"UH",
		"Policy denied",
	} {
		b.WriteString("<<< " + q + "\n")
		if err := Render(&b, Explain(q)); err != nil {
			t.Fatal(err)
		}
		b.WriteString("\n")
	}
	golden := filepath.Join("testdata", "explain.golden")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (UPDATE_GOLDEN=1 writes it)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("rendering differs from %s (UPDATE_GOLDEN=1 rewrites it):\n%s", golden, b.String())
	}
}

func FuzzExplain(f *testing.F) {
	for _, s := range []string{
		"UF,URX", "UpstreamConnectionFailure", envoyLogLine, envoyJSONLine, ztunnelLine, hubbleLine,
		upstreamBody + ". retried and the latest reset reason: remote connection failure, transport failure reason: TLS_error:|268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:TLS_error_end",
		"upstream_reset_before_response_started{remote_connection_failure|delayed_connect_error:_111}",
		"rbac_access_denied_matched_policy[ns[a]-policy[b]-rule[0]]", "jwt_authn_access_denied{Jwt_is_missing}",
		"http status: 503", "io error: Connection reset by peer (os error 104)", "133", "-181", "ID:16777217", "reserved:world",
		"TLS_error:", "tls error:|", "tls error", "tls_error", "TLS error: 1", "(ID:", "error=\"", "delayed connect error: 99999", "os error 4294967296", "\xff\xfe(ID:1)",
		"İİİ TLS_error:|1:OPENSSL_internal:X", "upstream_reset_before_response_started{", "rbac_access_denied_matched_policy[ns[",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		es := Explain(q)
		for _, e := range es {
			if e.Kind == "" || e.Key == "" || e.Title == "" || e.Meaning == "" {
				t.Fatalf("Explain(%q): incomplete explanation %+v", q, e)
			}
		}
		if again := Explain(q); !reflect.DeepEqual(parts(es), parts(again)) {
			t.Fatalf("Explain(%q) is not deterministic", q)
		}
		var b bytes.Buffer
		if err := Render(&b, es); err != nil {
			t.Fatal(err)
		}
	})
}
