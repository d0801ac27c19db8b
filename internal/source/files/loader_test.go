package files

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/decode"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

func newLoader(t testing.TB, stdin string) *Loader {
	t.Helper()
	dec, err := decode.New()
	if err != nil {
		t.Fatal(err)
	}
	return &Loader{Decoder: dec, Stdin: strings.NewReader(stdin)}
}

func write(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func load(t *testing.T, paths ...string) Result {
	t.Helper()
	return newLoader(t, "").Load(context.Background(), paths)
}

func find(t *testing.T, res Result, kind, name string) *snapshot.Object {
	t.Helper()
	for _, o := range res.Objects {
		if o.Key.Kind == kind && o.Key.Name == name {
			return o
		}
	}
	t.Fatalf("no %s %s among %d objects (errors: %v)", kind, name, len(res.Objects), res.Errors)
	return nil
}

func wantPos(t *testing.T, o *snapshot.Object, p snapshot.Path, line, col int) {
	t.Helper()
	pos, exact := o.Locator.Locate(p)
	if pos.Line != line || (col != 0 && pos.Col != col) || !exact {
		t.Errorf("%s %s: got %s (exact=%v), want line %d col %d", o.Ref(), p, pos, exact, line, col)
	}
}

const multiDoc = `# leading comment
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: a
  namespace: ns
data:
  k: v
--- # a separator with a comment

# only a comment: an empty document
---
apiVersion: v1
kind: Service
metadata:
  name: svc
  namespace: ns
spec:
  ports:
  - name: http
    port: 80
...
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d, namespace: ns}
spec:
  selector: {matchLabels: {app: d}}
  template:
    metadata: {labels: {app: d}}
    spec:
      containers:
      - name: c
        image: img
        env:
        - name: A
          value: "1"
`

func TestMultiDocumentPositions(t *testing.T) {
	p := write(t, t.TempDir(), "m.yaml", multiDoc)
	res := load(t, p)
	if len(res.Errors) != 0 || len(res.Objects) != 3 {
		t.Fatalf("want 3 objects and no errors, got %d, %v", len(res.Objects), res.Errors)
	}
	cm := find(t, res, "ConfigMap", "a")
	if cm.Origin.Line != 3 {
		t.Errorf("ConfigMap origin line %d, want 3", cm.Origin.Line)
	}
	wantPos(t, cm, snapshot.P("data", "k"), 9, 3)
	svc := find(t, res, "Service", "svc")
	wantPos(t, svc, snapshot.P("spec", "ports", 0, "port"), 22, 5)
	d := find(t, res, "Deployment", "d")
	wantPos(t, d, snapshot.P("spec", "template", "spec", "containers", 0, "env", 0), 37, 11)
	if _, ok := d.Typed.(*appsv1.Deployment); !ok {
		t.Errorf("Deployment decoded as %T", d.Typed)
	}
	// A path that does not exist points at its deepest existing ancestor.
	pos, exact := d.Locator.Locate(snapshot.P("spec", "template", "spec", "containers", 0, "resources", "limits"))
	if exact || pos.Line != 34 {
		t.Errorf("missing field: got %s exact=%v, want line 34 (the container) inexact", pos, exact)
	}
}

func TestListItemsAndTheirLines(t *testing.T) {
	content := `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: first, namespace: ns}
  data: {a: b}
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: second
    namespace: ns
  data:
    x: z
`
	res := load(t, write(t, t.TempDir(), "l.yaml", content))
	if len(res.Objects) != 2 {
		t.Fatalf("want 2 items, got %d (%v)", len(res.Objects), res.Errors)
	}
	second := find(t, res, "ConfigMap", "second")
	wantPos(t, second, nil, 8, 3)
	wantPos(t, second, snapshot.P("data", "x"), 14, 5)
}

func TestJSONInputHasPositions(t *testing.T) {
	content := `{
  "apiVersion": "v1",
  "kind": "List",
  "items": [
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "one", "namespace": "ns"}},
    {
      "apiVersion": "v1",
      "kind": "Secret",
      "metadata": {"name": "s", "namespace": "ns"},
      "data": {"k": "c2VjcmV0"}
    },
    {
      "apiVersion": "v1",
      "kind": "ConfigMap",
      "metadata": {"name": "two", "namespace": "ns"},
      "data": {"key": "v"}
    }
  ]
}
{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "three", "namespace": "ns"}, "data": {"z": "1"}}
`
	res := load(t, write(t, t.TempDir(), "l.json", content))
	if len(res.Errors) != 0 || len(res.Objects) != 4 {
		t.Fatalf("want 4 objects, got %d (%v)", len(res.Objects), res.Errors)
	}
	wantPos(t, find(t, res, "ConfigMap", "two"), snapshot.P("data", "key"), 16, 16)
	wantPos(t, find(t, res, "ConfigMap", "three"), snapshot.P("data", "z"), 20, 102)
	if s := find(t, res, "Secret", "s"); s.Locator != nil || s.Secret == nil || !s.Secret.HasKey("k") {
		t.Errorf("Secret: locator %v summary %+v", s.Locator, s.Secret)
	}
}

func TestCRLFAndBOM(t *testing.T) {
	content := "\xef\xbb\xbfapiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n  name: crlf\r\n  namespace: ns\r\ndata:\r\n  k: v\r\n---\r\napiVersion: v1\r\nkind: ConfigMap\r\nmetadata: {name: second, namespace: ns}\r\ndata:\r\n  x: z\r\n"
	res := load(t, write(t, t.TempDir(), "crlf.yaml", content))
	if len(res.Errors) != 0 || len(res.Objects) != 2 {
		t.Fatalf("got %d objects, errors %v", len(res.Objects), res.Errors)
	}
	wantPos(t, find(t, res, "ConfigMap", "crlf"), snapshot.P("data", "k"), 7, 3)
	wantPos(t, find(t, res, "ConfigMap", "second"), snapshot.P("data", "x"), 13, 3)
}

func TestAnchorsAndAliases(t *testing.T) {
	content := `apiVersion: apps/v1
kind: Deployment
metadata: {name: d, namespace: ns}
spec:
  selector:
    matchLabels: &labels {app: d}
  template:
    metadata:
      labels: *labels
    spec:
      containers:
      - name: c
        image: img
`
	res := load(t, write(t, t.TempDir(), "a.yaml", content))
	d := find(t, res, "Deployment", "d").Typed.(*appsv1.Deployment)
	if d.Spec.Template.Labels["app"] != "d" {
		t.Errorf("alias not resolved: %v", d.Spec.Template.Labels)
	}
}

func TestBrokenDocumentDoesNotStopTheOthers(t *testing.T) {
	content := `apiVersion: v1
kind: ConfigMap
metadata: {name: before, namespace: ns}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: broken
    namespace: ns
---
apiVersion: v1
kind: ConfigMap
metadata: {name: after, namespace: ns}
---
just a string
---
kind: ConfigMap
metadata: {name: nokind}
`
	p := write(t, t.TempDir(), "b.yaml", content)
	res := load(t, p)
	find(t, res, "ConfigMap", "before")
	find(t, res, "ConfigMap", "after")
	if len(res.Errors) != 3 {
		t.Fatalf("want 3 errors, got %v", res.Errors)
	}
	if e := res.Errors[0]; e.Pos.File != p || e.Pos.Line != 9 || !strings.Contains(e.Msg, "invalid YAML") {
		t.Errorf("broken YAML error %v, want %s:9 invalid YAML", e, p)
	}
	if e := res.Errors[1]; e.Pos.Line != 15 || !strings.Contains(e.Msg, "not an object") {
		t.Errorf("scalar document error %v", e)
	}
	if e := res.Errors[2]; e.Pos.Line != 17 || !strings.Contains(e.Msg, "no apiVersion or kind") {
		t.Errorf("missing apiVersion error %v", e)
	}
}

func TestUnknownFieldsAreFoundWithTheirPath(t *testing.T) {
	content := `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: reviews, namespace: bookinfo}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination:
        host: reviews
        subnet: v2
---
apiVersion: v1
kind: Service
metadata: {name: s, namespace: ns}
spec:
  ports:
  - port: 80
    protocl: TCP
`
	res := load(t, write(t, t.TempDir(), "u.yaml", content))
	vs := find(t, res, "VirtualService", "reviews")
	if _, ok := vs.Typed.(*networkingv1.VirtualService); !ok || vs.APIVersion != "networking.istio.io/v1alpha3" {
		t.Errorf("VirtualService decoded as %T, apiVersion %s", vs.Typed, vs.APIVersion)
	}
	if len(vs.FieldIssues) != 1 || vs.FieldIssues[0].Path.String() != ".spec.http[0].route[0].destination.subnet" {
		t.Fatalf("VirtualService issues %+v", vs.FieldIssues)
	}
	wantPos(t, vs, vs.FieldIssues[0].Path, 10, 9)
	svc := find(t, res, "Service", "s")
	if len(svc.FieldIssues) != 1 || svc.FieldIssues[0].Path.String() != ".spec.ports[0].protocl" {
		t.Fatalf("Service issues %+v", svc.FieldIssues)
	}
	wantPos(t, svc, svc.FieldIssues[0].Path, 18, 5)
}

func TestUnknownKindsStayUnstructured(t *testing.T) {
	content := `apiVersion: cilium.io/v2
kind: CiliumNode
metadata: {name: node-1}
spec:
  ipam: {podCIDRs: [10.0.1.0/24]}
`
	res := load(t, write(t, t.TempDir(), "c.yaml", content))
	o := find(t, res, "CiliumNode", "node-1")
	if _, ok := o.Typed.(*unstructured.Unstructured); !ok || o.Key.Group != "cilium.io" {
		t.Errorf("got %T %+v", o.Typed, o.Key)
	}
}

func TestTypedListItemsGetTheirKind(t *testing.T) {
	content := `{"apiVersion":"v1","kind":"PodList","items":[{"metadata":{"name":"p","namespace":"ns"},"spec":{"containers":[{"name":"c","image":"i"}]}}]}`
	res := load(t, write(t, t.TempDir(), "p.json", content))
	if _, ok := find(t, res, "Pod", "p").Typed.(*corev1.Pod); !ok {
		t.Error("PodList item not decoded as a Pod")
	}
}

func TestSecretValuesAreNeverKept(t *testing.T) {
	content := `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: before, namespace: ns}
  data: {a: b}
- apiVersion: v1
  kind: Secret
  metadata:
    name: tls
    namespace: ns
    annotations:
      kubectl.kubernetes.io/last-applied-configuration: '{"data":{"password":"aHVudGVyMg=="}}'
  type: Opaque
  data: {password: aHVudGVyMg==}
  stringData: {token: plain-token}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: cm, namespace: ns}
  data: {k: v}
`
	l := newLoader(t, content)
	res := l.Load(context.Background(), []string{"-"})
	sec := find(t, res, "Secret", "tls")
	s := sec.Typed.(*corev1.Secret)
	if s.Data != nil || s.StringData != nil || s.Annotations[corev1.LastAppliedConfigAnnotation] != "" {
		t.Errorf("values kept: %+v", s)
	}
	if !sec.Secret.HasKey("password") || !sec.Secret.HasKey("token") {
		t.Errorf("summary %+v", sec.Secret)
	}
	// Other objects still have exact positions, and nothing they can reach
	// — their bytes, the buffer those bytes are cut from, parse trees —
	// holds a Secret value.
	cm := find(t, res, "ConfigMap", "cm")
	wantPos(t, cm, snapshot.P("data", "k"), 21, 10)
	wantPos(t, find(t, res, "ConfigMap", "before"), snapshot.P("data", "a"), 7, 10)
	for _, o := range res.Objects {
		if o.Locator == nil {
			continue
		}
		doc := o.Locator.(*yamlLocator).doc
		b, _ := doc.src.bytes()
		whole := string(b[:cap(b)])
		if m, ok := doc.src.(memSource); ok && len(m) > 0 {
			whole = string(unsafeBuffer(m))
		}
		for _, secret := range []string{"aHVudGVyMg", "plain-token"} {
			if strings.Contains(whole, secret) || strings.Contains(dump(doc), secret) {
				t.Errorf("%s can reach the Secret value %s", o.Ref(), secret)
			}
		}
	}
}

// unsafeBuffer returns the whole buffer a slice was cut from, as far as the
// slice's capacity reaches back: the test looks for values in it.
func unsafeBuffer(m memSource) []byte { return m[:cap(m)] }

func dump(d *parsedDoc) string {
	var b strings.Builder
	root := d.node()
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if n == nil {
			return
		}
		b.WriteString(n.Value + " ")
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(root)
	return b.String()
}

func TestDirectoriesBundlesAndArchives(t *testing.T) {
	dir := t.TempDir()
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s, namespace: ns}\n"
	write(t, dir, "plain/a.yaml", strings.Replace(cm, "%s", "a", 1))
	write(t, dir, "plain/sub/b.yml", strings.Replace(cm, "%s", "b", 1))
	write(t, dir, "plain/notes.txt", "not yaml")
	write(t, dir, "bundle/meta.json", `{"format": "meshdoctor-bundle/v1"}`)
	write(t, dir, "bundle/cluster/c.yaml", strings.Replace(cm, "%s", "c", 1))
	write(t, dir, "bundle/nodes/n1/procs.json", `[{"pid": 1}]`)
	res := load(t, filepath.Join(dir, "plain"), filepath.Join(dir, "bundle"), filepath.Join(dir, "missing"))
	for _, n := range []string{"a", "b", "c"} {
		find(t, res, "ConfigMap", n)
	}
	if len(res.Objects) != 3 || len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Msg, "no such file") {
		t.Errorf("objects %d, errors %v", len(res.Objects), res.Errors)
	}

	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	add := func(name, body string) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	add("bundle-x/cluster/d.yaml", strings.Replace(cm, "%s", "d", 1)+"data:\n  k: v\n")
	add("bundle-x/nodes/n1/meta.json", `{"kernel": "6.1"}`)
	add("bundle-x/meta.json", `{"format": "meshdoctor-bundle/v1"}`)
	tw.Close()
	gz.Close()
	arch := filepath.Join(dir, "b.tar.gz")
	os.WriteFile(arch, buf.Bytes(), 0o644)
	res = load(t, arch)
	if len(res.Objects) != 1 || len(res.Errors) != 0 {
		t.Fatalf("archive: %d objects, errors %v", len(res.Objects), res.Errors)
	}
	d := find(t, res, "ConfigMap", "d")
	pos, _ := d.Locator.Locate(snapshot.P("data", "k"))
	if pos.File != arch+"!bundle-x/cluster/d.yaml" || pos.Line != 5 {
		t.Errorf("archive member position %s", pos)
	}

	os.WriteFile(arch, buf.Bytes()[:buf.Len()/2], 0o644)
	res = load(t, arch)
	if len(res.Errors) != 1 {
		t.Errorf("truncated archive: want one error, got %v", res.Errors)
	}
}

