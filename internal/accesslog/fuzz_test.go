package accesslog

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

func within(sub, b []byte) bool {
	if len(sub) == 0 {
		return true
	}
	s, e := uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(unsafe.Pointer(unsafe.SliceData(sub)))
	return e >= s && e+uintptr(len(sub)) <= s+uintptr(len(b))
}

func FuzzParseLine(f *testing.F) {
	for _, l := range strings.Split(ztunnelLines, "\n") {
		f.Add(l)
	}
	for _, l := range []string{lineUF, line200, "[pod/a/b] 2025-03-04T09:13:02Z " + lineUF + "\r\n",
		`[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "10.0.35.28" "nsq2http" "cc21d9b0" "locations" "tcp://10.0.2.1:80"`,
		`{"response_code":503,"response_flags":"UF","upstream_cluster":"outbound|80||a;","path":"\u00e9\"x","n":{"a":[1,{"b":"]"}]}}`,
		`{"scope":"access","src.addr":"1.2.3.4:5","error":"x"}`,
		`[2025-03-04T09:12:33.512Z] "GET / HTTP/1.1" 200 - via_upstream - "-" 0 1 2 - "-" "a" "b" "c" "[::1]:80" inbound|80|| - [::1]:80 [::1]:5 - -`,
		"2025-02-11T10:00:00Z error access connection complete error=\"\\u{e9}\\\"\" dst.service=x",
		"", "[", "{", "\x00\xff",
	} {
		f.Add(l)
	}
	p := NewParser()
	f.Fuzz(func(t *testing.T, line string) {
		b := []byte(line)
		var r, r2 Record
		fm, ok := p.ParseLine(b, &r)
		if !ok {
			if fm != nil {
				t.Fatal("format without a match")
			}
			return
		}
		for fl := range numFields {
			if !within(r.Raw(fl), b) {
				t.Fatalf("%s is not a sub-slice of the line", fl)
			}
			_ = r.String(fl)
		}
		if !within(r.Pod, b) || !within(r.Container, b) || !within(r.KubeTime, b) {
			t.Fatal("kubectl wrapper values not in the line")
		}
		r.Failure()
		r.Code()
		r.Duration()
		r.Time()
		r.Flags()
		ParseCluster(r.String(FieldUpstreamCluster))
		_ = r.GoString()
		// The same line with a line ending reads the same.
		b2 := append(append([]byte(nil), b...), '\n')
		if fm2, ok := p.ParseLine(b2, &r2); !ok || fm2 != fm {
			t.Fatalf("with a newline: %v %v", fm2, ok)
		}
		for fl := range numFields {
			if r.Has(fl) != r2.Has(fl) || r.String(fl) != r2.String(fl) {
				t.Fatalf("%s differs with a newline: %q vs %q", fl, r.String(fl), r2.String(fl))
			}
		}
	})
}

// FuzzCompileFormat compiles format strings; a TEXT format that compiles
// must read back a line rendered from it.
func FuzzCompileFormat(f *testing.F) {
	for _, s := range []string{IstioTextFormat, IstioTextFormat15, EnvoyTextFormat, IstioJSONFormat,
		`[%START_TIME(%Y/%m/%d %s)%] %REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH):64% %RESPONSE_CODE% 100%% "%REQ(USER-AGENT)%"`,
		`%RESPONSE_CODE%|%RESPONSE_FLAGS%|%UPSTREAM_CLUSTER_RAW%`, `%A(b)c%`, `%%%`, `x%PROTOCOL%x%DURATION%`, `{"a":"%DURATION%","b":"%RESPONSE_CODE%"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fm, err := CompileFormat(s)
		if err != nil {
			return
		}
		_ = fm.Fields()
		if fm.kind != kindText {
			return
		}
		// Values made of characters no literal holds, so the rendered line
		// can only be split one way.
		lits := string(fm.lead)
		for _, st := range fm.steps {
			lits += string(st.lit)
		}
		pick := func(cands string) string {
			for _, c := range cands {
				if !strings.ContainsRune(lits, c) {
					return string(c)
				}
			}
			return ""
		}
		digit, letter := pick("0123456789"), pick("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
		if digit == "" || letter == "" {
			return
		}
		line := string(fm.lead)
		exp := map[Field]string{}
		for i, st := range fm.steps {
			var v string
			switch st.kind {
			case vNumber, vCode:
				v = strings.Repeat(digit, 1+i%3)
			case vTime:
				v = digit + letter
			default:
				v = letter + strings.Repeat(digit, i%2) + letter
			}
			if st.field != fieldNone {
				exp[st.field] = v
			}
			line += v + string(st.lit)
		}
		var r Record
		got, ok := NewParser(fm).ParseLine([]byte(line), &r)
		if !ok {
			// A built-in format cannot take precedence; only an unusual
			// leading literal (a kubectl-like prefix) or trailing
			// CR/LF literal can hide the line.
			if strings.HasPrefix(line, "[pod/") || strings.HasSuffix(line, "\r") || strings.HasSuffix(line, "\n") || len(line) > 0 && line[0] >= '0' && line[0] <= '9' {
				return
			}
			t.Fatalf("format %q does not read back %q", s, line)
		}
		if got != fm {
			return // an earlier reading of the same line (kubectl-like prefix, JSON)
		}
		for fl, v := range exp {
			if r.String(fl) != v && !(v == "-") {
				t.Fatalf("format %q, line %q: %s = %q, want %q", s, line, fl, r.String(fl), v)
			}
		}
	})
}

// FuzzScan checks that a scan in tiny chunks over several workers gives
// the summary of a serial scan, and counts every line.
func FuzzScan(f *testing.F) {
	f.Add([]byte(lineUF+"\n"+line200+"\n\n"+ztunnelLines+"junk\r\n"+lineUF), uint8(3), uint16(100))
	f.Add(genInput(12), uint8(2), uint16(700))
	f.Add([]byte("\n\n\nx"), uint8(1), uint16(64))
	f.Fuzz(func(t *testing.T, data []byte, workers uint8, chunk uint16) {
		ctx := context.Background()
		serial, err := (&Scanner{Workers: 1, ChunkSize: 64 << 10, MaxLineLen: 63, Samples: 2}).Scan(ctx, []Input{{Name: "f", R: bytes.NewReader(data)}})
		if err != nil {
			t.Fatal(err)
		}
		want := int64(bytes.Count(data, []byte("\n")))
		if len(data) > 0 && data[len(data)-1] != '\n' {
			want++
		}
		if serial.Lines != want || serial.Lines != serial.Matched+serial.Unmatched+serial.Blank {
			t.Fatalf("counts %+v, want %d lines", serial.Counts, want)
		}
		var n int64
		for _, g := range serial.Groups {
			n += g.Count
		}
		if n != serial.Matched {
			t.Fatalf("groups hold %d records, %d matched", n, serial.Matched)
		}
		s := &Scanner{Workers: 1 + int(workers%4), ChunkSize: 64 + int(chunk%2048), MaxLineLen: 63, Samples: 2}
		par, err := s.Scan(ctx, []Input{{Name: "f", R: bytes.NewReader(data)}})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(serial, par) {
			diffSummaries(t, serial, par)
			t.Fatalf("workers %d chunk %d differ from a serial scan", s.Workers, s.ChunkSize)
		}
	})
}
