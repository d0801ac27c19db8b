package e2e

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const incidentC = "../../examples/incidents/c-istio-cni-upgrade/input"

// A namespace with one warning (MD102) and nothing else.
const warningOnly = `apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: ns}
data: {LEVEL: info}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: ns}
spec:
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
      - name: app
        image: app:1
        envFrom: [{configMapRef: {name: cfg}}]
        env: [{name: LEVEL, value: debug}]
`

func TestExitCodesAreTheSameInEveryFormat(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "w.yaml"), []byte(warningOnly), 0o644)
	for _, format := range []string{"text", "json"} {
		for _, c := range []struct {
			failOn string
			want   int
		}{{"error", 0}, {"warning", 1}, {"info", 1}, {"none", 0}} {
			_, stderr, code := run(t, dir, "", "analyze", "w.yaml", "-o", format, "--fail-on", c.failOn)
			if code != c.want {
				t.Errorf("-o %s --fail-on %s: exit %d, want %d (%s)", format, c.failOn, code, c.want, stderr)
			}
		}
	}
}

func TestBadInputIsReportedAndTheRestAnalyzed(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "w.yaml"), []byte(warningOnly+"---\nkind: [\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "junk.yaml"), []byte("\x00\x01\x02binary\xff\xfe"), 0o644)
	for _, format := range []string{"text", "json"} {
		out, _, code := run(t, dir, "", "analyze", ".", "missing.yaml", "-o", format, "--fail-on", "none")
		if code != 2 {
			t.Errorf("-o %s: exit %d, want 2 (input errors win over findings and --fail-on)", format, code)
		}
		if !strings.Contains(out, "MD102") {
			t.Errorf("-o %s: the readable document was not analyzed:\n%s", format, out)
		}
		text := out
		if format == "json" {
			var r reportJSON
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatal(err)
			}
			_, errs := r.simplified()
			text = strings.Join(errs, " ")
		}
		for _, want := range []string{"w.yaml:20", "junk.yaml", "missing.yaml"} {
			if !strings.Contains(text, want) {
				t.Errorf("-o %s: no input error naming %s:\n%s", format, want, out)
			}
		}
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"analyze", incidentC, "--check", "no-such-check"},
		{"analyze", incidentC, "--suppress", "MD" + "999"},
		{"analyze", incidentC, "-o", "yaml"},
		{"analyze", incidentC, "--fail-on", "sometimes"},
		{"analyze", incidentC, "--no-such-flag"},
		{"analyze"},
		{"explain", "MD" + "999"},
	} {
		_, stderr, code := run(t, ".", "", args...)
		if code != 2 || !strings.Contains(stderr, "meshdoctor:") {
			t.Errorf("%v: exit %d, stderr %q; want 2 with a message", args, code, stderr)
		}
	}
}

func findingCodes(t *testing.T, out string) []string {
	t.Helper()
	var r reportJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	var codes []string
	for _, f := range r.Findings {
		codes = append(codes, f.Code)
	}
	return codes
}

func TestCheckSelectsAndSuppressHides(t *testing.T) {
	out, _, _ := run(t, incidentC, "", "analyze", ".", "-o", "json", "--check", "MD101,istio-cni-legacy-env")
	if got := strings.Join(findingCodes(t, out), " "); got != "MD101 MD103" {
		t.Errorf("--check MD101,istio-cni-legacy-env gave %s", got)
	}
	out, _, _ = run(t, incidentC, "", "analyze", ".", "-o", "json", "--check", "MD10*", "--suppress", "ssa-unpruned-field", "--suppress", "MD101=DaemonSet/kube-system/*", "--suppress", "MD102=Deployment/*")
	if got := strings.Join(findingCodes(t, out), " "); got != "MD103 MD102" {
		t.Errorf("suppression gave %s", got)
	}
}

