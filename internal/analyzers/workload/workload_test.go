package workload_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analysis/analysistest"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/workload"
)

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test inputs: %v", err)
	}
	analysistest.Run(t, workload.Analyzers(), nil, files...)
}

func TestEnvRefMessagesMatchKubelet(t *testing.T) {
	got := analysistest.Run(t, []*analysis.Analyzer{workload.EnvRefMissing}, nil, "testdata/envref_positive.yaml")["testdata/envref_positive.yaml"]
	want := []string{
		`configmap "migrations" not found`,
		"couldn't find key flags in ConfigMap shop/app-config",
		"couldn't find key password in Secret shop/db",
		`configmap "cache" not found`,
		`secret "token" not found`,
	}
	all := ""
	for _, f := range got {
		all += f.Message + "\n"
	}
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("no finding says %q; messages:\n%s", w, all)
		}
	}
}

func TestPodsFoldIntoTheirController(t *testing.T) {
	got := analysistest.Run(t, []*analysis.Analyzer{workload.EnvRefMissing}, nil, "testdata/envref_pods.yaml")["testdata/envref_pods.yaml"]
	var dep *analysis.Finding
	for i := range got {
		if got[i].Subject.Kind == "Deployment" {
			dep = &got[i]
		}
	}
	if dep == nil {
		t.Fatalf("no finding on the Deployment: %+v", got)
	}
	if len(dep.Related) != 2 || dep.Related[1].Object != "Pod/web/web-7d9f8c6b5-abcde" {
		t.Errorf("want the ConfigMap and the pod as related, got %+v", dep.Related)
	}
	if !strings.Contains(strings.Join(dep.Evidence, "\n"), "waiting: CreateContainerConfigError: couldn't find key mode in ConfigMap web/web-config") {
		t.Errorf("the pod's observed state is not in the evidence: %q", dep.Evidence)
	}
}

func TestUncheckedNamespaceIsSaidNotGuessed(t *testing.T) {
	snap := analysistest.Load(t, "testdata/envref_unchecked.yaml")
	res := analysis.Run(context.Background(), snap, analysis.RunConfig{Analyzers: []*analysis.Analyzer{workload.EnvRefMissing}})
	if len(res.Findings) != 0 {
		t.Errorf("want no finding, got %+v", res.Findings)
	}
	if len(res.NotChecked) != 1 || res.NotChecked[0].Reason != "ConfigMaps of namespace other are not in the input" {
		t.Errorf("want one not-checked note naming namespace other, got %+v", res.NotChecked)
	}
}

func TestFixIsGuardedJSONPatch(t *testing.T) {
	got := analysistest.Run(t, []*analysis.Analyzer{workload.IstioCNILegacyEnv}, nil, "testdata/cni_positive.yaml")["testdata/cni_positive.yaml"]
	if len(got) != 1 || got[0].Fix == nil {
		t.Fatalf("want one finding with a fix, got %+v", got)
	}
	if got[0].Severity != analysis.Error {
		t.Errorf("a failing leftover reference is an error, got %s", got[0].Severity)
	}
	patch, _ := json.Marshal(got[0].Fix.Patch)
	want := `[{"op":"test","path":"/spec/template/spec/containers/0/env/0/name","value":"CNI_NETWORK_CONFIG"},{"op":"remove","path":"/spec/template/spec/containers/0/env/0"}]`
	if string(patch) != want {
		t.Errorf("patch\n got %s\nwant %s", patch, want)
	}
	if cmd := got[0].Fix.Commands[0]; !strings.HasPrefix(cmd, "kubectl patch daemonset istio-cni-node -n kube-system --type=json -p '") {
		t.Errorf("command %q", cmd)
	}
}

func TestSecretValuesNeverShown(t *testing.T) {
	got := analysistest.Run(t, []*analysis.Analyzer{workload.EnvShadowsEnvFrom}, nil, "testdata/shadow_positive.yaml")["testdata/shadow_positive.yaml"]
	b, _ := json.Marshal(got)
	for _, secret := range []string{"c2VjcmV0", `"secret"`, "not-the-secret"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("findings leak %s: %s", secret, b)
		}
	}
}