func TestEmptyDirectoryAndBrokenJSONAreClear(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "notes.txt", "nothing here")
	res := load(t, dir)
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Msg, "no .yaml, .yml or .json files") {
		t.Errorf("empty directory: %v", res.Errors)
	}
	p := write(t, t.TempDir(), "b.json", "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"ConfigMap\",\n  \"metadata\": {\"name\": \"x\"\n}\n")
	res = load(t, p)
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Msg, "invalid JSON") || res.Errors[0].Pos.Line != 6 {
		t.Errorf("truncated JSON: %v", res.Errors)
	}
	// A YAML flow mapping that starts like JSON still loads.
	res = load(t, write(t, t.TempDir(), "f.yaml", "{apiVersion: v1, kind: ConfigMap, metadata: {name: flow}}\n"))
	if len(res.Errors) != 0 || len(res.Objects) != 1 {
		t.Errorf("flow YAML: %v", res.Errors)
	}
}

func TestItemErrorsPointAtTheItem(t *testing.T) {
	content := `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: fine, namespace: ns}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: yaml11, namespace: ns}
  data:
    enabled: yes
`
	p := write(t, t.TempDir(), "i.yaml", content)
	res := load(t, p)
	find(t, res, "ConfigMap", "fine")
	if len(res.Errors) != 1 || res.Errors[0].Pos.Line != 10 || !strings.Contains(res.Errors[0].Msg, "cannot unmarshal bool") {
		t.Errorf("want one error at line 10, the data field (YAML 1.1 reads yes as a boolean, as kubectl does), got %v", res.Errors)
	}
}

