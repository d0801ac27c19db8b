package istio

import (
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// reads merges the registry's declared reads with more (see
// analysis.Analyzer.Reads): every check here reads through the registry.
func reads(more ...map[schema.GroupKind][]string) map[schema.GroupKind][]string {
	out := map[schema.GroupKind][]string{}
	for _, m := range append([]map[schema.GroupKind][]string{registryReads}, more...) {
		for k, v := range m {
			out[k] = append(out[k], v...)
		}
	}
	return out
}

// templatePrefix is where each controller kind keeps its pod template.
var templatePrefix = map[schema.GroupKind]string{
	snapshot.KindDeployment:  "spec.template.",
	snapshot.KindStatefulSet: "spec.template.",
	snapshot.KindDaemonSet:   "spec.template.",
	snapshot.KindReplicaSet:  "spec.template.",
	snapshot.KindJob:         "spec.template.",
	snapshot.KindCronJob:     "spec.jobTemplate.spec.template.",
}

// templateReads declares fields of the pod template of every controller
// kind, e.g. "metadata.labels" (what selecting templates by label needs).
func templateReads(fields ...string) map[schema.GroupKind][]string {
	out := map[schema.GroupKind][]string{}
	for k, prefix := range templatePrefix {
		for _, f := range fields {
			out[k] = append(out[k], prefix+f)
		}
	}
	return out
}
