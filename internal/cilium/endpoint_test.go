package cilium

import "testing"

func TestParseEndpointListTestdata(t *testing.T) {
	eps, errs := ParseEndpointList(readTestdata(t, "endpoint-list.txt"))
	noErrors(t, errs)
	want := []Endpoint{
		{Line: 3, ID: 94, Ingress: EnforcementDisabled, Egress: EnforcementDisabled, Identity: IdentityHost, HasIdentity: true,
			Labels: []string{"k8s:node-role.kubernetes.io/worker", "k8s:topology.kubernetes.io/zone=eu-west-1b", "reserved:host"}, State: "ready"},
		{Line: 6, ID: 512, Ingress: EnforcementDisabled, Egress: EnforcementDisabled, Identity: IdentityHealth, HasIdentity: true,
			Labels: []string{"reserved:health"}, IPv4: ip("10.0.1.23"), IPv6: ip("fd00:10:244:1::5c2e"), State: "ready"},
		{Line: 7, ID: 1317, Ingress: EnforcementEnabled, Egress: EnforcementDisabled, Identity: 23456, HasIdentity: true,
			Labels: ordersLabels, IPv4: ip("10.0.1.5"), IPv6: ip("fd00:10:244:1::9a1"), State: "ready", Namespace: "prod"},
		{Line: 12, ID: 2071, Ingress: EnforcementAudit, Egress: EnforcementDisabled, Identity: 31877, HasIdentity: true,
			Labels: []string{"k8s:app=billing", "k8s:io.kubernetes.pod.namespace=prod"}, IPv4: ip("10.0.1.88"), State: "ready", Namespace: "prod"},
		{Line: 14, ID: 3306, Ingress: EnforcementDisabled, Egress: EnforcementDisabled, Labels: []string{"no labels"}, IPv4: ip("10.0.1.140"), State: "waiting-for-identity"},
	}
	deepEqual(t, "endpoints", eps, want)
	if !eps[2].Enforced("ingress") || eps[2].Enforced("egress") || eps[3].Enforced("ingress") {
		t.Error("Enforced: orders-api enforces ingress only; billing only audits")
	}
	if v, ok := eps[2].Label("app"); !ok || v != "orders-api" {
		t.Errorf(`Label("app") = %q, %v`, v, ok)
	}
	if _, ok := eps[2].Label("tier"); ok {
		t.Error(`Label("tier") found`)
	}
}

func TestParseEndpointListSqueezed(t *testing.T) {
	// Copied from a web page: every run of spaces became one, the empty
	// IPv6 column vanished.
	in := `Defaulted container "cilium-agent" out of: cilium-agent, mount-cgroup (init)
ENDPOINT POLICY (ingress) POLICY (egress) IDENTITY LABELS (source:key[=value]) IPv6 IPv4 STATUS
ENFORCEMENT ENFORCEMENT
1317 Enabled Disabled 23456 k8s:app=orders-api 10.0.1.5 ready
k8s:io.kubernetes.pod.namespace=prod
88 Unknown Unknown 9 reserved:world-ipv4 No address No address restoring
`
	eps, errs := ParseEndpointList([]byte(in))
	noErrors(t, errs)
	deepEqual(t, "endpoints", eps, []Endpoint{
		{Line: 4, ID: 1317, Ingress: EnforcementEnabled, Egress: EnforcementDisabled, Identity: 23456, HasIdentity: true,
			Labels: []string{"k8s:app=orders-api", "k8s:io.kubernetes.pod.namespace=prod"}, IPv4: ip("10.0.1.5"), State: "ready", Namespace: "prod"},
		{Line: 6, ID: 88, Ingress: EnforcementUnknown, Egress: EnforcementUnknown, Identity: IdentityWorldIPv4, HasIdentity: true,
			Labels: []string{"reserved:world-ipv4"}, State: "restoring"},
	})
}

func TestParseEndpointListErrors(t *testing.T) {
	in := `k8s:app=orphan
x1 Enabled Disabled 1 reserved:host ready
7 On Disabled 1 reserved:host ready
7 Enabled Off 1 reserved:host ready
7 Enabled Disabled one reserved:host ready
7 Enabled Disabled 1 reserved:host 10.0.0.999 ready
7 Enabled Disabled 1 reserved:host
7 Enabled Disabled
7 Enabled Disabled (Audit) 3 reserved:unmanaged ready
`
	eps, errs := ParseEndpointList([]byte(in))
	if len(eps) != 1 || eps[0].Line != 9 || eps[0].Egress != EnforcementAudit {
		t.Errorf("endpoints: %+v", eps)
	}
	wantErrors(t, errs,
		"1: label continuation line without an entry above it",
		`2: endpoint ID "x1" is not a number`,
		"3: no ingress enforcement (Enabled, Disabled, Disabled (Audit) or Unknown)",
		"4: no egress enforcement (Enabled, Disabled, Disabled (Audit) or Unknown)",
		`5: identity "one" is not a number`,
		`6: "10.0.0.999" is not an IP address`,
		"7: no status",
		"8: no identity",
	)
}

