package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const incidentD = "../../examples/incidents/d-cilium-kubenet-migration/input"

// TestLooseHubbleOutput: `hubble observe -o json` saved by hand and given
// next to the manifests is recognised by its content and joined to them;
// a hand-saved file that is neither a manifest nor a command's output is
// an input error (exit 2) and the rest is still analyzed.
func TestLooseHubbleOutput(t *testing.T) {
	dir := t.TempDir()
	flows, err := os.ReadFile(filepath.Join(incidentD, "cilium/node-c1/hubble-flows.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "drops.json"), flows, 0o644); err != nil {
		t.Fatal(err)
	}
	cluster, err := filepath.Abs(filepath.Join(incidentD, "cluster"))
	if err != nil {
		t.Fatal(err)
	}
	out, stderr, code := run(t, dir, "", "analyze", cluster, "drops.json", "-o", "json", "--check", "MD411")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (an error finding): %s", code, stderr)
	}
	var r reportJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	fs, errs := r.simplified()
	if len(errs) != 0 || len(fs) != 1 || !strings.Contains(fs[0], "MD411 NetworkPolicy/468205436992-default/wetown-java-ingress") || !strings.Contains(fs[0], "drops.json:1") {
		t.Errorf("findings %q, input errors %q", fs, errs)
	}

	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hubble was not installed\n"), 0o644)
	out, _, code = run(t, dir, "", "analyze", cluster, "drops.json", "notes.txt", "-o", "json", "--check", "MD411")
	if code != 2 {
		t.Errorf("an unreadable file: exit %d, want 2", code)
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	fs, errs = r.simplified()
	if len(fs) != 1 || len(errs) != 1 || !strings.Contains(errs[0], "notes.txt") {
		t.Errorf("findings %q, input errors %q", fs, errs)
	}
}
