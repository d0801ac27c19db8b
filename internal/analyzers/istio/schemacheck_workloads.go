package istio

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	netv1alpha3 "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// unixAddressPrefix is validation.UnixAddressPrefix.
const unixAddressPrefix = "unix://"

// unixAddressProblem is validation.ValidateUnixAddress for the part after
// "unix://": an abstract socket (@name) or an absolute path to a file.
func unixAddressProblem(addr string) string {
	switch {
	case addr == "":
		return "the unix address after unix:// is empty"
	case strings.HasPrefix(addr, "@"):
		return ""
	case !path.IsAbs(addr) || strings.HasSuffix(addr, "/"):
		return fmt.Sprintf("%q is not an absolute path to a file", addr)
	}
	return ""
}

// validateWorkloadEntryObj follows validation.ValidateWorkloadEntry
// (validateWorkloadEntry with FQDN addresses allowed, since the entry may
// serve a DNS ServiceEntry).
func validateWorkloadEntryObj(s issueSink) {
	we, ok := s.obj.Typed.(*networkingv1.WorkloadEntry)
	if !ok {
		return
	}
	spec := snapshot.P("spec")
	const up = "validateWorkloadEntry"
	in := &we.Spec
	addr := in.GetAddress()
	if addr == "" {
		if in.GetNetwork() == "" {
			s.err(spec, "we-address", up, "a WorkloadEntry needs an address (only an entry with a network may leave it empty)", "address missing, network missing", "Set address to the workload's IP (or DNS name), or set network for a workload reached through that network's gateway.")
			return
		}
		s.warn(spec.Child("network"), "we-address-network", up, fmt.Sprintf("address is unset with network %q: the workload is reachable only through that network's east-west gateway", in.GetNetwork()), in.GetNetwork(), "Set address if the workload is directly reachable; leave it empty only for a workload behind the network's gateway.")
	}
	switch {
	case strings.HasPrefix(addr, unixAddressPrefix):
		if msg := unixAddressProblem(strings.TrimPrefix(addr, unixAddressPrefix)); msg != "" {
			s.err(spec.Child("address"), "unix-address", "ValidateUnixAddress", msg, addr, "Write unix:///absolute/path/to/socket (or unix://@abstract-name).")
		}
		if len(in.GetPorts()) != 0 {
			s.err(spec.Child("ports"), "unix-ports", up, fmt.Sprintf("the unix endpoint %s must not include ports", addr), portMapText(in.GetPorts()), "Remove ports: a unix domain socket has no port.")
		}
	case addr != "" && !isIP(addr):
		if err := validateFQDN(addr); err != nil {
			s.err(spec.Child("address"), "we-address", up, fmt.Sprintf("address %q is neither an IP address nor a valid FQDN: %v", addr, err), addr, "Use the workload's IP address, or a fully qualified DNS name without wildcards (with a DNS ServiceEntry).")
		}
	}
	checkWorkloadPorts(s, spec.Child("ports"), in.GetPorts())
	checkLabels(s, spec.Child("labels"), in.GetLabels(), up)
}

// checkWorkloadPorts is the port loop of validation.validateWorkloadEntry:
// ValidatePortName and agent.ValidatePort for every entry.
func checkWorkloadPorts(s issueSink, at snapshot.Path, ports map[string]uint32) {
	for _, name := range sortedKeys(ports) {
		p := at.Child(name)
		if !isDNS1123Label(name) {
			s.err(p, "port-name", "ValidatePortName", fmt.Sprintf("port name %q is not a DNS-1123 label", name), name, "Key ports by the name of the Service or ServiceEntry port (lowercase letters, digits and '-'), e.g. http.")
		}
		if !validPort(int64(ports[name])) {
			s.err(p, "port", "ValidatePort", fmt.Sprintf("port %d is outside 1–65535", ports[name]), fmt.Sprint(ports[name]), "Use a port between 1 and 65535.")
		}
	}
}

// portMapText renders a port map as written: "http: 8080, grpc: 9090".
func portMapText(ports map[string]uint32) string {
	parts := make([]string, 0, len(ports))
	for _, name := range sortedKeys(ports) {
		parts = append(parts, fmt.Sprintf("%s: %d", name, ports[name]))
	}
	return strings.Join(parts, ", ")
}

// probeHeaderNameRE is validation.validProbeHeaderNameRegex (the
// Kubernetes probe header syntax).
var probeHeaderNameRE = regexp.MustCompile(`^[-A-Za-z0-9]+$`)

