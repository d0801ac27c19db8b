package main

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

const (
	istioVersion = "1.24.2"
	proxyImage   = "docker.io/istio/proxyv2:" + istioVersion
	pilotImage   = "docker.io/istio/pilot:" + istioVersion
	clusterSuf   = ".svc.cluster.local"
	saName       = "workload"
	ingressSA    = "istio-ingressgateway-service-account"
	ingressNS    = "istio-system"
)

var appNames = []string{
	"cart", "catalog", "checkout", "orders", "payments", "inventory", "search",
	"reviews", "ratings", "profile", "billing", "shipping", "pricing",
	"recommend", "notify", "auth", "ledger", "invoice", "media", "storefront",
	"loyalty", "promotions", "wishlist", "fraud", "tax", "quotes", "accounts",
	"session", "analytics", "returns", "warehouse", "fulfillment",
}

type object struct {
	kind string
	n    Node
}

type nsGen struct {
	idx       int
	name      string
	r         *rand.Rand
	t0        time.Time
	rv        int
	appA      string
	appB      string
	settings  string // ConfigMap used by configMapKeyRef and volumes
	envCM     string // ConfigMap used by envFrom
	secret    string // Opaque secret used by secretKeyRef
	tlsSecret string // kubernetes.io/tls secret mounted by the apps
	gateway   bool
	full      bool // "full" profile: unabridged managedFields, env and sidecar
	defects   []*defect
	objs      []object
	podSeq    int
}

func newNSGen(seed uint64, idx int, gateway, full bool) *nsGen {
	r := rand.New(rand.NewPCG(seed, uint64(idx)+1))
	g := &nsGen{
		idx:     idx,
		name:    fmt.Sprintf("team-%04d", idx+1),
		r:       r,
		t0:      baseTime.Add(time.Duration(idx*37) * time.Second),
		rv:      100000 + idx*1000,
		gateway: gateway,
		full:    full,
	}
	a := r.IntN(len(appNames))
	b := (a + 1 + r.IntN(len(appNames)-1)) % len(appNames)
	g.appA, g.appB = appNames[a], appNames[b]
	g.settings = g.appA + "-settings"
	g.envCM = "shared-env"
	g.secret = g.appA + "-db"
	g.tlsSecret = g.appA + "-tls"
	return g
}

var baseTime = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

const alnum = "bcdfghjklmnpqrstvwxz2456789"

func (g *nsGen) randName(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alnum[g.r.IntN(len(alnum))]
	}
	return string(b)
}

func (g *nsGen) hex(n int) string {
	const h = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = h[g.r.IntN(16)]
	}
	return string(b)
}

func (g *nsGen) uid() string {
	h := g.hex(32)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:]
}

// depth is the managedFields depth limit of the profile (0: unlimited).
func (g *nsGen) depth(compact int) int {
	if g.full {
		return 0
	}
	return compact
}

func (g *nsGen) nextRV() string {
	g.rv++
	return strconv.Itoa(g.rv)
}

func (g *nsGen) ts(sec int) string {
	return g.t0.Add(time.Duration(sec) * time.Second).Format(time.RFC3339)
}

func (g *nsGen) add(kind string, n Node) { g.objs = append(g.objs, object{kind, n}) }

// meta builds metadata; extra fields (ownerReferences, generation, ...) are
// appended as given.
func (g *nsGen) meta(name string, created string, labels, annotations Node, extra ...Field) Node {
	f := []Field{
		FS("name", name),
		FS("namespace", g.name),
		FS("uid", g.uid()),
		FS("resourceVersion", g.nextRV()),
		FS("creationTimestamp", created),
	}
	if len(labels.m) > 0 {
		f = append(f, F("labels", labels))
	}
	if len(annotations.m) > 0 {
		f = append(f, F("annotations", annotations))
	}
	f = append(f, extra...)
	return M(f...)
}

func obj(apiVersion, kind string, meta Node, rest ...Field) Node {
	f := append([]Field{FS("apiVersion", apiVersion), FS("kind", kind), F("metadata", meta)}, rest...)
	return M(f...)
}

func metaUID(meta Node) string {
	v, _ := meta.get("uid")
	return v.s
}

// ------------------------------------------------------------ workloads

type ctr struct {
	name      string
	image     string
	args      []string
	ports     []Node
	env       []Node
	envFrom   []Node
	resources Node
	liveness  Node
	readiness Node
	mounts    []Node
	sc        Node
}

