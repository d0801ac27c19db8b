package cilium

import (
	"bytes"
	"testing"
)

// benchInput repeats the lines of a testdata sample up to n lines.
func benchInput(b *testing.B, name string, n int) []byte {
	src := bytes.Split(bytes.TrimRight(readTestdata(b, name), "\n"), []byte{'\n'})
	var buf bytes.Buffer
	for i := range n {
		buf.Write(src[i%len(src)])
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

func BenchmarkParseHubbleJSON(b *testing.B) {
	data := benchInput(b, "hubble-flows.json", 10_000)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if flows, _, errs := ParseHubbleJSON(data); len(flows) != 8000 || len(errs) != 0 {
			b.Fatalf("%d flows, %v", len(flows), errs)
		}
	}
}

func BenchmarkParseHubbleText(b *testing.B) {
	data := benchInput(b, "hubble-observe.txt", 10_000)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if flows, _, errs := ParseHubbleText(data); len(flows) != 8000 || len(errs) != 0 {
			b.Fatalf("%d flows, %v", len(flows), errs)
		}
	}
}

func BenchmarkParseCTList(b *testing.B) {
	data := benchInput(b, "bpf-ct-list.txt", 10_500)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if entries, errs := ParseCTList(data); len(entries) != 10_500 || len(errs) != 0 {
			b.Fatalf("%d entries, %v", len(entries), errs)
		}
	}
}
