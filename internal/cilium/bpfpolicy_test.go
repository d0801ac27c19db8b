package cilium

import "testing"

var frontendLabels = []string{
	"k8s:app=frontend",
	"k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=prod",
	"k8s:io.cilium.k8s.policy.cluster=default",
	"k8s:io.cilium.k8s.policy.serviceaccount=frontend",
	"k8s:io.kubernetes.pod.namespace=prod",
}

// ordersPolicyEntries are the entries of bpf-policy-get.txt starting at
// line first, with the given endpoint and map path.
func ordersPolicyEntries(first int, ep uint32, path string) []PolicyEntry {
	return []PolicyEntry{
		{Line: first, EndpointID: ep, MapPath: path, Action: "Allow", Direction: "Ingress", Labels: []string{"reserved:host"}, Identity: IdentityHost, HasIdentity: true,
			PortProto: "ANY", Proto: "ANY", ProxyPort: 0, AuthType: "disabled", Bytes: 1204322, Packets: 14410, HasStats: true},
		{Line: first + 1, EndpointID: ep, MapPath: path, Action: "Allow", Direction: "Ingress", Labels: frontendLabels,
			PortProto: "8080/TCP", Proto: "TCP", Port: 8080, PortEnd: 8080, AuthType: "disabled", Bytes: 88213, Packets: 702, HasStats: true, Prefix: 24},
		{Line: first + 6, EndpointID: ep, MapPath: path, Action: "Allow", Direction: "Ingress", Labels: []string{"reserved:kube-apiserver", "reserved:remote-node"},
			Identity: IdentityKubeAPIServer, HasIdentity: true, PortProto: "8080/TCP", Proto: "TCP", Port: 8080, PortEnd: 8080, AuthType: "disabled", HasStats: true, Prefix: 24},
		{Line: first + 8, EndpointID: ep, MapPath: path, Action: "Allow", Direction: "Egress", Labels: []string{"ANY"}, HasIdentity: true, Wildcard: true,
			PortProto: "ANY", Proto: "ANY", AuthType: "disabled", Bytes: 5530012, Packets: 40211, HasStats: true},
	}
}

func TestParseBPFPolicyTestdata(t *testing.T) {
	got, errs := ParseBPFPolicy(readTestdata(t, "bpf-policy-get.txt"))
	noErrors(t, errs)
	deepEqual(t, "entries", got, ordersPolicyEntries(2, 0, ""))

	got, errs = ParseBPFPolicy(readTestdata(t, "bpf-policy-get-1.12.txt"))
	noErrors(t, errs)
	deepEqual(t, "1.12 entries", got, []PolicyEntry{
		{Line: 2, Action: "Allow", Direction: "Ingress", Labels: []string{"reserved:unknown"}, HasIdentity: true, Wildcard: true,
			PortProto: "9999/TCP", Proto: "TCP", Port: 9999, PortEnd: 9999, HasStats: true},
		{Line: 3, Action: "Allow", Direction: "Ingress", Labels: []string{"reserved:host"}, Identity: IdentityHost, HasIdentity: true,
			PortProto: "ANY", Proto: "ANY", Bytes: 408725, Packets: 5154, HasStats: true},
		{Line: 4, Action: "Allow", Direction: "Ingress", Labels: []string{"k8s:app=frontend", "k8s:io.kubernetes.pod.namespace=prod"},
			PortProto: "8080/TCP", Proto: "TCP", Port: 8080, PortEnd: 8080, Bytes: 11824851, Packets: 910, HasStats: true},
		{Line: 6, Action: "Allow", Direction: "Egress", Labels: []string{"reserved:unknown"}, HasIdentity: true, Wildcard: true,
			PortProto: "ANY", Proto: "ANY", Bytes: 990293, Packets: 6509, HasStats: true},
	})

	got, errs = ParseBPFPolicy(readTestdata(t, "bpf-policy-get-all.txt"))
	noErrors(t, errs)
	const p512, p1317 = "/sys/fs/bpf/tc/globals/cilium_policy_00512", "/sys/fs/bpf/tc/globals/cilium_policy_01317"
	want := []PolicyEntry{
		{Line: 5, EndpointID: 512, MapPath: p512, Action: "Allow", Direction: "Ingress", Labels: []string{"reserved:host"}, Identity: IdentityHost, HasIdentity: true,
			PortProto: "ANY", Proto: "ANY", AuthType: "disabled", Bytes: 30111, Packets: 402, HasStats: true},
		{Line: 6, EndpointID: 512, MapPath: p512, Action: "Allow", Direction: "Ingress", Labels: []string{"reserved:remote-node"}, Identity: IdentityRemoteNode, HasIdentity: true,
			PortProto: "ANY", Proto: "ANY", AuthType: "disabled", Bytes: 2048, Packets: 32, HasStats: true},
		{Line: 7, EndpointID: 512, MapPath: p512, Action: "Allow", Direction: "Egress", Labels: []string{"ANY"}, HasIdentity: true, Wildcard: true,
			PortProto: "ANY", Proto: "ANY", AuthType: "disabled", HasStats: true},
	}
	deepEqual(t, "--all entries", got, append(want, ordersPolicyEntries(14, 1317, p1317)...))
}

