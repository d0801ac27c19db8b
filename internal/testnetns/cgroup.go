//go:build linux

package testnetns

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// CgroupTree is a test's own subtree of the cgroup v2 hierarchy,
// <cgroup2 mount>/mdtest-<random>, removed in t.Cleanup.
type CgroupTree struct {
	mount string // where cgroup2 is mounted
	root  string // its root as /proc/PID/cgroup shows it ("/" outside a cgroup namespace)
	name  string // mdtest-<random>
}

// Cgroup is one directory of a CgroupTree.
type Cgroup struct {
	// Dir is the directory; a process joins by being started into it.
	Dir string
	// Line is the cgroup v2 line /proc/PID/cgroup shows for a member:
	// "0::/mdtest-…/kubepods.slice/…".
	Line string
}

// NewCgroupTree creates the subtree. Create it before the processes that
// go into it, so its cleanup runs after theirs and finds it empty.
func NewCgroupTree(t testing.TB) *CgroupTree {
	t.Helper()
	mount, root, err := cgroup2Mount("/proc/self/mountinfo")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("testnetns: %v", err)
		}
		t.Skipf("testnetns: %v: skipping", err)
	}
	c := &CgroupTree{mount: mount, root: root, name: "mdtest-" + RandomHex(4)}
	dir := filepath.Join(mount, c.name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatalf("testnetns: %v", err)
	}
	t.Cleanup(func() {
		if err := removeTree(dir); err != nil {
			t.Errorf("testnetns: removing cgroups: %v", err)
		}
	})
	return c
}

// KubeletContainer creates the directories kubelet's systemd cgroup driver
// makes for a container, qos being "besteffort" or "burstable":
// kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid with _>.slice/<scope>,
// where scope is e.g. "cri-containerd-<id>.scope" or "crio-conmon-<id>.scope".
func (c *CgroupTree) KubeletContainer(t testing.TB, qos, podUID, scope string) *Cgroup {
	t.Helper()
	pod := fmt.Sprintf("kubepods-%s-pod%s.slice", qos, strings.ReplaceAll(podUID, "-", "_"))
	rel := filepath.Join(c.name, "kubepods.slice", "kubepods-"+qos+".slice", pod, scope)
	dir := filepath.Join(c.mount, rel)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("testnetns: %v", err)
	}
	return &Cgroup{Dir: dir, Line: "0::" + filepath.Join(c.root, rel)}
}

// cgroup2Mount finds the cgroup v2 mount in a mountinfo file: /sys/fs/cgroup
// on a unified host, /sys/fs/cgroup/unified on a hybrid one.
func cgroup2Mount(mountinfo string) (mount, root string, err error) {
	f, err := os.Open(mountinfo)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// ID parent major:minor root mountpoint options [optional...] - fstype source superoptions
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok || !strings.HasPrefix(post, "cgroup2 ") {
			continue
		}
		f := strings.Fields(pre)
		if len(f) < 5 {
			continue
		}
		return unescapeMountinfo(f[4]), unescapeMountinfo(f[3]), nil
	}
	if err := sc.Err(); err != nil {
		return "", "", err
	}
	return "", "", errors.New("no cgroup2 mount in " + mountinfo)
}

// unescapeMountinfo undoes the octal escapes (\040 for a space) of
// mountinfo paths.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v byte
			if _, err := fmt.Sscanf(s[i+1:i+4], "%3o", &v); err == nil {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// removeTree removes a cgroup directory tree bottom-up. A cgroup is
// busy for a moment after its last process was killed, so EBUSY is
// retried for a few seconds.
func removeTree(dir string) error {
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		deadline := time.Now().Add(5 * time.Second)
		for {
			err := syscall.Rmdir(dirs[i])
			if err == nil || errors.Is(err, syscall.ENOENT) {
				break
			}
			if !errors.Is(err, syscall.EBUSY) || time.Now().After(deadline) {
				return fmt.Errorf("rmdir %s: %w", dirs[i], err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}