func TestTypeErrorsPointAtTheField(t *testing.T) {
	content := "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\",\n \"metadata\": {\"namespace\": \"ns\",\n  \"name\": 3}}\n"
	res := load(t, write(t, t.TempDir(), "bad.json", content))
	if len(res.Errors) != 1 || res.Errors[0].Pos.Line != 3 || !strings.Contains(res.Errors[0].Msg, "metadata.name") {
		t.Errorf("want one error at line 3 naming metadata.name, got %v", res.Errors)
	}
}

func TestRepeatedKeysAreIssuesNotErrors(t *testing.T) {
	content := "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: ns}\ndata:\n  a: YQ==\n  a: Yg==\n"
	res := load(t, write(t, t.TempDir(), "d.yaml", content))
	s := find(t, res, "Secret", "s")
	if len(res.Errors) != 0 || len(s.FieldIssues) != 1 || s.FieldIssues[0].Line != 6 || !s.FieldIssues[0].Duplicate {
		t.Errorf("errors %v, issues %+v", res.Errors, s.FieldIssues)
	}
}

func TestLargeFilesAreReadConcurrentlyInOrder(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nitems:\n")
	for i := 0; i < 3*parallelSpans; i++ {
		fmt.Fprintf(&b, "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: cm-%04d, namespace: ns}\n  data: {k: v}\n", i)
	}
	b.WriteString("kind: List\nmetadata: {resourceVersion: \"\"}\n")
	p := write(t, t.TempDir(), "dump.yaml", b.String())
	l := newLoader(t, "")
	l.Workers = 3
	res := l.Load(context.Background(), []string{p})
	if len(res.Errors) != 0 || len(res.Objects) != 3*parallelSpans {
		t.Fatalf("%d objects, errors %v", len(res.Objects), res.Errors)
	}
	for i, o := range res.Objects {
		if want := fmt.Sprintf("cm-%04d", i); o.Key.Name != want || o.Origin.Line != 3+4*i {
			t.Fatalf("object %d is %s at line %d, want %s at line %d", i, o.Key.Name, o.Origin.Line, want, 3+4*i)
		}
	}
	wantPos(t, res.Objects[1000], snapshot.P("data", "k"), 3+4*1000+3, 10)
}

