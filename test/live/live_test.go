package live

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestParityWithOffline loads every example incident into a real API
// server (with the Istio CRDs and the minimal Cilium CRDs of
// testdata/cilium-crds) and requires live analysis to report exactly what
// offline analysis reports for the same objects (dumped back from the
// server): same codes, subjects and fingerprints. Every object of the
// examples must be accepted, and every finding of an example's
// expected.json that comes from its cluster objects (not from its logs/,
// nodes/ or cilium/, which a cluster does not serve) must be found live.
func TestParityWithOffline(t *testing.T) {
	c := start(t)
	c.installIstioCRDs(t)
	c.installCiliumCRDs(t)
	inputs, _ := filepath.Glob("../../examples/incidents/*/input")
	if len(inputs) == 0 {
		t.Fatal("no example inputs found")
	}
	for _, in := range inputs {
		refused := c.create(t, docs(t, in))
		for obj, why := range refused {
			t.Errorf("%s: the API server refused %s: %s", in, obj, firstLine(why))
		}
	}
	c.runPods(t)
	dir := t.TempDir()
	if n := c.dump(t, dir); n == 0 {
		t.Fatal("nothing dumped")
	}
	kubeconfig := c.env.KubeconfigFile(t)
	live, code, stderr := analyze(t, "--kubeconfig", kubeconfig, "--read-secrets")
	if code != 0 || len(live.InputErrors) > 0 {
		t.Fatalf("live: exit %d, input errors %+v, stderr %s", code, live.InputErrors, stderr)
	}
	offline, code, stderr := analyze(t, dir)
	if code != 0 {
		t.Fatalf("offline: exit %d, stderr %s", code, stderr)
	}
	if len(live.Findings) < 5 {
		t.Fatalf("live found only %d findings in the example incidents: %v", len(live.Findings), live.keys())
	}
	got, want := live.keys(), offline.keys()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("live and offline differ\nlive only:\n%s\noffline only:\n%s", strings.Join(minus(got, want), "\n"), strings.Join(minus(want, got), "\n"))
	}
	if live.Summary.Objects != offline.Summary.Objects {
		t.Errorf("live read %d objects, the dump holds %d", live.Summary.Objects, offline.Summary.Objects)
	}
	for _, f := range live.Findings {
		for _, l := range f.Locations {
			if !strings.HasPrefix(l.File, "live:") {
				t.Errorf("%s: live location %q does not name the live object", f.Code, l.File)
			}
		}
	}
	// Scoped to each namespace of the examples, live analysis reports
	// exactly what the full read reports about it: scoping neither invents
	// a finding (a namespace it did not read taken for empty) nor loses one.
	namespaces := map[string]bool{}
	for _, f := range live.Findings {
		if f.Subject.Namespace != "" {
			namespaces[f.Subject.Namespace] = true
		}
	}
	for _, in := range inputs {
		for _, o := range docs(t, in) {
			if o.GetNamespace() != "" {
				namespaces[o.GetNamespace()] = true
			}
		}
	}
	for _, ns := range slices.Sorted(maps.Keys(namespaces)) {
		scoped, code, stderr := analyze(t, "--kubeconfig", kubeconfig, "--read-secrets", "-n", ns)
		if code != 0 || len(scoped.InputErrors) > 0 {
			t.Errorf("-n %s: exit %d, input errors %+v, stderr %s", ns, code, scoped.InputErrors, stderr)
			continue
		}
		got, want := scoped.keys(), inNamespace(live.keys(), ns)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("-n %s and the full read differ about %s\n-n only:\n%s\nfull read only:\n%s", ns, ns, strings.Join(minus(got, want), "\n"), strings.Join(minus(want, got), "\n"))
		}
	}

	found := map[string]bool{}
	for _, f := range live.Findings {
		found[f.Code+" "+f.Subject.Kind+"/"+f.Subject.Namespace+"/"+f.Subject.Name] = true
		found[f.Code+" "+f.Subject.Kind+"/"+f.Subject.Name] = true // cluster-scoped subjects
	}
	checked := 0
	for _, in := range inputs {
		for _, e := range expectedFromObjects(t, filepath.Dir(in)) {
			checked++
			if !found[e] {
				t.Errorf("%s: expected.json's %s is not found live", filepath.Base(filepath.Dir(in)), e)
			}
		}
	}
	if checked == 0 {
		t.Error("no expected finding of the examples comes from cluster objects: nothing was compared")
	}
}

