package cilium

import (
	"net/netip"
	"testing"
)

func TestParseStatusTestdata(t *testing.T) {
	st, errs := ParseStatus(readTestdata(t, "status.txt"))
	noErrors(t, errs)
	var keys []string
	for _, it := range st.Items {
		keys = append(keys, it.Key)
	}
	deepEqual(t, "keys", keys, []string{"KVStore", "Kubernetes", "Kubernetes APIs", "KubeProxyReplacement", "Host firewall", "SRv6",
		"CNI Chaining", "CNI Config file", "Cilium", "NodeMonitor", "Cilium health daemon", "IPAM", "IPv4 BIG TCP", "IPv6 BIG TCP",
		"BandwidthManager", "Host Routing", "Masquerading", "Controller Status", "Proxy Status", "Global Identity Range", "Hubble",
		"Encryption", "Cluster health"})
	ctl, _ := st.Get("controller status")
	deepEqual(t, "controller status", ctl, StatusItem{Line: 18, Key: "Controller Status", Value: "38/39 healthy", Details: []StatusDetail{
		{Line: 19, Text: "Name Last success Last error Count Message"},
		{Line: 20, Text: "sync-to-k8s-ciliumendpoint (3306) never 12s ago 7 waiting for identity"},
	}})
	for _, tc := range []struct{ name, got, want string }{
		{"CiliumState", st.CiliumState(), "Ok"},
		{"Version", st.Version(), "1.15.6"},
		{"KVStore", st.KVStore(), "Ok"},
		{"Kubernetes", st.Kubernetes(), "Ok"},
		{"HealthDaemon", st.HealthDaemon(), "Ok"},
		{"KubeProxyReplacement", st.KubeProxyReplacement(), "False"},
		{"HostRouting", st.HostRouting(), "Legacy"},
		{"Masquerading", st.Masquerading(), "IPTables [IPv4: Enabled, IPv6: Enabled]"},
		{"Encryption", st.Encryption(), "Disabled"},
		{"PolicyEnforcement", st.PolicyEnforcement(), ""},
		{"Value(Hubble)", st.Value("Hubble"), "Ok Current/Max Flows: 4095/4095 (100.00%), Flows/s: 11.73 Metrics: Disabled"},
		{"Overall", string(st.Overall()), "Degraded"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %q, want %q", tc.name, tc.got, tc.want)
		}
	}
	deepEqual(t, "IPAM", st.IPAM(), []IPAMPool{
		{Family: "IPv4", Used: 5, Capacity: 254, CIDR: netip.MustParsePrefix("10.0.1.0/24")},
		{Family: "IPv6", Used: 4, Capacity: 18446744073709551614, CIDR: netip.MustParsePrefix("fd00:10:244:1::/64")},
	})
	if n, m, ok := st.ClusterHealth(); n != 3 || m != 3 || !ok {
		t.Errorf("ClusterHealth = %d/%d %v", n, m, ok)
	}

	v, errs := ParseStatus(readTestdata(t, "status-verbose.txt"))
	noErrors(t, errs)
	alloc, _ := v.Get("Allocated addresses")
	health, _ := v.Get("Cluster health")
	if len(alloc.Details) != 5 || alloc.Details[2].Text != "10.0.1.5 (prod/orders-api-5d9c7b6f4-8kqzt)" || alloc.Details[2].Line != 16 ||
		len(health.Details) != 4 || health.Details[1].Text != "cilium-node-1 (localhost) 10.240.0.4 reachable reachable" {
		t.Errorf("verbose details: %+v / %+v", alloc, health)
	}
}

func TestStatusOverall(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Health
	}{
		{"KVStore: Ok Disabled\nCilium: Ok 1.16.0 (v1.16.0-82999990)\nController Status: 40/40 healthy\nCluster health: 2/2 reachable (2024-06-12T08:19:02Z)\n", HealthOK},
		{"KVStore: Ok Disabled\nCilium: Ok 1.16.0\nCluster health: 2/3 reachable (2024-06-12T08:19:02Z)\n", HealthDegraded},
		{"Kubernetes: Warning unable to reach apiserver\nCilium: Ok 1.16.0\n", HealthDegraded},
		{"KVStore: Failure Err: etcd unreachable\nCilium: Warning 1.16.0\n", HealthFailure},
		{"Cilium health daemon: Failure health endpoint unreachable\nCilium: Ok 1.16.0\n", HealthFailure},
		{"KVStore: Ok Disabled\n", HealthUnknown},
	} {
		st, errs := ParseStatus([]byte(tc.in))
		noErrors(t, errs)
		if got := st.Overall(); got != tc.want {
			t.Errorf("%q: Overall = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestParseStatusForms(t *testing.T) {
	in := "\ufeff" + `Defaulted container "cilium-agent" out of: cilium-agent
  orphan detail
(not a key): x
Routing:   Network: Tunnel [vxlan]   Host: BPF
Policy enforcement:   always
IPAM:   IPv4: 2/x allocated from 10.0.0.0/24, garbage, IPv6: 3/4 allocated from nowhere
Cilium:
10.240.0.4 (localhost):
Modules Health:   Stopped(0) Degraded(0) OK(58)
`
	st, errs := ParseStatus([]byte(in))
	wantErrors(t, errs, `2: not a "Key: value" line of cilium status`, `3: not a "Key: value" line of cilium status`)
	if st.HostRouting() != "BPF" || st.PolicyEnforcement() != "always" || st.Version() != "" || st.Overall() != HealthUnknown {
		t.Errorf("HostRouting %q PolicyEnforcement %q Version %q Overall %s", st.HostRouting(), st.PolicyEnforcement(), st.Version(), st.Overall())
	}
	deepEqual(t, "IPAM", st.IPAM(), []IPAMPool{{Family: "IPv4", Used: 2, CIDR: netip.MustParsePrefix("10.0.0.0/24")}, {Family: "IPv6", Used: 3, Capacity: 4}})
	c, _ := st.Get("Cilium")
	deepEqual(t, "Cilium", c, StatusItem{Line: 7, Key: "Cilium", Details: []StatusDetail{{Line: 8, Text: "10.240.0.4 (localhost):"}}})
	if _, ok := st.Get("Nope"); ok {
		t.Error("Get(Nope) found")
	}
}
