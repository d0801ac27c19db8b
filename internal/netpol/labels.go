package netpol

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Cilium label sources and the label keys Cilium gives every pod endpoint.
const (
	sourceAny      = "any"
	sourceK8s      = "k8s"
	sourceReserved = "reserved"

	labelNamespace      = "io.kubernetes.pod.namespace"
	labelNamespaceMeta  = "io.cilium.k8s.namespace.labels."
	labelServiceAccount = "io.cilium.k8s.policy.serviceaccount"
	labelCluster        = "io.cilium.k8s.policy.cluster"
	// labelNamespaceName is the label the API server puts on every
	// Namespace (since Kubernetes 1.22), so selectors may rely on it even
	// when the Namespace object is not in the input.
	labelNamespaceName = "kubernetes.io/metadata.name"
)

// ciliumLabel is one label of a Cilium identity, e.g. k8s:app=web or
// reserved:world.
type ciliumLabel struct {
	source, key, value string
}

// parseSelectKey splits a label key as written in a Cilium selector into
// its source and key, as Cilium's labels.ParseSource does: "k8s:app" is
// (k8s, app), "$host" is (reserved, host), "reserved.host" is (reserved,
// host), and a key without a source, such as "app", matches any source.
func parseSelectKey(s string) (source, key string) {
	switch {
	case s == "":
		return sourceAny, ""
	case s[0] == '$':
		return sourceReserved, s[1:]
	}
	if i := strings.IndexByte(s, ':'); i >= 0 {
		src := s[:i]
		if src == "" {
			src = sourceAny
		}
		return src, s[i+1:]
	}
	if rest, ok := strings.CutPrefix(s, sourceReserved+"."); ok {
		return sourceReserved, rest
	}
	return sourceAny, s
}

// cRequirement is one requirement of a Cilium endpoint selector.
type cRequirement struct {
	source, key string
	op          metav1.LabelSelectorOperator
	values      []string
}

// cSelector is a Cilium endpoint selector over identity labels. A selector
// without requirements selects every identity.
type cSelector struct {
	reqs []cRequirement
}

// newCSelector converts a label selector written in a Cilium policy.
func newCSelector(ls *metav1.LabelSelector) (cSelector, error) {
	var sel cSelector
	if ls == nil {
		return sel, nil
	}
	for k, v := range ls.MatchLabels {
		src, key := parseSelectKey(k)
		sel.reqs = append(sel.reqs, cRequirement{source: src, key: key, op: metav1.LabelSelectorOpIn, values: []string{v}})
	}
	for _, e := range ls.MatchExpressions {
		src, key := parseSelectKey(e.Key)
		switch e.Operator {
		case metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn:
			if len(e.Values) == 0 {
				return sel, fmt.Errorf("matchExpressions key %q: operator %s needs values", e.Key, e.Operator)
			}
		case metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist:
			if len(e.Values) != 0 {
				return sel, fmt.Errorf("matchExpressions key %q: operator %s takes no values", e.Key, e.Operator)
			}
		default:
			return sel, fmt.Errorf("matchExpressions key %q: unknown operator %q", e.Key, e.Operator)
		}
		sel.reqs = append(sel.reqs, cRequirement{source: src, key: key, op: e.Operator, values: e.Values})
	}
	return sel, nil
}

// hasKey tells whether a requirement names key from the k8s or any source
// (Cilium's HasKey on "k8s.KEY" or "any.KEY").
func (s cSelector) hasKey(key string) bool {
	for _, r := range s.reqs {
		if r.key == key && (r.source == sourceK8s || r.source == sourceAny) {
			return true
		}
	}
	return false
}

// hasKeyPrefix is hasKey for a key prefix.
func (s cSelector) hasKeyPrefix(prefix string) bool {
	for _, r := range s.reqs {
		if strings.HasPrefix(r.key, prefix) && (r.source == sourceK8s || r.source == sourceAny) {
			return true
		}
	}
	return false
}

// hasSource tells whether any requirement is on a label of the source.
func (s cSelector) hasSource(source string) bool {
	for _, r := range s.reqs {
		if r.source == source {
			return true
		}
	}
	return false
}

// with returns a copy of s with one more requirement.
func (s cSelector) with(r cRequirement) cSelector {
	reqs := make([]cRequirement, 0, len(s.reqs)+1)
	reqs = append(reqs, s.reqs...)
	return cSelector{reqs: append(reqs, r)}
}

// matches applies Kubernetes selector semantics to identity labels: NotIn
// and DoesNotExist hold when the label is absent.
func (s cSelector) matches(id []ciliumLabel) bool {
	for _, r := range s.reqs {
		v, ok := lookupLabel(id, r.source, r.key)
		switch r.op {
		case metav1.LabelSelectorOpExists:
			if !ok {
				return false
			}
		case metav1.LabelSelectorOpDoesNotExist:
			if ok {
				return false
			}
		case metav1.LabelSelectorOpIn:
			if !ok || !contains(r.values, v) {
				return false
			}
		case metav1.LabelSelectorOpNotIn:
			if ok && contains(r.values, v) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func lookupLabel(id []ciliumLabel, source, key string) (string, bool) {
	for _, l := range id {
		if l.key == key && (source == sourceAny || l.source == source) {
			return l.value, true
		}
	}
	return "", false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
