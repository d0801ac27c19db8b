package proxylog

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/meshdoctor/meshdoctor/internal/accesslog"
	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/facts"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/istio"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// HTTP10Refused joins 426 low_version refusals to the proxy that answered
// them and to what would let that proxy accept HTTP/1.0.
var HTTP10Refused = &analysis.Analyzer{
	Code:     "MD611",
	Name:     "log-426-http10-not-enabled",
	Severity: analysis.Error,
	Summary:  "A sidecar or gateway answered HTTP/1.0 requests with 426 Upgrade Required (low_version), and nothing in the input enables HTTP/1.0 for that proxy: Istio sets accept_http_10 only when the proxy metadata ISTIO_META_HTTP10 is exactly \"1\" (istio-proxy env, proxy.istio.io/config, meshConfig.defaultConfig.proxyMetadata) or istiod runs with PILOT_HTTP10.",
	Doc:      doc("MD611"),
	Inputs:   []analysis.Input{analysis.AccessLogGroups(), analysis.Kinds(snapshot.KindPod)},
	Reads: map[schema.GroupKind][]string{
		snapshot.KindPod: {"status.podIP", "status.podIPs", "spec.hostNetwork", "spec.containers.name", "spec.containers.env", "spec.containers.ports", "spec.initContainers.name", "spec.initContainers.env"},
		// The controllers' pod templates carry the annotation to patch,
		// a gateway's istio-proxy env, and istiod's PILOT_HTTP10.
		snapshot.KindDeployment:  {"spec.template.metadata", "spec.template.spec.containers.name", "spec.template.spec.containers.env"},
		snapshot.KindStatefulSet: {"spec.template.metadata", "spec.template.spec.containers.name", "spec.template.spec.containers.env"},
		snapshot.KindDaemonSet:   {"spec.template.metadata", "spec.template.spec.containers.name", "spec.template.spec.containers.env"},
		snapshot.KindService:     {"spec.clusterIP", "spec.clusterIPs"},
	},
	Requires: []*analysis.Fact{istio.RegistryFact},
	Run:      runHTTP10,
}

const (
	// http10Key is the proxy metadata Istio reads (NodeMetadata.HTTP10,
	// compared with "1" by pilot's enableHTTP10).
	http10Key = "ISTIO_META_HTTP10"
	// pilotHTTP10 is istiod's switch for every proxy (features.HTTP10).
	pilotHTTP10 = "PILOT_HTTP10"
	// proxyConfigAnnotation overrides the mesh's defaultConfig per pod.
	proxyConfigAnnotation = "proxy.istio.io/config"
)

// settingKind is where an HTTP/1.0 setting lives, in the order a wrong
// value is best fixed at: a controller's template and the mesh are the
// sources, the pod's own annotation and env were derived from them.
type settingKind int

const (
	annTemplate settingKind = iota
	envTemplate
	meshDefault
	annPod
	envPod
	istiodEnv
)

// http10Setting is one place that can enable HTTP/1.0 for a proxy.
type http10Setting struct {
	kind  settingKind
	where string
	obj   *snapshot.Object // nil: --mesh-config, or not in the input
	at    snapshot.Path
	value string
	set   bool
	on    bool
}

func (s http10Setting) String() string {
	if !s.set {
		return s.where + ": not set"
	}
	return fmt.Sprintf("%s: %q", s.where, s.value)
}

// metadataSetting reads ISTIO_META_HTTP10 from a proxy.istio.io/config
// annotation. Istio compares the string with "1"; an unquoted YAML 1 is
// read as "1" here, so that a value Istio might accept is never blamed.
func metadataSetting(kind settingKind, where string, o *snapshot.Object, at snapshot.Path, annotation string) http10Setting {
	s := http10Setting{kind: kind, where: where + " " + proxyConfigAnnotation + " proxyMetadata." + http10Key, obj: o, at: at}
	var pc struct {
		ProxyMetadata map[string]any `json:"proxyMetadata"`
	}
	if annotation == "" || yaml.Unmarshal([]byte(annotation), &pc) != nil {
		return s
	}
	if v, ok := pc.ProxyMetadata[http10Key]; ok {
		s.value, s.set = fmt.Sprint(v), true
		s.on = s.value == "1"
	}
	return s
}

