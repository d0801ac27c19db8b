package istio

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	admv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// The injector's ConfigMap (one per revision) and the key of its Helm values.
const (
	injectorConfigMap = "istio-sidecar-injector"
	injectorValuesKey = "values"
	istioSystem       = "istio-system"
)

// injSystemNamespace reports the namespaces Istio's analyzers skip and the
// injector never injects (kube-system and kube-public are ignored by the
// injector itself).
func injSystemNamespace(ns string) bool {
	switch ns {
	case "kube-system", "kube-public", "kube-node-lease", "local-path-storage", istioSystem:
		return true
	}
	return false
}

// injectorValues is what the checks read from an injector ConfigMap's values.
type injectorValues struct {
	Object            *snapshot.Object
	Revision          string // "" for the default revision
	EnableByDefault   bool
	Hub, Tag, Image   string // global.hub, global.tag, global.proxy.image
	Variant           string // global.variant
	EnableByDefaultOK bool   // the key was present
}

// ProxyImage is the image the injector puts in new pods (the template's
// rule: a proxy.image with a slash is a full reference).
func (v *injectorValues) ProxyImage() string {
	img := v.Image
	if img == "" {
		img = "proxyv2"
	}
	if strings.Contains(img, "/") {
		return img
	}
	tag := v.Tag
	if v.Variant != "" && v.Variant != "default" {
		tag += "-" + v.Variant
	}
	return v.Hub + "/" + img + ":" + tag
}

// parseInjectorValues reads the JSON values of an injector ConfigMap: nil
// without error when the key is missing, an error when it is not JSON.
func parseInjectorValues(cm *snapshot.Object) (*injectorValues, error) {
	c, isCM := cm.Typed.(*corev1.ConfigMap)
	if !isCM {
		return nil, nil
	}
	raw, has := c.Data[injectorValuesKey]
	if !has {
		return nil, nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, fmt.Errorf("key %s is not JSON: %w", injectorValuesKey, err)
	}
	str := func(v any) string {
		switch t := v.(type) {
		case nil:
			return ""
		case string:
			return t
		case float64:
			return fmt.Sprint(t)
		}
		return fmt.Sprint(v)
	}
	obj := func(v any) map[string]any { o, _ := v.(map[string]any); return o }
	out := &injectorValues{Object: cm, Revision: revisionOfInjectorCM(cm.Key.Name)}
	if b, has := obj(m["sidecarInjectorWebhook"])["enableNamespacesByDefault"]; has {
		out.EnableByDefault, out.EnableByDefaultOK = b == true || b == "true", true
	}
	g := obj(m["global"])
	out.Hub, out.Tag, out.Variant = str(g["hub"]), str(g["tag"]), str(g["variant"])
	out.Image = str(obj(g["proxy"])["image"])
	return out, nil
}

func revisionOfInjectorCM(name string) string {
	return strings.TrimPrefix(strings.TrimPrefix(name, injectorConfigMap), "-")
}

// normRevision maps the names of the default revision to "".
func normRevision(r string) string {
	if r == "default" {
		return ""
	}
	return r
}

// injectorConfigKey is the key of the injector's own settings (policy,
// selectors, templates) in its ConfigMap.
const injectorConfigKey = "config"

// injectorPolicy is the injector's own decision rule, from the `config` key
// of its ConfigMap (pkg/kube/inject: injectRequired): a pod the webhook
// sends to the injector is injected when its sidecar.istio.io/inject value
// says so; without a value, when its labels match neverInjectSelector
// (no) or alwaysInjectSelector (yes); else when the policy is "enabled".
type injectorPolicy struct {
	Object        *snapshot.Object
	Policy        string // values.global.proxy.autoInject: enabled / disabled
	Never, Always []labels.Selector
}

// parseInjectorPolicy reads the `config` key of an injector ConfigMap: nil
// without error when the key is missing, an error when it is not YAML.
func parseInjectorPolicy(cm *snapshot.Object) (*injectorPolicy, error) {
	c, isCM := cm.Typed.(*corev1.ConfigMap)
	if !isCM {
		return nil, nil
	}
	raw, has := c.Data[injectorConfigKey]
	if !has {
		return nil, nil
	}
	var cfg struct {
		Policy               string                 `json:"policy"`
		NeverInjectSelector  []metav1.LabelSelector `json:"neverInjectSelector"`
		AlwaysInjectSelector []metav1.LabelSelector `json:"alwaysInjectSelector"`
	}
	if err := yaml.Unmarshal([]byte(raw), &cfg); err != nil {
		return nil, fmt.Errorf("key %s is not the injector's YAML config: %w", injectorConfigKey, err)
	}
	out := &injectorPolicy{Object: cm, Policy: cfg.Policy}
	sels := func(in []metav1.LabelSelector) []labels.Selector {
		var r []labels.Selector
		for i := range in {
			// The injector skips selectors that do not parse, and empty ones.
			if sel, err := metav1.LabelSelectorAsSelector(&in[i]); err == nil && !sel.Empty() {
				r = append(r, sel)
			}
		}
		return r
	}
	out.Never, out.Always = sels(cfg.NeverInjectSelector), sels(cfg.AlwaysInjectSelector)
	return out, nil
}

