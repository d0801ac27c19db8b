package input_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/analysis/analysistest"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/input"
)

func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.yaml")
	got := analysistest.Run(t, input.Analyzers(), nil, files...)
	for _, f := range got["testdata/unknown_positive.yaml"] {
		if f.Locations[0].Field == ".spec.http[0].route[0].destination.subnet" && !strings.Contains(f.Message, "VirtualService has no field") {
			t.Errorf("message %q", f.Message)
		}
	}
}
