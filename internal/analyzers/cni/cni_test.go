package cni_test

import (
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analysis/analysistest"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/cni"
)

func TestAnalyzers(t *testing.T) {
	analysistest.Run(t, cni.Analyzers(), nil,
		"testdata/agents_positive.yaml", "testdata/agents_negative.yaml",
		"testdata/skew_positive.yaml", "testdata/skew_negative.yaml",
		"testdata/crio_positive.yaml", "testdata/crio_fixed.yaml",
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
