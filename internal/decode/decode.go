// Package decode turns one JSON object into a typed value: Kubernetes kinds
// through client-go's scheme, Istio kinds through istio.io/client-go, and
// anything else as unstructured. It also reports fields the type does not
// know, which the API server would reject or silently drop.
package decode

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"

	"google.golang.org/protobuf/proto"
	istioscheme "istio.io/client-go/pkg/clientset/versioned/scheme"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kubescheme "k8s.io/client-go/kubernetes/scheme"
	sjson "sigs.k8s.io/json"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// FieldIssue is a field the decoder flagged (see snapshot.FieldIssue).
type FieldIssue = snapshot.FieldIssue

// Result is one decoded object.
type Result struct {
	Obj    runtime.Object
	Issues []FieldIssue
}

// ErrNoKind is returned for documents without apiVersion or kind.
var ErrNoKind = errors.New("document has no apiVersion or kind")

// Decoder decodes objects; it is safe for concurrent use once built.
type Decoder struct {
	scheme *runtime.Scheme
	// builtin holds the kinds compiled into the Kubernetes API server.
	builtin map[schema.GroupVersionKind]bool
	plans   planCache // type -> *typePlan, filled on first use
}

// New builds a decoder that knows every built-in Kubernetes kind and every
// Istio kind.
func New() (*Decoder, error) {
	s := runtime.NewScheme()
	if err := kubescheme.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("registering Kubernetes kinds: %w", err)
	}
	builtin := map[schema.GroupVersionKind]bool{}
	for gvk := range s.AllKnownTypes() {
		builtin[gvk] = true
	}
	if err := istioscheme.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("registering Istio kinds: %w", err)
	}
	return &Decoder{scheme: s, builtin: builtin}, nil
}

// Knows tells whether apiVersion and kind decode into a typed value (not
// an unstructured one, which keeps every field it is given).
func (d *Decoder) Knows(apiVersion, kind string) bool {
	gv, err := schema.ParseGroupVersion(apiVersion)
	return err == nil && d.scheme.Recognizes(preferredIstioVersion(gv.WithKind(kind)))
}

// Builtin tells whether apiVersion and kind name a kind compiled into the
// Kubernetes API server (not a custom resource). Such a server drops the
// fields its types do not know, so an object it returned holds none.
func (d *Decoder) Builtin(apiVersion, kind string) bool {
	gv, err := schema.ParseGroupVersion(apiVersion)
	return err == nil && d.builtin[gv.WithKind(kind)]
}

// TypeMeta is the part of a document every decoder reads first.
type TypeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// PeekType reads apiVersion and kind.
func PeekType(data []byte) (TypeMeta, error) {
	var tm TypeMeta
	if err := json.Unmarshal(data, &tm); err != nil {
		return tm, err
	}
	if tm.APIVersion == "" || tm.Kind == "" {
		return tm, ErrNoKind
	}
	return tm, nil
}

// Decode decodes one object. The returned object keeps the apiVersion as
// written even when an Istio kind is decoded into its preferred version's Go
// type (all Istio versions of a kind share one protobuf spec).
func (d *Decoder) Decode(data []byte) (Result, error) {
	tm, err := PeekType(data)
	if err != nil {
		return Result{}, err
	}
	gv, err := schema.ParseGroupVersion(tm.APIVersion)
	if err != nil {
		return Result{}, fmt.Errorf("apiVersion %q: %w", tm.APIVersion, err)
	}
	written := gv.WithKind(tm.Kind)
	target := preferredIstioVersion(written)
	obj, err := d.scheme.New(target)
	if err != nil {
		return decodeUnstructured(data)
	}
	strictErrs, err := sjson.UnmarshalStrict(data, obj)
	if err != nil {
		return Result{}, fmt.Errorf("decoding %s: %w", written.Kind, err)
	}
	obj.GetObjectKind().SetGroupVersionKind(written)
	res := Result{Obj: obj}
	for _, se := range strictErrs {
		var fp interface{ FieldPath() string }
		if errors.As(se, &fp) {
			res.Issues = append(res.Issues, FieldIssue{
				Path:      snapshot.ParsePath(fp.FieldPath()),
				Duplicate: len(se.Error()) >= 9 && se.Error()[:9] == "duplicate",
			})
		}
	}
	if spec := protoSpec(obj); spec != nil {
		issues, err := unknownSpecFields(data, spec)
		if err != nil {
			return Result{}, fmt.Errorf("decoding %s spec: %w", written.Kind, err)
		}
		res.Issues = append(res.Issues, issues...)
	}
	sort.Slice(res.Issues, func(i, j int) bool { return res.Issues[i].Path.String() < res.Issues[j].Path.String() })
	return res, nil
}

func decodeUnstructured(data []byte) (Result, error) {
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(data); err != nil {
		return Result{}, fmt.Errorf("decoding: %w", err)
	}
	return Result{Obj: u}, nil
}

// preferredIstioVersion maps every version of an Istio kind to the version
// whose Go wrapper analyzers read. The specs are aliases of one protobuf
// message, so nothing is lost.
func preferredIstioVersion(gvk schema.GroupVersionKind) schema.GroupVersionKind {
	switch gvk.Group {
	case "networking.istio.io":
		if gvk.Kind == "EnvoyFilter" {
			return gvk.GroupKind().WithVersion("v1alpha3")
		}
		if gvk.Kind == "ProxyConfig" {
			return gvk.GroupKind().WithVersion("v1beta1")
		}
		return gvk.GroupKind().WithVersion("v1")
	case "security.istio.io", "telemetry.istio.io":
		return gvk.GroupKind().WithVersion("v1")
	}
	return gvk
}

// protoSpec returns a pointer to the protobuf Spec field of an Istio object.
func protoSpec(obj runtime.Object) proto.Message {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	f := v.Elem().FieldByName("Spec")
	if !f.IsValid() || !f.CanAddr() {
		return nil
	}
	m, ok := f.Addr().Interface().(proto.Message)
	if !ok {
		return nil
	}
	return m
}