type workload struct {
	name       string
	app        string
	version    string
	replicas   int
	labelsKV   []string // pod template labels
	selectorKV []string
	tmplAnnKV  []string
	sa         string
	inject     bool
	volumes    []Node
	containers []*ctr
	created    string
	uid        string
	hash       string
	rsName     string
	rsUID      string
	broken     string // non-empty: container brokenCtr cannot start (CreateContainerConfigError message)
	brokenCtr  string
	pods       []string
	tmplSpec   Node // cached template pod spec (read-only once built)
	podFields  Node // cached kube-controller-manager fieldsV1 of the pods
}

// templateSpec returns the pod template spec, built once per workload.
func (g *nsGen) templateSpec(w *workload) Node {
	if w.tmplSpec.k != kMap {
		w.tmplSpec = g.podSpec(w, nil)
	}
	return w.tmplSpec
}

func envValue(name, value string) Node { return M(FS("name", name), FS("value", value)) }

func envField(name, path string) Node {
	return M(FS("name", name), F("valueFrom", M(F("fieldRef", M(FS("apiVersion", "v1"), FS("fieldPath", path))))))
}

func envCMKey(name, cm, key string) Node {
	return M(FS("name", name), F("valueFrom", M(F("configMapKeyRef", M(FS("key", key), FS("name", cm))))))
}

func envSecretKey(name, secret, key string) Node {
	return M(FS("name", name), F("valueFrom", M(F("secretKeyRef", M(FS("key", key), FS("name", secret))))))
}

func envResource(name, ctrName, res string) Node {
	return M(FS("name", name), F("valueFrom", M(F("resourceFieldRef", M(FS("containerName", ctrName), FS("divisor", "0"), FS("resource", res))))))
}

func port(name string, p int) Node {
	return M(FI("containerPort", p), FS("name", name), FS("protocol", "TCP"))
}

func resources(cpuReq, memReq, cpuLim, memLim string) Node {
	return M(
		F("limits", SM("cpu", cpuLim, "memory", memLim)),
		F("requests", SM("cpu", cpuReq, "memory", memReq)),
	)
}

func mount(name, path string, ro bool) Node {
	if ro {
		return M(FS("mountPath", path), FS("name", name), FB("readOnly", true))
	}
	return M(FS("mountPath", path), FS("name", name))
}

func httpProbe(path string, port Node, delay, period, failure, timeout int) Node {
	f := []Field{
		FI("failureThreshold", failure),
		F("httpGet", M(FS("path", path), F("port", port), FS("scheme", "HTTP"))),
		FI("periodSeconds", period),
		FI("successThreshold", 1),
		FI("timeoutSeconds", timeout),
	}
	if delay > 0 {
		f = append(f, FI("initialDelaySeconds", delay))
	}
	return M(f...)
}

func (c *ctr) node(extraMounts ...Node) Node {
	f := []Field{
		FS("image", c.image),
		FS("imagePullPolicy", "IfNotPresent"),
		FS("name", c.name),
		F("resources", c.resources),
		FS("terminationMessagePath", "/dev/termination-log"),
		FS("terminationMessagePolicy", "File"),
	}
	if len(c.args) > 0 {
		f = append(f, F("args", SL(c.args...)))
	}
	if len(c.env) > 0 {
		f = append(f, F("env", L(c.env...)))
	}
	if len(c.envFrom) > 0 {
		f = append(f, F("envFrom", L(c.envFrom...)))
	}
	if len(c.ports) > 0 {
		f = append(f, F("ports", L(c.ports...)))
	}
	if c.liveness.k == kMap {
		f = append(f, F("livenessProbe", c.liveness))
	}
	if c.readiness.k == kMap {
		f = append(f, F("readinessProbe", c.readiness))
	}
	if c.sc.k == kMap {
		f = append(f, F("securityContext", c.sc))
	}
	mounts := c.mounts
	if len(extraMounts) > 0 {
		mounts = append(append([]Node(nil), c.mounts...), extraMounts...)
	}
	if len(mounts) > 0 {
		f = append(f, F("volumeMounts", L(mounts...)))
	}
	return M(f...)
}

var appSC = M(
	FB("allowPrivilegeEscalation", false),
	F("capabilities", M(FSL("drop", "ALL"))),
	FB("readOnlyRootFilesystem", true),
	FB("runAsNonRoot", true),
	FI("runAsUser", 10001),
)

