package istio

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// gatewayWorkloads returns the pods (or, without pods in the input, the
// controllers' pod templates) a Gateway's selector picks. Istio matches
// gateway selectors in every namespace. known is false when the input
// cannot tell: it holds no pods or workloads in the Gateway's namespace
// or the mesh root namespace, where gateway deployments live.
func gatewayWorkloads(r *Registry, g *Gateway) (sel labels.Selector, objs []*snapshot.Object, known bool) {
	return selectGatewayWorkloads(r, g, false)
}

// selectGatewayWorkloads is gatewayWorkloads, limited to the Gateway's own
// namespace when istiod scopes Gateways to it (scoped, see gatewayScope).
// Gateways configure only gateway (router) proxies: an empty selector keeps
// only the pods that look like gateway proxies.
func selectGatewayWorkloads(r *Registry, g *Gateway, scoped bool) (sel labels.Selector, objs []*snapshot.Object, known bool) {
	sel = labels.SelectorFromSet(g.Spec.GetSelector())
	ns := snapshot.AllNamespaces
	if scoped {
		ns = g.Object.Key.Namespace
	}
	if r.Snapshot.Has(snapshot.KindPod) {
		objs = r.Snapshot.SelectPods(ns, sel)
	}
	if len(objs) == 0 {
		objs = r.Snapshot.SelectWorkloads(ns, sel)
	}
	if sel.Empty() {
		kept := objs[:0:0]
		for _, o := range objs {
			if looksLikeGatewayProxy(o) {
				kept = append(kept, o)
			}
		}
		objs = kept
	}
	if len(objs) > 0 {
		return sel, objs, true
	}
	covered := func(ns string) bool {
		return r.Snapshot.Covers(snapshot.KindPod, ns) || r.Snapshot.CoversWorkloads(ns)
	}
	if scoped {
		return sel, nil, covered(g.Object.Key.Namespace)
	}
	return sel, nil, covered(g.Object.Key.Namespace) && covered(r.Mesh.RootNamespace())
}

// looksLikeGatewayProxy tells whether a pod or pod template runs a gateway
// (router) proxy: its proxy container runs "proxy router", it is injected
// with the gateway template, it carries an istio=…gateway label, or it was
// deployed for a Kubernetes Gateway.
func looksLikeGatewayProxy(o *snapshot.Object) bool {
	spec, _, l, _ := snapshot.PodSpecOf(o)
	if strings.HasSuffix(l["istio"], "gateway") || l[GatewayNameLabel] != "" {
		return true
	}
	for _, t := range strings.Split(snapshot.PodAnnotationsOf(o)["inject.istio.io/templates"], ",") {
		if strings.TrimSpace(t) == "gateway" {
			return true
		}
	}
	if spec != nil {
		for _, c := range spec.Containers {
			for _, a := range c.Args {
				if a == "router" {
					return true
				}
			}
		}
	}
	return false
}

// scopeGatewayEnv makes istiod apply a Gateway only to gateway pods in the
// Gateway's own namespace.
const scopeGatewayEnv = "PILOT_SCOPE_GATEWAY_TO_NAMESPACE"

// gatewayScope reads PILOT_SCOPE_GATEWAY_TO_NAMESPACE from the istiod
// Deployments of the input: scoped when every one of them sets it true.
func gatewayScope(s *snapshot.Snapshot) (scoped bool, evidence string) {
	return istiodsSetFlag(s, scopeGatewayEnv, true)
}

// workloadNamespaces lists the distinct namespaces of objs, sorted.
func workloadNamespaces(objs []*snapshot.Object) []string {
	seen := map[string]bool{}
	var out []string
	for _, o := range objs {
		if !seen[o.Key.Namespace] {
			seen[o.Key.Namespace] = true
			out = append(out, o.Key.Namespace)
		}
	}
	sort.Strings(out)
	return out
}

var gatewayWorkloadReads = reads(templateReads("metadata.labels", "metadata.annotations", "spec.containers.args"), map[schema.GroupKind][]string{
	snapshot.KindSecret:     {"data", "stringData", "type"},
	snapshot.KindPod:        {"metadata.annotations", "spec.containers.args"},
	snapshot.KindDeployment: {"spec.template.spec.containers.env"},
})

