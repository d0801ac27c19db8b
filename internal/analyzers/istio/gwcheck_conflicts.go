package istio

import (
	"fmt"
	"sort"
	"strings"

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

// mergeTLSServers replays istiod's MergeGateways for one proxy: every server
// with TLS settings claims its hosts on its port (per bind address); a later
// server naming a host already claimed there is skipped whole.
func mergeTLSServers(gp *gatewayProxy) map[serverRef]droppedServer {
	type portBind struct {
		port uint32
		bind string
	}
	known := map[portBind]map[string]serverRef{}
	dropped := map[serverRef]droppedServer{}
	for _, g := range gp.Gateways {
		for si, s := range g.Spec.GetServers() {
			if s.GetTls() == nil {
				continue
			}
			pb := portBind{s.GetPort().GetNumber(), s.GetBind()}
			if known[pb] == nil {
				known[pb] = map[string]serverRef{}
			}
			hosts := sanitizedHosts(s.GetHosts(), g.Object.Key.Namespace)
			var d droppedServer
			for i, h := range hosts {
				if by, ok := known[pb][h]; ok {
					if len(d.hosts) == 0 {
						d.by, d.first = by, i
					}
					d.hosts = append(d.hosts, h)
				}
			}
			me := serverRef{g, si}
			if len(d.hosts) > 0 {
				dropped[me] = d
				continue
			}
			for _, h := range hosts {
				known[pb][h] = me
			}
		}
	}
	return dropped
}

// GatewayServerConflict: two Gateways of one proxy declare the same host on
// the same TLS port; istiod drops the later server.
var GatewayServerConflict = &analysis.Analyzer{
	Code:     "MD216",
	Name:     "gateway-server-conflict",
	Severity: analysis.Error,
	Summary:  "Two Gateways served by the same gateway proxy declare the same host on the same HTTPS/TLS port; istiod skips the later server entirely.",
	Doc:      doc("MD216"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindGateway)},
	Reads:    gatewayWorkloadReads,
	Requires: []*analysis.Fact{RegistryFact, gatewayProxiesFact},
	Run: func(p *analysis.Pass) error {
		done := map[serverRef]bool{}
		for _, gp := range p.ResultOf(gatewayProxiesFact).([]*gatewayProxy) {
			dropped := mergeTLSServers(gp)
			var refs []serverRef
			for ref, d := range dropped {
				// Only conflicts across Gateways; HTTP servers carrying
				// tls.httpsRedirect only redirect and lose nothing.
				if ref.g == d.by.g || !kb.ParseProtocol(ref.server().GetPort().GetProtocol()).IsTLS() {
					continue
				}
				refs = append(refs, ref)
			}
			sort.Slice(refs, func(i, j int) bool {
				if refs[i].g != refs[j].g {
					return refs[i].g.Object.Ref() < refs[j].g.Object.Ref()
				}
				return refs[i].si < refs[j].si
			})
			for _, ref := range refs {
				if done[ref] {
					continue
				}
				done[ref] = true
				d := dropped[ref]
				s := ref.server()
				byS := d.by.server()
				at := snapshot.P("spec", "servers", ref.si, "hosts", d.first)
				if len(s.GetHosts()) == 1 && s.GetHosts()[0] == "*/*" {
					at = snapshot.P("spec", "servers", ref.si, "hosts", 0)
				}
				objs := []*snapshot.Object{d.by.g.Object, ref.g.Object}
				p.Report(analysis.Finding{
					Subject:   ref.g.Object.Key,
					Message:   fmt.Sprintf("%s server %d (port %d, hosts %s) and %s server %d both declare %s on port %d%s of %s: istiod keeps the server of %s (%s) and skips the whole server of %s, so none of its hosts get its TLS settings, and VirtualServices bound only to %s get no traffic for them (404, or the other server's certificate).", ref.g.Object.Ref(), ref.si, s.GetPort().GetNumber(), strings.Join(s.GetHosts(), ", "), d.by.g.Object.Ref(), d.by.si, strings.Join(d.hosts, ", "), s.GetPort().GetNumber(), bindText(s), gp.Describe(), d.by.g.Object.Ref(), orderText(objs), ref.g.Object.Ref(), ref.g.Object.Ref()),
					Locations: []analysis.Location{analysis.LocationOf(ref.g.Object, at)},
					Evidence: []string{
						fmt.Sprintf("%s servers[%d]: port %d %s, hosts %s, tls mode %s", d.by.g.Object.Ref(), d.by.si, byS.GetPort().GetNumber(), byS.GetPort().GetProtocol(), strings.Join(byS.GetHosts(), ", "), tlsModeText(byS)),
						fmt.Sprintf("%s servers[%d]: port %d %s, hosts %s, tls mode %s", ref.g.Object.Ref(), ref.si, s.GetPort().GetNumber(), s.GetPort().GetProtocol(), strings.Join(s.GetHosts(), ", "), tlsModeText(s)),
						fmt.Sprintf("both selected by %s (selectors %s and %s)", gp.Describe(), selectorOf(d.by.g), selectorOf(ref.g)),
					},
					Remedy:  fmt.Sprintf("Declare each host on one server of one Gateway per port: remove %s from %s server %d (or from %s), or merge the two servers; istiod logs \"skipping server on gateway %s, duplicate host names\".", strings.Join(d.hosts, ", "), ref.g.Object.Ref(), ref.si, d.by.g.Object.Ref(), ref.g.Object.Key.Namespace+"/"+ref.g.Object.Key.Name),
					Related: []analysis.Related{analysis.RelatedOf(d.by.g.Object, "the Gateway whose server keeps the host")},
					Key:     fmt.Sprintf("servers[%d]", ref.si),
				})
			}
		}
		return nil
	},
}

func bindText(s *netv1alpha3.Server) string {
	if s.GetBind() == "" {
		return ""
	}
	return " (bind " + s.GetBind() + ")"
}
