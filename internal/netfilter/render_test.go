package netfilter

import (
	"strings"
	"testing"
)

func TestCanonicalNormalises(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		// iptables-save's field order, -m for the implicit match, prefix negation.
		{"-A C -p tcp --dport 53 -s 10.0.0.0/8 -m mark --mark ! 0x1 -j ACCEPT",
			"-A C -s 10.0.0.0/8 -p tcp -m tcp --dport 53 -m mark ! --mark 0x1 -j ACCEPT"},
		// Targets last; quoting only where needed.
		{`-A C -j LOG --log-prefix "a b" -m comment --comment "x"`,
			`-A C -m comment --comment x -j LOG --log-prefix "a b"`},
		{`-A C -m comment --comment "say \"hi\" \\o/" -m comment --comment "" -m comment --comment "!" -m comment --comment "--x"`,
			`-A C -m comment --comment "say \"hi\" \\o/" -m comment --comment "" -m comment --comment "!" -m comment --comment "--x"`},
		{"[1:2] -A C -c 3 4 -f -g D", "-A C -f -g D"},
	}
	for _, tt := range tests {
		rs := ParseSave([]byte("*filter\n:C - [0:0]\n:D - [0:0]\n" + tt.in + "\nCOMMIT\n"))
		noErrors(t, rs)
		if got := ruleAt(t, rs, 4).Canonical(); got != tt.want {
			t.Errorf("Canonical(%s)\n got %s\nwant %s", tt.in, got, tt.want)
		}
	}
}

func TestCanonicalFindsDuplicates(t *testing.T) {
	rs := ParseSave(readFixture(t, "sidecar-mirrord.save"))
	seen := map[string]int{}
	dups := 0
	for _, r := range chainOf(t, rs, "nat", "ISTIO_OUTPUT").Rules {
		k := r.Canonical()
		if first, ok := seen[k]; ok {
			dups++
			if r.Index-first != 9 {
				t.Errorf("rule %d repeats rule %d", r.Index, first)
			}
			continue
		}
		seen[k] = r.Index
	}
	if dups != 9 {
		t.Errorf("%d duplicate rules in ISTIO_OUTPUT, want 9", dups)
	}
}

func TestAppendCanonicalRename(t *testing.T) {
	rs := ParseSave(readFixture(t, "kube-proxy-ambient-host.save"))
	r := ruleAt(t, rs, 79)
	got := string(r.AppendCanonical(nil, GenericChainName))
	want := `-A KUBE-SVC-* -m comment --comment "kube-system/kube-dns:dns-tcp -> 10.244.0.2:53" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-*`
	if got != want {
		t.Errorf("renamed\n got %s\nwant %s", got, want)
	}
	for in, want := range map[string]string{
		"KUBE-SVC-NPX46M4PTMTKRN6Y": "KUBE-SVC-*", "KUBE-FW-NPX46M4PTMTKRN6Y": "KUBE-FW-*",
		"KUBE-SVC-npx46m4ptmtkrn6y": "KUBE-SVC-npx46m4ptmtkrn6y", "KUBE-SVC-SHORT": "KUBE-SVC-SHORT",
		"KUBE-SERVICES": "KUBE-SERVICES", "KUBE-SEP-NPX46M4PTMTKRN61": "KUBE-SEP-NPX46M4PTMTKRN61",
	} {
		if got := GenericChainName(in); got != want {
			t.Errorf("GenericChainName(%q) = %q, want %q", in, got, want)
		}
	}
}

// A dump written back reads as the same rule set, for every fixture and
// every format.
func TestAppendSaveRoundTrip(t *testing.T) {
	for _, name := range []string{"sidecar-mirrord.save", "ambient-inpod.save", "kube-proxy-ambient-host.save", "cilium-mangle.rules", "cilium-filter.rules"} {
		rs := Parse(readFixture(t, name))
		noErrors(t, rs)
		once := rs.AppendSave(nil)
		again := ParseSave(once)
		noErrors(t, again)
		if twice := again.AppendSave(nil); string(twice) != string(once) {
			t.Errorf("%s: second dump differs:\n%s\nfirst:\n%s", name, twice, once)
		}
		if ruleCount(again) != ruleCount(rs) {
			t.Errorf("%s: %d rules after the round trip, want %d", name, ruleCount(again), ruleCount(rs))
		}
	}
	rs := ParseSave([]byte("*nat\n:PREROUTING ACCEPT [3:180]\n:X - [0:0]\n[1:60] -A PREROUTING -j X\n-A X -j RETURN\nCOMMIT\n"))
	want := "*nat\n:PREROUTING ACCEPT [3:180]\n:X - [0:0]\n[1:60] -A PREROUTING -j X\n-A X -j RETURN\nCOMMIT\n"
	if got := string(rs.AppendSave(nil)); got != want {
		t.Errorf("dump\n%s\nwant\n%s", got, want)
	}
	if strings.Count(want, "COMMIT") != 1 {
		t.Fatal("bad test")
	}
}
