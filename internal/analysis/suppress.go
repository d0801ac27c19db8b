package analysis

import (
	"fmt"
	"path"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// SuppressAnnotation on an object lists codes or names (comma-separated, "*"
// for all) whose findings about that object are hidden.
const SuppressAnnotation = "meshdoctor.io/suppress"

// Suppression hides findings of one analyzer, optionally only for subjects
// matching a Kind/namespace/name glob.
type Suppression struct {
	Code    string
	Subject string // glob; empty matches every subject
}

// ParseSuppression reads CODE|name[=Kind/ns/name glob], resolving names
// against the registry. Unknown codes are a usage error.
func ParseSuppression(reg *Registry, s string) (Suppression, error) {
	sel, subj, _ := strings.Cut(s, "=")
	a := reg.Lookup(sel)
	if a == nil {
		return Suppression{}, fmt.Errorf("--suppress %q: no check with code or name %q (see 'meshdoctor codes')", s, sel)
	}
	if subj != "" {
		if _, err := path.Match(subj, ""); err != nil {
			return Suppression{}, fmt.Errorf("--suppress %q: bad glob: %w", s, err)
		}
	}
	return Suppression{Code: a.Code, Subject: subj}, nil
}

func suppressed(snap *snapshot.Snapshot, sups []Suppression, f Finding) bool {
	subj := f.Subject.String()
	for _, s := range sups {
		if s.Code != f.Code {
			continue
		}
		if s.Subject == "" {
			return true
		}
		if ok, _ := path.Match(s.Subject, subj); ok {
			return true
		}
	}
	if snap == nil {
		return false
	}
	o := snap.Get(f.Subject.GroupKind(), f.Subject.Namespace, f.Subject.Name)
	if o == nil {
		return false
	}
	list, ok := o.Annotations[SuppressAnnotation]
	if !ok {
		return false
	}
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "*" || item == f.Code || item == f.Name {
			return true
		}
	}
	return false
}
