package decode

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	networking "istio.io/api/networking/v1alpha3"
	security "istio.io/api/security/v1beta1"
	telemetry "istio.io/api/telemetry/v1alpha1"

	"github.com/meshdoctor/meshdoctor/internal/yamltree"
)

// specTypes are the Istio specs the differential tests decode both ways.
var specTypes = map[string]func() proto.Message{
	"VirtualService":        func() proto.Message { return &networking.VirtualService{} },
	"DestinationRule":       func() proto.Message { return &networking.DestinationRule{} },
	"Gateway":               func() proto.Message { return &networking.Gateway{} },
	"ServiceEntry":          func() proto.Message { return &networking.ServiceEntry{} },
	"Sidecar":               func() proto.Message { return &networking.Sidecar{} },
	"EnvoyFilter":           func() proto.Message { return &networking.EnvoyFilter{} },
	"WorkloadEntry":         func() proto.Message { return &networking.WorkloadEntry{} },
	"WorkloadGroup":         func() proto.Message { return &networking.WorkloadGroup{} },
	"AuthorizationPolicy":   func() proto.Message { return &security.AuthorizationPolicy{} },
	"PeerAuthentication":    func() proto.Message { return &security.PeerAuthentication{} },
	"RequestAuthentication": func() proto.Message { return &security.RequestAuthentication{} },
	"Telemetry":             func() proto.Message { return &telemetry.Telemetry{} },
}

// sameAsProtojson decodes spec with protoFromTree and, when that takes the
// direct path, requires protojson to give the same message. It tells
// whether the direct path was taken.
func sameAsProtojson(t testing.TB, kind string, spec *yamltree.Node) bool {
	t.Helper()
	fast := specTypes[kind]()
	if protoFromTree(spec, fast.ProtoReflect(), nil, &protoPlans{}) != nil {
		return false
	}
	ref := specTypes[kind]()
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(spec.AppendJSON(nil), ref); err != nil {
		t.Fatalf("%s: the direct path accepted what protojson rejects (%v): %s", kind, err, spec.AppendJSON(nil))
	}
	if !proto.Equal(fast, ref) {
		t.Fatalf("%s: direct %v, protojson %v, from %s", kind, fast, ref, spec.AppendJSON(nil))
	}
	// proto.Equal does not tell a nil list, map or message from an empty
	// one; the checks may (a DENY policy without rules).
	if at, ok := sameGoValue(reflect.ValueOf(fast), reflect.ValueOf(ref), kind); !ok {
		t.Fatalf("%s: direct and protojson differ at %s (nil against empty?), from %s", kind, at, spec.AppendJSON(nil))
	}
	return true
}

// sameGoValue compares two generated messages' exported Go fields, nil
// and empty apart; it returns where they first differ.
func sameGoValue(a, b reflect.Value, at string) (string, bool) {
	if a.Kind() != b.Kind() {
		return at, false
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return at, a.IsNil() == b.IsNil()
		}
		return sameGoValue(a.Elem(), b.Elem(), at)
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			if !a.Type().Field(i).IsExported() {
				continue
			}
			if w, ok := sameGoValue(a.Field(i), b.Field(i), at+"."+a.Type().Field(i).Name); !ok {
				return w, false
			}
		}
		return at, true
	case reflect.Slice:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return at, false
		}
		for i := 0; i < a.Len(); i++ {
			if w, ok := sameGoValue(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", at, i)); !ok {
				return w, false
			}
		}
		return at, true
	case reflect.Map:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return at, false
		}
		for _, k := range a.MapKeys() {
			bv := b.MapIndex(k)
			if !bv.IsValid() {
				return fmt.Sprintf("%s[%v]", at, k), false
			}
			if w, ok := sameGoValue(a.MapIndex(k), bv, fmt.Sprintf("%s[%v]", at, k)); !ok {
				return w, false
			}
		}
		return at, true
	}
	return at, a.Interface() == b.Interface()
}

