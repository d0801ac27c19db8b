package istio

import (
	"fmt"
	"sort"
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

// GatewayDuplicateCertificate: several Gateways of one proxy terminate
// HTTPS on one port with the same certificate.
var GatewayDuplicateCertificate = &analysis.Analyzer{
	Code:     "MD215",
	Name:     "gateway-duplicate-certificate",
	Severity: analysis.Warning,
	Summary:  "Several Gateways served by the same gateway proxy terminate HTTPS on the same port with the same certificate; browsers reuse one HTTP/2 connection across their hosts and get 404.",
	Doc:      doc("MD215"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindGateway)},
	Reads:    gatewayWorkloadReads,
	Requires: []*analysis.Fact{RegistryFact, gatewayProxiesFact},
	Run: func(p *analysis.Pass) error {
		type bucketKey struct {
			port uint32
			bind string
			cert string
		}
		done := map[string]bool{}
		for _, gp := range p.ResultOf(gatewayProxiesFact).([]*gatewayProxy) {
			dropped := mergeTLSServers(gp)
			buckets := map[bucketKey][]serverRef{}
			var keys []bucketKey
			for _, g := range gp.Gateways {
				for si, s := range g.Spec.GetServers() {
					ref := serverRef{g, si}
					if _, gone := dropped[ref]; gone || !terminates(s) || serverRoutes(s) != "http" {
						continue
					}
					id, _ := serverCertificate(s, gp.Namespace)
					if id == "" {
						continue
					}
					k := bucketKey{s.GetPort().GetNumber(), s.GetBind(), id}
					if len(buckets[k]) == 0 {
						keys = append(keys, k)
					}
					buckets[k] = append(buckets[k], ref)
				}
			}
			for _, k := range keys {
				refs := buckets[k]
				gws := map[*Gateway]bool{}
				for _, ref := range refs {
					gws[ref.g] = true
				}
				if len(gws) < 2 {
					continue // one Gateway's servers: see the remedy of others
				}
				for _, ref := range refs {
					s := ref.server()
					_, certText := serverCertificate(s, gp.Namespace)
					dk := ref.g.Object.Ref() + fmt.Sprintf("#%d", ref.si)
					if done[dk] {
						continue
					}
					done[dk] = true
					var others, ev []string
					var rel []analysis.Related
					for _, o := range refs {
						if o.g == ref.g {
							continue
						}
						others = append(others, fmt.Sprintf("%s server %d (hosts %s)", o.g.Object.Ref(), o.si, strings.Join(o.server().GetHosts(), ", ")))
						ev = append(ev, fmt.Sprintf("%s servers[%d]: port %d, hosts %s, %s", o.g.Object.Ref(), o.si, k.port, strings.Join(o.server().GetHosts(), ", "), certText))
						rel = append(rel, analysis.RelatedOf(o.g.Object, "another Gateway presenting the same certificate on the same port"))
					}
					sort.Strings(others)
					at := snapshot.P("spec", "servers", ref.si, "tls")
					if s.GetTls().GetCredentialName() != "" {
						at = at.Child("credentialName")
					} else if len(s.GetTls().GetCredentialNames()) > 0 {
						at = at.Child("credentialNames", 0)
					} else {
						at = at.Child("serverCertificate")
					}
					p.Report(analysis.Finding{
						Subject:   ref.g.Object.Key,
						Message:   fmt.Sprintf("%s server %d (hosts %s) presents the same certificate (%s) on port %d of %s as %s: each Gateway's server gets its own filter chain and route table, so a browser that reuses its HTTP/2 connection for another host the certificate covers sends the request to the wrong route table and gets 404 (NR).", ref.g.Object.Ref(), ref.si, strings.Join(s.GetHosts(), ", "), certText, k.port, gp.Describe(), strings.Join(others, ", ")),
						Locations: []analysis.Location{analysis.LocationOf(ref.g.Object, at)},
						Evidence:  append([]string{fmt.Sprintf("%s servers[%d]: port %d, hosts %s, %s", ref.g.Object.Ref(), ref.si, k.port, strings.Join(s.GetHosts(), ", "), certText), "served by " + gp.Describe()}, ev...),
						Remedy:    "Serve these hosts from one server (one Gateway, one server listing all the hosts, with the VirtualServices bound to it), or give each Gateway its own certificate that covers only its hosts.",
						Related:   rel,
						Key:       fmt.Sprintf("servers[%d]", ref.si),
					})
				}
			}
		}
		return nil
	},
}
