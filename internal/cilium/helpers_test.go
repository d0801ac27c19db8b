package cilium

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// noErrors fails on any error.
func noErrors(t *testing.T, errs []error) {
	t.Helper()
	for _, err := range errs {
		t.Errorf("unexpected error: %v", err)
	}
}

// errorLines returns each error as "line N: message" (message cut at
// want's length when want is shorter), to compare with an exact list.
func errorLines(errs []error) []string {
	var out []string
	for _, err := range errs {
		var le *LineError
		if errors.As(err, &le) {
			out = append(out, fmt.Sprintf("%d: %v", le.Line, le.Err))
		} else {
			out = append(out, err.Error())
		}
	}
	return out
}

// wantErrors compares errors with "N: message" strings exactly.
func wantErrors(t *testing.T, errs []error, want ...string) {
	t.Helper()
	got := errorLines(errs)
	if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Errorf("errors:\n got  %s\n want %s", strings.Join(got, "\n      "), strings.Join(want, "\n      "))
	}
}

func deepEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}
