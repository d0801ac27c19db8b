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

	// pending is the object whose source still has to be searched for
	// Field (at path): LocationOf defers that search to Report, because
	// checks build locations for candidates they may never report, and
	// finding a field's line can mean re-reading the object's document.
	pending *snapshot.Object
	path    snapshot.Path
}

func (l Location) String() string { return l.Position.String() }

// Related names another object involved in a finding and why.
type Related struct {
	Object   string             `json:"object"`
	Position *snapshot.Position `json:"position,omitempty"`
	Why      string             `json:"why"`

	pending *snapshot.Object // see Location.pending
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

// LocationOf builds the location of field p of object o. Its position is
// found when the finding is reported (see Location.pending).
func LocationOf(o *snapshot.Object, p snapshot.Path) Location {
	return Location{Object: o.Ref(), Field: p.String(), pending: o, path: p}
}

// PositionOf finds where field p of object o is written now; exact is
// false when only an ancestor of p is written.
func PositionOf(o *snapshot.Object, p snapshot.Path) (pos snapshot.Position, exact bool) {
	if o.Locator != nil {
		return o.Locator.Locate(p)
	}
	if o.Origin.Live {
		return snapshot.Position{File: "live:" + o.Ref()}, true
	}
	return snapshot.Position{File: o.Origin.File, Line: o.Origin.Line}, false
}

// RelatedOf names object o as related, with its position (found when the
// finding is reported).
func RelatedOf(o *snapshot.Object, why string) Related {
	return Related{Object: o.Ref(), Why: why, pending: o}
}

// resolve finds the positions LocationOf and RelatedOf deferred. It copies
// the slices first: a check may share one slice between findings.
func (f *Finding) resolve() {
	locs := f.Locations
	f.Locations = nil
	for _, l := range locs {
		if l.pending != nil {
			l.Position, l.Exact = PositionOf(l.pending, l.path)
			l.pending, l.path = nil, nil
		}
		f.Locations = append(f.Locations, l)
	}
	if f.Related == nil {
		return
	}
	rel := f.Related
	f.Related = make([]Related, 0, len(rel))
	for _, r := range rel {
		if r.pending != nil {
			pos, _ := PositionOf(r.pending, nil)
			r.Position, r.pending = &pos, nil
		}
		f.Related = append(f.Related, r)
	}
}
