package cilium

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// Enforcement is an endpoint's policy enforcement in one direction, as
// `cilium endpoint list` prints it.
type Enforcement string

// Enforcement values (cilium-dbg/cmd/endpoint_list.go).
const (
	EnforcementEnabled  Enforcement = "Enabled"
	EnforcementDisabled Enforcement = "Disabled"
	EnforcementAudit    Enforcement = "Disabled (Audit)"
	EnforcementUnknown  Enforcement = "Unknown"
)

// Endpoint is one Cilium endpoint (a pod, the host, or cilium-health).
type Endpoint struct {
	// Line is the 1-based line of the endpoint's row (table) or of its
	// "id" (JSON).
	Line int
	ID   uint32
	// Ingress and Egress are the policy enforcement per direction.
	Ingress, Egress Enforcement
	// Identity is the endpoint's security identity; HasIdentity is false
	// when the table printed "<no label id>".
	Identity    Identity
	HasIdentity bool
	// Labels are the security-relevant labels ("k8s:app=web",
	// "reserved:host"), sorted as printed.
	Labels     []string
	IPv4, IPv6 netip.Addr
	// State is the endpoint state ("ready", "waiting-for-identity",
	// "not-ready", "regenerating", ...).
	State string
	// Namespace and PodName come from the JSON's external identifiers or
	// from the k8s:io.kubernetes.pod.namespace label.
	Namespace, PodName string
}

// Enforced reports whether policy is enforced (not merely audited) in
// the given direction ("ingress" or "egress").
func (e *Endpoint) Enforced(direction string) bool {
	if strings.EqualFold(direction, "egress") {
		return e.Egress == EnforcementEnabled
	}
	return e.Ingress == EnforcementEnabled
}

// Label returns the value of a label key in any source ("app" matches
// "k8s:app=web"), and whether it is there.
func (e *Endpoint) Label(key string) (string, bool) {
	for _, l := range e.Labels {
		if _, kv, ok := strings.Cut(l, ":"); ok {
			if k, v, _ := strings.Cut(kv, "="); k == key {
				return v, true
			}
		}
	}
	return "", false
}

func (e *Endpoint) namespaceFromLabels() {
	if e.Namespace == "" {
		e.Namespace, _ = e.Label("io.kubernetes.pod.namespace")
	}
}

// ParseEndpointList reads the table `cilium endpoint list` prints:
//
//	ENDPOINT   POLICY (ingress)   POLICY (egress)   IDENTITY   LABELS (source:key[=value])   IPv6   IPv4         STATUS
//	           ENFORCEMENT        ENFORCEMENT
//	2636       Enabled            Disabled          59271      k8s:app=web                          10.0.1.149   ready
//	                                                           k8s:io.kubernetes.pod.namespace=prod
//
// An endpoint's further labels follow on lines of their own. The row is
// read by its words, not by column offsets, so output whose runs of spaces
// were squeezed (copied from a terminal or a web page) reads the same; an
// empty IPv6 or IPv4 column is told apart by the address family.
func ParseEndpointList(data []byte) ([]Endpoint, []error) {
	var el errList
	var eps []Endpoint
	eachLine(data, func(n int, line string) {
		f := strings.Fields(line)
		switch {
		case len(f) == 0 || kubectlNoise(line):
		case f[0] == "ENDPOINT" || len(f) <= 2 && f[0] == "ENFORCEMENT":
		case len(f) == 1 || len(f) == 2 && f[0] == "no" && f[1] == "labels":
			if len(eps) == 0 {
				el.add(n, line, errContinuation)
				return
			}
			eps[len(eps)-1].Labels = append(eps[len(eps)-1].Labels, strings.Join(f, " "))
		default:
			e, err := parseEndpointRow(f)
			if err != nil {
				el.add(n, line, err)
				return
			}
			e.Line = n
			eps = append(eps, e)
		}
	})
	for i := range eps {
		eps[i].namespaceFromLabels()
	}
	return eps, el.list()
}

