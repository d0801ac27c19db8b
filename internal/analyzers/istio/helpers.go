package istio

import (
	"sort"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// sortedKeys returns a map's keys in order, so that findings built from
// map fields come out in a stable order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// sortInts sorts v in place and returns it.
func sortInts(v []int) []int {
	sort.Ints(v)
	return v
}

// mergeReads merges field declarations (see analysis.Analyzer.Reads).
func mergeReads(ms ...map[schema.GroupKind][]string) map[schema.GroupKind][]string {
	out := map[schema.GroupKind][]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = append(out[k], v...)
		}
	}
	return out
}
