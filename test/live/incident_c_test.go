package live

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// Founding incident (c), reproduced with the real thing: server-side apply
// by an installer, a hand edit by another field manager, the upgrade that
// cannot prune what the installer no longer owns, and meshdoctor's fix.
const (
	cniNamespace = "kube-system"
	cniDaemonSet = "istio-cni-node"
	cniContainer = "install-cni"
	legacyEnv    = "CNI_NETWORK_CONFIG"
	legacyKey    = "cni_network_config"
	installer    = "istioctl"
	handEditor   = "kubectl-edit"
	// handAdded is an entry the same hand edit adds, as in the example:
	// it overrides the ConfigMap's value and is not about the legacy entry,
	// so its findings must survive the fix unchanged.
	handAdded = "REPAIR_DELETE_PODS"
	cniTarget = "DaemonSet/" + cniNamespace + "/" + cniDaemonSet
	exampleC  = "../../examples/incidents/c-istio-cni-upgrade/input"
)

// TestIncidentCStaleEnvSurvivesUpgrade: the 1.22 DaemonSet is applied by
// istioctl, CNI_NETWORK_CONFIG is rewritten by kubectl edit (so that
// manager owns it), the 1.24 DaemonSet (without that entry) is applied by
// istioctl: the entry survives, meshdoctor reports it with both managers,
// and meshdoctor's own JSON patch removes it and every finding about it,
// and nothing else.
func TestIncidentCStaleEnvSurvivesUpgrade(t *testing.T) {
	c := start(t)
	cs := c.env.Clientset(t)
	kubeconfig := c.env.KubeconfigFile(t)

	// Steps 1 and 2: istioctl installs 1.22 (ConfigMap with the
	// cni_network_config key, DaemonSet with the CNI_NETWORK_CONFIG entry).
	c.istioctlInstall(t, "1.22")
	ds := getCNI(t, cs)
	if e := envOf(ds, legacyEnv); e == nil {
		t.Fatalf("1.22 install: no %s entry: %+v", legacyEnv, containerOf(ds).Env)
	}

	// Step 3: hand edits, as kubectl edit makes them (Updates by field
	// manager kubectl-edit). Changing a field inside the entry is not
	// enough for it to survive (TestIncidentCNegatives shows SSA prunes it
	// anyway): the hand editor must own the entry itself, which it does
	// once it has written the entry, as in the example's managedFields.
	// So, while debugging, the user takes CNI_NETWORK_CONFIG out, then
	// puts it back changed (optional: false) and adds REPAIR_DELETE_PODS.
	handEdit(t, cs, func(ds *appsv1.DaemonSet) { removeEnv(ds, legacyEnv) })
	handEdit(t, cs, func(ds *appsv1.DaemonSet) {
		optional := false
		c := containerOf(ds)
		c.Env = slices.Insert(c.Env, 0, corev1.EnvVar{Name: legacyEnv, ValueFrom: &corev1.EnvVarSource{
			ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "istio-cni-config"}, Key: legacyKey, Optional: &optional},
		}})
		addRepairDeletePods(ds)
	})
	ds = getCNI(t, cs)
	if o := owners(t, ds, legacyEnv, true); !slices.Equal(o, []string{handEditor + "/Update"}) {
		t.Fatalf("after the edits, the %s entry itself is owned by %v, want only %s/Update\nmanagedFields:\n%s", legacyEnv, o, handEditor, managedFieldsText(ds))
	}

	// Before the upgrade nothing is wrong with the entry: the key exists
	// and 1.22 still reads CNI_NETWORK_CONFIG.
	pre, code, stderr := analyze(t, "--kubeconfig", kubeconfig)
	if code != 0 || len(pre.InputErrors) > 0 {
		t.Fatalf("before the upgrade: exit %d, input errors %+v, stderr %s", code, pre.InputErrors, stderr)
	}
	for _, f := range pre.Findings {
		if strings.Contains(f.Message, legacyEnv) {
			t.Errorf("before the upgrade, %s is fine, yet: %s %s", legacyEnv, f.Code, f.Message)
		}
	}
	if !slices.ContainsFunc(onCNI(pre), func(k string) bool { return strings.HasPrefix(k, "MD102 ") }) {
		t.Errorf("before the upgrade, the hand-added %s already overrides the ConfigMap's value, yet no MD102 on %s: %v", handAdded, cniTarget, onCNI(pre))
	}

	// Step 4: istioctl upgrades to 1.24.
	c.istioctlInstall(t, "1.24")

	// Step 5: the incident, seen through client-go.
	ds = getCNI(t, cs)
	if img := containerOf(ds).Image; !strings.HasSuffix(img, ":1.24.2") {
		t.Fatalf("the upgrade did not happen: image %s", img)
	}
	cm, err := cs.CoreV1().ConfigMaps(cniNamespace).Get(context.Background(), "istio-cni-config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cm.Data[legacyKey]; ok {
		t.Fatalf("the 1.24 apply did not prune key %s that istioctl owned in the ConfigMap", legacyKey)
	}
	stale := envOf(ds, legacyEnv)
	if stale == nil {
		t.Fatalf("%s did not survive the upgrade (the incident did not happen); env: %+v\nmanagedFields: %s",
			legacyEnv, containerOf(ds).Env, managedFieldsText(ds))
	}
	if ref := stale.ValueFrom; ref == nil || ref.ConfigMapKeyRef == nil || ref.ConfigMapKeyRef.Key != legacyKey {
		t.Fatalf("the surviving %s entry lost its reference: %+v", legacyEnv, stale)
	}
	if envOf(ds, handAdded) == nil {
		t.Fatalf("the hand-added %s did not survive the upgrade", handAdded)
	}
	if o := owners(t, ds, legacyEnv, false); !slices.Equal(o, []string{handEditor + "/Update"}) {
		t.Errorf("after the upgrade, %s or a field of it is owned by %v, want only %s/Update", legacyEnv, o, handEditor)
	}
	if ms := managers(ds); !slices.Contains(ms, installer+"/Apply") || !slices.Contains(ms, handEditor+"/Update") {
		t.Errorf("managedFields name %v, want %s/Apply and %s/Update", ms, installer, handEditor)
	}
	if r := stale.ValueFrom.ConfigMapKeyRef; r.Optional == nil || *r.Optional {
		t.Errorf("the surviving %s is not the hand-edited one (optional: false): %+v", legacyEnv, r)
	}
	t.Logf("after the upgrade, %s survives (configMapKeyRef %s/%s, optional: false); managers: %v", legacyEnv, stale.ValueFrom.ConfigMapKeyRef.Name, legacyKey, managers(ds))

	// Step 6: meshdoctor sees it, live, exactly as it sees the example
	// incident offline: same codes, same fingerprints on the DaemonSet.
	before, code, stderr := analyze(t, "--kubeconfig", kubeconfig)
	if code != 0 || len(before.InputErrors) > 0 {
		t.Fatalf("live: exit %d, input errors %+v, stderr %s", code, before.InputErrors, stderr)
	}
	offline, code, stderr := analyze(t, exampleC)
	if code != 0 {
		t.Fatalf("offline analysis of the example: exit %d, stderr %s", code, stderr)
	}
	got, want := onCNI(before), onCNI(offline)
	t.Logf("live findings on %s: %v", cniTarget, got)
	if len(want) != 5 {
		t.Fatalf("offline analysis of the example found %v on %s, want its 5 findings (expected.json)", want, cniTarget)
	}
	if !slices.Equal(got, want) {
		t.Errorf("live findings on %s differ from the example's offline ones\nlive only: %v\noffline only: %v", cniTarget, minus(got, want), minus(want, got))
	}
	evidence := evidenceOf(t, before)
	var legacy []int // the findings about the stale entry
	for i, f := range before.Findings {
		if subjectOf(f.Subject.Kind, f.Subject.Namespace, f.Subject.Name) == cniTarget && strings.Contains(f.Message, "env "+legacyEnv) {
			legacy = append(legacy, i)
		}
	}
	var codes []string
	for _, i := range legacy {
		codes = append(codes, before.Findings[i].Code)
	}
	slices.Sort(codes)
	if !slices.Equal(codes, []string{"MD101", "MD103", "MD104"}) {
		t.Fatalf("findings about %s: %v, want MD101 (key missing), MD103 (legacy entry) and MD104 (unpruned by SSA)", legacyEnv, codes)
	}
	for _, i := range legacy {
		f := before.Findings[i]
		if f.Code != "MD104" {
			continue
		}
		for _, m := range []string{handEditor, installer} {
			if !strings.Contains(f.Message, m) {
				t.Errorf("MD104 does not name manager %s: %s", m, f.Message)
			}
		}
		ev := strings.Join(evidence[f.Fingerprint], "\n")
		for _, want := range []string{"manager=" + handEditor + " operation=Update", "manager=" + installer + " operation=Apply time="} {
			if !strings.Contains(ev, want) {
				t.Errorf("MD104 evidence lacks %q:\n%s", want, ev)
			}
		}
	}

	// Step 7: apply meshdoctor's fix as a user would, with
	// kubectl patch --type=json. Every finding about the entry carries it.
	fix := before.Findings[legacy[0]].Fix
	if fix == nil || fix.Kind != "json-patch" || fix.Target != cniTarget || len(fix.Patch) == 0 {
		t.Fatalf("%s has no usable fix: %+v", before.Findings[legacy[0]].Code, fix)
	}
	patch, err := json.Marshal(fix.Patch)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range legacy[1:] {
		other, _ := json.Marshal(before.Findings[i].Fix.Patch)
		if string(other) != string(patch) {
			t.Errorf("%s and %s fix the same entry differently: %s vs %s", before.Findings[legacy[0]].Code, before.Findings[i].Code, patch, other)
		}
	}
	t.Logf("applying: kubectl patch daemonset %s -n %s --type=json -p '%s'", cniDaemonSet, cniNamespace, patch)
	kind, ns, name := splitTarget(t, fix.Target)
	if kind != "DaemonSet" {
		t.Fatalf("fix target %s is not the DaemonSet", fix.Target)
	}
	if _, err := cs.AppsV1().DaemonSets(ns).Patch(context.Background(), name, types.JSONPatchType, patch, metav1.PatchOptions{FieldManager: "kubectl-patch"}); err != nil {
		t.Fatalf("meshdoctor's fix was refused: %v\n%s", err, patch)
	}
	ds = getCNI(t, cs)
	if envOf(ds, legacyEnv) != nil {
		t.Fatalf("the fix left %s in place", legacyEnv)
	}
	if envOf(ds, handAdded) == nil {
		t.Fatalf("the fix removed %s too", handAdded)
	}
	if o := owners(t, ds, legacyEnv, false); len(o) != 0 {
		t.Errorf("after the fix, managers %v still own the removed %s", o, legacyEnv)
	}

	after, code, stderr := analyze(t, "--kubeconfig", kubeconfig)
	if code != 0 || len(after.InputErrors) > 0 {
		t.Fatalf("after the fix: exit %d, input errors %+v, stderr %s", code, after.InputErrors, stderr)
	}
	removed := map[string]bool{}
	for _, i := range legacy {
		f := before.Findings[i]
		removed[f.Code+" "+subjectOf(f.Subject.Kind, f.Subject.Namespace, f.Subject.Name)+" "+f.Fingerprint] = true
	}
	var wantAfter []string
	for _, k := range before.keys() {
		if !removed[k] {
			wantAfter = append(wantAfter, k)
		}
	}
	if gotAfter := after.keys(); !slices.Equal(gotAfter, wantAfter) {
		t.Errorf("after the fix, findings are not those before minus the %d about %s\nnew or changed: %v\ngone unexpectedly or still there: %v",
			len(legacy), legacyEnv, minus(gotAfter, wantAfter), minus(wantAfter, gotAfter))
	}
	for _, f := range after.Findings {
		if strings.Contains(f.Message, legacyEnv) {
			t.Errorf("after the fix: %s %s", f.Code, f.Message)
		}
	}
	t.Logf("findings on %s after the fix: %v", cniTarget, onCNI(after))

	// The next upgrade behaves: nothing brings the entry back.
	c.istioctlInstall(t, "1.24")
	if envOf(getCNI(t, cs), legacyEnv) != nil {
		t.Errorf("re-applying 1.24 after the fix brought %s back", legacyEnv)
	}
}

