package decode

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/yamltree"
)

// flatPath renders a path without separators: the strict decoder's dotted
// paths cannot tell a dot in a key from a separator, so both sides are
// compared with dots removed.
func flatPath(p snapshot.Path) string {
	var b strings.Builder
	for i, e := range p {
		switch v := e.(type) {
		case int:
			b.WriteString("[" + string(rune('0'+v%10)) + "]")
		case string:
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(v)
		}
	}
	return strings.ReplaceAll(b.String(), ".", "")
}

func issueSet(is []snapshot.FieldIssue) []string {
	var out []string
	for _, i := range is {
		if !i.Duplicate {
			out = append(out, flatPath(i.Path))
		}
	}
	sort.Strings(out)
	return out
}

func normalized(t testing.TB, v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	json.Unmarshal(b, &out)
	return out
}

// sameDecode requires DecodeTree (the fast path) to agree with Decode (the
// strict JSON path) on the object, its unknown fields, and on failure.
func sameDecode(t testing.TB, d *Decoder, doc string) bool {
	t.Helper()
	n, err := yamltree.ParseYAML([]byte(doc))
	if err != nil {
		return false
	}
	js, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		t.Fatalf("reference conversion failed on a document the fast reader accepted: %v", err)
	}
	want, werr := d.Decode(js)
	got, gerr := d.DecodeTree(n)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("errors differ: Decode %v, DecodeTree %v\n%s", werr, gerr, doc)
	}
	if werr != nil {
		// Both fail. Messages may differ only in the order in which an
		// echoed document lists its keys (the reference sorts them), or,
		// when several fields have the wrong type, in which one is named:
		// the reference visits keys sorted, the tree in document order.
		if len(werr.Error()) != len(gerr.Error()) && !(typeError(werr) && typeError(gerr)) {
			t.Fatalf("error messages differ:\n%v\n%v", werr, gerr)
		}
		return true
	}
	if !reflect.DeepEqual(normalized(t, want.Obj), normalized(t, got.Obj)) {
		a, _ := json.Marshal(want.Obj)
		b, _ := json.Marshal(got.Obj)
		t.Fatalf("objects differ for:\n%s\nDecode:     %s\nDecodeTree: %s", doc, a, b)
	}
	if w, g := issueSet(want.Issues), issueSet(got.Issues); strings.Join(w, " ") != strings.Join(g, " ") {
		t.Fatalf("unknown fields differ: Decode %v, DecodeTree %v\n%s", w, g, doc)
	}
	// A projected decode reports the same unknown fields, dropped subtrees
	// included.
	proj, perr := d.DecodeTreeWith(n, TreeOptions{Projection: NewProjection([]string{"spec.containers", "data"})})
	if perr != nil {
		t.Fatalf("projected decode failed where the full one did not: %v\n%s", perr, doc)
	}
	if w, g := issueSet(got.Issues), issueSet(proj.Issues); strings.Join(w, " ") != strings.Join(g, " ") {
		t.Fatalf("unknown fields differ under projection: full %v, projected %v\n%s", w, g, doc)
	}
	return true
}

