package live

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/meshdoctor/meshdoctor/internal/decode"
	"github.com/meshdoctor/meshdoctor/internal/source/files"
	"github.com/meshdoctor/meshdoctor/internal/source/kube"
	"github.com/meshdoctor/meshdoctor/internal/testenv"
)

// appWithMissingKey is a namespace whose Deployment reads a ConfigMap key
// that does not exist (MD101).
func appWithMissingKey(t *testing.T, c *cluster, ns string) {
	t.Helper()
	c.ensureNamespace(t, ns)
	cs := c.env.Clientset(t)
	ctx := context.Background()
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: ns}, Data: map[string]string{"level": "info"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	one := int32(1)
	dep := deployment(ns, "api", "lvl")
	dep.Spec.Replicas = &one
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestForbiddenKindsAndNamespaces: a user who may not read Secrets, nor
// anything in namespace "private", still gets every finding of what they
// may read, and the report names what could not be listed; nothing
// crashes and nothing is silently missing.
func TestForbiddenKindsAndNamespaces(t *testing.T) {
	c := start(t)
	appWithMissingKey(t, c, "app")
	appWithMissingKey(t, c, "private")
	read := []string{"get", "list"}
	u := c.env.AddUser(t, "limited",
		testenv.Grant{Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: read}}},
		testenv.Grant{Namespaces: []string{"app", "default", "kube-system"}, Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods", "services", "configmaps", "serviceaccounts"}, Verbs: read},
			{APIGroups: []string{"apps", "batch"}, Resources: []string{"*"}, Verbs: read},
		}},
	)
	r, code, stderr := analyze(t, "--kubeconfig", u.KubeconfigFile(t))
	if code != 2 {
		t.Errorf("exit %d, want 2 (the analysis is incomplete); stderr %s", code, stderr)
	}
	var errs []string
	for _, e := range r.InputErrors {
		errs = append(errs, e.Message)
	}
	all := strings.Join(errs, "\n")
	for _, want := range []struct{ kind, ns string }{{"secrets", "app"}, {"configmaps", "private"}, {"deployments.apps", "private"}} {
		found := false
		for _, e := range errs {
			if strings.HasPrefix(e, "cannot list "+want.kind+" in namespace ") && strings.Contains(e, want.ns) {
				found = true
			}
		}
		if !found {
			t.Errorf("no input error saying %s cannot be listed in namespace %s:\n%s", want.kind, want.ns, all)
		}
	}
	for _, e := range errs {
		if strings.Contains(e, "configmaps") && strings.Contains(e, " app") {
			t.Errorf("ConfigMaps of app were readable, yet: %s", e)
		}
	}
	var inApp, inPrivate bool
	for _, f := range r.Findings {
		if f.Code == "MD101" {
			inApp = inApp || f.Subject.Namespace == "app"
			inPrivate = inPrivate || f.Subject.Namespace == "private"
		}
	}
	if !inApp || inPrivate {
		t.Errorf("MD101 in app: %v (want true), in private: %v (want false): %v", inApp, inPrivate, r.keys())
	}
}

