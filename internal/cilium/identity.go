package cilium

import (
	"strconv"
	"strings"
)

// Identity is a Cilium numeric security identity.
//
// Bits 0-15 are the identity within its cluster, bits 16-23 the ClusterMesh
// cluster ID, and bit 24 marks a node-local identity (CIDR and FQDN
// selectors). Identities below 256 are reserved; those with a name are
// listed below (pkg/identity/numericidentity.go upstream).
type Identity uint32

// Reserved identities, as numbered in Cilium's pkg/identity/numericidentity.go.
const (
	IdentityUnknown       Identity = 0
	IdentityHost          Identity = 1
	IdentityWorld         Identity = 2
	IdentityUnmanaged     Identity = 3
	IdentityHealth        Identity = 4
	IdentityInit          Identity = 5
	IdentityRemoteNode    Identity = 6
	IdentityKubeAPIServer Identity = 7
	IdentityIngress       Identity = 8
	IdentityWorldIPv4     Identity = 9  // dual-stack clusters split world by family
	IdentityWorldIPv6     Identity = 10 // dual-stack clusters split world by family
	// IdentityEncryptedOverlay marks overlay traffic to be IPsec-encrypted;
	// it never appears on the wire (newer Cilium).
	IdentityEncryptedOverlay Identity = 11

	// IdentityMinimalAllocated is the first identity the allocator hands
	// out; everything below is reserved (100-115 are the well-known
	// identities of kube-dns, coredns, cilium-operator and the like, and
	// 128-255 are reserved for users).
	IdentityMinimalAllocated Identity = 256

	// IdentityLocalFlag is bit 24, set on node-local (CIDR, FQDN) identities.
	IdentityLocalFlag Identity = 1 << 24
)

var reservedNames = [...]string{
	IdentityUnknown:          "unknown",
	IdentityHost:             "host",
	IdentityWorld:            "world",
	IdentityUnmanaged:        "unmanaged",
	IdentityHealth:           "health",
	IdentityInit:             "init",
	IdentityRemoteNode:       "remote-node",
	IdentityKubeAPIServer:    "kube-apiserver",
	IdentityIngress:          "ingress",
	IdentityWorldIPv4:        "world-ipv4",
	IdentityWorldIPv6:        "world-ipv6",
	IdentityEncryptedOverlay: "overlay-to-encrypt",
}

// ReservedName is the name of a named reserved identity ("world",
// "remote-node", ...), the one `reserved:<name>` labels and Hubble's
// "(world)" use, and false for any other identity.
func (id Identity) ReservedName() (string, bool) {
	if int(id) < len(reservedNames) {
		return reservedNames[id], true
	}
	return "", false
}

// IsReserved reports whether id is below the first allocated identity
// (256): a named reserved identity, a well-known one or a user-reserved one.
func (id Identity) IsReserved() bool { return id < IdentityMinimalAllocated }

// IsWorld reports whether id stands for "outside the cluster": world, or
// its dual-stack halves world-ipv4 and world-ipv6. Cilium gives it to any
// source address it has no entry for in its ipcache.
func (id Identity) IsWorld() bool {
	return id == IdentityWorld || id == IdentityWorldIPv4 || id == IdentityWorldIPv6
}

// IsNode reports whether id is one of the node identities (host,
// remote-node, kube-apiserver): traffic Cilium attributes to a node rather
// than to a pod, e.g. after another CNI masqueraded it to the node address.
func (id Identity) IsNode() bool {
	return id == IdentityHost || id == IdentityRemoteNode || id == IdentityKubeAPIServer
}

// IsLocal reports whether the node-local bit (24) is set.
func (id Identity) IsLocal() bool { return id&IdentityLocalFlag != 0 }

// ClusterID is the ClusterMesh cluster ID in bits 16-23.
func (id Identity) ClusterID() uint8 { return uint8(id >> 16) }

// String prints a named reserved identity by name and any other by number,
// as Cilium's NumericIdentity does.
func (id Identity) String() string {
	if n, ok := id.ReservedName(); ok {
		return n
	}
	return strconv.FormatUint(uint64(id), 10)
}

// ParseIdentity reads an identity as the tools print it: a number
// ("12345"), Hubble's "ID:12345", a reserved name ("world") or a reserved
// label ("reserved:world"). Surrounding parentheses, as in Hubble's
// "(ID:12345)", are accepted.
func ParseIdentity(s string) (Identity, bool) {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "("), ")")
	s = strings.TrimPrefix(s, "ID:")
	s = strings.TrimPrefix(s, "reserved:")
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return Identity(n), true
	}
	for i, n := range reservedNames {
		if n == s {
			return Identity(i), true
		}
	}
	return 0, false
}
