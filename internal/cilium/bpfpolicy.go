package cilium

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// PolicyEntry is one row of an endpoint's BPF policy map, as `cilium bpf
// policy get` prints it.
type PolicyEntry struct {
	// Line is the 1-based line of the row (its further labels follow).
	Line int
	// EndpointID and MapPath come from the section header of `--all`
	// ("Endpoint ID: 123" / "Path: ..." or a ".../cilium_policy_00123:"
	// line); EndpointID is 0 without one.
	EndpointID uint32
	MapPath    string
	// Action is "Allow" or "Deny"; output older than the POLICY column
	// (Cilium < 1.9) only had allow entries and says "Allow" here too.
	Action string
	// Direction is "Ingress" or "Egress".
	Direction string
	// Labels are the peer identity's labels as printed, one a line; with
	// --numeric (-n), or when the agent could not resolve the identity,
	// the column holds its number and Labels is empty.
	Labels []string
	// Identity is the peer's identity when known: printed as a number,
	// or a reserved label (reserved:world = 2). Wildcard is set for "ANY"
	// and the older "reserved:unknown" (identity 0, any peer).
	Identity    Identity
	HasIdentity bool
	Wildcard    bool
	// PortProto is the PORT/PROTO column as printed ("ANY", "TCP",
	// "8080/TCP", "80-95/TCP"); Proto, Port and PortEnd are read from it
	// (Port and PortEnd are 0 when any port matches).
	PortProto     string
	Proto         string
	Port, PortEnd uint16
	// ProxyPort is the L7 proxy port, 0 for "NONE".
	ProxyPort uint16
	// AuthType is the AUTH TYPE column (Cilium 1.14 and later).
	AuthType string
	// Bytes and Packets are the entry's counters; HasStats is false when
	// they printed as "-".
	Bytes, Packets uint64
	HasStats       bool
	// Prefix and Cookie are the PREFIX and COOKIE columns of newer Cilium.
	Prefix uint32
	Cookie uint64
}

var errBadPort = errors.New("bad port")

// Policy map table column titles (cilium-dbg/cmd/bpf_policy_get.go).
const (
	colPolicy    = "POLICY"
	colDirection = "DIRECTION"
	colLabels    = "LABELS (source:key[=value])"
	colIdentity  = "IDENTITY"
	colPort      = "PORT/PROTO"
	colProxyPort = "PROXY PORT"
	colAuthType  = "AUTH TYPE"
	colBytes     = "BYTES"
	colPackets   = "PACKETS"
	colPrefix    = "PREFIX"
	colCookie    = "COOKIE"
)

var policyColumns = []string{colPolicy, colDirection, colLabels, colIdentity, colPort, colProxyPort, colAuthType, colBytes, colPackets, colPrefix, colCookie}

// policyColumnSets are the column sets of the Cilium releases, used when a
// table comes without its header (told apart by their number of columns).
var policyColumnSets = [][]string{
	{colDirection, colLabels, colPort, colProxyPort, colBytes, colPackets},
	{colPolicy, colDirection, colLabels, colPort, colProxyPort, colBytes, colPackets},
	{colPolicy, colDirection, colLabels, colPort, colProxyPort, colAuthType, colBytes, colPackets},
	{colPolicy, colDirection, colLabels, colPort, colProxyPort, colAuthType, colBytes, colPackets, colPrefix},
	{colPolicy, colDirection, colLabels, colPort, colProxyPort, colAuthType, colBytes, colPackets, colPrefix, colCookie},
}

