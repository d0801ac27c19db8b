// Package analysistest runs analyzers over YAML test inputs whose
// expectations are written beside them, as golang.org/x/tools' analysistest
// does: a comment `# want: MD101` (several codes separated by spaces) on
// the line a finding's first location must point at. A file without such
// comments must produce no finding at all: that is the negative case.
package analysistest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/decode"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/source/files"
)

var wantRE = regexp.MustCompile(`#\s*want:\s*((?:MD[0-9]{3}\s*)+)`)

// Load reads files into a snapshot, failing the test on input errors.
func Load(t testing.TB, paths ...string) *snapshot.Snapshot {
	t.Helper()
	return LoadProjected(t, nil, paths...)
}

// LoadProjected loads decoding only the fields reads names (nil: all).
func LoadProjected(t testing.TB, reads map[schema.GroupKind][]string, paths ...string) *snapshot.Snapshot {
	t.Helper()
	dec, err := decode.New()
	if err != nil {
		t.Fatal(err)
	}
	res := (&files.Loader{Decoder: dec, Reads: reads}).Load(context.Background(), paths)
	for _, e := range res.Errors {
		t.Errorf("input error: %v", e)
	}
	b := snapshot.NewBuilder()
	for _, o := range res.Objects {
		b.Add(o)
	}
	return b.Build()
}

// Run analyzes each file on its own (plus the shared files, which must
// carry no expectations) with the analyzers and compares every finding's
// primary file:line and code with the file's `# want:` comments for the
// codes of those analyzers.
// It returns the findings per file for further assertions.
func Run(t *testing.T, analyzers []*analysis.Analyzer, shared []string, testFiles ...string) map[string][]analysis.Finding {
	t.Helper()
	out := map[string][]analysis.Finding{}
	for _, file := range testFiles {
		t.Run(filepath.Base(file), func(t *testing.T) {
			snap := Load(t, append([]string{file}, shared...)...)
			res := analysis.Run(context.Background(), snap, analysis.RunConfig{Analyzers: analyzers})
			for _, e := range res.Errors {
				t.Errorf("analyzer error: %s", e)
			}
			codes := map[string]bool{}
			for _, a := range analyzers {
				codes[a.Code] = true
			}
			want := wants(t, file, codes)
			got := map[string]int{}
			for _, f := range res.Findings {
				if len(f.Locations) == 0 {
					t.Errorf("%s finding has no location: %s", f.Code, f.Message)
					continue
				}
				checkComplete(t, f)
				got[fmt.Sprintf("%s:%d %s", f.Locations[0].File, f.Locations[0].Line, f.Code)]++
			}
			compare(t, want, got)
			out[file] = res.Findings
			// The same findings, to the letter, when only the fields the
			// analyzers declare they read are decoded.
			reads, ok := analysis.Projections(analyzers)
			if !ok {
				return
			}
			projected := analysis.Run(context.Background(), LoadProjected(t, reads, append([]string{file}, shared...)...), analysis.RunConfig{Analyzers: analyzers})
			full, _ := json.Marshal(res.Findings)
			proj, _ := json.Marshal(projected.Findings)
			if string(full) != string(proj) {
				t.Errorf("findings differ when decoding only the declared reads (a missing Reads declaration?)\nfull:      %s\nprojected: %s", full, proj)
			}
		})
	}
	return out
}

// checkComplete enforces what every finding owes its reader.
func checkComplete(t *testing.T, f analysis.Finding) {
	t.Helper()
	if f.Message == "" || f.Remedy == "" || len(f.Evidence) == 0 || f.Fingerprint == "" {
		t.Errorf("%s finding lacks message, evidence, remedy or fingerprint: %+v", f.Code, f)
	}
}

// wants reads the expectations of file for the given codes only.
func wants(t *testing.T, file string, codes map[string]bool) map[string]int {
	t.Helper()
	fh, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	out := map[string]int{}
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 1; sc.Scan(); line++ {
		m := wantRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		for _, code := range strings.Fields(m[1]) {
			if !codes[code] {
				continue
			}
			out[fmt.Sprintf("%s:%d %s", file, line, code)]++
		}
	}
	return out
}

func compare(t *testing.T, want, got map[string]int) {
	t.Helper()
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if want[k] != got[k] {
			t.Errorf("%s: want %d finding(s), got %d", k, want[k], got[k])
		}
	}
}
