package accesslog

import (
	"bytes"
	"context"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/accesslog/accesslogtest"
)

func benchParse(b *testing.B, data []byte) {
	lines := bytes.SplitAfter(data, []byte("\n"))
	lines = lines[:len(lines)-1]
	b.SetBytes(int64(len(data)) / int64(len(lines)))
	p := NewParser()
	var r Record
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := p.ParseLine(lines[i], &r); !ok {
			b.Fatalf("no match: %q", lines[i])
		}
		if i++; i == len(lines) {
			i = 0
		}
	}
}

func BenchmarkParseLineIstioText(b *testing.B) {
	benchParse(b, accesslogtest.Lines(accesslogtest.Options{}, 1000))
}

func BenchmarkParseLineIstioJSON(b *testing.B) {
	benchParse(b, accesslogtest.Lines(accesslogtest.Options{JSON: true}, 1000))
}

func BenchmarkParseLineKubectlPrefix(b *testing.B) {
	benchParse(b, accesslogtest.Lines(accesslogtest.Options{Prefix: true}, 1000))
}

func BenchmarkParseLineZtunnel(b *testing.B) {
	benchParse(b, []byte(ztunnelLines))
}

func benchScan(b *testing.B, o accesslogtest.Options, workers int) {
	data := accesslogtest.Lines(o, 200_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		s := Scanner{Workers: workers}
		sum, err := s.Scan(context.Background(), []Input{{Name: "bench.log", R: bytes.NewReader(data)}})
		if err != nil || sum.Unmatched != 0 || sum.Lines != 200_000 {
			b.Fatalf("%v: %+v", err, sum.Counts)
		}
	}
}

func BenchmarkScanIstioText(b *testing.B)          { benchScan(b, accesslogtest.Options{}, 0) }
func BenchmarkScanIstioTextOneWorker(b *testing.B) { benchScan(b, accesslogtest.Options{}, 1) }
func BenchmarkScanIstioJSON(b *testing.B)          { benchScan(b, accesslogtest.Options{JSON: true}, 0) }
