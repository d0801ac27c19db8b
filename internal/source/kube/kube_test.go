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

// TestLoadRetriesOverload: a LIST page answered 429 (with Retry-After) or
// 503 is asked again, and the read completes; a 404 is not retried.
func TestLoadRetriesOverload(t *testing.T) {
	var lists, secrets atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api":
			fmt.Fprint(w, `{"kind":"APIVersions","versions":["v1"]}`)
		case "/apis":
			fmt.Fprint(w, `{"kind":"APIGroupList","apiVersion":"v1","groups":[]}`)
		case "/api/v1":
			fmt.Fprint(w, `{"kind":"APIResourceList","groupVersion":"v1","resources":[{"name":"configmaps","namespaced":true,"kind":"ConfigMap","verbs":["list"]},{"name":"secrets","namespaced":true,"kind":"Secret","verbs":["list"]}]}`)
		case "/api/v1/configmaps":
			switch lists.Add(1) {
			case 1:
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(http.StatusTooManyRequests)
				fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"TooManyRequests","code":429}`)
			case 2:
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"ServiceUnavailable","code":503}`)
			default:
				fmt.Fprint(w, `{"kind":"ConfigMapList","apiVersion":"v1","metadata":{},"items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","namespace":"ns"}}]}`)
			}
		default:
			if r.URL.Path == "/api/v1/secrets" {
				secrets.Add(1)
			}
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`)
		}
	}))
	defer srv.Close()
	dec, err := decode.New()
	if err != nil {
		t.Fatal(err)
	}
	src := &Source{Config: &rest.Config{Host: srv.URL}, Loader: &files.Loader{Decoder: dec}, Kinds: []schema.GroupKind{{Kind: "ConfigMap"}, {Kind: "Secret"}}}
	res := src.Load(context.Background())
	if res.Unreachable != nil {
		t.Fatal(res.Unreachable)
	}
	if len(res.Objects) != 1 || lists.Load() < 3 {
		t.Errorf("read %d ConfigMaps after %d LISTs, want 1 after the 429 and the 503 were retried", len(res.Objects), lists.Load())
	}
	if secrets.Load() != 1 {
		t.Errorf("the Secrets LIST (404) was sent %d times, want once", secrets.Load())
	}
	if len(res.Errors) != 1 {
		t.Errorf("errors %v, want one: the Secrets LIST (404, not retried)", res.Errors)
	}
}
