package dataplane

import (
	"context"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/netfilter/netfiltertest"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/source/nodedump"
)

// BenchmarkHostKubeProxy200k reads an iptables-save of about 200,000
// kube-proxy rules as `meshdoctor node --input` does and runs every node
// check on it (issue 5's budget: parsed and analyzed under 1 s).
func BenchmarkHostKubeProxy200k(b *testing.B) {
	data, n := netfiltertest.KubeProxyDump(200_000)
	b.SetBytes(int64(len(data)))
	b.ReportMetric(float64(n), "rules")
	for b.Loop() {
		res := nodedump.ReadLoose([]nodedump.LooseFile{{Name: "host.txt", Data: data}}, nodedump.NetNSInfer)
		sb := snapshot.NewBuilder()
		sb.AddNode(res.Nodes[0])
		out := analysis.Run(context.Background(), sb.Build(), analysis.RunConfig{Analyzers: Analyzers()})
		if len(out.Findings) != 0 || len(out.Errors) != 0 || len(res.Errors) != 0 {
			b.Fatalf("findings %d, errors %v %v", len(out.Findings), out.Errors, res.Errors)
		}
	}
}