// envSetting reads a variable from a container's env; a value taken from
// elsewhere (valueFrom) is unknown and counted as on, so that it is never
// blamed.
func envSetting(kind settingKind, where string, o *snapshot.Object, ct snapshot.Container, name string, on func(string) bool) (http10Setting, bool) {
	for j, e := range ct.C.Env {
		if e.Name != name {
			continue
		}
		s := http10Setting{kind: kind, where: where, obj: o, at: ct.Path().Child("env", j, "value"), value: e.Value, set: true}
		if e.ValueFrom != nil {
			s.value, s.at, s.on = "(valueFrom)", ct.Path().Child("env", j), true
		} else {
			s.on = on(e.Value)
		}
		return s, true
	}
	return http10Setting{}, false
}

func isOne(v string) bool { return v == "1" }

// boolTrue is how istiod parses its boolean environment (strconv.ParseBool).
func boolTrue(v string) bool { b, _ := strconv.ParseBool(v); return b }

// controllerOf finds the Deployment, StatefulSet or DaemonSet that owns a
// pod, through its ReplicaSet (the object when present, else the
// pod-template-hash suffix of its name).
func controllerOf(s *snapshot.Snapshot, pod *snapshot.Object) *snapshot.Object {
	p, ok := pod.Typed.(*corev1.Pod)
	if !ok {
		return nil
	}
	ns := pod.Key.Namespace
	for _, ref := range p.OwnerReferences {
		switch ref.Kind {
		case "StatefulSet":
			return s.Get(snapshot.KindStatefulSet, ns, ref.Name)
		case "DaemonSet":
			return s.Get(snapshot.KindDaemonSet, ns, ref.Name)
		case "ReplicaSet":
			if rs := s.Get(snapshot.KindReplicaSet, ns, ref.Name); rs != nil {
				if r, ok := rs.Typed.(*appsv1.ReplicaSet); ok {
					for _, o := range r.OwnerReferences {
						if o.Kind == "Deployment" {
							return s.Get(snapshot.KindDeployment, ns, o.Name)
						}
					}
				}
				return nil
			}
			if h := pod.Labels["pod-template-hash"]; h != "" && strings.HasSuffix(ref.Name, "-"+h) {
				return s.Get(snapshot.KindDeployment, ns, strings.TrimSuffix(ref.Name, "-"+h))
			}
		}
	}
	return nil
}

// templateMeta is the path of an object's pod metadata: the pod's own, or
// its template's.
func templateMeta(o *snapshot.Object) snapshot.Path {
	_, at, _, ok := snapshot.PodSpecOf(o)
	if !ok || len(at) < 1 {
		return snapshot.P("metadata")
	}
	return append(at[:len(at)-1:len(at)-1], "metadata")
}

// http10View is what the input says of HTTP/1.0 for one proxy.
type http10View struct {
	settings []http10Setting
	// owner is the controller whose pod template a fix goes into (nil: a
	// bare pod); proxyInTemplate: that template names the istio-proxy
	// container itself (gateways), so an env var there reaches the proxy.
	owner           *snapshot.Object
	proxyInTemplate bool
	annotation      string // the proxy.istio.io/config the fix must extend
}

// enabled tells whether any setting turns HTTP/1.0 on for the proxy. A
// proxy.istio.io/config annotation that sets the key overrides the mesh's
// value (pkg/config/mesh MergeProxyConfig merges proxyMetadata, the
// annotation's keys winning), so the mesh counts only where no annotation
// sets it. Any other setting that turns it on is taken at its word: a
// template fixed but not yet rolled out is not reported.
func (v http10View) enabled() bool {
	annotated, mesh := false, false
	for _, s := range v.settings {
		switch {
		case s.kind == meshDefault:
			mesh = s.on
		case s.on:
			return true
		case s.set && (s.kind == annPod || s.kind == annTemplate):
			annotated = true
		}
	}
	return mesh && !annotated
}

