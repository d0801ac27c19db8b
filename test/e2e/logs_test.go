package e2e

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLogsCommand runs `meshdoctor logs` as a user would: a gzipped file,
// standard input, a file that cannot be read (exit 2, the rest still
// analyzed), and --config joining the failures to the configuration.
func TestLogsCommand(t *testing.T) {
	const testdata = "../../internal/analyzers/proxylog/testdata"
	dir := t.TempDir()
	plain, err := os.ReadFile(filepath.Join(testdata, "nc.log"))
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(plain)
	w.Close()
	if err := os.WriteFile(filepath.Join(dir, "nc.log.gz"), gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, _ := filepath.Abs(filepath.Join(testdata, "nc_config.yaml"))

	stdout, stderr, code := run(t, dir, "garbage that is no access log\n", "logs", "nc.log.gz", "-", "missing.log", "--config", cfg, "-o", "json")
	var rep struct {
		reportJSON
		AccessLogs struct {
			Lines, Matched, Unmatched int64
			UnmatchedSamples          []string
		}
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s\n%s", err, stdout, stderr)
	}
	if code != 2 {
		t.Errorf("exit %d, want 2 (missing.log cannot be read)", code)
	}
	fs, errs := rep.simplified()
	if len(errs) != 1 || !strings.HasPrefix(errs[0], "missing.log") {
		t.Errorf("input errors %v, want one for missing.log", errs)
	}
	got := strings.Join(fs, "\n")
	for _, want := range []string{"MD601", "MD602 VirtualService/shop/reviews", "MD603 DestinationRule/shop/ratings"} {
		if !strings.Contains(got, want) {
			t.Errorf("findings lack %q:\n%s", want, got)
		}
	}
	if rep.AccessLogs.Lines != 5 || rep.AccessLogs.Matched != 4 || rep.AccessLogs.Unmatched != 1 || len(rep.AccessLogs.UnmatchedSamples) != 1 || !strings.HasPrefix(rep.AccessLogs.UnmatchedSamples[0], "-:1: garbage") {
		t.Errorf("access-log counts %+v, want 5 lines, 4 matched, the stdin line unmatched and sampled", rep.AccessLogs)
	}

	if _, stderr, code := run(t, dir, "", "logs"); code != 2 || !strings.Contains(stderr, "give access-log files") {
		t.Errorf("no input: exit %d, stderr %q; want 2 and a usage message", code, stderr)
	}
}
