// Package fixes applies the fixes meshdoctor prints to the objects they
// target and analyzes again: each applied fix must make its finding go away
// and must not bring a new one. (Applying them to a live API server is the
// live-mode tests' job.)
package fixes

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	"sigs.k8s.io/yaml"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analysis/analysistest"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/all"
)

func analyze(t *testing.T, dir string) []analysis.Finding {
	t.Helper()
	reg, err := all.Registry()
	if err != nil {
		t.Fatal(err)
	}
	snap := analysistest.Load(t, dir)
	res := analysis.Run(context.Background(), snap, analysis.RunConfig{Analyzers: reg.All()})
	if len(res.Errors) > 0 {
		t.Fatal(res.Errors)
	}
	return res.Findings
}

func fingerprints(fs []analysis.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Code+" "+f.Subject.String()+" "+f.Fingerprint)
	}
	sort.Strings(out)
	return out
}

// applyFix patches the file holding the fix's target in place.
func applyFix(t *testing.T, f analysis.Finding) {
	t.Helper()
	file := f.Locations[0].File
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	ops, _ := json.Marshal(f.Fix.Patch)
	patch, err := jsonpatch.DecodePatch(ops)
	if err != nil {
		t.Fatalf("%s: the fix is not a valid JSON patch: %v", f.Code, err)
	}
	out, err := patch.Apply(js)
	if err != nil {
		t.Fatalf("%s: the fix does not apply: %v", f.Code, err)
	}
	back, _ := yaml.JSONToYAML(out)
	if err := os.WriteFile(file, back, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestIncidentCFixesResolveTheIncident applies, one at a time, the fix of
// the first finding that has one, re-analyzing after each (the patches
// guard list positions with a "test" operation, so each fix is taken from a
// fresh analysis), until nothing is left.
func TestIncidentCFixesResolveTheIncident(t *testing.T) {
	dir := t.TempDir()
	src := "../../examples/incidents/c-istio-cni-upgrade/input"
	ents, _ := os.ReadDir(src)
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(src, e.Name()))
		os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644)
	}
	// The pods are what the kubelet made from the old template; once the
	// DaemonSet is fixed they are replaced, so they leave the input.
	os.Remove(filepath.Join(dir, "pods.yaml"))

	before := analyze(t, dir)
	if len(before) != 5 {
		t.Fatalf("want the incident's 5 findings before fixing, got %v", fingerprints(before))
	}
	for step := 0; step < 10; step++ {
		fs := analyze(t, dir)
		var fix *analysis.Finding
		for i := range fs {
			if fs[i].Fix != nil {
				fix = &fs[i]
				break
			}
		}
		if fix == nil {
			if len(fs) != 0 {
				t.Fatalf("findings without a fix remain: %v", fingerprints(fs))
			}
			return
		}
		prev := map[string]bool{}
		for _, f := range fs {
			prev[f.Fingerprint] = true
		}
		applyFix(t, *fix)
		after := analyze(t, dir)
		for _, f := range after {
			if f.Fingerprint == fix.Fingerprint {
				t.Fatalf("step %d: %s is still reported after applying its fix", step, fix.Code)
			}
			if !prev[f.Fingerprint] {
				t.Fatalf("step %d: applying %s's fix brought a new finding: %s %s", step, fix.Code, f.Code, f.Message)
			}
		}
		if len(after) >= len(fs) {
			t.Fatalf("step %d: applying %s's fix did not reduce the findings: %v -> %v", step, fix.Code, fingerprints(fs), fingerprints(after))
		}
	}
	t.Fatal("fixes did not converge")
}