// decide applies the policy to a pod the webhooks send to the injector:
// value is its sidecar.istio.io/inject label (or annotation), set whether
// it has one. why is "" when the policy "enabled" alone decides.
func (pol *injectorPolicy) decide(podLabels map[string]string, value string, set bool) (inject bool, why string) {
	ref := pol.Object.Ref()
	if set && value != "" {
		switch strings.ToLower(value) {
		case "y", "yes", "true", "on":
			return true, InjectLabel + "=" + value
		}
		return false, InjectLabel + "=" + value + " (the injector skips the pod)"
	}
	for _, sel := range pol.Never {
		if sel.Matches(labels.Set(podLabels)) {
			return false, fmt.Sprintf("the pod labels match neverInjectSelector %s of %s", sel, ref)
		}
	}
	for _, sel := range pol.Always {
		if sel.Matches(labels.Set(podLabels)) {
			return true, fmt.Sprintf("the pod labels match alwaysInjectSelector %s of %s", sel, ref)
		}
	}
	switch pol.Policy {
	case "enabled":
		return true, ""
	case "disabled":
		return false, "injector policy disabled (" + ref + ", values.global.proxy.autoInject): only pods with " + InjectLabel + "=true are injected"
	}
	return false, fmt.Sprintf("injector policy %q of %s is neither enabled nor disabled: the injector injects nothing", pol.Policy, ref)
}

// injHook is one Istio injection webhook from the input.
type injHook struct {
	Config *snapshot.Object
	Index  int
	Hook   *admv1.MutatingWebhook
	ns     labels.Selector
	obj    labels.Selector
	bad    bool // a selector that does not parse matches nothing
	// deactivated: a webhook `istioctl tag` switched off by requiring the
	// label istio.io/deactivated (the injecting one is then a revision tag's).
	deactivated bool
}

// deactivatedLabel is the label `istioctl tag set default` makes the old
// default webhooks require, so that they never match.
const deactivatedLabel = "istio.io/deactivated"

func requiresLabel(sel *metav1.LabelSelector, key string) bool {
	if sel == nil {
		return false
	}
	if _, ok := sel.MatchLabels[key]; ok {
		return true
	}
	for _, e := range sel.MatchExpressions {
		if e.Key == key && (e.Operator == metav1.LabelSelectorOpIn || e.Operator == metav1.LabelSelectorOpExists) {
			return true
		}
	}
	return false
}

func (h *injHook) Name() string { return h.Config.Key.Name + "/" + h.Hook.Name }

func (h *injHook) matches(nsLabels, podLabels map[string]string) bool {
	return !h.bad && h.ns.Matches(labels.Set(nsLabels)) && h.obj.Matches(labels.Set(podLabels))
}

// Injection is the fact: how injection is configured in the input.
type Injection struct {
	// Hooks are the Istio injection webhooks of the input's
	// MutatingWebhookConfigurations; HooksKnown is false when the input
	// has none, or only deactivated ones (then the webhooks of Istio's
	// charts are assumed: a partial export with only other webhooks, or
	// with the deactivated default webhooks but not the revision tag's
	// that replaced them, is not taken as "no injector").
	Hooks      []*injHook
	HooksKnown bool
	// Values are the injector ConfigMaps' values by revision ("" default).
	Values map[string]*injectorValues
	// Policies are the injector ConfigMaps' policies by revision.
	Policies map[string]*injectorPolicy
}

// isIstioInjectionConfig tells whether a MutatingWebhookConfiguration is
// Istio's: a webhook named *.istio.io, or an istio.io/rev label.
func isIstioInjectionConfig(o *snapshot.Object, c *admv1.MutatingWebhookConfiguration) bool {
	if _, ok := o.Labels[RevisionLabel]; ok {
		return true
	}
	for _, w := range c.Webhooks {
		if strings.HasSuffix(w.Name, "istio.io") {
			return true
		}
	}
	return false
}

func labelSelectorOf(sel *metav1.LabelSelector) (labels.Selector, bool) {
	if sel == nil {
		return labels.Everything(), true
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return labels.Nothing(), false
	}
	return s, true
}

