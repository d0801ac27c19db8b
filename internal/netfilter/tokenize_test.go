package netfilter

import (
	"reflect"
	"testing"
)

func TestSplitWords(t *testing.T) {
	tests := []struct {
		in   string
		want []token
	}{
		{"-A X -j Y", []token{{text: "-A"}, {text: "X"}, {text: "-j"}, {text: "Y"}}},
		{"  a\t\tb  ", []token{{text: "a"}, {text: "b"}}},
		{`--comment "kubernetes service portals"`, []token{{text: "--comment"}, {text: "kubernetes service portals", quoted: true}}},
		{`--comment "a \"b\" c\\d"`, []token{{text: "--comment"}, {text: `a "b" c\d`, quoted: true}}},
		{`--comment ""`, []token{{text: "--comment"}, {text: "", quoted: true}}},
		// A quote inside a word continues it; the closing quote ends it.
		{`ab"c d"ef`, []token{{text: "abc d", quoted: true}, {text: "ef"}}},
		{`"x"y`, []token{{text: "x", quoted: true}, {text: "y"}}},
		// Backslashes outside quotes are ordinary characters.
		{`a\b`, []token{{text: `a\b`}}},
		{`"!"`, []token{{text: "!", quoted: true}}},
		{"", nil},
	}
	for _, tt := range tests {
		got, err := splitWords(nil, tt.in)
		if err != nil {
			t.Errorf("splitWords(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitWords(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func TestSplitWordsErrors(t *testing.T) {
	for _, in := range []string{`--comment "open`, `"a\`, `x "a\"`} {
		if _, err := splitWords(nil, in); err != errUnterminatedQuote {
			t.Errorf("splitWords(%q) error = %v, want %v", in, err, errUnterminatedQuote)
		}
	}
}

func TestIsOptionWord(t *testing.T) {
	tests := []struct {
		t    token
		want bool
	}{
		{token{text: "-j"}, true},
		{token{text: "--dport"}, true},
		{token{text: "-1"}, false},
		{token{text: "-"}, false},
		{token{text: "--x", quoted: true}, false},
		{token{text: "x"}, false},
	}
	for _, tt := range tests {
		if got := isOptionWord(tt.t); got != tt.want {
			t.Errorf("isOptionWord(%+v) = %v, want %v", tt.t, got, tt.want)
		}
	}
}
