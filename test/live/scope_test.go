package live

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/all"
	"github.com/meshdoctor/meshdoctor/internal/decode"
	"github.com/meshdoctor/meshdoctor/internal/source/files"
	"github.com/meshdoctor/meshdoctor/internal/source/kube"
)

// bulkNamespaces are the namespaces nothing in a refers to: -n a must not
// read their pods, and their defects are not a's.
const bulkNamespaces = 12

// TestScopedRead: `analyze -n a` against a real API server lists the
// per-workload kinds only where a's analysis needs them — a itself, b (the
// Service and pods its routes and subsets name), istio-ingress (where the
// workloads of the Gateways it uses run, tied to them by labels only),
// c2 (a principal's namespace) and the system namespaces — and reports
// exactly what the full read reports about a: every real defect of a, and
// nothing the unread namespaces would have made look missing.
func TestScopedRead(t *testing.T) {
	c := start(t)
	c.installIstioCRDs(t)
	c.installCiliumCRDs(t)
	for _, f := range []string{"mesh.yaml", "a.yaml", "b.yaml"} {
		if refused := c.create(t, docs(t, filepath.Join("testdata", "scope", f))); len(refused) > 0 {
			t.Fatalf("%s: refused %v", f, refused)
		}
	}
	c.makeBulk(t, bulkNamespaces)
	// A Gateway without a selector configures gateway pods anywhere:
	// analyzing its namespace needs every namespace's pods.
	if refused := c.create(t, docs(t, filepath.Join("testdata", "scope", "wide.yaml"))); len(refused) > 0 {
		t.Fatalf("wide.yaml: refused %v", refused)
	}
	c.runPods(t)

	// (i) What each read lists: with the default page size every kind of
	// this small cluster fits in one page (read whole, then kept in the
	// scope); with pages of 4 objects each per-workload kind takes a few
	// pages, still fewer than the scope's namespaces, so it is read whole
	// too (the 8k benchmark's case: listing it namespace by namespace used
	// to cost more than -A); with pages of 1 object, as in a large cluster,
	// Pods and ConfigMaps are listed namespace by namespace after the
	// probes. A scoped read never costs more requests than the full one.
	for _, pageSize := range []int64{0, 4, 1} {
		t.Run(fmt.Sprintf("pages of %d", pageSize), func(t *testing.T) {
			full := c.read(t, "", pageSize)
			scoped := c.read(t, "a", pageSize)
			t.Logf("requests: -A %d, -n a %d; objects: -A %d, -n a %d; listed by namespace: %v", full.Requests, scoped.Requests, len(full.Objects), len(scoped.Objects), scoped.ByNamespace)
			if len(full.Errors) > 0 || len(scoped.Errors) > 0 {
				t.Fatalf("errors: -A %v, -n a %v", full.Errors, scoped.Errors)
			}
			if scoped.Widened != "" {
				t.Fatalf("-n a widened: %s", scoped.Widened)
			}
			checkScope(t, full, scoped)
			if scoped.Requests > full.Requests {
				t.Errorf("-n a made %d requests where -A made %d: a scoped read must cost no more", scoped.Requests, full.Requests)
			}
			byNS := scoped.ByNamespace
			switch pod, cm := (schema.GroupKind{Kind: "Pod"}), (schema.GroupKind{Kind: "ConfigMap"}); {
			case pageSize == 1 && (!slices.Contains(byNS, pod) || !slices.Contains(byNS, cm)):
				t.Errorf("pages of 1: Pods and ConfigMaps not listed namespace by namespace (%v)", byNS)
			case pageSize == 1 && scoped.Requests >= full.Requests:
				t.Errorf("pages of 1: -n a made %d requests, -A %d: listing by namespace saves nothing", scoped.Requests, full.Requests)
			case pageSize != 1 && len(byNS) > 0:
				t.Errorf("pages of %d: %v listed namespace by namespace, which costs more than reading them whole", pageSize, byNS)
			}
			if !scoped.NodeAgentsListed {
				t.Errorf("-n a: the DaemonSets were not read whole: the node-agent checks cannot trust an absence")
			}
		})
	}
	if w := c.read(t, "wide", 0); w.Widened == "" || w.Scope != nil {
		t.Errorf("-n wide (a Gateway without selector): not widened (scope %v)", w.Scope)
	}

	// (ii) and (iii): the findings about a are the same either way.
	kubeconfig := c.env.KubeconfigFile(t)
	all, code, stderr := analyze(t, "--kubeconfig", kubeconfig, "--read-secrets", "-A")
	if code != 0 || len(all.InputErrors) > 0 {
		t.Fatalf("-A: exit %d, input errors %v, stderr %s", code, all.InputErrors, stderr)
	}
	inA, code, stderr := analyze(t, "--kubeconfig", kubeconfig, "--read-secrets", "-n", "a", "-v")
	if code != 0 || len(inA.InputErrors) > 0 {
		t.Fatalf("-n a: exit %d, input errors %v, stderr %s", code, inA.InputErrors, stderr)
	}
	if !strings.Contains(stderr, "scoped read") {
		t.Errorf("-n a -v does not log the scoped read:\n%s", stderr)
	}
	want := inNamespace(all.keys(), "a")
	got := inA.keys()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("-n a and -A differ about a\n-n a only (false positives of scoping):\n%s\n-A only (missed by scoping):\n%s",
			strings.Join(minus(got, want), "\n"), strings.Join(minus(want, got), "\n"))
	}
	for _, d := range []string{
		"MD203 DestinationRule/a/reviews", "MD202 VirtualService/a/reviews-edge", "MD101 Pod/a/api-pod",
		"MD414 NetworkPolicy/a/deny-ghost", "MD304 AuthorizationPolicy/a/callers",
	} {
		if !hasKey(got, d) {
			t.Errorf("-n a: the real defect %s is not reported: %v", d, got)
		}
	}
	for _, f := range inA.Findings {
		if f.Subject.Namespace != "a" {
			t.Errorf("-n a reports %s about %s/%s", f.Code, f.Subject.Namespace, f.Subject.Name)
		}
	}
	// What the checks could not judge in the namespaces not read is not
	// a's business: the notes about their objects are left out.
	for _, n := range inA.NotChecked {
		if strings.Contains(n.Reason, "/istio-system/") || strings.Contains(n.Reason, "/wide/") {
			t.Errorf("-n a reports a note about another namespace's object: %s %s", n.Code, n.Reason)
		}
	}
	if !hasKey(all.keys(), "MD414 NetworkPolicy/"+bulkName(0)+"/") {
		t.Errorf("-A misses the bulk namespaces' defect: the comparison proves nothing: %v", all.keys())
	}
}

