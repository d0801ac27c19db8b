package snapshot

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"reflect"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

func obj(t *testing.T, o runtime.Object) *Object {
	t.Helper()
	out, err := NewObject(o, Origin{File: "f.yaml", Line: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func pod(t *testing.T, ns, name string, l map[string]string) *Object {
	return obj(t, &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: l}})
}

func TestSelectionAndServiceBackends(t *testing.T) {
	b := NewBuilder()
	b.Add(pod(t, "a", "web-1", map[string]string{"app": "web", "version": "v1"}))
	b.Add(pod(t, "a", "web-2", map[string]string{"app": "web", "version": "v2"}))
	b.Add(pod(t, "b", "web-3", map[string]string{"app": "web", "version": "v1"}))
	b.Add(pod(t, "a", "db-1", map[string]string{"app": "db"}))
	b.Add(obj(t, &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}, ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "web-v1"},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "version": "v1"}}}}}))
	b.Add(obj(t, &corev1.Service{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"}, ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "web"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}}}))
	b.Add(obj(t, &corev1.Service{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"}, ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "manual"}}))
	s := b.Build()

	names := func(os []*Object) (out []string) {
		for _, o := range os {
			out = append(out, o.Key.Name)
		}
		return out
	}
	if got := names(s.SelectPods("a", labels.SelectorFromSet(map[string]string{"app": "web", "version": "v1"}))); len(got) != 1 || got[0] != "web-1" {
		t.Errorf("app=web,version=v1 in a: %v", got)
	}
	sel, _ := labels.Parse("app=web,version!=v1")
	if got := names(s.SelectPods("a", sel)); len(got) != 1 || got[0] != "web-2" {
		t.Errorf("app=web,version!=v1: %v", got)
	}
	sel, _ = labels.Parse("version in (v1, v2)")
	if got := names(s.SelectPods("a", sel)); len(got) != 2 {
		t.Errorf("set selector without equality: %v", got)
	}
	if got := s.SelectPods("a", labels.Everything()); len(got) != 3 {
		t.Errorf("empty selector: %d pods", len(got))
	}
	if got := names(s.SelectPods(AllNamespaces, labels.SelectorFromSet(map[string]string{"app": "web", "version": "v1"}))); len(got) != 2 || got[1] != "web-3" {
		t.Errorf("app=web,version=v1 in every namespace: %v", got)
	}
	if got := s.SelectPods(AllNamespaces, labels.Everything()); len(got) != 4 {
		t.Errorf("empty selector in every namespace: %d pods", len(got))
	}
	if got := names(s.SelectWorkloads(AllNamespaces, labels.SelectorFromSet(map[string]string{"version": "v1"}))); len(got) != 1 || got[0] != "web-v1" {
		t.Errorf("workloads in every namespace: %v", got)
	}
	be := s.ServiceBackends(s.Get(KindService, "a", "web"))
	if len(be.Pods) != 2 || len(be.Workloads) != 1 || be.Workloads[0].Key.Name != "web-v1" {
		t.Errorf("backends of a/web: %v %v", names(be.Pods), names(be.Workloads))
	}
	if be := s.ServiceBackends(s.Get(KindService, "a", "manual")); len(be.Pods)+len(be.Workloads) != 0 {
		t.Error("a Service without selector has no backends")
	}
	if s.Covers(KindConfigMap, "a") || !s.Covers(KindPod, "b") {
		t.Error("Covers")
	}
}

func TestSecretSummaryKeepsNoValues(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "bookinfo.example.com"},
		DNSNames: []string{"bookinfo.example.com", "*.bookinfo.example.com"}, NotBefore: time.Unix(1700000000, 0), NotAfter: time.Unix(1800000000, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	crt := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	sec := &corev1.Secret{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}, Type: corev1.SecretTypeTLS,
		ObjectMeta: metav1.ObjectMeta{Name: "gw-cert", Namespace: "istio-system"},
		Data:       map[string][]byte{"tls.crt": crt, "tls.key": []byte("PRIVATE")}, StringData: map[string]string{"extra": "x"}}
	o := obj(t, sec)
	if sec.Data != nil || sec.StringData != nil {
		t.Error("values left in the typed Secret")
	}
	certs := o.Secret.Keys["tls.crt"].Certs
	if len(certs) != 1 || certs[0].Subject != "CN=bookinfo.example.com" || len(certs[0].DNSNames) != 2 || certs[0].NotAfter.Unix() != 1800000000 {
		t.Errorf("certificate metadata %+v", certs)
	}
	if !o.Secret.HasKey("tls.key") || !o.Secret.HasKey("extra") || o.Secret.Keys["tls.key"].SHA256 == "" || len(o.Secret.Keys["tls.key"].Certs) != 0 {
		t.Errorf("summary %+v", o.Secret)
	}
	if got := o.Secret.KeyNames(); len(got) != 3 || got[0] != "extra" {
		t.Errorf("key names %v", got)
	}
}

// TestCertCache: a certificate copied into several Secrets is parsed once
// and summarised exactly as without the cache; another one is not
// mistaken for it.
func TestCertCache(t *testing.T) {
	pemOf := func(cn string) []byte {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Unix(1700000000, 0), NotAfter: time.Unix(1800000000, 0)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	a, b := pemOf("a.example.com"), pemOf("b.example.com")
	secret := func(ns string, crt []byte) *corev1.Secret {
		return &corev1.Secret{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}, ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: ns},
			Data: map[string][]byte{"ca.crt": crt}}
	}
	cache := NewCertCache()
	var got []*SecretSummary
	for i, crt := range [][]byte{a, a, b} {
		o, err := NewObjectCaching(secret(fmt.Sprint("ns", i), crt), Origin{}, nil, cache)
		if err != nil {
			t.Fatal(err)
		}
		want := SummarizeSecret(secret("x", crt))
		if !reflect.DeepEqual(o.Secret, want) {
			t.Errorf("secret %d: %+v with the cache, %+v without", i, o.Secret, want)
		}
		got = append(got, o.Secret)
	}
	if &got[0].Keys["ca.crt"].Certs[0] != &got[1].Keys["ca.crt"].Certs[0] {
		t.Error("the same certificate was parsed twice")
	}
	if got[2].Keys["ca.crt"].Certs[0].Subject != "CN=b.example.com" {
		t.Errorf("another certificate: %+v", got[2].Keys["ca.crt"].Certs)
	}
}

func TestReserveKeepsObjects(t *testing.T) {
	b := NewBuilder()
	b.Reserve(10)
	pod := &Object{Key: Key{Kind: "Pod", Namespace: "ns", Name: "a"}, Labels: map[string]string{"app": "web"}}
	b.Add(pod)
	b.Reserve(1000) // after an Add: must not drop what was added
	s := b.Build()
	if s.Get(KindPod, "ns", "a") != pod || s.Len() != 1 {
		t.Fatalf("Reserve after Add lost the object: len %d", s.Len())
	}
	if got := s.SelectPods("ns", labels.SelectorFromSet(labels.Set{"app": "web"})); len(got) != 1 {
		t.Fatalf("label index after Reserve: %d pods", len(got))
	}
}

// TestAddAllIndexesLikeAdd: AddAll, which fills the indexes concurrently,
// leaves the snapshot Add one object at a time leaves, duplicates and the
// order of every index included.
func TestAddAllIndexesLikeAdd(t *testing.T) {
	deploy := func(ns, name string, l map[string]string) *Object {
		return obj(t, &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}, ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: l}}}})
	}
	var objs []*Object
	for i := range 40 {
		ns := fmt.Sprintf("ns-%d", i%3)
		objs = append(objs,
			pod(t, ns, fmt.Sprintf("p-%d", i), map[string]string{"app": fmt.Sprintf("a%d", i%4), "tier": "web"}),
			deploy(ns, fmt.Sprintf("d-%d", i%7), map[string]string{"app": fmt.Sprintf("a%d", i%4)})) // repeats: duplicates
	}
	one, all := NewBuilder(), NewBuilder()
	for _, o := range objs {
		one.Add(o)
	}
	all.Reserve(len(objs))
	all.AddAll(objs)
	want, got := one.Build(), all.Build()
	if len(got.duplicates) == 0 {
		t.Fatal("the input was meant to hold duplicates")
	}
	for name, pair := range map[string][2]any{
		"objects":     {got.objects, want.objects},
		"byKey":       {got.byKey, want.byKey},
		"byKind":      {got.byKind, want.byKind},
		"byKindNS":    {got.byKindNS, want.byKindNS},
		"podByLabel":  {got.podByLabel, want.podByLabel},
		"tmplByLabel": {got.tmplByLabel, want.tmplByLabel},
		"duplicates":  {got.duplicates, want.duplicates},
	} {
		if !reflect.DeepEqual(pair[0], pair[1]) {
			t.Errorf("%s differ:\n got %v\nwant %v", name, pair[0], pair[1])
		}
	}
}
