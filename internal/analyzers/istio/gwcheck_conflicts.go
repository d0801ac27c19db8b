package istio

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"
	netv1alpha3 "istio.io/api/networking/v1alpha3"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/kb"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// serverRef names one server of one Gateway.
type serverRef struct {
	g  *Gateway
	si int
}

func (s serverRef) server() *netv1alpha3.Server { return s.g.Spec.GetServers()[s.si] }

// droppedServer is a server istiod skips when merging the Gateways of one
// proxy, because an earlier server holds one of its hosts on the same port
// and bind.
type droppedServer struct {
	by    serverRef
	hosts []string // the duplicate hosts, as istiod compares them
	first int      // index in spec.servers[].hosts of the first of them
}

// sanitizedHosts rewrites server hosts as istiod does before comparing
// them: "./h" becomes "<gateway ns>/h", "*/h" becomes "h", and "*/*" makes
// the whole list "*". The result is parallel to the input except for "*/*".
func sanitizedHosts(hosts []string, ns string) []string {
	out := make([]string, len(hosts))
	for i, h := range hosts {
		switch {
		case h == "*/*":
			return []string{"*"}
		case strings.HasPrefix(h, "./"):
			out[i] = ns + "/" + h[2:]
		case strings.HasPrefix(h, "*/"):
			out[i] = h[2:]
		default:
			out[i] = h
		}
	}
	return out
}

// GatewayServerConflict: two servers of one gateway proxy declare the same
// host on the same port with TLS settings; istiod drops the later server.
var GatewayServerConflict = &analysis.Analyzer{
	Code:     "MD216",
	Name:     "gateway-server-conflict",
	Severity: analysis.Error,
	Summary:  "Two servers served by the same gateway proxy (of two Gateways or of one) declare the same host on the same port with TLS settings (HTTPS, TLS, or an HTTP server redirecting to HTTPS); istiod skips the later server entirely.",
	Doc:      doc("MD216"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindGateway)},
	Reads:    reads(gatewayWorkloadReads, listenerReads),
	Requires: []*analysis.Fact{RegistryFact, gatewayProxiesFact},
	Run: func(p *analysis.Pass) error {
		done := map[serverRef]bool{}
		for _, gp := range p.ResultOf(gatewayProxiesFact).([]*gatewayProxy) {
			m := mergeProxy(p.Snapshot, gp)
			// The hosts kept on each listener, for where the skipped
			// server's other hosts land.
			kept := map[listenerKey]hostCover{}
			var drops []int
			for i, ps := range m.placed {
				if _, gone := m.dropped[i]; gone {
					drops = append(drops, i)
					continue
				}
				if kept[ps.lk] == nil {
					kept[ps.lk] = hostCover{}
				}
				for _, h := range ps.hosts {
					kept[ps.lk].add(h, ps.serverRef)
				}
			}
			for _, i := range drops {
				ps := m.placed[i]
				if done[ps.serverRef] {
					continue
				}
				if f, ok := serverConflict(gp, ps, m.dropped[i], kept[ps.lk]); ok {
					done[ps.serverRef] = true
					p.Report(f)
				}
			}
		}
		return nil
	},
}