// newAppWorkload builds an injected application Deployment description.
func (g *nsGen) newAppWorkload(app, version string, third bool) *workload {
	w := &workload{
		name:       app + "-" + version,
		app:        app,
		version:    version,
		replicas:   2,
		labelsKV:   []string{"app", app, "version", version, "app.kubernetes.io/name", app, "app.kubernetes.io/part-of", "shop"},
		selectorKV: []string{"app", app, "version", version},
		tmplAnnKV:  []string{"prometheus.io/path", "/metrics", "prometheus.io/port", "8080", "prometheus.io/scrape", "true"},
		sa:         saName,
		inject:     true,
		volumes: []Node{
			M(F("configMap", M(FI("defaultMode", 420), FS("name", g.settings))), FS("name", "config")),
			M(F("emptyDir", M()), FS("name", "logs")),
			M(FS("name", "tls"), F("secret", M(FI("defaultMode", 420), FS("secretName", g.tlsSecret)))),
		},
	}
	minor := 1 + g.r.IntN(9)
	if version == "v2" {
		minor += 10
	}
	image := fmt.Sprintf("ghcr.io/acme/%s:1.%d.%d", app, minor, g.r.IntN(20))
	main := &ctr{
		name:  "app",
		image: image,
		args:  []string{"--config=/etc/app/application.yaml", "--http-port=8080", "--grpc-port=9090"},
		ports: []Node{port("http", 8080), port("grpc", 9090), port("tcp", 7000)},
		env: []Node{
			envValue("APP_NAME", app),
			envField("POD_NAME", "metadata.name"),
			envCMKey("DB_HOST", g.settings, "db.host"),
			envCMKey("FEATURE_FLAGS", g.settings, "feature.flags"),
			envSecretKey("DB_PASSWORD", g.secret, "db-password"),
		},
		envFrom:   []Node{M(F("configMapRef", M(FS("name", g.envCM))))},
		resources: resources("250m", "256Mi", "1", "512Mi"),
		liveness:  httpProbe("/healthz", S("http"), 10, 10, 3, 1),
		readiness: httpProbe("/ready", S("http"), 5, 5, 3, 1),
		sc:        appSC,
		mounts: []Node{
			mount("config", "/etc/app", true),
			mount("logs", "/var/log/app", false),
			mount("tls", "/etc/tls", true),
		},
	}
	if g.full {
		main.env = append(main.env,
			envValue("APP_VERSION", version),
			envField("POD_NAMESPACE", "metadata.namespace"),
			envCMKey("DB_PORT", g.settings, "db.port"),
			envCMKey("CACHE_URL", g.settings, "cache.url"),
			envSecretKey("API_TOKEN", g.secret, "api-token"),
			envResource("GOMEMLIMIT", "app", "limits.memory"),
		)
	}
	logs := &ctr{
		name:      "log-forwarder",
		image:     "cr.fluentbit.io/fluent/fluent-bit:3.1.9",
		resources: resources("20m", "32Mi", "100m", "64Mi"),
		mounts:    []Node{mount("logs", "/var/log/app", true)},
	}
	if g.full {
		logs.ports = []Node{port("metrics", 2020)}
		logs.env = []Node{envValue("FLUENT_BIT_LOG_LEVEL", "info"), envField("NODE_NAME", "spec.nodeName")}
	}
	w.containers = []*ctr{main, logs}
	if third {
		w.containers = append(w.containers, &ctr{
			name:      "otel-agent",
			image:     "otel/opentelemetry-collector-contrib:0.111.0",
			args:      []string{"--config=/etc/app/otel-agent.yaml"},
			env:       []Node{envValue("GOMEMLIMIT", "160MiB")},
			resources: resources("50m", "64Mi", "200m", "200Mi"),
			mounts:    []Node{mount("config", "/etc/app", true)},
		})
	}
	return w
}

func (w *workload) labels(extra ...string) Node {
	return SM(append(append([]string(nil), w.labelsKV...), extra...)...)
}