func TestProjectionKeepsOnlyDeclaredFields(t *testing.T) {
	d, _ := New()
	doc := `apiVersion: v1
kind: Pod
metadata: {name: p, labels: {app: x}}
spec:
  nodeName: n1
  containers:
  - name: c
    image: i
    env: [{name: A, value: b}]
    resources: {limits: {cpu: 100m}}
    bogus: 1
  volumes: [{name: v, emptyDir: {}, wrong: 2}]
status:
  phase: Running
  containerStatuses: [{name: c, ready: true, restartCount: 0, image: i, imageID: x}]
`
	n, err := yamltree.ParseYAML([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	res, err := d.DecodeTreeWith(n, TreeOptions{Projection: NewProjection([]string{"spec.containers", "status.containerStatuses"})})
	if err != nil {
		t.Fatal(err)
	}
	pod := res.Obj.(*corev1.Pod)
	if pod.Name != "p" || pod.Labels["app"] != "x" || len(pod.Spec.Containers) != 1 || pod.Spec.Containers[0].Env[0].Value != "b" ||
		pod.Spec.Containers[0].Resources.Limits.Cpu().String() != "100m" || len(pod.Status.ContainerStatuses) != 1 {
		t.Errorf("declared fields lost: %+v", pod)
	}
	if pod.Spec.NodeName != "" || len(pod.Spec.Volumes) != 0 || pod.Status.Phase != "" {
		t.Errorf("undeclared fields kept: node %q volumes %d phase %q", pod.Spec.NodeName, len(pod.Spec.Volumes), pod.Status.Phase)
	}
	if got := strings.Join(issueSet(res.Issues), " "); got != "speccontainers[0]bogus specvolumes[0]wrong" {
		t.Errorf("unknown fields %q", got)
	}
}

func TestDecodeTreeMatchesStrictJSON(t *testing.T) {
	d, err := New()
	if err != nil {
		t.Fatal(err)
	}
	docs := []string{
		"apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {a: b}, creationTimestamp: null}\nspec:\n  containers:\n  - name: c\n    image: i\n    ports: [{containerPort: 80}]\n    resources: {limits: {cpu: 100m, memory: 1Gi}}\n    livenessProbe: {httpGet: {port: http, path: /}}\n    bogus: 1\n",
		"apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: YWJj}\n",
		"apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80, targetPort: 8080}], selector: {app: x}}\n",
		"apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: \"80\"}]}\n",
		"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n  managedFields:\n  - manager: m\n    operation: Apply\n    fieldsType: FieldsV1\n    fieldsV1:\n      f:spec:\n        f:replicas: {}\n    time: \"2025-01-01T00:00:00Z\"\nspec: {replicas: 2, selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: []}}}\n",
		"apiVersion: networking.istio.io/v1alpha3\nkind: VirtualService\nmetadata: {name: v}\nspec:\n  hosts: [r]\n  http:\n  - route: [{destination: {host: r, subnet: v1}, weight: 100}]\n    timeout: 5s\n",
		"apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {num: 1, f: 1.5, l: [a, 2]}\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: 1}\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, creationTimestamp: \"2025-03-04T05:06:07Z\", deletionTimestamp: \"2025-03-04T07:06:07+02:00\"}\n",
		"apiVersion: v1\nkind: Pod\nmetadata: {name: p, creationTimestamp: \"2025-03-04T05:06:07.5-07:00\"}\nstatus: {startTime: \"2025-03-04T05:06:07.123Z\"}\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, creationTimestamp: yesterday}\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: \"1\"}\nbinaryData: {b: AAE=}\nimmutable: true\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: {a: null, b: x, c: \"\"}, annotations: {}}\ndata: {k: null}\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: {a: [x]}}\n",
	}
	for _, doc := range docs {
		if !sameDecode(t, d, doc) {
			t.Errorf("fast reader declined:\n%s", doc)
		}
	}
}

// TestDecodeTreeOnRepositoryYAML runs every document of the repository
// (examples and test inputs) through both decoders.
func TestDecodeTreeOnRepositoryYAML(t *testing.T) {
	d, _ := New()
	n := 0
	filepath.WalkDir("../..", func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() || !strings.HasSuffix(p, ".yaml") || strings.Contains(p, "/testdata/fuzz/") {
			return nil
		}
		b, _ := os.ReadFile(p)
		for _, doc := range strings.Split(string(b), "\n---\n") {
			if strings.HasPrefix(doc, "---") || !strings.Contains(doc, "kind:") {
				continue
			}
			if strings.Contains(doc, "kind: List") {
				continue // Lists are split by the loader; items are covered there
			}
			if sameDecode(t, d, doc+"\n") {
				n++
			}
		}
		return nil
	})
	if n < 20 {
		t.Errorf("only %d documents compared", n)
	}
}

func typeError(err error) bool { return strings.Contains(err.Error(), "json: cannot unmarshal") }

func FuzzDecodeTree(f *testing.F) {
	d, _ := New()
	for _, s := range []string{
		"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, ports: [{containerPort: 80}]}]}\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n",
		"apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d}\nspec: {host: h, subsets: [{name: v1, labels: {v: \"1\"}}]}\n",
		"apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: d}\nspec: {template: {spec: {containers: [{name: c, env: [{name: A, valueFrom: {configMapKeyRef: {name: x, key: y}}}]}]}}}\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) { sameDecode(t, d, doc) })
}

// TestConcurrentFirstUse decodes many kinds from many goroutines with a
// fresh Decoder, so type plans are built while others read them; run with
// -race. A half-built plan shows up as real fields reported unknown.
func TestConcurrentFirstUse(t *testing.T) {
	docs := []string{
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: ns1, labels: {a: b}}\nspec: {finalizers: [kubernetes]}\nstatus: {phase: Active}\n",
		"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: i, env: [{name: A, value: b}]}]}\nstatus: {phase: Running}\n",
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: 1, template: {spec: {containers: [{name: c}]}}}\n",
		"apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}]}\n",
		"apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: ds}\nspec: {template: {spec: {volumes: [{name: v, emptyDir: {}}]}}}\n",
		"apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v}\nspec: {hosts: [h]}\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n",
		"apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: cj}\nspec: {schedule: x, jobTemplate: {spec: {template: {spec: {containers: [{name: c}]}}}}}\n",
	}
	for round := 0; round < 20; round++ {
		d, err := New()
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan string, 64)
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for i := range docs {
					doc := docs[(i+g)%len(docs)]
					n, err := yamltree.ParseYAML([]byte(doc))
					if err != nil {
						errs <- err.Error()
						return
					}
					res, err := d.DecodeTree(n)
					if err != nil || len(res.Issues) > 0 {
						errs <- fmt.Sprintf("%v %v in\n%s", err, res.Issues, doc)
						return
					}
				}
			}(g)
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Fatal(e)
		}
	}
}

