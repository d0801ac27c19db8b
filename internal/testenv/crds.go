package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Istio's generated CRD file holds dozens of large schemas; envtest's default
// 10s wait for them to be served is tight on a loaded 2-core machine.
const crdWait = 60 * time.Second

// InstallCRDs creates the CustomResourceDefinitions in the given multi-document
// YAML or JSON sources and waits until every version of each is served.
// A document of any other kind fails the test.
func (e *Env) InstallCRDs(t testing.TB, sources ...[]byte) []*apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	var crds []*apiextensionsv1.CustomResourceDefinition
	for i, src := range sources {
		got, err := ParseCRDs(bytes.NewReader(src))
		if err != nil {
			t.Fatalf("testenv: CRD source %d: %v", i, err)
		}
		crds = append(crds, got...)
	}
	return e.installCRDs(t, crds)
}

// InstallCRDFiles is InstallCRDs for files, or for directories, whose
// *.yaml, *.yml and *.json files are read in name order.
func (e *Env) InstallCRDFiles(t testing.TB, paths ...string) []*apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	var crds []*apiextensionsv1.CustomResourceDefinition
	for _, p := range paths {
		files, err := crdFiles(p)
		if err != nil {
			t.Fatalf("testenv: %v", err)
		}
		for _, f := range files {
			got, err := parseCRDFile(f)
			if err != nil {
				t.Fatalf("testenv: %v", err)
			}
			crds = append(crds, got...)
		}
	}
	return e.installCRDs(t, crds)
}

func (e *Env) installCRDs(t testing.TB, crds []*apiextensionsv1.CustomResourceDefinition) []*apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	if len(crds) == 0 {
		t.Fatal("testenv: no CustomResourceDefinitions to install")
	}
	// envtest creates (or updates) them, then polls discovery until each
	// served version answers, which implies the CRD is Established.
	installed, err := envtest.InstallCRDs(e.Config, envtest.CRDInstallOptions{CRDs: crds, MaxTime: crdWait})
	if err != nil {
		t.Fatalf("testenv: installing %d CRDs: %v", len(crds), err)
	}
	return installed
}

func crdFiles(path string) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("reading CRDs: %w", err)
	}
	if !fi.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("reading CRD directory: %w", err)
	}
	var files []string
	for _, en := range entries {
		if ext := filepath.Ext(en.Name()); !en.IsDir() && slices.Contains([]string{".yaml", ".yml", ".json"}, ext) {
			files = append(files, filepath.Join(path, en.Name()))
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no *.yaml, *.yml or *.json files in CRD directory %s", path)
	}
	return files, nil // os.ReadDir sorts by name
}

func parseCRDFile(path string) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading CRDs: %w", err)
	}
	defer f.Close()
	crds, err := ParseCRDs(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return crds, nil
}

// ParseCRDs decodes every apiextensions.k8s.io/v1 CustomResourceDefinition of
// a multi-document YAML or JSON stream; empty documents are skipped.
func ParseCRDs(r io.Reader) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(r, 4096)
	var crds []*apiextensionsv1.CustomResourceDefinition
	for doc := 1; ; doc++ {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		err := dec.Decode(crd)
		if errors.Is(err, io.EOF) {
			return crds, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", doc, err)
		}
		if crd.APIVersion == "" && crd.Kind == "" && crd.Name == "" {
			continue // an empty document, e.g. after a trailing "---"
		}
		if crd.APIVersion != "apiextensions.k8s.io/v1" || crd.Kind != "CustomResourceDefinition" {
			return nil, fmt.Errorf("document %d (%q) is %s %s, not an apiextensions.k8s.io/v1 CustomResourceDefinition",
				doc, crd.Name, crd.APIVersion, crd.Kind)
		}
		crds = append(crds, crd)
	}
}