// GatewaySelectorNoWorkload: a Gateway whose selector picks no gateway pod.
var GatewaySelectorNoWorkload = &analysis.Analyzer{
	Code:     "MD207",
	Name:     "gateway-selector-no-workload",
	Severity: analysis.Error,
	Summary:  "A Gateway's selector matches no gateway workload in any namespace, so no proxy serves its listeners.",
	Doc:      doc("MD207"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindGateway)},
	Reads:    gatewayWorkloadReads,
	Requires: []*analysis.Fact{RegistryFact},
	Run: func(p *analysis.Pass) error {
		r := p.ResultOf(RegistryFact).(*Registry)
		scoped, scopeWhy := gatewayScope(p.Snapshot)
		for _, g := range r.Gateways() {
			sel, objs, known := selectGatewayWorkloads(r, g, scoped)
			if len(objs) > 0 {
				continue
			}
			if !known {
				p.NotChecked("workloads of %s: the input has no pods or workloads in namespace %s or %s", g.Object.Ref(), g.Object.Key.Namespace, r.Mesh.RootNamespace())
				continue
			}
			where, searched := "in any namespace", "in every namespace"
			if scoped {
				where = "in its namespace " + g.Object.Key.Namespace + " (istiod applies Gateways only to gateway pods of their own namespace)"
				searched = "in namespace " + g.Object.Key.Namespace + " only: " + scopeWhy
			}
			ev := []string{"selector: " + selectorText(sel), "searched: pods, else Deployment/StatefulSet/DaemonSet pod templates, " + searched}
			if sel.Empty() {
				ev = append(ev, "an empty selector picks only gateway proxies (proxy args \"router\", inject.istio.io/templates: gateway, istio=…gateway labels)")
			}
			p.Report(analysis.Finding{
				Subject:   g.Object.Key,
				Message:   fmt.Sprintf("%s selects gateway pods with %s, but no gateway pod or workload %s carries those labels: its servers are configured on no proxy, and clients get connection refused or 404 from whatever gateway they reach.", g.Object.Ref(), selectorText(sel), where),
				Locations: []analysis.Location{analysis.LocationOf(g.Object, snapshot.P("spec", "selector"))},
				Evidence:  ev,
				Remedy:    "Use the labels of the gateway deployment (`kubectl get pods -A -l istio=ingressgateway --show-labels`), e.g. istio: ingressgateway for the default ingress gateway.",
			})
		}
		return nil
	},
}

func selectorText(sel labels.Selector) string {
	if sel.Empty() {
		return "an empty selector"
	}
	return sel.String()
}

// credentialRefs lists the Secrets a server's TLS settings name.
func credentialRefs(g *Gateway) []credRef {
	var out []credRef
	for si, s := range g.Spec.GetServers() {
		tls := s.GetTls()
		if tls == nil || !terminates(s) {
			continue
		}
		at := snapshot.P("spec", "servers", si, "tls")
		if n := tls.GetCredentialName(); n != "" {
			out = append(out, credRef{server: si, name: n, path: at.Child("credentialName"), mutual: mutual(tls.GetMode().String())})
		}
		for i, n := range tls.GetCredentialNames() {
			out = append(out, credRef{server: si, name: n, path: at.Child("credentialNames", i), mutual: mutual(tls.GetMode().String())})
		}
	}
	return out
}

type credRef struct {
	server int
	name   string
	path   snapshot.Path
	mutual bool
}

func mutual(mode string) bool { return mode == "MUTUAL" || mode == "OPTIONAL_MUTUAL" }

