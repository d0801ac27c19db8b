package istio

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"istio.io/api/annotation"
	"istio.io/api/label"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// Kinds whose annotations are checked beyond those of kinds.go.
var (
	kindIngress      = schema.GroupKind{Group: "networking.k8s.io", Kind: "Ingress"}
	kindGatewayClass = schema.GroupKind{Group: "gateway.networking.k8s.io", Kind: "GatewayClass"}
)

// annotatedKinds maps each checked kind to the catalogue's resource type
// name (istio.io/api/annotation ResourceTypes); "" means none — any Istio
// annotation there, except those for Any, is misplaced.
var annotatedKinds = []struct {
	gk  schema.GroupKind
	res string
}{
	{snapshot.KindNamespace, "Namespace"}, {snapshot.KindService, "Service"}, {snapshot.KindPod, "Pod"},
	{snapshot.KindServiceEntry, "ServiceEntry"}, {snapshot.KindWorkloadEntry, "WorkloadEntry"},
	{snapshot.KindAuthzPolicy, "AuthorizationPolicy"}, {snapshot.KindGateway, "Gateway"},
	{snapshot.KindK8sGateway, "Gateway"}, {kindGatewayClass, "GatewayClass"}, {kindIngress, "Ingress"},
	{snapshot.KindDeployment, ""}, {snapshot.KindStatefulSet, ""}, {snapshot.KindDaemonSet, ""},
	{snapshot.KindReplicaSet, ""}, {snapshot.KindJob, ""}, {snapshot.KindCronJob, ""},
	{snapshot.KindVirtualService, ""}, {snapshot.KindDestinationRule, ""}, {snapshot.KindSidecar, ""},
	{snapshot.KindEnvoyFilter, ""}, {snapshot.KindPeerAuth, ""}, {snapshot.KindRequestAuth, ""},
	{snapshot.KindWorkloadGroup, ""}, {snapshot.KindTelemetry, ""}, {snapshot.KindWasmPlugin, ""},
}

var (
	annCatalogue = func() map[string]*annotation.Instance {
		m := map[string]*annotation.Instance{}
		for _, a := range annotation.AllResourceAnnotations() {
			m[a.Name] = a
		}
		return m
	}()
	labelCatalogue = func() map[string]bool {
		m := map[string]bool{}
		for _, l := range label.AllResourceLabels() {
			m[l.Name] = true
		}
		return m
	}()
)

// removedAnnotations are annotations Istio once read and no longer does.
var removedAnnotations = map[string]string{
	"sidecar.istio.io/enableCoreDump": "Istio removed it; enable core dumps as in samples/proxy-coredump",
}

// deprecatedHints say what replaces a deprecated annotation.
var deprecatedHints = map[string]string{
	"sidecar.istio.io/inject":                     "use the label sidecar.istio.io/inject instead (webhook object selectors only see labels)",
	"sidecar.istio.io/discoveryAddress":           "set discoveryAddress in proxy.istio.io/config instead",
	"sidecar.istio.io/statsInclusionPrefixes":     "use proxyStatsMatcher in proxy.istio.io/config instead",
	"sidecar.istio.io/statsInclusionRegexps":      "use proxyStatsMatcher in proxy.istio.io/config instead",
	"sidecar.istio.io/statsInclusionSuffixes":     "use proxyStatsMatcher in proxy.istio.io/config instead",
	"sidecar.istio.io/extraStatTags":              "use extraStatTags in proxy.istio.io/config, or the Telemetry API, instead",
	"sidecar.istio.io/statsCompression":           "set the compression in proxy.istio.io/config instead",
	"traffic.sidecar.istio.io/kubevirtInterfaces": "use istio.io/reroute-virtual-interfaces instead",
}

// istioAnnotationName tells whether an annotation key is in an Istio domain.
func istioAnnotationName(key string) bool {
	if key == "kubernetes.io/ingress.class" {
		return true
	}
	domain, _, ok := strings.Cut(key, "/")
	return ok && (domain == "istio.io" || strings.HasSuffix(domain, ".istio.io"))
}

