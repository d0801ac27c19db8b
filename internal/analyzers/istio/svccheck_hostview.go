package istio

import (
	"strconv"
	"strings"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	appsv1 "k8s.io/api/apps/v1"

	"github.com/meshdoctor/meshdoctor/internal/analyzers/facts"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/version"
)

// eachWildcardCover calls fn with every wildcard host that covers h, most
// specific first: "*" + each dot-suffix of h (of h without its "*" when h
// is itself a wildcard), then "*". It stops when fn returns false. A
// lookup by these keys replaces a scan of all wildcard hosts: the cost is
// the number of labels in h.
func eachWildcardCover(h string, fn func(w string) bool) {
	n := h
	if wildcarded(h) {
		n = h[1:]
	}
	for i := 0; i < len(n); i++ {
		if n[i] == '.' && !fn("*"+n[i:]) {
			return
		}
	}
	fn("*")
}

// ---- DestinationRule selection ----

// drSet holds DestinationRules by host, exact and wildcard apart.
type drSet struct {
	exact map[string][]*DestRule
	wild  map[string][]*DestRule
}

func (s *drSet) add(d *DestRule) {
	m := &s.exact
	if wildcarded(d.Host) {
		m = &s.wild
	}
	if *m == nil {
		*m = map[string][]*DestRule{}
	}
	(*m)[d.Host] = append((*m)[d.Host], d)
}

// match is Istio's MostSpecificHostMatch: the rules of the most specific
// host covering h (an exact host first, then the longest wildcard).
func (s *drSet) match(h string) []*DestRule {
	if s == nil {
		return nil
	}
	if rs := s.exact[h]; len(rs) > 0 && !wildcarded(h) {
		return rs
	}
	var out []*DestRule
	eachWildcardCover(h, func(w string) bool {
		out = s.wild[w]
		return len(out) == 0
	})
	return out
}

// drIndex answers which DestinationRules a client namespace uses for a
// host, as istiod's PushContext.destinationRule does: the most specific
// rule of the client's own namespace; else the one of the namespace that
// defines the service, if exported to the client; else the one of the
// root namespace, if exported to the client. (meshConfig's
// defaultDestinationRuleExportTo is not considered: "*" is assumed.)
type drIndex struct {
	root     string
	local    map[string]*drSet // namespace → its rules visible to itself
	exported map[string]*drSet // namespace → its rules exported beyond it
	all      drSet             // every rule, to find the namespaces that have one for a host
}

func newDRIndex(r *Registry) *drIndex {
	x := &drIndex{root: r.Mesh.RootNamespace(), local: map[string]*drSet{}, exported: map[string]*drSet{}}
	for _, o := range r.Snapshot.List(snapshot.KindDestinationRule) {
		d := r.ruleByObject[o]
		if d == nil || d.Host == "" {
			continue
		}
		ns := o.Key.Namespace
		x.all.add(d)
		if visibleTo(d.Spec.GetExportTo(), ns, ns) {
			if x.local[ns] == nil {
				x.local[ns] = &drSet{}
			}
			x.local[ns].add(d)
		}
		if exportedBeyond(d.Spec.GetExportTo(), ns) {
			if x.exported[ns] == nil {
				x.exported[ns] = &drSet{}
			}
			x.exported[ns].add(d)
		}
	}
	return x
}

// exportedBeyond tells whether exportTo makes an object of namespace ns
// visible to some other namespace.
func exportedBeyond(exportTo []string, ns string) bool {
	if len(exportTo) == 0 {
		return true
	}
	for _, e := range exportTo {
		if e != "." && e != "~" && e != ns {
			return true
		}
	}
	return false
}

// forClient returns the DestinationRules (all of one namespace, same host)
// that sidecars in namespace client apply to host h of a service defined
// in namespace svcNS. client "" stands for any namespace that has no rule
// of its own and is not named in any exportTo.
func (x *drIndex) forClient(h, client, svcNS string) []*DestRule {
	if rs := x.local[client].match(h); len(rs) > 0 {
		return rs
	}
	for _, ns := range []string{svcNS, x.root} {
		rs := x.exported[ns].match(h)
		for _, d := range rs {
			if visibleTo(d.Spec.GetExportTo(), ns, client) {
				return rs
			}
		}
	}
	return nil
}

