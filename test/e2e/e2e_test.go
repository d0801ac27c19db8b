// Package e2e runs the built meshdoctor binary the way a user does.
package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	// Not used directly: it ties this package's test cache to the code the
	// binary is built from, so a change to it reruns these tests.
	_ "github.com/meshdoctor/meshdoctor/internal/cli"
)

// binary is built once per test run.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "meshdoctor-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "meshdoctor")
	build := exec.Command("go", "build", "-o", binary, "../../cmd/meshdoctor")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building meshdoctor:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// run executes the binary in dir and returns stdout, stderr and exit code.
func run(t *testing.T, dir, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

type expected struct {
	ExitCode    int               `json:"exitCode"`
	Findings    []expectedFinding `json:"findings"`
	InputErrors []string          `json:"inputErrors"`
}

type expectedFinding struct {
	Code      string   `json:"code"`
	Subject   string   `json:"subject"`
	Locations []string `json:"locations"`
}

func (f expectedFinding) String() string {
	return f.Code + " " + f.Subject + " @ " + strings.Join(f.Locations, ", ")
}

type reportJSON struct {
	Findings []struct {
		Code    string `json:"code"`
		Subject struct {
			Kind, Namespace, Name string
		} `json:"subject"`
		Locations []struct {
			File string `json:"file"`
			Line int    `json:"line"`
		} `json:"locations"`
	} `json:"findings"`
	InputErrors []struct {
		Position struct {
			File string `json:"file"`
			Line int    `json:"line"`
		} `json:"position"`
	} `json:"inputErrors"`
	Summary struct {
		ExitCode int `json:"exitCode"`
	} `json:"summary"`
}

func (r reportJSON) simplified() (fs []string, errs []string) {
	for _, f := range r.Findings {
		subj := f.Subject.Kind + "/" + f.Subject.Name
		if f.Subject.Namespace != "" {
			subj = f.Subject.Kind + "/" + f.Subject.Namespace + "/" + f.Subject.Name
		}
		var locs []string
		for _, l := range f.Locations {
			locs = append(locs, fmt.Sprintf("%s:%d", l.File, l.Line))
		}
		fs = append(fs, expectedFinding{Code: f.Code, Subject: subj, Locations: locs}.String())
	}
	for _, e := range r.InputErrors {
		errs = append(errs, fmt.Sprintf("%s:%d", e.Position.File, e.Position.Line))
	}
	sort.Strings(fs)
	sort.Strings(errs)
	return fs, errs
}

// TestExamples analyzes every examples/incidents/*/input with the binary and
// compares its findings exactly with the hand-written expected.json.
func TestExamples(t *testing.T) {
	dirs, err := filepath.Glob("../../examples/incidents/*/input")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	for _, dir := range dirs {
		name := filepath.Base(filepath.Dir(dir))
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(filepath.Dir(dir), "expected.json"))
			if err != nil {
				t.Fatal(err)
			}
			var want expected
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatalf("expected.json: %v", err)
			}
			stdout, stderr, code := run(t, dir, "", "analyze", ".", "-o", "json")
			var got reportJSON
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("output is not JSON: %v\n%s\nstderr: %s", err, stdout, stderr)
			}
			if code != want.ExitCode || got.Summary.ExitCode != code {
				t.Errorf("exit code %d (summary says %d), want %d", code, got.Summary.ExitCode, want.ExitCode)
			}
			var wantFs []string
			for _, f := range want.Findings {
				wantFs = append(wantFs, f.String())
			}
			sort.Strings(wantFs)
			gotFs, gotErrs := got.simplified()
			if strings.Join(gotFs, "\n") != strings.Join(wantFs, "\n") {
				t.Errorf("findings differ\n got:\n  %s\nwant:\n  %s", strings.Join(gotFs, "\n  "), strings.Join(wantFs, "\n  "))
			}
			wantErrs := append([]string{}, want.InputErrors...)
			sort.Strings(wantErrs)
			if strings.Join(gotErrs, ",") != strings.Join(wantErrs, ",") {
				t.Errorf("input errors %v, want %v", gotErrs, wantErrs)
			}
		})
	}
}
