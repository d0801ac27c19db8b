package istio

import (
	"fmt"
	"sort"
	"strings"

	admv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// webhookRef is one webhook of a Mutating or Validating configuration.
type webhookRef struct {
	Config  *snapshot.Object
	Index   int
	Name    string
	Client  admv1.WebhookClientConfig
	Failure *admv1.FailurePolicyType
	Mutates bool
}

// istioWebhooks lists the webhooks of Istio's webhook configurations (a
// webhook named *istio.io, or an istio.io/rev label on the configuration).
func istioWebhooks(s *snapshot.Snapshot) []webhookRef {
	var out []webhookRef
	for _, o := range s.List(snapshot.KindMutatingWebhook) {
		c, ok := o.Typed.(*admv1.MutatingWebhookConfiguration)
		if !ok || !isIstioInjectionConfig(o, c) {
			continue
		}
		for i, w := range c.Webhooks {
			out = append(out, webhookRef{o, i, w.Name, w.ClientConfig, w.FailurePolicy, true})
		}
	}
	for _, o := range s.List(snapshot.KindValidatingWebhook) {
		c, ok := o.Typed.(*admv1.ValidatingWebhookConfiguration)
		if !ok {
			continue
		}
		_, rev := o.Labels[RevisionLabel]
		for i, w := range c.Webhooks {
			if rev || strings.HasSuffix(w.Name, "istio.io") {
				out = append(out, webhookRef{o, i, w.Name, w.ClientConfig, w.FailurePolicy, false})
			}
		}
	}
	return out
}

// WebhookServiceMissing: an Istio webhook calls a Service (or port) that
// does not exist.
var WebhookServiceMissing = &analysis.Analyzer{
	Code:     "MD117",
	Name:     "webhook-service-missing",
	Severity: analysis.Error,
	Summary:  "An Istio injection or validation webhook points at a Service, or Service port, that does not exist: pod creation or config changes fail, or silently skip Istio.",
	Doc:      doc("MD117"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindMutatingWebhook, snapshot.KindValidatingWebhook)},
	Reads: map[schema.GroupKind][]string{
		snapshot.KindMutatingWebhook:   {"webhooks"},
		snapshot.KindValidatingWebhook: {"webhooks"},
		snapshot.KindService:           {"spec.ports"},
	},
	Run: func(p *analysis.Pass) error {
		s := p.Snapshot
		for _, w := range istioWebhooks(s) {
			ref := w.Client.Service
			if ref == nil {
				continue // a URL
			}
			if !s.Covers(snapshot.KindService, ref.Namespace) {
				p.NotChecked("service of webhook %s of %s: the input has no Services of namespace %s", w.Name, w.Config.Ref(), ref.Namespace)
				continue
			}
			at := snapshot.P("webhooks", w.Index, "clientConfig", "service")
			port := int32(443)
			if ref.Port != nil {
				port = *ref.Port
			}
			f := analysis.Finding{Subject: w.Config.Key, Key: w.Name}
			svc := s.Get(snapshot.KindService, ref.Namespace, ref.Name)
			var problem string
			if svc == nil {
				problem = fmt.Sprintf("Service %s/%s, which does not exist", ref.Namespace, ref.Name)
				f.Locations = []analysis.Location{analysis.LocationOf(w.Config, at.Child("name"))}
				f.Evidence = []string{fmt.Sprintf("clientConfig.service: %s/%s port %d", ref.Namespace, ref.Name, port), "the input holds the Services of namespace " + ref.Namespace + ", not this one"}
				f.Remedy = fmt.Sprintf("Point clientConfig.service at the istiod Service of this revision (e.g. istiod or istiod-<revision> in %s), or delete this leftover webhook configuration.", ref.Namespace)
			} else {
				var ports []string
				found := false
				for _, sp := range svc.Typed.(*corev1.Service).Spec.Ports {
					ports = append(ports, fmt.Sprint(sp.Port))
					found = found || sp.Port == port
				}
				if found {
					continue
				}
				problem = fmt.Sprintf("port %d of %s, which exposes only %s", port, svc.Ref(), orNone(ports))
				f.Locations = []analysis.Location{analysis.LocationOf(w.Config, at.Child("port"))}
				f.Evidence = []string{fmt.Sprintf("clientConfig.service port: %d", port), svc.Ref() + " ports: " + orNone(ports)}
				f.Related = []analysis.Related{analysis.RelatedOf(svc, "the webhook's Service")}
				f.Remedy = fmt.Sprintf("Set clientConfig.service.port to the Service's webhook port (istiod serves it on 443 → 15017) or add port %d to %s.", port, svc.Ref())
			}
			ignore := w.Failure != nil && *w.Failure == admv1.Ignore
			var consequence string
			switch {
			case w.Mutates && ignore:
				f.Severity = analysis.Warning
				consequence = "with failurePolicy Ignore, every pod it selects is created without a sidecar"
			case w.Mutates:
				consequence = "with failurePolicy Fail, the API server rejects every pod it selects (failed calling webhook: service not found / connection refused)"
			case ignore:
				f.Severity = analysis.Warning
				consequence = "with failurePolicy Ignore, Istio configuration is no longer validated on admission"
			default:
				consequence = "with failurePolicy Fail, creating or changing Istio configuration fails"
			}
			f.Message = fmt.Sprintf("Webhook %s of %s calls %s: %s.", w.Name, w.Config.Ref(), problem, consequence)
			f.Evidence = append(f.Evidence, "failurePolicy: "+failureText(w.Failure))
			p.Report(f)
		}
		return nil
	},
}