// annSite is one annotation map to check: an object's own, or its pod
// template's (judged as a Pod's).
type annSite struct {
	Obj      *snapshot.Object
	Ann      map[string]string
	At       snapshot.Path // the annotations map
	Resource string        // catalogue resource type name, "" for none
	Kind     string        // for messages
	Template bool
	// TemplateMeta are the template's labels and annotations, for a
	// controller's own metadata (to see a misplaced annotation repeated
	// where it belongs).
	TemplateLabels, TemplateAnn map[string]string
	// PodToo: the object also passes Pod annotations on to the pods it
	// creates (an Istio-class Gateway API Gateway).
	PodToo bool
	// Gateway: a gateway workload of Istio's charts or of the user; its
	// annotations are checked by MD115 only.
	Gateway bool
}

// Gateway API classes Istio implements (pilot/pkg/config/kube/gateway).
var istioGatewayClasses = map[string]bool{"istio": true, "istio-waypoint": true, "istio-remote": true, "istio-east-west": true}

// istioClassGateway tells whether a Gateway API Gateway is Istio's: a
// built-in class, or a GatewayClass of the input with an istio.io
// controller. Istio copies such a Gateway's annotations onto the
// Deployment, pod template and Service it generates.
func istioClassGateway(s *snapshot.Snapshot, o *snapshot.Object) bool {
	u, ok := o.Typed.(*unstructured.Unstructured)
	if !ok {
		return false
	}
	class, _, _ := unstructured.NestedString(u.Object, "spec", "gatewayClassName")
	if istioGatewayClasses[class] {
		return true
	}
	if gc := s.Get(kindGatewayClass, "", class); gc != nil {
		if cu, ok := gc.Typed.(*unstructured.Unstructured); ok {
			ctrl, _, _ := unstructured.NestedString(cu.Object, "spec", "controllerName")
			return strings.HasPrefix(ctrl, "istio.io/")
		}
	}
	return false
}

// generatedByGateway tells whether Istio's gateway controller generated
// the object from a Gateway API Gateway (its Deployment, Service,
// ServiceAccount): its annotations are the Gateway's, judged there.
func generatedByGateway(o *snapshot.Object) bool {
	if _, ok := o.Labels["gateway.istio.io/managed"]; ok {
		return true
	}
	if acc, err := meta.Accessor(o.Typed); err == nil {
		for _, ref := range acc.GetOwnerReferences() {
			if ref.Kind == "Gateway" && strings.HasPrefix(ref.APIVersion, gatewayAPIGroup+"/") {
				return true
			}
		}
	}
	return false
}

// istioComponent tells whether labels and annotations (an object's own, or
// its pod template's) mark a component of Istio's installation: istiod,
// ztunnel, istio-cni or a gateway. Istio's charts set annotations there
// (sidecar.istio.io/inject: "false" on istiod and the gateways) that users
// neither wrote nor should change; gateway reports whether it is a gateway.
func istioComponent(lbls, ann map[string]string) (component, gateway bool) {
	app := lbls["app"]
	if strings.Contains(ann["inject.istio.io/templates"], "gateway") {
		return true, true
	}
	if v, ok := lbls["istio"]; ok {
		return true, v != "pilot" && v != "istiod"
	}
	switch {
	case app == "istiod" || app == "ztunnel" || app == "istio-cni-node" || lbls["k8s-app"] == "istio-cni-node":
		return true, false
	case strings.HasPrefix(app, "istio-") && strings.HasSuffix(app, "gateway"):
		return true, true
	case lbls["release"] == "istio":
		return true, false
	}
	if _, ok := lbls["operator.istio.io/component"]; ok {
		return true, false
	}
	return false, false
}

