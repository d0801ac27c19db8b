package report

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/source/files"
)

func sample() *Report {
	f := analysis.Finding{Code: "MD101", Name: "env-ref-missing", Severity: analysis.Error, Message: "m",
		Subject:   snapshot.Key{Kind: "DaemonSet", Namespace: "kube-system", Name: "x"},
		Locations: []analysis.Location{{Position: snapshot.Position{File: "a.yaml", Line: 3, Col: 5}, Field: ".spec"}},
		Evidence:  []string{"e"}, Remedy: "r", Fingerprint: "abc",
		Fix: &analysis.Fix{Kind: "json-patch", Description: "d", Commands: []string{"kubectl patch"}}}
	w := f
	w.Code, w.Severity = "MD102", analysis.Warning
	res := analysis.Result{Findings: []analysis.Finding{f, w}, Ran: []string{"MD101", "MD102"}}
	return New("1.0", 1, 2, res, []files.InputError{{Pos: snapshot.Position{File: "b.yaml", Line: 9}, Msg: "invalid YAML: x"}}, analysis.Error)
}

func TestExitCodes(t *testing.T) {
	fs := []analysis.Finding{{Severity: analysis.Warning}}
	for _, c := range []struct {
		incomplete bool
		failOn     analysis.Severity
		want       int
	}{{false, analysis.Error, 0}, {false, analysis.Warning, 1}, {false, analysis.None, 0}, {true, analysis.None, 2}, {true, analysis.Warning, 2}} {
		if got := ExitCode(fs, c.incomplete, c.failOn); got != c.want {
			t.Errorf("%+v: %d", c, got)
		}
	}
}

func TestJSONFollowsTheSchema(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../../docs/findings.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Required   []string `json:"required"`
		Properties struct {
			SchemaVersion struct {
				Const string `json:"const"`
			} `json:"schemaVersion"`
		} `json:"properties"`
		Defs struct {
			Finding struct {
				Required []string `json:"required"`
			} `json:"finding"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	if schema.Properties.SchemaVersion.Const != SchemaVersion || doc["schemaVersion"] != SchemaVersion {
		t.Errorf("schema version: schema %s, output %v, code %s", schema.Properties.SchemaVersion.Const, doc["schemaVersion"], SchemaVersion)
	}
	for _, k := range schema.Required {
		if _, ok := doc[k]; !ok {
			t.Errorf("output lacks required %s", k)
		}
	}
	finding := doc["findings"].([]any)[0].(map[string]any)
	for _, k := range schema.Defs.Finding.Required {
		if _, ok := finding[k]; !ok {
			t.Errorf("finding lacks required %s", k)
		}
	}
	if doc["summary"].(map[string]any)["exitCode"].(float64) != 2 {
		t.Error("input errors must make the exit code 2")
	}
}

func TestTextGroupsBySeverity(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteText(&buf, sample(), TextOptions{}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	iErr, iWarn := strings.Index(out, "ERROR   MD101"), strings.Index(out, "WARNING MD102")
	if iErr < 0 || iWarn < iErr || !strings.Contains(out, "at a.yaml:3:5") || !strings.Contains(out, "input error b.yaml:9: invalid YAML: x") {
		t.Errorf("text:\n%s", out)
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("colour without a terminal")
	}
	if !strings.Contains(out, "1 error, 1 warning in 2 objects from 1 file") {
		t.Errorf("summary line:\n%s", out)
	}
}