// TestAPIServerStopsMidRun: the API server goes away while kinds are being
// listed. What was read is returned, every failed call is named, and the
// read ends promptly.
func TestAPIServerStopsMidRun(t *testing.T) {
	c := start(t)
	appWithMissingKey(t, c, "app")
	var n atomic.Int32
	var once sync.Once
	cfg := rest.CopyConfig(c.env.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if n.Add(1) == 6 { // after discovery and a few LISTs
				once.Do(func() { c.env.Stop(t) })
			}
			return rt.RoundTrip(r)
		})
	})
	dec, err := decode.New()
	if err != nil {
		t.Fatal(err)
	}
	src := &kube.Source{Config: cfg, Loader: &files.Loader{Decoder: dec}, Concurrency: 1, Kinds: []schema.GroupKind{
		{Kind: "Namespace"}, {Kind: "ConfigMap"}, {Kind: "Pod"}, {Kind: "Service"}, {Group: "apps", Kind: "Deployment"}, {Group: "apps", Kind: "DaemonSet"},
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	begin := time.Now()
	res := src.Load(ctx)
	took := time.Since(begin)
	if res.Unreachable != nil {
		t.Fatalf("the server was up for discovery: %v", res.Unreachable)
	}
	if len(res.Objects) == 0 || len(res.Errors) == 0 {
		t.Fatalf("want partial results and errors, got %d objects, errors %v", len(res.Objects), res.Errors)
	}
	for _, e := range res.Errors {
		if !strings.HasPrefix(e.Msg, "LIST ") {
			t.Errorf("error does not name the call: %s", e.Msg)
		}
	}
	if took > 45*time.Second {
		t.Errorf("reading took %s after the server stopped", took)
	}
}

// TestTimeoutBoundsTheRun: an API server that accepts connections and never
// answers cannot hold meshdoctor past --timeout.
func TestTimeoutBoundsTheRun(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn) // held open, never answered
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: silent, cluster: {server: "https://`+ln.Addr().String()+`", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: silent, user: u}}]
current-context: c
`), 0o600)
	begin := time.Now()
	_, code, stderr := analyze(t, "--kubeconfig", kubeconfig, "--timeout", "3s")
	took := time.Since(begin)
	if code != 2 || stderr == "" {
		t.Errorf("exit %d, stderr %q; want 2 with the reason", code, stderr)
	}
	if took > 10*time.Second {
		t.Errorf("--timeout 3s, but the run took %s", took)
	}
}

// TestAlsoOverlaysFiles: local manifests replace the live objects with the
// same identity (a fix in a file makes the live finding go away) and add
// new ones (a broken file object is found, at its file:line).
func TestAlsoOverlaysFiles(t *testing.T) {
	c := start(t)
	appWithMissingKey(t, c, "app")
	kubeconfig := c.env.KubeconfigFile(t)
	before, _, _ := analyze(t, "--kubeconfig", kubeconfig, "--check", "MD101")
	if !has(before, "MD101") {
		t.Fatalf("the live Deployment's missing key was not found: %v", before.keys())
	}
	dir := t.TempDir()
	fixed := filepath.Join(dir, "fixed.yaml")
	writeManifest(t, fixed, deployment("app", "api", "level"))
	after, code, stderr := analyze(t, "--kubeconfig", kubeconfig, "--check", "MD101", "--also", fixed)
	if code != 0 || has(after, "MD101") {
		t.Errorf("with the fixed file overlaid: exit %d (%s), findings %v; want none", code, stderr, after.keys())
	}
	broken := filepath.Join(dir, "new.yaml")
	writeManifest(t, broken, deployment("app", "worker", "nope"))
	added, _, _ := analyze(t, "--kubeconfig", kubeconfig, "--check", "MD101", "--also", fixed, "--also", broken)
	found := false
	for _, f := range added.Findings {
		if f.Code == "MD101" && f.Subject.Name == "worker" {
			found = true
			if len(f.Locations) == 0 || !strings.HasSuffix(f.Locations[0].File, "new.yaml") {
				t.Errorf("the file object's finding points at %+v, want new.yaml", f.Locations)
			}
		}
		if f.Subject.Name == "api" {
			t.Errorf("the overlaid Deployment was reported again: %+v", f)
		}
	}
	if !found {
		t.Errorf("the broken file object was not analyzed: %v", added.keys())
	}
}

// deployment reads key of ConfigMap "settings" into env LEVEL.
func deployment(ns, name, key string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: name, Image: name + ":1",
					Env: []corev1.EnvVar{{Name: "LEVEL", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
						LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}, Key: key}}}},
				}}},
			},
		},
	}
}

// writeManifest writes obj as a YAML manifest, as a user keeps it in git.
func writeManifest(t *testing.T, path string, obj *appsv1.Deployment) {
	t.Helper()
	obj = obj.DeepCopy()
	obj.TypeMeta = metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}
	b, err := yaml.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestNamespaceOnlyUser: a user whose only rights are a Role in namespace
// app (no cluster-wide list of anything, not even Namespaces) runs
// `analyze -n app`. Everything the Role allows is read in app, Services
// included (a kind the scoped read otherwise lists cluster-wide), and its
// Deployment's missing ConfigMap key is found; every read the user may not
// make is named in the report, the checks that needed a kind listed
// nowhere are skipped naming the refusal; nothing crashes, and the exit
// code is 2: the analysis is incomplete.
func TestNamespaceOnlyUser(t *testing.T) {
	c := start(t)
	appWithMissingKey(t, c, "app")
	appWithMissingKey(t, c, "other")
	if _, err := c.env.Clientset(t).CoreV1().Services("app").Create(context.Background(), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "app"},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "api"}, Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	u := c.env.AddUser(t, "app-only", testenv.Grant{Namespaces: []string{"app"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"get", "list"}},
	}})
	r, code, stderr := analyze(t, "--kubeconfig", u.KubeconfigFile(t), "-n", "app", "-v")
	if code != 2 || r.Summary.ExitCode != 2 {
		t.Errorf("exit %d (report %d), want 2: the analysis is incomplete; stderr %s", code, r.Summary.ExitCode, stderr)
	}
	if strings.Contains(stderr, "panic") || strings.Contains(stderr, "internal error") {
		t.Errorf("a check crashed: %s", stderr)
	}
	var errs []string
	for _, e := range r.InputErrors {
		errs = append(errs, e.Message)
	}
	all := strings.Join(errs, "\n")
	for _, want := range []string{
		"cannot list namespaces: forbidden",
		"cannot list nodes: forbidden",
		"cannot list services in namespace istio-system, kube-system: forbidden",
		"cannot list configmaps in namespace istio-system: forbidden",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no input error %q:\n%s", want, all)
		}
	}
	for _, e := range errs {
		if strings.Contains(e, " app") {
			t.Errorf("a kind of app was not read, though the Role allows it: %s", e)
		}
	}
	// The ConfigMap, Deployment and Service of app; nothing else is readable.
	if r.Summary.Objects != 3 {
		t.Errorf("read %d objects, want app's ConfigMap, Deployment and Service", r.Summary.Objects)
	}
	for _, f := range r.Findings {
		if f.Subject.Namespace != "app" {
			t.Errorf("a finding outside app: %+v", f)
		}
	}
	if !has(r, "MD101") {
		t.Errorf("app's missing ConfigMap key was not found: %v", r.keys())
	}
	skipped := map[string]string{}
	for _, s := range r.Skipped {
		skipped[s.Code] = s.Reason
	}
	for code, why := range map[string]string{"MD105": "cannot list namespaces: forbidden", "MD120": "cannot list customresourcedefinitions.apiextensions.k8s.io: forbidden"} {
		if !strings.Contains(skipped[code], why) {
			t.Errorf("%s skipped for %q, want the reason %q", code, skipped[code], why)
		}
	}
}

// TestNamespaceOnlyUserWholeCluster: the same user, analyzing without -n
// from a kubeconfig context whose namespace is app (as `kubectl config
// set-context --current --namespace app` writes). The Namespaces cannot be
// listed to try each one, so the kinds refused cluster-wide are listed in
// the context's namespace, as kubectl would, and app is analyzed.
func TestNamespaceOnlyUserWholeCluster(t *testing.T) {
	c := start(t)
	appWithMissingKey(t, c, "app")
	appWithMissingKey(t, c, "other")
	u := c.env.AddUser(t, "app-only-all", testenv.Grant{Namespaces: []string{"app"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"get", "list"}},
	}})
	file := u.KubeconfigFile(t)
	kc, err := clientcmd.LoadFromFile(file)
	if err != nil {
		t.Fatal(err)
	}
	kc.Contexts[kc.CurrentContext].Namespace = "app"
	if err := clientcmd.WriteToFile(*kc, file); err != nil {
		t.Fatal(err)
	}
	r, code, stderr := analyze(t, "--kubeconfig", file, "-v")
	if code != 2 {
		t.Errorf("exit %d, want 2: the analysis is incomplete; stderr %s", code, stderr)
	}
	var errs []string
	for _, e := range r.InputErrors {
		errs = append(errs, e.Message)
	}
	all := strings.Join(errs, "\n")
	if !strings.Contains(all, "cannot list namespaces: forbidden") {
		t.Errorf("the refused Namespaces are not named:\n%s", all)
	}
	for _, e := range errs {
		if strings.Contains(e, "namespace app") {
			t.Errorf("a kind of app was not read, though the Role allows it: %s", e)
		}
	}
	if !has(r, "MD101") {
		t.Errorf("app's missing ConfigMap key was not found from the context's namespace: %v\n%s", r.keys(), all)
	}
	for _, f := range r.Findings {
		if f.Subject.Namespace != "app" {
			t.Errorf("a finding outside app: %+v", f)
		}
	}
}
