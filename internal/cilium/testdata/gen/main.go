// Command gen lays out the table-shaped samples in ../ with text/tabwriter
// and the very format strings and writer settings Cilium's commands use
// (cilium-dbg/cmd/endpoint_list.go, cilium-dbg/cmd/bpf_policy_get.go,
// pkg/client's FormatStatusResponse), so that their spacing is what the
// real commands print. The values are made up for meshdoctor's founding
// incident (d): a cluster half migrated from kubenet to Cilium.
//
//	go run ./testdata/gen   (from internal/cilium)
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
)

func main() {
	write("endpoint-list.txt", endpointList())
	write("bpf-policy-get.txt", policyGet())
	write("bpf-policy-get-1.12.txt", policyGetOld())
	write("bpf-policy-get-all.txt", policyGetAll())
	write("status.txt", status(false))
	write("status-verbose.txt", status(true))
}

func write(name string, b []byte) {
	if err := os.WriteFile(filepath.Join("testdata", name), b, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

type ep struct {
	id           int
	in, eg, iden string
	labels       []string
	v6, v4, st   string
}

// endpointList follows printEndpointList: tabwriter(5, 0, 3, ' ', 0).
func endpointList() []byte {
	var b bytes.Buffer
	w := tabwriter.NewWriter(&b, 5, 0, 3, ' ', 0)
	fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
		"ENDPOINT", "POLICY (ingress)", "POLICY (egress)", "IDENTITY", "LABELS (source:key[=value])", "IPv6", "IPv4", "STATUS")
	fmt.Fprintf(w, "\t%s\t%s\t\t\t\t\t\n", "ENFORCEMENT", "ENFORCEMENT")
	for _, e := range []ep{
		{94, "Disabled", "Disabled", "1", []string{
			"k8s:node-role.kubernetes.io/worker", "k8s:topology.kubernetes.io/zone=eu-west-1b", "reserved:host"}, "", "", "ready"},
		{512, "Disabled", "Disabled", "4", []string{"reserved:health"}, "fd00:10:244:1::5c2e", "10.0.1.23", "ready"},
		{1317, "Enabled", "Disabled", "23456", []string{
			"k8s:app=orders-api",
			"k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=prod",
			"k8s:io.cilium.k8s.policy.cluster=default",
			"k8s:io.cilium.k8s.policy.serviceaccount=orders-api",
			"k8s:io.kubernetes.pod.namespace=prod"}, "fd00:10:244:1::9a1", "10.0.1.5", "ready"},
		{2071, "Disabled (Audit)", "Disabled", "31877", []string{
			"k8s:app=billing",
			"k8s:io.kubernetes.pod.namespace=prod"}, "", "10.0.1.88", "ready"},
		{3306, "Disabled", "Disabled", "<no label id>", []string{"no labels"}, "", "10.0.1.140", "waiting-for-identity"},
	} {
		for i, l := range e.labels {
			if i == 0 {
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", e.id, e.in, e.eg, e.iden, l, e.v6, e.v4, e.st)
			} else {
				fmt.Fprintf(w, "\t\t\t\t%s\t\t\t\t\n", l)
			}
		}
	}
	w.Flush()
	return b.Bytes()
}

type pol struct {
	action, dir string
	labels      []string
	port, proxy string
	auth        string
	bytes, pkts string
	prefix      int
}

// policyTable follows formatMap: tabwriter(5, 0, 3, ' ', 0); cols picks
// the release's column set.
func policyTable(w *tabwriter.Writer, cols string, rows []pol) {
	switch cols {
	case "1.12":
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", "POLICY", "DIRECTION", "LABELS (source:key[=value])", "PORT/PROTO", "PROXY PORT", "BYTES", "PACKETS")
	case "1.15":
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", "POLICY", "DIRECTION", "LABELS (source:key[=value])", "PORT/PROTO", "PROXY PORT", "AUTH TYPE", "BYTES", "PACKETS", "PREFIX")
	}
	for _, r := range rows {
		for i, l := range r.labels {
			switch {
			case i > 0 && cols == "1.12":
				fmt.Fprintf(w, "\t\t%s\t\t\t\t\n", l)
			case i > 0:
				fmt.Fprintf(w, "\t\t%s\t\t\t\t\t\t\n", l)
			case cols == "1.12":
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.action, r.dir, l, r.port, r.proxy, r.bytes, r.pkts)
			default:
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", r.action, r.dir, l, r.port, r.proxy, r.auth, r.bytes, r.pkts, r.prefix)
			}
		}
	}
}

