package netfilter

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseNftIptablesNftTables(t *testing.T) {
	rs := ParseNft(readFixture(t, "host-inpod-leak.nft"))
	noErrors(t, rs)
	var tables []string
	for _, tb := range rs.Tables {
		tables = append(tables, tb.Family+"/"+tb.Name+"@"+itoa(tb.Line))
	}
	if want := []string{"ip/nat@2", "ip/mangle@56"}; !reflect.DeepEqual(tables, want) {
		t.Fatalf("tables %v, want %v", tables, want)
	}
	pre := chainOf(t, rs, "nat", "PREROUTING")
	if !pre.Builtin || pre.Type != "nat" || pre.Hook != "prerouting" || pre.Priority != "dstnat" || pre.Policy != "ACCEPT" || pre.Line != 3 {
		t.Errorf("PREROUTING: %+v", *pre)
	}
	if out := chainOf(t, rs, "nat", "OUTPUT"); out.Priority != "-100" {
		t.Errorf("OUTPUT priority %q", out.Priority)
	}
	jump := ruleAt(t, rs, 5)
	if !reflect.DeepEqual(jump.Target, Target{Name: "ISTIO_PRERT"}) || jump.Counters != (Counters{Packets: 18, Bytes: 1080, Valid: true}) || jump.Index != 1 {
		t.Errorf("line 5: target %+v counters %+v index %d", jump.Target, jump.Counters, jump.Index)
	}
	if jump.JumpChain() != chainOf(t, rs, "nat", "ISTIO_PRERT") || jump.Text != "counter packets 18 bytes 1080 jump ISTIO_PRERT" || jump.Handle != 0 {
		t.Errorf("line 5 jumps to %v, text %q", jump.JumpChain(), jump.Text)
	}

	redirect := ruleAt(t, rs, 27)
	want := Rule{
		Destination: Field{Value: "127.0.0.1", Not: true},
		Protocol:    Field{Value: "tcp"},
		Counters:    Counters{Packets: 18, Bytes: 1080, Valid: true},
		Matches: []Match{
			{Module: "tcp", Options: []Option{{Name: "dport", Args: []string{"15008"}, Not: true}}},
			{Module: "mark", Options: []Option{{Name: "mark", Args: []string{"0x539/0xfff"}, Not: true}}},
		},
		Target: Target{Name: "REDIRECT", Options: []Option{{Name: "to-ports", Args: []string{"15006"}}}},
	}
	got := Rule{Destination: redirect.Destination, Protocol: redirect.Protocol, Counters: redirect.Counters,
		Matches: redirect.Matches, Target: redirect.Target}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("line 27:\n got %+v\nwant %+v", got, want)
	}

	// iptables-nft prints untranslatable matches as xt expressions.
	snat := ruleAt(t, rs, 22)
	if len(snat.Matches) != 2 || snat.Matches[0].Module != "owner" || snat.Matches[1].Module != "set" {
		t.Errorf("line 22 matches %+v", snat.Matches)
	}
	if snat.Target.Name != "SNAT" || snat.Target.Options[0].Arg() != "169.254.7.127" {
		t.Errorf("line 22 target %+v", snat.Target)
	}
	if c := chainOf(t, rs, "mangle", "KUBE-KUBELET-CANARY"); len(c.Rules) != 0 || c.Line != 75 {
		t.Errorf("empty chain: %d rules, line %d", len(c.Rules), c.Line)
	}
}

