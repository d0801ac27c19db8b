package workload

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// Ref is what an env or envFrom entry reads: a ConfigMap or Secret, and for
// env entries one key of it.
type Ref struct {
	Kind     schema.GroupKind // KindConfigMap or KindSecret
	Name     string
	Key      string // empty for envFrom
	Optional bool
	Target   *snapshot.Object // nil when absent or not checked
}

// Shadow is an explicit env entry that replaces a key an envFrom source
// provides (the kubelet applies envFrom first, then env).
type Shadow struct {
	Source      *snapshot.Object
	EnvFrom     int    // index of the envFrom entry
	SourceValue string // the ConfigMap's value; empty for Secrets
	Differs     bool   // false when both give the same value
}

// Entry is one env or envFrom entry of one container.
type Entry struct {
	Object    *snapshot.Object
	Container snapshot.Container
	// Index of the entry in the container's env or envFrom (see Path).
	Index   int
	EnvFrom bool
	Name    string // env name; empty for envFrom
	Env     *corev1.EnvVar
	Ref     *Ref
	// Failure is the kubelet's error when the reference cannot resolve and
	// is not optional, e.g. "couldn't find key k in ConfigMap ns/name".
	Failure string
	// Unchecked names why the reference could not be checked.
	Unchecked string
	Shadow    *Shadow
}

// List is the container field the entry is in: "env" or "envFrom".
func (e *Entry) List() string {
	if e.EnvFrom {
		return "envFrom"
	}
	return "env"
}

// Path is the entry's path inside Object (….env[3] or ….envFrom[0]), made
// only for findings: most entries never need it.
func (e *Entry) Path() snapshot.Path { return e.Container.Path().Child(e.List(), e.Index) }

// Env is every env and envFrom entry of every workload that a check can
// report, resolved once: envFrom entries, env entries with a reference or
// that shadow an envFrom key, and every env entry of DaemonSets (istio-cni's
// settings). A plain `value:` entry elsewhere can be wrong in no way these
// checks know, and sidecars carry dozens of them per pod.
type Env struct {
	Entries []*Entry
}

// containerReads are the fields of a container env resolution reads;
// projection paths run through lists, so they apply to every container.
func containerReads(spec string) []string {
	var out []string
	for _, list := range []string{".containers", ".initContainers"} {
		for _, f := range []string{".name", ".env", ".envFrom"} {
			out = append(out, spec+list+f)
		}
	}
	return out
}

// templateReads are the parts of a pod template env resolution reads.
func templateReads(prefix string) []string {
	return append([]string{prefix + ".metadata"}, containerReads(prefix+".spec")...)
}

// envReads is what EnvResolution reads of each kind.
var envReads = map[schema.GroupKind][]string{
	snapshot.KindPod:         containerReads("spec"),
	snapshot.KindDeployment:  templateReads("spec.template"),
	snapshot.KindDaemonSet:   templateReads("spec.template"),
	snapshot.KindStatefulSet: templateReads("spec.template"),
	snapshot.KindReplicaSet:  templateReads("spec.template"),
	snapshot.KindJob:         templateReads("spec.template"),
	snapshot.KindCronJob:     templateReads("spec.jobTemplate.spec.template"),
	snapshot.KindConfigMap:   {"data", "binaryData"},
	snapshot.KindSecret:      {"type", "data", "stringData"},
}

// EnvResolution resolves every env/envFrom reference against the ConfigMaps
// and Secrets in the snapshot, and finds explicit entries that shadow
// envFrom keys, predicting exactly what the kubelet will do.
var EnvResolution = &analysis.Fact{
	Name:  "env-resolution",
	Doc:   "Every container env/envFrom reference resolved against ConfigMaps and Secrets, with kubelet precedence.",
	Reads: envReads,
	Run: func(p *analysis.Pass) (any, error) {
		r := &resolver{s: p.Snapshot}
		for _, gk := range snapshot.WorkloadKinds {
			for _, o := range p.Snapshot.List(gk) {
				spec, at, _, ok := snapshot.PodSpecOf(o)
				if !ok {
					continue
				}
				for c := range snapshot.Containers(spec, at) {
					r.container(o, c)
				}
			}
		}
		return &Env{Entries: r.out}, nil
	},
}