var ordersPolicy = []pol{
	{"Allow", "Ingress", []string{"reserved:host"}, "ANY", "NONE", "disabled", "1204322", "14410", 0},
	{"Allow", "Ingress", []string{
		"k8s:app=frontend",
		"k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=prod",
		"k8s:io.cilium.k8s.policy.cluster=default",
		"k8s:io.cilium.k8s.policy.serviceaccount=frontend",
		"k8s:io.kubernetes.pod.namespace=prod"}, "8080/TCP", "NONE", "disabled", "88213", "702", 24},
	{"Allow", "Ingress", []string{"reserved:kube-apiserver", "reserved:remote-node"}, "8080/TCP", "NONE", "disabled", "0", "0", 24},
	{"Allow", "Egress", []string{"ANY"}, "ANY", "NONE", "disabled", "5530012", "40211", 0},
}

func policyGet() []byte {
	var b bytes.Buffer
	w := tabwriter.NewWriter(&b, 5, 0, 3, ' ', 0)
	policyTable(w, "1.15", ordersPolicy)
	w.Flush()
	return b.Bytes()
}

func policyGetOld() []byte {
	var b bytes.Buffer
	w := tabwriter.NewWriter(&b, 5, 0, 3, ' ', 0)
	policyTable(w, "1.12", []pol{
		{"Allow", "Ingress", []string{"reserved:unknown"}, "9999/TCP", "NONE", "", "0", "0", 0},
		{"Allow", "Ingress", []string{"reserved:host"}, "ANY", "NONE", "", "408725", "5154", 0},
		{"Allow", "Ingress", []string{
			"k8s:app=frontend",
			"k8s:io.kubernetes.pod.namespace=prod"}, "8080/TCP", "NONE", "", "11824851", "910", 0},
		{"Allow", "Egress", []string{"reserved:unknown"}, "ANY", "NONE", "", "990293", "6509", 0},
	})
	w.Flush()
	return b.Bytes()
}

// policyGetAll follows listAllMaps: per map "Endpoint ID:", "Path:", an
// empty line, the table (its own tabwriter), and two empty lines.
func policyGetAll() []byte {
	var b bytes.Buffer
	for _, m := range []struct {
		id   string
		rows []pol
	}{
		{"512", []pol{
			{"Allow", "Ingress", []string{"reserved:host"}, "ANY", "NONE", "disabled", "30111", "402", 0},
			{"Allow", "Ingress", []string{"reserved:remote-node"}, "ANY", "NONE", "disabled", "2048", "32", 0},
			{"Allow", "Egress", []string{"ANY"}, "ANY", "NONE", "disabled", "0", "0", 0},
		}},
		{"1317", ordersPolicy},
	} {
		fmt.Fprintf(&b, "Endpoint ID: %s\n", m.id)
		fmt.Fprintf(&b, "Path: /sys/fs/bpf/tc/globals/cilium_policy_%05s\n", m.id)
		fmt.Fprintln(&b)
		w := tabwriter.NewWriter(&b, 5, 0, 3, ' ', 0)
		policyTable(w, "1.15", m.rows)
		w.Flush()
		fmt.Fprintln(&b)
		fmt.Fprintln(&b)
	}
	return b.Bytes()
}

