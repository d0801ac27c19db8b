package files

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
)

// maxArchiveMember bounds one member's size so a hostile archive cannot
// exhaust memory.
const maxArchiveMember = 1 << 30

func isArchive(p string) bool {
	l := strings.ToLower(p)
	return strings.HasSuffix(l, ".tar.gz") || strings.HasSuffix(l, ".tgz")
}

// readArchive reads the manifests of a .tar.gz. When the archive is a bundle
// (a top folder, or the root, with meta.json naming the bundle format) only
// its cluster/ folder is read; otherwise every YAML and JSON member is.
// Members are named "archive.tar.gz!member/path".
func readArchive(p string) ([]unit, error) {
	var all []unit
	bundleRoots := map[string]bool{}
	err := eachMember(p, func(name string) bool { return path.Base(name) == "meta.json" || isManifest(name) }, func(name string, b []byte) {
		if path.Base(name) == "meta.json" && isBundleMeta(b) {
			bundleRoots[path.Dir(name)] = true
			return
		}
		all = append(all, unit{name: p + "!" + name, data: b})
	})
	return filterBundle(all, bundleRoots), err
}

// eachMember reads the regular files of the .tar.gz at p that want accepts
// (by cleaned name) and hands each to fn. On a read error it stops and
// returns it, after fn has seen the members before.
func eachMember(p string, want func(name string) bool, fn func(name string, data []byte)) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("cannot read: %w", unwrapPathError(err))
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("not a gzip archive: %w", err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading archive (truncated or corrupt?): %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := path.Clean(strings.TrimPrefix(h.Name, "./"))
		if !want(name) {
			continue
		}
		if h.Size > maxArchiveMember {
			return fmt.Errorf("member %s is larger than %d bytes", name, maxArchiveMember)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return fmt.Errorf("reading member %s: %w", name, err)
		}
		fn(name, b)
	}
}

func isBundleMeta(b []byte) bool {
	var m struct {
		Format string `json:"format"`
	}
	return json.Unmarshal(b, &m) == nil && strings.HasPrefix(m.Format, BundleFormat)
}

// filterBundle keeps, for members under a bundle root, only those in its
// cluster/ folder.
func filterBundle(all []unit, roots map[string]bool) []unit {
	if len(roots) == 0 {
		return all
	}
	var out []unit
	for _, u := range all {
		member := u.name[strings.LastIndexByte(u.name, '!')+1:]
		keep := true
		for root := range roots {
			prefix := root + "/"
			if root == "." {
				prefix = ""
			}
			if strings.HasPrefix(member, prefix) {
				keep = strings.HasPrefix(member, prefix+"cluster/")
				break
			}
		}
		if keep {
			out = append(out, u)
		}
	}
	return out
}