// expectedFromObjects returns "CODE Kind/namespace/name" for each finding
// of an example's expected.json that its cluster objects alone give: none
// of its locations is in the bundle's logs/, nodes/ or cilium/.
func expectedFromObjects(t *testing.T, example string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(example, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exp struct {
		Findings []struct {
			Code      string   `json:"code"`
			Subject   string   `json:"subject"`
			Locations []string `json:"locations"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatalf("%s/expected.json: %v", example, err)
	}
	var out []string
	for _, f := range exp.Findings {
		fromObjects := len(f.Locations) > 0
		for _, l := range f.Locations {
			if strings.HasPrefix(l, "logs/") || strings.HasPrefix(l, "nodes/") || strings.HasPrefix(l, "cilium/") {
				fromObjects = false
			}
		}
		if fromObjects {
			out = append(out, f.Code+" "+f.Subject)
		}
	}
	return out
}

// TestSecretsStayMetadataUnlessAsked: by default a Secret's keys are not
// read, and checks that need them say so instead of guessing; with
// --read-secrets the missing key is found. A value never appears in the
// report or the logs either way.
func TestSecretsStayMetadataUnlessAsked(t *testing.T) {
	c := start(t)
	cs := c.env.Clientset(t)
	ctx := context.Background()
	const value = "s3cr3t-Value-that-must-not-leak"
	c.ensureNamespace(t, "app")
	if _, err := cs.CoreV1().Secrets("app").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "app"},
		StringData: map[string]string{"password": value},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "app"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "api", Image: "api:1",
			Env: []corev1.EnvVar{{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "passwd"}}}},
		}}},
	}
	if _, err := cs.CoreV1().Pods("app").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kubeconfig := c.env.KubeconfigFile(t)

	meta, code, stderr := analyze(t, "--kubeconfig", kubeconfig, "-v")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if has(meta, "MD101") {
		t.Errorf("without --read-secrets the key cannot be known missing, yet MD101 was reported")
	}
	if !notChecked(meta, "MD101", "--read-secrets") {
		t.Errorf("MD101 does not say the Secret's keys were not read: %+v", meta.NotChecked)
	}
	// No Istio CRDs in this API server: the checks of Istio kinds say why
	// they did not run.
	unserved := false
	for _, s := range meta.Skipped {
		unserved = unserved || strings.Contains(s.Reason, "VirtualService.networking.istio.io is not served by the cluster")
	}
	if !unserved {
		t.Errorf("no skipped check names the missing VirtualService kind: %+v", meta.Skipped)
	}

	read, code, stderr2 := analyze(t, "--kubeconfig", kubeconfig, "--read-secrets", "-v")
	if code != 0 {
		t.Fatalf("--read-secrets: exit %d: %s", code, stderr2)
	}
	if !has(read, "MD101") {
		t.Errorf("--read-secrets: the missing key passwd was not found: %v", read.keys())
	}
	for _, leak := range []string{value, base64.StdEncoding.EncodeToString([]byte(value))} {
		for name, text := range map[string]string{"report": meta.raw + read.raw, "logs": stderr + stderr2} {
			if strings.Contains(text, leak) {
				t.Errorf("the Secret's value leaked into the %s", name)
			}
		}
	}
}

// TestPagination: more objects of one kind than several pages hold are
// all read.
func TestPagination(t *testing.T) {
	c := start(t)
	cs := c.env.Clientset(t)
	ctx := context.Background()
	c.ensureNamespace(t, "many")
	const n = 2100
	for i := 0; i < n; i++ {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm-" + strconv.Itoa(i), Namespace: "many"}, Data: map[string]string{"k": "v"}}
		if _, err := cs.CoreV1().ConfigMaps("many").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	r, code, stderr := analyze(t, "--kubeconfig", c.env.KubeconfigFile(t), "--check", "MD101")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// n ConfigMaps, the namespaces (default, kube-*, many) and the rest.
	if r.Summary.Objects < n+1 {
		t.Errorf("read %d objects, want at least %d", r.Summary.Objects, n+1)
	}
}

func has(r report, code string) bool {
	for _, f := range r.Findings {
		if f.Code == code {
			return true
		}
	}
	return false
}

func notChecked(r report, code, text string) bool {
	for _, n := range r.NotChecked {
		if n.Code == code && strings.Contains(n.Reason, text) {
			return true
		}
	}
	return false
}

func minus(a, b []string) []string {
	in := map[string]bool{}
	for _, x := range b {
		in[x] = true
	}
	var out []string
	for _, x := range a {
		if !in[x] {
			out = append(out, x)
		}
	}
	return out
}

func firstLine(s string) string { return strings.SplitN(s, "\n", 2)[0] }
