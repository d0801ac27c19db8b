package proxylog

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/meshdoctor/meshdoctor/internal/accesslog"
	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// ztunnel groups its access lines by destination service and error only,
// so the source and destination of a failure are in the sample lines, not
// in the group key: the ztunnel joins read each sample (the scanner keeps
// the first three of a group) and join those the configuration explains.

// hbonePort is where ztunnel sends HBONE (and where it accepts it).
const hbonePort = 15008

// ztunnelLine is a sample ztunnel access line taken apart
// (src/proxy/metrics.rs writes these fields; addresses are bare,
// strings quoted).
type ztunnelLine struct {
	sample   accesslog.Sample
	outbound bool
	// src and dst are src.addr and dst.addr: on an outbound line the
	// address ztunnel connected to (a pod or waypoint's :15008 for HBONE,
	// the destination itself for plain TCP); on an inbound line the
	// workload address the connection was for.
	src, dst netip.AddrPort
	// hbone is dst.hbone_addr, the address inside the tunnel; invalid when
	// absent or a hostname.
	hbone              netip.AddrPort
	srcWorkload, srcNS string
	dstWorkload, dstNS string
	identity           string // src.identity, written only for mTLS
	err                string
}

// ztunnelSamples parses a group's sample lines; lines that are not
// ztunnel's are left out.
func ztunnelSamples(g *accesslog.Group) []ztunnelLine {
	var out []ztunnelLine
	for _, s := range g.Samples {
		var r accesslog.Record
		if _, ok := accesslog.ParseLine([]byte(s.Text), &r); !ok || !r.IsZtunnel() {
			continue
		}
		l := ztunnelLine{
			sample:      s,
			outbound:    r.String(accesslog.FieldDirection) == "outbound",
			srcWorkload: r.String(accesslog.FieldSrcWorkload),
			srcNS:       r.String(accesslog.FieldSrcNamespace),
			dstWorkload: r.String(accesslog.FieldDstWorkload),
			dstNS:       r.String(accesslog.FieldDstNamespace),
			identity:    r.String(accesslog.FieldSrcIdentity),
			err:         r.String(accesslog.FieldError),
		}
		l.src, _ = netip.ParseAddrPort(r.String(accesslog.FieldSrcAddr))
		l.dst, _ = netip.ParseAddrPort(r.String(accesslog.FieldDstAddr))
		l.hbone, _ = netip.ParseAddrPort(r.String(accesslog.FieldDstHBONEAddr))
		out = append(out, l)
	}
	return out
}

// target is the workload address and port a connection was for: on an
// inbound line dst.addr (older ztunnel wrote :15008 there and the target
// in dst.hbone_addr).
func (l *ztunnelLine) target() netip.AddrPort {
	if l.dst.Port() == hbonePort && l.hbone.IsValid() {
		return l.hbone
	}
	return l.dst
}

// where renders the sample's position for messages.
func (l *ztunnelLine) where() string {
	return fmt.Sprintf("%s:%d", l.sample.File, l.sample.Line)
}

// location points at the sample line.
func (l *ztunnelLine) location(writers map[string]snapshot.LogWriter) analysis.Location {
	return analysis.Location{Position: snapshot.Position{File: l.sample.File, Line: int(l.sample.Line)}, Object: writerOf(writers, l.sample.File), Exact: true}
}

// ztunnelPods finds the pods a ztunnel line names: by name and namespace
// (src.workload and dst.workload are pod names), else by address.
type ztunnelPods struct {
	s    *snapshot.Snapshot
	byIP map[netip.Addr]*snapshot.Object
}

func newZtunnelPods(s *snapshot.Snapshot) *ztunnelPods {
	zp := &ztunnelPods{s: s, byIP: map[netip.Addr]*snapshot.Object{}}
	for _, o := range s.List(snapshot.KindPod) {
		pod, ok := o.Typed.(*corev1.Pod)
		if !ok || pod.Spec.HostNetwork {
			continue // a host-network pod's address is its node's
		}
		for _, ip := range podIPs(pod) {
			zp.byIP[ip] = o
		}
	}
	return zp
}

// podIPs are a pod's addresses (status.podIP and status.podIPs): a
// dual-stack pod is logged at either.
func podIPs(pod *corev1.Pod) []netip.Addr {
	var out []netip.Addr
	for _, s := range append([]string{pod.Status.PodIP}, podIPStrings(pod)...) {
		if a, err := netip.ParseAddr(s); err == nil && !slices.Contains(out, a.Unmap()) {
			out = append(out, a.Unmap())
		}
	}
	return out
}

func podIPStrings(pod *corev1.Pod) []string {
	out := make([]string, len(pod.Status.PodIPs))
	for i, ip := range pod.Status.PodIPs {
		out[i] = ip.IP
	}
	return out
}

// find returns the pod named ns/name, else the one at addr; a pod found
// by name must have that address when both are known, so a restarted pod
// of the same name is not taken for the one logged.
func (zp *ztunnelPods) find(ns, name string, addr netip.Addr) *snapshot.Object {
	if name != "" && ns != "" {
		if o := zp.s.Get(snapshot.KindPod, ns, name); o != nil {
			pod, ok := o.Typed.(*corev1.Pod)
			if !ok {
				return nil
			}
			if ips := podIPs(pod); len(ips) == 0 || !addr.IsValid() || slices.Contains(ips, addr.Unmap()) {
				return o
			}
			return nil
		}
	}
	if addr.IsValid() {
		return zp.byIP[addr.Unmap()]
	}
	return nil
}

// ztunnelFinding starts a finding about a ztunnel group joined to config:
// the explained samples only, as evidence and locations after the
// config's.
func ztunnelFinding(g *accesslog.Group, total int64, lines []ztunnelLine) analysis.Finding {
	n := g.Failures
	f := analysis.Finding{Key: g.Key.String()}
	for _, l := range lines {
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s: %s", l.where(), strings.TrimSpace(l.sample.Text)))
	}
	f.Evidence = append(f.Evidence, fmt.Sprintf("%d of %d records (%.1f%%), first %s, last %s", n, total, 100*float64(n)/float64(max(total, 1)), seen(g.First), seen(g.Last)))
	return f
}

// addLogLocations appends the explained samples' lines to f's locations.
func addLogLocations(f *analysis.Finding, lines []ztunnelLine, writers map[string]snapshot.LogWriter) {
	for _, l := range lines {
		f.Locations = append(f.Locations, l.location(writers))
	}
}

// othersNote says which of the group's sample lines the finding leaves
// out, so that a count over the whole group is not read as explained.
func othersNote(g *accesslog.Group, lines []ztunnelLine) string {
	in := map[accesslog.Position]bool{}
	for _, l := range lines {
		in[l.sample.Position] = true
	}
	var others []string
	for _, s := range g.Samples {
		if !in[s.Position] {
			others = append(others, fmt.Sprintf("%s:%d", s.File, s.Line))
		}
	}
	if len(others) == 0 {
		return ""
	}
	what := "lines"
	if len(others) == 1 {
		what = "line"
	}
	return fmt.Sprintf(" This configuration does not explain the group's other sample %s (%s): other sources, destinations or ports.", what, strings.Join(others, ", "))
}