// parseEndpointRow reads the words of an endpoint's first row.
func parseEndpointRow(f []string) (Endpoint, error) {
	var e Endpoint
	id, err := strconv.ParseUint(f[0], 10, 32)
	if err != nil {
		return e, fmt.Errorf("endpoint ID %q is not a number", excerpt(f[0]))
	}
	e.ID = uint32(id)
	f = f[1:]
	var ok bool
	if e.Ingress, f, ok = cutEnforcement(f); !ok {
		return e, errors.New("no ingress enforcement (Enabled, Disabled, Disabled (Audit) or Unknown)")
	}
	if e.Egress, f, ok = cutEnforcement(f); !ok {
		return e, errors.New("no egress enforcement (Enabled, Disabled, Disabled (Audit) or Unknown)")
	}
	switch {
	case len(f) >= 3 && f[0] == "<no" && f[1] == "label" && f[2] == "id>":
		f = f[3:]
	case len(f) > 0:
		n, err := strconv.ParseUint(f[0], 10, 32)
		if err != nil {
			return e, fmt.Errorf("identity %q is not a number", excerpt(f[0]))
		}
		e.Identity, e.HasIdentity = Identity(n), true
		f = f[1:]
	default:
		return e, errors.New("no identity")
	}
	switch {
	case len(f) >= 2 && f[0] == "no" && f[1] == "labels":
		e.Labels, f = []string{"no labels"}, f[2:]
	case len(f) > 0:
		e.Labels, f = []string{f[0]}, f[1:]
	}
	if len(f) == 0 {
		return e, errors.New("no status")
	}
	e.State = f[len(f)-1]
	for i := 0; i < len(f)-1; i++ {
		w := f[i]
		switch {
		case w == "Unknown":
		case w == "No" && i+1 < len(f)-1 && f[i+1] == "address":
			i++
		default:
			a, err := netip.ParseAddr(w)
			if err != nil {
				return e, fmt.Errorf("%q is not an IP address", excerpt(w))
			}
			if a.Is4() {
				e.IPv4 = a
			} else {
				e.IPv6 = a
			}
		}
	}
	return e, nil
}

// cutEnforcement takes an enforcement off the front of f.
func cutEnforcement(f []string) (Enforcement, []string, bool) {
	if len(f) == 0 {
		return "", f, false
	}
	switch f[0] {
	case "Enabled", "Unknown":
		return Enforcement(f[0]), f[1:], true
	case "Disabled":
		if len(f) > 1 && f[1] == "(Audit)" {
			return EnforcementAudit, f[2:], true
		}
		return EnforcementDisabled, f[1:], true
	}
	return "", f, false
}

// jsonEndpointModel is the part of the API's Endpoint model meshdoctor
// reads (api/v1/models: Endpoint, EndpointStatus).
type jsonEndpointModel struct {
	ID     jsonUint `json:"id"`
	Status *struct {
		State    string `json:"state"`
		Identity *struct {
			ID     jsonUint `json:"id"`
			Labels []string `json:"labels"`
		} `json:"identity"`
		Labels *struct {
			SecurityRelevant []string `json:"security-relevant"`
		} `json:"labels"`
		Networking *struct {
			Addressing []struct {
				IPv4 string `json:"ipv4"`
				IPv6 string `json:"ipv6"`
			} `json:"addressing"`
		} `json:"networking"`
		Policy *struct {
			Realized *struct {
				PolicyEnabled string `json:"policy-enabled"`
			} `json:"realized"`
		} `json:"policy"`
		ExternalIdentifiers *struct {
			K8sNamespace string `json:"k8s-namespace"`
			K8sPodName   string `json:"k8s-pod-name"`
			PodName      string `json:"pod-name"`
		} `json:"external-identifiers"`
	} `json:"status"`
}

// ParseEndpointJSON reads `cilium endpoint list -o json`: a JSON array of
// the API's Endpoint objects (a single object is accepted too). An
// endpoint that does not convert becomes a *LineError at the line where
// it starts, and the others are still read; JSON that is not well formed
// stops the reading where it breaks.
func ParseEndpointJSON(data []byte) ([]Endpoint, []error) {
	var el errList
	var eps []Endpoint
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	dec := json.NewDecoder(bytes.NewReader(data))
	one := func(start int64) bool {
		n := lineOf(data, start)
		var m jsonEndpointModel
		if err := dec.Decode(&m); err != nil {
			el.add(n, lineAt(data, n), jsonError(err))
			// A value that does not fit the model leaves the decoder after
			// it; broken JSON does not.
			var se *json.SyntaxError
			return !errors.As(err, &se) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF)
		}
		e, err := m.endpoint()
		if err != nil {
			el.add(n, lineAt(data, n), err)
		}
		e.Line = n
		eps = append(eps, e)
		return true
	}
	start := skipJSONSpace(data, 0)
	switch {
	case start == int64(len(data)):
		return nil, nil
	case data[start] == '{':
		one(start)
		return eps, el.list()
	case data[start] != '[':
		el.add(lineOf(data, start), lineAt(data, lineOf(data, start)), errors.New("not a JSON array of endpoints"))
		return nil, el.list()
	}
	if _, err := dec.Token(); err != nil {
		el.add(1, firstLine(data), jsonError(err))
		return nil, el.list()
	}
	for dec.More() {
		off := dec.InputOffset()
		if !one(skipJSONSpace(data, off)) || dec.InputOffset() == off {
			return eps, el.list()
		}
	}
	if _, err := dec.Token(); err != nil {
		n := lineOf(data, int64(len(data)))
		el.add(n, lineAt(data, n), errors.New("JSON array of endpoints not closed"))
	}
	return eps, el.list()
}