func TestParseEndpointJSON(t *testing.T) {
	eps, errs := ParseEndpointJSON(readTestdata(t, "endpoint-list.json"))
	noErrors(t, errs)
	want := []Endpoint{
		{Line: 2, ID: 512, Ingress: EnforcementDisabled, Egress: EnforcementDisabled, Identity: IdentityHealth, HasIdentity: true,
			Labels: []string{"reserved:health"}, IPv4: ip("10.0.1.23"), IPv6: ip("fd00:10:244:1::5c2e"), State: "ready"},
		{Line: 69, ID: 1317, Ingress: EnforcementEnabled, Egress: EnforcementDisabled, Identity: 23456, HasIdentity: true,
			Labels: ordersLabels, IPv4: ip("10.0.1.5"), IPv6: ip("fd00:10:244:1::9a1"), State: "ready", Namespace: "prod", PodName: "orders-api-5d9c7b6f4-8kqzt"},
		{Line: 149, ID: 2071, Ingress: EnforcementAudit, Egress: EnforcementDisabled, Identity: 31877, HasIdentity: true,
			Labels: []string{"k8s:app=billing", "k8s:io.kubernetes.pod.namespace=prod"}, IPv4: ip("10.0.1.88"), State: "ready", Namespace: "prod", PodName: "billing-7c9f8b6d4-h4t2w"},
	}
	deepEqual(t, "endpoints", eps, want)
}

func TestParseEndpointJSONCases(t *testing.T) {
	for _, tc := range []struct {
		name   string
		in     string
		ids    []uint32
		lines  []int
		errors []string
	}{
		{"empty", " \n", nil, nil, nil},
		{"one object", `{"id":5,"status":{"state":"ready","external-identifiers":{"pod-name":"ns/p"}}}`, []uint32{5}, []int{1}, nil},
		{"no status, byte order mark", "\ufeff[\n{\"id\":5}\n]", []uint32{5}, []int{2}, nil},
		{"element of the wrong type, then a good one", "[\n\"x\",\n{\"id\":6}\n]", []uint32{6}, []int{3},
			[]string{`2: JSON field "" has a string where a struct was expected`}},
		{"field of the wrong type", "[{\"id\":\"seven\"},{\"id\":8}]", []uint32{8}, []int{1},
			[]string{"1: invalid JSON: not an unsigned number: \"seven\""}},
		{"bad address", `[{"id":9,"status":{"networking":{"addressing":[{"ipv4":"10.0.0.1.2"}]}}}]`, []uint32{9}, []int{1},
			[]string{`1: "10.0.0.1.2" is not an IP address`}},
		{"broken JSON stops the reading", "[\n{\"id\":1},\n{\"id\":2,,}\n,{\"id\":3}]", []uint32{1}, []int{2},
			[]string{"3: invalid JSON at byte 18: invalid character ',' looking for beginning of object key string"}},
		{"not an array", `"endpoints"`, nil, nil, []string{"1: not a JSON array of endpoints"}},
		{"cut after a comma", "[{\"id\":1},\n", []uint32{1}, []int{1}, []string{"1: JSON cut off before its end"}},
		{"unclosed array", "[{\"id\":1}\n", []uint32{1}, []int{1}, []string{"1: JSON array of endpoints not closed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eps, errs := ParseEndpointJSON([]byte(tc.in))
			var ids []uint32
			var lines []int
			for _, e := range eps {
				ids, lines = append(ids, e.ID), append(lines, e.Line)
			}
			deepEqual(t, "ids", ids, tc.ids)
			deepEqual(t, "lines", lines, tc.lines)
			wantErrors(t, errs, tc.errors...)
		})
	}
	eps, _ := ParseEndpointJSON([]byte(`{"id":5,"status":{"state":"ready","external-identifiers":{"pod-name":"ns/p"},"policy":{"realized":{"policy-enabled":"audit-both"}}}}`))
	if eps[0].Namespace != "ns" || eps[0].PodName != "p" || eps[0].Ingress != EnforcementAudit || eps[0].Egress != EnforcementAudit {
		t.Errorf("pod-name and audit-both: %+v", eps[0])
	}
}
