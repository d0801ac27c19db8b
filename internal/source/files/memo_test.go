package files

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/all"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// servedNamespace is one namespace of bench/gen's output (-objects 100):
// what `kubectl get -o yaml` prints for a Deployment, its ReplicaSet and
// Pods, Services, ConfigMaps, Secrets and Istio objects. Its Pods repeat
// their template's containers, which the Memo shares.
const servedNamespace = "testdata/served-namespace.yaml"

// projectedLoader returns a loader that decodes what every check reads, as
// `meshdoctor analyze` does, and the checks.
func projectedLoader(t testing.TB, noMemo bool) (*Loader, []*analysis.Analyzer) {
	t.Helper()
	reg, err := all.Registry()
	if err != nil {
		t.Fatal(err)
	}
	as := reg.All()
	reads, ok := analysis.Projections(as)
	if !ok {
		t.Fatal("the checks do not all declare their reads: no projection to test")
	}
	l := newLoader(t, "")
	l.Reads, l.ManagedFields, l.NoMemo = reads, analysis.ManagedFieldsKinds(as), noMemo
	return l, as
}

// loadWith loads paths with and without the Memo, one worker so that the
// Memo sees every document.
func loadWith(t *testing.T, noMemo bool, paths ...string) Result {
	t.Helper()
	l, _ := projectedLoader(t, noMemo)
	l.Workers = 1
	return l.Load(context.Background(), paths)
}