func benchPod(b *testing.B) ([]byte, *Decoder) {
	doc, err := os.ReadFile("../yamltree/testdata/pod.yaml")
	if err != nil {
		b.Fatal(err)
	}
	d, _ := New()
	return doc, d
}

// BenchmarkFastPathPod: yamltree + DecodeTree, as the loader does.
func BenchmarkFastPathPod(b *testing.B) {
	doc, d := benchPod(b)
	p := yamltree.NewParser()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		n, err := p.ParseYAML(doc)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := d.DecodeTree(n); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFastPathVirtualService: an Istio spec, filled through
// protoreflect (prototree.go) and walked for unknown fields.
func BenchmarkFastPathVirtualService(b *testing.B) {
	doc, err := os.ReadFile("testdata/virtualservice.yaml")
	if err != nil {
		b.Fatal(err)
	}
	d, _ := New()
	p := yamltree.NewParser()
	in := NewInterner()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		n, err := p.ParseYAML(doc)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := d.DecodeTreeWith(n, TreeOptions{Intern: in}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReferencePathPod: sigs.k8s.io/yaml + strict JSON decoding.
func BenchmarkReferencePathPod(b *testing.B) {
	doc, d := benchPod(b)
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		js, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := d.Decode(js); err != nil {
			b.Fatal(err)
		}
	}
}

func TestInternerSharesRepeatedStrings(t *testing.T) {
	in := NewInterner()
	a := in.get(string([]byte("istio-proxy")))
	b := in.get(string([]byte("istio-proxy")))
	if a != "istio-proxy" || unsafe.StringData(a) != unsafe.StringData(b) {
		t.Fatalf("a repeated string was copied again: %q %p, %q %p", a, unsafe.StringData(a), b, unsafe.StringData(b))
	}
	// Strings that contend for slots are still returned intact.
	for i := range 3 * internSlots {
		s := fmt.Sprintf("pod-%d", i)
		if got := in.get(s); got != s {
			t.Fatalf("get(%q) = %q", s, got)
		}
	}
	long := strings.Repeat("x", maxInterned+1)
	if got := in.get(long); got != long {
		t.Fatalf("long string changed")
	}
	var none *Interner
	if got := none.get("web"); got != "web" {
		t.Fatalf("nil Interner: %q", got)
	}
}
