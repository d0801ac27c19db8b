package istio

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/facts"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/version"
)

// runningProxy is the istio-proxy of an admitted pod.
type runningProxy struct {
	Pod   *snapshot.Object
	Image string
	Path  snapshot.Path
	V     version.V
	HasV  bool
}

// proxyOf returns the pod's istio-proxy container (a regular or, for
// native sidecars, an init container). ztunnel's container has the same
// name: it is not a sidecar and is left out.
func proxyOf(o *snapshot.Object) (runningProxy, bool) {
	if o.Key.GroupKind() != snapshot.KindPod || o.Labels["app"] == "ztunnel" {
		return runningProxy{}, false
	}
	spec, at, _, ok := snapshot.PodSpecOf(o) // the shared path of a pod's spec
	if !ok {
		return runningProxy{}, false
	}
	for c := range snapshot.Containers(spec, at) {
		if c.C.Name != ProxyContainer || c.C.Image == "" || c.C.Image == "auto" || strings.Contains(c.C.Image, "/ztunnel:") {
			continue
		}
		rp := runningProxy{Pod: o, Image: c.C.Image, Path: c.Path().Child("image")}
		rp.V, rp.HasV = version.FromImage(c.C.Image)
		return rp, true
	}
	return runningProxy{}, false
}

// runningProxies are the running sidecars, per namespace; shared by the
// checks that compare releases, which must not change them.
type runningProxies struct {
	byNS  map[string][]runningProxy
	order []string // the namespaces, sorted
}

// RunningProxiesFact finds every pod's istio-proxy and its release once,
// for the checks that compare them (MD110, MD111, MD112).
var RunningProxiesFact = &analysis.Fact{
	Name:  "running-proxies",
	Doc:   "The istio-proxy container of every pod and its release, per namespace.",
	Reads: proxyReads,
	Run: func(p *analysis.Pass) (any, error) {
		byNS := map[string][]runningProxy{}
		for _, o := range p.Snapshot.List(snapshot.KindPod) {
			if rp, ok := proxyOf(o); ok {
				byNS[o.Key.Namespace] = append(byNS[o.Key.Namespace], rp)
			}
		}
		return &runningProxies{byNS: byNS, order: sortedKeys(byNS)}, nil
	},
}

// proxiesByNamespace returns the running sidecars per namespace and the
// namespaces in order.
func proxiesByNamespace(p *analysis.Pass) (map[string][]runningProxy, []string) {
	rp := p.ResultOf(RunningProxiesFact).(*runningProxies)
	return rp.byNS, rp.order
}

// imageTag returns the tag of an image reference without a digest, and
// with the variant suffixes Istio publishes (-distroless, -debug) removed.
func imageTag(image, variant string) string {
	if i := strings.IndexByte(image, '@'); i >= 0 {
		image = image[:i]
	}
	tag := ""
	if c := strings.LastIndexByte(image, ':'); c > strings.LastIndexByte(image, '/') {
		tag = image[c+1:]
	}
	for _, v := range []string{variant, "distroless", "debug"} {
		if v != "" && v != "default" {
			tag = strings.TrimSuffix(tag, "-"+v)
		}
	}
	return tag
}

// sameRelease tells whether two proxy images are the same Istio release,
// whatever their registry or variant.
func sameRelease(a, b, variant string) bool {
	va, oka := version.FromImage(a)
	vb, okb := version.FromImage(b)
	if oka && okb {
		return va.Major == vb.Major && va.Minor == vb.Minor && va.Patch == vb.Patch && imageTag(a, variant) == imageTag(b, variant)
	}
	return imageTag(a, variant) == imageTag(b, variant)
}

// namespaceRevision is the revision whose injector serves a namespace, as
// the webhooks choose it; ok is false when the namespace is not injected
// by a namespace label.
func namespaceRevision(ns *snapshot.Object) (rev, label string, ok bool) {
	inj, hasInj := ns.Labels[NamespaceInjection]
	switch {
	case hasInj && inj == "enabled":
		return "", NamespaceInjection, true
	case hasInj:
		return "", "", false
	case ns.Labels[RevisionLabel] != "":
		return normRevision(ns.Labels[RevisionLabel]), RevisionLabel, true
	}
	return "", "", false
}

var proxyReads = map[schema.GroupKind][]string{snapshot.KindPod: {"spec.containers.name", "spec.containers.image", "spec.initContainers.name", "spec.initContainers.image"}}