// TestMemoDecodesAsWithout: sharing repeated values changes no object, no
// unknown-field report and no error.
func TestMemoDecodesAsWithout(t *testing.T) {
	dir := t.TempDir()
	body, err := os.ReadFile(servedNamespace)
	if err != nil {
		t.Fatal(err)
	}
	// A second copy as one List item each, indented two more (kubectl get
	// -o yaml of several objects), renamed so that keys stay unique.
	write(t, dir, "list.yaml", asList(t, strings.ReplaceAll(string(body), "team-0001", "team-0101")))
	write(t, dir, "docs.yaml", string(body))
	// An object the fast path cannot decode (a number for a string), whose
	// containers repeat ones already read: it is decoded from JSON, which
	// needs its whole text.
	pod := firstDoc(t, string(body), "kind: Pod\n")
	odd := strings.Replace(strings.Replace(pod, "\n  nodeName: ", "\n  nodeName: 5\n  schedulerName: ", 1), "name: tax-v1-", "name: odd-", 1)
	odd = strings.Replace(odd, "\n  schedulerName: default-scheduler", "", 1)
	write(t, dir, "mismatch.yaml", odd)
	// The same as `kubectl get -o json` writes it (a List, four spaces of
	// indentation), and as `jq -c` does (one line per object), where the
	// JSON reader's Memo shares what repeats at any indentation. The odd
	// Pod, in a List after a Pod its containers repeat, needs its text
	// again (the List is read again without the Memo), and a Pod whose
	// labels repeat a key (reported for each Pod) comes twice.
	write(t, dir, "list.json", kubectlJSON(t, strings.ReplaceAll(string(body), "team-0001", "team-0201")))
	write(t, dir, "mismatch.json", kubectlJSON(t, strings.ReplaceAll(pod+"\n---\n"+odd, "team-0001", "team-0401")))
	write(t, dir, "compact.json", compactJSON(t, strings.ReplaceAll(string(body), "team-0001", "team-0301")))
	dupLabels := strings.Replace(strings.Replace(pod, "\n  labels:\n", "\n  labels:\n    dup: \"1\"\n", 1), "name: tax-v1-", "name: dup-", 1)
	dupJSON := compactJSON(t, dupLabels)
	dupJSON = strings.Replace(dupJSON, `"labels":{`, `"labels":{"dup":"2",`, 1)
	write(t, dir, "dup.json", dupJSON+"\n"+strings.Replace(dupJSON, `"name":"dup-`, `"name":"dup2-`, 1))

	// And every example: objects written by hand, of every kind, some broken.
	examples, _ := filepath.Glob("../../../examples/*/*/input")
	paths := append([]string{dir}, examples...)
	with, without := loadWith(t, false, paths...), loadWith(t, true, paths...)
	if len(with.Objects) != len(without.Objects) || len(with.Objects) < 100 {
		t.Fatalf("%d objects with the memo, %d without", len(with.Objects), len(without.Objects))
	}
	if !reflect.DeepEqual(with.Errors, without.Errors) {
		t.Errorf("errors with the memo %v, without %v", with.Errors, without.Errors)
	}
	for _, f := range []string{"mismatch.yaml", "mismatch.json"} {
		if !strings.Contains(fmt.Sprint(with.Errors), f) || !strings.Contains(fmt.Sprint(with.Errors), "nodeName") {
			t.Errorf("errors %v, want the number nodeName reported in %s", with.Errors, f)
		}
	}
	dups := 0
	for _, o := range with.Objects {
		if strings.HasPrefix(o.Key.Name, "dup") && len(o.FieldIssues) > 0 {
			dups++
		}
	}
	if dups != 2 {
		t.Errorf("%d Pods report their repeated label key, want 2", dups)
	}
	for i, o := range with.Objects {
		w := without.Objects[i]
		if o.Key != w.Key || !reflect.DeepEqual(o.Typed, w.Typed) || !reflect.DeepEqual(o.FieldIssues, w.FieldIssues) {
			t.Errorf("%v decodes differently with the memo", o.Key)
		}
	}
	// The memo was used: Pods of one ReplicaSet share their containers' env.
	var shared int
	seen := map[*corev1.EnvVar]bool{}
	for _, o := range with.Objects {
		if p, ok := o.Typed.(*corev1.Pod); ok && len(p.Spec.Containers) > 0 && len(p.Spec.Containers[0].Env) > 0 {
			e := &p.Spec.Containers[0].Env[0]
			if seen[e] {
				shared++
			}
			seen[e] = true
		}
	}
	if shared == 0 {
		t.Error("no Pod shares its env with another: the memo was not used")
	}
	// In JSON too, in both layouts.
	for _, f := range []string{"list.json", "compact.json"} {
		shared, seen := 0, map[*corev1.EnvVar]bool{}
		for _, o := range with.Objects {
			if p, ok := o.Typed.(*corev1.Pod); ok && strings.HasSuffix(o.Origin.File, f) && len(p.Spec.Containers) > 0 && len(p.Spec.Containers[0].Env) > 0 {
				e := &p.Spec.Containers[0].Env[0]
				if seen[e] {
					shared++
				}
				seen[e] = true
			}
		}
		if shared == 0 {
			t.Errorf("no Pod of %s shares its env with another: the JSON reader's memo was not used", f)
		}
	}
	// And their labels: metadata's string maps are memoized too.
	sharedLabels := 0
	seenLabels := map[uintptr]bool{}
	for _, o := range with.Objects {
		if _, ok := o.Typed.(*corev1.Pod); ok && len(o.Labels) > 0 {
			p := reflect.ValueOf(o.Labels).Pointer()
			if seenLabels[p] {
				sharedLabels++
			}
			seenLabels[p] = true
		}
	}
	if sharedLabels == 0 {
		t.Error("no Pod shares its labels with another: metadata was not memoized")
	}
}