// checkScope checks what a read scoped to a listed against a full read.
func checkScope(t *testing.T, full, scoped kube.Result) {
	t.Helper()
	why := map[string]string{}
	for _, sn := range scoped.Scope {
		why[sn.Name] = sn.Why
		t.Logf("scope: %s: %s", sn.Name, sn.Why)
	}
	for ns, want := range map[string]string{
		"a":             "-n",
		"b":             "named by",
		"c2":            "named by AuthorizationPolicy/a/callers",
		"istio-ingress": "runs the workloads of Gateway",
		"istio-system":  "",
		"kube-system":   "",
		"istio-ztunnel": "node agent",
	} {
		if w, ok := why[ns]; !ok || !strings.Contains(w, want) {
			t.Errorf("-n a: namespace %s listed %v, why %q; want a reason with %q", ns, ok, w, want)
		}
	}
	for i := 0; i <= bulkNamespaces; i++ {
		ns := "monitoring" // a DaemonSet no check reads
		if i < bulkNamespaces {
			ns = bulkName(i)
		}
		if why[ns] != "" {
			t.Errorf("-n a lists namespace %s, which a does not need (%s)", ns, why[ns])
		}
	}
	pod := schema.GroupKind{Kind: "Pod"}
	if got := listedNamespaces(full, pod); !slices.Equal(got, []string{""}) {
		t.Errorf("-A listed Pods in %q, want one cluster-wide LIST", got)
	}
	podNS := listedNamespaces(scoped, pod)
	if len(podNS) != len(scoped.Scope) || slices.Contains(podNS, "") {
		t.Errorf("-n a has Pods listed in %q, want exactly the scope %v", podNS, scoped.Scope)
	}
	for _, o := range scoped.Objects {
		if o.Key.GroupKind() == pod && why[o.Key.Namespace] == "" {
			t.Errorf("-n a keeps %s, outside its scope", o.Ref())
		}
	}
	if fp, sp := countKind(full, pod), countKind(scoped, pod); sp >= fp || sp == 0 {
		t.Errorf("-n a kept %d Pods, -A %d: want fewer, and some", sp, fp)
	}
	// ConfigMaps are held in full (their data: keys for MD101, the mesh
	// config) and only in the namespaces analysis needs: none of the bulk
	// namespaces' (which -A holds), never as metadata only.
	cm := schema.GroupKind{Kind: "ConfigMap"}
	if got := listedNamespaces(scoped, cm); len(got) != len(scoped.Scope) || slices.Contains(got, "") {
		t.Errorf("-n a has ConfigMaps listed in %q, want exactly the scope", got)
	}
	if slices.Contains(scoped.MetadataOnly, cm) || slices.Contains(full.MetadataOnly, cm) {
		t.Errorf("ConfigMaps read as metadata only: -n a %v, -A %v", scoped.MetadataOnly, full.MetadataOnly)
	}
	held := map[string]*corev1.ConfigMap{}
	for _, o := range scoped.Objects {
		if o.Key.GroupKind() != cm {
			continue
		}
		if why[o.Key.Namespace] == "" {
			t.Errorf("-n a keeps %s, outside its scope", o.Ref())
		}
		c, ok := o.Typed.(*corev1.ConfigMap)
		if !ok || o.MetadataOnly {
			t.Errorf("-n a holds %s without its data", o.Ref())
			continue
		}
		held[o.Key.Namespace+"/"+o.Key.Name] = c
	}
	if c := held["istio-system/istio"]; c == nil || !strings.Contains(c.Data["mesh"], "rootNamespace") {
		t.Errorf("-n a: the mesh ConfigMap istio-system/istio is not held in full: %v", c)
	}
	if c := held["a/api-config"]; c == nil || len(c.Data) == 0 {
		t.Errorf("-n a: ConfigMap a/api-config (its keys are what MD101 checks) is not held in full: %v", c)
	}
	bulkCM := 0
	for _, o := range full.Objects {
		if o.Key.GroupKind() == cm && strings.HasPrefix(o.Key.Namespace, "bulk-") {
			bulkCM++
		}
	}
	if bulkCM != bulkNamespaces {
		t.Errorf("-A holds %d ConfigMaps of the bulk namespaces, want %d", bulkCM, bulkNamespaces)
	}
	for _, gk := range []schema.GroupKind{{Kind: "Service"}, {Group: "networking.istio.io", Kind: "VirtualService"}} {
		if got := listedNamespaces(scoped, gk); !slices.Equal(got, []string{""}) {
			t.Errorf("-n a listed %s in %q, want everywhere", gk, got)
		}
	}
	// One controller kind listed everywhere would make every namespace look
	// covered to the checks (snapshot.CoversWorkloads), unread Pods empty.
	for _, gk := range []schema.GroupKind{{Group: "apps", Kind: "Deployment"}, {Group: "apps", Kind: "DaemonSet"}, {Group: "apps", Kind: "StatefulSet"},
		{Group: "apps", Kind: "ReplicaSet"}, {Group: "batch", Kind: "Job"}, {Group: "batch", Kind: "CronJob"}} {
		if got := listedNamespaces(scoped, gk); len(got) != len(scoped.Scope) || slices.Contains(got, "") {
			t.Errorf("-n a has %s listed in %q, want exactly the scope", gk, got)
		}
	}
}

