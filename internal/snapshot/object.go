// Package snapshot holds everything meshdoctor knows about a cluster at one
// moment — Kubernetes and mesh objects with where each came from — and the
// indexes analyzers use to find related objects without scanning.
package snapshot

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Position is a place in an input file. Line and Col are 1-based; Col is 0
// when unknown.
type Position struct {
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
}

func (p Position) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	default:
		return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
	}
}

// Locator finds where a field of one object is written in its source. It is
// lazy: sources keep the document's bytes (or a way to re-read them) and
// resolve a path only when a finding needs it. exact is false when the path
// does not exist in the source and the nearest existing ancestor was used.
type Locator interface {
	Locate(p Path) (pos Position, exact bool)
}

// Origin says where an object came from: a file (with the line its document
// or List item starts on) or the live cluster.
type Origin struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Live bool   `json:"live,omitempty"`
}

// Key identifies an object: group, kind, namespace and name. Versions of the
// same kind share a key, as they do in the API server.
type Key struct {
	Group     string `json:"group,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

func (k Key) GroupKind() schema.GroupKind { return schema.GroupKind{Group: k.Group, Kind: k.Kind} }

// String renders Kind/namespace/name (Kind/name for cluster-scoped objects),
// the form --suppress globs match against.
func (k Key) String() string {
	if k.Namespace == "" {
		return k.Kind + "/" + k.Name
	}
	return k.Kind + "/" + k.Namespace + "/" + k.Name
}

// Object is one Kubernetes or mesh object in the snapshot.
type Object struct {
	Key Key
	// APIVersion as written in the source (e.g. networking.istio.io/v1alpha3),
	// even when Typed is the preferred version's Go type.
	APIVersion string
	// Typed is the decoded value: a client-go or istio client-go type, or
	// *unstructured.Unstructured for kinds meshdoctor does not model.
	Typed runtime.Object
	// Labels and Annotations are copied out of Typed for the indexes.
	Labels      map[string]string
	Annotations map[string]string
	Origin      Origin
	// Locator resolves field positions; nil for live objects.
	Locator Locator
	// Secret is set for Secrets instead of their data: key names, hashes and
	// certificate metadata only.
	Secret *SecretSummary
	// FieldIssues are unknown or duplicate fields found while decoding.
	FieldIssues []FieldIssue
	// MetadataOnly is set when only the metadata was read (live Secrets
	// without --read-secrets): the rest, such as a Secret's keys, is
	// unknown, not empty.
	MetadataOnly bool
}

// Ref is a short human form: Kind namespace/name.
func (o *Object) Ref() string { return o.Key.String() }

// NewObject wraps a decoded value. It reads identity and labels through the
// object's metadata and, for Secrets, replaces the data by its summary.
func NewObject(typed runtime.Object, origin Origin, loc Locator) (*Object, error) {
	return NewObjectCaching(typed, origin, loc, nil)
}

// NewObjectCaching is NewObject with a cache of the certificates found in
// Secrets (nil: none).
func NewObjectCaching(typed runtime.Object, origin Origin, loc Locator, certs *CertCache) (*Object, error) {
	acc, err := meta.Accessor(typed)
	if err != nil {
		return nil, fmt.Errorf("object has no metadata: %w", err)
	}
	gvk := typed.GetObjectKind().GroupVersionKind()
	o := &Object{
		Key:         Key{Group: gvk.Group, Kind: gvk.Kind, Namespace: acc.GetNamespace(), Name: acc.GetName()},
		APIVersion:  gvk.GroupVersion().String(),
		Typed:       typed,
		Labels:      acc.GetLabels(),
		Annotations: acc.GetAnnotations(),
		Origin:      origin,
		Locator:     loc,
	}
	if sec, ok := typed.(*corev1.Secret); ok {
		o.Secret = summarizeSecret(sec, certs)
		o.Annotations = sec.Annotations
	}
	return o, nil
}

// FieldIssue is a field the decoder flagged: unknown to the kind's schema
// (the API server drops or rejects it; istioctl ignores it) or given twice.
type FieldIssue struct {
	Path      Path
	Duplicate bool
	// Line is the absolute line when the decoder knew it but not the path
	// (a YAML key repeated in one mapping); 0 otherwise.
	Line int
}