// TestProtoFromTreeMatchesProtojson decodes every Istio object of the
// repository's examples and test inputs both ways.
func TestProtoFromTreeMatchesProtojson(t *testing.T) {
	direct, total := 0, 0
	for _, root := range []string{"../../examples", "../../internal", "../../test"} {
		err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, doc := range bytes.Split(data, []byte("\n---")) {
				n, err := yamltree.ParseYAML(doc)
				if err != nil || n.Kind != yamltree.Map {
					continue
				}
				items := []*yamltree.Node{n}
				if l := n.Get("items"); l != nil && l.Kind == yamltree.Seq {
					items = l.Children
				}
				for _, it := range items {
					k, spec := it.Get("kind"), it.Get("spec")
					if k == nil || spec == nil || specTypes[k.Text] == nil || !strings.Contains(it.Get("apiVersion").Text, "istio.io") {
						continue
					}
					total++
					if sameAsProtojson(t, k.Text, spec) {
						direct++
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d of %d Istio specs took the direct path", direct, total)
	if total < 50 || direct*2 < total {
		t.Errorf("only %d of %d Istio specs took the direct path: the test no longer exercises it", direct, total)
	}
}

func TestProtoFromTreeLeavesOddFormsToProtojson(t *testing.T) {
	for _, c := range []struct{ kind, spec string }{
		{"VirtualService", "hosts: [a]\nhttp:\n- timeout: 1.s\n"},               // a duration protojson allows, written oddly
		{"VirtualService", "http:\n- retries:\n    attempts: \"3\"\n"},          // a number in a string
		{"DestinationRule", "host: a\nexportTo: [null]\n"},                      // null in a list
		{"VirtualService", "http:\n- fault:\n    delay:\n      percent: 1.5\n"}, // a float
		{"Gateway", "selector: {a: b}\nselector: {c: d}\n"},                     // (yamltree rejects it before)
		{"PeerAuthentication", "mtls:\n  mode: 2\n"},                            // an enum number
		{"DestinationRule", "host: a\nhost_name: b\n"},                          // unknown: discarded
		{"ServiceEntry", "hosts: [a]\nresolution: DNS\nendpoints:\n- address: 1.2.3.4\n  ports: {http: 8080}\n"},
		{"VirtualService", "hosts: [a]\nhttp:\n- route:\n  - destination: {host: a}\n    weight: 0100\n"},
		// Empty lists stay nil, empty maps and messages are made, as
		// protojson does (sameAsProtojson tells nil from empty).
		{"VirtualService", "http:\n- match:\n  - uri: {prefix: /a, exact: /b}\n"}, // two members of a oneof
		{"AuthorizationPolicy", "action: DENY\nrules: []\n"},
		{"DestinationRule", "host: a\ntrafficPolicy: {}\nsubsets:\n- name: v1\n  labels: {}\n"},
		{"VirtualService", "hosts: []\nhttp:\n- match: []\n  route: []\n  headers: {request: {set: {}}}\n"},
	} {
		n, err := yamltree.ParseYAML([]byte(c.spec))
		if err != nil {
			continue
		}
		sameAsProtojson(t, c.kind, n) // whichever path, the same result
	}
}

// TestProtoPlansFillDirectly: the messages Istio inputs are made of,
// oneofs included, are filled through their Go structs (protodirect.go);
// the differential tests above then hold that path to protojson.
func TestProtoPlansFillDirectly(t *testing.T) {
	plans := &protoPlans{}
	for _, m := range []proto.Message{
		&networking.VirtualService{}, &networking.HTTPMatchRequest{}, &networking.StringMatch{},
		&networking.DestinationRule{}, &networking.LoadBalancerSettings{}, &networking.LoadBalancerSettings_ConsistentHashLB{},
		&networking.Gateway{}, &security.AuthorizationPolicy{},
	} {
		if !plans.planOf(reflect.TypeOf(m).Elem()).direct {
			t.Errorf("%T is filled through protoreflect, not directly", m)
		}
	}
	if plans.planOf(reflect.TypeOf(durationpb.Duration{})).direct {
		t.Error("a well-known type is filled directly; its JSON form is not its fields")
	}
}

func FuzzProtoFromTree(f *testing.F) {
	for _, s := range []string{
		"http:\n- match:\n  - uri: {prefix: /a}\n    headers: {x: {exact: y}, z: {regex: a.*}}\n  route: [{destination: {host: a}}]\n",
		"host: a\ntrafficPolicy:\n  loadBalancer: {consistentHash: {httpCookie: {name: c, ttl: 10s}}}\n  portLevelSettings:\n  - port: {number: 80}\n    loadBalancer: {simple: LEAST_REQUEST}\n",
		"action: CUSTOM\nprovider: {name: ext}\nrules: [{to: [{operation: {paths: [/a]}}]}]\n",
		"hosts: [reviews]\nhttp:\n- route:\n  - destination: {host: reviews, subset: v1}\n    weight: 90\n  timeout: 5s\n  retries: {attempts: 3, perTryTimeout: 0.250s}\n",
		"host: reviews\ntrafficPolicy:\n  tls: {mode: ISTIO_MUTUAL}\n  connectionPool: {http: {http1MaxPendingRequests: 1}}\nsubsets:\n- name: v1\n  labels: {version: v1}\n",
		"selector: {istio: ingressgateway}\nservers:\n- port: {number: 443, name: https, protocol: HTTPS}\n  hosts: ['*']\n  tls: {mode: SIMPLE, credentialName: cert}\n",
		"action: ALLOW\nrules:\n- from:\n  - source: {principals: [cluster.local/ns/a/sa/b]}\n  to:\n  - operation: {methods: [GET]}\n",
		"mtls: {mode: STRICT}\nportLevelMtls:\n  8080: {mode: DISABLE}\n",
		"configPatches:\n- applyTo: HTTP_FILTER\n  patch:\n    operation: INSERT_BEFORE\n    value: {name: x}\npriority: -1\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		n, err := yamltree.ParseYAML([]byte(doc))
		if err != nil || n.Kind != yamltree.Map {
			return
		}
		for kind := range specTypes {
			sameAsProtojson(t, kind, n)
		}
	})
}

// TestProtoFromTreeCopiesStrings: the reader's tree shares the document's
// buffer, which the loader reuses for the next file; a decoded spec must
// not change when the buffer does.
func TestProtoFromTreeCopiesStrings(t *testing.T) {
	for _, in := range []*Interner{nil, NewInterner()} {
		buf := []byte("host: reviews.prod.svc.cluster.local\nsubsets:\n- name: v1\n  labels: {version: v1}\n")
		n, err := yamltree.NewParser().ParseYAML(buf)
		if err != nil {
			t.Fatal(err)
		}
		dr := &networking.DestinationRule{}
		if err := protoFromTree(n, dr.ProtoReflect(), in, &protoPlans{}); err != nil {
			t.Fatalf("the direct path declined a plain DestinationRule: %v", err)
		}
		for i := range buf {
			buf[i] = 'x'
		}
		if dr.Host != "reviews.prod.svc.cluster.local" || dr.Subsets[0].Name != "v1" || dr.Subsets[0].Labels["version"] != "v1" {
			t.Fatalf("the spec changed with the reader's buffer: %v", dr)
		}
	}
}