// validateWorkloadGroupObj follows validation.ValidateWorkloadGroup.
func validateWorkloadGroupObj(s issueSink) {
	wg, ok := s.obj.Typed.(*networkingv1.WorkloadGroup)
	if !ok {
		return
	}
	spec := snapshot.P("spec")
	const up = "ValidateWorkloadGroup"
	in := &wg.Spec
	if in.GetTemplate() == nil {
		s.err(spec, "wg-template", up, "a WorkloadGroup needs a template", "template missing", "Add template: {} with the serviceAccount, network and ports the registered WorkloadEntries get (address is filled in when a VM registers).")
	}
	checkLabels(s, spec.Child("metadata", "labels"), in.GetMetadata().GetLabels(), up)
	checkReadinessProbe(s, spec.Child("probe"), in.GetProbe())
}

// checkReadinessProbe is validation.validateReadinessProbe.
func checkReadinessProbe(s issueSink, at snapshot.Path, p *netv1alpha3.ReadinessProbe) {
	if p == nil {
		return
	}
	const up = "validateReadinessProbe"
	for _, f := range []struct {
		name string
		v    int32
	}{{"initialDelaySeconds", p.GetInitialDelaySeconds()}, {"timeoutSeconds", p.GetTimeoutSeconds()}, {"periodSeconds", p.GetPeriodSeconds()}, {"successThreshold", p.GetSuccessThreshold()}, {"failureThreshold", p.GetFailureThreshold()}} {
		if f.v < 0 {
			s.err(at.Child(f.name), "probe-negative", up, fmt.Sprintf("%s %d is negative", f.name, f.v), fmt.Sprint(f.v), fmt.Sprintf("Use a non-negative %s (0 takes the default).", f.name))
		}
	}
	switch m := p.GetHealthCheckMethod().(type) {
	case *netv1alpha3.ReadinessProbe_HttpGet:
		h := m.HttpGet
		hat := at.Child("httpGet")
		if h == nil {
			s.err(hat, "probe-method", up, "httpGet may not be null", "httpGet: null", "Give httpGet a port (and path), or use tcpSocket or exec.")
			break
		}
		if !validPort(int64(h.GetPort())) {
			s.err(hat.Child("port"), "port", "ValidatePort", fmt.Sprintf("probe port %d is outside 1–65535", h.GetPort()), fmt.Sprint(h.GetPort()), "Set port to the port the VM's application answers health checks on.")
		}
		if sc := h.GetScheme(); sc != "" && sc != "HTTP" && sc != "HTTPS" {
			s.err(hat.Child("scheme"), "probe-scheme", up, fmt.Sprintf("httpGet.scheme %q must be HTTP or HTTPS", sc), sc, "Use scheme: HTTP or scheme: HTTPS (upper case).")
		}
		for i, hd := range h.GetHttpHeaders() {
			name := hd.GetName()
			switch {
			case name == "":
				s.err(hat.Child("httpHeaders", i), "probe-header", "ValidateProbeHeaderName", "a probe header needs a name", "name: \"\"", "Name the header, or remove the entry.")
			case !probeHeaderNameRE.MatchString(name):
				s.err(hat.Child("httpHeaders", i, "name"), "probe-header", "ValidateProbeHeaderName", fmt.Sprintf("probe header name %q may contain only letters, digits and '-'", name), name, "Use a header name of letters, digits and '-', e.g. x-health-check.")
			}
		}
	case *netv1alpha3.ReadinessProbe_TcpSocket:
		if m.TcpSocket == nil {
			s.err(at.Child("tcpSocket"), "probe-method", up, "tcpSocket may not be null", "tcpSocket: null", "Give tcpSocket a port, or use httpGet or exec.")
			break
		}
		if !validPort(int64(m.TcpSocket.GetPort())) {
			s.err(at.Child("tcpSocket", "port"), "port", "ValidatePort", fmt.Sprintf("probe port %d is outside 1–65535", m.TcpSocket.GetPort()), fmt.Sprint(m.TcpSocket.GetPort()), "Set port to the port the VM's application listens on.")
		}
	case *netv1alpha3.ReadinessProbe_Exec:
		if len(m.Exec.GetCommand()) == 0 {
			s.err(at.Child("exec"), "probe-exec", up, "exec.command is required", "command missing", "Give the command to run, e.g. command: [cat, /tmp/healthy].")
		}
	case nil:
		s.err(at, "probe-method", up, "a probe needs a health check method: one of httpGet, tcpSocket or exec", "no method set", "Add httpGet, tcpSocket or exec, or remove the probe.")
	}
	// A grpc probe also falls into upstream's "unknown health check
	// method" branch in the versions meshdoctor follows, but the field is
	// newer than that code; it is not reported rather than guessed.
}
