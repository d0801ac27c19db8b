package main

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// fakePEM is a fixed, syntactically PEM-looking blob (not a real
// certificate); analyzers only need the keys to exist.
// realCertPEM is a real self-signed certificate (*.example.com, valid to
// 2100), as dumps hold: meshdoctor parses certificate metadata, and a fake
// body would be reported as a malformed credential.
const realCertPEM = `-----BEGIN CERTIFICATE-----
MIIBQzCB6qADAgECAggY6gptohsYODAKBggqhkjOPQQDAjAYMRYwFAYDVQQDDA0q
LmV4YW1wbGUuY29tMCAXDTI1MDEwMTAwMDAwMFoYDzIxMDAwMTAxMDAwMDAwWjAY
MRYwFAYDVQQDDA0qLmV4YW1wbGUuY29tMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcD
QgAE8rFmC0yjPf2xJImLRyCLEIzeLgtV8hkWVdO1qYAG7fAUghs70DIq5lGIo1Hn
Zw3UesIqXPWYbLsE/CISMqI0RaMcMBowGAYDVR0RBBEwD4INKi5leGFtcGxlLmNv
bTAKBggqhkjOPQQDAgNIADBFAiEA/bhBzm+eFm+L4i7lxJqWNn7nb4d2e21T5ouP
rCfeYwACIBTcGl3l/9SAIqlFNbVzSdH6BQoQ8a8kZMpaE2w/qarg
-----END CERTIFICATE-----
`

var fakeCertPEM, fakeKeyPEM = realCertPEM, fakePEM("PRIVATE KEY", 25)

