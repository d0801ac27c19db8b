package istio

import (
	"fmt"
	"strings"
	"time"

	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	netv1alpha3 "istio.io/api/networking/v1alpha3"
	corev1 "k8s.io/api/core/v1"

	"github.com/meshdoctor/meshdoctor/internal/analyzers/facts"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// meshConfigConsequence replaces the webhook consequence: no webhook
// checks the istio ConfigMap; istiod validates the mesh key when it loads
// it.
const meshConfigConsequence = "No webhook checks the istio ConfigMap, so the change is accepted, but istiod's ValidateMeshConfig rejects the whole mesh configuration when it loads it (it logs the error and keeps the mesh configuration it had), so none of the settings written in this key take effect"

// validateMeshConfigMap follows agent.ValidateMeshConfig on the mesh key of
// the istio ConfigMap (facts.IstioConfigMap). istiod validates
// the configuration after laying it over its defaults, so only fields the
// key sets are judged: a field left out takes a valid default.
func validateMeshConfigMap(out *schemaIssues, cm *snapshot.Object) {
	c, ok := cm.Typed.(*corev1.ConfigMap)
	if !ok || strings.TrimSpace(c.Data["mesh"]) == "" {
		return
	}
	// A key that does not parse is reported by the checks that read the
	// mesh configuration (facts.MeshConfig fails).
	m, err := facts.ParseMeshConfig([]byte(c.Data["mesh"]))
	if err != nil {
		return
	}
	s := issueSink{obj: cm, out: out, consequence: meshConfigConsequence}
	at := snapshot.P("data", "mesh")
	if p := m.GetProxyListenPort(); p != 0 && !validPort(int64(p)) {
		s.err(at.Child("proxyListenPort"), "port", "ValidatePort", fmt.Sprintf("proxyListenPort %d is outside 1–65535", p), fmt.Sprint(p), "Remove proxyListenPort (the default is 15001) or use a port between 1 and 65535.")
	}
	if d := m.GetConnectTimeout(); d != nil {
		if msg := durationProblem(d); msg != "" {
			s.err(at.Child("connectTimeout"), "duration", "ValidateConnectTimeout", "connectTimeout: "+msg, d.AsDuration().String(), "Use a duration of at least 1ms in whole milliseconds, e.g. 10s.")
		}
	}
	if d := m.GetProtocolDetectionTimeout(); d != nil && d.AsDuration() != 0 && d.AsDuration()%time.Millisecond != 0 {
		s.err(at.Child("protocolDetectionTimeout"), "duration", "ValidateProtocolDetectionTimeout", fmt.Sprintf("protocolDetectionTimeout %s is not a whole number of milliseconds", d.AsDuration()), d.AsDuration().String(), "Use whole milliseconds, e.g. 100ms, or 0s to turn protocol detection timeouts off.")
	}
	checkMeshProxyConfig(s, at.Child("defaultConfig"), m.GetDefaultConfig())
	checkLocalityLbSetting(s, at.Child("localityLbSetting"), m.GetLocalityLbSetting())
	for i, ss := range m.GetServiceSettings() {
		for j, h := range ss.GetHosts() {
			if err := validateWildcardDomain(h); err != nil {
				s.err(at.Child("serviceSettings", i, "hosts", j), "host", "validateServiceSettings", err.Error(), h, "Use a host name such as reviews.prod.svc.cluster.local or *.prod.svc.cluster.local.")
			}
		}
	}
	if msg := trustDomainProblem(m.GetTrustDomain()); msg != "" {
		s.err(at.Child("trustDomain"), "trust-domain", "validateTrustDomainConfig", msg, m.GetTrustDomain(), "Use a DNS-style trust domain such as cluster.local.")
	}
	for i, a := range m.GetTrustDomainAliases() {
		if msg := trustDomainProblem(a); msg != "" {
			s.err(at.Child("trustDomainAliases", i), "trust-domain", "validateTrustDomainConfig", msg, a, "Use a DNS-style trust domain such as old-cluster.local.")
		}
	}
	if c := m.GetMeshMTLS().GetEcdhCurves(); c != nil {
		s.err(at.Child("meshMTLS", "ecdhCurves"), "mesh-mtls-curves", "ValidateMeshTLSConfig", "meshMTLS does not support ECDH curves configuration", strings.Join(c, ", "), "Remove meshMTLS.ecdhCurves; set curves for non-mesh TLS under tlsDefaults.ecdhCurves.")
	}
}

// trustDomainProblem is agent.ValidateTrustDomain: DNS-1123 labels, a
// trailing dot allowed.
func trustDomainProblem(d string) string {
	if d == "" {
		return "the trust domain is empty"
	}
	parts := strings.Split(d, ".")
	for i, l := range parts {
		if i == len(parts)-1 && l == "" {
			return ""
		}
		if !isDNS1123Label(l) {
			return fmt.Sprintf("trust domain %q has the invalid label %q", d, l)
		}
	}
	return ""
}

// checkMeshProxyConfig is the part of agent.ValidateMeshConfigProxyConfig
// that judges fields defaultConfig sets (istiod merges defaultConfig over
// its default ProxyConfig, which provides configPath, binaryPath, the
// service cluster and the discovery address).
func checkMeshProxyConfig(s issueSink, at snapshot.Path, pc *meshv1alpha1.ProxyConfig) {
	if pc == nil {
		return
	}
	const up = "ValidateMeshConfigProxyConfig"
	if d := pc.GetDrainDuration(); d != nil {
		switch msg := durationProblem(d); {
		case msg != "":
			s.err(at.Child("drainDuration"), "duration", "ValidateDrainDuration", "drainDuration: "+msg, d.AsDuration().String(), "Use a whole number of seconds, e.g. 45s.")
		case d.AsDuration()%time.Second != 0:
			s.err(at.Child("drainDuration"), "duration", "ValidateDrainDuration", fmt.Sprintf("drainDuration %s is not a whole number of seconds", d.AsDuration()), d.AsDuration().String(), "Use a whole number of seconds, e.g. 45s.")
		}
	}
	for _, a := range []struct {
		path []any
		addr string
	}{
		{[]any{"discoveryAddress"}, pc.GetDiscoveryAddress()},
		{[]any{"tracing", "zipkin", "address"}, strings.Replace(pc.GetTracing().GetZipkin().GetAddress(), "$(HOST_IP)", "127.0.0.1", 1)},
		{[]any{"tracing", "datadog", "address"}, strings.Replace(pc.GetTracing().GetDatadog().GetAddress(), "$(HOST_IP)", "127.0.0.1", 1)},
		{[]any{"statsdUdpAddress"}, pc.GetStatsdUdpAddress()},
		{[]any{"envoyMetricsService", "address"}, pc.GetEnvoyMetricsService().GetAddress()},
		{[]any{"envoyAccessLogService", "address"}, pc.GetEnvoyAccessLogService().GetAddress()},
	} {
		if a.addr == "" {
			continue
		}
		if err := proxyAddressErr(a.addr); err != nil {
			s.err(at.Child(a.path...), "proxy-address", "ValidateProxyAddress", fmt.Sprintf("address %q: %v", a.addr, err), a.addr, "Write host:port with a DNS name or an IP address and a port in 1–65535, e.g. istiod.istio-system.svc:15012.")
		}
	}
	for _, p := range []struct {
		name string
		v    int32
	}{{"proxyAdminPort", pc.GetProxyAdminPort()}, {"statusPort", pc.GetStatusPort()}} {
		if p.v != 0 && !validPort(int64(p.v)) {
			s.err(at.Child(p.name), "port", up, fmt.Sprintf("%s %d is outside 1–65535", p.name, p.v), fmt.Sprint(p.v), fmt.Sprintf("Remove %s to keep the default, or use a port between 1 and 65535.", p.name))
		}
	}
}

// topologyLabels are the locality labels failoverPriority may not name
// together with failover (label.LabelTopologyRegion, Zone, Subzone).
var topologyLabels = map[string]bool{"topology.kubernetes.io/region": true, "topology.kubernetes.io/zone": true, "topology.istio.io/subzone": true}

// checkLocalityLbSetting is agent.ValidateLocalityLbSetting as
// ValidateMeshConfig calls it (with an outlier detection, so without the
// failover warning). Like upstream it stops at the first distribute or
// failoverPriority error.
func checkLocalityLbSetting(s issueSink, at snapshot.Path, lb *netv1alpha3.LocalityLoadBalancerSetting) {
	if lb == nil {
		return
	}
	const up = "ValidateLocalityLbSetting"
	if len(lb.GetDistribute()) > 0 && len(lb.GetFailover()) > 0 {
		s.err(at, "locality-lb", up, "distribute and failover cannot be set together", "distribute and failover both set", "Keep distribute (fixed weights) or failover (priority order), not both.")
		return
	}
	if len(lb.GetFailover()) > 0 {
		for i, l := range lb.GetFailoverPriority() {
			if topologyLabels[l] {
				s.err(at.Child("failoverPriority", i), "locality-lb", up, fmt.Sprintf("failoverPriority may not name the topology label %s while failover is set", l), l, "Remove the topology label from failoverPriority (failover already orders by region), or remove failover.")
				return
			}
		}
	}
	var src []string
	for i, d := range lb.GetDistribute() {
		dat := at.Child("distribute", i)
		src = append(src, d.GetFrom())
		var total uint32
		var dst []string
		for _, loc := range sortedKeys(d.GetTo()) {
			w := d.GetTo()[loc]
			if w == 0 || w > 100 {
				s.err(dat.Child("to", loc), "locality-weight", up, fmt.Sprintf("locality weight %d is outside 1–100", w), fmt.Sprintf("%s: %d", loc, w), "Give every destination locality a weight between 1 and 100, totalling 100.")
				return
			}
			total += w
			dst = append(dst, loc)
		}
		if total != 100 {
			s.err(dat.Child("to"), "locality-weight", up, fmt.Sprintf("the locality weights total %d, not 100", total), fmt.Sprint(total), "Make the weights under to total 100.")
			return
		}
		if msg := localitiesProblem(dst); msg != "" {
			s.err(dat.Child("to"), "locality", "validateLocalities", msg, strings.Join(dst, ", "), "Write localities as region[/zone[/subzone]] with no empty part, at most one '*' at the end, and no locality covered by another.")
		}
	}
	if msg := localitiesProblem(src); msg != "" {
		s.err(at.Child("distribute"), "locality", "validateLocalities", msg, strings.Join(src, ", "), "Write each from locality as region[/zone[/subzone]] with no empty part, at most one '*' at the end, and no locality covered by another.")
	}
	for i, f := range lb.GetFailover() {
		fat := at.Child("failover", i)
		if f.GetFrom() == f.GetTo() {
			s.err(fat, "locality-failover", up, fmt.Sprintf("failover from and to are the same region %q", f.GetFrom()), f.GetFrom(), "Fail over to a different region.")
		}
		if strings.Contains(f.GetFrom(), "/") || strings.Contains(f.GetTo(), "/") {
			s.err(fat, "locality-failover", up, "failover names regions only, not zones", f.GetFrom()+" -> "+f.GetTo(), "Use region names (no '/') in from and to.")
		}
		if strings.Contains(f.GetFrom(), "*") || strings.Contains(f.GetTo(), "*") {
			s.err(fat, "locality-failover", up, "failover regions may not contain '*'", f.GetFrom()+" -> "+f.GetTo(), "Name the regions exactly.")
		}
	}
}

// localitiesProblem is agent.validateLocalities: each locality
// region[/zone[/subzone]] without empty parts, at most one '*' and only at
// the end, and none covered by an earlier one.
func localitiesProblem(locs []string) string {
	seen := map[string]map[string]map[string]bool{}
	for _, l := range locs {
		if n := strings.Count(l, "*"); n > 1 || (n == 1 && !strings.HasSuffix(l, "*")) {
			return fmt.Sprintf("locality %q: a wildcard '*' may appear once, at the end", l)
		}
		if _, ok := seen["*"]; ok {
			return fmt.Sprintf("locality %q overlaps a locality before it", l)
		}
		parts := strings.SplitN(l, "/", 3)
		for _, p := range parts {
			if p == "" {
				return fmt.Sprintf("locality %q has an empty region, zone or subzone", l)
			}
		}
		overlap := fmt.Sprintf("locality %q overlaps a locality before it", l)
		region := parts[0]
		switch len(parts) {
		case 1:
			if _, ok := seen[region]; ok {
				return overlap
			}
			seen[region] = map[string]map[string]bool{"*": {"*": true}}
		case 2:
			zone := parts[1]
			if zones, ok := seen[region]; ok {
				if _, ok := zones["*"]; ok {
					return overlap
				}
				if _, ok := zones[zone]; ok {
					return overlap
				}
				zones[zone] = map[string]bool{"*": true}
			} else {
				seen[region] = map[string]map[string]bool{zone: {"*": true}}
			}
		case 3:
			zone, sub := parts[1], parts[2]
			if zones, ok := seen[region]; ok {
				if _, ok := zones["*"]; ok {
					return overlap
				}
				if subs, ok := zones[zone]; ok {
					if subs["*"] || subs[sub] {
						return overlap
					}
					subs[sub] = true
				} else {
					zones[zone] = map[string]bool{sub: true}
				}
			} else {
				seen[region] = map[string]map[string]bool{zone: {sub: true}}
			}
		}
	}
	return ""
}