// wrong is the setting of ISTIO_META_HTTP10 that tries to enable HTTP/1.0
// with a value Istio does not read as enabled ("true", "yes", " 1"): a
// deliberate "0" or PILOT_HTTP10=false is a choice, not a slip.
func (v http10View) wrong() (http10Setting, bool) {
	var best http10Setting
	found := false
	for _, s := range v.settings {
		if !s.set || s.on || s.obj == nil || s.kind == istiodEnv || !meantOn(s.value) {
			continue
		}
		if !found || s.kind < best.kind {
			best, found = s, true
		}
	}
	return best, found
}

func meantOn(v string) bool {
	v = strings.TrimSpace(v)
	return v == "1" || boolTrue(v) || strings.EqualFold(v, "yes") || strings.EqualFold(v, "on") || strings.EqualFold(v, "enabled")
}

// http10Of gathers every place that enables HTTP/1.0 for a pod's proxy,
// as pilot reads it (features.HTTP10 || enableHTTP10(node.Metadata.HTTP10)
// on sidecar inbound and outbound, gateway and waypoint listeners): the
// istio-proxy env (ISTIO_META_* variables become node metadata), the pod's
// and its controller's proxy.istio.io/config annotations and the mesh's
// defaultConfig.proxyMetadata (the injector turns proxyMetadata into that
// env), and istiod's PILOT_HTTP10.
func http10Of(s *snapshot.Snapshot, mesh *facts.Mesh, pod *snapshot.Object) http10View {
	var v http10View
	if p, ok := pod.Typed.(*corev1.Pod); ok {
		found := false
		for ct := range snapshot.Containers(&p.Spec, snapshot.P("spec")) {
			if ct.C.Name != istio.ProxyContainer {
				continue
			}
			if st, ok := envSetting(envPod, pod.Ref()+" istio-proxy env "+http10Key, pod, ct, http10Key, isOne); ok {
				v.settings = append(v.settings, st)
				found = true
			}
		}
		if !found {
			v.settings = append(v.settings, http10Setting{kind: envPod, where: pod.Ref() + " istio-proxy env " + http10Key})
		}
	}
	ann := pod.Annotations[proxyConfigAnnotation]
	v.annotation = ann
	v.settings = append(v.settings, metadataSetting(annPod, pod.Ref(), pod, snapshot.P("metadata", "annotations", proxyConfigAnnotation), ann))
	if o := controllerOf(s, pod); o != nil {
		v.owner = o
		tmpl := snapshot.PodAnnotationsOf(o)[proxyConfigAnnotation]
		v.annotation = tmpl
		v.settings = append(v.settings, metadataSetting(annTemplate, o.Ref()+" pod template", o, templateMeta(o).Child("annotations", proxyConfigAnnotation), tmpl))
		if spec, at, _, ok := snapshot.PodSpecOf(o); ok {
			for ct := range snapshot.Containers(spec, at) {
				if ct.C.Name != istio.ProxyContainer {
					continue
				}
				v.proxyInTemplate = true
				if st, ok := envSetting(envTemplate, o.Ref()+" pod template istio-proxy env "+http10Key, o, ct, http10Key, isOne); ok {
					v.settings = append(v.settings, st)
				}
			}
		}
	}
	md := http10Setting{kind: meshDefault, where: "meshConfig.defaultConfig.proxyMetadata." + http10Key + " (" + mesh.Source + ")"}
	if mesh.ConfigMap != nil {
		md.obj, md.at = mesh.ConfigMap, snapshot.P("data", "mesh")
	}
	if val, ok := mesh.Config.GetDefaultConfig().GetProxyMetadata()[http10Key]; ok {
		md.value, md.set, md.on = val, true, val == "1"
	}
	v.settings = append(v.settings, md)
	istiod := false
	for _, o := range s.List(snapshot.KindDeployment) {
		if !facts.IsIstiod(o) {
			continue
		}
		istiod = true
		spec, at, _, ok := snapshot.PodSpecOf(o)
		if !ok {
			continue
		}
		for ct := range snapshot.Containers(spec, at) {
			if st, ok := envSetting(istiodEnv, o.Ref()+" env "+pilotHTTP10, o, ct, pilotHTTP10, boolTrue); ok {
				v.settings = append(v.settings, st)
			}
		}
	}
	if !istiod {
		v.settings = append(v.settings, http10Setting{kind: istiodEnv, where: "istiod env " + pilotHTTP10 + " (istiod is not in the input)"})
	}
	return v
}

