package cli

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
)

// BenchmarkAnalyzeSnapshot runs `meshdoctor analyze DIR -o json` in-process on
// a generated snapshot (bench/gen) named by MESHDOCTOR_BENCH_DIR, so that
// `go test -bench AnalyzeSnapshot -cpuprofile/-memprofile` can see the whole
// run. MESHDOCTOR_BENCH_CHECKS, when set, is passed as --check (to profile
// the reader with little decoding, say). bench/run.sh measures the built
// binary instead.
func BenchmarkAnalyzeSnapshot(b *testing.B) {
	dir := os.Getenv("MESHDOCTOR_BENCH_DIR")
	if dir == "" {
		b.Skip("set MESHDOCTOR_BENCH_DIR to a bench/gen output directory")
	}
	for b.Loop() {
		var out bytes.Buffer
		root := NewRoot(Streams{In: bytes.NewReader(nil), Out: &out, Err: io.Discard}, BuildInfo{Version: "bench"})
		args := []string{"analyze", dir, "-o", "json", "--fail-on", "none"}
		if checks := os.Getenv("MESHDOCTOR_BENCH_CHECKS"); checks != "" {
			args = append(args, "--check", checks)
		}
		root.SetArgs(args)
		if err := root.Execute(); err != nil {
			var ee *ExitError
			if !errors.As(err, &ee) || ee.Code != 0 {
				b.Fatal(err)
			}
		}
		if out.Len() == 0 {
			b.Fatal("no report written")
		}
	}
}