// TestIncidentCNegatives: when the installer owns the entry itself, the
// 1.24 apply prunes CNI_NETWORK_CONFIG and meshdoctor has nothing to say
// about the DaemonSet. That holds with no hand edit at all, and also after
// a hand edit of a field inside the entry: the editor then owns that field,
// not the list item, and server-side apply removes the item with it.
func TestIncidentCNegatives(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*appsv1.DaemonSet)
	}{
		{"installer owns everything", nil},
		{"hand edit of a field inside the entry", func(ds *appsv1.DaemonSet) {
			optional := false
			envOf(ds, legacyEnv).ValueFrom.ConfigMapKeyRef.Optional = &optional
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := start(t)
			cs := c.env.Clientset(t)
			c.istioctlInstall(t, "1.22")
			if envOf(getCNI(t, cs), legacyEnv) == nil {
				t.Fatalf("1.22 install: no %s entry", legacyEnv)
			}
			if tc.edit != nil {
				handEdit(t, cs, tc.edit)
				ds := getCNI(t, cs)
				if o := owners(t, ds, legacyEnv, false); !slices.Contains(o, handEditor+"/Update") {
					t.Fatalf("the edit did not make %s own a field of %s: %v", handEditor, legacyEnv, o)
				}
				if o := owners(t, ds, legacyEnv, true); !slices.Equal(o, []string{installer + "/Apply"}) {
					t.Fatalf("the %s entry itself is owned by %v, want only %s/Apply", legacyEnv, o, installer)
				}
			}
			c.istioctlInstall(t, "1.24")
			ds := getCNI(t, cs)
			if e := envOf(ds, legacyEnv); e != nil {
				t.Fatalf("server-side apply should have pruned %s: %+v\nmanagedFields:\n%s", legacyEnv, *e, managedFieldsText(ds))
			}
			if o := owners(t, ds, legacyEnv, false); len(o) > 0 {
				t.Errorf("managers %v still own fields of the pruned %s", o, legacyEnv)
			}
			t.Logf("managedFields after the upgrade: %v", managers(ds))
			r, code, stderr := analyze(t, "--kubeconfig", c.env.KubeconfigFile(t))
			if code != 0 || len(r.InputErrors) > 0 {
				t.Fatalf("exit %d, input errors %+v, stderr %s", code, r.InputErrors, stderr)
			}
			if got := onCNI(r); len(got) > 0 {
				t.Errorf("findings on a cleanly upgraded %s: %v", cniTarget, got)
			}
			for _, code := range []string{"MD101", "MD102", "MD103", "MD104"} {
				if has(r, code) {
					t.Errorf("%s reported with no stale entry anywhere: %v", code, r.keys())
				}
			}
		})
	}
}