// eachAnnotationSite calls fn for every checked annotation map of the
// input that holds at least one Istio-domain annotation.
func eachAnnotationSite(s *snapshot.Snapshot, fn func(annSite)) {
	for _, k := range annotatedKinds {
		gk, res := k.gk, k.res
		for _, o := range s.List(gk) {
			own := hasIstioAnnotation(o.Annotations)
			_, at, tl, hasTemplate := snapshot.PodSpecOf(o)
			var ta map[string]string
			if hasTemplate {
				ta = snapshot.PodAnnotationsOf(o)
			}
			inTemplate := hasTemplate && gk != snapshot.KindPod && hasIstioAnnotation(ta)
			if !own && !inTemplate {
				continue // nothing to check; the cheap test comes first
			}
			if ownedByPresent(s, o) || generatedByGateway(o) {
				continue // its controller (or Gateway) declares, and is reported for, the same metadata
			}
			comp, gw := istioComponent(o.Labels, o.Annotations)
			site := annSite{Obj: o, Ann: o.Annotations, At: snapshot.P("metadata", "annotations"), Resource: res, Kind: gk.Kind}
			if hasTemplate {
				if c, g := istioComponent(tl, ta); c {
					comp, gw = true, gw || g
				}
				if gk != snapshot.KindPod {
					site.TemplateLabels, site.TemplateAnn = tl, ta
					if inTemplate && (!comp || gw) {
						tmpl := at[:len(at)-1] // .../template
						fn(annSite{Obj: o, Ann: ta, At: tmpl.Child("metadata", "annotations"), Resource: "Pod", Kind: "pod template", Template: true, Gateway: gw})
					}
				}
			}
			if !own || comp && !gw {
				continue // istiod, ztunnel, istio-cni: the chart's metadata
			}
			site.Gateway = gw
			site.PodToo = gk == snapshot.KindK8sGateway && istioClassGateway(s, o)
			fn(site)
		}
	}
}

func hasIstioAnnotation(ann map[string]string) bool {
	for k := range ann {
		if istioAnnotationName(k) {
			return true
		}
	}
	return false
}

var annReads = mergeReads(templateReads("metadata.labels", "metadata.annotations"), map[schema.GroupKind][]string{
	snapshot.KindK8sGateway: {"spec.gatewayClassName"}, kindGatewayClass: {"spec.controllerName"},
})

// annFinding is the shared shape of the annotation findings.
func annFinding(site annSite, key string) analysis.Finding {
	return analysis.Finding{
		Subject:   site.Obj.Key,
		Locations: []analysis.Location{analysis.LocationOf(site.Obj, site.At.Child(key))},
		Key:       site.At.Child(key).String(),
	}
}

func where(site annSite) string {
	if site.Template {
		return "The pod template of " + site.Obj.Ref()
	}
	return site.Obj.Ref()
}

// annotationSites holds every annotation site of the input once, with its
// Istio-domain keys sorted: four checks walk them, and finding the sites
// means testing every annotation of every object of ten kinds.
var annotationSites = &analysis.Fact{
	Name:   "istio-annotation-sites",
	Doc:    "The objects and pod templates that carry Istio-domain annotations, with those keys.",
	Inputs: []analysis.Input{annInput},
	Reads:  annReads,
	Run: func(p *analysis.Pass) (any, error) {
		var sites []keyedSite
		eachAnnotationSite(p.Snapshot, func(site annSite) {
			var keys []string
			for _, k := range sortedKeys(site.Ann) {
				if istioAnnotationName(k) {
					keys = append(keys, k)
				}
			}
			sites = append(sites, keyedSite{site, keys})
		})
		return sites, nil
	},
}

// keyedSite is an annotation site and its Istio-domain keys, sorted.
type keyedSite struct {
	annSite
	keys []string
}