func TestInMemoryJSONListWithSecret(t *testing.T) {
	content := `{"apiVersion": "v1", "kind": "List", "items": [
  {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "before", "namespace": "ns"}, "data": {"a": "b"}},
  {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "ns"}, "data": {"password": "aHVudGVyMg=="}},
  {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "after", "namespace": "ns"}, "data": {"x": "kept intact"}}
]}
{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "t", "namespace": "ns"}, "stringData": {"token": "plain-token"}}
{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "last", "namespace": "ns"}, "data": {"z": "1"}}
`
	res := newLoader(t, content).Load(context.Background(), []string{"-"})
	if len(res.Errors) != 0 || len(res.Objects) != 5 {
		t.Fatalf("%d objects, errors %v", len(res.Objects), res.Errors)
	}
	after := find(t, res, "ConfigMap", "after")
	if v := after.Typed.(*corev1.ConfigMap).Data["x"]; v != "kept intact" {
		t.Errorf("a value decoded after the Secret was blanked reads %q", v)
	}
	wantPos(t, after, snapshot.P("data", "x"), 4, 104)
	wantPos(t, find(t, res, "ConfigMap", "last"), snapshot.P("data", "z"), 7, 101)
	for _, o := range res.Objects {
		if o.Locator == nil {
			continue
		}
		b, _ := o.Locator.(*yamlLocator).doc.src.bytes()
		whole := string(b[:cap(b)])
		for _, secret := range []string{"aHVudGVyMg", "plain-token"} {
			if strings.Contains(whole, secret) {
				t.Errorf("%s can reach the Secret value %s", o.Ref(), secret)
			}
		}
	}
}