// read runs the live source as analyze does (every check selected), scoped
// to namespace ns ("" for every namespace), with LIST pages of pageSize
// objects (0: the default).
func (c *cluster) read(t *testing.T, ns string, pageSize int64) kube.Result {
	t.Helper()
	reg, err := all.Registry()
	if err != nil {
		t.Fatal(err)
	}
	as, _ := reg.Select(nil)
	dec, err := decode.New()
	if err != nil {
		t.Fatal(err)
	}
	// The loader as analyze sets it up: projections, managedFields.
	loader := &files.Loader{Decoder: dec, ManagedFields: analysis.ManagedFieldsKinds(as)}
	if reads, ok := analysis.Projections(as); ok {
		loader.Reads = reads
	}
	src := &kube.Source{Config: c.env.Config, Loader: loader, Kinds: analysis.NeededKinds(as), ReadSecrets: true, Namespace: ns, PageSize: pageSize}
	return src.Load(context.Background())
}

// makeBulk adds n namespaces a does not refer to, each with a Deployment,
// a ConfigMap, a Secret and a NetworkPolicy that selects no pod (a defect
// of theirs, not a's).
func (c *cluster) makeBulk(t *testing.T, n int) {
	t.Helper()
	cs := c.env.Clientset(t)
	ctx := context.Background()
	for i := 0; i < n; i++ {
		ns := bulkName(i)
		c.ensureNamespace(t, ns)
		labels := map[string]string{"app": "web"}
		dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "web", Image: "example/web:1"}}}},
		}}
		if _, err := cs.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "web"}, StringData: map[string]string{"k": "v"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "orphan"}, Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "gone"}}, PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}}
		if _, err := cs.NetworkingV1().NetworkPolicies(ns).Create(ctx, np, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

func bulkName(i int) string { return fmt.Sprintf("bulk-%02d", i) }

// listedNamespaces are the namespaces a read listed kind gk in ("" for a
// cluster-wide LIST), sorted.
func listedNamespaces(r kube.Result, gk schema.GroupKind) []string {
	var out []string
	for _, sc := range r.Listed {
		if sc.Kind == gk {
			out = append(out, sc.Namespace)
		}
	}
	slices.Sort(out)
	return out
}

func countKind(r kube.Result, gk schema.GroupKind) int {
	n := 0
	for _, o := range r.Objects {
		if o.Key.GroupKind() == gk {
			n++
		}
	}
	return n
}

// inNamespace keeps the keys ("CODE Kind/ns/name fingerprint") about
// objects of namespace ns.
func inNamespace(keys []string, ns string) []string {
	var out []string
	for _, k := range keys {
		if parts := strings.SplitN(strings.SplitN(k, " ", 2)[1], "/", 3); len(parts) == 3 && parts[1] == ns {
			out = append(out, k)
		}
	}
	return out
}

// hasKey tells whether a key starts with prefix ("CODE Kind/ns/name").
func hasKey(keys []string, prefix string) bool {
	for _, k := range keys {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}
