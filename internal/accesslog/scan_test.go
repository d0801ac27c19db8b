package accesslog

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/meshdoctor/meshdoctor/internal/accesslog/accesslogtest"
)

const (
	lineUF  = `[2025-03-04T09:12:33.512Z] "GET /api/v1/orders HTTP/1.1" 503 UF upstream_reset_before_response_started{remote_connection_failure|delayed_connect_error:_Connection_refused} - "delayed connect error: Connection refused" 0 143 2 - "-" "curl/8.5.0" "5b6f3c1e" "orders.shop:8080" "10.244.3.17:8080" outbound|8080||orders.shop.svc.cluster.local - 10.96.41.20:8080 10.244.1.9:51234 - default`
	line200 = `[2025-03-04T09:12:34.000Z] "GET /api/v1/orders HTTP/1.1" 200 - via_upstream - "-" 0 1000 5 4 "-" "curl/8.5.0" "5b6f3c1f" "orders.shop:8080" "10.244.3.17:8080" outbound|8080||orders.shop.svc.cluster.local 10.244.1.9:40000 10.96.41.20:8080 10.244.1.9:51235 - default`
)

func scan(t *testing.T, s Scanner, inputs ...Input) *Summary {
	t.Helper()
	sum, err := s.Scan(context.Background(), inputs)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func TestScanMixed(t *testing.T) {
	jsonUF := `{"start_time":"2025-03-04T09:12:35.000Z","response_code":503,"response_flags":"UF","response_code_details":"upstream_reset_before_response_started{remote_connection_failure|delayed_connect_error:_Connection_refused}","upstream_cluster":"outbound|8080||orders.shop.svc.cluster.local","route_name":"default","protocol":"HTTP/1.1"}`
	zt := strings.Split(ztunnelLines, "\n")
	a := strings.Join([]string{
		lineUF,
		"[pod/orders-v1-abc/istio-proxy] " + line200,
		"",
		"2025-11-20T10:00:00.000000Z\tinfo\txds\tconnected",
		jsonUF + "\r",
		zt[1],
		zt[1],
		"garbage \x00\xff",
	}, "\n") // no newline at the end
	b := line200 + "\n" + lineUF + "\n"
	sum := scan(t, Scanner{Samples: 2}, Input{Name: "a.log", R: strings.NewReader(a)}, Input{Name: "b.log", R: strings.NewReader(b)})

	if sum.Counts != (Counts{Lines: 10, Matched: 7, Unmatched: 2, Blank: 1}) {
		t.Errorf("counts %+v", sum.Counts)
	}
	if len(sum.Groups) != 3 {
		t.Fatalf("%d groups: %+v", len(sum.Groups), sum.Groups)
	}
	uf := sum.Groups[0]
	wantKey := Key{Cluster: "outbound|8080||orders.shop.svc.cluster.local", Route: "default", Code: 503, Flags: "UF", Details: "upstream_reset_before_response_started{remote_connection_failure|delayed_connect_error:_Connection_refused}"}
	if uf.Key != wantKey || uf.Count != 3 || uf.Failures != 3 || !uf.Failure() {
		t.Errorf("UF group %+v", uf)
	}
	if uf.First != (Position{File: "a.log", Line: 1, Time: "2025-03-04T09:12:33.512Z"}) || uf.Last != (Position{File: "b.log", Line: 2, Time: "2025-03-04T09:12:33.512Z"}) {
		t.Errorf("UF first %v last %v", uf.First, uf.Last)
	}
	if len(uf.Samples) != 2 || uf.Samples[0].Text != lineUF || uf.Samples[1].Position != (Position{File: "a.log", Line: 5, Time: "2025-03-04T09:12:35.000Z"}) || uf.Samples[1].Text != jsonUF {
		t.Errorf("UF samples %+v", uf.Samples)
	}
	ok := sum.Groups[2] // ties go by key: "" (ztunnel) first
	if ok.Key.Code != 200 || ok.Count != 2 || ok.Failures != 0 || ok.First.Line != 2 || ok.Last != (Position{File: "b.log", Line: 1, Time: "2025-03-04T09:12:34.000Z"}) {
		t.Errorf("200 group %+v", ok)
	}
	if ok.Samples[0].Text != "[pod/orders-v1-abc/istio-proxy] "+line200 {
		t.Errorf("sample loses the kubectl prefix: %q", ok.Samples[0].Text)
	}
	zg := sum.Groups[1]
	if zg.Key != (Key{Code: -1, Service: "details.bookinfo.svc.cluster.local", Error: "connection closed due to policy rejection: allow policies exist, but none allowed"}) || zg.Count != 2 || zg.First.Line != 6 || zg.Last.Line != 7 {
		t.Errorf("ztunnel group %+v", zg)
	}
	if len(sum.UnmatchedSamples) != 2 || sum.UnmatchedSamples[0].Position != (Position{File: "a.log", Line: 4}) || sum.UnmatchedSamples[1].Text != "garbage \x00\uFFFD" {
		t.Errorf("unmatched samples %+v", sum.UnmatchedSamples)
	}
	wantFormats := []FormatCount{{"istio", 4}, {"json", 1}, {"ztunnel", 2}}
	if !reflect.DeepEqual(sum.Formats, wantFormats) {
		t.Errorf("formats %+v", sum.Formats)
	}
	if f := sum.Files[0]; f.Lines != 8 || f.Unmatched != 2 || f.Gzip || f.Bytes != int64(len(a)) || f.Read != int64(len(a)) || f.Err != nil {
		t.Errorf("a.log stats %+v", f)
	}
	if f := sum.Files[1]; f.Lines != 2 || !reflect.DeepEqual(f.Formats, []FormatCount{{"istio", 2}}) {
		t.Errorf("b.log stats %+v", f)
	}
	if sum.Bytes != int64(len(a)+len(b)) {
		t.Errorf("bytes %d", sum.Bytes)
	}
}

// genInput is a generated log several chunks long, with blank, unmatched,
// over-long and JSON lines mixed in.
func genInput(n int) []byte {
	g := accesslogtest.New(accesslogtest.Options{Seed: 7, Clusters: 40})
	gj := accesslogtest.New(accesslogtest.Options{Seed: 8, Clusters: 40, JSON: true})
	var b []byte
	for i := range n {
		switch {
		case i%997 == 0:
			b = append(b, "not an access log line\n"...)
		case i%1999 == 0:
			b = append(b, '\n')
		case i%4001 == 0:
			b = append(b, bytes.Repeat([]byte("x"), 9000)...)
			b = append(b, '\n')
		case i%5 == 0:
			b = gj.Append(b)
		default:
			b = g.Append(b)
		}
	}
	return b
}

// The summary is the same whatever the number of workers and the chunk
// size: groups, first/last positions and samples are those of a serial run.
func TestScanParallelEqualsSerial(t *testing.T) {
	data := genInput(30000)
	second := accesslogtest.Lines(accesslogtest.Options{Seed: 9, Clusters: 40, Prefix: true}, 3000)
	run := func(workers, chunk int) *Summary {
		return scan(t, Scanner{Workers: workers, ChunkSize: chunk, MaxLineLen: 8192, Samples: 4},
			Input{Name: "one.log", R: bytes.NewReader(data)},
			Input{Name: "two.log", R: iotest.HalfReader(bytes.NewReader(second))})
	}
	serial := run(1, 1<<20)
	if serial.Lines != 33000 || serial.TooLong == 0 || serial.Blank == 0 || serial.Unmatched <= serial.TooLong {
		t.Fatalf("input not as planned: %+v", serial.Counts)
	}
	if len(serial.Groups) < 100 {
		t.Fatalf("only %d groups", len(serial.Groups))
	}
	for _, tc := range []struct{ workers, chunk int }{{2, 64 << 10}, {4, 16 << 10}, {3, 1 << 20}, {1, 10000}} {
		got := run(tc.workers, tc.chunk)
		if !reflect.DeepEqual(got, serial) {
			t.Errorf("workers %d chunk %d: summary differs from the serial one", tc.workers, tc.chunk)
			diffSummaries(t, serial, got)
		}
	}
	// And it agrees with parsing the lines one by one.
	var r Record
	p := NewParser()
	counts := map[Key]int64{}
	for _, in := range [][]byte{data, second} {
		for _, l := range bytes.Split(bytes.TrimSuffix(in, []byte("\n")), []byte("\n")) {
			if len(l) > 8192 {
				continue
			}
			if _, ok := p.ParseLine(l, &r); ok {
				counts[makeKey(&r)]++
			}
		}
	}
	if len(counts) != len(serial.Groups) {
		t.Errorf("%d keys line by line, %d groups", len(counts), len(serial.Groups))
	}
	for _, g := range serial.Groups {
		if counts[g.Key] != g.Count {
			t.Errorf("%v: %d line by line, %d scanned", g.Key, counts[g.Key], g.Count)
		}
	}
}

func diffSummaries(t *testing.T, a, b *Summary) {
	t.Helper()
	if a.Counts != b.Counts {
		t.Errorf("counts %+v vs %+v", a.Counts, b.Counts)
	}
	if !reflect.DeepEqual(a.UnmatchedSamples, b.UnmatchedSamples) {
		t.Errorf("unmatched samples %+v vs %+v", a.UnmatchedSamples, b.UnmatchedSamples)
	}
	if !reflect.DeepEqual(a.Files, b.Files) {
		t.Errorf("files %+v vs %+v", a.Files, b.Files)
	}
	for i := range min(len(a.Groups), len(b.Groups)) {
		if !reflect.DeepEqual(a.Groups[i], b.Groups[i]) {
			t.Errorf("group %d:\n%+v\n%+v", i, a.Groups[i], b.Groups[i])
			return
		}
	}
}

func gzipped(t *testing.T, parts ...string) []byte {
	var buf bytes.Buffer
	for _, p := range parts { // several members, as `cat a.gz b.gz` gives
		zw := gzip.NewWriter(&buf)
		if _, err := zw.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func TestScanGzip(t *testing.T) {
	plain := lineUF + "\n" + line200 + "\n"
	gz := gzipped(t, plain, plain)
	sum := scan(t, Scanner{}, Input{Name: "rotated.log.1", R: bytes.NewReader(gz)})
	f := sum.Files[0]
	if !f.Gzip || f.Lines != 4 || f.Matched != 4 || f.Read != int64(len(gz)) || f.Bytes != int64(2*len(plain)) {
		t.Errorf("gzip input: %+v", f)
	}
}

func TestScanTruncatedGzip(t *testing.T) {
	data := genInput(5000)
	gz := gzipped(t, string(data))
	cut := gz[:len(gz)*2/3]
	s := Scanner{Workers: 2, ChunkSize: 32 << 10}
	sum, err := s.Scan(context.Background(), []Input{
		{Name: "cut.log.gz", R: bytes.NewReader(cut)},
		{Name: "next.log", R: strings.NewReader(lineUF + "\n")},
	})
	var re *ReadError
	if !errors.As(err, &re) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("error %v, want a ReadError wrapping io.ErrUnexpectedEOF", err)
	}
	f := sum.Files[0]
	if re != f.Err || re.File != "cut.log.gz" || re.Line != f.Lines || re.Offset != f.Bytes || f.Lines < 1000 || f.Lines >= 5000 {
		t.Errorf("error %+v, file %+v", re, f)
	}
	if !strings.HasPrefix(re.Error(), fmt.Sprintf("cut.log.gz: read error after line %d (byte %d)", f.Lines, f.Bytes)) {
		t.Errorf("message %q", re.Error())
	}
	if len(sum.Errors) != 1 || sum.Files[1].Lines != 1 || sum.Files[1].Err != nil {
		t.Errorf("the next input was not scanned: %+v", sum.Files[1])
	}
	// What was read is what a serial scan of the same bytes counts.
	sum2, _ := (&Scanner{Workers: 1}).Scan(context.Background(), []Input{{Name: "cut.log.gz", R: bytes.NewReader(cut)}})
	if sum2.Files[0].Counts != f.Counts {
		t.Errorf("serial %+v parallel %+v", sum2.Files[0].Counts, f.Counts)
	}
}

func TestScanBrokenGzipHeader(t *testing.T) {
	sum, err := (&Scanner{}).Scan(context.Background(), []Input{{Name: "bad.gz", R: bytes.NewReader([]byte{0x1f, 0x8b, 1})}})
	if err == nil || sum.Files[0].Err == nil || sum.Files[0].Lines != 0 {
		t.Errorf("broken gzip header: %v %+v", err, sum.Files[0])
	}
}

type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

// Lines longer than MaxLineLen, inside a chunk or longer than a chunk, are
// unmatched and TooLong, and the lines after them keep their numbers.
func TestScanLongLines(t *testing.T) {
	long1 := strings.Repeat("a", 3000)    // within a chunk
	long2 := strings.Repeat("b", 50000)   // longer than the chunk
	long3 := strings.Repeat("c", 5000000) // much longer, at the end, no newline
	data := lineUF + "\n" + long1 + "\n" + line200 + "\n" + long2 + "\n" + lineUF + "\n" + long3
	for _, workers := range []int{1, 2} {
		sum := scan(t, Scanner{Workers: workers, ChunkSize: 8192, MaxLineLen: 2048, Samples: 6}, Input{Name: "l", R: iotest.OneByteReader(strings.NewReader(data[:200000]) /* slow path */)}, Input{Name: "m", R: strings.NewReader(data)})
		f := sum.Files[1]
		if f.Counts != (Counts{Lines: 6, Matched: 3, Unmatched: 3, TooLong: 3}) || f.Bytes != int64(len(data)) {
			t.Errorf("workers %d: %+v", workers, f)
		}
		var lines []int64
		for _, s := range sum.UnmatchedSamples {
			if s.File == "m" {
				lines = append(lines, s.Line)
				if len(s.Text) > MaxSampleLen {
					t.Errorf("sample of %d bytes", len(s.Text))
				}
			}
		}
		if !reflect.DeepEqual(lines, []int64{2, 4, 6}) {
			t.Errorf("unmatched at %v", lines)
		}
		if g := sum.Groups[0]; g.Key.Code != 503 || g.Last != (Position{File: "m", Line: 5, Time: "2025-03-04T09:12:33.512Z"}) {
			t.Errorf("group after long lines: %+v", g)
		}
	}
}

func TestScanReadErrorMidway(t *testing.T) {
	boom := errors.New("boom")
	sum, err := (&Scanner{}).Scan(context.Background(), []Input{{Name: "x", R: &failingReader{data: []byte(lineUF + "\n" + line200[:40]), err: boom}}})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	if f := sum.Files[0]; f.Lines != 2 || f.Matched != 1 || f.Unmatched != 1 || f.Err.Line != 2 {
		t.Errorf("%+v %+v", f, f.Err)
	}
}

func TestScanProgressAndCancel(t *testing.T) {
	data := genInput(20000)
	var last, lastLines int64
	calls := 0
	s := Scanner{ChunkSize: 64 << 10, Progress: func(n, lines int64) {
		if n < last || lines < lastLines {
			t.Errorf("progress went back: %d bytes, %d lines after %d, %d", n, lines, last, lastLines)
		}
		last, lastLines = n, lines
		calls++
	}}
	sum := scan(t, s, Input{Name: "a", R: bytes.NewReader(data)}, Input{Name: "b", R: bytes.NewReader(data)})
	if last != int64(2*len(data)) || calls < 10 {
		t.Errorf("progress ended at %d after %d calls, want %d", last, calls, 2*len(data))
	}
	if lastLines == 0 || lastLines > sum.Lines {
		t.Errorf("progress counted %d lines; the scan parsed %d", lastLines, sum.Lines)
	}

	ctx, cancel := context.WithCancel(context.Background())
	s = Scanner{ChunkSize: 16 << 10, Progress: func(n, _ int64) {
		if n > 100<<10 {
			cancel()
		}
	}}
	sum, err := s.Scan(ctx, []Input{{Name: "a", R: bytes.NewReader(data)}})
	if !errors.Is(err, context.Canceled) || sum == nil || sum.Lines >= 20000 {
		t.Errorf("cancel: %v, %+v", err, sum)
	}
}

func TestScanNoSamplesNoInputs(t *testing.T) {
	sum := scan(t, Scanner{Samples: -1}, Input{Name: "a", R: strings.NewReader(lineUF + "\nx\n")}, Input{Name: "nil"})
	if len(sum.Groups) != 1 || sum.Groups[0].Samples != nil || sum.UnmatchedSamples != nil || sum.Files[1].Lines != 0 {
		t.Errorf("%+v", sum)
	}
	sum = scan(t, Scanner{})
	if sum.Lines != 0 || len(sum.Files) != 0 {
		t.Errorf("%+v", sum)
	}
}

func TestCustomFormatScan(t *testing.T) {
	f, err := CompileNamedFormat("short", `%RESPONSE_CODE% %RESPONSE_FLAGS% %UPSTREAM_CLUSTER_RAW% %ROUTE_NAME%`)
	if err != nil {
		t.Fatal(err)
	}
	sum := scan(t, Scanner{Formats: []*Format{f}}, Input{Name: "c", R: strings.NewReader("503 UH outbound|80||a.b.svc.cluster.local r1\n200 - outbound|80||a.b.svc.cluster.local r1\n" + lineUF + "\n")})
	if sum.Matched != 3 || !reflect.DeepEqual(sum.Formats, []FormatCount{{"short", 2}, {"istio", 1}}) {
		t.Errorf("%+v %+v", sum.Counts, sum.Formats)
	}
}
