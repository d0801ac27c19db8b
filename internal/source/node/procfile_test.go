package node

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseStat(t *testing.T) {
	tail := " 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 4512 1 2 3\n"
	for _, tc := range []struct {
		name, in string
		want     statFields
		err      string
	}{
		{"plain", "812 (conmon) S 1" + tail, statFields{"conmon", 1, 4512}, ""},
		// comm may hold spaces and parentheses: fields count after the last ')'.
		{"parens and spaces", "77 ((sd-pam) x) y) S 76" + tail, statFields{"(sd-pam) x) y", 76, 4512}, ""},
		{"kernel thread", "2 (kthreadd) S 0" + tail, statFields{"kthreadd", 0, 4512}, ""},
		{"starttime last, with newline", "9 (a) S 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 777\n", statFields{"a", 1, 777}, ""},
		{"short", "9 (a) S 1 0 0\n", statFields{}, "fewer than 22 fields"},
		{"no comm", "9 a S 1" + tail, statFields{}, "no (comm)"},
		{"bad ppid", "9 (a) S x" + tail, statFields{}, "ppid"},
		{"bad starttime", "9 (a) S 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 -5 1\n", statFields{}, "starttime"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStat([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestParseNofile(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     Limit
		err      bool
	}{
		{"numbers", limitsFile("1024", "524288"), Limit{1024, 524288}, false},
		{"unlimited", limitsFile("1048576", "unlimited"), Limit{1048576, rlimInfinity}, false},
		{"no line", "Limit  Soft Limit  Hard Limit  Units\n", Limit{}, true},
		{"garbage", limitsFile("lots", "10"), Limit{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseNofile([]byte(tc.in))
			if (err != nil) != tc.err || got != tc.want {
				t.Errorf("got %+v, %v; want %+v (error %v)", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"/usr/bin/conmon\x00-c\x009f1\x00", []string{"/usr/bin/conmon", "-c", "9f1"}},
		{"nginx: worker process", []string{"nginx: worker process"}}, // rewritten, no NUL
		{"a\x00\x00b\x00", []string{"a", "", "b"}},
		{"", []string{}}, // kernel thread or zombie
	} {
		if got := splitNul([]byte(tc.in)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("splitNul(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got, want := splitLines([]byte("0::/a\n1:cpu:/b\n")), []string{"0::/a", "1:cpu:/b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("splitLines = %q, want %q", got, want)
	}
}

func TestBootTime(t *testing.T) {
	got, err := bootTime([]byte("cpu 1 2\nbtime 1795075200\n"))
	if err != nil || got.Unix() != 1795075200 {
		t.Errorf("bootTime = %v, %v", got, err)
	}
	if _, err := bootTime([]byte("cpu 1 2\n")); err == nil {
		t.Error("no btime line: no error")
	}
}

func TestFirstLines(t *testing.T) {
	for in, want := range map[string]string{
		"":                         "",
		"one\n":                    "one",
		"\n  a  \n\nb\nc\nd\n":     "a | b | c",
		"iptables: No chain\n\n\n": "iptables: No chain",
	} {
		if got := firstLines([]byte(in)); got != want {
			t.Errorf("firstLines(%q) = %q, want %q", in, got, want)
		}
	}
}
