package cilium

import (
	"net/netip"
	"strconv"
	"strings"
)

// StatusItem is one "Key: value" line of `cilium status` and the indented
// lines under it.
type StatusItem struct {
	// Line is the 1-based line of the key.
	Line int
	Key  string
	// Value is the text after the colon, its runs of spaces squeezed to one.
	Value string
	// Details are the lines that follow until the next key (controller
	// tables, allocated addresses, node health), trimmed.
	Details []StatusDetail
}

// StatusDetail is a line under a status item.
type StatusDetail struct {
	Line int
	Text string
}

// Status is `cilium status` (cilium-dbg status) output, with or without
// --verbose, as pkg/client's FormatStatusResponse and the health summary
// print it.
type Status struct {
	Items []StatusItem
}

// Health is an overall verdict on a Cilium agent.
type Health string

// Health values.
const (
	HealthOK       Health = "OK"
	HealthDegraded Health = "Degraded"
	HealthFailure  Health = "Failure"
	HealthUnknown  Health = "Unknown"
)

// ParseStatus reads `cilium status` output. Every unindented "Key: value"
// line becomes an item; indented lines, and unindented ones that are not a
// key (the health table's rows), are details of the item above. Lines
// before the first key, other than kubectl's, are errors; nothing else is.
func ParseStatus(data []byte) (*Status, []error) {
	var el errList
	st := &Status{}
	eachLine(data, func(n int, line string) {
		if isBlank(line) || kubectlNoise(line) {
			return
		}
		if k, v, ok := statusKey(line); ok {
			st.Items = append(st.Items, StatusItem{Line: n, Key: k, Value: v})
			return
		}
		if len(st.Items) == 0 {
			el.addf(n, line, "not a \"Key: value\" line of cilium status")
			return
		}
		it := &st.Items[len(st.Items)-1]
		it.Details = append(it.Details, StatusDetail{Line: n, Text: strings.Join(strings.Fields(line), " ")})
	})
	return st, el.list()
}

// statusKey reads an unindented "Key:<spaces>value" line. A key is words
// of letters, digits and /._- (e.g. "Cilium health daemon", "IPv4 BIG
// TCP"); a line whose text before the colon is anything else is not a key.
func statusKey(line string) (key, value string, ok bool) {
	if line == "" || line[0] == ' ' || line[0] == '\t' {
		return "", "", false
	}
	k, v, found := strings.Cut(line, ":")
	if !found || k == "" || v != "" && v[0] != ' ' && v[0] != '\t' {
		return "", "", false
	}
	if c := k[0]; !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
		return "", "", false
	}
	for _, c := range k {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == ' ' || c == '/' || c == '.' || c == '_' || c == '-') {
			return "", "", false
		}
	}
	return k, strings.Join(strings.Fields(v), " "), true
}

// Get returns the item with the key, compared without regard to case.
func (s *Status) Get(key string) (StatusItem, bool) {
	for _, it := range s.Items {
		if strings.EqualFold(it.Key, key) {
			return it, true
		}
	}
	return StatusItem{}, false
}

// Value is the value of a key, "" when absent.
func (s *Status) Value(key string) string {
	it, _ := s.Get(key)
	return it.Value
}

// state is the first word of a component's value ("Ok", "Warning",
// "Failure", "Disabled").
func (s *Status) state(key string) string {
	w, _, _ := strings.Cut(s.Value(key), " ")
	return w
}

// CiliumState is the agent's own state: Ok, Warning, Failure or Disabled.
func (s *Status) CiliumState() string { return s.state("Cilium") }

// Version is the agent's version from "Cilium: Ok 1.15.6 (v1.15.6-...)".
func (s *Status) Version() string {
	f := strings.Fields(s.Value("Cilium"))
	if len(f) < 2 {
		return ""
	}
	return strings.TrimPrefix(f[1], "v")
}

// KVStore, Kubernetes and HealthDaemon are those components' states.
func (s *Status) KVStore() string      { return s.state("KVStore") }
func (s *Status) Kubernetes() string   { return s.state("Kubernetes") }
func (s *Status) HealthDaemon() string { return s.state("Cilium health daemon") }