// serverConflict describes what is lost when istiod skips server ps
// because of d; ok is false when nothing is (an HTTP server whose hosts
// are all redirected by the server that keeps them, or a server of the same
// Gateway with the same TLS settings and hosts).
func serverConflict(gp *gatewayProxy, ps placedServer, d droppedServer, kept hostCover) (analysis.Finding, bool) {
	s, byS := ps.server(), d.by.server()
	sameGW := ps.g == d.by.g
	isTLS := kb.ParseProtocol(s.GetPort().GetProtocol()).IsTLS()
	shared := map[string]bool{}
	for _, h := range d.hosts {
		shared[h] = true
	}
	var lost, landed []string
	for _, h := range ps.hosts {
		if shared[h] {
			continue
		}
		if ref, w, ok := kept.lookup(h); ok {
			landed = append(landed, fmt.Sprintf("%s falls to %s server %d (host %s)", bareHost(h), ref.g.Object.Ref(), ref.si, w))
		} else {
			lost = append(lost, bareHost(h))
		}
	}
	var effects []string
	sharedText := strings.Join(d.hosts, ", ")
	if isTLS {
		switch {
		case !sameGW:
			effects = append(effects, fmt.Sprintf("requests for %s get the certificate and TLS settings of %s server %d (mode %s), and VirtualServices bound only to %s get no traffic for them (404)", sharedText, d.by.g.Object.Ref(), d.by.si, tlsModeText(byS), ps.g.Object.Ref()))
		case !proto.Equal(s.GetTls(), byS.GetTls()):
			_, certS := serverCertificate(s, gp.Namespace)
			_, certBy := serverCertificate(byS, gp.Namespace)
			effects = append(effects, fmt.Sprintf("requests for %s get server %d's TLS settings (mode %s, %s); the settings of server %d (mode %s, %s) never apply", sharedText, d.by.si, tlsModeText(byS), orText(certBy, "no certificate"), ps.si, tlsModeText(s), orText(certS, "no certificate")))
		}
		if len(lost) > 0 {
			effects = append(effects, fmt.Sprintf("%s %s declared by no other server on the port: no filter chain matches that name in SNI, so TLS handshakes for it fail (the client sees the connection reset), not a 404", strings.Join(lost, ", "), isAre(len(lost))))
		}
		if len(landed) > 0 {
			effects = append(effects, strings.Join(landed, "; ")+", whose certificate and routes apply")
		}
	} else {
		redirect, byRedirect := s.GetTls().GetHttpsRedirect(), byS.GetTls().GetHttpsRedirect()
		instead := "their routes"
		if redirect {
			instead = "the redirect to HTTPS"
		}
		if len(lost) > 0 {
			effects = append(effects, fmt.Sprintf("%s get%s no virtual host on port %d: requests get 404 (NR) instead of %s", strings.Join(lost, ", "), singularS(len(lost)), s.GetPort().GetNumber(), instead))
		}
		if redirect && !byRedirect {
			effects = append(effects, fmt.Sprintf("requests for %s are not redirected to HTTPS: %s server %d serves them without httpsRedirect", sharedText, d.by.g.Object.Ref(), d.by.si))
		}
		if !sameGW && !redirect {
			effects = append(effects, fmt.Sprintf("VirtualServices bound only to %s get no traffic for %s on this port (404)", ps.g.Object.Ref(), sharedText))
		}
	}
	if len(effects) == 0 {
		return analysis.Finding{}, false
	}
	at := snapshot.P("spec", "servers", ps.si, "hosts", d.first)
	if len(s.GetHosts()) == 1 && s.GetHosts()[0] == "*/*" {
		at = snapshot.P("spec", "servers", ps.si, "hosts", 0)
	}
	holder := fmt.Sprintf("%s server %d", d.by.g.Object.Ref(), d.by.si)
	why := "istiod takes a Gateway's servers in order"
	if sameGW {
		holder = fmt.Sprintf("its server %d", d.by.si)
	} else {
		why = orderText([]*snapshot.Object{d.by.g.Object, ps.g.Object})
	}
	remedy := fmt.Sprintf("Declare each host on one server of one Gateway per port: remove %s from %s server %d (or from %s), or merge the two servers; istiod logs \"skipping server on gateway %s, duplicate host names\".", sharedText, ps.g.Object.Ref(), ps.si, holder, ps.g.Object.Key.Namespace+"/"+ps.g.Object.Key.Name)
	f := analysis.Finding{
		Subject:   ps.g.Object.Key,
		Message:   fmt.Sprintf("%s server %d (%s, hosts %s) declares %s, which %s already holds on %s of %s: istiod keeps the earlier server (%s) and skips the whole server %d, so %s.", ps.g.Object.Ref(), ps.si, s.GetPort().GetProtocol(), strings.Join(s.GetHosts(), ", "), sharedText, holder, ps.lk.text(s.GetPort().GetNumber()), gp.Describe(), why, ps.si, strings.Join(effects, "; ")),
		Locations: []analysis.Location{analysis.LocationOf(ps.g.Object, at)},
		Evidence: []string{
			fmt.Sprintf("%s servers[%d]: %s %s, hosts %s, %s", d.by.g.Object.Ref(), d.by.si, ps.lk.text(byS.GetPort().GetNumber()), byS.GetPort().GetProtocol(), strings.Join(byS.GetHosts(), ", "), serverTLSText(byS)),
			fmt.Sprintf("%s servers[%d]: %s %s, hosts %s, %s", ps.g.Object.Ref(), ps.si, ps.lk.text(s.GetPort().GetNumber()), s.GetPort().GetProtocol(), strings.Join(s.GetHosts(), ", "), serverTLSText(s)),
			fmt.Sprintf("both served by %s (selectors %s and %s)", gp.Describe(), selectorOf(d.by.g), selectorOf(ps.g)),
		},
		Remedy: remedy,
		Key:    fmt.Sprintf("servers[%d]", ps.si),
	}
	if !sameGW {
		f.Related = []analysis.Related{analysis.RelatedOf(d.by.g.Object, "the Gateway whose server keeps the host")}
	}
	return f, true
}

// serverTLSText describes a server's TLS settings for evidence.
func serverTLSText(s *netv1alpha3.Server) string {
	if !kb.ParseProtocol(s.GetPort().GetProtocol()).IsTLS() {
		if s.GetTls().GetHttpsRedirect() {
			return "tls.httpsRedirect"
		}
		return "tls settings without httpsRedirect"
	}
	out := "tls mode " + tlsModeText(s)
	if _, cert := serverCertificate(s, ""); cert != "" {
		out += ", " + cert
	}
	return out
}

func orText(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

func singularS(n int) string {
	if n == 1 {
		return "s"
	}
	return ""
}
