package istio

import (
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/analysis/analysistest"
)

func TestNamespaceIndex(t *testing.T) {
	snap := analysistest.Load(t, "testdata/seccheck_authz_positive.yaml")
	ix := newNamespaceIndex(snap, "istio-system")
	if !ix.known() {
		t.Fatal("every namespace of the input has its Namespace object: the list is complete")
	}
	for pattern, want := range map[string]bool{
		"frontend": true, "frontnd": false, "Frontend": false,
		"front*": true, "fr*": true, "x*": false,
		"*end": true, "*ops": true, "*opsx": false,
		"*": true, "istio-system": true,
	} {
		if got := ix.matches(pattern); got != want {
			t.Errorf("matches(%q) = %v, want %v", pattern, got, want)
		}
	}
	// A few hand-written Namespaces next to objects of other namespaces
	// are not a complete list.
	partial := newNamespaceIndex(analysistest.Load(t, "testdata/seccheck_sidecar_positive.yaml", "testdata/routing_unchecked.yaml"), "istio-system")
	if partial.known() {
		t.Error("namespace bookinfo holds objects but has no Namespace object: the list is not complete")
	}
}
