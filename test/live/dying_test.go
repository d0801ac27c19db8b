package live

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestAPIServerDiesMidRunCLI: the whole command, not only the reader. The
// API server is stopped after the third LIST has been answered; analyze
// must still write its report from what was read (partial results), name
// the calls that failed, exit 2, and not hang.
func TestAPIServerDiesMidRunCLI(t *testing.T) {
	c := start(t)
	appWithMissingKey(t, c, "app")
	var lists atomic.Int32
	var once sync.Once
	rp := adminProxy(t, c)
	proxy := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("limit") && lists.Add(1) > 3 {
			once.Do(func() { c.env.Stop(t) }) // the server dies; this and later calls fail
		}
		rp.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	kubeconfig := proxyKubeconfig(t, proxy.URL)

	begin := time.Now()
	r, code, stderr := analyze(t, "--kubeconfig", kubeconfig, "--request-timeout", "5s", "--timeout", "90s")
	took := time.Since(begin)
	if code != 2 {
		t.Errorf("exit %d, want 2: the read is incomplete; stderr %s", code, stderr)
	}
	if r.raw == "" {
		t.Fatalf("no report written; stderr %s", stderr)
	}
	if r.Summary.Objects == 0 {
		t.Errorf("the report holds no object: the LISTs answered before the server died were lost")
	}
	if len(r.InputErrors) == 0 {
		t.Errorf("no input error names the failed calls")
	}
	for _, e := range r.InputErrors {
		if !strings.Contains(e.Message, "LIST ") && !strings.Contains(e.Message, "cannot list") {
			t.Errorf("input error does not name the call: %s", e.Message)
		}
	}
	if took > 75*time.Second {
		t.Errorf("analyze took %s after the server died", took)
	}
	t.Logf("%d LISTs seen, %d objects reported, %d input errors, %s", lists.Load(), r.Summary.Objects, len(r.InputErrors), took.Round(time.Millisecond))
}
