package istio

import (
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/facts"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// multiClusterSecretLabel marks the remote secrets istiod reads other
// clusters from; each data key is a cluster ID.
const multiClusterSecretLabel = "istio/multiCluster"

// defaultClusterID is istiod's CLUSTER_ID when the variable is not set.
const defaultClusterID = "Kubernetes"

// istiodClusterIDs returns the CLUSTER_ID of the istiod Deployments (label
// app=istiod) of namespace ns, and whether any is in the input. unknown
// names a Deployment whose CLUSTER_ID the input does not show: set through
// valueFrom, or possibly through envFrom.
func istiodClusterIDs(s *snapshot.Snapshot, ns string) (ids []string, found bool, unknown string) {
	for _, o := range s.InNamespace(snapshot.KindDeployment, ns) {
		d, ok := o.Typed.(*appsv1.Deployment)
		if !ok || d.Spec.Template.Labels["app"] != "istiod" {
			continue
		}
		found = true
		id, set := defaultClusterID, false
		for _, c := range d.Spec.Template.Spec.Containers {
			for _, e := range c.Env {
				if e.Name != "CLUSTER_ID" {
					continue
				}
				set = true
				switch {
				case e.ValueFrom != nil:
					unknown = fmt.Sprintf("%s sets CLUSTER_ID through valueFrom", o.Ref())
				case e.Value != "":
					id = e.Value
				}
			}
		}
		if !set {
			for _, c := range d.Spec.Template.Spec.Containers {
				if len(c.EnvFrom) > 0 {
					unknown = fmt.Sprintf("%s may set CLUSTER_ID through envFrom", o.Ref())
				}
			}
		}
		ids = append(ids, id)
	}
	return ids, found, unknown
}

// MeshNetworksUnknownRegistry: meshNetworks names a registry istiod does
// not have.
var MeshNetworksUnknownRegistry = &analysis.Analyzer{
	Code:     "MD130",
	Name:     "meshnetworks-unknown-registry",
	Severity: analysis.Warning,
	Summary:  "A meshNetworks endpoint names a registry (cluster ID) that is neither istiod's own cluster nor a cluster of its remote secrets, so no endpoint is placed in that network.",
	Doc:      doc("MD130"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindConfigMap)},
	Reads: map[schema.GroupKind][]string{
		snapshot.KindConfigMap:  {"data"},
		snapshot.KindSecret:     {"data", "stringData", "type"},
		snapshot.KindDeployment: {"spec.template.metadata.labels", "spec.template.spec.containers.env", "spec.template.spec.containers.envFrom"},
	},
	Requires: []*analysis.Fact{facts.MeshConfig},
	Run: func(p *analysis.Pass) error {
		cm := p.ResultOf(facts.MeshConfig).(*facts.Mesh).ConfigMap
		if cm == nil {
			return nil
		}
		raw := cm.Typed.(*corev1.ConfigMap).Data["meshNetworks"]
		if strings.TrimSpace(raw) == "" {
			return nil
		}
		mn, err := parseMeshNetworks(raw)
		if err != nil {
			p.NotChecked("%s key meshNetworks is not valid MeshNetworks: %v", cm.Ref(), err)
			return nil
		}
		ns := cm.Key.Namespace
		ids, found, unknown := istiodClusterIDs(p.Snapshot, ns)
		if !found {
			p.NotChecked("the input has no istiod Deployment in namespace %s, so the local cluster ID is unknown", ns)
			return nil
		}
		if unknown != "" {
			p.NotChecked("%s, so the local cluster ID is unknown", unknown)
			return nil
		}
		if !p.Snapshot.Covers(snapshot.KindSecret, ns) {
			p.NotChecked("the input has no Secrets of namespace %s, so the remote clusters are unknown", ns)
			return nil
		}
		// Istio's own analyzer also accepts the registry names Mock and
		// External; keep them.
		known := map[string]string{"Mock": "built-in registry", "External": "built-in registry"}
		for _, id := range ids {
			known[id] = "local cluster (istiod CLUSTER_ID)"
		}
		var remotes []*snapshot.Object
		for _, o := range p.Snapshot.InNamespace(snapshot.KindSecret, ns) {
			if o.Labels[multiClusterSecretLabel] == "true" && o.MetadataOnly {
				p.NotChecked("the keys of remote-cluster Secret %s, which name the remote clusters, were not read (live Secrets are read as metadata only; run with --read-secrets)", o.Ref())
				return nil
			}
			if o.Labels[multiClusterSecretLabel] != "true" || o.Secret == nil {
				continue
			}
			remotes = append(remotes, o)
			for _, k := range o.Secret.KeyNames() {
				known[k] = "remote cluster of " + o.Ref()
			}
		}
		var knownList []string
		for k, why := range known {
			knownList = append(knownList, fmt.Sprintf("%s (%s)", k, why))
		}
		sort.Strings(knownList)
		at := snapshot.P("data", "meshNetworks")
		for _, name := range sortedKeys(mn.GetNetworks()) {
			for j, ep := range mn.GetNetworks()[name].GetEndpoints() {
				reg := ep.GetFromRegistry()
				if reg == "" {
					continue
				}
				if _, ok := known[reg]; ok {
					continue
				}
				ev := []string{fmt.Sprintf("networks.%s.endpoints[%d].fromRegistry: %s", name, j, reg), "known registries: " + strings.Join(knownList, ", ")}
				if reg == defaultClusterID {
					ev = append(ev, fmt.Sprintf("istiod sets CLUSTER_ID=%s, so its own registry is not named %s", strings.Join(ids, ","), defaultClusterID))
				}
				var rel []analysis.Related
				for _, r := range remotes {
					rel = append(rel, analysis.RelatedOf(r, "remote secret (its keys are the cluster IDs istiod knows)"))
				}
				p.Report(analysis.Finding{
					Subject:   cm.Key,
					Message:   fmt.Sprintf("%s meshNetworks network %q endpoints[%d] takes endpoints from registry %q, but istiod knows no such cluster: no endpoint joins network %s through this entry, so cross-network traffic to it is not sent through its gateway.", cm.Ref(), name, j, reg, name),
					Locations: []analysis.Location{analysis.LocationOf(cm, at)},
					Evidence:  ev,
					Remedy:    fmt.Sprintf("Set fromRegistry to the cluster ID of the cluster whose endpoints are in %s (istiod's CLUSTER_ID, or the data key of its remote secret), or create the remote secret for cluster %q (istioctl create-remote-secret --name %s).", name, reg, reg),
					Related:   rel,
					Key:       name + "|" + fmt.Sprint(j),
				})
			}
		}
		return nil
	},
}