// TestStatusAndManagedFieldsSkipped: status that no selected check reads,
// and managedFields of kinds whose managedFields no check reads, are not
// read at all; an unknown field under status (a newer controller's) is no
// issue, read or not; what the projection keeps is still decoded; and the
// fields after a skipped one are read as usual.
func TestStatusAndManagedFieldsSkipped(t *testing.T) {
	content := `apiVersion: v1
kind: Pod
metadata:
  name: p
  namespace: ns
  managedFields:
  - manager: kubectl
    operation: Update
    fieldsV1:
      f:spec: {}
  labels: {app: a}
spec:
  containers:
  - name: c
    image: i
    imagePullPolicyy: Always
status:
  phase: Running
  newerField: 1
  containerStatuses:
  - name: c
    ready: true
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
  namespace: ns
  managedFields:
  - manager: helm
    operation: Apply
spec:
  selector: {matchLabels: {app: a}}
  template:
    metadata: {labels: {app: a}}
    spec: {containers: [{name: c, image: i}]}
status:
  replicas: 1
  statusTypo: 2
`
	path := write(t, t.TempDir(), "s.yaml", content)
	for _, tc := range []struct {
		name  string
		reads map[schema.GroupKind][]string
	}{
		{"full", nil},
		{"projected", map[schema.GroupKind][]string{
			{Kind: "Pod"}:                       {"spec.containers.name", "status.phase"},
			{Group: "apps", Kind: "Deployment"}: {"spec.template"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLoader(t, "")
			l.Reads = tc.reads
			l.ManagedFields = map[schema.GroupKind]bool{{Group: "apps", Kind: "Deployment"}: true}
			res := l.Load(context.Background(), []string{path})
			pod := find(t, res, "Pod", "p")
			if len(pod.FieldIssues) != 1 || pod.FieldIssues[0].Path.String() != ".spec.containers[0].imagePullPolicyy" {
				t.Errorf("Pod issues %+v, want only the spec typo", pod.FieldIssues)
			}
			p := pod.Typed.(*corev1.Pod)
			if p.Status.Phase != corev1.PodRunning || p.Labels["app"] != "a" || len(p.ManagedFields) != 0 {
				t.Errorf("Pod phase %q, labels %v, managedFields %d", p.Status.Phase, p.Labels, len(p.ManagedFields))
			}
			if tc.reads != nil && len(p.Status.ContainerStatuses) != 0 {
				t.Errorf("container statuses decoded although not projected")
			}
			d := find(t, res, "Deployment", "d")
			if len(d.FieldIssues) != 0 {
				t.Errorf("Deployment issues %+v, want none (statusTypo is under status)", d.FieldIssues)
			}
			dep := d.Typed.(*appsv1.Deployment)
			if len(dep.ManagedFields) != 1 || dep.ManagedFields[0].Manager != "helm" {
				t.Errorf("Deployment managedFields %+v, want helm's kept", dep.ManagedFields)
			}
		})
	}
}

func TestSkipFunc(t *testing.T) {
	l := newLoader(t, "")
	if ps := l.newReader(nil).yaml; ps.Skip != nil || ps.Prune != nil || ps.Memo != nil {
		t.Error("no projection must read everything")
	}
	l.Reads = map[schema.GroupKind][]string{{Kind: "Pod"}: {"status.phase"}}
	l.ManagedFields = map[schema.GroupKind]bool{{Group: "apps", Kind: "Deployment"}: true}
	skip := l.newReader(l.projections()).yaml.Skip
	for _, c := range []struct {
		av, kind, top, key string
		want               bool
	}{
		{"v1", "Pod", "", "status", false},                  // projected
		{"apps/v1", "ReplicaSet", "", "status", true},       // nobody reads it
		{"v1", "ConfigMap", "", "status", false},            // no such field: an unknown field to report
		{"cilium.io/v2", "CiliumNode", "", "status", false}, // unknown kinds are kept whole
		{"", "", "", "status", false},                       // kind not seen yet
		{"v1", "Pod", "metadata", "managedFields", true},
		{"apps/v1", "Deployment", "metadata", "managedFields", false},
		{"v1", "Pod", "spec", "status", false},
		{"v1", "Pod", "", "spec", false},
	} {
		if got := skip(c.av, c.kind, c.top, c.key); got != c.want {
			t.Errorf("%s %s %s.%s: skip %v, want %v", c.av, c.kind, c.top, c.key, got, c.want)
		}
	}
}

// TestReusedReadBufferLeavesObjectsIntact: one worker reads every file into
// the same memory; objects of the first file must not change when the next
// file overwrites it (nothing decoded may point into the read buffer).
func TestReusedReadBufferLeavesObjectsIntact(t *testing.T) {
	dir := t.TempDir()
	first := write(t, dir, "a.yaml", `apiVersion: v1
kind: ConfigMap
metadata: {name: cm-with-a-long-name-that-is-not-interned-0123456789-0123456789-0123456789, namespace: ns, labels: {team: payments}}
data: {key: "a value longer than the interner keeps, 0123456789 0123456789 0123456789"}
---
apiVersion: cilium.io/v2
kind: CiliumNode
metadata: {name: node-1}
spec: {ipam: {podCIDRs: [10.0.1.0/24]}}
---
apiVersion: v1
kind: Service
metadata: {name: s, namespace: ns}
spec: {ports: [{port: 80, protocl: TCP}]}
`)
	alone := newLoader(t, "").Load(context.Background(), []string{first})
	junk := strings.Repeat("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: zz}\ndata: {zzzzzzzzzz: zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz}\n---\n", 50)
	write(t, dir, "b.yaml", junk)
	l := newLoader(t, "")
	l.Workers = 1
	both := l.Load(context.Background(), []string{dir})
	for _, want := range alone.Objects {
		got := find(t, both, want.Key.Kind, want.Key.Name)
		if !reflect.DeepEqual(got.Typed, want.Typed) || !reflect.DeepEqual(got.FieldIssues, want.FieldIssues) {
			t.Errorf("%s changed after the buffer was reused:\n got %+v\nwant %+v", want.Ref(), got.Typed, want.Typed)
		}
	}
}

// TestServedBuiltinsAreReadInPart: a built-in kind an API server returned
// (uid and resourceVersion) holds no field its server did not know, so its
// unknown fields — a newer Kubernetes's — are not reported, and the reader
// passes over what no check reads; what the checks read is decoded as
// before. The same object written by hand, and a custom resource the server
// returned, keep their unknown fields reported. The fast reader and the
// fallback reader agree.
func TestServedBuiltinsAreReadInPart(t *testing.T) {
	served := `apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: ns
  resourceVersion: "12"
  uid: 0b6c6a9e-1
spec:
  containers:
  - name: app
    image: img
    env:
    - {name: A, value: b}
    resources:
      limits: {cpu: "1"}
      fieldFromANewerKubernetes: 1
    startupProbeNew: {}
  volumes:
  - name: v
    emptyDir: {}
  hostNetwork: true
`
	handWritten := strings.Replace(strings.Replace(served, "  resourceVersion: \"12\"\n", "", 1), "%s", "by-hand", 1)
	// A plain scalar continued on the next line is for the fallback reader.
	anchored := strings.Replace(served, "  uid: 0b6c6a9e-1\n", "  uid: 0b6c6a9e-1\n  annotations:\n    note: two\n      words\n", 1)
	anchored = strings.Replace(anchored, "%s", "continued", 1)
	istio := `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: dr, namespace: ns, uid: u-2, resourceVersion: "3"}
spec:
  host: a
  trafficPolicyy: {}
`
	path := write(t, t.TempDir(), "s.yaml", strings.Replace(served, "%s", "served", 1)+"---\n"+handWritten+"---\n"+anchored+"---\n"+istio)
	l := newLoader(t, "")
	l.Reads = map[schema.GroupKind][]string{{Kind: "Pod"}: {"spec.containers.name", "spec.containers.env", "spec.hostNetwork"}, {Group: "networking.istio.io", Kind: "DestinationRule"}: {"spec"}}
	res := l.Load(context.Background(), []string{path})
	if len(res.Errors) != 0 {
		t.Fatalf("errors: %v", res.Errors)
	}
	for _, name := range []string{"served", "continued"} {
		o := find(t, res, "Pod", name)
		if len(o.FieldIssues) != 0 {
			t.Errorf("%s: issues %+v, want none", name, o.FieldIssues)
		}
		p := o.Typed.(*corev1.Pod)
		if name == "continued" && p.Annotations["note"] != "two words" {
			t.Errorf("continued: annotation %q: not read by the fallback reader", p.Annotations["note"])
		}
		c := p.Spec.Containers
		if len(c) != 1 || c[0].Name != "app" || len(c[0].Env) != 1 || c[0].Env[0].Value != "b" || !p.Spec.HostNetwork {
			t.Errorf("%s: projected fields lost: %+v hostNetwork %v", name, c, p.Spec.HostNetwork)
		}
		if len(c) == 1 && (c[0].Image != "" || c[0].Resources.Limits != nil) || len(p.Spec.Volumes) != 0 {
			t.Errorf("%s: fields no check reads were decoded: %+v volumes %v", name, c, p.Spec.Volumes)
		}
	}
	var got []string
	for _, is := range find(t, res, "Pod", "by-hand").FieldIssues {
		got = append(got, is.Path.String())
	}
	if want := []string{".spec.containers[0].resources.fieldFromANewerKubernetes", ".spec.containers[0].startupProbeNew"}; !reflect.DeepEqual(got, want) {
		t.Errorf("hand-written Pod issues %v, want %v", got, want)
	}
	if is := find(t, res, "DestinationRule", "dr").FieldIssues; len(is) != 1 || is[0].Path.String() != ".spec.trafficPolicyy" {
		t.Errorf("served DestinationRule issues %+v, want its typo", is)
	}
}

// TestServedBuiltinsInJSONLists: the same for a LIST response's JSON (a
// typed List whose items carry no kind), as live mode reads it.
func TestServedBuiltinsInJSONLists(t *testing.T) {
	content := `{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"10"},"items":[
{"metadata":{"name":"served","namespace":"ns","uid":"u1","resourceVersion":"9"},"spec":{"containers":[{"name":"app","image":"i","newerField":{"a":"]}"}}],"hostNetwork":true}},
{"metadata":{"name":"by-hand","namespace":"ns"},"spec":{"containers":[{"name":"app","image":"i","newerField":1}]}}]}`
	path := write(t, t.TempDir(), "pods.json", content)
	l := newLoader(t, "")
	l.Reads = map[schema.GroupKind][]string{{Kind: "Pod"}: {"spec.containers.name", "spec.hostNetwork"}}
	res := l.Load(context.Background(), []string{path})
	if len(res.Errors) != 0 {
		t.Fatalf("errors: %v", res.Errors)
	}
	s := find(t, res, "Pod", "served")
	p := s.Typed.(*corev1.Pod)
	if len(s.FieldIssues) != 0 || len(p.Spec.Containers) != 1 || p.Spec.Containers[0].Name != "app" || p.Spec.Containers[0].Image != "" || !p.Spec.HostNetwork {
		t.Errorf("served Pod: issues %+v, spec %+v", s.FieldIssues, p.Spec)
	}
	if is := find(t, res, "Pod", "by-hand").FieldIssues; len(is) != 1 || is[0].Path.String() != ".spec.containers[0].newerField" {
		t.Errorf("hand-written Pod issues %+v, want its unknown field", is)
	}
}

// TestEmbeddedYAMLPositions: a path may go on into YAML kept in a literal
// block scalar (the istio ConfigMap's mesh key); lines are those of the file.
func TestEmbeddedYAMLPositions(t *testing.T) {
	p := write(t, t.TempDir(), "cm.yaml", `apiVersion: v1
kind: ConfigMap
metadata:
  name: istio
  namespace: istio-system
data:
  mesh: |-
    rootNamespace: istio-system

    defaultConfig:
      proxyMetadata: {A: "1"}
    enableAutoMtls: false
  flow: "enableAutoMtls: false"
`)
	res := load(t, p)
	cm := find(t, res, "ConfigMap", "istio")
	for _, c := range []struct {
		path  snapshot.Path
		line  int
		exact bool
	}{
		{snapshot.P("data", "mesh", "enableAutoMtls"), 12, true},
		{snapshot.P("data", "mesh", "defaultConfig", "proxyMetadata", "A"), 11, true},
		{snapshot.P("data", "mesh", "trustDomain"), 7, false}, // the mesh key
		{snapshot.P("data", "flow", "enableAutoMtls"), 13, false},
	} {
		pos, exact := cm.Locator.Locate(c.path)
		if pos.Line != c.line || exact != c.exact {
			t.Errorf("%s: got %s exact=%v, want line %d exact=%v", c.path, pos, exact, c.line, c.exact)
		}
	}
}

// TestReaderPanicCostsOneDocument: a panic while reading a document (a
// reader bug; here forced through the reader's Skip hook) becomes an input
// error at that document, and the other documents are still read.
func TestReaderPanicCostsOneDocument(t *testing.T) {
	l := newLoader(t, "")
	proj := l.projections()
	explode := func(_, kind, _, _ string) bool {
		if kind == "Broken" {
			panic("boom")
		}
		return false
	}
	yamlIn := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: ns}\n---\napiVersion: v1\nkind: Broken\nmetadata: {name: b}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: ns}\n"
	jsonIn := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","namespace":"ns"}}` + "\n" + `{"apiVersion":"v1","kind":"Broken","metadata":{"name":"b"}}`
	for _, c := range []struct {
		name, in string
		objects  int
		line     int
	}{{"in.yaml", yamlIn, 2, 5}, {"in.json", jsonIn, 1, 2}} {
		rd := l.newReader(proj)
		rd.yaml.Skip = explode
		res := l.parseUnit(unit{name: c.name}, []byte(c.in), rd, proj)
		if len(res.Objects) != c.objects || len(res.Errors) != 1 {
			t.Fatalf("%s: %d objects, errors %v", c.name, len(res.Objects), res.Errors)
		}
		if e := res.Errors[0]; e.Pos.Line != c.line || !strings.Contains(e.Msg, "internal error") || !strings.Contains(e.Msg, "boom") {
			t.Errorf("%s: error %+v", c.name, e)
		}
	}
}
