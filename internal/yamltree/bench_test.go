package yamltree

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// A generated Pod as kubectl prints it (managedFields, status, sidecar).
func podDoc(b *testing.B) []byte {
	doc, err := os.ReadFile("testdata/pod.yaml")
	if err != nil {
		b.Fatal(err)
	}
	return doc
}

func BenchmarkParseYAMLPod(b *testing.B) {
	doc := podDoc(b)
	p := NewParser()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, err := p.ParseYAML(doc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReferenceYAMLToJSONPod is what kubectl's conversion costs.
func BenchmarkReferenceYAMLToJSONPod(b *testing.B) {
	doc := podDoc(b)
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, err := yaml.YAMLToJSONStrict(doc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScan: the one pass over a stream that finds its line feeds and
// checks its characters.
func BenchmarkScan(b *testing.B) {
	doc := []byte(strings.Repeat("    - name: some-container-name\n      image: registry.example/app:v1.2.3\n", 2000))
	var s Stream
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if err := s.Scan(doc); err != nil || !s.Readable {
			b.Fatal("not readable")
		}
	}
}

// BenchmarkSplit: cutting a document into lines, which every line passes
// through whether it is read, skipped or memoized.
func BenchmarkSplit(b *testing.B) {
	doc := podDoc(b)
	var p parser
	var s Stream
	if err := s.Scan(doc); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		p.lines = p.lines[:0]
		if err := p.split(doc, 0, s.Ends); err != nil {
			b.Fatal(err)
		}
	}
}

// podJSON is the generated Pod as `kubectl get -o json` prints it: four
// spaces of indentation, which is most of the bytes.
func podJSON(b *testing.B) []byte {
	j, err := yaml.YAMLToJSON(podDoc(b))
	if err != nil {
		b.Fatal(err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, j, "", "    "); err != nil {
		b.Fatal(err)
	}
	return out.Bytes()
}

// BenchmarkJSONStreamPod reads the Pod as the loader does: status and
// managedFields are passed over, the rest is built.
func BenchmarkJSONStreamPod(b *testing.B) {
	doc := podJSON(b)
	st := NewJSONStream(nil)
	st.Skip = func(av, kind, top, key string) bool {
		return top == "" && key == "status" || top == "metadata" && key == "managedFields"
	}
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		st.Reset(doc)
		if v, err := st.Next(); err != nil || v.Node == nil {
			b.Fatal(err)
		}
	}
}
