package files

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Member is one file of a bundle outside cluster/: its name as positions
// show it, its path below the bundle's top, and its bytes.
type Member struct {
	Name string // "dir/nodes/n1/meta.json" or "b.tar.gz!top/nodes/n1/meta.json"
	Rel  string // "nodes/n1/meta.json"
	Data []byte
}

// BundleMembers returns the files below folder prefix (e.g. "nodes") of the
// bundle at p, a directory or a .tar.gz. Anything that is not a bundle has
// none.
func BundleMembers(p, prefix string) ([]Member, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("cannot read: %w", unwrapPathError(err))
	}
	if !st.IsDir() {
		if isArchive(p) {
			return archiveMembers(p, prefix)
		}
		return nil, nil
	}
	if !isBundleDir(p) {
		return nil, nil
	}
	root := filepath.Join(p, prefix)
	if _, err := os.Stat(root); err != nil {
		return nil, nil
	}
	var out []Member
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(p, path)
		out = append(out, Member{Name: path, Rel: filepath.ToSlash(rel), Data: b})
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("walking %s: %w", root, unwrapPathError(err))
	}
	return out, nil
}

// archiveMembers reads the members under prefix of a bundle archive (whose
// top is where its meta.json sits).
func archiveMembers(p, prefix string) ([]Member, error) {
	type raw struct {
		name string
		data []byte
	}
	var all []raw
	roots := map[string]bool{}
	err := eachMember(p, func(name string) bool {
		return path.Base(name) == "meta.json" || strings.Contains("/"+name, "/"+prefix+"/")
	}, func(name string, b []byte) {
		if path.Base(name) == "meta.json" && isBundleMeta(b) {
			roots[path.Dir(name)] = true
		}
		all = append(all, raw{name, b})
	})
	if err != nil {
		return nil, err
	}
	var out []Member
	for _, m := range all {
		for root := range roots {
			top := root + "/"
			if root == "." {
				top = ""
			}
			if rel, ok := strings.CutPrefix(m.name, top); ok && strings.HasPrefix(rel, prefix+"/") {
				out = append(out, Member{Name: p + "!" + m.name, Rel: rel, Data: m.data})
				break
			}
		}
	}
	return out, nil
}
