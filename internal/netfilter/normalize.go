package netfilter

import "strings"

// kubeHashedPrefixes are kube-proxy's chain kinds named by a hash of the
// service or endpoint (16 base32 characters).
var kubeHashedPrefixes = [...]string{"KUBE-SVC-", "KUBE-SEP-", "KUBE-EXT-", "KUBE-FW-", "KUBE-SVL-", "KUBE-XLB-"}

// kubeGenericNames are the prefixes with the hash replaced, built once so
// that renaming does not allocate.
var kubeGenericNames = func() (out [len(kubeHashedPrefixes)]string) {
	for i, p := range kubeHashedPrefixes {
		out[i] = p + "*"
	}
	return out
}()

// GenericChainName replaces the hash in kube-proxy's per-service and
// per-endpoint chain names (KUBE-SVC-NPX46M4PTMTKRN6Y becomes KUBE-SVC-*)
// and returns any other word unchanged. Passed to AppendCanonical, it
// makes rules from different nodes comparable.
func GenericChainName(s string) string {
	for i, p := range kubeHashedPrefixes {
		if strings.HasPrefix(s, p) && isKubeHash(s[len(p):]) {
			return kubeGenericNames[i]
		}
	}
	return s
}

func isKubeHash(s string) bool {
	if len(s) != 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'A' && c <= 'Z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}
