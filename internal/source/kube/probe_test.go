package kube

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
)

// TestProbeHonoursPageSize: the selected LISTs a scoped read probes with
// ask for pages of the configured size, like every other LIST, and follow
// the continue tokens to the end.
func TestProbeHonoursPageSize(t *testing.T) {
	var mu sync.Mutex
	var limits []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		mu.Lock()
		limits = append(limits, q.Get("limit"))
		mu.Unlock()
		if r.URL.Path != "/api/v1/configmaps" || q.Get("fieldSelector") != "metadata.name=istio" {
			http.Error(w, "unexpected request "+r.URL.String(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch q.Get("continue") {
		case "":
			fmt.Fprint(w, `{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"continue":"next"},"items":[{"metadata":{"name":"istio","namespace":"a"}}]}`)
		case "next":
			fmt.Fprint(w, `{"kind":"ConfigMapList","apiVersion":"v1","metadata":{},"items":[{"metadata":{"name":"istio","namespace":"b"},"data":{"mesh":"rootNamespace: c"}}]}`)
		default:
			http.Error(w, "bad continue token", http.StatusGone)
		}
	}))
	defer srv.Close()
	client, err := rawClient(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	r := resource{gvr: schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, namespaced: true}
	for _, c := range []struct {
		size int64
		want string
	}{{7, "7"}, {0, "500"}} {
		limits = nil
		s := &Source{PageSize: c.size}
		items, err := s.probe(context.Background(), client, r, map[string]string{"fieldSelector": "metadata.name=istio"})
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 2 || items[0].Namespace != "a" || items[1].Namespace != "b" || items[1].Data["mesh"] == "" {
			t.Errorf("PageSize %d: probed %+v, want the istio ConfigMaps of a and b", c.size, items)
		}
		if len(limits) != 2 || limits[0] != c.want || limits[1] != c.want {
			t.Errorf("PageSize %d: the probe's LISTs asked for limit %v, want %s each", c.size, limits, c.want)
		}
	}
}