// podSpec renders the pod spec of the template (pod == nil) or of a pod after
// admission (and sidecar injection when w.inject).
func (g *nsGen) podSpec(w *workload, pod *podInfo) Node {
	var containers []Node
	var apiMount Node
	if pod != nil {
		apiMount = mount(pod.apiVolume, "/var/run/secrets/kubernetes.io/serviceaccount", true)
	}
	for _, c := range w.containers {
		if pod != nil {
			containers = append(containers, c.node(apiMount))
		} else {
			containers = append(containers, c.node())
		}
	}
	volumes := append([]Node(nil), w.volumes...)
	f := []Field{
		FS("dnsPolicy", "ClusterFirst"),
		FS("restartPolicy", "Always"),
		FS("schedulerName", "default-scheduler"),
		F("securityContext", M(FI("fsGroup", 10001))),
		FS("serviceAccount", w.sa),
		FS("serviceAccountName", w.sa),
		FI("terminationGracePeriodSeconds", 30),
	}
	if pod != nil {
		if w.inject {
			containers = append(containers, g.istioProxy(w, apiMount))
			volumes = append(volumes, istioVolumes(g.full)...)
			f = append(f, F("initContainers", L(istioInit(apiMount))))
		}
		volumes = append(volumes, apiAccessVolume(pod.apiVolume))
		f = append(f,
			FB("enableServiceLinks", true),
			FS("nodeName", pod.node),
			FS("preemptionPolicy", "PreemptLowerPriority"),
			FI("priority", 0),
			F("tolerations", L(
				M(FS("effect", "NoExecute"), FS("key", "node.kubernetes.io/not-ready"), FS("operator", "Exists"), FI("tolerationSeconds", 300)),
				M(FS("effect", "NoExecute"), FS("key", "node.kubernetes.io/unreachable"), FS("operator", "Exists"), FI("tolerationSeconds", 300)),
			)),
		)
	}
	f = append(f, F("containers", L(containers...)), F("volumes", L(volumes...)))
	return M(f...)
}

func (g *nsGen) templateMeta(w *workload, labels Node) Node {
	f := []Field{F("labels", labels)}
	if len(w.tmplAnnKV) > 0 {
		f = append(f, F("annotations", SM(w.tmplAnnKV...)))
	}
	return M(f...)
}

func (g *nsGen) deployment(w *workload, sec int) Node {
	w.hash = g.randName(10)
	w.rsName = w.name + "-" + w.hash
	w.created = g.ts(sec)
	labels := w.labels()
	m := g.meta(w.name, w.created, labels, SM("deployment.kubernetes.io/revision", "1"), FI("generation", 1))
	w.uid = metaUID(m)
	spec := M(
		FI("progressDeadlineSeconds", 600),
		FI("replicas", w.replicas),
		FI("revisionHistoryLimit", 10),
		F("selector", M(F("matchLabels", SM(w.selectorKV...)))),
		F("strategy", M(F("rollingUpdate", M(FS("maxSurge", "25%"), FS("maxUnavailable", "25%"))), FS("type", "RollingUpdate"))),
		F("template", M(F("metadata", g.templateMeta(w, labels)), F("spec", g.templateSpec(w)))),
	)
	ready := w.replicas
	if w.broken != "" {
		ready = 0
	}
	conds := []Node{}
	if ready == w.replicas {
		conds = append(conds, deployCond("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.", g.ts(sec+40)))
	} else {
		conds = append(conds, deployCond("Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.", g.ts(sec+2)))
	}
	conds = append(conds, deployCond("Progressing", "True", "NewReplicaSetAvailable", fmt.Sprintf("ReplicaSet %q has successfully progressed.", w.rsName), g.ts(sec+40)))
	sf := []Field{
		FI("observedGeneration", 1),
		FI("replicas", w.replicas),
		FI("updatedReplicas", w.replicas),
		F("conditions", L(conds...)),
	}
	if ready > 0 {
		sf = append(sf, FI("availableReplicas", ready), FI("readyReplicas", ready))
	} else {
		sf = append(sf, FI("unavailableReplicas", w.replicas))
	}
	status := M(sf...)
	// managedFields: the applier owns what it sent, the controller owns the
	// revision annotation and status.
	applied := M(F("metadata", M(F("labels", labels))), F("spec", spec))
	ctrlFields := M(F("metadata", M(F("annotations", SM("deployment.kubernetes.io/revision", "1")))))
	mf := L(
		managedEntry("apps/v1", "kubectl-client-side-apply", "Update", "", w.created, fieldsV1(applied, g.depth(6))),
		managedEntry("apps/v1", "kube-controller-manager", "Update", "", g.ts(sec+1), fieldsV1(ctrlFields, 0)),
		managedEntry("apps/v1", "kube-controller-manager", "Update", "status", g.ts(sec+40), fieldsV1(M(F("status", status)), g.depth(2))),
	)
	m.m = append(m.m, F("managedFields", mf))
	sortFields(m.m)
	return obj("apps/v1", "Deployment", m, F("spec", spec), F("status", status))
}

