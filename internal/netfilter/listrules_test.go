package netfilter

import (
	"reflect"
	"testing"
)

func TestParseListRulesCiliumMangle(t *testing.T) {
	rs := ParseListRules(readFixture(t, "cilium-mangle.rules"), "mangle")
	noErrors(t, rs)
	if rs.Format != FormatListRules || len(rs.Tables) != 1 {
		t.Fatalf("format %v with %d tables", rs.Format, len(rs.Tables))
	}
	tb := rs.Tables[0]
	if tb.Name != "mangle" || tb.Line != 0 || tb.Family != "" || len(tb.Chains) != 10 {
		t.Errorf("table %s/%s line %d, %d chains", tb.Family, tb.Name, tb.Line, len(tb.Chains))
	}
	pre := chainOf(t, rs, "mangle", "PREROUTING")
	if !pre.Builtin || pre.Policy != "ACCEPT" || pre.Line != 2 || pre.Counters != (Counters{Packets: 48211, Bytes: 9930112, Valid: true}) {
		t.Errorf("PREROUTING: builtin %v policy %q line %d counters %+v", pre.Builtin, pre.Policy, pre.Line, pre.Counters)
	}
	feeder := ruleAt(t, rs, 12)
	if feeder.Counters != (Counters{Packets: 48211, Bytes: 9930112, Valid: true}) || feeder.Comment() != "cilium-feeder: CILIUM_PRE_mangle" {
		t.Errorf("feeder counters %+v comment %q", feeder.Counters, feeder.Comment())
	}
	if feeder.JumpChain() != chainOf(t, rs, "mangle", "CILIUM_PRE_mangle") {
		t.Errorf("feeder jumps to %v", feeder.JumpChain())
	}
	tp := ruleAt(t, rs, 15)
	wantTarget := Target{Name: "TPROXY", Options: []Option{
		{Name: "on-port", Args: []string{"37641"}},
		{Name: "on-ip", Args: []string{"127.0.0.1"}},
		{Name: "tproxy-mark", Args: []string{"0x200/0xffffffff"}},
	}}
	if !reflect.DeepEqual(tp.Target, wantTarget) {
		t.Errorf("line 15 target %+v", tp.Target)
	}
	old := chainOf(t, rs, "mangle", "OLD_CILIUM_PRE_mangle")
	if old.Builtin || old.Hooks != 0 || old.Owner != OwnerCilium {
		t.Errorf("OLD_ chain: builtin %v hooks %v owner %v", old.Builtin, old.Hooks, old.Owner)
	}
}

func TestParseListRulesDefaultsToFilter(t *testing.T) {
	rs := ParseListRules(readFixture(t, "cilium-filter.rules"), "")
	noErrors(t, rs)
	if tb := rs.Tables[0]; tb.Name != "filter" || tb.Family != "ip" {
		t.Errorf("table %s/%s, want ip/filter", tb.Family, tb.Name)
	}
	if n := ruleCount(rs); n != 13 {
		t.Errorf("%d rules, want 13", n)
	}
	if got := chainOf(t, rs, "filter", "CILIUM_FORWARD").Rules[2].InInterface; got != (Field{Value: "lxc+"}) {
		t.Errorf("third CILIUM_FORWARD rule -i = %+v", got)
	}
}

func TestParseListRulesErrors(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		want  []string
		rules int
	}{
		{"save-only lines are not -S", "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n",
			[]string{"1: not a rule, chain or table line", "2: not a rule, chain or table line", "3: not a rule, chain or table line"}, 0},
		{"policy arguments", "-P INPUT\n-P INPUT ACCEPT -c 1\n-P INPUT ACCEPT -c a b\n",
			[]string{"1: -P takes a chain, a policy and optional -c counters", "2: -P takes a chain, a policy and optional -c counters", `3: -c needs two counts, got "a" "b"`}, 0},
		{"-N twice", "-N X\n-N X\n-N\n", []string{"2: chain X already declared on line 1", "3: -N takes one chain name"}, 0},
		{"rule before its chain", "-A X -j ACCEPT\n-N X\n", []string{"1: chain X is not declared", "2: chain X declared after its rules"}, 1},
		{"bad chain names", "-N -X\n-A \"a b\" -j ACCEPT\n", []string{"1: bad chain name", "2: bad chain name"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := ParseListRules([]byte(tt.in), "filter")
			if got := errorSummary(rs); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors %q, want %q", got, tt.want)
			}
			if n := ruleCount(rs); n != tt.rules {
				t.Errorf("%d rules, want %d", n, tt.rules)
			}
		})
	}
}
