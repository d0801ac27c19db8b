package istio

import (
	"fmt"
	"strings"

	netv1alpha3 "istio.io/api/networking/v1alpha3"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// serverCertificate names the certificate a server terminating TLS
// presents, for comparing servers of one proxy: a credential resolved in
// the proxy's namespace, or the certificate and key files. "" when the
// server names none.
func serverCertificate(s *netv1alpha3.Server, proxyNS string) (id, text string) {
	tls := s.GetTls()
	names := tls.GetCredentialNames()
	if n := tls.GetCredentialName(); n != "" {
		names = []string{n}
	}
	if len(names) > 0 {
		var ids []string
		for _, n := range names {
			if !strings.Contains(n, "/") && proxyNS != "" {
				n = proxyNS + "/" + n
			}
			ids = append(ids, n)
		}
		return "credential:" + strings.Join(ids, ","), "credentialName " + strings.Join(names, ", ")
	}
	if tls.GetServerCertificate() != "" && tls.GetPrivateKey() != "" {
		return "file:" + tls.GetServerCertificate() + "\x00" + tls.GetPrivateKey(), "serverCertificate " + tls.GetServerCertificate() + " and privateKey " + tls.GetPrivateKey()
	}
	return "", ""
}

// certLimit caps how many servers a MD215 finding names: a certificate
// shared by thousands of Gateways gives one finding of bounded size.
const certLimit = 8

// certPath is the field naming the certificate of server si.
func certPath(s *netv1alpha3.Server, si int) snapshot.Path {
	at := snapshot.P("spec", "servers", si, "tls")
	switch {
	case s.GetTls().GetCredentialName() != "":
		return at.Child("credentialName")
	case len(s.GetTls().GetCredentialNames()) > 0:
		return at.Child("credentialNames", 0)
	}
	return at.Child("serverCertificate")
}

// routeTable names the route configuration istiod gives an HTTPS server
// (gatewayRDSRouteName): one per Gateway, server port and port name.
func routeTable(ref serverRef, bind string) string {
	s := ref.server()
	return fmt.Sprintf("https.%d.%s.%s.%s/%s", s.GetPort().GetNumber(), s.GetPort().GetName(), ref.g.Object.Key.Name, ref.g.Object.Key.Namespace, bind)
}

func serverText(ref serverRef) string {
	return fmt.Sprintf("%s server %d (hosts %s)", ref.g.Object.Ref(), ref.si, strings.Join(ref.server().GetHosts(), ", "))
}

// GatewayDuplicateCertificate: servers of one gateway proxy with separate
// route tables terminate HTTPS on one port with the same certificate.
var GatewayDuplicateCertificate = &analysis.Analyzer{
	Code:     "MD215",
	Name:     "gateway-duplicate-certificate",
	Severity: analysis.Warning,
	Summary:  "Several HTTPS servers served by the same gateway proxy on the same port present the same certificate but have separate route tables; browsers reuse one HTTP/2 connection across their hosts and get 404.",
	Doc:      doc("MD215"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindGateway)},
	Reads:    reads(gatewayWorkloadReads, listenerReads),
	Requires: []*analysis.Fact{RegistryFact, gatewayProxiesFact},
	Run: func(p *analysis.Pass) error {
		type bucketKey struct {
			lk   listenerKey
			cert string
		}
		done := map[string]bool{}
		for _, gp := range p.ResultOf(gatewayProxiesFact).([]*gatewayProxy) {
			m := mergeProxy(p.Snapshot, gp)
			buckets := map[bucketKey][]serverRef{}
			tables := map[bucketKey]map[string]bool{}
			var keys []bucketKey
			for i, ps := range m.placed {
				s := ps.server()
				if _, gone := m.dropped[i]; gone || !terminates(s) || serverRoutes(s) != "http" {
					continue
				}
				id, _ := serverCertificate(s, gp.Namespace)
				if id == "" {
					continue
				}
				k := bucketKey{ps.lk, id}
				if tables[k] == nil {
					tables[k] = map[string]bool{}
					keys = append(keys, k)
				}
				rt := routeTable(ps.serverRef, ps.lk.bind)
				if tables[k][rt] {
					continue // the same route table: requests for its hosts find their routes
				}
				tables[k][rt] = true
				buckets[k] = append(buckets[k], ps.serverRef)
			}
			for _, k := range keys {
				refs := buckets[k]
				if len(refs) < 2 {
					continue
				}
				first := refs[0]
				s := first.server()
				_, certText := serverCertificate(s, gp.Namespace)
				key := fmt.Sprintf("%d/%s/%s", k.lk.port, k.lk.bind, k.cert)
				if done[first.g.Object.Ref()+"\x00"+key] {
					continue
				}
				done[first.g.Object.Ref()+"\x00"+key] = true
				gws := map[*Gateway]bool{}
				for _, r := range refs {
					gws[r.g] = true
				}
				var named []string
				ev := []string{"served by " + gp.Describe()}
				var rel []analysis.Related
				relSeen := map[*Gateway]bool{first.g: true}
				for i, r := range refs {
					if i < certLimit {
						named = append(named, serverText(r))
						ev = append(ev, fmt.Sprintf("%s servers[%d]: %s, hosts %s, %s", r.g.Object.Ref(), r.si, k.lk.text(r.server().GetPort().GetNumber()), strings.Join(r.server().GetHosts(), ", "), certText))
					}
					if !relSeen[r.g] && len(rel) < certLimit {
						relSeen[r.g] = true
						rel = append(rel, analysis.RelatedOf(r.g.Object, "another Gateway presenting the same certificate on the same port"))
					}
				}
				list := strings.Join(named, ", ")
				if more := len(refs) - len(named); more > 0 {
					list += fmt.Sprintf(" and %d more", more)
					ev = append(ev, fmt.Sprintf("… and %d more servers with the same certificate", more))
				}
				p.Report(analysis.Finding{
					Subject:   first.g.Object.Key,
					Message:   fmt.Sprintf("%d HTTPS servers of %d Gateway(s) present the same certificate (%s) on %s of %s, each with its own filter chain and route table: %s. A browser that opened an HTTP/2 connection for one of these hosts reuses it for the others the certificate covers; those requests reach the first server's route table, which has no route for them, and get 404 (NR).", len(refs), len(gws), certText, k.lk.text(s.GetPort().GetNumber()), gp.Describe(), list),
					Locations: []analysis.Location{analysis.LocationOf(first.g.Object, certPath(s, first.si))},
					Evidence:  ev,
					Remedy:    "Serve these hosts from one server (one Gateway, one server listing all the hosts, with the VirtualServices bound to it), or give each server its own certificate that covers only its hosts.",
					Related:   rel,
					Key:       key,
				})
			}
		}
		return nil
	},
}
