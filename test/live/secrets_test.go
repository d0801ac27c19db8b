package live

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// TestSecretValuesNeverReachTheSnapshot: with --read-secrets, Secrets are
// read with their data, and the data is reduced at once: no value, in
// plain or base64, is in any object of the snapshot (its typed form, its
// annotations, its summary), whether the read is cluster-wide or scoped
// (-n, which splits pages into raw items first), in pages of one object
// or of the default size. Planted: a stringData value, a value repeated
// in kubectl's last-applied annotation, and a TLS private key. The report
// and the logs (at debug level) of the same reads hold none either.
//
// meshdoctor has no command that writes a bundle from a live read (bundles
// are made by `meshdoctor node --dump` and read by analyze), so there is no
// live bundle to inspect.
func TestSecretValuesNeverReachTheSnapshot(t *testing.T) {
	c := start(t)
	cs := c.env.Clientset(t)
	ctx := context.Background()
	c.ensureNamespace(t, "app")
	const plain, applied = "s3cr3t-Value-that-must-not-leak", "applied-Value-that-must-not-leak"
	lastApplied, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{"name": "applied", "namespace": "app"},
		"data":     map[string]string{"token": base64.StdEncoding.EncodeToString([]byte(applied))}, "stringData": map[string]string{"token2": applied}})
	certPEM, keyPEM := selfSigned(t)
	for _, s := range []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Name: "db"}, StringData: map[string]string{"password": plain}},
		{ObjectMeta: metav1.ObjectMeta{Name: "applied", Annotations: map[string]string{corev1.LastAppliedConfigAnnotation: string(lastApplied)}},
			Data: map[string][]byte{"token": []byte(applied)}},
		{ObjectMeta: metav1.ObjectMeta{Name: "tls"}, Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{corev1.TLSCertKey: certPEM, corev1.TLSPrivateKeyKey: keyPEM}},
	} {
		if _, err := cs.CoreV1().Secrets("app").Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	keyBody, _ := pem.Decode(keyPEM)
	keyB64 := base64.StdEncoding.EncodeToString(keyBody.Bytes)
	leaks := map[string]string{
		"the stringData value":             plain,
		"the stringData value, base64":     base64.StdEncoding.EncodeToString([]byte(plain)),
		"the applied value":                applied,
		"the applied value, base64":        base64.StdEncoding.EncodeToString([]byte(applied)),
		"the private key (PEM)":            string(keyPEM),
		"the private key's DER, base64":    keyB64[:60], // any 60 characters of it are unique
		"the private key's PEM, base64":    base64.StdEncoding.EncodeToString(keyPEM)[:60],
		"the private key's DER, raw bytes": string(keyBody.Bytes[8:40]),
	}
	check := func(where, text string) {
		t.Helper()
		for what, leak := range leaks {
			if strings.Contains(text, leak) {
				t.Errorf("%s holds %s", where, what)
			}
		}
	}

	for _, read := range []struct {
		ns       string
		pageSize int64
	}{{"", 0}, {"", 1}, {"app", 0}, {"app", 1}} {
		name := fmt.Sprintf("namespace %q, pages of %d", read.ns, read.pageSize)
		res := c.read(t, read.ns, read.pageSize)
		if len(res.Errors) > 0 || res.Unreachable != nil {
			t.Fatalf("%s: %v %v", name, res.Errors, res.Unreachable)
		}
		b := snapshot.NewBuilder()
		for _, o := range res.Objects {
			b.Add(o)
		}
		snap := b.Build()
		secrets := map[string]*snapshot.Object{}
		for _, o := range snap.Objects() {
			j, err := json.Marshal(o)
			if err != nil {
				t.Fatalf("%s: %s: %v", name, o.Ref(), err)
			}
			check(name+": "+o.Ref()+" (as JSON)", string(j))
			check(name+": "+o.Ref()+" (as Go)", fmt.Sprintf("%#v %#v", o, o.Typed))
			if o.Key.Kind == "Secret" && o.Key.Namespace == "app" {
				secrets[o.Key.Name] = o
			}
		}
		// The data was read (keys, hashes, certificates), not dropped.
		for sec, key := range map[string]string{"db": "password", "applied": "token", "tls": corev1.TLSPrivateKeyKey} {
			o := secrets[sec]
			if o == nil || o.MetadataOnly || o.Secret == nil {
				t.Errorf("%s: Secret app/%s not read with its data: %+v", name, sec, o)
				continue
			}
			if _, ok := o.Secret.Keys[key]; !ok {
				t.Errorf("%s: Secret app/%s: key %s not summarized: %+v", name, sec, key, o.Secret.Keys)
			}
			if s, ok := o.Typed.(*corev1.Secret); !ok || s.Data != nil || s.StringData != nil {
				t.Errorf("%s: Secret app/%s keeps its data in its typed form: %#v", name, sec, o.Typed)
			}
		}
		if o := secrets["tls"]; o != nil && o.Secret != nil && len(o.Secret.Keys[corev1.TLSCertKey].Certs) != 1 {
			t.Errorf("%s: the TLS certificate's metadata was not kept: %+v", name, o.Secret.Keys)
		}
	}

	for _, args := range [][]string{{"--read-secrets"}, {"--read-secrets", "-n", "app"}} {
		r, code, stderr := analyze(t, append(args, "--kubeconfig", c.env.KubeconfigFile(t), "-v", "--log-level", "debug")...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		check(fmt.Sprintf("the report of %v", args), r.raw)
		check(fmt.Sprintf("the logs of %v", args), stderr)
	}
}

// selfSigned returns a certificate and its private key, PEM-encoded.
func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "app.example.com"}, DNSNames: []string{"app.example.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}