func TestParseNftNativeAmbient(t *testing.T) {
	rs := ParseNft(readFixture(t, "ambient-native.nft"))
	noErrors(t, rs)
	if len(rs.Tables) != 4 {
		t.Fatalf("%d tables, want 4", len(rs.Tables))
	}
	nat := rs.Table("inet", "istio-ambient-nat")
	if nat == nil || len(nat.Chains) != 5 {
		t.Fatalf("istio-ambient-nat: %+v", nat)
	}
	// The set block (with its wrapped elements) is skipped, not read as chains.
	if nat.Chain("istio-inpod-probes-v4") != nil {
		t.Error("set read as a chain")
	}
	// `# handle N` is a comment.
	if r := ruleAt(t, rs, 11); !reflect.DeepEqual(r.Target, Target{Name: "istio-prerouting"}) || r.JumpChain() != nat.Chain("istio-prerouting") || r.Handle != 4 {
		t.Errorf("line 11 target %+v handle %d", r.Target, r.Handle)
	}
	snat := ruleAt(t, rs, 21)
	if snat.Destination.Value != "@istio-inpod-probes-v4" || snat.Target.Name != "SNAT" {
		t.Errorf("line 21: daddr %q target %+v", snat.Destination.Value, snat.Target)
	}
	dns := ruleAt(t, rs, 31)
	if dns.OutInterface != (Field{Value: "lo", Not: true}) || dns.Protocol.Value != "udp" {
		t.Errorf("line 31: oifname %+v protocol %+v", dns.OutInterface, dns.Protocol)
	}
	zone := ruleAt(t, rs, 63)
	if zone.Target.Name != "CT" || zone.Target.Options[0].Name != "zone" || zone.Target.Options[0].Arg() != "1" {
		t.Errorf("line 63 target %+v", zone.Target)
	}
	accept := ruleAt(t, rs, 69)
	wantMatches := []Match{
		{Module: "multiport", Options: []Option{{Name: "dports", Args: []string{"80,443,8000:8080"}}}},
		{Module: "conntrack", Options: []Option{{Name: "ctstate", Args: []string{"ESTABLISHED,RELATED"}}}},
	}
	if !reflect.DeepEqual(accept.Matches, wantMatches) || accept.Target.Name != "ACCEPT" {
		t.Errorf("line 69: matches %+v target %+v", accept.Matches, accept.Target)
	}
	reject := ruleAt(t, rs, 70)
	if reject.Canonical() != `-A INPUT -p tcp -m connmark --mark 0x1/0xffffffff -m comment --comment "mirrord flush" -j REJECT --reject-with tcp-reset` {
		t.Errorf("line 70 canonical %s", reject.Canonical())
	}
}

func TestParseNftStatements(t *testing.T) {
	tests := []struct {
		rule    string
		target  Target
		effects []Target
		matches []Match
	}{
		{
			rule:    "meta mark & 0x00000fff == 0x00000539 counter packets 0 bytes 0 ct mark set ct mark & 0xfffff000 | 0x00000111",
			target:  Target{Name: "CONNMARK", Options: []Option{{Name: "set-xmark", Args: []string{"0x111/0xfff"}}}},
			matches: []Match{{Module: "mark", Options: []Option{{Name: "mark", Args: []string{"0x539/0xfff"}}}}},
		},
		{
			rule:    "ct mark and 0xfff == 0x111 counter meta mark set ct mark",
			target:  Target{Name: "CONNMARK", Options: []Option{{Name: "restore-mark"}, {Name: "nfmask", Args: []string{"0xffffffff"}}, {Name: "ctmask", Args: []string{"0xffffffff"}}}},
			matches: []Match{{Module: "connmark", Options: []Option{{Name: "mark", Args: []string{"0x111/0xfff"}}}}},
		},
		{
			rule:   "meta mark set mark or 0x4000",
			target: Target{Name: "MARK", Options: []Option{{Name: "set-xmark", Args: []string{"0x4000/0x4000"}}}},
		},
		{
			rule:   "meta mark set mark xor 0x4000",
			target: Target{Name: "MARK", Options: []Option{{Name: "set-xmark", Args: []string{"0x4000/0x0"}}}},
		},
		{
			rule:   "ct mark set meta mark & 0xff",
			target: Target{Name: "CONNMARK", Options: []Option{{Name: "save-mark"}, {Name: "nfmask", Args: []string{"0xff"}}, {Name: "ctmask", Args: []string{"0xffffffff"}}}},
		},
		{
			rule:    "meta l4proto tcp tproxy ip to 127.0.0.1:15006 meta mark set 0x111 accept",
			target:  Target{Name: "ACCEPT"},
			effects: []Target{{Name: "TPROXY", Options: []Option{{Name: "on-port", Args: []string{"15006"}}, {Name: "on-ip", Args: []string{"127.0.0.1"}}}}, {Name: "MARK", Options: []Option{{Name: "set-xmark", Args: []string{"0x111/0xffffffff"}}}}},
		},
		{
			rule:    "ip daddr 10.96.0.10 udp dport 53 counter dnat to 10.244.0.2:53",
			target:  Target{Name: "DNAT", Options: []Option{{Name: "to-destination", Args: []string{"10.244.0.2:53"}}}},
			matches: []Match{{Module: "udp", Options: []Option{{Name: "dport", Args: []string{"53"}}}}},
		},
		{
			rule:    `meta skuid 1337 log prefix "istio: " level warn goto ISTIO_REDIRECT`,
			target:  Target{Name: "ISTIO_REDIRECT", Goto: true},
			effects: []Target{{Name: "LOG", Options: []Option{{Name: "log-prefix", Args: []string{"istio: "}}, {Name: "log-level", Args: []string{"warn"}}}}},
			matches: []Match{{Module: "owner", Options: []Option{{Name: "uid-owner", Args: []string{"1337"}}}}},
		},
		{
			rule:   "reject with icmp type port-unreachable",
			target: Target{Name: "REJECT", Options: []Option{{Name: "reject-with", Args: []string{"icmp-port-unreachable"}}}},
		},
		{
			// Unknown statements and verdict maps are skipped; a failed
			// mark parse adds nothing.
			rule:   "fib daddr type local meta mark & zzz == 1 numgen random mod 2 vmap { 0 : jump A, 1 : jump B } counter",
			target: Target{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			rs := ParseNft([]byte("table ip t {\n\tchain c {\n\t\t" + tt.rule + "\n\t}\n}\n"))
			noErrors(t, rs)
			r := ruleAt(t, rs, 3)
			if !reflect.DeepEqual(r.Target, tt.target) {
				t.Errorf("target\n got %+v\nwant %+v", r.Target, tt.target)
			}
			if !reflect.DeepEqual(r.Effects, tt.effects) {
				t.Errorf("effects\n got %+v\nwant %+v", r.Effects, tt.effects)
			}
			if !reflect.DeepEqual(r.Matches, tt.matches) {
				t.Errorf("matches\n got %+v\nwant %+v", r.Matches, tt.matches)
			}
		})
	}
}

