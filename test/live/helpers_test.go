// Package live tests live cluster mode against a real kube-apiserver and
// etcd (internal/testenv): what meshdoctor reads from a cluster, and that it
// finds what it finds in files holding the same objects.
package live

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	yamlutil "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/all"
	"github.com/meshdoctor/meshdoctor/internal/cli"
	"github.com/meshdoctor/meshdoctor/internal/testenv"
)

// report is the part of meshdoctor's JSON report the tests read.
type report struct {
	Findings []struct {
		Code        string `json:"code"`
		Fingerprint string `json:"fingerprint"`
		Message     string `json:"message"`
		Subject     struct {
			Kind, Namespace, Name string
		} `json:"subject"`
		Locations []struct {
			File   string `json:"file"`
			Object string `json:"object"`
			Field  string `json:"field"`
		} `json:"locations"`
		Fix *struct {
			Kind   string            `json:"kind"`
			Target string            `json:"target"`
			Patch  []json.RawMessage `json:"patch"`
		} `json:"fix"`
	} `json:"findings"`
	InputErrors []struct {
		Message string `json:"message"`
	} `json:"inputErrors"`
	Skipped []struct {
		Code   string `json:"code"`
		Reason string `json:"reason"`
	} `json:"skipped"`
	NotChecked []struct {
		Code   string `json:"code"`
		Reason string `json:"reason"`
	} `json:"notChecked"`
	Summary struct {
		Objects  int `json:"objects"`
		ExitCode int `json:"exitCode"`
	} `json:"summary"`
	raw string // the whole report
}

// keys are the findings as "CODE Kind/ns/name fingerprint", sorted: what
// must be equal between live and offline analysis of the same objects.
func (r report) keys() []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Code+" "+f.Subject.Kind+"/"+f.Subject.Namespace+"/"+f.Subject.Name+" "+f.Fingerprint)
	}
	sort.Strings(out)
	return out
}

// analyze runs `meshdoctor ARGS -o json --fail-on none` in-process and
// returns the report, the exit code and what went to stderr.
func analyze(t *testing.T, args ...string) (report, int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	root := cli.NewRoot(cli.Streams{In: strings.NewReader(""), Out: &out, Err: &errb}, cli.BuildInfo{Version: "test"})
	root.SetArgs(append(append([]string{"analyze"}, args...), "-o", "json", "--fail-on", "none"))
	code := 0
	if err := root.Execute(); err != nil {
		var ee *cli.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("meshdoctor %v: %v", args, err)
		}
		code = ee.Code
		if ee.Err != nil {
			errb.WriteString(ee.Err.Error())
		}
	}
	r := report{raw: out.String()}
	if out.Len() > 0 {
		if err := json.Unmarshal(out.Bytes(), &r); err != nil {
			t.Fatalf("meshdoctor %v: report is not JSON: %v\n%s", args, err, out.String())
		}
	}
	return r, code, errb.String()
}

// cluster is a started API server with the clients the tests use.
type cluster struct {
	env    *testenv.Env
	dyn    dynamic.Interface
	mapper meta.RESTMapper
	disc   discovery.DiscoveryInterface
}

func start(t *testing.T) *cluster {
	t.Helper()
	env := testenv.Start(t)
	return connect(t, env, env.Config)
}

func connect(t *testing.T, env *testenv.Env, cfg *rest.Config) *cluster {
	t.Helper()
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &cluster{env: env, dyn: dyn, disc: dc, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))}
}

// installIstioCRDs installs the CRDs istio.io/api publishes, from the module
// this build uses.
func (c *cluster) installIstioCRDs(t *testing.T) {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "istio.io/api").Output()
	if err != nil {
		t.Fatalf("locating istio.io/api: %v", err)
	}
	c.env.InstallCRDFiles(t, filepath.Join(strings.TrimSpace(string(out)), "kubernetes", "customresourcedefinitions.gen.yaml"))
	c.mapper.(meta.ResettableRESTMapper).Reset()
}

// installCiliumCRDs installs the minimal Cilium CRDs of testdata/cilium-crds
// (see its README): the kinds meshdoctor reads, served as Cilium serves them.
func (c *cluster) installCiliumCRDs(t *testing.T) {
	t.Helper()
	c.env.InstallCRDFiles(t, filepath.Join("testdata", "cilium-crds"))
	c.mapper.(meta.ResettableRESTMapper).Reset()
}

// docs reads every object of the YAML files under dir (recursively).
func docs(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		dec := yamlutil.NewYAMLOrJSONDecoder(f, 4096)
		for {
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				if err == io.EOF {
					return nil
				}
				return err
			}
			if len(m) == 0 {
				continue
			}
			u := &unstructured.Unstructured{Object: m}
			if u.IsList() {
				items, _ := u.ToList()
				for i := range items.Items {
					out = append(out, &items.Items[i])
				}
				continue
			}
			out = append(out, u)
		}
	})
	if err != nil {
		t.Fatalf("reading %s: %v", dir, err)
	}
	return out
}

