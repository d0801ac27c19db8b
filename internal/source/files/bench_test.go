package files

import (
	"context"
	"os"
	"testing"
)

// BenchmarkLoadSnapshot loads a generated snapshot (bench/gen) named by
// MESHDOCTOR_BENCH_DIR; bench/run.sh measures the whole binary instead.
func BenchmarkLoadSnapshot(b *testing.B) {
	dir := os.Getenv("MESHDOCTOR_BENCH_DIR")
	if dir == "" {
		b.Skip("set MESHDOCTOR_BENCH_DIR to a bench/gen output directory")
	}
	l := newLoader(b, "")
	for b.Loop() {
		res := l.Load(context.Background(), []string{dir})
		if len(res.Errors) > 0 {
			b.Fatal(res.Errors[0])
		}
		b.ReportMetric(float64(len(res.Objects)), "objects")
	}
}