func failureText(f *admv1.FailurePolicyType) string {
	if f == nil {
		return "Fail (default)"
	}
	return string(*f)
}

// revisionsOfHooks collects the revisions the injection webhooks name.
func revisionsOfHooks(hooks []*injHook) []string {
	seen := map[string]bool{}
	add := func(sel *metav1.LabelSelector) {
		if sel == nil {
			return
		}
		if v, ok := sel.MatchLabels[RevisionLabel]; ok {
			seen[v] = true
		}
		for _, e := range sel.MatchExpressions {
			if e.Key == RevisionLabel {
				for _, v := range e.Values {
					seen[v] = true
				}
			}
		}
	}
	for _, h := range hooks {
		if r, ok := h.Config.Labels[RevisionLabel]; ok {
			seen[r] = true
		}
		add(h.Hook.NamespaceSelector)
		add(h.Hook.ObjectSelector)
	}
	return sortedKeys(seen)
}

// labelCases are the namespace and pod label sets the overlap check tries:
// none, opted in, opted out, each also with every revision.
func labelCases(key, in, out string, revs []string) []map[string]string {
	base := []map[string]string{{}, {key: in}, {key: out}}
	cases := append([]map[string]string(nil), base...)
	for _, r := range revs {
		for _, b := range base {
			c := map[string]string{RevisionLabel: r}
			for k, v := range b {
				c[k] = v
			}
			cases = append(cases, c)
		}
	}
	return cases
}

// WebhookInjectionOverlap: two injection webhooks select the same pods.
var WebhookInjectionOverlap = &analysis.Analyzer{
	Code:     "MD118",
	Name:     "webhook-injection-overlap",
	Severity: analysis.Warning,
	Summary:  "Two Istio injection webhooks select the same namespace and pod labels: such pods are injected twice, by whichever revision runs last.",
	Doc:      doc("MD118"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindMutatingWebhook)},
	Reads:    map[schema.GroupKind][]string{},
	Requires: []*analysis.Fact{InjectionFact},
	Run: func(p *analysis.Pass) error {
		hooks := p.ResultOf(InjectionFact).(*Injection).Hooks
		revs := revisionsOfHooks(hooks)
		type overlap struct {
			others  map[string]bool
			example string
		}
		found := map[*injHook]*overlap{}
		for _, nl := range labelCases(NamespaceInjection, "enabled", "disabled", revs) {
			for _, ol := range labelCases(InjectLabel, "true", "false", revs) {
				var hit []*injHook
				for _, h := range hooks {
					if h.matches(nl, ol) {
						hit = append(hit, h)
					}
				}
				if len(hit) < 2 {
					continue
				}
				for _, h := range hit {
					o := found[h]
					if o == nil {
						o = &overlap{others: map[string]bool{}, example: fmt.Sprintf("namespace labels %s, pod labels %s", labelSetText(nl), labelSetText(ol))}
						found[h] = o
					}
					for _, x := range hit {
						if x != h {
							o.others[x.Name()] = true
						}
					}
				}
			}
		}
		var order []*injHook
		for h := range found {
			order = append(order, h)
		}
		sort.Slice(order, func(i, j int) bool { return order[i].Name() < order[j].Name() })
		for _, h := range order {
			o := found[h]
			others := sortedKeys(o.others)
			p.Report(analysis.Finding{
				Subject:   h.Config.Key,
				Message:   fmt.Sprintf("Injection webhook %s selects the same pods as %s (e.g. %s): both inject such pods, so they get the sidecar of whichever webhook runs last, possibly another revision than intended, and an injection failure in either blocks them.", h.Name(), strings.Join(others, ", "), o.example),
				Locations: []analysis.Location{analysis.LocationOf(h.Config, snapshot.P("webhooks", h.Index, "name"))},
				Evidence:  []string{"overlap for " + o.example, "overlapping webhooks: " + strings.Join(others, ", ")},
				Remedy:    "Keep one injector per namespace/pod label combination: delete the leftover webhook configuration of a removed revision, or make the selectors exclusive (istio-injection vs istio.io/rev, `istioctl tag` for the default revision).",
				Key:       h.Hook.Name,
			})
		}
		return nil
	},
}
