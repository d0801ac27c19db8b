package snapshot

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// SecretSummary is all meshdoctor keeps of a Secret: never a value.
type SecretSummary struct {
	Type string               `json:"type,omitempty"`
	Keys map[string]SecretKey `json:"keys"`
}

// SecretKey describes one value by its hash and, for PEM certificates, by
// their public metadata.
type SecretKey struct {
	SHA256 string     `json:"sha256"`
	Certs  []CertInfo `json:"certs,omitempty"`
}

// CertInfo is the public part of an X.509 certificate.
type CertInfo struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	DNSNames  []string  `json:"dnsNames,omitempty"`
	NotBefore time.Time `json:"notBefore"`
	NotAfter  time.Time `json:"notAfter"`
	SHA256    string    `json:"sha256"`
}

// HasKey tells whether the Secret has a key (from data or stringData).
func (s *SecretSummary) HasKey(k string) bool {
	_, ok := s.Keys[k]
	return ok
}

// KeyNames returns the sorted key names.
func (s *SecretSummary) KeyNames() []string {
	out := make([]string, 0, len(s.Keys))
	for k := range s.Keys {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// SummarizeSecret reduces a Secret to its summary and wipes the values from
// the typed object, so nothing downstream can leak them.
func SummarizeSecret(sec *corev1.Secret) *SecretSummary {
	return summarizeSecret(sec, nil)
}

// CertCache remembers the certificates found in Secret values by the
// values' SHA-256: a CA bundle or a wildcard certificate copied into many
// namespaces is parsed once. The CertInfos it hands out are shared and
// must not be changed. Not safe for concurrent use; nil caches nothing.
type CertCache struct {
	m map[[sha256.Size]byte][]CertInfo
}

// NewCertCache returns an empty CertCache.
func NewCertCache() *CertCache { return &CertCache{m: map[[sha256.Size]byte][]CertInfo{}} }

func (c *CertCache) certs(h [sha256.Size]byte, v []byte) []CertInfo {
	if c == nil {
		return certInfos(v)
	}
	if ci, ok := c.m[h]; ok {
		return ci
	}
	ci := certInfos(v)
	c.m[h] = ci
	return ci
}

func summarizeSecret(sec *corev1.Secret, cache *CertCache) *SecretSummary {
	sum := &SecretSummary{Type: string(sec.Type), Keys: map[string]SecretKey{}}
	add := func(k string, v []byte) {
		h := sha256.Sum256(v)
		sum.Keys[k] = SecretKey{SHA256: hex.EncodeToString(h[:]), Certs: cache.certs(h, v)}
	}
	for k, v := range sec.Data {
		add(k, v)
	}
	for k, v := range sec.StringData {
		add(k, []byte(v))
	}
	sec.Data = nil
	sec.StringData = nil
	// The last-applied annotation carries the values too.
	delete(sec.Annotations, corev1.LastAppliedConfigAnnotation)
	return sum
}

func certInfos(v []byte) []CertInfo {
	var out []CertInfo
	rest := v
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			return out
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			continue
		}
		h := sha256.Sum256(blk.Bytes)
		out = append(out, CertInfo{
			Subject: c.Subject.String(), Issuer: c.Issuer.String(), DNSNames: c.DNSNames,
			NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(), SHA256: hex.EncodeToString(h[:]),
		})
	}
}
