package workload

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// patchableKinds maps kinds whose pod template may be patched in place to
// kubectl's resource name. Pods and Jobs have immutable pod specs.
var patchableKinds = map[string]string{
	"Deployment": "deployment", "DaemonSet": "daemonset", "StatefulSet": "statefulset",
	"ReplicaSet": "replicaset", "CronJob": "cronjob",
}

// removeEntryFix builds the JSON patch that deletes one env or envFrom
// entry. A leading "test" operation makes the patch fail, rather than
// delete the wrong entry, if the list changed since the snapshot.
func removeEntryFix(e *Entry) *analysis.Fix {
	res, ok := patchableKinds[e.Object.Key.Kind]
	if !ok {
		return nil
	}
	ptr := e.Path().JSONPointer()
	var test analysis.PatchOp
	switch {
	case !e.EnvFrom:
		test = analysis.PatchOp{Op: "test", Path: ptr + "/name", Value: e.Name}
	case e.Ref.Kind == snapshot.KindConfigMap:
		test = analysis.PatchOp{Op: "test", Path: ptr + "/configMapRef/name", Value: e.Ref.Name}
	default:
		test = analysis.PatchOp{Op: "test", Path: ptr + "/secretRef/name", Value: e.Ref.Name}
	}
	ops := []analysis.PatchOp{test, {Op: "remove", Path: ptr}}
	js, _ := json.Marshal(ops)
	what := "env entry " + e.Name
	if e.EnvFrom {
		what = "envFrom entry for " + e.Ref.Kind.Kind + " " + e.Ref.Name
	}
	cmd := fmt.Sprintf("kubectl patch %s %s -n %s --type=json -p '%s'", res, e.Object.Key.Name, e.Object.Key.Namespace, strings.ReplaceAll(string(js), "'", `'\''`))
	return &analysis.Fix{
		Kind:        "json-patch",
		Description: fmt.Sprintf("remove %s from container %s of %s", what, e.Container.C.Name, e.Object.Ref()),
		Target:      e.Object.Ref(),
		Patch:       ops,
		Commands:    []string{cmd},
		Where:       "kubectl, in the cluster's context",
	}
}

// entryKey identifies an entry by container and name rather than by list
// position, so fingerprints survive edits that shift the list.
func entryKey(e *Entry) string {
	if e.EnvFrom {
		return e.Container.C.Name + "/envFrom/" + e.Ref.Kind.Kind + "/" + e.Ref.Name
	}
	return e.Container.C.Name + "/env/" + e.Name
}

// describeEntry renders an entry as a one-line piece of evidence.
func describeEntry(e *Entry) string {
	switch {
	case e.EnvFrom:
		return fmt.Sprintf("%s: envFrom %sRef name=%s", e.Path(), lowerFirst(e.Ref.Kind.Kind), e.Ref.Name)
	case e.Ref != nil:
		opt := ""
		if e.Ref.Optional {
			opt = ", optional: true"
		}
		return fmt.Sprintf("%s: env %s from %sKeyRef name=%s key=%s%s", e.Path(), e.Name, lowerFirst(e.Ref.Kind.Kind), e.Ref.Name, e.Ref.Key, opt)
	default:
		return fmt.Sprintf("%s: env %s=%q", e.Path(), e.Name, e.Env.Value)
	}
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
