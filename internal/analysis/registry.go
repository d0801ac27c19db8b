package analysis

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Registry holds every analyzer, by code and by name.
type Registry struct {
	all    []*Analyzer
	byCode map[string]*Analyzer
	byName map[string]*Analyzer
}

// NewRegistry validates the analyzers and indexes them. Duplicate codes or
// names are programming errors.
func NewRegistry(analyzers ...*Analyzer) (*Registry, error) {
	r := &Registry{byCode: map[string]*Analyzer{}, byName: map[string]*Analyzer{}}
	for _, a := range analyzers {
		if err := a.Validate(); err != nil {
			return nil, err
		}
		if r.byCode[a.Code] != nil || r.byName[a.Name] != nil {
			return nil, fmt.Errorf("analyzer %s (%s) registered twice", a.Code, a.Name)
		}
		r.byCode[a.Code] = a
		r.byName[a.Name] = a
		r.all = append(r.all, a)
	}
	sort.Slice(r.all, func(i, j int) bool { return r.all[i].Code < r.all[j].Code })
	return r, nil
}

// All returns every analyzer, by code.
func (r *Registry) All() []*Analyzer { return r.all }

// Lookup finds an analyzer by code (case-insensitive) or name.
func (r *Registry) Lookup(s string) *Analyzer {
	if a := r.byCode[strings.ToUpper(s)]; a != nil {
		return a
	}
	return r.byName[strings.ToLower(s)]
}

// ManagedFieldsKinds is the set of kinds whose managedFields any of the
// analyzers reads.
func ManagedFieldsKinds(as []*Analyzer) map[schema.GroupKind]bool {
	out := map[schema.GroupKind]bool{}
	for _, a := range as {
		for _, k := range a.ManagedFields {
			out[k] = true
		}
	}
	return out
}

// Projections returns, per kind, the fields that the analyzers and every
// fact they require read, or ok=false when any of them has not declared
// its reads (then everything must be decoded).
func Projections(as []*Analyzer) (reads map[schema.GroupKind][]string, ok bool) {
	reads = map[schema.GroupKind][]string{}
	add := func(r map[schema.GroupKind][]string) bool {
		if r == nil {
			return false
		}
		for gk, paths := range r {
			reads[gk] = append(reads[gk], paths...)
		}
		return true
	}
	for _, a := range as {
		if !add(a.Reads) {
			return nil, false
		}
	}
	for _, f := range factsOf(as) {
		if !add(f.Reads) {
			return nil, false
		}
	}
	for gk, paths := range reads {
		slices.Sort(paths)
		reads[gk] = slices.Compact(paths) // many checks read the same fields
	}
	return reads, true
}

// Select resolves --check values: codes, names, or globs over either
// (MD1*, env-*). Each value must match at least one analyzer; an unknown one
// is an error, never "run everything".
func (r *Registry) Select(patterns []string) ([]*Analyzer, error) {
	if len(patterns) == 0 {
		return r.all, nil
	}
	chosen := map[*Analyzer]bool{}
	for _, raw := range patterns {
		for _, pat := range strings.Split(raw, ",") {
			pat = strings.TrimSpace(pat)
			if pat == "" {
				continue
			}
			n := 0
			for _, a := range r.all {
				okCode, err := path.Match(strings.ToUpper(pat), a.Code)
				if err != nil {
					return nil, fmt.Errorf("--check %q: bad glob: %w", pat, err)
				}
				okName, _ := path.Match(strings.ToLower(pat), a.Name)
				if okCode || okName {
					chosen[a] = true
					n++
				}
			}
			if n == 0 {
				return nil, fmt.Errorf("--check %q matches no check (see 'meshdoctor codes')", pat)
			}
		}
	}
	var out []*Analyzer
	for _, a := range r.all {
		if chosen[a] {
			out = append(out, a)
		}
	}
	return out, nil
}

// NeededKinds returns every kind the analyzers and the facts they require
// name in their Inputs, Reads or ManagedFields: what a live source lists.
func NeededKinds(as []*Analyzer) []schema.GroupKind {
	set := map[schema.GroupKind]bool{}
	addInputs := func(ins []Input) {
		for _, in := range ins {
			for _, k := range in.Kinds {
				set[k] = true
			}
		}
	}
	addReads := func(r map[schema.GroupKind][]string) {
		for k := range r {
			set[k] = true
		}
	}
	for _, a := range as {
		addInputs(a.Inputs)
		addReads(a.Reads)
		for _, k := range a.ManagedFields {
			set[k] = true
		}
	}
	for _, f := range factsOf(as) {
		addInputs(f.Inputs)
		addReads(f.Reads)
	}
	out := make([]schema.GroupKind, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}