func TestNftHandle(t *testing.T) {
	for in, want := range map[string]uint64{
		"accept # handle 12":                      12,
		"accept":                                  0,
		`comment "x # handle 3" accept`:           0,
		`comment "x" accept # handle 9`:           9,
		"accept # handle 99999999999999999999999": 0,
	} {
		if got := nftHandle(in); got != want {
			t.Errorf("nftHandle(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestParseNftWrappedRule(t *testing.T) {
	in := "table inet t {\n\tchain c {\n\t\ttcp dport { 80,\n\t\t\t443 } accept\n\t\tdrop\n\t}\n}\n"
	rs := ParseNft([]byte(in))
	noErrors(t, rs)
	r := ruleAt(t, rs, 3)
	if r.Text != "tcp dport { 80,\n\t\t\t443 } accept" || r.Target.Name != "ACCEPT" {
		t.Errorf("wrapped rule text %q target %q", r.Text, r.Target.Name)
	}
	if p := r.DestPorts(); len(p) != 1 || len(p[0].Ranges) != 2 {
		t.Errorf("ports %+v", p)
	}
	if ruleAt(t, rs, 5).Index != 2 {
		t.Error("rule after the wrapped one is not second")
	}
}

func TestParseNftErrors(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		want  []string
		rules int
	}{
		{"not a table", "chain x {\n}\n", []string{"1: expected `table FAMILY NAME {`", "2: expected `table FAMILY NAME {`"}, 0},
		{"table never closed", "table ip t {\n\tchain c {\n\t\taccept\n", []string{"2: chain c not closed"}, 1},
		{"unknown table line", "table ip t {\n\tbogus line here\n}\n", []string{"2: unexpected line in table"}, 0},
		{"unterminated string", "table ip t {\n\tchain c {\n\t\tcomment \"x\n\t\tdrop\n\t}\n}\n", []string{"3: unterminated quote"}, 1},
		{"rule braces never close", "table ip t {\n\tchain c {\n\t\ttcp dport { 80\n", []string{"3: rule not closed before the end of the input"}, 0},
		{"chain twice", "table ip t {\n\tchain c {\n\t}\n\tchain c {\n\t\tdrop\n\t}\n}\n", []string{"4: chain c listed twice"}, 1},
		{"text after brace", "table ip t {\n\tchain c {\n\t} junk\n}\n", []string{"3: text after the chain's closing brace"}, 0},
		{"huge line", "table ip t {\n\tchain c {\n\t\t" + strings.Repeat("x", MaxLineBytes) + "\n\t\tdrop\n\t}\n}\n", []string{"3: line longer than 262144 bytes, skipped"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := ParseNft([]byte(tt.in))
			if got := errorSummary(rs); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors %q, want %q", got, tt.want)
			}
			if n := ruleCount(rs); n != tt.rules {
				t.Errorf("%d rules, want %d", n, tt.rules)
			}
		})
	}
}