// GatewayCredential: a Gateway server's credentialName that is missing from
// the gateway workload's namespace, or holds no usable certificate.
var GatewayCredential = &analysis.Analyzer{
	Code:     "MD208",
	Name:     "gateway-credential-invalid",
	Severity: analysis.Error,
	Summary:  "A Gateway server's credentialName Secret is missing from the gateway pods' namespace, lacks a certificate/key pair, or holds an expired certificate.",
	Doc:      doc("MD208"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindGateway)},
	Reads:    gatewayWorkloadReads,
	Requires: []*analysis.Fact{RegistryFact},
	Run: func(p *analysis.Pass) error {
		r := p.ResultOf(RegistryFact).(*Registry)
		now := time.Now()
		scoped, _ := gatewayScope(p.Snapshot)
		for _, g := range r.Gateways() {
			refs := credentialRefs(g)
			if len(refs) == 0 {
				continue
			}
			_, objs, _ := selectGatewayWorkloads(r, g, scoped)
			if len(objs) == 0 {
				continue // MD207, or not checked there
			}
			for _, ns := range workloadNamespaces(objs) {
				for _, c := range refs {
					if strings.Contains(c.name, "://") {
						continue // an SDS or Gateway API reference, not a Secret name
					}
					if !p.Snapshot.Covers(snapshot.KindSecret, ns) {
						p.NotChecked("credential %s of %s: the input has no Secrets of namespace %s", c.name, g.Object.Ref(), ns)
						continue
					}
					sec := p.Snapshot.Get(snapshot.KindSecret, ns, c.name)
					f := analysis.Finding{
						Subject:   g.Object.Key,
						Locations: []analysis.Location{analysis.LocationOf(g.Object, c.path)},
						Key:       ns + "/" + c.name,
					}
					if sec == nil {
						f.Message = fmt.Sprintf("%s server %d uses credentialName %q, but Secret %s/%s does not exist in the namespace of its gateway pods: the gateway cannot serve TLS for these hosts and handshakes fail.", g.Object.Ref(), c.server, c.name, ns, c.name)
						f.Evidence = []string{fmt.Sprintf("gateway workloads in namespace %s; no Secret %s there", ns, c.name)}
						f.Remedy = fmt.Sprintf("Create the Secret in namespace %s (`kubectl create -n %s secret tls %s --cert=... --key=...`); credentials are read from the gateway workload's namespace, not the Gateway's.", ns, ns, c.name)
						p.Report(f)
						continue
					}
					if sec.MetadataOnly {
						p.NotChecked("the keys and certificate of %s (credential of %s) were not read (live Secrets are read as metadata only; run with --read-secrets)", sec.Ref(), g.Object.Ref())
						continue
					}
					caSecret := p.Snapshot.Get(snapshot.KindSecret, ns, c.name+"-cacert") != nil
					problem, remedy := credentialProblem(sec, c, caSecret, now)
					if problem == "" {
						continue
					}
					f.Message = fmt.Sprintf("%s server %d uses credentialName %q, but Secret %s/%s %s.", g.Object.Ref(), c.server, c.name, ns, c.name, problem)
					f.Evidence = []string{fmt.Sprintf("%s keys: %s", sec.Ref(), orNone(sec.Secret.KeyNames()))}
					for _, k := range sec.Secret.KeyNames() {
						for _, ci := range sec.Secret.Keys[k].Certs {
							f.Evidence = append(f.Evidence, fmt.Sprintf("%s: subject %s, DNS %s, valid %s to %s", k, ci.Subject, orNone(ci.DNSNames), ci.NotBefore.Format(time.DateOnly), ci.NotAfter.Format(time.DateOnly)))
						}
					}
					f.Remedy = remedy
					f.Related = []analysis.Related{analysis.RelatedOf(sec, "the credential Secret")}
					p.Report(f)
				}
			}
		}
		return nil
	},
}

// credentialProblem says what is wrong with a credential Secret, if
// anything, and how to fix it.
func credentialProblem(sec *snapshot.Object, c credRef, caSecret bool, now time.Time) (problem, remedy string) {
	if sec.Secret == nil {
		return "", "" // no data in the input (metadata only)
	}
	s := sec.Secret
	recreate := fmt.Sprintf("Recreate it with the expected keys: `kubectl create -n %s secret tls %s --cert=chain.pem --key=key.pem`.", sec.Key.Namespace, sec.Key.Name)
	certKey := ""
	switch {
	case s.HasKey(corev1.TLSCertKey) && s.HasKey(corev1.TLSPrivateKeyKey):
		certKey = corev1.TLSCertKey
	case s.HasKey("cert") && s.HasKey("key"):
		certKey = "cert"
	case c.mutual && (s.HasKey("cacert") || s.HasKey("ca.crt")) && !s.HasKey(corev1.TLSCertKey) && !s.HasKey("cert"):
		return "holds only a CA bundle: the server certificate and key are missing", recreate
	default:
		return "has neither tls.crt/tls.key nor cert/key, so Istio cannot load a certificate from it (istiod logs 'failed to fetch key and certificate')", recreate
	}
	certs := s.Keys[certKey].Certs
	if len(certs) == 0 {
		return "has a " + certKey + " key that holds no PEM certificate", recreate
	}
	if leaf := certs[0]; now.After(leaf.NotAfter) {
		return fmt.Sprintf("holds a certificate that expired on %s (subject %s): clients reject the handshake", leaf.NotAfter.Format(time.DateOnly), leaf.Subject),
			"Renew the certificate and update the Secret; the gateway picks up the new one without a restart."
	}
	if c.mutual && !s.HasKey("ca.crt") && !s.HasKey("cacert") && !caSecret {
		return "has no CA bundle (ca.crt or cacert key, or a " + c.name + "-cacert Secret), which MUTUAL needs to verify client certificates",
			fmt.Sprintf("Add the client CA as key ca.crt, or create Secret %s/%s-cacert with key cacert.", sec.Key.Namespace, c.name)
	}
	return "", ""
}