func deployCond(typ, status, reason, msg, t string) Node {
	return M(FS("lastTransitionTime", t), FS("lastUpdateTime", t), FS("message", msg), FS("reason", reason), FS("status", status), FS("type", typ))
}

func ownerRef(apiVersion, kind, name, uid string) Node {
	return M(FS("apiVersion", apiVersion), FB("blockOwnerDeletion", true), FB("controller", true), FS("kind", kind), FS("name", name), FS("uid", uid))
}

func (g *nsGen) replicaSet(w *workload, sec int) Node {
	created := g.ts(sec)
	owner := L(ownerRef("apps/v1", "Deployment", w.name, w.uid))
	labels := w.labels("pod-template-hash", w.hash)
	ann := SM("deployment.kubernetes.io/desired-replicas", strconv.Itoa(w.replicas), "deployment.kubernetes.io/max-replicas", strconv.Itoa(w.replicas+1), "deployment.kubernetes.io/revision", "1")
	m := g.meta(w.rsName, created, labels, ann, FI("generation", 1), F("ownerReferences", owner))
	w.rsUID = metaUID(m)
	spec := M(
		FI("replicas", w.replicas),
		F("selector", M(F("matchLabels", SM(append(append([]string(nil), w.selectorKV...), "pod-template-hash", w.hash)...)))),
		F("template", M(F("metadata", g.templateMeta(w, labels)), F("spec", g.templateSpec(w)))),
	)
	ready := w.replicas
	if w.broken != "" {
		ready = 0
	}
	sf := []Field{FI("fullyLabeledReplicas", w.replicas), FI("observedGeneration", 1), FI("replicas", w.replicas)}
	if ready > 0 {
		sf = append(sf, FI("availableReplicas", ready), FI("readyReplicas", ready))
	}
	status := M(sf...)
	ctrl := M(
		F("metadata", M(F("annotations", ann), F("labels", labels), F("ownerReferences", owner))),
		F("spec", spec),
	)
	mf := L(
		managedEntry("apps/v1", "kube-controller-manager", "Update", "", created, fieldsV1(ctrl, g.depth(6))),
		managedEntry("apps/v1", "kube-controller-manager", "Update", "status", g.ts(sec+39), fieldsV1(M(F("status", status)), g.depth(2))),
	)
	m.m = append(m.m, F("managedFields", mf))
	sortFields(m.m)
	return obj("apps/v1", "ReplicaSet", m, F("spec", spec), F("status", status))
}

type podInfo struct {
	name      string
	apiVolume string
	node      string
	hostIP    string
	podIP     string
}

func (g *nsGen) nodeFor() (string, string) {
	n := g.r.IntN(240)
	a, b := 16+n/60, 10+n%60*4
	return fmt.Sprintf("ip-10-0-%d-%d.ec2.internal", a, b), fmt.Sprintf("10.0.%d.%d", a, b)
}

func (g *nsGen) podIP() string {
	seq := g.idx*16 + g.podSeq + 1
	g.podSeq++
	return fmt.Sprintf("10.%d.%d.%d", 128+(seq>>16)&127, (seq>>8)&255, seq&255)
}

