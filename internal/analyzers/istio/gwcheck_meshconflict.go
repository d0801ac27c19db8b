package istio

import (
	"fmt"
	"sort"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// meshHostClaim is one mesh-bound VirtualService claiming a host.
type meshHostClaim struct {
	vs   *snapshot.Object
	host int // index in spec.hosts
}

// MeshVSHostConflict: several mesh-bound VirtualServices claim the same
// host for the same sidecars.
var MeshVSHostConflict = &analysis.Analyzer{
	Code:     "MD213",
	Name:     "mesh-vs-host-conflict",
	Severity: analysis.Error,
	Summary:  "Several VirtualServices bound to the mesh define the same host for the same namespaces; sidecars use only one of them and ignore the others' routes.",
	Doc:      doc("MD213"),
	Inputs:   []analysis.Input{vsInput},
	Reads:    reads(nil),
	Requires: []*analysis.Fact{RegistryFact},
	Run: func(p *analysis.Pass) error {
		r := p.ResultOf(RegistryFact).(*Registry)
		meshDefault := r.Mesh.Config.GetDefaultVirtualServiceExportTo()
		type scopedHost struct{ scope, fqdn string }
		idx := map[scopedHost][]meshHostClaim{}
		var keys []scopedHost
		for _, vs := range r.VirtualServices() {
			if !boundToMesh(vs) {
				continue
			}
			spec := virtualService(vs)
			scopes := vsScopes(spec.GetExportTo(), meshDefault, vs.Key.Namespace)
			for i, h := range spec.GetHosts() {
				fqdn := FQDN(h, vs.Key.Namespace)
				for _, s := range scopes {
					k := scopedHost{s, fqdn}
					list := idx[k]
					if n := len(list); n > 0 && list[n-1].vs == vs {
						continue // the same VirtualService names the host twice
					}
					if len(list) == 0 {
						keys = append(keys, k)
					}
					idx[k] = append(list, meshHostClaim{vs: vs, host: i})
				}
			}
		}
		// One conflict per host and set of VirtualServices; the namespaces
		// where it holds are gathered.
		type conflict struct {
			fqdn   string
			claims []meshHostClaim // winner first
			scopes []string
		}
		byKey := map[string]*conflict{}
		var order []string
		for _, k := range keys {
			var claims []meshHostClaim
			if k.scope == "*" {
				claims = append(claims, idx[k]...)
			} else {
				claims = append(claims, idx[k]...)
				claims = append(claims, idx[scopedHost{"*", k.fqdn}]...)
			}
			if len(claims) < 2 {
				continue
			}
			sortClaims(claims, meshDefault, k.scope)
			var refs []string
			for _, c := range claims {
				refs = append(refs, c.vs.Ref())
			}
			ck := k.fqdn + "\x00" + strings.Join(refs, "\x00")
			c := byKey[ck]
			if c == nil {
				c = &conflict{fqdn: k.fqdn, claims: claims}
				byKey[ck] = c
				order = append(order, ck)
			}
			c.scopes = append(c.scopes, k.scope)
		}
		for _, ck := range order {
			c := byKey[ck]
			win, losers := c.claims[0], c.claims[1:]
			var names []string
			for _, l := range losers {
				names = append(names, l.vs.Ref())
			}
			objs := make([]*snapshot.Object, len(c.claims))
			for i, cl := range c.claims {
				objs[i] = cl.vs
			}
			where := "sidecars in every namespace"
			if c.scopes[0] != "*" {
				sort.Strings(c.scopes)
				where = "sidecars in namespace(s) " + strings.Join(c.scopes, ", ")
			}
			why := orderText(objs)
			var sev analysis.Severity
			if s := c.scopes[0]; claimClass(win.vs, meshDefault, s) != claimClass(c.claims[1].vs, meshDefault, s) {
				// The winner is chosen by visibility, not by age: a
				// namespace overriding a shared VirtualService, which may
				// be deliberate.
				why = "sidecars take VirtualServices private to their namespace first, then those exported to it by name, then those exported to every namespace"
				sev = analysis.Warning
			}
			loser := losers[0]
			f := analysis.Finding{
				Severity:  sev,
				Subject:   loser.vs.Key,
				Message:   fmt.Sprintf("VirtualServices %s and %s are both bound to the mesh and both define host %s for %s: sidecars do not merge them, %s wins (%s) and the routes of %s for %s are ignored.", win.vs.Ref(), strings.Join(names, ", "), c.fqdn, where, win.vs.Ref(), why, strings.Join(names, ", "), c.fqdn),
				Locations: []analysis.Location{analysis.LocationOf(loser.vs, snapshot.P("spec", "hosts", loser.host))},
				Evidence: []string{
					fmt.Sprintf("%s spec.hosts[%d]: %s (exportTo %s)", win.vs.Ref(), win.host, virtualService(win.vs).GetHosts()[win.host], exportText(win.vs)),
				},
				Remedy:  overrideNote(sev) + fmt.Sprintf("Keep one mesh VirtualService per host: move the http routes of %s into %s (or make one a delegate of the other), or narrow exportTo so that they are not visible in the same namespaces.", strings.Join(names, ", "), win.vs.Ref()),
				Related: []analysis.Related{analysis.RelatedOf(win.vs, "the VirtualService sidecars use for this host")},
				Key:     c.fqdn + "@" + strings.Join(c.scopes, ","),
			}
			for _, l := range losers {
				f.Evidence = append(f.Evidence, fmt.Sprintf("%s spec.hosts[%d]: %s (exportTo %s)", l.vs.Ref(), l.host, virtualService(l.vs).GetHosts()[l.host], exportText(l.vs)))
				if l != loser {
					f.Related = append(f.Related, analysis.RelatedOf(l.vs, "another VirtualService ignored for this host"))
				}
			}
			p.Report(f)
		}
		return nil
	},
}

// claimClass is where a sidecar of namespace scope ("*": any namespace)
// finds a VirtualService: 0 private to its namespace, 1 exported to it by
// name, 2 public. istiod takes them in that order, each group oldest
// first, and the first one for a host wins.
func claimClass(vs *snapshot.Object, meshDefault []string, scope string) int {
	s := vsScopes(virtualService(vs).GetExportTo(), meshDefault, vs.Key.Namespace)
	switch {
	case scope == "*" || len(s) == 1 && s[0] == "*":
		return 2
	case vs.Key.Namespace == scope:
		return 0
	}
	return 1
}

// sortClaims orders the claims as a sidecar of namespace scope takes them.
func sortClaims(claims []meshHostClaim, meshDefault []string, scope string) {
	sort.SliceStable(claims, func(i, j int) bool {
		ci, cj := claimClass(claims[i].vs, meshDefault, scope), claimClass(claims[j].vs, meshDefault, scope)
		if ci != cj {
			return ci < cj
		}
		return olderFirst(claims[i].vs, claims[j].vs)
	})
}

func exportText(vs *snapshot.Object) string {
	exp := virtualService(vs).GetExportTo()
	if len(exp) == 0 {
		return "not set"
	}
	return "[" + strings.Join(exp, ", ") + "]"
}

func overrideNote(sev analysis.Severity) string {
	if sev == analysis.Warning {
		return "If the namespace-local VirtualService is a deliberate override, copy into it every route of the shared one it should keep. Otherwise: "
	}
	return ""
}
