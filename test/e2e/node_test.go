package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestNodeInput runs `meshdoctor node --input` on files a user captured:
// recognised by content (one from stdin), host netns inferred and said,
// findings and exit code; an unrecognisable file is named, the rest still
// analyzed, exit 2.
func TestNodeInput(t *testing.T) {
	const dir = "../../internal/analyzers/dataplane/testdata"
	ipRule := "0:\tfrom all lookup local\n32764:\tfrom all fwmark 0x111/0xfff lookup 100\n"
	stdout, stderr, code := run(t, dir, ipRule, "node", "--input", "host_incident_a.txt", "-", "-o", "json")
	var rep reportJSON
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s\n%s", err, stdout, stderr)
	}
	fs, _ := rep.simplified()
	if code != 1 || len(fs) != 1 || !strings.HasPrefix(fs[0], "MD501 Node/node @ host_incident_a.txt:8") || !strings.HasSuffix(fs[0], "-:2") {
		t.Errorf("exit %d, findings %v", code, fs)
	}
	if !strings.Contains(stderr, "taken as the node's own netns") {
		t.Errorf("the inferred netns is not said:\n%s", stderr)
	}

	stdout, stderr, code = run(t, dir, "", "node", "--input", "pod_incident_b.txt", "pod_incident_b_conntrack.txt", "bundle_mixed/meta.json", "--netns", "pod")
	if code != 2 || !strings.Contains(stdout, "bundle_mixed/meta.json: not recognised") || !strings.Contains(stdout, "MD505") {
		t.Errorf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if _, stderr, code := run(t, dir, "", "node", "--input", "x.txt", "--dump", "out"); code != 2 || !strings.Contains(stderr, "give one") {
		t.Errorf("--input with --dump: exit %d, %s", code, stderr)
	}
}
