package testenv

import (
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// versionsEnv is the one place the control-plane versions are written down;
// hack/install-test-binaries.sh reads the same file to name the directories it
// builds into, so the tests and the script cannot disagree.
//
//go:embed versions.env
var versionsEnv string

// Binaries are the control-plane executables a test environment runs.
type Binaries struct {
	KubeAPIServer string
	Etcd          string
}

// parseVersions reads the KEY=value lines of versions.env.
func parseVersions(text string) (map[string]string, error) {
	vs := map[string]string{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("versions.env line %d: want KEY=value, got %q", i+1, line)
		}
		vs[k] = v
	}
	return vs, nil
}

// cacheRoot mirrors the script's ${XDG_CACHE_HOME:-$HOME/.cache}. It is spelled
// out instead of os.UserCacheDir, which differs from the script on macOS.
func cacheRoot() (string, error) {
	if dir := os.Getenv("XDG_CACHE_HOME"); filepath.IsAbs(dir) {
		return dir, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("locating the test binary cache: %w", err)
	}
	return filepath.Join(home, ".cache"), nil
}

// binaryPaths returns where hack/install-test-binaries.sh puts the binaries
// of the embedded versions; it does not check that they exist.
func binaryPaths() (Binaries, error) {
	vs, err := parseVersions(versionsEnv)
	if err != nil {
		return Binaries{}, err
	}
	kube, etcd := vs["KUBERNETES_VERSION"], vs["ETCD_VERSION"]
	if kube == "" || etcd == "" {
		return Binaries{}, errors.New("versions.env: KUBERNETES_VERSION and ETCD_VERSION must both be set")
	}
	root, err := cacheRoot()
	if err != nil {
		return Binaries{}, err
	}
	dir := filepath.Join(root, "meshdoctor", "test-binaries")
	return Binaries{
		KubeAPIServer: filepath.Join(dir, "kube-apiserver-"+kube, "kube-apiserver"),
		Etcd:          filepath.Join(dir, "etcd-"+etcd, "etcd"),
	}, nil
}

// FindBinaries locates the installed kube-apiserver and etcd. The error names
// every missing binary and the script that installs them.
func FindBinaries() (Binaries, error) {
	b, err := binaryPaths()
	if err != nil {
		return Binaries{}, err
	}
	var missing []string
	for _, p := range []string{b.KubeAPIServer, b.Etcd} {
		if err := checkExecutable(p); err != nil {
			missing = append(missing, err.Error())
		}
	}
	if len(missing) > 0 {
		return b, fmt.Errorf("%s; run hack/install-test-binaries.sh to build them", strings.Join(missing, "; "))
	}
	return b, nil
}

func checkExecutable(path string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s not found", path)
	case err != nil:
		return err
	case !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}