func sampleLimit[T any](xs []T, n int) []T {
	if len(xs) > n {
		return xs[:n]
	}
	return xs
}

// injectorFor returns the injector values of the revision that would
// inject a running pod if it were re-created now (Injection.Decide: the
// webhook that selects it, e.g. a revision tag's, names the revision), and
// that decision; nil when it would not be injected or the input lacks that
// revision's values.
func injectorFor(s *snapshot.Snapshot, inj *Injection, o *snapshot.Object) (*injectorValues, Decision) {
	pod, ok := o.Typed.(*corev1.Pod)
	if !ok {
		return nil, Decision{}
	}
	d := inj.Decide(s, o.Key.Namespace, pod.Labels, pod.Annotations, pod.Spec.HostNetwork)
	if !d.Known || !d.Inject {
		return nil, d
	}
	return inj.Values[d.Revision], d
}

var proxyInjReads = mergeReads(proxyReads, injWorkloadReads())

// ProxyImageOutdated: pods still run the proxy of a previous install.
var ProxyImageOutdated = &analysis.Analyzer{
	Code:     "MD110",
	Name:     "proxy-image-outdated",
	Severity: analysis.Warning,
	Summary:  "Pods run an istio-proxy release other than the one the injector that selects them now injects: they were not restarted after an upgrade or revision change.",
	Doc:      doc("MD110"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindPod), analysis.Kinds(snapshot.KindConfigMap)},
	Reads:    proxyInjReads,
	Requires: []*analysis.Fact{InjectionFact, RunningProxiesFact},
	Run: func(p *analysis.Pass) error {
		s := p.Snapshot
		inj := p.ResultOf(InjectionFact).(*Injection)
		if len(inj.Values) == 0 {
			return nil
		}
		byNS, order := proxiesByNamespace(p)
		for _, name := range order {
			ns := s.Get(snapshot.KindNamespace, "", name)
			if ns == nil {
				continue
			}
			type group struct {
				v     *injectorValues
				d     Decision
				stale []runningProxy
			}
			groups := map[*injectorValues]*group{}
			var keys []*injectorValues
			for _, rp := range byNS[name] {
				if rp.Pod.Annotations["sidecar.istio.io/proxyImage"] != "" {
					continue // a pinned image overrides the injector's
				}
				v, d := injectorFor(s, inj, rp.Pod)
				if v == nil || sameRelease(rp.Image, v.ProxyImage(), v.Variant) {
					continue
				}
				if groups[v] == nil {
					groups[v] = &group{v: v, d: d}
					keys = append(keys, v)
				}
				groups[v].stale = append(groups[v].stale, rp)
			}
			for _, v := range keys {
				g := groups[v]
				want := v.ProxyImage()
				var locs []analysis.Location
				if _, label, ok := namespaceRevision(ns); ok {
					locs = append(locs, analysis.LocationOf(ns, snapshot.P("metadata", "labels", label)))
				}
				ev := []string{fmt.Sprintf("%s injects %s (global.hub/global.tag of its values)", v.Object.Ref(), want), "injection applies: " + g.d.Why}
				var names []string
				for _, rp := range g.stale {
					names = append(names, rp.Pod.Key.Name)
				}
				for _, rp := range sampleLimit(g.stale, 10) {
					locs = append(locs, analysis.LocationOf(rp.Pod, rp.Path))
					ev = append(ev, fmt.Sprintf("pod %s runs %s", rp.Pod.Key.Name, rp.Image))
				}
				key := name
				if v.Revision != "" {
					key += "@" + v.Revision
				}
				p.Report(analysis.Finding{
					Subject:   ns.Key,
					Message:   fmt.Sprintf("%d pod(s) of namespace %s run an istio-proxy other than the %s that %s injects now (%s): they were injected before an upgrade or revision change and keep the old proxy until restarted, with its bugs and a growing version skew to istiod.", len(g.stale), name, want, v.Object.Ref(), strings.Join(sampleLimit(names, 5), ", ")),
					Locations: locs,
					Evidence:  ev,
					Related:   []analysis.Related{analysis.RelatedOf(v.Object, "the injector's values")},
					Remedy:    fmt.Sprintf("Restart the workloads of these pods in namespace %s so that they are re-injected (`kubectl rollout restart deployment/<name> -n %s`, likewise for StatefulSets and DaemonSets).", name, name),
					Key:       key,
				})
			}
		}
		return nil
	},
}

