// Package facts holds the derived facts several analyzers share: the mesh
// configuration in force and the versions of mesh components. Each is an
// analysis.Fact, computed once per run.
package facts

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/wrapperspb"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// Mesh is the mesh configuration in force and where it came from.
type Mesh struct {
	Config *meshv1alpha1.MeshConfig
	// Source says where Config came from: "--mesh-config FILE", the istio
	// ConfigMap, or "Istio defaults".
	Source string
	// ConfigMap is the istio ConfigMap read, if any.
	ConfigMap *snapshot.Object
}

// RootNamespace is the namespace whose mesh-wide policies apply everywhere.
func (m *Mesh) RootNamespace() string { return m.Config.GetRootNamespace() }

// TrustDomain of the mesh's workload identities.
func (m *Mesh) TrustDomain() string { return m.Config.GetTrustDomain() }

// AutoMTLS tells whether clients upgrade to mTLS on their own.
func (m *Mesh) AutoMTLS() bool { return m.Config.GetEnableAutoMtls().GetValue() }

// DefaultIstioNamespace is where istiod and its ConfigMap live by default.
const DefaultIstioNamespace = "istio-system"

// MeshConfig is the fact: --mesh-config if given, else the `istio`
// ConfigMap (in istio-system, or any namespace when there is exactly one),
// else Istio's defaults. Defaults fill what the source leaves unset.
var MeshConfig = &analysis.Fact{
	Name:  "mesh-config",
	Doc:   "The MeshConfig in force: --mesh-config, the istio ConfigMap, or Istio's defaults.",
	Reads: map[schema.GroupKind][]string{snapshot.KindConfigMap: {"data"}},
	Run: func(p *analysis.Pass) (any, error) {
		if len(p.Options.MeshConfig) > 0 {
			cfg, err := ParseMeshConfig(p.Options.MeshConfig)
			if err != nil {
				return nil, fmt.Errorf("--mesh-config %s: %w", p.Options.MeshConfigFile, err)
			}
			return &Mesh{Config: cfg, Source: "--mesh-config " + p.Options.MeshConfigFile}, nil
		}
		cm := IstioConfigMap(p.Snapshot)
		if cm == nil {
			return &Mesh{Config: withDefaults(&meshv1alpha1.MeshConfig{}), Source: "Istio defaults"}, nil
		}
		data := cm.Typed.(*corev1.ConfigMap).Data["mesh"]
		cfg, err := ParseMeshConfig([]byte(data))
		if err != nil {
			return nil, fmt.Errorf("ConfigMap %s key mesh: %w", cm.Ref(), err)
		}
		return &Mesh{Config: cfg, Source: "ConfigMap " + cm.Ref(), ConfigMap: cm}, nil
	},
}

// IstioConfigMap is the istio ConfigMap the mesh configuration is read
// from: the one in istio-system, else the only one in the input (nil when
// there are several elsewhere).
func IstioConfigMap(s *snapshot.Snapshot) *snapshot.Object {
	if cm := s.Get(snapshot.KindConfigMap, DefaultIstioNamespace, "istio"); cm != nil {
		return cm
	}
	var found *snapshot.Object
	for _, ns := range s.Namespaces() {
		if cm := s.Get(snapshot.KindConfigMap, ns, "istio"); cm != nil {
			if found != nil {
				return nil // ambiguous: leave it to defaults rather than guess
			}
			found = cm
		}
	}
	return found
}

// ParseMeshConfig reads MeshConfig YAML or JSON; an istio ConfigMap given
// whole is accepted too (its mesh key is read). Unknown fields are ignored,
// as istiod ignores them.
func ParseMeshConfig(b []byte) (*meshv1alpha1.MeshConfig, error) {
	js, err := yaml.YAMLToJSON(b)
	if err != nil {
		return nil, err
	}
	var cm corev1.ConfigMap
	if yaml.Unmarshal(b, &cm) == nil && cm.Kind == "ConfigMap" {
		js, err = yaml.YAMLToJSON([]byte(cm.Data["mesh"]))
		if err != nil {
			return nil, fmt.Errorf("key mesh: %w", err)
		}
	}
	cfg := &meshv1alpha1.MeshConfig{}
	if s := string(js); s != "null" && s != "" {
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(js, cfg); err != nil {
			return nil, err
		}
	}
	return withDefaults(cfg), nil
}

// withDefaults fills the fields meshdoctor reads with istiod's defaults
// (pkg/config/mesh: root namespace istio-system, trust domain cluster.local,
// auto mTLS on, outbound traffic ALLOW_ANY).
func withDefaults(c *meshv1alpha1.MeshConfig) *meshv1alpha1.MeshConfig {
	if c.RootNamespace == "" {
		c.RootNamespace = DefaultIstioNamespace
	}
	if c.TrustDomain == "" {
		c.TrustDomain = "cluster.local"
	}
	if c.EnableAutoMtls == nil {
		c.EnableAutoMtls = wrapperspb.Bool(true)
	}
	if c.OutboundTrafficPolicy == nil {
		c.OutboundTrafficPolicy = &meshv1alpha1.MeshConfig_OutboundTrafficPolicy{Mode: meshv1alpha1.MeshConfig_OutboundTrafficPolicy_ALLOW_ANY}
	}
	return c
}