// ParseBPFPolicy reads `cilium bpf policy get <endpoint>` and `cilium bpf
// policy get --all`. Columns are taken from each table's header, so the
// older (POLICY DIRECTION LABELS PORT/PROTO PROXY PORT BYTES PACKETS) and
// newer (with AUTH TYPE, PREFIX, COOKIE) column sets and --numeric's
// IDENTITY column all read; rows are read by their words, so squeezed
// spaces do no harm. A row's further labels follow on lines of their own.
// A table without a header is read by its number of columns.
func ParseBPFPolicy(data []byte) ([]PolicyEntry, []error) {
	var el errList
	var entries []PolicyEntry
	var cols []string
	var epID uint32
	var path string
	tableStart := 0 // index in entries of the current table's first row
	eachLine(data, func(n int, line string) {
		trim := strings.TrimSpace(line)
		f := strings.Fields(trim)
		switch {
		case len(f) == 0 || kubectlNoise(trim) || policyNoise(trim):
		case strings.HasPrefix(trim, "Endpoint ID:"):
			id, err := parseU32(strings.TrimSpace(strings.TrimPrefix(trim, "Endpoint ID:")))
			if err != nil {
				el.add(n, line, fmt.Errorf("endpoint ID: %w", err))
			}
			epID, path, cols, tableStart = id, "", nil, len(entries)
		case strings.HasPrefix(trim, "Path:"):
			path = strings.TrimSpace(strings.TrimPrefix(trim, "Path:"))
		case strings.Contains(trim, "cilium_policy") && strings.HasSuffix(trim, ":") && len(f) == 1:
			path = strings.TrimSuffix(trim, ":")
			epID, cols, tableStart = policyMapEndpoint(path), nil, len(entries)
		case strings.Contains(trim, colDirection) && strings.Contains(trim, colPort):
			cols, tableStart = policyHeader(trim), len(entries)
		case len(f) == 1:
			if len(entries) <= tableStart {
				el.add(n, line, errContinuation)
				return
			}
			e := &entries[len(entries)-1]
			e.Labels = append(e.Labels, f[0])
		default:
			c := cols
			if c == nil {
				for _, set := range policyColumnSets {
					if len(set) == len(f) {
						c = set
					}
				}
				if c == nil {
					el.add(n, line, errNoHeader)
					return
				}
			}
			e, err := parsePolicyRow(c, f)
			if err != nil {
				el.add(n, line, err)
				return
			}
			e.Line, e.EndpointID, e.MapPath = n, epID, path
			entries = append(entries, e)
		}
	})
	for i := range entries {
		entries[i].identityFromLabels()
	}
	return entries, el.list()
}

// policyNoise reports lines of bpf policy get that hold no entry.
func policyNoise(s string) bool {
	return strings.HasPrefix(s, "Policy stats empty.") || s == "no maps found" ||
		strings.HasPrefix(s, "Was impossible to retrieve label ID")
}

// policyMapEndpoint reads the endpoint ID at the end of a policy map path
// (".../cilium_policy_00123" → 123), 0 when there is none.
func policyMapEndpoint(path string) uint32 {
	i := strings.LastIndexByte(path, '_')
	n, err := strconv.ParseUint(strings.TrimLeft(path[i+1:], "0"), 10, 32)
	if err != nil {
		return 0
	}
	return uint32(n)
}

// policyHeader returns a header's columns in their order.
func policyHeader(h string) []string {
	type at struct {
		col string
		i   int
	}
	var found []at
	for _, c := range policyColumns {
		i := headerIndex(h, c)
		if i >= 0 {
			found = append(found, at{c, i})
		}
	}
	sort.Slice(found, func(a, b int) bool { return found[a].i < found[b].i })
	cols := make([]string, len(found))
	for k, f := range found {
		cols[k] = f.col
	}
	return cols
}

// headerIndex finds a column title in a header as whole words.
func headerIndex(h, title string) int {
	for off := 0; ; {
		i := strings.Index(h[off:], title)
		if i < 0 {
			return -1
		}
		i += off
		end := i + len(title)
		if (i == 0 || h[i-1] == ' ' || h[i-1] == '\t') && (end == len(h) || h[end] == ' ' || h[end] == '\t') {
			return i
		}
		off = i + 1
	}
}

