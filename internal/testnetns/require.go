//go:build linux

package testnetns

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Require skips t unless it runs as root on Linux with every program
// found on PATH; under CI=true it fails instead of skipping.
func Require(t testing.TB, programs ...string) {
	t.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("testnetns: needs %s", strings.Join(missing, ", "))
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: a missing requirement fails the test instead of skipping it)", msg)
	}
	t.Skipf("%s: skipping", msg)
}