// forEachIstioAnnotation calls fn for every Istio-domain annotation, in key
// order per site. Gateway workloads are left out unless gateways is set.
// The pass's analyzer must require annotationSites.
func forEachIstioAnnotation(p *analysis.Pass, gateways bool, fn func(site annSite, key, value string)) {
	for _, ks := range p.ResultOf(annotationSites).([]keyedSite) {
		if ks.Gateway && !gateways {
			continue
		}
		for _, k := range ks.keys {
			fn(ks.annSite, k, ks.Ann[k])
		}
	}
}

// misplaced tells whether a known annotation is on a kind it does not
// apply to, and the kinds it applies to.
func misplaced(def *annotation.Instance, resource string) (bool, string) {
	var kinds []string
	for _, r := range def.Resources {
		if r == annotation.Any {
			return false, ""
		}
		if r.String() == resource && resource != "" {
			return false, ""
		}
		if r.String() != "Unknown" {
			kinds = append(kinds, r.String())
		}
	}
	return true, strings.Join(kinds, ", ")
}

var annInput = analysis.Kinds(snapshot.KindNamespace, snapshot.KindService, snapshot.KindPod, snapshot.KindDeployment,
	snapshot.KindStatefulSet, snapshot.KindDaemonSet, snapshot.KindJob, snapshot.KindCronJob, snapshot.KindReplicaSet,
	snapshot.KindServiceEntry, snapshot.KindWorkloadEntry, snapshot.KindAuthzPolicy, snapshot.KindGateway, snapshot.KindK8sGateway)

// AnnotationMisplaced: a known Istio annotation on a kind Istio does not
// read it from.
var AnnotationMisplaced = &analysis.Analyzer{
	Code:     "MD113",
	Name:     "annotation-misplaced",
	Severity: analysis.Warning,
	Summary:  "A known Istio annotation is set on a kind of object Istio does not read it from (e.g. a pod annotation on a Deployment's own metadata): it has no effect.",
	Doc:      doc("MD113"),
	Inputs:   []analysis.Input{annInput},
	Reads:    annReads,
	Requires: []*analysis.Fact{annotationSites},
	Run: func(p *analysis.Pass) error {
		forEachIstioAnnotation(p, false, func(site annSite, key, value string) {
			def := annCatalogue[key]
			if def == nil {
				return
			}
			bad, kinds := misplaced(def, site.Resource)
			if !bad {
				return
			}
			if podBad, _ := misplaced(def, "Pod"); site.PodToo && !podBad {
				return // Istio copies it onto the Gateway's pods
			}
			if _, ok := site.TemplateAnn[key]; ok {
				return // repeated where it belongs: redundant, not ineffective
			}
			if _, ok := site.TemplateLabels[key]; ok {
				return
			}
			f := annFinding(site, key)
			f.Message = fmt.Sprintf("%s carries annotation %s=%q, which Istio reads only on %s: here it has no effect.", where(site), key, value, kinds)
			f.Evidence = []string{fmt.Sprintf("%s: %q on a %s", key, value, site.Kind), "the annotation applies to " + kinds}
			f.Remedy = fmt.Sprintf("Move %s to a %s.", key, kinds)
			if site.Obj.Key.GroupKind() == snapshot.KindNamespace && (key == RevisionLabel || key == InjectLabel) {
				label := RevisionLabel + "=" + value
				if key == InjectLabel {
					label = NamespaceInjection + "=disabled"
					switch strings.ToLower(value) {
					case "y", "yes", "true", "on", "enabled":
						label = NamespaceInjection + "=enabled"
					}
				}
				f.Remedy = fmt.Sprintf("Set it as a namespace label instead: `kubectl label namespace %s %s` (the injection webhooks select namespaces by their labels, never their annotations), remove the annotation, and restart the namespace's workloads.", site.Obj.Key.Name, label)
			}
			if kinds == "Pod" && site.TemplateAnn != nil {
				f.Remedy = fmt.Sprintf("Move %s to the pod template (spec.template.metadata.annotations) so that the pods carry it; then restart the workload.", key)
				if key == InjectLabel {
					f.Remedy = "Set sidecar.istio.io/inject as a label of the pod template (spec.template.metadata.labels); then restart the workload."
				}
			}
			p.Report(f)
		})
		return nil
	},
}

