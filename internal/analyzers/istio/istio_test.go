package istio_test

import (
	"context"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"path/filepath"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/analysis/analysistest"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/istio"
)

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test inputs: %v", err)
	}
	analysistest.Run(t, istio.Analyzers(), nil, files...)
}

// TestUnknownIsNotMissing: with only Istio config in the input, hosts and
// pods cannot be judged; the checks say so instead of reporting.
func TestUnknownIsNotMissing(t *testing.T) {
	snap := analysistest.Load(t, "testdata/routing_unchecked.yaml")
	res := analysis.Run(context.Background(), snap, analysis.RunConfig{Analyzers: istio.Analyzers()})
	if len(res.Findings) != 0 {
		t.Fatalf("findings on unknown input: %+v", res.Findings)
	}
	notes := map[string]string{}
	for _, n := range res.NotChecked {
		notes[n.Code] += n.Reason + "\n"
	}
	for code, want := range map[string]string{
		"MD201": "the input has no Services of namespace bookinfo",
		"MD203": "the input has no Services of namespace bookinfo",
	} {
		if !strings.Contains(notes[code], want) {
			t.Errorf("%s not-checked notes %q lack %q", code, notes[code], want)
		}
	}
}
