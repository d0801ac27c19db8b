package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/source/files"
)

// rawKind is a per-workload kind a scoped read lists whole across the
// cluster (what -A pays in requests) without parsing it: its items are
// split out of the pages, and only those of the scope's namespaces are
// parsed at the end (objects), besides the few the scope is found from
// (relevant), parsed at once. Parsing every object of the cluster to keep
// a third of them made -n as slow as -A.
type rawKind struct {
	j     job
	pages []rawPage
	// relevant are the objects parsed before the scope is known: those
	// the scope is found from (scopeFromObjects, gatewayWorkloads).
	relevant []*snapshot.Object
}

type rawPage struct {
	apiVersion, kind string
	items            []rawItem
}

type rawItem struct {
	ns     string
	body   json.RawMessage
	parsed bool // among relevant
}

// itemMeta is what deciding an item's relevance reads of it.
type itemMeta struct {
	Metadata struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace"`
		Labels    map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		Template struct {
			Metadata struct {
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
		} `json:"template"`
	} `json:"spec"`
}

// relevantItem tells whether an item of kind gk is one the scope is found
// from: the istio and cilium-config ConfigMaps, istiod's Deployments, and
// the pods and Deployments a gateway selector matches.
func relevantItem(gk schema.GroupKind, m *itemMeta, selectors []labels.Selector) bool {
	name := m.Metadata.Name
	var podLabels map[string]string
	switch gk {
	case kindConfigMap:
		return name == "istio" || name == "cilium-config"
	case kindDeployment:
		if m.Metadata.Labels["app"] == "istiod" || name == "istiod" || strings.HasPrefix(name, "istiod-") {
			return true
		}
		podLabels = m.Spec.Template.Metadata.Labels
	case kindPod:
		podLabels = m.Metadata.Labels
	default:
		return false
	}
	for _, sel := range selectors {
		if sel.Matches(labels.Set(podLabels)) {
			return true
		}
	}
	return false
}

// fetchRaw reads the rest of a kind's cluster-wide LIST after its head,
// splitting the pages into items and parsing the relevant ones.
func (s *Source) fetchRaw(ctx context.Context, c rest.Interface, j job, head *headPage, selectors []labels.Selector) (*rawKind, error) {
	metaOnly := s.metaOnly(j.gk)
	rk := &rawKind{j: j}
	reader := s.Loader.NewStreamReader()
	body, cont := head.body, head.cont
	for {
		// The next page is requested before this one is split, as pages does.
		var next <-chan listPage
		if cont != "" {
			next = s.fetchPage(ctx, c, j.r, "", cont, metaOnly)
		}
		if metaOnly {
			var err error
			if body, err = asKind(body, j.gk, j.r.gvr.GroupVersion()); err != nil {
				drain(next)
				return nil, fmt.Errorf("reading the %s metadata: %w", j.r.gvr.Resource, err)
			}
		}
		var list struct {
			APIVersion string            `json:"apiVersion"`
			Kind       string            `json:"kind"`
			Items      []json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(body, &list); err != nil {
			drain(next)
			return nil, fmt.Errorf("reading a %s LIST page: %w", j.r.gvr.Resource, err)
		}
		pg := rawPage{apiVersion: list.APIVersion, kind: list.Kind, items: make([]rawItem, len(list.Items))}
		var rel []json.RawMessage
		for i, it := range list.Items {
			var m itemMeta
			if err := json.Unmarshal(it, &m); err != nil {
				drain(next)
				return nil, fmt.Errorf("reading a %s LIST page: %w", j.r.gvr.Resource, err)
			}
			pg.items[i] = rawItem{ns: m.Metadata.Namespace, body: it}
			if relevantItem(j.gk, &m, selectors) {
				pg.items[i].parsed = true
				rel = append(rel, it)
			}
		}
		rk.pages = append(rk.pages, pg)
		if len(rel) > 0 {
			rk.relevant = append(rk.relevant, s.readItems(reader, j, pg.apiVersion, pg.kind, rel)...)
		}
		if next == nil {
			return rk, nil
		}
		pg2 := <-next
		if pg2.err != nil {
			return nil, pg2.err
		}
		body = pg2.body
		var err error
		if cont, err = continueToken(body); err != nil {
			return nil, err
		}
	}
}

// drain waits for a prefetched page nobody will read (its goroutine ends
// either way; this only keeps requests from outliving the read).
func drain[T any](ch <-chan T) {
	if ch != nil {
		<-ch
	}
}

// objects parses the items of namespaces keep says yes to (all with nil),
// and returns them with the relevant objects of those namespaces.
func (s *Source) objects(rk *rawKind, keep func(ns string) bool) []*snapshot.Object {
	var out []*snapshot.Object
	for _, o := range rk.relevant {
		if keep == nil || keep(o.Key.Namespace) {
			out = append(out, o)
		}
	}
	reader := s.Loader.NewStreamReader()
	for _, pg := range rk.pages {
		var items []json.RawMessage
		for _, it := range pg.items {
			if !it.parsed && (keep == nil || keep(it.ns)) {
				items = append(items, it.body)
			}
		}
		if len(items) > 0 {
			out = append(out, s.readItems(reader, rk.j, pg.apiVersion, pg.kind, items)...)
		}
	}
	return out
}

// readItems parses items of one LIST page as a list of their own.
func (s *Source) readItems(reader *files.StreamReader, j job, apiVersion, kind string, items []json.RawMessage) []*snapshot.Object {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"apiVersion":%q,"kind":%q,"metadata":{},"items":[`, apiVersion, kind)
	for i, it := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(it)
	}
	b.WriteString("]}")
	return s.readPage(reader, j.r, "", s.metaOnly(j.gk), b.Bytes())
}
