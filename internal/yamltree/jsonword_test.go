package yamltree

import (
	"strings"
	"testing"
)

// FuzzJSONWords holds the word-at-a-time searches to the byte-by-byte
// loops they replace, from every starting index.
func FuzzJSONWords(f *testing.F) {
	f.Add("            \"name\": \"x\\\"y\",\n        {[]}\x02\x0c\x7f\xff\x80 ,")
	f.Add(strings.Repeat(" ", 17) + "\t\r\n")
	f.Add("abcdefgh\"ijklmnop\\")
	f.Add(`{"x": "}}}}}}}}}}]]]]]]]]]]", "y": {"z": {"w": "ab}cdefg]hijklmn", "v": 1}}, "u": 2}`)
	f.Add(`{"a": 1, "bbbbbbbb": "xx{xxxxxxxx[", "c": 1}`)
	f.Add(`{"a": {"b": ["]", "\\"}", {}], "c": "{{{{{{{{{{"}, "d": [[[[[[[[]]]]]]]]}, "e"`)
	f.Fuzz(func(t *testing.T, s string) {
		for i := 0; i <= len(s); i++ {
			want := i
			for want < len(s) && s[want] == ' ' {
				want++
			}
			if got := pastSpaces(s, i); got != want {
				t.Fatalf("pastSpaces(%q, %d) = %d, want %d", s, i, got, want)
			}
			want, wantHigh := i, false
			for want < len(s) && s[want] != '"' && s[want] != '\\' && s[want] >= 0x20 {
				wantHigh = wantHigh || s[want] >= 0x80
				want++
			}
			if got, high := plainRun(s, i); got != want || high != wantHigh {
				t.Fatalf("plainRun(%q, %d) = %d, %v, want %d, %v", s, i, got, high, want, wantHigh)
			}
			want = i
			for want < len(s) && s[want] != '"' && s[want] != '\\' {
				want++
			}
			if got := toQuoteOrEscape(s, i); got != want {
				t.Fatalf("toQuoteOrEscape(%q, %d) = %d, want %d", s, i, got, want)
			}
			// toStructural may also stop at 0x02 and 0x0c, which skipValue
			// passes over; never past a byte it acts on.
			want = i
			for want < len(s) && !skipStop[s[want]] {
				want++
			}
			got := toStructural(s, i)
			if got > want || got < i {
				t.Fatalf("toStructural(%q, %d) = %d, want %d", s, i, got, want)
			}
			for j := i; j < got; j++ {
				if skipStop[s[j]] {
					t.Fatalf("toStructural(%q, %d) = %d passes over %q", s, i, got, s[j])
				}
			}
			if got < want && s[got] != 0x02 && s[got] != 0x0c {
				t.Fatalf("toStructural(%q, %d) = %d stops at %q", s, i, got, s[got])
			}
		}
		for i := 0; i < len(s); i++ {
			if s[i] != '{' && s[i] != '[' {
				continue
			}
			end, deepest, ok := pastCollection(s, i)
			wantEnd, wantDeepest, wantOK := bytewiseEnd(s, i)
			if end != wantEnd || ok != wantOK || deepest < wantDeepest {
				t.Fatalf("pastCollection(%q, %d) = %d, %d, %v, want %d, at least %d, %v", s, i, end, deepest, ok, wantEnd, wantDeepest, wantOK)
			}
		}
		if len(s) >= 8 {
			w := word(s, 0)
			var eq, control uint64
			for j := 0; j < 8; j++ {
				bit := uint64(0x80) << (8 * j)
				if s[j] == '"' {
					eq |= bit
				}
				if s[j] < 0x20 {
					control |= bit
				}
			}
			if bytesEqual(w, '"') != eq || bytesControl(w) != control {
				t.Fatalf("%q: marks %x %x, want %x %x", s[:8], bytesEqual(w, '"'), bytesControl(w), eq, control)
			}
		}
	})
}

// bytewiseEnd is pastCollection a byte at a time, with the exact deepest
// nesting.
func bytewiseEnd(s string, i int) (int, int, bool) {
	depth, deepest, inString := 0, 0, false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
			if depth == 0 {
				return i + 1, deepest, true
			}
		}
	}
	return len(s), deepest, false
}
