package decode

import (
	"math/rand/v2"
	"testing"
)

// TestNamesLikeAMap: a names table answers every lookup as the map it was
// built from, for hits and misses, at every size, with names that share
// their length and the bytes the hash reads.
func TestNamesLikeAMap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := "abcdefgh"
	word := func() string {
		b := make([]byte, 1+r.IntN(6))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(b)
	}
	for size := 0; size < 70; size++ {
		m := map[string]int{}
		for len(m) < size {
			m[word()] = len(m)
		}
		tab := newNames(m)
		if tab.n != len(m) {
			t.Fatalf("size %d: len %d", size, tab.n)
		}
		for range 500 {
			k := word()
			want, wok := m[k]
			got, ok := tab.get(k)
			if ok != wok || got != want {
				t.Fatalf("size %d, %q: got %d %v, want %d %v", size, k, got, ok, want, wok)
			}
		}
		for k, want := range m {
			if got, ok := tab.get(k); !ok || got != want {
				t.Fatalf("size %d: %q missing", size, k)
			}
		}
	}
	tab := newNames(map[string]int{"": 1, "a": 2})
	if _, ok := tab.get(""); ok || tab.n != 1 {
		t.Errorf("the empty name is never kept: len %d", tab.n)
	}
	var empty names[int]
	if _, ok := empty.get("x"); ok {
		t.Error("the zero table found a name")
	}
}

func BenchmarkNamesPodSpecFields(b *testing.B) {
	m := map[string]int{}
	for i, k := range []string{"volumes", "initContainers", "containers", "ephemeralContainers", "restartPolicy", "terminationGracePeriodSeconds",
		"activeDeadlineSeconds", "dnsPolicy", "nodeSelector", "serviceAccountName", "serviceAccount", "automountServiceAccountToken", "nodeName",
		"hostNetwork", "hostPID", "hostIPC", "shareProcessNamespace", "securityContext", "imagePullSecrets", "hostname", "subdomain", "affinity",
		"schedulerName", "tolerations", "hostAliases", "priorityClassName", "priority", "dnsConfig", "readinessGates", "runtimeClassName",
		"enableServiceLinks", "preemptionPolicy", "overhead", "topologySpreadConstraints", "setHostnameAsFQDN", "os", "hostUsers", "schedulingGates", "resourceClaims"} {
		m[k] = i
	}
	keys := []string{"containers", "volumes", "serviceAccountName", "nodeSelector", "tolerations", "affinity", "securityContext", "dnsPolicy"}
	b.Run("names", func(b *testing.B) {
		tab := newNames(m)
		for b.Loop() {
			for _, k := range keys {
				tab.get(k)
			}
		}
	})
	b.Run("map", func(b *testing.B) {
		for b.Loop() {
			for _, k := range keys {
				_ = m[k]
			}
		}
	})
}