// InjectionFact collects the injection webhooks and injector ConfigMaps.
var InjectionFact = &analysis.Fact{
	Name: "istio-injection",
	Doc:  "Istio's injection webhooks and the values of its injector ConfigMaps, by revision.",
	Reads: map[schema.GroupKind][]string{
		snapshot.KindMutatingWebhook: {"webhooks"},
		snapshot.KindConfigMap:       {"data"},
	},
	Run: func(p *analysis.Pass) (any, error) {
		s := p.Snapshot
		inj := &Injection{Values: map[string]*injectorValues{}, Policies: map[string]*injectorPolicy{}}
		for _, o := range s.List(snapshot.KindMutatingWebhook) {
			c, ok := o.Typed.(*admv1.MutatingWebhookConfiguration)
			if !ok || !isIstioInjectionConfig(o, c) {
				continue
			}
			for i := range c.Webhooks {
				h := &injHook{Config: o, Index: i, Hook: &c.Webhooks[i]}
				var ok1, ok2 bool
				h.ns, ok1 = labelSelectorOf(h.Hook.NamespaceSelector)
				h.obj, ok2 = labelSelectorOf(h.Hook.ObjectSelector)
				h.bad = !ok1 || !ok2
				h.deactivated = requiresLabel(h.Hook.NamespaceSelector, deactivatedLabel) || requiresLabel(h.Hook.ObjectSelector, deactivatedLabel)
				inj.Hooks = append(inj.Hooks, h)
				inj.HooksKnown = inj.HooksKnown || !h.deactivated
			}
		}
		for _, o := range s.List(snapshot.KindConfigMap) {
			if o.Key.Name != injectorConfigMap && !strings.HasPrefix(o.Key.Name, injectorConfigMap+"-") {
				continue
			}
			rev := revisionOfInjectorCM(o.Key.Name)
			v, err := parseInjectorValues(o)
			if err != nil {
				p.NotChecked("%s: %v; injection is judged without it (chart defaults)", o.Ref(), err)
			}
			if v != nil {
				if prev, dup := inj.Values[rev]; !dup || prev.Object.Key.Namespace != istioSystem && o.Key.Namespace == istioSystem {
					inj.Values[rev] = v
				}
			}
			pol, err := parseInjectorPolicy(o)
			if err != nil {
				p.NotChecked("%s: %v; injection is judged without it (policy enabled, no selectors)", o.Ref(), err)
			}
			if pol != nil {
				if prev, dup := inj.Policies[rev]; !dup || prev.Object.Key.Namespace != istioSystem && o.Key.Namespace == istioSystem {
					inj.Policies[rev] = pol
				}
			}
		}
		return inj, nil
	},
}

// Decision is what the injector would do with a pod created now.
type Decision struct {
	Inject bool
	Known  bool
	Why    string
	// Revision is the revision that injects (when Inject), "" for default.
	Revision string
}

// injectOptIn reads sidecar.istio.io/inject as the injector does: the label
// wins over the annotation; y/yes/true/on inject, "" leaves it to the
// policy (inject), anything else does not.
func injectOptIn(podLabels, podAnn map[string]string) (value string, set bool) {
	if v, ok := podLabels[InjectLabel]; ok {
		return v, true
	}
	v, ok := podAnn[InjectLabel]
	return v, ok
}

// Decide says whether a pod with these labels, annotations and hostNetwork
// setting, created now in namespace ns, gets a sidecar. Known is false when
// the input lacks what decides it (the Namespace).
func (inj *Injection) Decide(s *snapshot.Snapshot, ns string, podLabels, podAnn map[string]string, hostNetwork bool) Decision {
	if hostNetwork {
		return Decision{Known: true, Why: "hostNetwork: true (never injected)"}
	}
	if ns == "kube-system" || ns == "kube-public" {
		return Decision{Known: true, Why: "the injector ignores namespace " + ns}
	}
	nso := s.Get(snapshot.KindNamespace, "", ns)
	if nso == nil {
		return Decision{Why: "the input has no Namespace " + ns}
	}
	var d Decision
	if inj.HooksKnown {
		var names []string
		for _, h := range inj.Hooks {
			if h.matches(nso.Labels, podLabels) {
				names = append(names, h.Name())
			}
		}
		if len(names) == 0 {
			return Decision{Known: true, Why: fmt.Sprintf("no Istio injection webhook of the input selects namespace %s (labels %s) and pod labels %s", ns, labelSetText(nso.Labels), labelSetText(podLabels))}
		}
		d = Decision{Inject: true, Known: true, Why: "webhook " + strings.Join(names, ", ") + " selects it", Revision: revisionOfHooks(inj, names[0])}
	} else {
		d = inj.defaultWebhooks(nso.Labels, podLabels)
		if !d.Inject {
			return d
		}
	}
	v, set := injectOptIn(podLabels, podAnn)
	if pol := inj.Policies[d.Revision]; pol != nil {
		inject, why := pol.decide(podLabels, v, set)
		if !inject {
			return Decision{Known: true, Why: d.Why + ", but " + why}
		}
		if why != "" {
			d.Why += "; " + why
		}
		return d
	}
	if set {
		switch strings.ToLower(v) {
		case "y", "yes", "true", "on", "":
		default:
			return Decision{Known: true, Why: InjectLabel + "=" + v + " (the injector skips the pod)"}
		}
	}
	return d
}