// status follows FormatStatusResponse and the health summary of
// cilium-dbg/cmd/status.go: tabwriter(2, 0, 3, ' ', 0); the controller
// table has its own tabwriter(0, 0, 3, ' ', 0).
func status(verbose bool) []byte {
	var b bytes.Buffer
	w := tabwriter.NewWriter(&b, 2, 0, 3, ' ', 0)
	fmt.Fprintf(w, "KVStore:\t%s\t%s\n", "Ok", "Disabled")
	fmt.Fprintf(w, "Kubernetes:\t%s\t%s\n", "Ok", "1.29 (v1.29.4) [linux/amd64]")
	fmt.Fprintf(w, "Kubernetes APIs:\t[\"%s\"]\n", "EndpointSliceOrEndpoint\", \"cilium/v2::CiliumClusterwideNetworkPolicy\", \"cilium/v2::CiliumEndpoint\", \"cilium/v2::CiliumNetworkPolicy\", \"cilium/v2::CiliumNode\", \"core/v1::Namespace\", \"core/v1::Node\", \"core/v1::Pods\", \"core/v1::Service\", \"networking.k8s.io/v1::NetworkPolicy")
	fmt.Fprintf(w, "KubeProxyReplacement:\t%s\t%s\n", "False", "")
	fmt.Fprintf(w, "Host firewall:\t%s\n", "Disabled")
	fmt.Fprintf(w, "SRv6:\t%s\n", "Disabled")
	fmt.Fprintf(w, "CNI Chaining:\t%s\n", "none")
	fmt.Fprintf(w, "CNI Config file:\t%s\n", "successfully wrote CNI configuration file to /host/etc/cni/net.d/05-cilium.conflist")
	fmt.Fprintf(w, "Cilium:\t%s   %s\n", "Ok", "1.15.6 (v1.15.6-a09e05e6)")
	fmt.Fprintf(w, "NodeMonitor:\tListening for events on %d CPUs with %dx%d of shared memory\n", 4, 64, 4096)
	fmt.Fprintf(w, "Cilium health daemon:\t%s\t%s\n", "Ok", "")
	fmt.Fprintf(w, "IPAM:\t%s\n", "IPv4: 5/254 allocated from 10.0.1.0/24, IPv6: 4/18446744073709551614 allocated from fd00:10:244:1::/64")
	if verbose {
		fmt.Fprintf(w, "Allocated addresses:\n")
		for _, l := range []string{"  10.0.1.140 (prod/billing-7c9f8b6d4-q2x7m)", "  10.0.1.23 (health)", "  10.0.1.5 (prod/orders-api-5d9c7b6f4-8kqzt)", "  10.0.1.88 (prod/billing-7c9f8b6d4-h4t2w)", "  10.0.1.97 (router)"} {
			fmt.Fprintln(w, l)
		}
	}
	fmt.Fprintf(w, "IPv4 BIG TCP:\t%s\n", "Disabled")
	fmt.Fprintf(w, "IPv6 BIG TCP:\t%s\n", "Disabled")
	fmt.Fprintf(w, "BandwidthManager:\t%s\n", "Disabled")
	fmt.Fprintf(w, "Host Routing:\t%s\n", "Legacy")
	fmt.Fprintf(w, "Masquerading:\t%s\n", "IPTables [IPv4: Enabled, IPv6: Enabled]")
	fmt.Fprintf(w, "Controller Status:\t%d/%d healthy\n", 38, 39)
	out := []string{"  Name\tLast success\tLast error\tCount\tMessage\n",
		fmt.Sprintf("  %s\t%s\t%s\t%d\t%s\t\n", "sync-to-k8s-ciliumendpoint (3306)", "never", "12s ago", 7, "waiting for identity")}
	if verbose {
		out = append(out,
			fmt.Sprintf("  %s\t%s\t%s\t%d\t%s\t\n", "cilium-health-ep", "27s ago", "never", 0, "no error"),
			fmt.Sprintf("  %s\t%s\t%s\t%d\t%s\t\n", "dns-garbage-collector-job", "41s ago", "never", 0, "no error"))
	}
	sort.Strings(out)
	tab := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	for _, s := range out {
		fmt.Fprint(tab, s)
	}
	tab.Flush()
	fmt.Fprintf(w, "Proxy Status:\tOK, ip %s, %d redirects active on ports %s, Envoy: %s\n", "10.0.1.97", 0, "10000-20000", "embedded")
	fmt.Fprintf(w, "Global Identity Range:\tmin %d, max %d\n", 256, 65535)
	fmt.Fprintf(w, "Hubble:\t%s\n", strings.Join([]string{"Ok", "Current/Max Flows: 4095/4095 (100.00%), Flows/s: 11.73", "Metrics: Disabled"}, "\t"))
	fmt.Fprintf(w, "Encryption:\t%s\t%s\n", "Disabled", "")
	fmt.Fprintf(w, "Cluster health:\t%d/%d reachable\t(%s)\n", 3, 3, "2024-06-12T08:19:02Z")
	if verbose {
		fmt.Fprintf(w, "  Name\tIP\tNode\tEndpoints\n")
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\n", "cilium-node-1 (localhost)", "10.240.0.4", "reachable", "reachable")
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\n", "cilium-node-2", "10.240.0.5", "reachable", "reachable")
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\n", "cilium-node-3", "10.240.0.6", "reachable", "reachable")
	}
	w.Flush()
	return b.Bytes()
}