func runHTTP10(p *analysis.Pass) error {
	r := p.ResultOf(istio.RegistryFact).(*istio.Registry)
	al := p.Snapshot.AccessLogs()
	var byIP map[netip.Addr]*snapshot.Object
	for i := range al.Summary.Groups {
		g := &al.Summary.Groups[i]
		if g.Key.Code != 426 || g.Key.Details != "low_version" {
			continue
		}
		rec, ok := sampleRecord(g)
		if !ok {
			continue
		}
		if byIP == nil {
			byIP = podsByIP(p.Snapshot)
		}
		px, ok := findProxy(p.Snapshot, al, g, rec, byIP, false)
		if !ok {
			p.NotChecked("426 low_version at %s: the proxy that answered is not in the input (no bundle log path or kubectl --prefix, and no single meshed Pod with the line's addresses)", g.First)
			continue
		}
		v := http10Of(p.Snapshot, r.Mesh, px.pod)
		if v.enabled() {
			continue // enabled now: the refusals predate it, or the pods await a restart
		}
		reportHTTP10(p, r, al, g, rec, px, v)
	}
	return nil
}

func reportHTTP10(p *analysis.Pass, r *istio.Registry, al *snapshot.AccessLogs, g *accesslog.Group, rec *accesslog.Record, px logProxy, v http10View) {
	n := failures(g)
	f := logFinding(g, al.Summary.Matched)
	target := px.pod
	if v.owner != nil {
		target = v.owner
	}
	f.Subject = target.Key
	bad, isBad := v.wrong()
	switch {
	case isBad:
		f.Locations = []analysis.Location{analysis.LocationOf(bad.obj, bad.at)}
	case v.owner != nil && v.annotation != "":
		f.Locations = []analysis.Location{analysis.LocationOf(v.owner, templateMeta(v.owner).Child("annotations", proxyConfigAnnotation))}
	default:
		f.Locations = []analysis.Location{analysis.LocationOf(target, templateMeta(target))}
	}
	f.Locations = append(f.Locations, logLocation(g, al))
	if target != px.pod {
		f.Related = append(f.Related, analysis.RelatedOf(px.pod, "the pod whose proxy answered 426"))
	}
	gws := gatewaysOf(r, px.pod)
	for _, gw := range gws {
		f.Related = append(f.Related, analysis.RelatedOf(gw.Object, "a Gateway served by that proxy"))
	}
	// The Service port the requests were addressed to, for the TCP
	// alternative.
	var port *svcPort
	if px.inbound {
		if ps := inboundPorts(p.Snapshot, px.pod, int(px.local.Port())); len(ps) > 0 {
			port = &ps[0]
		}
	} else if sp, ok := vipPort(p.Snapshot, px.local); ok {
		port = &sp
	}
	if port != nil {
		f.Related = append(f.Related, analysis.RelatedOf(port.obj, fmt.Sprintf("the Service whose port %d (%s) the requests were sent to", port.port().Port, orDash(port.port().Name))))
	}
	proto := rec.String(accesslog.FieldProtocol)
	f.Evidence = append(f.Evidence, fmt.Sprintf("the proxy: %s (found as %s); request %s → %s, protocol %s", px.pod.Ref(), px.how, addrText(px.remote), addrText(px.local), orDash(proto)))
	for _, s := range v.settings {
		f.Evidence = append(f.Evidence, s.String())
	}
	var who string
	switch {
	case len(gws) > 0 || px.inbound && v.proxyInTemplate:
		who = fmt.Sprintf("The gateway %s answered %s from %s with 426 Upgrade Required (low_version)", px.pod.Ref(), plural(n, "HTTP/1.0 request"), addrText(px.remote))
	case px.inbound:
		who = fmt.Sprintf("The sidecar of %s answered %s sent to its port %d from %s with 426 Upgrade Required (low_version)", px.pod.Ref(), plural(n, "HTTP/1.0 request"), px.local.Port(), addrText(px.remote))
	default:
		who = fmt.Sprintf("The sidecar of %s refused %s its own application sent to %s with 426 Upgrade Required (low_version)", px.pod.Ref(), plural(n, "HTTP/1.0 request"), addrText(px.local))
	}
	why := "nothing in the input enables HTTP/1.0 for that proxy: Istio sets accept_http_10 on its HTTP listeners only when the proxy metadata " + http10Key + " is \"1\" (or istiod runs with " + pilotHTTP10 + "), and the input sets neither"
	if isBad {
		why = fmt.Sprintf("%s is set to %q, but Istio enables HTTP/1.0 only for the exact value \"1\"", bad.where, bad.value)
	}
	f.Message = who + ": Envoy rejects HTTP/1.0 unless HTTP/1.0 is enabled on the listener, and " + why + "."
	f.Remedy = http10Remedy(px, v, bad, isBad, port)
	p.Report(f)
}