// TestAnalysisLeavesObjectsUnchanged: objects share decoded values (the
// Memo), so no check may change one. Every check runs on the served
// namespace and on the examples; each object must still equal its copy.
func TestAnalysisLeavesObjectsUnchanged(t *testing.T) {
	l, as := projectedLoader(t, false)
	paths := []string{servedNamespace}
	examples, _ := filepath.Glob("../../../examples/*/*/input")
	paths = append(paths, examples...)
	res := l.Load(context.Background(), paths)
	if len(res.Objects) < 100 {
		t.Fatalf("loaded %d objects", len(res.Objects))
	}
	b := snapshot.NewBuilder()
	copies := make([]runtime.Object, len(res.Objects))
	for i, o := range res.Objects {
		copies[i] = o.Typed.DeepCopyObject()
		b.Add(o)
	}
	snap := b.Build()
	// The snapshot's index slices are shared too: their order must stay.
	type kindNS struct {
		gk schema.GroupKind
		ns string
	}
	order := map[kindNS][]*snapshot.Object{}
	for _, o := range res.Objects {
		k := kindNS{o.Key.GroupKind(), o.Key.Namespace}
		order[k] = append([]*snapshot.Object(nil), snap.InNamespace(k.gk, k.ns)...)
		order[kindNS{k.gk, "*"}] = append([]*snapshot.Object(nil), snap.List(k.gk)...)
	}
	out := analysis.Run(context.Background(), snap, analysis.RunConfig{Analyzers: as, Options: &analysis.Options{}})
	if len(out.Findings) == 0 {
		t.Fatal("no findings: the checks did not run on the input")
	}
	for k, want := range order {
		got := snap.InNamespace(k.gk, k.ns)
		if k.ns == "*" {
			got = snap.List(k.gk)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("analysis reordered the snapshot's %v objects in %q", k.gk, k.ns)
		}
	}
	for i, o := range res.Objects {
		// protocmp compares Istio specs as messages, not their internal
		// caches, which reading a message may fill.
		if diff := cmp.Diff(copies[i], o.Typed, protocmp.Transform()); diff != "" {
			t.Errorf("analysis changed %v:\n%s", o.Key, diff)
		}
	}
}

func asList(t *testing.T, stream string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: List\nitems:\n")
	for _, doc := range docs(stream) {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		for i, ln := range strings.Split(strings.TrimSuffix(doc, "\n"), "\n") {
			switch {
			case i == 0:
				b.WriteString("- " + ln + "\n")
			case ln == "":
				b.WriteString("\n")
			default:
				b.WriteString("  " + ln + "\n")
			}
		}
	}
	return b.String()
}

func firstDoc(t *testing.T, stream, containing string) string {
	t.Helper()
	for _, doc := range docs(stream) {
		if strings.Contains(doc, containing) {
			return doc
		}
	}
	t.Fatalf("no document with %q", containing)
	return ""
}

// docs splits a stream at its "---" lines.
func docs(stream string) []string {
	return strings.Split(strings.TrimPrefix(stream, "---\n"), "\n---\n")
}

