// Package testenv runs a real etcd and kube-apiserver for integration tests,
// through controller-runtime's envtest (which handles certificates, ports and
// authentication). The binaries are built from the Go module proxy by
// hack/install-test-binaries.sh into a per-version cache under $HOME/.cache;
// tests find them there by themselves.
//
// Without the binaries a test is skipped, except under CI=true, where it
// fails: CI installs them first, so a missing binary there is a broken setup,
// not a reason to pass without testing anything.
package testenv

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// A cold kube-apiserver start on 2 busy cores can exceed envtest's default 20s.
const startTimeout = 90 * time.Second

// Env is a running etcd and kube-apiserver, stopped when the test ends.
type Env struct {
	// Config is an administrator's client config (group system:masters).
	Config *rest.Config

	env     *envtest.Environment
	logDir  string
	stopped bool
}

// Start starts etcd and kube-apiserver for t and stops them in t.Cleanup.
// Without the binaries it skips t, or fails it when CI=true.
func Start(t testing.TB) *Env {
	t.Helper()
	bins, err := FindBinaries()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("testenv: %v (CI=true: missing control-plane binaries fail the test instead of skipping it)", err)
		}
		t.Skipf("testenv: skipping: %v", err)
	}
	// envtest logs through controller-runtime's process-wide logger, which
	// prints a warning with a stack trace 30s into a run unless one is set.
	// Setting it is idempotent; failures surface as returned errors anyway.
	ctrllog.SetLogger(logr.Discard())

	logDir := t.TempDir() // before the cleanup below, so removed after it
	etcdLog, err := os.Create(filepath.Join(logDir, "etcd.log"))
	if err != nil {
		t.Fatalf("testenv: creating etcd log: %v", err)
	}
	apiLog, err := os.Create(filepath.Join(logDir, "kube-apiserver.log"))
	if err != nil {
		t.Fatalf("testenv: creating kube-apiserver log: %v", err)
	}
	useExisting := false
	e := &Env{
		logDir: logDir,
		env: &envtest.Environment{
			ControlPlane: envtest.ControlPlane{
				APIServer: &envtest.APIServer{Path: bins.KubeAPIServer, Out: apiLog, Err: apiLog},
				Etcd:      &envtest.Etcd{Path: bins.Etcd, Out: etcdLog, Err: etcdLog},
			},
			// Never talk to whatever cluster USE_EXISTING_CLUSTER and the
			// user's kubeconfig point at.
			UseExistingCluster:       &useExisting,
			ControlPlaneStartTimeout: startTimeout,
			ControlPlaneStopTimeout:  30 * time.Second,
		},
	}
	t.Cleanup(func() {
		e.stop(t)
		etcdLog.Close()
		apiLog.Close()
		if t.Failed() {
			e.logTails(t)
		}
	})
	cfg, err := e.env.Start()
	if err != nil {
		t.Fatalf("testenv: starting etcd %s and kube-apiserver %s: %v", bins.Etcd, bins.KubeAPIServer, err)
	}
	e.Config = cfg
	return e
}

// Stop stops the control plane now, e.g. to test a server that goes away
// mid-run. The cleanup registered by Start then has nothing left to do.
func (e *Env) Stop(t testing.TB) {
	t.Helper()
	e.stop(t)
}

func (e *Env) stop(t testing.TB) {
	t.Helper()
	if e.stopped {
		return
	}
	e.stopped = true
	if err := e.env.Stop(); err != nil {
		t.Errorf("testenv: stopping the control plane: %v", err)
	}
}

// logTails logs the end of the control plane's output, which is where the
// reason for a failed start or a server error usually is.
func (e *Env) logTails(t testing.TB) {
	const tail = 4 << 10
	for _, name := range []string{"etcd.log", "kube-apiserver.log"} {
		b, err := os.ReadFile(filepath.Join(e.logDir, name))
		if err != nil {
			t.Logf("testenv: reading %s: %v", name, err)
			continue
		}
		if len(b) > tail {
			b = b[len(b)-tail:]
			if i := bytes.IndexByte(b, '\n'); i >= 0 {
				b = b[i+1:]
			}
		}
		t.Logf("testenv: last lines of %s:\n%s", name, b)
	}
}

// Clientset returns a typed client for the administrator.
func (e *Env) Clientset(t testing.TB) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(e.Config)
	if err != nil {
		t.Fatalf("testenv: admin clientset: %v", err)
	}
	return cs
}

// KubeconfigFile writes the administrator's kubeconfig to a file in a
// temporary directory of t and returns its path, for tests of the CLI.
func (e *Env) KubeconfigFile(t testing.TB) string {
	t.Helper()
	return writeKubeconfig(t, "admin", e.env.KubeConfig)
}

func writeKubeconfig(t testing.TB, user string, kubeconfig []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	// 0600: it holds the user's private key.
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		t.Fatalf("testenv: writing kubeconfig of %s: %v", user, err)
	}
	return path
}
