package all

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
)

// TestDocPagesMatchTheAnalyzers fails when docs/codes drifts from the
// analyzers' own documentation. Regenerate with:
//
//	go run ./cmd/meshdoctor codes --markdown docs/codes
func TestDocPagesMatchTheAnalyzers(t *testing.T) {
	reg, err := Registry()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "..", "..", "docs", "codes")
	want := map[string]bool{}
	for _, a := range reg.All() {
		name := a.Code + ".md"
		want[name] = true
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v (regenerate docs/codes)", name, err)
			continue
		}
		if string(got) != a.Markdown() {
			t.Errorf("docs/codes/%s differs from the analyzer's doc (regenerate docs/codes)", name)
		}
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if !want[e.Name()] {
			t.Errorf("docs/codes/%s belongs to no analyzer", e.Name())
		}
	}
}

// TestRegistryIsValid checks every analyzer's declaration.
func TestRegistryIsValid(t *testing.T) {
	reg, err := Registry()
	if err != nil {
		t.Fatal(err)
	}
	if len(reg.All()) < 6 {
		t.Errorf("only %d analyzers registered", len(reg.All()))
	}
}

// TestEveryCheckDeclaresItsReads: one analyzer or fact without a Reads
// declaration makes the loader decode every field of every object (memory
// and time grow by half or more), silently. Keep the projection on.
func TestEveryCheckDeclaresItsReads(t *testing.T) {
	reg, err := Registry()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := analysis.Projections(reg.All()); !ok {
		t.Fatal("some analyzer or fact has no Reads declaration: the loader would decode everything")
	}
}

// TestConfigMapsReadOnlyWhenNeeded: a live read lists the kinds the
// selected checks need (analysis.NeededKinds), so ConfigMaps are read only
// when a selected check (or a fact it requires) reads them: not for the
// node-agent checks alone, and always for MD101 (configMapKeyRef keys).
func TestConfigMapsReadOnlyWhenNeeded(t *testing.T) {
	reg, err := Registry()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		checks string
		want   bool
	}{{"MD401,MD402", false}, {"MD101", true}} {
		as, err := reg.Select([]string{c.checks})
		if err != nil {
			t.Fatal(err)
		}
		got := false
		for _, gk := range analysis.NeededKinds(as) {
			got = got || gk.Group == "" && gk.Kind == "ConfigMap"
		}
		if got != c.want {
			t.Errorf("checks %s: ConfigMaps needed %v, want %v (%v)", c.checks, got, c.want, analysis.NeededKinds(as))
		}
	}
}