func TestParseBPFPolicyForms(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []PolicyEntry
	}{
		{"numeric, no stats, cookie",
			"POLICY   DIRECTION   IDENTITY   PORT/PROTO   PROXY PORT   AUTH TYPE   BYTES   PACKETS   PREFIX   COOKIE\n" +
				"Allow    Ingress     2          8080/TCP     15001        disabled    -       -         24       0\n" +
				"Deny     Ingress     16777217   ANY          NONE         disabled    0       0         0        12\n",
			[]PolicyEntry{
				{Line: 2, Action: "Allow", Direction: "Ingress", Identity: IdentityWorld, HasIdentity: true, PortProto: "8080/TCP", Proto: "TCP", Port: 8080, PortEnd: 8080,
					ProxyPort: 15001, AuthType: "disabled", Prefix: 24},
				{Line: 3, Action: "Deny", Direction: "Ingress", Identity: 16777217, HasIdentity: true, PortProto: "ANY", Proto: "ANY",
					AuthType: "disabled", HasStats: true, Cookie: 12},
			}},
		{"without a header: Cilium < 1.9, and 1.15 columns",
			"Ingress reserved:world 80/TCP NONE 0 0\nAllow Egress reserved:world-ipv6 UDP NONE disabled 1 2 8\n",
			[]PolicyEntry{
				{Line: 1, Action: "Allow", Direction: "Ingress", Labels: []string{"reserved:world"}, Identity: IdentityWorld, HasIdentity: true,
					PortProto: "80/TCP", Proto: "TCP", Port: 80, PortEnd: 80, HasStats: true},
				{Line: 2, Action: "Allow", Direction: "Egress", Labels: []string{"reserved:world-ipv6"}, Identity: IdentityWorldIPv6, HasIdentity: true,
					PortProto: "UDP", Proto: "UDP", AuthType: "disabled", Bytes: 1, Packets: 2, HasStats: true, Prefix: 8},
			}},
		{"older --all section header, port ranges",
			"/sys/fs/bpf/tc/globals/cilium_policy_02636:\n\n" +
				"POLICY DIRECTION LABELS (source:key[=value]) PORT/PROTO PROXY PORT BYTES PACKETS\n" +
				"Allow Ingress cidr:10.244.0.0/16 80-95/TCP NONE 0 0\n" +
				"reserved:world\n" +
				"Allow Ingress k8s:app=a 0x50/12/TCP NONE 0 0\n" +
				"Allow Ingress k8s:app=b <INVALID PREFIX LENGTH: 3> NONE 0 0\n",
			[]PolicyEntry{
				{Line: 4, EndpointID: 2636, MapPath: "/sys/fs/bpf/tc/globals/cilium_policy_02636", Action: "Allow", Direction: "Ingress",
					Labels: []string{"cidr:10.244.0.0/16", "reserved:world"}, PortProto: "80-95/TCP", Proto: "TCP", Port: 80, PortEnd: 95, HasStats: true},
				{Line: 6, EndpointID: 2636, MapPath: "/sys/fs/bpf/tc/globals/cilium_policy_02636", Action: "Allow", Direction: "Ingress",
					Labels: []string{"k8s:app=a"}, PortProto: "0x50/12/TCP", Proto: "TCP", Port: 80, PortEnd: 95, HasStats: true},
				{Line: 7, EndpointID: 2636, MapPath: "/sys/fs/bpf/tc/globals/cilium_policy_02636", Action: "Allow", Direction: "Ingress",
					Labels: []string{"k8s:app=b"}, PortProto: "<INVALID PREFIX LENGTH: 3>", HasStats: true},
			}},
		{"empty map and notices",
			"Defaulted container \"cilium-agent\" out of: cilium-agent\nPOLICY   DIRECTION   LABELS (source:key[=value])   PORT/PROTO   PROXY PORT   BYTES   PACKETS\nPolicy stats empty. Perhaps the policy enforcement is disabled?\n",
			nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, errs := ParseBPFPolicy([]byte(tc.in))
			noErrors(t, errs)
			deepEqual(t, "entries", got, tc.want)
		})
	}
}

func TestParseBPFPolicyErrors(t *testing.T) {
	in := `k8s:app=orphan
Allow Ingress reserved:host ANY NONE disabled 0 0 0 0 0
Endpoint ID: twelve
POLICY DIRECTION LABELS (source:key[=value]) PORT/PROTO PROXY PORT BYTES PACKETS
k8s:app=orphan
Permit Ingress reserved:host ANY NONE 0 0
Allow Sideways reserved:host ANY NONE 0 0
Allow Ingress reserved:host ANY NONE many 0
Allow Ingress reserved:host ANY none 0 0
Allow Ingress reserved:host 99999/TCP NONE 0 0
Allow Ingress reserved:host 95-80/TCP NONE 0 0
Allow Ingress reserved:host 0x50/17/TCP NONE 0 0
Allow Ingress reserved:host a/b/c/TCP NONE 0 0
Allow Ingress reserved:host ANY NONE 0 0 extra
Allow Ingress reserved:host ANY NONE 0
`
	got, errs := ParseBPFPolicy([]byte(in))
	if len(got) != 0 {
		t.Errorf("entries: %+v", got)
	}
	wantErrors(t, errs,
		"1: label continuation line without an entry above it",
		"2: table row before the table's header",
		`3: endpoint ID: "twelve" is not a number`,
		"5: label continuation line without an entry above it",
		`6: policy "Permit" is neither Allow nor Deny`,
		`7: direction "Sideways" is neither Ingress nor Egress`,
		`8: BYTES "many" is not a number`,
		`9: PROXY PORT "none" is not a number`,
		`10: PORT/PROTO "99999/TCP" is not ANY, a protocol, or port[-port]/protocol`,
		`11: PORT/PROTO "95-80/TCP" is not ANY, a protocol, or port[-port]/protocol`,
		`12: PORT/PROTO "0x50/17/TCP" is not ANY, a protocol, or port[-port]/protocol`,
		`13: PORT/PROTO "a/b/c/TCP" is not ANY, a protocol, or port[-port]/protocol`,
		"14: 1 more words than the table has columns",
		"15: row ends before its PACKETS column",
	)
}