// AnnotationUnknown: an annotation in an Istio domain that Istio does not
// define.
var AnnotationUnknown = &analysis.Analyzer{
	Code:     "MD114",
	Name:     "annotation-unknown",
	Severity: analysis.Warning,
	Summary:  "An annotation in an istio.io domain is not one Istio defines (a typo, a label used as an annotation, or a removed annotation): it has no effect.",
	Doc:      doc("MD114"),
	Inputs:   []analysis.Input{annInput},
	Reads:    annReads,
	Requires: []*analysis.Fact{annotationSites},
	Run: func(p *analysis.Pass) error {
		forEachIstioAnnotation(p, false, func(site annSite, key, value string) {
			if annCatalogue[key] != nil {
				return
			}
			f := annFinding(site, key)
			if domain, _, _ := strings.Cut(key, "/"); domain == "install.operator.istio.io" || domain == "operator.istio.io" {
				f.Severity = analysis.Info
				f.Message = fmt.Sprintf("%s carries annotation %s, bookkeeping of Istio's in-cluster operator (removed in Istio 1.24): nothing reads it any more.", where(site), key)
				f.Evidence = []string{fmt.Sprintf("%s: %q", key, value)}
				f.Remedy = "Nothing breaks; remove it when the operator is gone (`kubectl annotate " + strings.ToLower(site.Obj.Key.Kind) + " " + site.Obj.Key.Name + " " + key + "-`)."
				p.Report(f)
				return
			}
			why := "Istio defines no such annotation"
			f.Remedy = "Fix the name (see https://istio.io/latest/docs/reference/config/annotations/) or remove it."
			switch {
			case labelCatalogue[key]:
				why = "it is an Istio label, not an annotation"
				f.Remedy = fmt.Sprintf("Set %s as a label (metadata.labels) instead of an annotation.", key)
			case removedAnnotations[key] != "":
				why = removedAnnotations[key]
				f.Remedy = "Remove it; " + removedAnnotations[key] + "."
			default:
				if s := suggestAnnotation(key); s != "" {
					why += "; did you mean " + s + "?"
					f.Remedy = fmt.Sprintf("Rename it to %s.", s)
				}
			}
			f.Message = fmt.Sprintf("%s carries annotation %s, which Istio ignores (%s).", where(site), key, why)
			f.Evidence = []string{fmt.Sprintf("%s: %q", key, value)}
			p.Report(f)
		})
		return nil
	},
}

// suggestAnnotation returns a known annotation equal to key but for case.
func suggestAnnotation(key string) string {
	for name := range annCatalogue {
		if strings.EqualFold(name, key) {
			return name
		}
	}
	return ""
}

// annotationValidators check values as the injector does before injecting;
// an invalid value fails the injection and the webhook rejects the pod.
var annotationValidators = map[string]func(string) error{
	"sidecar.istio.io/interceptionMode": func(v string) error {
		if v != "REDIRECT" && v != "TPROXY" && v != "NONE" {
			return fmt.Errorf("must be REDIRECT, TPROXY or NONE")
		}
		return nil
	},
	"status.sidecar.istio.io/port":                          func(v string) error { return portErr(v) },
	"readiness.status.sidecar.istio.io/initialDelaySeconds": uint32Err,
	"readiness.status.sidecar.istio.io/periodSeconds":       uint32Err,
	"readiness.status.sidecar.istio.io/failureThreshold":    uint32Err,
	"traffic.sidecar.istio.io/includeOutboundIPRanges": func(v string) error {
		if v == "*" {
			return nil
		}
		return cidrsErr(v)
	},
	"traffic.sidecar.istio.io/excludeOutboundIPRanges": cidrsErr,
	"traffic.sidecar.istio.io/includeInboundPorts": func(v string) error {
		if v == "*" {
			return nil
		}
		return portsErr(v)
	},
	"traffic.sidecar.istio.io/excludeInboundPorts":  portsErr,
	"traffic.sidecar.istio.io/excludeOutboundPorts": portsErr,
	"prometheus.istio.io/merge-metrics": func(v string) error {
		_, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("not a boolean")
		}
		return nil
	},
	"sidecar.istio.io/proxyCPU":         quantityErr,
	"sidecar.istio.io/proxyMemory":      quantityErr,
	"sidecar.istio.io/proxyCPULimit":    quantityErr,
	"sidecar.istio.io/proxyMemoryLimit": quantityErr,
	"proxy.istio.io/config": func(v string) error {
		js, err := yaml.YAMLToJSON([]byte(v))
		if err != nil {
			return fmt.Errorf("not YAML: %v", err)
		}
		// Istio retries with unknown fields discarded: only wrong types fail.
		pc := &meshv1alpha1.ProxyConfig{}
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(js, pc); err != nil {
			return fmt.Errorf("not a ProxyConfig: %v", err)
		}
		return proxyConfigAddressesErr(pc)
	},
}

