package netpol

import (
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// The policy kinds evaluated here. NetworkPolicy decodes as a typed
// *networkingv1.NetworkPolicy; the Cilium kinds are not in the scheme and
// arrive as *unstructured.Unstructured.
var (
	KindNetworkPolicy                  = schema.GroupKind{Group: "networking.k8s.io", Kind: "NetworkPolicy"}
	KindCiliumNetworkPolicy            = schema.GroupKind{Group: "cilium.io", Kind: "CiliumNetworkPolicy"}
	KindCiliumClusterwideNetworkPolicy = schema.GroupKind{Group: "cilium.io", Kind: "CiliumClusterwideNetworkPolicy"}
	// KindCiliumCIDRGroup holds the CIDRs a fromCIDRSet/toCIDRSet
	// cidrGroupRef names.
	KindCiliumCIDRGroup = schema.GroupKind{Group: "cilium.io", Kind: "CiliumCIDRGroup"}
	// KindCiliumNode marks a node Cilium manages (one per agent).
	KindCiliumNode = schema.GroupKind{Group: "cilium.io", Kind: "CiliumNode"}
)

// PolicyKinds are the kinds an Evaluator reads; an analyzer that needs any
// policy at all can declare analysis.Kinds(PolicyKinds...).
var PolicyKinds = []schema.GroupKind{KindNetworkPolicy, KindCiliumNetworkPolicy, KindCiliumClusterwideNetworkPolicy}

// Reads declares the fields the Evaluator reads, per kind, for
// analysis.Fact.Reads and Analyzer.Reads.
var Reads = map[schema.GroupKind][]string{
	KindNetworkPolicy:                  {"spec"},
	KindCiliumNetworkPolicy:            {"spec", "specs"},
	KindCiliumClusterwideNetworkPolicy: {"spec", "specs"},
	KindCiliumCIDRGroup:                {"spec"},
	KindCiliumNode:                     {},
	snapshot.KindNamespace:             {},
	snapshot.KindConfigMap:             {"data"},
	snapshot.KindPod: {
		"spec.containers.name", "spec.containers.ports", "spec.initContainers.name", "spec.initContainers.ports", "spec.nodeName", "spec.serviceAccountName",
		"status.podIP", "status.podIPs",
	},
	snapshot.KindNode:        {"status.addresses"},
	snapshot.KindDeployment:  template("spec.template."),
	snapshot.KindDaemonSet:   template("spec.template."),
	snapshot.KindStatefulSet: template("spec.template."),
	snapshot.KindReplicaSet:  template("spec.template."),
	snapshot.KindJob:         template("spec.template."),
	snapshot.KindCronJob:     template("spec.jobTemplate.spec.template."),
}

// template lists the pod-template fields read from a controller whose
// template sits at prefix (policy selection by template labels, named
// ports, service account).
func template(prefix string) []string {
	// Named ports need only the containers' ports: whole containers would
	// decode every env entry and probe of every workload.
	return []string{prefix + "metadata", prefix + "spec.containers.name", prefix + "spec.containers.ports", prefix + "spec.initContainers.name", prefix + "spec.initContainers.ports", prefix + "spec.serviceAccountName"}
}