// create makes the objects in the API server as a user would apply them:
// server-set metadata dropped, namespaces first, status written through the
// status subresource. Recorded managedFields are then restored as backup
// tools restore them (a patch that changes nothing else, which the server
// keeps as given): they are the history of who applied what, which checks
// such as MD104 read. It returns the objects the server refused and why
// (invalid Istio objects the CRD schemas reject, say).
func (c *cluster) create(t *testing.T, objs []*unstructured.Unstructured) map[string]string {
	t.Helper()
	ctx := context.Background()
	sort.SliceStable(objs, func(i, j int) bool {
		return objs[i].GetKind() == "Namespace" && objs[j].GetKind() != "Namespace"
	})
	refused := map[string]string{}
	made := map[string]bool{}
	for _, o := range objs {
		o = o.DeepCopy()
		managed, hasManaged, _ := unstructured.NestedSlice(o.Object, "metadata", "managedFields")
		for _, f := range []string{"uid", "resourceVersion", "creationTimestamp", "managedFields", "generation", "selfLink"} {
			unstructured.RemoveNestedField(o.Object, "metadata", f)
		}
		if ns := o.GetNamespace(); ns != "" && !made[ns] {
			c.ensureNamespace(t, ns)
			made[ns] = true
		}
		ri, err := c.resource(o.GroupVersionKind(), o.GetNamespace())
		if err != nil {
			refused[ref(o)] = err.Error()
			continue
		}
		status, hasStatus := o.Object["status"]
		created, err := ri.Create(ctx, o, metav1.CreateOptions{FieldManager: "test"})
		if apierrors.IsAlreadyExists(err) && o.GetKind() == "Namespace" && o.GetAPIVersion() == "v1" {
			// An earlier example (or ensureNamespace) made it bare: its
			// labels are what namespace selectors match (incident d's
			// policy admits the gateway by its namespace's label), so
			// they are merged in.
			if err := c.mergeMetadata(ctx, ri, o); err != nil {
				refused[ref(o)] = err.Error()
			}
			continue
		}
		if apierrors.IsAlreadyExists(err) {
			continue
		}
		if err != nil {
			refused[ref(o)] = err.Error()
			continue
		}
		if hasStatus {
			created.Object["status"] = status
			if _, err := ri.UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
				t.Logf("status of %s not written: %v", ref(o), err)
			}
		}
		if hasManaged && len(managed) > 0 {
			patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"managedFields": managed}})
			if err == nil {
				_, err = ri.Patch(ctx, o.GetName(), types.MergePatchType, patch, metav1.PatchOptions{})
			}
			if err != nil {
				refused[ref(o)+" managedFields"] = err.Error()
			}
		}
	}
	return refused
}

// mergeMetadata adds o's labels and annotations to the existing object of
// its identity (a JSON merge patch: other keys stay).
func (c *cluster) mergeMetadata(ctx context.Context, ri dynamic.ResourceInterface, o *unstructured.Unstructured) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"labels": o.GetLabels(), "annotations": o.GetAnnotations()}})
	if err != nil {
		return err
	}
	_, err = ri.Patch(ctx, o.GetName(), types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "test"})
	return err
}

func (c *cluster) ensureNamespace(t *testing.T, ns string) {
	t.Helper()
	ri, _ := c.resource(schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, "")
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns}}}
	if _, err := ri.Create(context.Background(), u, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("namespace %s: %v", ns, err)
	}
}

func (c *cluster) resource(gvk schema.GroupVersionKind, ns string) (dynamic.ResourceInterface, error) {
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, err
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return c.dyn.Resource(m.Resource).Namespace(ns), nil
	}
	return c.dyn.Resource(m.Resource), nil
}

// runPods does what the controller manager (absent from this API server)
// would: every Deployment whose selector matches no Pod gets one, made from
// its template. Without it live analysis rightly sees Deployments with no
// pods (it knows Pods were listed), while files that hold no Pods of a
// namespace are judged by the templates.
func (c *cluster) runPods(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	cs := c.env.Clientset(t)
	deps, err := cs.AppsV1().Deployments("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range deps.Items {
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil {
			continue
		}
		pods, err := cs.CoreV1().Pods(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
		if err != nil {
			t.Fatal(err)
		}
		if len(pods.Items) > 0 {
			continue
		}
		pod := &corev1.Pod{ObjectMeta: *d.Spec.Template.ObjectMeta.DeepCopy(), Spec: *d.Spec.Template.Spec.DeepCopy()}
		pod.Name, pod.Namespace = d.Name+"-pod", d.Namespace
		if _, err := cs.CoreV1().Pods(d.Namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Logf("pod for Deployment %s/%s not created: %v", d.Namespace, d.Name, err)
		}
	}
}

// dump writes every object of the kinds meshdoctor reads, as the API server
// returns them, into dir: the same objects live analysis sees, as files.
func (c *cluster) dump(t *testing.T, dir string) int {
	t.Helper()
	reg, err := all.Registry()
	if err != nil {
		t.Fatal(err)
	}
	as, _ := reg.Select(nil)
	var b bytes.Buffer
	n := 0
	for _, gk := range analysis.NeededKinds(as) {
		m, err := c.mapper.RESTMapping(gk)
		if err != nil {
			continue // not served
		}
		list, err := c.dyn.Resource(m.Resource).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatalf("listing %s: %v", m.Resource, err)
		}
		for _, it := range list.Items {
			y, err := yaml.Marshal(it.Object)
			if err != nil {
				t.Fatal(err)
			}
			b.WriteString("---\n")
			b.Write(y)
			n++
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "dump.yaml"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return n
}

func ref(o *unstructured.Unstructured) string {
	if o.GetNamespace() == "" {
		return o.GetKind() + "/" + o.GetName()
	}
	return o.GetKind() + "/" + o.GetNamespace() + "/" + o.GetName()
}