// proxyConfigAddressesErr checks the addresses a ProxyConfig sets as the
// injector's ProxyConfig validation does (ValidateProxyAddress: host:port,
// a port in 1–65535, a DNS name or an IP address).
func proxyConfigAddressesErr(pc *meshv1alpha1.ProxyConfig) error {
	addrs := []struct{ field, addr string }{
		{"discoveryAddress", pc.GetDiscoveryAddress()},
		{"tracing.zipkin.address", pc.GetTracing().GetZipkin().GetAddress()},
		{"tracing.lightstep.address", pc.GetTracing().GetLightstep().GetAddress()},
		{"tracing.datadog.address", pc.GetTracing().GetDatadog().GetAddress()},
		{"statsdUdpAddress", pc.GetStatsdUdpAddress()},
		{"envoyMetricsService.address", pc.GetEnvoyMetricsService().GetAddress()},
		{"envoyAccessLogService.address", pc.GetEnvoyAccessLogService().GetAddress()},
	}
	for _, a := range addrs {
		if a.addr == "" {
			continue
		}
		if err := proxyAddressErr(a.addr); err != nil {
			return fmt.Errorf("%s %q: %v", a.field, a.addr, err)
		}
	}
	return nil
}

func proxyAddressErr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("not host:port")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q is not in 1-65535", port)
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return nil
	}
	name := strings.TrimSuffix(host, ".")
	if name == "" || len(name) > 255 {
		return fmt.Errorf("%q is not a valid hostname or IP address", host)
	}
	for _, l := range strings.Split(name, ".") {
		if len(validation.IsDNS1123Label(l)) > 0 {
			return fmt.Errorf("%q is not a valid hostname or IP address", host)
		}
	}
	return nil
}

func uint32Err(v string) error {
	if _, err := strconv.ParseUint(v, 10, 32); err != nil {
		return fmt.Errorf("not a non-negative integer")
	}
	return nil
}

func portErr(v string) error {
	if _, err := strconv.ParseUint(strings.TrimSpace(v), 10, 16); err != nil {
		return fmt.Errorf("%q is not a port number", v)
	}
	return nil
}

func portsErr(v string) error {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	for _, p := range strings.Split(v, ",") {
		if err := portErr(p); err != nil {
			return err
		}
	}
	return nil
}

// cidrsErr: the injector splits on commas and parses each item as is, so a
// space after a comma or an address without /prefix fails.
func cidrsErr(v string) error {
	if v == "" {
		return nil
	}
	for _, c := range strings.Split(v, ",") {
		if _, err := netip.ParsePrefix(c); err != nil {
			return fmt.Errorf("%q is not a CIDR (address/prefix-length, no spaces)", c)
		}
	}
	return nil
}

func quantityErr(v string) error {
	if _, err := resource.ParseQuantity(v); err != nil {
		return fmt.Errorf("%q is not a resource quantity", v)
	}
	return nil
}

