package netfilter

import (
	"os"
	"strings"
	"testing"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// ruleAt returns the rule read from input line n.
func ruleAt(t testing.TB, rs *RuleSet, n int) *Rule {
	t.Helper()
	for r := range rs.Rules() {
		if r.Line == n {
			return r
		}
	}
	t.Fatalf("no rule on line %d", n)
	return nil
}

func chainOf(t testing.TB, rs *RuleSet, table, chain string) *Chain {
	t.Helper()
	tb := rs.Table("", table)
	if tb == nil {
		t.Fatalf("no table %s", table)
	}
	c := tb.Chain(chain)
	if c == nil {
		t.Fatalf("no chain %s in %s", chain, table)
	}
	return c
}

func noErrors(t testing.TB, rs *RuleSet) {
	t.Helper()
	if err := rs.Err(); err != nil {
		t.Fatalf("unexpected parse errors: %v", err)
	}
}

// errorSummary renders errors as "line: reason" for exact comparison.
func errorSummary(rs *RuleSet) []string {
	var out []string
	for _, e := range rs.Errors {
		out = append(out, strings.Join([]string{itoa(e.Line), e.Reason}, ": "))
	}
	return out
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func ruleCount(rs *RuleSet) int {
	n := 0
	for range rs.Rules() {
		n++
	}
	return n
}