// istioctlInstall server-side applies the manifests of one Istio version as
// istioctl does: field manager istioctl, conflicts forced.
func (c *cluster) istioctlInstall(t *testing.T, version string) {
	t.Helper()
	for _, o := range docs(t, filepath.Join("testdata", "incident-c", "istio-"+version)) {
		ri, err := c.resource(o.GroupVersionKind(), o.GetNamespace())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ri.Apply(context.Background(), o.GetName(), o, metav1.ApplyOptions{FieldManager: installer, Force: true}); err != nil {
			t.Fatalf("istio %s: applying %s: %v", version, ref(o), err)
		}
	}
}

// handEdit changes the DaemonSet as `kubectl edit` does: read, modify,
// write back, recorded as an Update by field manager kubectl-edit.
func handEdit(t *testing.T, cs kubernetes.Interface, change func(*appsv1.DaemonSet)) {
	t.Helper()
	ds := getCNI(t, cs)
	change(ds)
	if _, err := cs.AppsV1().DaemonSets(cniNamespace).Update(context.Background(), ds, metav1.UpdateOptions{FieldManager: handEditor}); err != nil {
		t.Fatalf("kubectl edit: %v", err)
	}
}

func removeEnv(ds *appsv1.DaemonSet, name string) {
	c := containerOf(ds)
	c.Env = slices.DeleteFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == name })
}