// parsePolicyRow reads a row's words by the table's columns.
func parsePolicyRow(cols, f []string) (PolicyEntry, error) {
	e := PolicyEntry{Action: "Allow"}
	for _, c := range cols {
		if len(f) == 0 {
			return e, fmt.Errorf("row ends before its %s column", c)
		}
		w := f[0]
		f = f[1:]
		var err error
		switch c {
		case colPolicy:
			if w != "Allow" && w != "Deny" {
				return e, fmt.Errorf("policy %q is neither Allow nor Deny", excerpt(w))
			}
			e.Action = w
		case colDirection:
			if w != "Ingress" && w != "Egress" {
				return e, fmt.Errorf("direction %q is neither Ingress nor Egress", excerpt(w))
			}
			e.Direction = w
		case colLabels, colIdentity:
			if n, err := strconv.ParseUint(w, 10, 32); err == nil {
				e.Identity, e.HasIdentity = Identity(n), true
			} else {
				e.Labels = []string{w}
			}
		case colPort:
			if strings.HasPrefix(w, "<") && !strings.HasSuffix(w, ">") {
				for len(f) > 0 && !strings.HasSuffix(w, ">") {
					w, f = w+" "+f[0], f[1:]
				}
			}
			if !e.setPortProto(w) {
				err = errBadPort
			}
		case colProxyPort:
			if w != "NONE" {
				var p uint64
				p, err = strconv.ParseUint(w, 10, 16)
				e.ProxyPort = uint16(p)
			}
		case colAuthType:
			e.AuthType = w
		case colBytes, colPackets:
			if w == "-" {
				continue
			}
			var v uint64
			v, err = strconv.ParseUint(w, 10, 64)
			if c == colBytes {
				e.Bytes = v
			} else {
				e.Packets = v
			}
			e.HasStats = true
		case colPrefix:
			var v uint64
			v, err = strconv.ParseUint(w, 10, 32)
			e.Prefix = uint32(v)
		case colCookie:
			e.Cookie, err = strconv.ParseUint(w, 10, 64)
		}
		switch {
		case err != nil && c == colPort:
			return e, fmt.Errorf("%s %q is not ANY, a protocol, or port[-port]/protocol", c, excerpt(w))
		case err != nil:
			return e, fmt.Errorf("%s %q is not a number", c, excerpt(w))
		}
	}
	if len(f) > 0 {
		return e, fmt.Errorf("%d more words than the table has columns", len(f))
	}
	return e, nil
}

// setPortProto reads PORT/PROTO: "ANY", "TCP", "8080/TCP", "80-95/TCP",
// or Cilium 1.15's "0x50/12/TCP" (port and port prefix length). It reports
// whether the port part reads.
func (e *PolicyEntry) setPortProto(s string) bool {
	e.PortProto = s
	if strings.HasPrefix(s, "<") {
		return true // "<INVALID PREFIX LENGTH: n>", kept as printed
	}
	parts := strings.Split(s, "/")
	e.Proto = parts[len(parts)-1]
	switch len(parts) {
	case 1:
		return true
	case 2:
		lo, hi, isRange := strings.Cut(parts[0], "-")
		p, err := strconv.ParseUint(lo, 10, 16)
		if err != nil {
			return false
		}
		e.Port, e.PortEnd = uint16(p), uint16(p)
		if isRange {
			q, err := strconv.ParseUint(hi, 10, 16)
			if err != nil || q < p {
				return false
			}
			e.PortEnd = uint16(q)
		}
		return true
	case 3:
		p, err := strconv.ParseUint(parts[0], 0, 16)
		bits, err2 := strconv.ParseUint(parts[1], 10, 8)
		if err != nil || err2 != nil || bits > 16 {
			return false
		}
		e.Port = uint16(p)
		e.PortEnd = uint16(min(p+uint64(0xffff>>bits), 0xffff))
		return true
	}
	return false
}

// identityFromLabels sets the identity of entries whose labels are all
// reserved ones.
func (e *PolicyEntry) identityFromLabels() {
	if e.HasIdentity || len(e.Labels) == 0 {
		return
	}
	if len(e.Labels) == 1 && (e.Labels[0] == "ANY" || e.Labels[0] == "reserved:unknown") {
		e.Identity, e.HasIdentity, e.Wildcard = IdentityUnknown, true, true
		return
	}
	// The kube-apiserver identity carries two labels, reserved:kube-apiserver
	// and reserved:remote-node; any other reserved identity one.
	var ids []Identity
	for _, l := range e.Labels {
		id, ok := ParseIdentity(l)
		if !ok || !strings.HasPrefix(l, "reserved:") {
			return
		}
		ids = append(ids, id)
	}
	id := ids[0]
	if len(ids) > 1 {
		if !slices.Contains(ids, IdentityKubeAPIServer) {
			return
		}
		id = IdentityKubeAPIServer
	}
	e.Identity, e.HasIdentity = id, true
}
