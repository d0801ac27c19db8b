package netfilter

import (
	"sync"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/netfilter/netfiltertest"
)

var bigDump = sync.OnceValues(func() ([]byte, int) { return netfiltertest.KubeProxyDump(200_000) })

// BenchmarkParseSaveKubeProxy200k parses and classifies an iptables-save
// of about 200,000 kube-proxy rules (issue 5's budget: well under 1 s).
func BenchmarkParseSaveKubeProxy200k(b *testing.B) {
	data, rules := bigDump()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rs := ParseSave(data)
		if rs.Err() != nil {
			b.Fatal(rs.Err())
		}
	}
	b.ReportMetric(float64(rules), "rules")
}

// BenchmarkCanonicalKubeProxy200k renders every rule with node-specific
// chain names made generic, as a comparison across nodes would.
func BenchmarkCanonicalKubeProxy200k(b *testing.B) {
	data, _ := bigDump()
	rs := ParseSave(data)
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		for r := range rs.Rules() {
			buf = r.AppendCanonical(buf[:0], GenericChainName)
		}
	}
}

func TestKubeProxyDumpIsWhatTheBenchmarkClaims(t *testing.T) {
	data, rules := netfiltertest.KubeProxyDump(2_000)
	rs := ParseSave(data)
	noErrors(t, rs)
	if got := ruleCount(rs); got != rules || rules < 1_900 {
		t.Fatalf("%d rules parsed, generator says %d", got, rules)
	}
	for c := range rs.Chains() {
		if want := OwnerKubeProxy; !c.Builtin && c.Owner != want {
			t.Errorf("chain %s owner %v", c.Name, c.Owner)
		}
		if !c.Builtin && c.Name != "KUBE-MARK-MASQ" && c.Hooks != HookPrerouting|HookOutput && c.Name != "KUBE-POSTROUTING" && c.Name != "KUBE-NODEPORTS" {
			t.Errorf("chain %s hooks %v", c.Name, c.Hooks)
		}
	}
}

// BenchmarkParseSidecarPod parses one pod's dump: the common case, where
// fixed costs (first slab chunks, maps) dominate.
func BenchmarkParseSidecarPod(b *testing.B) {
	data := readFixture(b, "sidecar-mirrord.save")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if rs := Parse(data); rs.Err() != nil {
			b.Fatal(rs.Err())
		}
	}
}