// kubectlJSON writes a YAML stream's objects as `kubectl get -o json` does.
func kubectlJSON(t *testing.T, stream string) string {
	t.Helper()
	list := map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{"resourceVersion": ""}, "items": objectsOf(t, stream)}
	b, err := json.MarshalIndent(list, "", "    ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

// compactJSON writes a YAML stream's objects one per line, as `jq -c` does.
func compactJSON(t *testing.T, stream string) string {
	t.Helper()
	var b strings.Builder
	for _, o := range objectsOf(t, stream) {
		j, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

func objectsOf(t *testing.T, stream string) []any {
	t.Helper()
	var out []any
	for _, doc := range docs(stream) {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var o any
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatal(err)
		}
		out = append(out, o)
	}
	return out
}

// TestTrimLeavesSharedMapsAlone: the last-applied annotation is dropped
// from annotations only, even where the Memo shares one value among maps of
// the same text — labels too (they share a memo scope) — within one JSON
// value, across documents, and in YAML.
func TestTrimLeavesSharedMapsAlone(t *testing.T) {
	pod := func(name string) map[string]any {
		same := map[string]any{corev1.LastAppliedConfigAnnotation: "x", "a": "b"}
		return map[string]any{"apiVersion": "v1", "kind": "Pod",
			"metadata": map[string]any{"name": name, "namespace": "ns", "labels": same, "annotations": same},
			"spec":     map[string]any{"containers": []any{map[string]any{"name": "c", "image": "i"}}}}
	}
	list, err := json.MarshalIndent(map[string]any{"apiVersion": "v1", "kind": "List", "items": []any{pod("p1"), pod("p2")}}, "", "    ")
	if err != nil {
		t.Fatal(err)
	}
	var stream []byte
	for _, name := range []string{"p3", "p4"} {
		y, err := yaml.Marshal(pod(name))
		if err != nil {
			t.Fatal(err)
		}
		stream = append(append(stream, "---\n"...), y...)
	}
	dir := t.TempDir()
	write(t, dir, "a-list.json", string(list))
	write(t, dir, "b-docs.yaml", string(stream))
	write(t, dir, "c-again.json", string(list)) // every map from the Memo now
	for _, noMemo := range []bool{false, true} {
		res := loadWith(t, noMemo, dir)
		if len(res.Objects) != 6 || len(res.Errors) != 0 {
			t.Fatalf("memo off %v: %d objects, errors %v", noMemo, len(res.Objects), res.Errors)
		}
		for _, o := range res.Objects {
			p := o.Typed.(*corev1.Pod)
			if len(p.Labels) != 2 || p.Labels[corev1.LastAppliedConfigAnnotation] != "x" {
				t.Errorf("memo off %v: %v labels %v, want both keys", noMemo, o.Origin, p.Labels)
			}
			if len(p.Annotations) != 1 || p.Annotations["a"] != "b" {
				t.Errorf("memo off %v: %v annotations %v, want a=b only", noMemo, o.Origin, p.Annotations)
			}
		}
	}
}

// TestMemoKeepsSharingThroughALargeList: a kubectl JSON List is read whole
// before any of it is decoded, so its repeats are shared by the reader, not
// found in the Memo. The Memo must count them as hits: a List with more
// than the gate's trial of values in one scope still shares its repeated
// env lists, and so do the documents read after it.
func TestMemoKeepsSharingThroughALargeList(t *testing.T) {
	body, err := os.ReadFile(servedNamespace)
	if err != nil {
		t.Fatal(err)
	}
	var stream strings.Builder
	for i := 0; i < 40; i++ { // 560 containers with env: past the gate's trial
		stream.WriteString(strings.ReplaceAll(string(body), "team-0001", fmt.Sprintf("team-%04d", i+1)))
		stream.WriteString("\n---\n")
	}
	envLists := func(res Result) (containers, lists int) {
		seen := map[*corev1.EnvVar]bool{}
		for _, o := range res.Objects {
			if p, ok := o.Typed.(*corev1.Pod); ok {
				for _, c := range p.Spec.Containers {
					if len(c.Env) > 0 {
						containers++
						seen[&c.Env[0]] = true
					}
				}
			}
		}
		return containers, len(seen)
	}
	l, _ := projectedLoader(t, false)
	proj := l.projections()
	rd := l.newReader(proj)
	list := []byte(kubectlJSON(t, stream.String()))
	after := []byte(strings.ReplaceAll(string(body), "team-0001", "team-0999"))
	// The List repeats every namespace's lists 40 times; the documents
	// after it hold each list in two Pods.
	for _, c := range []struct {
		name  string
		data  []byte
		share int
	}{{"the List", list, 4}, {"documents after it", after, 2}} {
		name, data := c.name, c.data
		res := l.parseUnit(unit{name: name, data: data}, data, rd, proj)
		if len(res.Errors) != 0 {
			t.Fatalf("%s: %v", name, res.Errors)
		}
		containers, lists := envLists(res)
		if containers == 0 || lists*c.share > containers {
			t.Errorf("%s: %d containers hold %d env lists: the Memo stopped sharing", name, containers, lists)
		}
	}
}