// clientNamespaces returns the namespaces (in input order) whose choice of
// DestinationRule for host h may differ from that of other namespaces:
// those with a rule for h (or a covering wildcard) and those such rules
// name in exportTo.
func (x *drIndex) clientNamespaces(h string) []string {
	var rules []*DestRule
	if !wildcarded(h) {
		rules = append(rules, x.all.exact[h]...)
	} else {
		rules = append(rules, x.all.wild[h]...)
	}
	eachWildcardCover(h, func(w string) bool {
		if w != h {
			rules = append(rules, x.all.wild[w]...)
		}
		return true
	})
	seen := map[string]bool{}
	var out []string
	add := func(ns string) {
		if ns != "" && ns != "." && ns != "*" && ns != "~" && !seen[ns] {
			seen[ns] = true
			out = append(out, ns)
		}
	}
	for _, d := range rules {
		add(d.Object.Key.Namespace)
		for _, e := range d.Spec.GetExportTo() {
			add(e)
		}
	}
	return out
}

// ---- ServiceEntry selection ----

// seHost is the ServiceEntries that define one host (the exact string),
// indexed by who sees them. A sidecar that sees several entries for a host
// uses those of its own namespace; without one, those of one other
// namespace (the oldest entry's; entries of one namespace are merged).
type seHost struct {
	all      []*Entry            // exported to every namespace
	own      map[string][]*Entry // namespace → its entries it sees itself
	explicit map[string][]*Entry // namespace → other namespaces' entries exported to it by name
	viewers  []string            // the namespaces of own and explicit, in input order
}

// seesEntry tells whether e is among the entries namespace ns chooses
// among, without building the list.
func (h *seHost) seesEntry(ns string, e *Entry, vis exportSet) bool {
	if len(h.own[ns]) > 0 {
		return e.Object.Key.Namespace == ns && (vis.all || vis.ns[ns])
	}
	return vis.all || vis.ns[ns]
}

// seIndex indexes ServiceEntries by host string.
type seIndex struct {
	hosts map[string]*seHost
	vis   map[*Entry]exportSet
	order []*Entry
}

func newSEIndex(r *Registry) *seIndex {
	x := &seIndex{hosts: map[string]*seHost{}, vis: map[*Entry]exportSet{}}
	for _, o := range r.Snapshot.List(snapshot.KindServiceEntry) {
		se, ok := o.Typed.(*networkingv1.ServiceEntry)
		if !ok {
			continue
		}
		e := &Entry{Object: o, Spec: &se.Spec}
		ns := o.Key.Namespace
		vis := exportsOf(se.Spec.GetExportTo(), ns)
		x.vis[e] = vis
		x.order = append(x.order, e)
		for _, h := range se.Spec.GetHosts() {
			sh := x.hosts[h]
			if sh == nil {
				sh = &seHost{}
				x.hosts[h] = sh
			}
			sh.addEntry(e, ns, vis)
		}
	}
	return x
}

func (h *seHost) addEntry(e *Entry, ns string, vis exportSet) {
	seen := func(v string) bool { return len(h.own[v]) > 0 || len(h.explicit[v]) > 0 }
	if vis.all || vis.ns[ns] {
		if !seen(ns) {
			h.viewers = append(h.viewers, ns)
		}
		if h.own == nil {
			h.own = map[string][]*Entry{}
		}
		h.own[ns] = append(h.own[ns], e)
	}
	if vis.all {
		h.all = append(h.all, e)
		return
	}
	for _, v := range vis.sorted() {
		if v == ns {
			continue
		}
		if !seen(v) {
			h.viewers = append(h.viewers, v)
		}
		if h.explicit == nil {
			h.explicit = map[string][]*Entry{}
		}
		h.explicit[v] = append(h.explicit[v], e)
	}
}

// ---- istiod settings ----

// istiodInfo is an istiod Deployment, its version if known, and the
// literal values of its discovery container's environment.
type istiodInfo struct {
	obj     *snapshot.Object
	version version.V
	known   bool
	env     map[string]string
}

func istiods(s *snapshot.Snapshot, vers *facts.Versions) []istiodInfo {
	var out []istiodInfo
	for _, o := range s.List(snapshot.KindDeployment) {
		d, ok := o.Typed.(*appsv1.Deployment)
		if !ok || !facts.IsIstiod(o) {
			continue
		}
		info := istiodInfo{obj: o, env: map[string]string{}}
		for _, c := range vers.Istiod {
			if c.Object == o {
				info.version, info.known = c.Version, true
			}
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			if c.Name != "discovery" && len(d.Spec.Template.Spec.Containers) > 1 {
				continue
			}
			for _, e := range c.Env {
				if e.ValueFrom == nil {
					info.env[e.Name] = e.Value
				}
			}
		}
		out = append(out, info)
	}
	return out
}

// envBool reads an istiod boolean flag as Go's strconv.ParseBool does.
func (i istiodInfo) envBool(name string) (value, set bool) {
	v, ok := i.env[name]
	if !ok {
		return false, false
	}
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	return b, err == nil
}