func revisionOfHooks(inj *Injection, name string) string {
	for _, h := range inj.Hooks {
		if h.Name() == name {
			return normRevision(h.Config.Labels[RevisionLabel])
		}
	}
	return ""
}

// defaultWebhooks models the selectors of the webhooks Istio's charts
// install, for inputs without MutatingWebhookConfigurations.
func (inj *Injection) defaultWebhooks(nsLabels, podLabels map[string]string) Decision {
	nsInj, hasNsInj := nsLabels[NamespaceInjection]
	nsRev, hasNsRev := nsLabels[RevisionLabel]
	podRev, hasPodRev := podLabels[RevisionLabel]
	podInj := podLabels[InjectLabel]
	switch {
	case podInj == "false":
		return Decision{Known: true, Why: "pod label " + InjectLabel + "=false"}
	case nsInj == "enabled":
		return Decision{Inject: true, Known: true, Why: "namespace label " + NamespaceInjection + "=enabled"}
	case hasNsInj:
		return Decision{Known: true, Why: "namespace label " + NamespaceInjection + "=" + nsInj}
	case hasNsRev:
		return Decision{Inject: true, Known: true, Why: "namespace label " + RevisionLabel + "=" + nsRev, Revision: normRevision(nsRev)}
	case hasPodRev:
		return Decision{Inject: true, Known: true, Why: "pod label " + RevisionLabel + "=" + podRev, Revision: normRevision(podRev)}
	case podInj == "true":
		return Decision{Inject: true, Known: true, Why: "pod label " + InjectLabel + "=true"}
	}
	if v := inj.Values[""]; v != nil && v.EnableByDefault {
		return Decision{Inject: true, Known: true, Why: "sidecarInjectorWebhook.enableNamespacesByDefault in " + v.Object.Ref()}
	}
	return Decision{Known: true, Why: "neither the namespace nor the pod labels enable injection"}
}

// ownedByPresent tells whether o's controller (a ReplicaSet's Deployment, a
// Pod's ReplicaSet — or its Deployment when the input has no ReplicaSets —,
// a Job's CronJob…) is in the input: findings about what the controller
// declares are then reported once, on the controller.
func ownedByPresent(s *snapshot.Snapshot, o *snapshot.Object) bool {
	acc, err := meta.Accessor(o.Typed)
	if err != nil {
		return false
	}
	for _, ref := range acc.GetOwnerReferences() {
		if ref.Controller == nil || !*ref.Controller {
			continue
		}
		gv, err := schema.ParseGroupVersion(ref.APIVersion)
		if err != nil {
			continue
		}
		if s.Get(schema.GroupKind{Group: gv.Group, Kind: ref.Kind}, o.Key.Namespace, ref.Name) != nil {
			return true
		}
		// A Pod of a ReplicaSet the input lacks (`kubectl get deploy,pod`):
		// the ReplicaSet is named <deployment>-<pod-template-hash>.
		if ref.Kind == "ReplicaSet" && o.Key.GroupKind() == snapshot.KindPod {
			if h := o.Labels["pod-template-hash"]; h != "" && strings.HasSuffix(ref.Name, "-"+h) &&
				s.Get(snapshot.KindDeployment, o.Key.Namespace, strings.TrimSuffix(ref.Name, "-"+h)) != nil {
				return true
			}
		}
	}
	return false
}

// labelSetText renders labels sorted, for evidence.
func labelSetText(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// injWorkloadReads are the fields the injection decision and MembershipOf
// read: template metadata, hostNetwork and the containers' names and images
// (not their env, probes or resources, which are most of a pod's size).
func injWorkloadReads() map[schema.GroupKind][]string {
	return mergeReads(templateReads("metadata.labels", "metadata.annotations"),
		podAndTemplateReads("spec.hostNetwork", "spec.containers.name", "spec.containers.image",
			"spec.initContainers.name", "spec.initContainers.image"),
		map[schema.GroupKind][]string{snapshot.KindNamespace: {}})
}

// podAndTemplateReads declares fields of pods and of every pod template.
func podAndTemplateReads(fields ...string) map[schema.GroupKind][]string {
	out := templateReads(fields...)
	out[snapshot.KindPod] = append(out[snapshot.KindPod], fields...)
	return out
}