// istiodFor returns the istiod that serves a revision: the one labelled
// with it, else the only istiod of the input.
func istiodFor(vers *facts.Versions, rev string) (facts.Component, bool) {
	for _, c := range vers.Istiod {
		r := c.Object.Labels[RevisionLabel]
		if r == "" {
			r = strings.TrimPrefix(strings.TrimPrefix(c.Object.Key.Name, "istiod"), "-")
		}
		if normRevision(r) == rev {
			return c, true
		}
	}
	if len(vers.Istiod) == 1 {
		return vers.Istiod[0], true
	}
	return facts.Component{}, false
}

// injectedRevision is the revision that injected a running pod, as the
// injector recorded it: the istio.io/rev annotation, else the revision of
// the sidecar.istio.io/status annotation, else an istio.io/rev label.
func injectedRevision(o *snapshot.Object) (string, bool) {
	if r, ok := o.Annotations[RevisionLabel]; ok {
		return normRevision(r), true
	}
	if st := o.Annotations[sidecarStatusAnnotation]; st != "" {
		var v struct {
			Revision *string `json:"revision"`
		}
		if json.Unmarshal([]byte(st), &v) == nil && v.Revision != nil {
			return normRevision(*v.Revision), true
		}
	}
	if r, ok := o.Labels[RevisionLabel]; ok {
		return normRevision(r), true
	}
	return "", false
}

// sidecarStatusAnnotation records what the injector added to a pod.
const sidecarStatusAnnotation = "sidecar.istio.io/status"

// podRevision is the revision that injected a pod (injectedRevision), else
// its namespace's.
func podRevision(s *snapshot.Snapshot, o *snapshot.Object) string {
	if r, ok := injectedRevision(o); ok {
		return r
	}
	if ns := s.Get(snapshot.KindNamespace, "", o.Key.Namespace); ns != nil {
		if r, _, ok := namespaceRevision(ns); ok {
			return r
		}
	}
	return ""
}

// ProxyControlPlaneSkew: proxies more than one minor release behind istiod,
// or ahead of it — outside Istio's supported skew.
var ProxyControlPlaneSkew = &analysis.Analyzer{
	Code:     "MD111",
	Name:     "proxy-control-plane-skew",
	Severity: analysis.Warning,
	Summary:  "Sidecars run an Istio release more than one minor version older than, or newer than, the istiod that configures them: a skew Istio does not support.",
	Doc:      doc("MD111"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindPod), analysis.Kinds(snapshot.KindDeployment)},
	Reads:    mergeReads(proxyReads, map[schema.GroupKind][]string{snapshot.KindNamespace: {}}),
	Requires: []*analysis.Fact{facts.ComponentVersions, RunningProxiesFact},
	Run: func(p *analysis.Pass) error {
		s := p.Snapshot
		vers := p.ResultOf(facts.ComponentVersions).(*facts.Versions)
		if len(vers.Istiod) == 0 {
			return nil
		}
		byNS, order := proxiesByNamespace(p)
		for _, name := range order {
			type group struct {
				cp   facts.Component
				dp   version.V
				pods []runningProxy
			}
			groups := map[string]*group{}
			var keys []string
			for _, rp := range byNS[name] {
				if !rp.HasV {
					continue
				}
				cp, ok := istiodFor(vers, podRevision(s, rp.Pod))
				if !ok || rp.V.Major != cp.Version.Major {
					continue
				}
				behind := cp.Version.Minor - rp.V.Minor
				if behind >= 0 && behind <= 1 {
					continue
				}
				k := fmt.Sprintf("%s|%d.%d", cp.Object.Ref(), rp.V.Major, rp.V.Minor)
				if groups[k] == nil {
					groups[k] = &group{cp: cp, dp: rp.V}
					keys = append(keys, k)
				}
				groups[k].pods = append(groups[k].pods, rp)
			}
			for _, k := range keys {
				g := groups[k]
				first := g.pods[0]
				var names []string
				for _, rp := range g.pods {
					names = append(names, rp.Pod.Key.Name)
				}
				how := fmt.Sprintf("%d minor releases behind", g.cp.Version.Minor-g.dp.Minor)
				if g.dp.Minor > g.cp.Version.Minor {
					how = "newer than"
				}
				p.Report(analysis.Finding{
					Subject:   first.Pod.Key,
					Message:   fmt.Sprintf("%d pod(s) of namespace %s (%s) run istio-proxy %d.%d, %s istiod %s (%s): Istio supports proxies at most one minor release older than istiod and never newer, so xDS configuration the proxy does not understand may be rejected or misapplied.", len(g.pods), name, strings.Join(sampleLimit(names, 5), ", "), g.dp.Major, g.dp.Minor, how, g.cp.Version, g.cp.Object.Ref()),
					Locations: []analysis.Location{analysis.LocationOf(first.Pod, first.Path)},
					Evidence:  []string{fmt.Sprintf("istiod %s is %s (%s)", g.cp.Object.Ref(), g.cp.Version, g.cp.From), fmt.Sprintf("pod %s runs %s", first.Pod.Key.Name, first.Image)},
					Related:   []analysis.Related{analysis.RelatedOf(g.cp.Object, "the control plane of these proxies")},
					Remedy:    fmt.Sprintf("Restart the workloads of namespace %s so that they get the proxy of the current istiod; when skipping minor releases, upgrade istiod one minor release at a time (canary revisions) and restart workloads in between.", name),
					Key:       k,
				})
			}
		}
		return nil
	},
}