// AnnotationInvalid: a value the injector refuses.
var AnnotationInvalid = &analysis.Analyzer{
	Code:     "MD115",
	Name:     "annotation-invalid",
	Severity: analysis.Warning,
	Summary:  "An Istio pod annotation has a value the injector refuses: injection of the pod fails and the webhook rejects it.",
	Doc:      doc("MD115"),
	Inputs:   []analysis.Input{annInput},
	Reads:    mergeReads(annReads, injPodReads),
	Requires: []*analysis.Fact{InjectionFact, annotationSites},
	Run: func(p *analysis.Pass) error {
		s := p.Snapshot
		inj := p.ResultOf(InjectionFact).(*Injection)
		forEachIstioAnnotation(p, true, func(site annSite, key, value string) {
			check := annotationValidators[key]
			if check == nil || site.Resource != "Pod" {
				return
			}
			err := check(value)
			if err == nil {
				return
			}
			f := annFinding(site, key)
			f.Evidence = []string{fmt.Sprintf("%s: %q: %v", key, value, err)}
			f.Remedy = fmt.Sprintf("Fix the value of %s (%v).", key, err)
			consequence := "if the pod is injected, the injector fails and the webhook rejects the pod"
			if spec, _, pl, ok := snapshot.PodSpecOf(site.Obj); ok && !podAdmitted(site.Obj) {
				d := inj.Decide(s, site.Obj.Key.Namespace, pl, snapshot.PodAnnotationsOf(site.Obj), spec.HostNetwork)
				switch {
				case d.Known && d.Inject:
					f.Severity = analysis.Error
					consequence = fmt.Sprintf("its pods are injected (%s), so the injector fails and the API server rejects every pod (FailedCreate: admission webhook denied the request)", d.Why)
					f.Evidence = append(f.Evidence, "injection applies: "+d.Why)
				case d.Known:
					consequence = "its pods are not injected now (" + d.Why + "), so the value is ignored until they are"
				}
			}
			f.Message = fmt.Sprintf("%s sets %s=%q, which the injector refuses (%v): %s.", where(site), key, value, err, consequence)
			p.Report(f)
		})
		return nil
	},
}

// AnnotationDeprecated: a deprecated Istio annotation.
var AnnotationDeprecated = &analysis.Analyzer{
	Code:     "MD116",
	Name:     "annotation-deprecated",
	Severity: analysis.Info,
	Summary:  "An object uses a deprecated Istio annotation that a later release may stop reading.",
	Doc:      doc("MD116"),
	Inputs:   []analysis.Input{annInput},
	Reads:    annReads,
	Requires: []*analysis.Fact{annotationSites},
	Run: func(p *analysis.Pass) error {
		forEachIstioAnnotation(p, false, func(site annSite, key, value string) {
			def := annCatalogue[key]
			if def == nil || !def.Deprecated {
				return
			}
			if bad, _ := misplaced(def, site.Resource); bad {
				return // MD113 says it has no effect at all
			}
			if _, has := site.Obj.Labels[key]; has && !site.Template {
				return // the label form is set too: kept for old tooling
			}
			if _, _, pl, ok := snapshot.PodSpecOf(site.Obj); ok && (site.Template || site.Obj.Key.GroupKind() == snapshot.KindPod) {
				if _, has := pl[key]; has {
					return // the label form is set too: kept for old tooling
				}
			}
			hint := deprecatedHints[key]
			if hint == "" {
				hint = "see https://istio.io/latest/docs/reference/config/annotations/ for its replacement"
			}
			f := annFinding(site, key)
			f.Message = fmt.Sprintf("%s uses deprecated annotation %s: it still works but may be removed; %s.", where(site), key, hint)
			f.Evidence = []string{fmt.Sprintf("%s: %q", key, value)}
			f.Remedy = strings.ToUpper(hint[:1]) + hint[1:] + "."
			p.Report(f)
		})
		return nil
	},
}