// envProvider is the source of an env name that envFrom provides.
type envProvider struct {
	obj    *snapshot.Object
	index  int
	value  string
	binary []byte
	secret bool
	hash   string // of a Secret's value; ConfigMap values are hashed only when shadowed
}

func (p envProvider) valueHash() string {
	switch {
	case p.secret:
		return p.hash
	case p.binary != nil:
		return hash(p.binary)
	}
	return hash([]byte(p.value))
}

// envSource is an envFrom entry whose ConfigMap or Secret is in the input.
type envSource struct {
	index  int // in the container's envFrom
	prefix string
	obj    *snapshot.Object
	cm     *corev1.ConfigMap // nil for a Secret
}

// providerOf returns the envFrom source that gives the env name, in
// kubelet order: a later source overrides an earlier one. Looked up per
// env entry rather than by listing every key every source provides: a
// shared ConfigMap can hold hundreds of keys and few entries shadow one.
func providerOf(sources []envSource, name string) (envProvider, bool) {
	for j := len(sources) - 1; j >= 0; j-- {
		src := &sources[j]
		k, ok := strings.CutPrefix(name, src.prefix)
		if !ok {
			continue
		}
		if sec := src.obj.Secret; sec != nil {
			if sk, ok := sec.Keys[k]; ok {
				return envProvider{obj: src.obj, index: src.index, secret: true, hash: sk.SHA256}, true
			}
		}
		if cm := src.cm; cm != nil {
			if v, ok := cm.BinaryData[k]; ok {
				return envProvider{obj: src.obj, index: src.index, binary: v}, true
			}
			if v, ok := cm.Data[k]; ok {
				return envProvider{obj: src.obj, index: src.index, value: v}, true
			}
		}
	}
	return envProvider{}, false
}

// resolver resolves the entries of container after container into one
// list. Entries and references are taken from blocks, not allocated one
// by one: at 50k objects there are ~100k of them.
type resolver struct {
	s       *snapshot.Snapshot
	out     []*Entry
	entries block[Entry]
	refs    block[Ref]
	sources []envSource // of the container being resolved
	// resolved holds the entries of the env and envFrom lists resolved
	// so far, by namespace and list. The loader shares a list among the
	// objects that repeat its text (decode.Memo): the Pods of a
	// ReplicaSet and its template (at 50k objects, 37k containers hold
	// 3.3k lists). Such a list resolves the same in one namespace.
	resolved map[envLists][]Entry
}

// envLists identifies a container's env and envFrom lists by their
// memory, and the namespace and kind of workload they are resolved for.
type envLists struct {
	ns        string
	env       *corev1.EnvVar
	nEnv      int
	envFrom   *corev1.EnvFromSource
	nEnvFrom  int
	keepPlain bool
}

// block hands out values from slices of 256: one allocation per block.
type block[T any] []T

func (b *block[T]) new(v T) *T {
	if len(*b) == 0 {
		*b = make([]T, 256)
	}
	p := &(*b)[0]
	*b = (*b)[1:]
	*p = v
	return p
}

// container resolves c's envFrom and env entries and appends them to out:
// resolved again, or copied from a container with the same lists.
func (r *resolver) container(o *snapshot.Object, c snapshot.Container) {
	key := envLists{
		ns: o.Key.Namespace, keepPlain: o.Key.GroupKind() == snapshot.KindDaemonSet,
		env: unsafe.SliceData(c.C.Env), nEnv: len(c.C.Env),
		envFrom: unsafe.SliceData(c.C.EnvFrom), nEnvFrom: len(c.C.EnvFrom),
	}
	if key.nEnv == 0 && key.nEnvFrom == 0 {
		return
	}
	if done, ok := r.resolved[key]; ok {
		for _, d := range done {
			e := r.entries.new(d)
			e.Object, e.Container = o, c
			r.out = append(r.out, e)
		}
		return
	}
	start := len(r.out)
	r.resolve(o, c, key.keepPlain)
	done := make([]Entry, len(r.out)-start)
	for i, e := range r.out[start:] {
		done[i] = *e
	}
	if r.resolved == nil {
		r.resolved = map[envLists][]Entry{}
	}
	r.resolved[key] = done
}