// KubeProxyReplacement is the kube-proxy replacement mode (True, False,
// Strict, Partial, Disabled, depending on the release).
func (s *Status) KubeProxyReplacement() string { return s.state("KubeProxyReplacement") }

// HostRouting is "BPF" or "Legacy": older releases print a "Host
// Routing:" line, newer ones "Routing: Network: ... Host: BPF".
func (s *Status) HostRouting() string {
	if v := s.Value("Host Routing"); v != "" {
		return v
	}
	r := s.Value("Routing")
	if i := strings.Index(r, "Host: "); i >= 0 {
		w, _, _ := strings.Cut(r[i+len("Host: "):], " ")
		return w
	}
	return ""
}

// Masquerading is the masquerading line as printed ("BPF [eth0]
// 10.0.0.0/8 [IPv4: Enabled, IPv6: Disabled]", "IPTables ...",
// "Disabled").
func (s *Status) Masquerading() string { return s.Value("Masquerading") }

// Encryption is the encryption mode and details ("Disabled",
// "Wireguard [...]", "IPsec").
func (s *Status) Encryption() string { return s.Value("Encryption") }

// PolicyEnforcement is the policy enforcement mode (default, always,
// never) when the output has such a line; cilium status itself does not
// print one, so this is "" unless the bundle's status file was extended
// with it.
func (s *Status) PolicyEnforcement() string {
	for _, k := range []string{"Policy enforcement", "PolicyEnforcement", "policy-enforcement", "Policy Enforcement Mode"} {
		if v := s.Value(k); v != "" {
			return v
		}
	}
	return ""
}

// IPAMPool is one address family's allocation from the IPAM line:
// "IPv4: 5/254 allocated from 10.0.1.0/24".
type IPAMPool struct {
	Family         string
	Used, Capacity uint64
	CIDR           netip.Prefix
}

// IPAM reads the IPAM line's pools.
func (s *Status) IPAM() []IPAMPool {
	var pools []IPAMPool
	for _, part := range strings.Split(s.Value("IPAM"), ",") {
		fam, rest, ok := strings.Cut(strings.TrimSpace(part), ": ")
		if !ok {
			continue
		}
		counts, cidr, _ := strings.Cut(rest, " allocated from ")
		used, capa, ok := strings.Cut(counts, "/")
		if !ok {
			continue
		}
		p := IPAMPool{Family: fam}
		p.Used, _ = strconv.ParseUint(used, 10, 64)
		p.Capacity, _ = strconv.ParseUint(capa, 10, 64)
		p.CIDR, _ = netip.ParsePrefix(strings.TrimSpace(cidr))
		pools = append(pools, p)
	}
	return pools
}

// ratio reads "n/m" at the start of a key's value.
func (s *Status) ratio(key string) (n, m int, ok bool) {
	w, _, _ := strings.Cut(s.Value(key), " ")
	a, b, found := strings.Cut(w, "/")
	if !found {
		return 0, 0, false
	}
	n, err1 := strconv.Atoi(a)
	m, err2 := strconv.Atoi(b)
	return n, m, err1 == nil && err2 == nil
}

// Controllers is "Controller Status: n/m healthy".
func (s *Status) Controllers() (healthy, total int, ok bool) { return s.ratio("Controller Status") }

// ClusterHealth is "Cluster health: n/m reachable".
func (s *Status) ClusterHealth() (reachable, total int, ok bool) { return s.ratio("Cluster health") }

// Overall judges the agent: Failure when the agent, the kvstore,
// Kubernetes or the health daemon is in Failure; Degraded when one of them
// warns, a controller fails, or a node is unreachable; OK when the agent
// reported Ok and none of that holds; Unknown without a "Cilium:" line.
func (s *Status) Overall() Health {
	if s.CiliumState() == "" {
		return HealthUnknown
	}
	h := HealthOK
	for _, st := range []string{s.CiliumState(), s.KVStore(), s.Kubernetes(), s.HealthDaemon()} {
		switch strings.ToLower(st) {
		case "failure":
			return HealthFailure
		case "warning":
			h = HealthDegraded
		}
	}
	if n, m, ok := s.Controllers(); ok && n < m {
		h = HealthDegraded
	}
	if n, m, ok := s.ClusterHealth(); ok && n < m {
		h = HealthDegraded
	}
	return h
}
