// Package analysis defines analyzers, the facts they share, the findings they
// report, and the runner that executes them over a snapshot. It is modelled
// on golang.org/x/tools/go/analysis: an analyzer is a declarative value, and
// derived facts are computed once and read by every check that needs them.
package analysis

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// Severity orders findings; higher is worse.
type Severity int

// Severities, from least to most severe. None is only a --fail-on value.
const (
	Info Severity = iota + 1
	Warning
	Error
	None Severity = 100
)

func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Warning:
		return "warning"
	case Error:
		return "error"
	case None:
		return "none"
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// MarshalText renders the severity as its name in JSON.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// ParseSeverity reads error|warning|info|none.
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(s) {
	case "info":
		return Info, nil
	case "warning", "warn":
		return Warning, nil
	case "error":
		return Error, nil
	case "none":
		return None, nil
	}
	return 0, fmt.Errorf("unknown severity %q (want error, warning, info or none)", s)
}

// Location is one place that proves a finding.
type Location struct {
	snapshot.Position
	// Object is the object the place belongs to (Kind/ns/name), if any.
	Object string `json:"object,omitempty"`
	// Field is the field path inside Object, e.g. .spec.template.spec.containers[0].env[3].
	Field string `json:"field,omitempty"`
	// Exact is false when the field is not written in the source and the
	// position is its nearest written ancestor.
	Exact bool `json:"exact"`
}

func (l Location) String() string { return l.Position.String() }

// Related names another object involved in a finding and why.
type Related struct {
	Object   string             `json:"object"`
	Position *snapshot.Position `json:"position,omitempty"`
	Why      string             `json:"why"`
}

// PatchOp is one RFC 6902 JSON-patch operation.
type PatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// Fix is a machine-applicable remedy. Kind "json-patch" patches Target;
// kind "shell" runs Commands where Where says.
type Fix struct {
	Kind        string    `json:"kind"`
	Description string    `json:"description"`
	Target      string    `json:"target,omitempty"`
	Patch       []PatchOp `json:"patch,omitempty"`
	Commands    []string  `json:"commands,omitempty"`
	Where       string    `json:"where,omitempty"`
}

// Finding is one problem, with everything needed to trust and fix it.
type Finding struct {
	Code        string       `json:"code"`
	Name        string       `json:"name"`
	Severity    Severity     `json:"severity"`
	Message     string       `json:"message"`
	Subject     snapshot.Key `json:"subject"`
	Locations   []Location   `json:"locations"`
	Related     []Related    `json:"related,omitempty"`
	Evidence    []string     `json:"evidence"`
	Remedy      string       `json:"remedy"`
	Fix         *Fix         `json:"fix,omitempty"`
	Fingerprint string       `json:"fingerprint"`
	// Key distinguishes several findings of one code on one subject; it
	// feeds the fingerprint and is not shown.
	Key string `json:"-"`
}

func (f *Finding) computeFingerprint() {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s", f.Code, f.Subject.String(), f.Key)
	if f.Key == "" && len(f.Locations) > 0 {
		fmt.Fprintf(h, "\x00%s", f.Locations[0].Field)
	}
	f.Fingerprint = hex.EncodeToString(h.Sum(nil))[:16]
}

// LocationOf builds the location of field p of object o.
func LocationOf(o *snapshot.Object, p snapshot.Path) Location {
	loc := Location{Object: o.Ref(), Field: p.String()}
	if o.Locator != nil {
		loc.Position, loc.Exact = o.Locator.Locate(p)
	} else {
		loc.Position = snapshot.Position{File: o.Origin.File, Line: o.Origin.Line}
		if o.Origin.Live {
			loc.Position = snapshot.Position{File: "live:" + o.Ref()}
			loc.Exact = true
		}
	}
	return loc
}

// RelatedOf names object o as related, with its position.
func RelatedOf(o *snapshot.Object, why string) Related {
	pos := LocationOf(o, nil).Position
	return Related{Object: o.Ref(), Position: &pos, Why: why}
}