func addrText(ap netip.AddrPort) string {
	if !ap.IsValid() {
		return "-"
	}
	return ap.String()
}

// http10Remedy gives the exact change: the wrong value corrected, else an
// env var on a template that names istio-proxy itself (gateways), else the
// annotation on the pod template, which the injector turns into that env.
func http10Remedy(px logProxy, v http10View, bad http10Setting, isBad bool, port *svcPort) string {
	var steps []string
	switch o := v.owner; {
	case isBad:
		then := ", then re-create the pod"
		switch bad.kind {
		case annTemplate, envTemplate:
			then = " (the rollout re-creates the pods)"
		case meshDefault:
			then = ", then restart the workloads"
		}
		steps = append(steps, fmt.Sprintf("Set %s to \"1\" (not %q) in %s%s.", http10Key, bad.value, bad.obj.Ref(), then))
	case o != nil && v.proxyInTemplate:
		steps = append(steps, fmt.Sprintf("Enable HTTP/1.0 on the proxy: `kubectl set env %s/%s -n %s -c %s %s=1` (the rollout restarts the pods).", strings.ToLower(o.Key.Kind), o.Key.Name, o.Key.Namespace, istio.ProxyContainer, http10Key))
	case o != nil && v.annotation != "":
		steps = append(steps, fmt.Sprintf("Enable HTTP/1.0 on the proxy: add `%s: \"1\"` under proxyMetadata in the %s annotation of %s's pod template (spec.template.metadata.annotations); the rollout re-creates the pods through the injector, which puts proxyMetadata into the istio-proxy env.", http10Key, proxyConfigAnnotation, o.Ref()))
	case o != nil:
		steps = append(steps, fmt.Sprintf("Enable HTTP/1.0 on the proxy: `kubectl patch %s %s -n %s --type merge -p '{\"spec\":{\"template\":{\"metadata\":{\"annotations\":{\"%s\":\"{\\\"proxyMetadata\\\":{\\\"%s\\\":\\\"1\\\"}}\"}}}}}'`; the rollout re-creates the pods through the injector, which puts proxyMetadata into the istio-proxy env.", strings.ToLower(o.Key.Kind), o.Key.Name, o.Key.Namespace, proxyConfigAnnotation, http10Key))
	default:
		steps = append(steps, fmt.Sprintf("Enable HTTP/1.0 on the proxy: give %s the annotation `%s: '{\"proxyMetadata\":{\"%s\":\"1\"}}'` in its manifest and re-create it (the injector reads it at pod creation).", px.pod.Ref(), proxyConfigAnnotation, http10Key))
	}
	steps = append(steps, fmt.Sprintf("For every proxy instead: meshConfig.defaultConfig.proxyMetadata.%s: \"1\" (key mesh of the istio ConfigMap), then restart the workloads.", http10Key))
	alt := "name the Service port tcp-<name> (or set appProtocol: tcp)"
	if port != nil {
		alt = fmt.Sprintf("name port %d of %s tcp-<name> (or set appProtocol: tcp)", port.port().Port, port.obj.Ref())
	}
	steps = append(steps, "Or make the client speak HTTP/1.1 (nginx: proxy_http_version 1.1; ab: use hey or wrk); if the traffic is not HTTP at all, "+alt+" so that the proxy forwards bytes instead of parsing HTTP.")
	return strings.Join(steps, " ")
}