// skipJSONSpace returns the offset of the first byte at or after off that
// is neither white space nor a comma.
func skipJSONSpace(data []byte, off int64) int64 {
	for off < int64(len(data)) {
		switch data[off] {
		case ' ', '\t', '\r', '\n', ',':
			off++
		default:
			return off
		}
	}
	return off
}

// lineOf is the 1-based line of byte offset off; an offset in trailing
// white space counts as the last line that has text.
func lineOf(data []byte, off int64) int {
	off = min(max(off, 0), int64(len(bytes.TrimRight(data, " \t\r\n"))))
	return bytes.Count(data[:off], []byte{'\n'}) + 1
}

func (m *jsonEndpointModel) endpoint() (Endpoint, error) {
	e := Endpoint{ID: uint32(m.ID), Ingress: EnforcementUnknown, Egress: EnforcementUnknown}
	st := m.Status
	if st == nil {
		return e, nil
	}
	e.State = st.State
	if st.Identity != nil {
		e.Identity, e.HasIdentity = Identity(st.Identity.ID), true
	}
	if st.Labels != nil {
		e.Labels = st.Labels.SecurityRelevant
	}
	if len(e.Labels) == 0 && st.Identity != nil {
		e.Labels = st.Identity.Labels
	}
	if st.Policy != nil && st.Policy.Realized != nil {
		e.Ingress, e.Egress = policyEnabled(st.Policy.Realized.PolicyEnabled)
	}
	var errs []error
	if st.Networking != nil {
		for _, a := range st.Networking.Addressing {
			for _, s := range []string{a.IPv4, a.IPv6} {
				if s == "" {
					continue
				}
				addr, err := netip.ParseAddr(s)
				switch {
				case err != nil:
					errs = append(errs, fmt.Errorf("%q is not an IP address", excerpt(s)))
				case addr.Is4() && !e.IPv4.IsValid():
					e.IPv4 = addr
				case addr.Is6() && !e.IPv6.IsValid():
					e.IPv6 = addr
				}
			}
		}
	}
	if x := st.ExternalIdentifiers; x != nil {
		e.Namespace, e.PodName = x.K8sNamespace, x.K8sPodName
		if ns, pod, ok := strings.Cut(x.PodName, "/"); ok && e.PodName == "" {
			e.Namespace, e.PodName = ns, pod
		}
	}
	e.namespaceFromLabels()
	return e, errors.Join(errs...)
}

// policyEnabled maps the model's policy-enabled to per-direction
// enforcement, as endpoint_list.go does.
func policyEnabled(s string) (in, eg Enforcement) {
	switch s {
	case "none":
		return EnforcementDisabled, EnforcementDisabled
	case "both":
		return EnforcementEnabled, EnforcementEnabled
	case "ingress":
		return EnforcementEnabled, EnforcementDisabled
	case "egress":
		return EnforcementDisabled, EnforcementEnabled
	case "audit-both":
		return EnforcementAudit, EnforcementAudit
	case "audit-ingress":
		return EnforcementAudit, EnforcementDisabled
	case "audit-egress":
		return EnforcementDisabled, EnforcementAudit
	}
	return EnforcementUnknown, EnforcementUnknown
}

func firstLine(data []byte) string { return lineAt(data, 1) }

// lineAt returns line n (1-based) of data, or "".
func lineAt(data []byte, n int) string {
	var out string
	eachLine(data, func(i int, line string) {
		if i == n {
			out = line
		}
	})
	return out
}
