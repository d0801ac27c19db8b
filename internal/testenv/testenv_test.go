package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

const widgetCRD = `
# A trailing and a leading separator, as generated files have.
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.meshdoctor.dev
spec:
  group: example.meshdoctor.dev
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
---
`

// TestControlPlane starts the real API server and uses it as the integration
// tests will: typed objects, a CRD and its objects, a kubeconfig file and a
// restricted user.
func TestControlPlane(t *testing.T) {
	env := Start(t)
	ctx := t.Context()
	cs := env.Clientset(t)

	versions, err := parseVersions(versionsEnv)
	if err != nil {
		t.Fatal(err)
	}
	info, err := cs.Discovery().ServerVersion()
	if err != nil {
		t.Fatalf("server version: %v", err)
	}
	if want := versions["KUBERNETES_VERSION"]; info.GitVersion != want {
		t.Errorf("server reports %s, want %s (the version stamped by hack/install-test-binaries.sh)", info.GitVersion, want)
	}

	for _, ns := range []string{"alpha", "beta"} {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating namespace %s: %v", ns, err)
		}
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "mesh", Namespace: ns}, Data: map[string]string{"ns": ns}}
		if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating ConfigMap %s/mesh: %v", ns, err)
		}
	}
	nss, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("listing namespaces: %v", err)
	}
	var names []string
	for _, ns := range nss.Items {
		names = append(names, ns.Name)
	}
	if got := strings.Join(names, ","); !strings.Contains(got, "alpha") || !strings.Contains(got, "beta") {
		t.Errorf("namespaces = %s, want alpha and beta among them", got)
	}
	cms, err := cs.CoreV1().ConfigMaps("").List(ctx, metav1.ListOptions{LabelSelector: ""})
	if err != nil {
		t.Fatalf("listing ConfigMaps: %v", err)
	}
	seen := map[string]string{}
	for _, cm := range cms.Items {
		if cm.Name == "mesh" {
			seen[cm.Namespace] = cm.Data["ns"]
		}
	}
	if seen["alpha"] != "alpha" || seen["beta"] != "beta" {
		t.Errorf("ConfigMaps named mesh: %v, want alpha and beta with their data", seen)
	}

	t.Run("crd", func(t *testing.T) {
		crds := env.InstallCRDs(t, []byte(widgetCRD))
		if len(crds) != 1 || crds[0].Name != "widgets.example.meshdoctor.dev" {
			t.Fatalf("installed %v, want the one widget CRD", crds)
		}
		dyn, err := dynamic.NewForConfig(env.Config)
		if err != nil {
			t.Fatal(err)
		}
		gvr := schema.GroupVersionResource{Group: "example.meshdoctor.dev", Version: "v1", Resource: "widgets"}
		w := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "example.meshdoctor.dev/v1", "kind": "Widget",
			"metadata": map[string]any{"name": "w1", "namespace": "alpha"},
			"spec":     map[string]any{"anything": []any{"goes", 1}},
		}}
		if _, err := dyn.Resource(gvr).Namespace("alpha").Create(ctx, w, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating Widget: %v", err)
		}
		list, err := dyn.Resource(gvr).Namespace("").List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatalf("listing Widgets: %v", err)
		}
		if len(list.Items) != 1 || list.Items[0].GetName() != "w1" {
			t.Errorf("Widgets = %v, want w1", list.Items)
		}
	})

	t.Run("kubeconfig", func(t *testing.T) {
		cfg, err := clientcmd.BuildConfigFromFlags("", env.KubeconfigFile(t))
		if err != nil {
			t.Fatalf("loading kubeconfig: %v", err)
		}
		kcs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := kcs.CoreV1().ConfigMaps("alpha").Get(ctx, "mesh", metav1.GetOptions{}); err != nil {
			t.Errorf("reading through the kubeconfig file: %v", err)
		}
	})

	t.Run("restricted user", func(t *testing.T) {
		u := env.AddUser(t, "reader", Grant{
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list"}}},
			Namespaces: []string{"alpha"},
		})
		cfg, err := clientcmd.BuildConfigFromFlags("", u.KubeconfigFile(t))
		if err != nil {
			t.Fatalf("loading the user's kubeconfig: %v", err)
		}
		ucs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ucs.CoreV1().ConfigMaps("alpha").List(ctx, metav1.ListOptions{}); err != nil {
			t.Errorf("listing ConfigMaps where granted: %v", err)
		}
		for what, err := range map[string]error{
			"ConfigMaps in beta":       listErr(ucs.CoreV1().ConfigMaps("beta").List(ctx, metav1.ListOptions{})),
			"ConfigMaps cluster-wide":  listErr(ucs.CoreV1().ConfigMaps("").List(ctx, metav1.ListOptions{})),
			"Secrets in alpha":         listErr(ucs.CoreV1().Secrets("alpha").List(ctx, metav1.ListOptions{})),
			"Namespaces (cluster way)": listErr(ucs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})),
		} {
			if !apierrors.IsForbidden(err) {
				t.Errorf("listing %s as the restricted user: got %v, want Forbidden", what, err)
			}
		}
		// Discovery is open to every authenticated user.
		if _, err := ucs.Discovery().ServerGroups(); err != nil {
			t.Errorf("discovery as the restricted user: %v", err)
		}
	})
}

func listErr[T any](_ T, err error) error { return err }

// fakeTB records how Start gives up, without ending the real test.
type fakeTB struct {
	testing.TB
	outcome string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.outcome = "fatal: " + fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.outcome = "skip: " + fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// TestStartWithoutBinaries: outside CI a missing binary skips, naming the
// install script; under CI=true it fails.
func TestStartWithoutBinaries(t *testing.T) {
	for _, tc := range []struct{ ci, want string }{{"", "skip: "}, {"true", "fatal: "}} {
		t.Run("CI="+tc.ci, func(t *testing.T) {
			t.Setenv("XDG_CACHE_HOME", t.TempDir())
			t.Setenv("CI", tc.ci)
			f := &fakeTB{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				Start(f)
			}()
			<-done
			if !strings.HasPrefix(f.outcome, tc.want) || !strings.Contains(f.outcome, "hack/install-test-binaries.sh") {
				t.Errorf("Start without binaries: %q, want %q... naming hack/install-test-binaries.sh", f.outcome, tc.want)
			}
		})
	}
}

func TestParseCRDs(t *testing.T) {
	crds, err := ParseCRDs(strings.NewReader(widgetCRD))
	if err != nil || len(crds) != 1 {
		t.Fatalf("ParseCRDs(widget) = %d CRDs, %v; want 1", len(crds), err)
	}
	_, err = ParseCRDs(strings.NewReader(widgetCRD + "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"))
	if err == nil || !strings.Contains(err.Error(), "document 3") {
		t.Errorf("ParseCRDs(widget + ConfigMap) error = %v, want one naming document 3", err)
	}
}

func TestInstallCRDFilesReadsDirectories(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "b.yaml"), []byte(widgetCRD), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte("not yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := crdFiles(dir)
	if err != nil || len(files) != 1 || filepath.Base(files[0]) != "b.yaml" {
		t.Errorf("crdFiles(%s) = %v, %v; want only b.yaml", dir, files, err)
	}
}