func TestSuppressAnnotationAndStdin(t *testing.T) {
	annotated := strings.Replace(warningOnly, "metadata: {name: app, namespace: ns}", "metadata: {name: app, namespace: ns, annotations: {meshdoctor.io/suppress: \"env-shadows-envfrom\"}}", 1)
	out, _, code := run(t, ".", annotated, "analyze", "-", "-o", "json", "--fail-on", "warning")
	if codes := findingCodes(t, out); len(codes) != 0 || code != 0 {
		t.Errorf("annotation did not suppress: %v exit %d", codes, code)
	}
	out, _, code = run(t, ".", warningOnly, "analyze", "-", "--fail-on", "warning")
	if code != 1 || !strings.Contains(out, "-:18:15") {
		t.Errorf("stdin: exit %d, want 1 and a finding at -:18:\n%s", code, out)
	}
}

func TestCodesExplainVersion(t *testing.T) {
	out, _, code := run(t, ".", "", "codes")
	if code != 0 || !strings.Contains(out, "MD101") || !strings.Contains(out, "env-ref-missing") {
		t.Errorf("codes: exit %d\n%s", code, out)
	}
	out, _, code = run(t, ".", "", "explain", "env-ref-missing")
	if code != 0 || !strings.HasPrefix(out, "# MD101 env-ref-missing") {
		t.Errorf("explain: exit %d\n%s", code, out)
	}
	out, _, code = run(t, ".", "", "version")
	if code != 0 || !strings.HasPrefix(out, "meshdoctor ") {
		t.Errorf("version: exit %d %q", code, out)
	}
}

func TestSkippedChecksAreListed(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "s.yaml"), []byte("apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: ns}\nspec: {ports: [{port: 80}]}\n"), 0o644)
	out, _, code := run(t, dir, "", "analyze", ".", "-v")
	if code != 0 || !strings.Contains(out, "skipped MD101 env-ref-missing: needs Pod, Deployment") {
		t.Errorf("exit %d, skipped checks not listed:\n%s", code, out)
	}
	out, _, _ = run(t, dir, "", "analyze", ".", "-o", "json")
	var r struct {
		Skipped []struct{ Code, Reason string } `json:"skipped"`
	}
	json.Unmarshal([]byte(out), &r)
	if len(r.Skipped) == 0 {
		t.Errorf("JSON lists no skipped checks:\n%s", out)
	}
}

// TestBundleArchive packs incident (c) as a bundle (meta.json, cluster/,
// and a node folder the object loader must ignore) and expects the same
// findings, positioned inside the archive.
func TestBundleArchive(t *testing.T) {
	dir := t.TempDir()
	arch := filepath.Join(dir, "bundle.tar.gz")
	f, err := os.Create(arch)
	if err != nil {
		t.Fatal(err)
	}
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	add := func(name string, body []byte) {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write(body)
	}
	add("bundle/meta.json", []byte(`{"format": "meshdoctor-bundle/v1", "source": "cluster test"}`))
	add("bundle/nodes/node-1/procs.json", []byte(`[{"pid": 1, "comm": "systemd"}]`))
	ents, _ := os.ReadDir(incidentC)
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(incidentC, e.Name()))
		add("bundle/cluster/"+e.Name(), b)
	}
	tw.Close()
	gz.Close()
	f.Close()

	out, stderr, code := run(t, dir, "", "analyze", "bundle.tar.gz", "-o", "json", "--fail-on", "warning")
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, stderr)
	}
	var r reportJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	fs, errs := r.simplified()
	if len(fs) != 5 || len(errs) != 0 {
		t.Fatalf("findings %v errors %v", fs, errs)
	}
	want := "MD103 DaemonSet/kube-system/istio-cni-node @ bundle.tar.gz!bundle/cluster/daemonset-istio-cni-node.yaml:264"
	found := false
	for _, f := range fs {
		found = found || f == want
	}
	if !found {
		t.Errorf("no %q among\n%s", want, strings.Join(fs, "\n"))
	}
}
