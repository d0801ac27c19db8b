package netpol

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestParseSelectKey(t *testing.T) {
	for in, want := range map[string][2]string{
		"app":                             {"any", "app"},
		"k8s:app":                         {"k8s", "app"},
		"any:app":                         {"any", "app"},
		"reserved:host":                   {"reserved", "host"},
		"$host":                           {"reserved", "host"},
		"reserved.world":                  {"reserved", "world"},
		"k8s:io.kubernetes.pod.namespace": {"k8s", "io.kubernetes.pod.namespace"},
		"app.kubernetes.io/name":          {"any", "app.kubernetes.io/name"},
		":app":                            {"any", "app"},
		"":                                {"any", ""},
	} {
		src, key := parseSelectKey(in)
		if src != want[0] || key != want[1] {
			t.Errorf("parseSelectKey(%q) = %q, %q; want %q, %q", in, src, key, want[0], want[1])
		}
	}
}

func TestCSelector(t *testing.T) {
	id := podIdentity("shop", map[string]string{"app": "web", "tier": "front"}, map[string]string{"team": "a", labelNamespaceName: "shop"}, "", "default")
	for _, c := range []struct {
		sel  metav1.LabelSelector
		want bool
	}{
		{metav1.LabelSelector{}, true},
		{metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, true},
		{metav1.LabelSelector{MatchLabels: map[string]string{"k8s:app": "web"}}, true},
		{metav1.LabelSelector{MatchLabels: map[string]string{"reserved:app": "web"}}, false},
		{metav1.LabelSelector{MatchLabels: map[string]string{"io.kubernetes.pod.namespace": "shop"}}, true},
		{metav1.LabelSelector{MatchLabels: map[string]string{"io.cilium.k8s.namespace.labels.team": "a"}}, true},
		{metav1.LabelSelector{MatchLabels: map[string]string{"io.cilium.k8s.policy.serviceaccount": "default"}}, true},
		{metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"back"}}}}, true},
		{metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "missing", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"x"}}}}, true},
		{metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "missing", Operator: metav1.LabelSelectorOpDoesNotExist}}}, true},
		{metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpDoesNotExist}}}, false},
		{metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "k8s:tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"front", "mid"}}}}, true},
		{metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpExists}}, MatchLabels: map[string]string{"app": "db"}}, false},
	} {
		s, err := newCSelector(&c.sel)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.matches(id); got != c.want {
			t.Errorf("%v matches = %v, want %v", c.sel, got, c.want)
		}
	}
	for _, bad := range []metav1.LabelSelectorRequirement{
		{Key: "a", Operator: metav1.LabelSelectorOpIn},
		{Key: "a", Operator: metav1.LabelSelectorOpExists, Values: []string{"x"}},
		{Key: "a", Operator: "Like"},
	} {
		if _, err := newCSelector(&metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{bad}}); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// FuzzParseSelectKey: never panics, always names a source, and a key
// without a source marker passes through whole under "any".
func FuzzParseSelectKey(f *testing.F) {
	for _, s := range []string{"app", "k8s:app", "$host", "reserved.world", "any:", ":", "a:b:c", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		src, key := parseSelectKey(s)
		if src == "" {
			t.Fatalf("%q: empty source", s)
		}
		if len(key) > len(s) {
			t.Fatalf("%q: key %q longer than the input", s, key)
		}
		if !strings.ContainsRune(s, ':') && !strings.HasPrefix(s, "$") && !strings.HasPrefix(s, "reserved.") && (src != sourceAny || key != s) {
			t.Fatalf("%q: got %q, %q", s, src, key)
		}
	})
}