func (g *nsGen) pod(w *workload, sec int) Node {
	p := &podInfo{name: w.rsName + "-" + g.randName(5), apiVolume: "kube-api-access-" + g.randName(5)}
	p.node, p.hostIP = g.nodeFor()
	p.podIP = g.podIP()
	w.pods = append(w.pods, p.name)
	created := g.ts(sec)
	tmplLabels := w.labels("pod-template-hash", w.hash)
	labels, ann := tmplLabels, SM(w.tmplAnnKV...)
	if w.inject {
		labels = w.labels(
			"pod-template-hash", w.hash,
			"security.istio.io/tlsMode", "istio",
			"service.istio.io/canonical-name", w.app,
			"service.istio.io/canonical-revision", w.version,
		)
		ann = SM(
			"istio.io/rev", "default",
			"kubectl.kubernetes.io/default-container", w.containers[0].name,
			"kubectl.kubernetes.io/default-logs-container", w.containers[0].name,
			"prometheus.io/path", "/stats/prometheus",
			"prometheus.io/port", "15020",
			"prometheus.io/scrape", "true",
			"sidecar.istio.io/status", g.sidecarStatus(),
		)
	}
	owner := L(ownerRef("apps/v1", "ReplicaSet", w.rsName, w.rsUID))
	m := g.meta(p.name, created, labels, ann, FS("generateName", w.rsName+"-"), F("ownerReferences", owner))
	spec := g.podSpec(w, p)
	status := g.podStatus(w, p, sec)
	// The controller owns what the template gave; the kubelet owns status.
	ctrlMeta := []Field{FS("generateName", w.rsName+"-"), F("labels", tmplLabels), F("ownerReferences", owner)}
	if len(w.tmplAnnKV) > 0 {
		ctrlMeta = append(ctrlMeta, F("annotations", SM(w.tmplAnnKV...)))
	}
	if w.podFields.k != kMap { // identical for all replicas: compute once
		w.podFields = fieldsV1(M(F("metadata", M(ctrlMeta...)), F("spec", g.templateSpec(w))), g.depth(4))
	}
	mf := L(
		managedEntry("v1", "kube-controller-manager", "Update", "", created, w.podFields),
		managedEntry("v1", "kubelet", "Update", "status", g.ts(sec+30), fieldsV1(M(F("status", status)), g.depth(2))),
	)
	m.m = append(m.m, F("managedFields", mf))
	sortFields(m.m)
	return obj("v1", "Pod", m, F("spec", spec), F("status", status))
}

func podCond(typ, status, t string) Node {
	return M(Field{k: "lastProbeTime", v: Null()}, FS("lastTransitionTime", t), FS("status", status), FS("type", typ))
}

func imageID(image string, g *nsGen) string {
	repo := image
	if i := strings.LastIndexByte(image, ':'); i > strings.LastIndexByte(image, '/') {
		repo = image[:i]
	}
	return repo + "@sha256:" + g.hex(64)
}

func (g *nsGen) ctrStatus(name, image string, ready bool, startedAt string, waiting string) Node {
	f := []Field{
		FS("image", image),
		FS("imageID", imageID(image, g)),
		F("lastState", M()),
		FS("name", name),
		FB("ready", ready),
		FI("restartCount", 0),
	}
	if waiting != "" {
		f = append(f, FB("started", false), F("state", M(F("waiting", M(FS("message", waiting), FS("reason", "CreateContainerConfigError"))))))
		return M(f...)
	}
	f = append(f,
		FS("containerID", "containerd://"+g.hex(64)),
		FB("started", true),
		F("state", M(F("running", M(FS("startedAt", startedAt))))),
	)
	return M(f...)
}

func (g *nsGen) podStatus(w *workload, p *podInfo, sec int) Node {
	var cs []Node
	ok := w.broken == ""
	for _, c := range w.containers {
		waiting := ""
		if !ok && c.name == w.brokenCtr {
			waiting = w.broken
		}
		cs = append(cs, g.ctrStatus(c.name, c.image, ok, g.ts(sec+8), waiting))
	}
	readyS, phase := "True", "Running"
	if !ok {
		readyS, phase = "False", "Pending"
	}
	f := []Field{
		F("conditions", L(
			podCond("PodReadyToStartContainers", "True", g.ts(sec+4)),
			podCond("Initialized", "True", g.ts(sec+7)),
			podCond("Ready", readyS, g.ts(sec+12)),
			podCond("ContainersReady", readyS, g.ts(sec+12)),
			podCond("PodScheduled", "True", g.ts(sec)),
		)),
		FS("hostIP", p.hostIP),
		F("hostIPs", L(M(FS("ip", p.hostIP)))),
		FS("phase", phase),
		FS("podIP", p.podIP),
		F("podIPs", L(M(FS("ip", p.podIP)))),
		FS("qosClass", "Burstable"),
		FS("startTime", g.ts(sec)),
	}
	if w.inject {
		cs = append(cs, g.ctrStatus("istio-proxy", proxyImage, ok, g.ts(sec+8), ""))
		init := M(
			FS("containerID", "containerd://"+g.hex(64)),
			FS("image", proxyImage),
			FS("imageID", imageID(proxyImage, g)),
			F("lastState", M()),
			FS("name", "istio-init"),
			FB("ready", true),
			FI("restartCount", 0),
			FB("started", false),
			F("state", M(F("terminated", M(
				FS("containerID", "containerd://"+g.hex(64)),
				FI("exitCode", 0),
				FS("finishedAt", g.ts(sec+6)),
				FS("reason", "Completed"),
				FS("startedAt", g.ts(sec+5)),
			)))),
		)
		f = append(f, F("initContainerStatuses", L(init)))
	}
	f = append(f, F("containerStatuses", L(cs...)))
	return M(f...)
}

