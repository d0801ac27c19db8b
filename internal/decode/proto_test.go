package decode

import (
	"bytes"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/yamltree"
)

// The unknown-field paths must not share memory with the document: the
// file reader reuses its buffer, and a path that aliased it once printed
// as fragments of the next file's base64 data.
func TestUnknownFieldPathOwnsItsStrings(t *testing.T) {
	d, err := New()
	if err != nil {
		t.Fatal(err)
	}
	doc := []byte(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: validation}
spec:
  hosts: [reviews]
  http:
  - match:
    - uri: {prefix: /v1}
      route:
      - destination: {host: reviews}
`)
	n, err := yamltree.NewParser().ParseYAML(doc)
	if err != nil {
		t.Fatal(err)
	}
	res, err := d.DecodeTree(n)
	if err != nil {
		t.Fatal(err)
	}
	copy(doc, bytes.Repeat([]byte("X"), len(doc)))
	var got []string
	for _, i := range res.Issues {
		got = append(got, i.Path.String())
	}
	if len(got) != 1 || got[0] != ".spec.http[0].match[0].route" {
		t.Fatalf("issues after the buffer was overwritten: %q, want [.spec.http[0].match[0].route]", got)
	}
}
