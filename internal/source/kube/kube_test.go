package kube

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"

	"github.com/meshdoctor/meshdoctor/internal/decode"
	"github.com/meshdoctor/meshdoctor/internal/source/files"
)

// TestLoadCountsRequests: Result.Requests is the number of HTTP requests the
// read made (discovery and every LIST page), as the server saw them.
func TestLoadCountsRequests(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api":
			fmt.Fprint(w, `{"kind":"APIVersions","versions":["v1"]}`)
		case "/apis":
			fmt.Fprint(w, `{"kind":"APIGroupList","apiVersion":"v1","groups":[]}`)
		case "/api/v1":
			fmt.Fprint(w, `{"kind":"APIResourceList","groupVersion":"v1","resources":[{"name":"configmaps","namespaced":true,"kind":"ConfigMap","verbs":["get","list"]}]}`)
		case "/api/v1/configmaps":
			// Two pages of one ConfigMap each.
			cont, name := `"continue":"next"`, "a"
			if r.URL.Query().Get("continue") == "next" {
				cont, name = `"continue":""`, "b"
			}
			fmt.Fprintf(w, `{"kind":"ConfigMapList","apiVersion":"v1","metadata":{%s},"items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q,"namespace":"ns"}}]}`, cont, name)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dec, err := decode.New()
	if err != nil {
		t.Fatal(err)
	}
	src := &Source{Config: &rest.Config{Host: srv.URL}, Loader: &files.Loader{Decoder: dec}, Kinds: []schema.GroupKind{{Kind: "ConfigMap"}}}
	res := src.Load(context.Background())
	if res.Unreachable != nil || len(res.Errors) > 0 {
		t.Fatalf("unreachable %v, errors %v", res.Unreachable, res.Errors)
	}
	if len(res.Objects) != 2 {
		t.Errorf("read %d objects, want 2", len(res.Objects))
	}
	if res.Requests == 0 || res.Requests != served.Load() {
		t.Errorf("Requests = %d, the server answered %d", res.Requests, served.Load())
	}
}
