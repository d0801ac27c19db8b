package analysis

// Options carries what the user gave that is not a Kubernetes object.
type Options struct {
	// MeshConfig is the content of --mesh-config (a MeshConfig YAML, or the
	// istio ConfigMap), and MeshConfigFile its name; empty when not given.
	MeshConfig     []byte
	MeshConfigFile string
}