func fakePEM(kind string, lines int) string {
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	r := rand.New(rand.NewPCG(42, uint64(len(kind))))
	var sb strings.Builder
	sb.WriteString("-----BEGIN " + kind + "-----\n")
	for i := 0; i < lines; i++ {
		n := 64
		if i == lines-1 {
			n = 28
		}
		for j := 0; j < n; j++ {
			sb.WriteByte(b64[r.IntN(64)])
		}
		if i == lines-1 {
			sb.WriteString("==")
		}
		sb.WriteByte('\n')
	}
	sb.WriteString("-----END " + kind + "-----\n")
	return sb.String()
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func (g *nsGen) fqdn(svc string) string { return svc + "." + g.name + clusterSuf }

// ------------------------------------------------------------ core objects

func (g *nsGen) namespaceObj(sec int, labelsKV ...string) Node {
	created := g.ts(sec)
	labels := SM(append([]string{"kubernetes.io/metadata.name", g.name}, labelsKV...)...)
	m := M(FS("name", g.name), FS("uid", g.uid()), FS("resourceVersion", g.nextRV()), FS("creationTimestamp", created), F("labels", labels))
	return obj("v1", "Namespace", m, F("spec", M(FSL("finalizers", "kubernetes"))), F("status", M(FS("phase", "Active"))))
}

func (g *nsGen) serviceAccount(name string, sec int, annKV ...string) Node {
	return obj("v1", "ServiceAccount", g.meta(name, g.ts(sec), SM("app.kubernetes.io/part-of", "shop"), SM(annKV...)))
}

func (g *nsGen) configMap(name string, sec int, labels, ann Node, dataKV ...string) Node {
	return obj("v1", "ConfigMap", g.meta(name, g.ts(sec), labels, ann), F("data", SM(dataKV...)))
}

func (g *nsGen) secretObj(name, typ string, sec int, dataKV ...string) Node {
	for i := 1; i < len(dataKV); i += 2 {
		dataKV[i] = b64(dataKV[i])
	}
	return obj("v1", "Secret", g.meta(name, g.ts(sec), SM("app.kubernetes.io/part-of", "shop"), Node{}), F("data", SM(dataKV...)), FS("type", typ))
}

func (g *nsGen) caConfigMaps(sec int) []Node {
	return []Node{
		g.configMap("istio-ca-root-cert", sec, SM("istio.io/config", "true"), Node{}, "root-cert.pem", fakeCertPEM),
		g.configMap("kube-root-ca.crt", sec, Node{}, SM("kubernetes.io/description", "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."), "ca.crt", fakeCertPEM),
	}
}

// svcPort builds a Service port; a numeric target becomes an integer
// targetPort, anything else a named container port.
func svcPort(name string, p int, target string) Node {
	t := S(target)
	if n, err := strconv.Atoi(target); err == nil {
		t = I(n)
	}
	return M(FS("name", name), FI("port", p), FS("protocol", "TCP"), F("targetPort", t))
}

func svcSeq(idx, i int) int { return idx*4 + i + 16 }

func (g *nsGen) service(name string, i int, sec int, labels, selector Node, lb bool, ports ...Node) Node {
	seq := svcSeq(g.idx, i)
	ip := fmt.Sprintf("172.20.%d.%d", (seq>>8)&255, seq&255)
	if seq >= 1<<16 {
		ip = fmt.Sprintf("172.%d.%d.%d", 21+(seq>>16)&7, (seq>>8)&255, seq&255)
	}
	f := []Field{
		FS("clusterIP", ip),
		FSL("clusterIPs", ip),
		FS("internalTrafficPolicy", "Cluster"),
		FSL("ipFamilies", "IPv4"),
		FS("ipFamilyPolicy", "SingleStack"),
		F("selector", selector),
		FS("sessionAffinity", "None"),
		FS("type", "ClusterIP"),
	}
	status := M(F("loadBalancer", M()))
	if lb {
		for j := range ports {
			ports[j].m = append(ports[j].m, FI("nodePort", 30000+(seq*7+j*131)%2700))
			sortFields(ports[j].m)
		}
		f[len(f)-1] = FS("type", "LoadBalancer")
		f = append(f, FB("allocateLoadBalancerNodePorts", true), FS("externalTrafficPolicy", "Cluster"))
		status = M(F("loadBalancer", M(F("ingress", L(M(FS("hostname", "a"+g.hex(31)+"-1234567890.eu-west-1.elb.amazonaws.com")))))))
	}
	f = append(f, F("ports", L(ports...)))
	return obj("v1", "Service", g.meta(name, g.ts(sec), labels, Node{}), F("spec", M(f...)), F("status", status))
}

// ------------------------------------------------------------ istio objects

type istioOpts struct {
	badSubset bool // VirtualService of app A routes to an undefined subset
	badHost   bool // VirtualService of app B routes to a missing service
}

func (g *nsGen) istioMeta(name string, sec int, app string) Node {
	return g.meta(name, g.ts(sec), SM("app", app, "app.kubernetes.io/part-of", "shop"), Node{}, FI("generation", 1))
}

func subset(name string) Node {
	return M(F("labels", SM("version", name)), FS("name", name))
}

func (g *nsGen) destinationRule(app string, sec int, subsets ...string) Node {
	var ss []Node
	for _, s := range subsets {
		ss = append(ss, subset(s))
	}
	spec := M(
		FS("host", g.fqdn(app)),
		F("trafficPolicy", M(
			F("connectionPool", M(
				F("http", M(FI("http1MaxPendingRequests", 1024), FI("maxRequestsPerConnection", 100), FS("idleTimeout", "300s"))),
				F("tcp", M(FI("maxConnections", 200), FS("connectTimeout", "3s"))),
			)),
			F("loadBalancer", M(FS("simple", "LEAST_REQUEST"))),
			F("outlierDetection", M(FI("consecutive5xxErrors", 5), FS("interval", "30s"), FS("baseEjectionTime", "60s"), FI("maxEjectionPercent", 50))),
			F("tls", M(FS("mode", "ISTIO_MUTUAL"))),
		)),
		F("subsets", L(ss...)),
	)
	return obj("networking.istio.io/v1", "DestinationRule", g.istioMeta(app, sec, app), F("spec", spec))
}

func dest(host, subset string, port int) Node {
	if subset == "" {
		return M(FS("host", host), F("port", M(FI("number", port))))
	}
	return M(FS("host", host), F("port", M(FI("number", port))), FS("subset", subset))
}

func weighted(d Node, w int) Node { return M(F("destination", d), FI("weight", w)) }

func retries(attempts int, perTry string) Node {
	return M(FI("attempts", attempts), FS("perTryTimeout", perTry), FS("retryOn", "5xx,reset,connect-failure,retriable-4xx"))
}

func uriPrefix(p string) Node { return L(M(F("uri", M(FS("prefix", p))))) }

func (g *nsGen) externalHost() string { return g.appA + "." + g.name + ".shop.example.com" }
func (g *nsGen) gatewayName() string  { return g.appA + "-gateway" }
func (g *nsGen) credentialName() string {
	return g.name + "-" + g.appA + "-credential"
}

func (g *nsGen) virtualServiceA(sec int, o istioOpts) Node {
	host := g.fqdn(g.appA)
	canary := "v2"
	if o.badSubset {
		canary = "v3"
	}
	f := []Field{
		FSL("hosts", host),
		F("http", L(
			M(FS("name", "canary"),
				F("match", L(M(F("headers", M(F("x-canary", M(FS("exact", "always")))))))),
				F("route", L(M(F("destination", dest(host, canary, 80)))))),
			M(FS("name", "api-v2"),
				F("match", uriPrefix("/api/v2/")),
				F("route", L(weighted(dest(host, "v2", 80), 100))),
				FS("timeout", "5s")),
			M(FS("name", "default"),
				F("match", uriPrefix("/")),
				F("route", L(weighted(dest(host, "v1", 80), 90), weighted(dest(host, "v2", 80), 10))),
				F("retries", retries(3, "2s")),
				FS("timeout", "15s")),
		)),
	}
	if g.gateway {
		f[0] = FSL("hosts", host, g.externalHost())
		f = append(f, FSL("gateways", g.gatewayName(), "mesh"))
	}
	return obj("networking.istio.io/v1", "VirtualService", g.istioMeta(g.appA, sec, g.appA), F("spec", M(f...)))
}

func (g *nsGen) virtualServiceB(sec int, o istioOpts) Node {
	host := g.fqdn(g.appB)
	target, targetSubset := host, "v1"
	if o.badHost {
		target, targetSubset = g.fqdn(g.appB+"-svc"), ""
	}
	spec := M(
		FSL("hosts", host),
		F("http", L(M(
			FS("name", "primary"),
			F("match", uriPrefix("/")),
			F("route", L(weighted(dest(target, targetSubset, 80), 100))),
			F("retries", retries(2, "3s")),
			FS("timeout", "10s"),
		))),
		F("tcp", L(M(
			F("match", L(M(FI("port", 7000)))),
			F("route", L(M(F("destination", dest(host, "v1", 7000))))),
		))),
	)
	return obj("networking.istio.io/v1", "VirtualService", g.istioMeta(g.appB, sec, g.appB), F("spec", spec))
}

func (g *nsGen) gatewayObj(sec int) Node {
	hosts := SL(g.externalHost())
	spec := M(
		F("selector", SM("istio", "ingressgateway")),
		F("servers", L(
			M(F("hosts", hosts),
				F("port", M(FS("name", "https"), FI("number", 443), FS("protocol", "HTTPS"))),
				F("tls", M(FS("credentialName", g.credentialName()), FS("minProtocolVersion", "TLSV1_2"), FS("mode", "SIMPLE")))),
			M(F("hosts", hosts),
				F("port", M(FS("name", "http"), FI("number", 80), FS("protocol", "HTTP"))),
				F("tls", M(FB("httpsRedirect", true)))),
		)),
	)
	return obj("networking.istio.io/v1", "Gateway", g.istioMeta(g.gatewayName(), sec, g.appA), F("spec", spec))
}

func (g *nsGen) peerAuthentication(sec int) Node {
	return obj("security.istio.io/v1", "PeerAuthentication",
		g.meta("default", g.ts(sec), SM("app.kubernetes.io/part-of", "shop"), Node{}, FI("generation", 1)),
		F("spec", M(F("mtls", M(FS("mode", "STRICT"))))))
}

func (g *nsGen) authorizationPolicy(sec int) Node {
	spec := M(
		FS("action", "ALLOW"),
		F("selector", M(F("matchLabels", SM("app", g.appA)))),
		F("rules", L(
			M(
				F("from", L(M(F("source", M(FSL("principals", "cluster.local/ns/"+g.name+"/sa/"+saName)))))),
				F("to", L(M(F("operation", M(FSL("methods", "GET", "POST", "PUT"), FSL("paths", "/api/*", "/healthz")))))),
			),
			M(
				F("from", L(M(F("source", M(FSL("principals", "cluster.local/ns/"+ingressNS+"/sa/"+ingressSA)))))),
				F("to", L(M(F("operation", M(FSL("methods", "GET", "POST"), FSL("ports", "8080")))))),
			),
		)),
	)
	return obj("security.istio.io/v1", "AuthorizationPolicy", g.istioMeta(g.appA+"-allow", sec, g.appA), F("spec", spec))
}

// ------------------------------------------------------------ namespace

func (g *nsGen) settingsData() []string {
	return []string{
		"application.yaml", "server:\n  http:\n    port: 8080\n  grpc:\n    port: 9090\ndatabase:\n  pool:\n    maxOpen: 20\n    maxIdle: 5\n  timeout: 5s\ncache:\n  ttl: 300s\n",
		"cache.url", "redis://redis-master." + g.name + ".svc.cluster.local:6379/0",
		"db.host", "postgres-" + g.appA + ".databases.svc.cluster.local",
		"db.port", "5432",
		"feature.flags", "new-checkout=true,search-v2=false,recommendations=true",
		"otel-agent.yaml", "receivers:\n  otlp:\n    protocols:\n      grpc: {}\nexporters:\n  otlp:\n    endpoint: otel-collector.observability.svc:4317\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [otlp]\n",
	}
}

func (g *nsGen) envData() []string {
	return []string{
		"GRPC_PORT", "9090",
		"HTTP_PORT", "8080",
		"LOG_FORMAT", "json",
		"LOG_LEVEL", "info",
		"OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel-collector.observability.svc:4317",
		"REGION", "eu-west-1",
		"TCP_PORT", "7000",
		"TZ", "UTC",
	}
}

// gen generates all objects of an application namespace.
func (g *nsGen) gen() {
	wA1 := g.newAppWorkload(g.appA, "v1", g.full)
	wA2 := g.newAppWorkload(g.appA, "v2", true)
	wB := g.newAppWorkload(g.appB, "v1", false)
	ws := []*workload{wA1, wA2, wB}
	var o istioOpts
	for _, d := range g.defects {
		g.applyDefect(d, ws, &o)
	}

	inj := []string{"istio-injection", "enabled"}
	if g.idx%2 == 1 {
		inj = []string{"istio.io/rev", "default"}
	}
	g.add("Namespace", g.namespaceObj(0, append(inj, "team", g.name)...))
	g.add("ServiceAccount", g.serviceAccount(saName, 2, "eks.amazonaws.com/role-arn", "arn:aws:iam::123456789012:role/"+g.name+"-workload"))
	g.add("ConfigMap", g.configMap(g.settings, 3, SM("app", g.appA, "app.kubernetes.io/part-of", "shop"), Node{}, g.settingsData()...))
	g.add("ConfigMap", g.configMap(g.envCM, 4, SM("app.kubernetes.io/part-of", "shop"), Node{}, g.envData()...))
	for _, cm := range g.caConfigMaps(1) {
		g.add("ConfigMap", cm)
	}
	g.add("Secret", g.secretObj(g.tlsSecret, "kubernetes.io/tls", 5, "tls.crt", fakeCertPEM, "tls.key", fakeKeyPEM))
	g.add("Secret", g.secretObj(g.secret, "Opaque", 6, "api-token", "tok_"+g.hex(32), "db-password", "pw-"+g.hex(20), "db-user", g.appA+"_app"))

	partOf := func(app string) Node { return SM("app", app, "app.kubernetes.io/part-of", "shop") }
	g.add("Service", g.service(g.appA, 0, 10, partOf(g.appA), SM("app", g.appA), false,
		svcPort("http-web", 80, "http"), svcPort("grpc", 9090, "grpc")))
	g.add("Service", g.service(g.appB, 1, 11, partOf(g.appB), SM("app", g.appB), false,
		svcPort("http-web", 80, "http"), svcPort("grpc", 9090, "grpc"), svcPort("tcp", 7000, "tcp")))
	g.add("Service", g.service(g.appA+"-canary", 2, 12, partOf(g.appA), SM("app", g.appA, "version", "v2"), false,
		svcPort("http-web", 80, "http")))

	for i, w := range ws {
		g.add("Deployment", g.deployment(w, 20+i*5))
	}
	for i, w := range ws {
		g.add("ReplicaSet", g.replicaSet(w, 21+i*5))
	}
	for i, w := range ws {
		for p := 0; p < w.replicas; p++ {
			g.add("Pod", g.pod(w, 22+i*5+p))
		}
	}
	g.add("DestinationRule", g.destinationRule(g.appA, 40, "v1", "v2"))
	g.add("DestinationRule", g.destinationRule(g.appB, 41, "v1"))
	g.add("VirtualService", g.virtualServiceA(42, o))
	g.add("VirtualService", g.virtualServiceB(43, o))
	if g.gateway {
		g.add("Gateway", g.gatewayObj(44))
	}
	g.add("PeerAuthentication", g.peerAuthentication(45))
	g.add("AuthorizationPolicy", g.authorizationPolicy(46))

	for _, d := range g.defects {
		if d.w != nil {
			d.also = append(d.also, "ReplicaSet/"+d.w.rsName)
			for _, p := range d.w.pods {
				d.also = append(d.also, "Pod/"+p)
			}
		}
	}
}

// ------------------------------------------------------------ istio-system

type gatewayRef struct{ ns, credential string }

func istioWorkloadCommon(name string, labelsKV []string, sa string, replicas int) *workload {
	return &workload{
		name: name, app: name, version: "",
		replicas:   replicas,
		labelsKV:   labelsKV,
		selectorKV: labelsKV[:4],
		sa:         sa,
		tmplAnnKV:  []string{"prometheus.io/port", "15014", "prometheus.io/scrape", "true", "sidecar.istio.io/inject", "false"},
	}
}

func projectedIstioToken() Node {
	return M(FS("name", "istio-token"), F("projected", M(FI("defaultMode", 420), F("sources", L(
		M(F("serviceAccountToken", M(FS("audience", "istio-ca"), FI("expirationSeconds", 43200), FS("path", "istio-token")))),
	)))))
}

func optionalSecretVol(name, secret string) Node {
	return M(FS("name", name), F("secret", M(FI("defaultMode", 420), FB("optional", true), FS("secretName", secret))))
}

// genIstioSystem generates the control plane namespace.
func (g *nsGen) genIstioSystem(gws []gatewayRef) {
	g.add("Namespace", g.namespaceObj(-3600, "topology.istio.io/network", "network1"))
	g.add("ServiceAccount", g.serviceAccount("istiod", -3590))
	g.add("ServiceAccount", g.serviceAccount(ingressSA, -3590))
	mesh := "accessLogFile: /dev/stdout\ndefaultConfig:\n  discoveryAddress: istiod.istio-system.svc:15012\n  holdApplicationUntilProxyStarts: true\n  proxyMetadata: {}\ndefaultProviders:\n  metrics:\n  - prometheus\nenablePrometheusMerge: true\noutboundTrafficPolicy:\n  mode: REGISTRY_ONLY\nrootNamespace: istio-system\ntrustDomain: cluster.local\n"
	g.add("ConfigMap", g.configMap("istio", -3580, SM("app", "istiod", "install.operator.istio.io/owning-resource", "unknown", "istio.io/rev", "default", "operator.istio.io/component", "Pilot", "release", "istio"), Node{},
		"mesh", mesh, "meshNetworks", "networks: {}"))
	for _, cm := range g.caConfigMaps(-3580) {
		g.add("ConfigMap", cm)
	}
	for i, gw := range gws {
		g.add("Secret", g.secretObj(gw.credential, "kubernetes.io/tls", 30+i, "tls.crt", fakeCertPEM, "tls.key", fakeKeyPEM))
	}

	istiod := istioWorkloadCommon("istiod", []string{"app", "istiod", "istio", "pilot", "istio.io/rev", "default", "operator.istio.io/component", "Pilot"}, "istiod", 1)
	istiod.volumes = []Node{
		M(F("emptyDir", M(FS("medium", "Memory"))), FS("name", "local-certs")),
		projectedIstioToken(),
		optionalSecretVol("cacerts", "cacerts"),
		optionalSecretVol("istio-kubeconfig", "istio-kubeconfig"),
		optionalSecretVol("istio-csr-dns-cert", "istiod-tls"),
		M(F("configMap", M(FI("defaultMode", 420), FS("name", "istio-ca-root-cert"), FB("optional", true))), FS("name", "istio-csr-ca-configmap")),
	}
	istiod.containers = []*ctr{{
		name:  "discovery",
		image: pilotImage,
		args:  []string{"discovery", "--monitoringAddr=:15014", "--log_output_level=default:info", "--domain", "cluster.local", "--keepaliveMaxServerConnectionAge", "30m"},
		ports: []Node{port("http-debug", 8080), port("grpc-xds", 15010), port("https-dns", 15012), port("https-webhooks", 15017), port("http-monitoring", 15014)},
		env: []Node{
			envValue("REVISION", "default"),
			envValue("PILOT_CERT_PROVIDER", "istiod"),
			envField("POD_NAME", "metadata.name"),
			envField("POD_NAMESPACE", "metadata.namespace"),
			envField("SERVICE_ACCOUNT", "spec.serviceAccountName"),
			envValue("KUBECONFIG", "/var/run/secrets/remote/config"),
			envValue("CA_TRUSTED_NODE_ACCOUNTS", "istio-system/ztunnel"),
			envValue("PILOT_TRACE_SAMPLING", "1"),
			envValue("PILOT_ENABLE_ANALYSIS", "false"),
			envValue("CLUSTER_ID", "Kubernetes"),
			envResource("GOMEMLIMIT", "discovery", "limits.memory"),
			envResource("GOMAXPROCS", "discovery", "limits.cpu"),
			envValue("PLATFORM", ""),
		},
		resources: resources("500m", "2Gi", "4", "4Gi"),
		readiness: httpProbe("/ready", I(8080), 1, 3, 3, 5),
		sc:        M(FB("allowPrivilegeEscalation", false), F("capabilities", M(FSL("drop", "ALL"))), FB("readOnlyRootFilesystem", true), FB("runAsNonRoot", true)),
		mounts: []Node{
			mount("istio-token", "/var/run/secrets/tokens", true),
			mount("local-certs", "/var/run/secrets/istio-dns", false),
			mount("cacerts", "/etc/cacerts", true),
			mount("istio-kubeconfig", "/var/run/secrets/remote", true),
			mount("istio-csr-dns-cert", "/var/run/secrets/istiod/tls", true),
			mount("istio-csr-ca-configmap", "/var/run/secrets/istiod/ca", true),
		},
	}}

	ingress := istioWorkloadCommon("istio-ingressgateway", []string{"app", "istio-ingressgateway", "istio", "ingressgateway", "istio.io/rev", "default", "operator.istio.io/component", "IngressGateways"}, ingressSA, 2)
	ingress.tmplAnnKV = []string{"prometheus.io/path", "/stats/prometheus", "prometheus.io/port", "15020", "prometheus.io/scrape", "true", "sidecar.istio.io/inject", "false"}
	ingress.volumes = append(istioVolumes(true), M(F("emptyDir", M()), FS("name", "ingressgateway-certs-cache")))
	ingress.containers = []*ctr{{
		name:  "istio-proxy",
		image: proxyImage,
		args:  []string{"proxy", "router", "--domain", "$(POD_NAMESPACE).svc.cluster.local", "--proxyLogLevel=warning", "--proxyComponentLogLevel=misc:error", "--log_output_level=default:info"},
		ports: []Node{port("status-port", 15021), port("http2", 8080), port("https", 8443), port("http-envoy-prom", 15090)},
		env: []Node{
			envValue("PILOT_CERT_PROVIDER", "istiod"),
			envValue("CA_ADDR", "istiod.istio-system.svc:15012"),
			envField("NODE_NAME", "spec.nodeName"),
			envField("POD_NAME", "metadata.name"),
			envField("POD_NAMESPACE", "metadata.namespace"),
			envField("INSTANCE_IP", "status.podIP"),
			envField("HOST_IP", "status.hostIP"),
			envField("SERVICE_ACCOUNT", "spec.serviceAccountName"),
			envValue("ISTIO_META_WORKLOAD_NAME", "istio-ingressgateway"),
			envValue("ISTIO_META_OWNER", "kubernetes://apis/apps/v1/namespaces/istio-system/deployments/istio-ingressgateway"),
			envValue("ISTIO_META_MESH_ID", "cluster.local"),
			envValue("TRUST_DOMAIN", "cluster.local"),
			envValue("ISTIO_META_CLUSTER_ID", "Kubernetes"),
		},
		resources: resources("100m", "128Mi", "2", "1Gi"),
		readiness: httpProbe("/healthz/ready", I(15021), 1, 2, 30, 1),
		sc:        M(FB("allowPrivilegeEscalation", false), F("capabilities", M(FSL("drop", "ALL"))), FB("privileged", false), FB("readOnlyRootFilesystem", true), FB("runAsNonRoot", true), FI("runAsUser", 1337), FI("runAsGroup", 1337)),
		mounts: []Node{
			mount("workload-socket", "/var/run/secrets/workload-spiffe-uds", false),
			mount("credential-socket", "/var/run/secrets/credential-uds", false),
			mount("workload-certs", "/var/run/secrets/workload-spiffe-credentials", false),
			mount("istio-envoy", "/etc/istio/proxy", false),
			mount("istio-data", "/var/lib/istio/data", false),
			mount("istio-podinfo", "/etc/istio/pod", false),
			mount("istio-token", "/var/run/secrets/tokens", true),
			mount("istiod-ca-cert", "/var/run/secrets/istio", false),
			mount("ingressgateway-certs-cache", "/etc/istio/ingressgateway-certs", false),
		},
	}}

	ws := []*workload{istiod, ingress}
	for i, w := range ws {
		g.add("Deployment", g.deployment(w, -3500+i*5))
	}
	for i, w := range ws {
		g.add("ReplicaSet", g.replicaSet(w, -3499+i*5))
	}
	for i, w := range ws {
		for p := 0; p < w.replicas; p++ {
			g.add("Pod", g.pod(w, -3498+i*5+p))
		}
	}
	g.add("Service", g.service("istiod", 0, -3560, SM("app", "istiod", "istio", "pilot", "istio.io/rev", "default"), SM("app", "istiod", "istio", "pilot"), false,
		svcPort("grpc-xds", 15010, "15010"), svcPort("https-dns", 15012, "15012"), svcPort("https-webhook", 443, "15017"), svcPort("http-monitoring", 15014, "15014")))
	g.add("Service", g.service("istio-ingressgateway", 1, -3550, SM("app", "istio-ingressgateway", "istio", "ingressgateway"), SM("app", "istio-ingressgateway", "istio", "ingressgateway"), true,
		svcPort("status-port", 15021, "15021"), svcPort("http2", 80, "8080"), svcPort("https", 443, "8443")))
}