// ProxyVersionsMixed: the proxies of one revision in one namespace run
// several releases; pods MD110 compares with their injector are left out.
var ProxyVersionsMixed = &analysis.Analyzer{
	Code:     "MD112",
	Name:     "proxy-versions-mixed",
	Severity: analysis.Info,
	Summary:  "The proxies of one revision in one namespace run several istio-proxy releases: an upgrade was rolled out to some workloads only.",
	Doc:      doc("MD112"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindPod)},
	Reads:    proxyInjReads,
	Requires: []*analysis.Fact{InjectionFact, RunningProxiesFact},
	Run: func(p *analysis.Pass) error {
		s := p.Snapshot
		inj := p.ResultOf(InjectionFact).(*Injection)
		byNS, order := proxiesByNamespace(p)
		for _, name := range order {
			// Revision → release → proxies: revisions (canary upgrades,
			// gateway canaries) are meant to run different releases.
			byRev := map[string]map[string][]runningProxy{}
			for _, rp := range byNS[name] {
				if !rp.HasV || rp.Pod.Annotations["sidecar.istio.io/proxyImage"] != "" {
					continue
				}
				if v, _ := injectorFor(s, inj, rp.Pod); v != nil {
					continue // MD110 compares it with what its injector injects
				}
				rev := podRevision(s, rp.Pod)
				if byRev[rev] == nil {
					byRev[rev] = map[string][]runningProxy{}
				}
				k := fmt.Sprintf("%d.%d.%d", rp.V.Major, rp.V.Minor, rp.V.Patch)
				byRev[rev][k] = append(byRev[rev][k], rp)
			}
			for _, rev := range sortedKeys(byRev) {
				byVer := byRev[rev]
				if len(byVer) < 2 {
					continue
				}
				vs := sortedKeys(byVer)
				sort.Slice(vs, func(i, j int) bool {
					return version.MustParse(vs[i]).Compare(version.MustParse(vs[j])) < 0
				})
				oldest := byVer[vs[0]][0]
				var ev []string
				what := "gateway"
				for _, v := range vs {
					var names []string
					for _, rp := range byVer[v] {
						names = append(names, rp.Pod.Key.Name)
						if c, gw := istioComponent(rp.Pod.Labels, rp.Pod.Annotations); !c || !gw {
							what = "proxy"
						}
					}
					ev = append(ev, fmt.Sprintf("istio-proxy %s: %s", v, strings.Join(sampleLimit(names, 5), ", ")))
				}
				revText, key := "the default revision", name
				if rev != "" {
					revText, key = "revision "+rev, name+"@"+rev
				}
				ev = append(ev, "all of "+revText+" (istio.io/rev annotation or label, sidecar.istio.io/status, or the namespace label)")
				p.Report(analysis.Finding{
					Subject:   oldest.Pod.Key,
					Message:   fmt.Sprintf("The %s pods of %s in namespace %s run %d istio-proxy releases (%s): workloads were not all restarted after an upgrade, so the oldest (%s, e.g. pod %s) keep old behaviour and bugs.", what, revText, name, len(vs), strings.Join(vs, ", "), vs[0], oldest.Pod.Key.Name),
					Locations: []analysis.Location{analysis.LocationOf(oldest.Pod, oldest.Path)},
					Evidence:  ev,
					Remedy:    fmt.Sprintf("Restart the workloads still on the older releases (`kubectl rollout restart deployment/<name> -n %s`) so that all run the injector's current proxy.", name),
					Key:       key,
				})
			}
		}
		return nil
	},
}