// addRepairDeletePods adds REPAIR_DELETE_PODS=true after REPAIR_NODE_NAME,
// where the example has it.
func addRepairDeletePods(ds *appsv1.DaemonSet) {
	c := containerOf(ds)
	i := slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "REPAIR_NODE_NAME" })
	c.Env = slices.Insert(c.Env, i+1, corev1.EnvVar{Name: handAdded, Value: "true"})
}

func getCNI(t *testing.T, cs kubernetes.Interface) *appsv1.DaemonSet {
	t.Helper()
	ds, err := cs.AppsV1().DaemonSets(cniNamespace).Get(context.Background(), cniDaemonSet, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func containerOf(ds *appsv1.DaemonSet) *corev1.Container {
	for i := range ds.Spec.Template.Spec.Containers {
		if c := &ds.Spec.Template.Spec.Containers[i]; c.Name == cniContainer {
			return c
		}
	}
	return &corev1.Container{}
}

func envOf(ds *appsv1.DaemonSet, name string) *corev1.EnvVar {
	c := containerOf(ds)
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

// managers lists the managedFields entries as manager/operation.
func managers(ds *appsv1.DaemonSet) []string {
	var out []string
	for _, mf := range ds.ManagedFields {
		out = append(out, mf.Manager+"/"+string(mf.Operation))
	}
	return out
}

// owners lists, as manager/operation, the managedFields entries that own
// the install-cni env entry name: the list item itself (".") when item is
// set, else the item or any field in it. It walks the FieldsV1 JSON itself
// rather than sharing meshdoctor's parser.
func owners(t *testing.T, ds *appsv1.DaemonSet, name string, item bool) []string {
	t.Helper()
	path := []string{"f:spec", "f:template", "f:spec", "f:containers", `k:{"name":"` + cniContainer + `"}`, "f:env", `k:{"name":"` + name + `"}`}
	if item {
		path = append(path, ".")
	}
	var out []string
	for _, mf := range ds.ManagedFields {
		if mf.FieldsV1 == nil {
			continue
		}
		var node any
		if err := json.Unmarshal(mf.FieldsV1.GetRawBytes(), &node); err != nil {
			t.Fatalf("managedFields of %s: %v", mf.Manager, err)
		}
		for _, step := range path {
			m, _ := node.(map[string]any)
			node = m[step]
		}
		if node != nil {
			out = append(out, mf.Manager+"/"+string(mf.Operation))
		}
	}
	return out
}

func managedFieldsText(ds *appsv1.DaemonSet) string {
	var b strings.Builder
	for _, mf := range ds.ManagedFields {
		b.WriteString(mf.Manager + " " + string(mf.Operation) + " " + mf.Subresource + ": ")
		if mf.FieldsV1 != nil {
			b.WriteString(mf.FieldsV1.GetRawString())
		}
		b.WriteString("\n")
	}
	return b.String()
}

// onCNI lists the findings on the istio-cni DaemonSet as "CODE fingerprint".
func onCNI(r report) []string {
	var out []string
	for _, f := range r.Findings {
		if subjectOf(f.Subject.Kind, f.Subject.Namespace, f.Subject.Name) == cniTarget {
			out = append(out, f.Code+" "+f.Fingerprint)
		}
	}
	slices.Sort(out)
	return out
}

// evidenceOf reads what the shared report struct leaves out: each
// finding's evidence, by fingerprint.
func evidenceOf(t *testing.T, r report) map[string][]string {
	t.Helper()
	var full struct {
		Findings []struct {
			Fingerprint string   `json:"fingerprint"`
			Evidence    []string `json:"evidence"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(r.raw), &full); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, f := range full.Findings {
		out[f.Fingerprint] = f.Evidence
	}
	return out
}

func subjectOf(kind, ns, name string) string { return kind + "/" + ns + "/" + name }

func splitTarget(t *testing.T, target string) (kind, ns, name string) {
	t.Helper()
	parts := strings.Split(target, "/")
	if len(parts) != 3 {
		t.Fatalf("fix target %q is not Kind/namespace/name", target)
	}
	return parts[0], parts[1], parts[2]
}