// ------------------------------------------------------------ istio injection

func istioInit(apiMount Node) Node {
	return M(
		F("args", SL("istio-iptables", "-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT", "-i", "*", "-x", "", "-b", "*", "-d", "15090,15021,15020", "--log_output_level=default:info")),
		FS("image", proxyImage),
		FS("imagePullPolicy", "IfNotPresent"),
		FS("name", "istio-init"),
		F("resources", resources("10m", "40Mi", "2", "1Gi")),
		F("securityContext", M(
			FB("allowPrivilegeEscalation", false),
			F("capabilities", M(FSL("add", "NET_ADMIN", "NET_RAW"), FSL("drop", "ALL"))),
			FB("privileged", false),
			FB("readOnlyRootFilesystem", false),
			FI("runAsGroup", 0),
			FB("runAsNonRoot", false),
			FI("runAsUser", 0),
		)),
		FS("terminationMessagePath", "/dev/termination-log"),
		FS("terminationMessagePolicy", "File"),
		F("volumeMounts", L(apiMount)),
	)
}

func (g *nsGen) istioProxy(w *workload, apiMount Node) Node {
	names := make([]string, len(w.containers))
	for i, c := range w.containers {
		names[i] = c.name
	}
	var env []Node
	if g.full {
		env = []Node{
			envValue("PILOT_CERT_PROVIDER", "istiod"),
			envValue("CA_ADDR", "istiod.istio-system.svc:15012"),
			envField("POD_NAME", "metadata.name"),
			envField("POD_NAMESPACE", "metadata.namespace"),
			envField("INSTANCE_IP", "status.podIP"),
			envField("SERVICE_ACCOUNT", "spec.serviceAccountName"),
			envField("HOST_IP", "status.hostIP"),
			envValue("ISTIO_CPU_LIMIT", "2"),
			envValue("PROXY_CONFIG", "{}\n"),
			envValue("ISTIO_META_POD_PORTS", podPortsJSON(w)),
			envValue("ISTIO_META_APP_CONTAINERS", strings.Join(names, ",")),
			envValue("ISTIO_META_CLUSTER_ID", "Kubernetes"),
			envField("ISTIO_META_NODE_NAME", "spec.nodeName"),
			envValue("ISTIO_META_INTERCEPTION_MODE", "REDIRECT"),
			envValue("ISTIO_META_WORKLOAD_NAME", w.name),
			envValue("ISTIO_META_OWNER", "kubernetes://apis/apps/v1/namespaces/"+g.name+"/deployments/"+w.name),
			envValue("ISTIO_META_MESH_ID", "cluster.local"),
			envValue("TRUST_DOMAIN", "cluster.local"),
		}
	} else {
		env = []Node{
			envValue("CA_ADDR", "istiod.istio-system.svc:15012"),
			envField("POD_NAME", "metadata.name"),
			envField("POD_NAMESPACE", "metadata.namespace"),
			envField("INSTANCE_IP", "status.podIP"),
			envValue("ISTIO_META_APP_CONTAINERS", strings.Join(names, ",")),
			envValue("ISTIO_META_WORKLOAD_NAME", w.name),
		}
	}
	var mounts []Node
	if g.full {
		mounts = append(mounts,
			mount("workload-socket", "/var/run/secrets/workload-spiffe-uds", false),
			mount("credential-socket", "/var/run/secrets/credential-uds", false),
			mount("workload-certs", "/var/run/secrets/workload-spiffe-credentials", false),
			mount("istio-data", "/var/lib/istio/data", false),
		)
	}
	mounts = append(mounts,
		mount("istiod-ca-cert", "/var/run/secrets/istio", false),
		mount("istio-envoy", "/etc/istio/proxy", false),
		mount("istio-token", "/var/run/secrets/tokens", false),
		mount("istio-podinfo", "/etc/istio/pod", false),
		apiMount,
	)
	sc := M(FB("allowPrivilegeEscalation", false), FB("readOnlyRootFilesystem", true), FI("runAsUser", 1337))
	if g.full {
		sc = M(
			FB("allowPrivilegeEscalation", false),
			F("capabilities", M(FSL("drop", "ALL"))),
			FB("privileged", false),
			FB("readOnlyRootFilesystem", true),
			FI("runAsGroup", 1337),
			FB("runAsNonRoot", true),
			FI("runAsUser", 1337),
		)
	}
	return M(
		F("args", SL("proxy", "sidecar", "--domain", "$(POD_NAMESPACE).svc.cluster.local", "--proxyLogLevel=warning", "--proxyComponentLogLevel=misc:error", "--log_output_level=default:info")),
		F("env", L(env...)),
		FS("image", proxyImage),
		FS("imagePullPolicy", "IfNotPresent"),
		FS("name", "istio-proxy"),
		F("ports", L(M(FI("containerPort", 15090), FS("name", "http-envoy-prom"), FS("protocol", "TCP")))),
		F("readinessProbe", M(
			FI("failureThreshold", 4),
			F("httpGet", M(FS("path", "/healthz/ready"), FI("port", 15021), FS("scheme", "HTTP"))),
			FI("periodSeconds", 15),
			FI("successThreshold", 1),
			FI("timeoutSeconds", 3),
		)),
		F("resources", resources("100m", "128Mi", "2", "1Gi")),
		F("securityContext", sc),
		FS("terminationMessagePath", "/dev/termination-log"),
		FS("terminationMessagePolicy", "File"),
		F("volumeMounts", L(mounts...)),
	)
}

