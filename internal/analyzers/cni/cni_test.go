package cni_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analysis/analysistest"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/cni"
	"github.com/meshdoctor/meshdoctor/internal/decode"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/source/ciliumdump"
	"github.com/meshdoctor/meshdoctor/internal/source/files"
	"github.com/meshdoctor/meshdoctor/internal/source/logdump"
)

func TestAnalyzers(t *testing.T) {
	analysistest.Run(t, cni.Analyzers(), nil,
		"testdata/agents_positive.yaml", "testdata/agents_negative.yaml",
		"testdata/skew_positive.yaml", "testdata/skew_negative.yaml",
		"testdata/crio_positive.yaml", "testdata/crio_fixed.yaml",
		"testdata/migration_positive.yaml", "testdata/migration_ipblock.yaml", "testdata/migration_never.yaml",
		"testdata/ambient_policy.yaml", "testdata/ambient_policy_fixed.yaml",
		"testdata/migration_agent_everywhere.yaml",
	)
}

func TestAgentMessagesNameTheCause(t *testing.T) {
	got := analysistest.Run(t, []*analysis.Analyzer{cni.IstioCNINotReady}, nil, "testdata/agents_positive.yaml")["testdata/agents_positive.yaml"]
	if len(got) != 2 {
		t.Fatalf("want 2 findings, got %d", len(got))
	}
	for _, f := range got {
		switch f.Subject.Name {
		case "worker-2":
			if !strings.Contains(f.Message, "CreateContainerConfigError") || !strings.Contains(strings.Join(f.Evidence, "\n"), "couldn't find key cni_network_config") {
				t.Errorf("worker-2: the waiting reason and message should be said: %s / %v", f.Message, f.Evidence)
			}
		case "worker-3":
			if !strings.Contains(f.Message, "no istio-cni node agent pod runs there") {
				t.Errorf("worker-3: %s", f.Message)
			}
		default:
			t.Errorf("unexpected subject %v", f.Subject)
		}
	}
}

// loadBundle reads a bundle folder of testdata: its cluster objects and its
// container logs and Cilium command output, as `meshdoctor analyze BUNDLE`
// does: decoding only the fields the project analyzers declare, if any.
func loadBundle(t *testing.T, dir string, project ...*analysis.Analyzer) *snapshot.Snapshot {
	t.Helper()
	dec, err := decode.New()
	if err != nil {
		t.Fatal(err)
	}
	var reads map[schema.GroupKind][]string
	if len(project) > 0 {
		var ok bool
		if reads, ok = analysis.Projections(project); !ok {
			t.Fatal("an analyzer does not declare its reads")
		}
	}
	p := filepath.Join("testdata", dir)
	res := (&files.Loader{Decoder: dec, Reads: reads}).Load(context.Background(), []string{p})
	b := snapshot.NewBuilder()
	for _, o := range res.Objects {
		b.Add(o)
	}
	members, err := files.BundleMembers(p, "logs")
	if err != nil {
		t.Fatal(err)
	}
	logs, errs := logdump.Read(members)
	for _, e := range append(res.Errors, errs...) {
		t.Errorf("input error: %v", e)
	}
	for _, l := range logs {
		b.AddLog(l)
	}
	members, err = files.BundleMembers(p, "cilium")
	if err != nil {
		t.Fatal(err)
	}
	outs, errs := ciliumdump.Read(members)
	for _, e := range errs {
		t.Errorf("input error: %v", e)
	}
	for _, c := range outs {
		b.AddCiliumOutput(c)
	}
	return b.Build()
}

func TestCNIAgentNetNSWarning(t *testing.T) {
	res := analysis.Run(context.Background(), loadBundle(t, "cnilog_bundle"), analysis.RunConfig{Analyzers: []*analysis.Analyzer{cni.CNIAgentSawSeveralNetNS}})
	if len(res.Errors) > 0 {
		t.Fatal(res.Errors)
	}
	var got []string
	for _, f := range res.Findings {
		got = append(got, fmt.Sprintf("%s %s %s:%d", f.Code, f.Subject, filepath.Base(f.Locations[0].File), f.Locations[0].Line))
		if f.Subject.Name == "cart-7d9f-2kq" && (!strings.Contains(f.Message, "node worker-7") || !strings.Contains(strings.Join(f.Evidence, "\n"), "logged 2 times")) {
			t.Errorf("the node and the repeat count should be said: %s %v", f.Message, f.Evidence)
		}
	}
	want := []string{
		"MD405 Pod/shop/cart-7d9f-2kq install-cni.log:2",
		"MD405 Pod/99999999-0000-4000-8000-00000000dead install-cni.log:5",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	clean := analysis.Run(context.Background(), loadBundle(t, "cnilog_clean"), analysis.RunConfig{Analyzers: []*analysis.Analyzer{cni.CNIAgentSawSeveralNetNS}})
	if len(clean.Findings) != 0 || len(clean.Skipped) != 0 {
		t.Errorf("a log without the warning: want no finding and not skipped, got %+v, skipped %v", clean.Findings, clean.Skipped)
	}
}
