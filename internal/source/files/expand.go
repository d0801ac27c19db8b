package files

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// expand turns one argument into the streams to parse.
func (l *Loader) expand(p string) ([]unit, error) {
	if p == "-" {
		if l.Stdin == nil {
			return nil, errors.New("standard input is not available")
		}
		b, err := io.ReadAll(l.Stdin)
		if err != nil {
			return nil, fmt.Errorf("reading standard input: %w", err)
		}
		return []unit{{name: "-", data: b}}, nil
	}
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("cannot read: %w", unwrapPathError(err))
	}
	if !st.IsDir() {
		if isArchive(p) {
			return readArchive(p)
		}
		return []unit{{name: p, path: p}}, nil
	}
	root := p
	if isBundleDir(p) {
		root = filepath.Join(p, "cluster")
		if _, err := os.Stat(root); err != nil {
			return nil, nil
		}
	}
	var out []unit
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !isManifest(path) {
			if l.Log != nil {
				l.Log.Debug("skipping file that is not YAML or JSON", "file", path)
			}
			return nil
		}
		out = append(out, unit{name: path, path: path})
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("walking directory: %w", unwrapPathError(err))
	}
	if len(out) == 0 {
		// A wrong path must not look like a clean cluster.
		return nil, errors.New("no .yaml, .yml or .json files in this directory")
	}
	return out, nil
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func isManifest(p string) bool {
	switch strings.ToLower(filepath.Ext(p)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// isBundleDir tells a meshdoctor bundle (meta.json at the top) from a plain
// folder of manifests; in a bundle only cluster/ holds Kubernetes objects.
func isBundleDir(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		return false
	}
	var m struct {
		Format string `json:"format"`
	}
	return json.Unmarshal(b, &m) == nil && strings.HasPrefix(m.Format, BundleFormat)
}

// BundleFormat is the value of meta.json's "format" in a bundle, followed by
// "/v" and the version.
const BundleFormat = "meshdoctor-bundle"