func downwardItem(path, fieldPath string) Node {
	return M(F("fieldRef", M(FS("apiVersion", "v1"), FS("fieldPath", fieldPath))), FS("path", path))
}

// istioVolumes returns the injected volumes; the compact profile leaves out
// the SPIFFE/credential sockets and istio-data.
func istioVolumes(full bool) []Node {
	var v []Node
	if full {
		v = append(v,
			M(F("emptyDir", M()), FS("name", "workload-socket")),
			M(F("emptyDir", M()), FS("name", "credential-socket")),
			M(F("emptyDir", M()), FS("name", "workload-certs")),
		)
	}
	if full {
		v = append(v, M(F("emptyDir", M()), FS("name", "istio-data")))
	}
	return append(v,
		M(F("emptyDir", M(FS("medium", "Memory"))), FS("name", "istio-envoy")),
		M(F("downwardAPI", M(FI("defaultMode", 420), F("items", L(
			downwardItem("labels", "metadata.labels"),
			downwardItem("annotations", "metadata.annotations"),
		)))), FS("name", "istio-podinfo")),
		M(FS("name", "istio-token"), F("projected", M(FI("defaultMode", 420), F("sources", L(
			M(F("serviceAccountToken", M(FS("audience", "istio-ca"), FI("expirationSeconds", 43200), FS("path", "istio-token")))),
		))))),
		M(F("configMap", M(FI("defaultMode", 420), FS("name", "istio-ca-root-cert"))), FS("name", "istiod-ca-cert")),
	)
}

func apiAccessVolume(name string) Node {
	return M(FS("name", name), F("projected", M(FI("defaultMode", 420), F("sources", L(
		M(F("serviceAccountToken", M(FI("expirationSeconds", 3607), FS("path", "token")))),
		M(F("configMap", M(F("items", L(M(FS("key", "ca.crt"), FS("path", "ca.crt")))), FS("name", "kube-root-ca.crt")))),
		M(F("downwardAPI", M(F("items", L(downwardItem("namespace", "metadata.namespace")))))),
	)))))
}

// podPortsJSON renders ISTIO_META_POD_PORTS the way the injector does.
func podPortsJSON(w *workload) string {
	var b strings.Builder
	b.WriteString("[")
	first := true
	for _, c := range w.containers {
		for _, p := range c.ports {
			if first {
				b.WriteString("\n    ")
				first = false
			} else {
				b.WriteString("\n    ,")
			}
			b.Write(compactJSON(nil, Node{k: kMap, m: []Field{p.m[1], p.m[0], p.m[2]}})) // injector order: name first
		}
	}
	b.WriteString("\n]")
	return b.String()
}

func (g *nsGen) sidecarStatus() string {
	vols := `"istio-envoy","istio-podinfo","istio-token","istiod-ca-cert"`
	if g.full {
		vols = `"workload-socket","credential-socket","workload-certs","istio-data",` + vols
	}
	return `{"initContainers":["istio-init"],"containers":["istio-proxy"],"volumes":[` + vols + `],"imagePullSecrets":null,"revision":"default"}`
}
