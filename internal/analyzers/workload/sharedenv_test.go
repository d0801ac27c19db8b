package workload_test

import (
	"context"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/workload"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// TestSharedEnvListsResolvePerNamespace: the loader shares one env list
// among the objects that repeat its text (decode.Memo), and the env
// resolution reuses its work for a list it has seen. It may reuse it only
// in the same namespace, and each entry must still name its own object.
func TestSharedEnvListsResolvePerNamespace(t *testing.T) {
	env := []corev1.EnvVar{{Name: "MODE", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "mode"}}}}
	pod := func(ns, name string) runtime.Object {
		return &corev1.Pod{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1", Env: env}}}, // one list for all
		}
	}
	cm := func(ns, key string) runtime.Object {
		return &corev1.ConfigMap{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "cfg"},
			Data:       map[string]string{key: "x"},
		}
	}
	b := snapshot.NewBuilder()
	for _, typed := range []runtime.Object{pod("a", "p1"), pod("b", "p3"), pod("a", "p2"), pod("b", "p4"), cm("a", "mode"), cm("b", "other")} {
		o, err := snapshot.NewObject(typed, snapshot.Origin{File: "test.yaml", Line: 1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		b.Add(o)
	}
	res := analysis.Run(context.Background(), b.Build(), analysis.RunConfig{Analyzers: []*analysis.Analyzer{workload.EnvRefMissing}})
	var got []string
	for _, f := range res.Findings {
		got = append(got, f.Subject.Namespace+"/"+f.Subject.Name+": "+f.Message)
	}
	sort.Strings(got)
	if len(got) != 2 || got[0][:5] != "b/p3:" || got[1][:5] != "b/p4:" {
		t.Fatalf("want a finding on each Pod of namespace b, got %q", got)
	}
	for _, g := range got {
		if !strings.Contains(g, "couldn't find key mode in ConfigMap b/cfg") {
			t.Errorf("finding %q does not predict the kubelet's error", g)
		}
	}
}