func parseMeshNetworks(raw string) (*meshv1alpha1.MeshNetworks, error) {
	js, err := yaml.YAMLToJSON([]byte(raw))
	if err != nil {
		return nil, err
	}
	mn := &meshv1alpha1.MeshNetworks{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(js, mn); err != nil {
		return nil, err
	}
	return mn, nil
}

// istioWebhook is one webhook of Istio's validating or injecting
// configurations (externalcontrolplane.ExternalControlPlaneAnalyzer picks
// istiod-default-validator, istio-validator*, istio-sidecar-injector*).
type istioWebhook struct {
	obj     *snapshot.Object
	path    snapshot.Path
	name    string
	client  admissionv1.WebhookClientConfig
	failure *admissionv1.FailurePolicyType
}

func istioWebhookClients(s *snapshot.Snapshot) []istioWebhook {
	var out []istioWebhook
	for _, o := range s.List(snapshot.KindValidatingWebhook) {
		w, ok := o.Typed.(*admissionv1.ValidatingWebhookConfiguration)
		if !ok || !(o.Key.Name == "istiod-default-validator" || strings.HasPrefix(o.Key.Name, "istio-validator")) {
			continue
		}
		for i, h := range w.Webhooks {
			out = append(out, istioWebhook{obj: o, path: snapshot.P("webhooks", i, "clientConfig"), name: h.Name, client: h.ClientConfig, failure: h.FailurePolicy})
		}
	}
	for _, o := range s.List(snapshot.KindMutatingWebhook) {
		w, ok := o.Typed.(*admissionv1.MutatingWebhookConfiguration)
		if !ok || !strings.HasPrefix(o.Key.Name, "istio-sidecar-injector") {
			continue
		}
		for i, h := range w.Webhooks {
			out = append(out, istioWebhook{obj: o, path: snapshot.P("webhooks", i, "clientConfig"), name: h.Name, client: h.ClientConfig, failure: h.FailurePolicy})
		}
	}
	return out
}

var webhookReads = map[schema.GroupKind][]string{
	snapshot.KindValidatingWebhook: {"webhooks"},
	snapshot.KindMutatingWebhook:   {"webhooks"},
}

var webhookInput = analysis.Kinds(snapshot.KindValidatingWebhook, snapshot.KindMutatingWebhook)

// webhookURLProblem lints a webhook URL offline: it must parse, use https
// (the API server accepts nothing else) and name a host. Istio's analyzer
// also resolves the host in DNS, which meshdoctor does not do.
func webhookURLProblem(u string) string {
	p, err := url.Parse(u)
	switch {
	case err != nil:
		return fmt.Sprintf("is not a valid URL (%v)", err)
	case p.Scheme != "https":
		return fmt.Sprintf("uses scheme %q; the API server calls webhooks only over https", p.Scheme)
	case p.Hostname() == "":
		return "names no host"
	}
	return ""
}

// ExternalControlPlaneConfig: an Istio webhook has no usable address.
var ExternalControlPlaneConfig = &analysis.Analyzer{
	Code:     "MD131",
	Name:     "istio-webhook-invalid-address",
	Severity: analysis.Error,
	Summary:  "An Istio validation or injection webhook (as set up for an external control plane) has no usable address: its URL is malformed, not https, or missing.",
	Doc:      doc("MD131"),
	Inputs:   []analysis.Input{webhookInput},
	Reads:    webhookReads,
	Run: func(p *analysis.Pass) error {
		for _, w := range istioWebhookClients(p.Snapshot) {
			var problem, value string
			at := w.path
			switch {
			case w.client.URL != nil:
				problem = webhookURLProblem(*w.client.URL)
				value = *w.client.URL
				at = at.Child("url")
			case w.client.Service == nil:
				problem = "is blank: clientConfig has neither url nor service"
				value = "clientConfig: {}"
			}
			if problem == "" {
				continue
			}
			sev := analysis.Error
			consequence := "the API server cannot call it, and with failurePolicy Fail every request it intercepts is rejected (pod creation in injected namespaces, or Istio config changes)"
			if w.failure != nil && *w.failure == admissionv1.Ignore {
				sev = analysis.Warning
				consequence = "the API server cannot call it and, with failurePolicy Ignore, silently skips it (pods start without sidecars, Istio config is not validated)"
			}
			p.Report(analysis.Finding{
				Severity:  sev,
				Subject:   w.obj.Key,
				Message:   fmt.Sprintf("%s webhook %s: the address %s: %s.", w.obj.Ref(), w.name, problem, consequence),
				Locations: []analysis.Location{analysis.LocationOf(w.obj, at)},
				Evidence:  []string{fmt.Sprintf("webhook %s clientConfig: %s", w.name, value)},
				Remedy:    "Point clientConfig.url at the external istiod over https by host name, e.g. https://istiod.external.example.com:15017/validate (or /inject/cluster/<id>/net/<network> for injection), or use clientConfig.service for an in-cluster istiod.",
				Key:       at.String(),
			})
		}
		return nil
	},
}

// ExternalControlPlaneIP: an Istio webhook URL uses an IP address.
var ExternalControlPlaneIP = &analysis.Analyzer{
	Code:     "MD132",
	Name:     "istio-webhook-ip-address",
	Severity: analysis.Info,
	Summary:  "An Istio webhook URL (external control plane) uses an IP address instead of a host name.",
	Doc:      doc("MD132"),
	Inputs:   []analysis.Input{webhookInput},
	Reads:    webhookReads,
	Run: func(p *analysis.Pass) error {
		for _, w := range istioWebhookClients(p.Snapshot) {
			if w.client.URL == nil || webhookURLProblem(*w.client.URL) != "" {
				continue
			}
			u, _ := url.Parse(*w.client.URL)
			if net.ParseIP(u.Hostname()) == nil {
				continue
			}
			at := w.path.Child("url")
			p.Report(analysis.Finding{
				Subject:   w.obj.Key,
				Message:   fmt.Sprintf("%s webhook %s calls the external control plane at IP address %s: the serving certificate must then carry that IP, and the webhook breaks when the address of the external istiod (often a load balancer) changes.", w.obj.Ref(), w.name, u.Hostname()),
				Locations: []analysis.Location{analysis.LocationOf(w.obj, at)},
				Evidence:  []string{fmt.Sprintf("webhook %s clientConfig.url: %s", w.name, *w.client.URL)},
				Remedy:    "Give the external istiod a DNS name and use it in clientConfig.url.",
				Key:       at.String(),
			})
		}
		return nil
	},
}