// resolve resolves c's envFrom and env entries and appends them to out.
func (r *resolver) resolve(o *snapshot.Object, c snapshot.Container, keepPlain bool) {
	s, ns := r.s, o.Key.Namespace
	sources := r.sources[:0]
	for i := range c.C.EnvFrom {
		ef := &c.C.EnvFrom[i]
		var ref Ref
		switch {
		case ef.ConfigMapRef != nil:
			ref = Ref{Kind: snapshot.KindConfigMap, Name: ef.ConfigMapRef.Name, Optional: isTrue(ef.ConfigMapRef.Optional)}
		case ef.SecretRef != nil:
			ref = Ref{Kind: snapshot.KindSecret, Name: ef.SecretRef.Name, Optional: isTrue(ef.SecretRef.Optional)}
		default:
			continue
		}
		e := r.entries.new(Entry{Object: o, Container: c, Index: i, EnvFrom: true, Ref: r.refs.new(ref)})
		resolve(s, ns, e)
		if t := e.Ref.Target; t != nil {
			cm, _ := t.Typed.(*corev1.ConfigMap)
			sources = append(sources, envSource{index: i, prefix: ef.Prefix, obj: t, cm: cm})
		}
		r.out = append(r.out, e)
	}
	r.sources = sources
	for i := range c.C.Env {
		ev := &c.C.Env[i]
		var ref *Ref
		if vf := ev.ValueFrom; vf != nil {
			switch {
			case vf.ConfigMapKeyRef != nil:
				ref = r.refs.new(Ref{Kind: snapshot.KindConfigMap, Name: vf.ConfigMapKeyRef.Name, Key: vf.ConfigMapKeyRef.Key, Optional: isTrue(vf.ConfigMapKeyRef.Optional)})
			case vf.SecretKeyRef != nil:
				ref = r.refs.new(Ref{Kind: snapshot.KindSecret, Name: vf.SecretKeyRef.Name, Key: vf.SecretKeyRef.Key, Optional: isTrue(vf.SecretKeyRef.Optional)})
			}
		}
		pr, shadows := providerOf(sources, ev.Name)
		if ref == nil && !shadows && !keepPlain {
			continue // see Env: nothing to check on a plain value
		}
		e := r.entries.new(Entry{Object: o, Container: c, Index: i, Name: ev.Name, Env: ev, Ref: ref})
		if e.Ref != nil {
			resolve(s, ns, e)
		}
		if shadows {
			sh := &Shadow{Source: pr.obj, EnvFrom: pr.index, Differs: true}
			if _, isCM := pr.obj.Typed.(*corev1.ConfigMap); isCM {
				sh.SourceValue = pr.value
			}
			switch {
			case ev.ValueFrom == nil:
				sh.Differs = hash([]byte(ev.Value)) != pr.valueHash()
			case e.Ref != nil && e.Ref.Target == pr.obj && e.Ref.Key == ev.Name:
				sh.Differs = false // reads the very key envFrom provides
			}
			e.Shadow = sh
		}
		r.out = append(r.out, e)
	}
}

// resolve looks the reference up and predicts the kubelet's error.
func resolve(s *snapshot.Snapshot, ns string, e *Entry) {
	r := e.Ref
	if !s.Covers(r.Kind, ns) {
		e.Unchecked = fmt.Sprintf("%ss of namespace %s are not in the input", r.Kind.Kind, ns)
		return
	}
	r.Target = s.Get(r.Kind, ns, r.Name)
	if r.Target == nil {
		if !r.Optional {
			e.Failure = fmt.Sprintf("%s %q not found", strings.ToLower(r.Kind.Kind), r.Name)
		}
		return
	}
	if r.Key == "" || r.Optional {
		return
	}
	if r.Target.MetadataOnly {
		e.Unchecked = fmt.Sprintf("the keys of %s were not read (live Secrets are read as metadata only; run with --read-secrets)", r.Target.Ref())
		return
	}
	if !hasKey(r.Target, r.Key) {
		e.Failure = fmt.Sprintf("couldn't find key %s in %s %s/%s", r.Key, r.Kind.Kind, ns, r.Name)
	}
}

func hasKey(o *snapshot.Object, key string) bool {
	if o.Secret != nil {
		return o.Secret.HasKey(key)
	}
	cm, ok := o.Typed.(*corev1.ConfigMap)
	if !ok {
		return false
	}
	if _, ok := cm.Data[key]; ok {
		return true
	}
	_, ok = cm.BinaryData[key]
	return ok
}

func isTrue(b *bool) bool { return b != nil && *b }

func hash(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
