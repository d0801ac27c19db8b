package live

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"

	"github.com/meshdoctor/meshdoctor/internal/decode"
	"github.com/meshdoctor/meshdoctor/internal/source/files"
	"github.com/meshdoctor/meshdoctor/internal/source/kube"
)

// slowProxy is an HTTPS proxy in front of the test API server that passes
// discovery through and holds every LIST (a request with a limit) until
// its client gives up or release is closed: an API server too slow to
// finish a read. It counts the LISTs held right now.
type slowProxy struct {
	srv      *httptest.Server
	listing  chan struct{} // closed when the first LIST arrives
	release  chan struct{}
	inFlight atomic.Int32
}

func newSlowProxy(t *testing.T, c *cluster) *slowProxy {
	t.Helper()
	p := &slowProxy{listing: make(chan struct{}), release: make(chan struct{})}
	var once sync.Once
	rp := adminProxy(t, c)
	p.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("limit") {
			p.inFlight.Add(1)
			defer p.inFlight.Add(-1)
			once.Do(func() { close(p.listing) })
			select {
			case <-r.Context().Done():
				return
			case <-p.release:
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		close(p.release)
		p.srv.Close()
	})
	return p
}

// kubeconfig points at the proxy (whose certificate is its own).
func (p *slowProxy) kubeconfig(t *testing.T) string {
	t.Helper()
	return proxyKubeconfig(t, p.srv.URL)
}

// proxyKubeconfig writes a kubeconfig for a test proxy at server that
// presents its own certificate and adds the admin's credentials itself.
func proxyKubeconfig(t *testing.T, server string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(`apiVersion: v1
kind: Config
clusters: [{name: proxy, cluster: {server: "`+server+`", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: unused}}]
contexts: [{name: c, context: {cluster: proxy, user: u}}]
current-context: c
`), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// adminProxy returns a reverse proxy to the test API server that sends
// every request with the admin's credentials.
func adminProxy(t *testing.T, c *cluster) *httputil.ReverseProxy {
	t.Helper()
	target, err := url.Parse(c.env.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := rest.TransportFor(c.env.Config)
	if err != nil {
		t.Fatal(err)
	}
	return &httputil.ReverseProxy{Transport: tr, Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Header.Del("Authorization")
	}}
}

// waitNoneInFlight waits until the proxy holds no LIST: the client closed
// every request it had open.
func (p *slowProxy) waitNoneInFlight(t *testing.T, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for p.inFlight.Load() > 0 {
		if time.Now().After(deadline) {
			t.Errorf("%d LISTs still open %s after the interrupt", p.inFlight.Load(), within)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCtrlCCancelsCleanly runs the meshdoctor binary against an API server
// whose LISTs never answer, with --request-timeout and --timeout far away,
// and interrupts it (SIGINT, what Ctrl-C sends) while it waits. It must
// exit at once with code 2 and say on stderr that it was interrupted,
// write no report, close every request it had open, and leave no file in
// its HOME or TMPDIR.
func TestCtrlCCancelsCleanly(t *testing.T) {
	c := start(t)
	appWithMissingKey(t, c, "app")
	p := newSlowProxy(t, c)
	bin := filepath.Join(t.TempDir(), "meshdoctor")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/meshdoctor").CombinedOutput(); err != nil {
		t.Fatalf("building meshdoctor: %v\n%s", err, out)
	}
	home, tmp := t.TempDir(), t.TempDir()
	cmd := exec.Command(bin, "analyze", "--kubeconfig", p.kubeconfig(t), "--request-timeout", "2m", "--timeout", "5m", "-o", "json")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TMPDIR=" + tmp}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-p.listing:
	case err := <-exited:
		t.Fatalf("meshdoctor ended (%v) before it listed anything:\n%s", err, errb.String())
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("meshdoctor sent no LIST within 60s")
	}
	time.Sleep(200 * time.Millisecond) // let the other kinds' LISTs start too
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	var err error
	select {
	case err = <-exited:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-exited
		t.Fatalf("still running 20s after SIGINT; stderr:\n%s", errb.String())
	}
	took := time.Since(sent)
	if took > 3*time.Second {
		t.Errorf("exited %s after SIGINT, want promptly", took)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Errorf("exit %v, want code 2 (documented for an interrupted run)", err)
	}
	if stderr := errb.String(); !strings.Contains(stderr, "meshdoctor: interrupted by SIGINT (Ctrl-C)") || !strings.Contains(stderr, "nothing was reported") {
		t.Errorf("stderr does not say the run was interrupted:\n%s", stderr)
	}
	if out.Len() != 0 {
		t.Errorf("an interrupted run wrote a report:\n%s", out.String())
	}
	p.waitNoneInFlight(t, 2*time.Second)
	for _, dir := range []string{home, tmp} {
		if left, _ := os.ReadDir(dir); len(left) > 0 {
			t.Errorf("left behind in %s: %v", dir, left)
		}
	}
}

// TestCancelledReadLeavesNoGoroutine: a live read whose context is
// cancelled while its LISTs wait on the server returns at once with an
// error per cancelled call, closes its requests and leaves no goroutine of
// its own running.
func TestCancelledReadLeavesNoGoroutine(t *testing.T) {
	c := start(t)
	appWithMissingKey(t, c, "app")
	p := newSlowProxy(t, c)
	cfg := &rest.Config{Host: p.srv.URL, TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
	dec, err := decode.New()
	if err != nil {
		t.Fatal(err)
	}
	kinds := []schema.GroupKind{{Kind: "Namespace"}, {Kind: "ConfigMap"}, {Kind: "Pod"}, {Kind: "Service"}, {Group: "apps", Kind: "Deployment"}, {Group: "apps", Kind: "DaemonSet"}}
	for _, ns := range []string{"", "app"} {
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-p.listing:
			case <-time.After(30 * time.Second):
			}
			time.Sleep(200 * time.Millisecond)
			cancel()
		}()
		begin := time.Now()
		res := (&kube.Source{Config: cfg, Loader: &files.Loader{Decoder: dec}, Kinds: kinds, Namespace: ns}).Load(ctx)
		cancel()
		if took := time.Since(begin); took > 10*time.Second {
			t.Errorf("namespace %q: the cancelled read took %s", ns, took)
		}
		if res.Unreachable != nil || len(res.Errors) == 0 {
			t.Errorf("namespace %q: want an error per cancelled call, got %v %v", ns, res.Unreachable, res.Errors)
		}
		p.waitNoneInFlight(t, 2*time.Second)
		deadline := time.Now().Add(2 * time.Second)
		for {
			buf := make([]byte, 1<<20)
			stacks := string(buf[:runtime.Stack(buf, true)])
			if !strings.Contains(stacks, "meshdoctor/internal/source/kube.") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("namespace %q: goroutines of the read still running:\n%s", ns, stacks)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
