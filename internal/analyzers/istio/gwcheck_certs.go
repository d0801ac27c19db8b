package istio

import (
	"fmt"
	"iter"
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

// httpsCertServers yields, in merge order, the servers of m that istiod
// keeps and that terminate TLS for http routes presenting a certificate,
// with the certificate's id: the servers MD215 compares, for one
// certificate on one port and for SANs covering another server's host.
func (m *mergedProxy) httpsCertServers() iter.Seq2[placedServer, string] {
	return func(yield func(placedServer, string) bool) {
		for i, ps := range m.placed {
			s := ps.server()
			if _, gone := m.dropped[i]; gone || !terminates(s) || serverRoutes(s) != "http" {
				continue
			}
			if id, _ := serverCertificate(s, m.gp.Namespace); id != "" && !yield(ps, id) {
				return
			}
		}
	}
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
			for ps, id := range m.httpsCertServers() {
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
			reportSANCoverage(p, gp, m, done)
		}
		return nil
	},
}

// sanScanLimit bounds the servers looked at per certificate name, keeping
// the SAN check linear however many servers share a domain.
const sanScanLimit = 256

// certSANs returns the DNS names of the leaf certificate a server presents,
// from its credential Secret(s) in the proxy's namespace; nil when the input
// does not hold them.
func certSANs(p *analysis.Pass, s *netv1alpha3.Server, ns string) []string {
	if ns == "" {
		return nil
	}
	names := s.GetTls().GetCredentialNames()
	if n := s.GetTls().GetCredentialName(); n != "" {
		names = []string{n}
	}
	var out []string
	for _, n := range names {
		if strings.Contains(n, "/") || strings.Contains(n, ":") {
			continue
		}
		sec := p.Snapshot.Get(snapshot.KindSecret, ns, n)
		if sec == nil || sec.Secret == nil {
			continue
		}
		for _, k := range []string{"tls.crt", "cert"} {
			if c := sec.Secret.Keys[k].Certs; len(c) > 0 {
				out = append(out, c[0].DNSNames...)
				break
			}
		}
	}
	return out
}

// reportSANCoverage: a server's certificate whose SANs also cover the host
// of another server on the same listener (with its own certificate and
// route table). A browser that connected for the first reuses the
// connection for that host (istio/istio#13589) and gets the first server's
// route table: 404.
func reportSANCoverage(p *analysis.Pass, gp *gatewayProxy, m *mergedProxy, done map[string]bool) {
	type entry struct {
		ref  serverRef
		lk   listenerKey
		cert string
	}
	byListener := map[listenerKey][]entry{}
	var lks []listenerKey
	for ps, id := range m.httpsCertServers() {
		if byListener[ps.lk] == nil {
			lks = append(lks, ps.lk)
		}
		byListener[ps.lk] = append(byListener[ps.lk], entry{ps.serverRef, ps.lk, id})
	}
	for _, lk := range lks {
		entries := byListener[lk]
		exact := map[string][]int{}  // host -> entries
		parent := map[string][]int{} // parent domain of an exact host -> entries
		for i, e := range entries {
			for _, h := range e.ref.server().GetHosts() {
				h = strings.ToLower(bareHost(h))
				if strings.Contains(h, "*") {
					continue
				}
				exact[h] = append(exact[h], i)
				if _, rest, ok := strings.Cut(h, "."); ok {
					parent[rest] = append(parent[rest], i)
				}
			}
		}
		seenCert := map[string]bool{}
		for _, a := range entries {
			if seenCert[a.cert] {
				continue
			}
			seenCert[a.cert] = true
			sans := certSANs(p, a.ref.server(), gp.Namespace)
			if len(sans) == 0 {
				continue
			}
			own := hostCover{}
			for _, h := range a.ref.server().GetHosts() {
				own.add(strings.ToLower(h), a.ref)
			}
			type hit struct {
				ref  serverRef
				host string
				san  string
			}
			var hits []hit
			hitSeen := map[serverRef]bool{}
			count := 0
			for _, san := range sans {
				san = strings.ToLower(san)
				var cands []int
				if rest, ok := strings.CutPrefix(san, "*."); ok {
					cands = parent[rest]
				} else {
					cands = exact[san]
				}
				for n, ci := range cands {
					if n >= sanScanLimit {
						break
					}
					b := entries[ci]
					if b.cert == a.cert || hitSeen[b.ref] {
						continue
					}
					for _, h := range b.ref.server().GetHosts() {
						h = strings.ToLower(bareHost(h))
						if !sanCovers(san, h) {
							continue
						}
						if _, _, ok := own.lookup(h); ok {
							continue // the first server's routes cover the host too
						}
						hitSeen[b.ref] = true
						count++
						if len(hits) < certLimit {
							hits = append(hits, hit{b.ref, h, san})
						}
						break
					}
				}
			}
			if len(hits) == 0 {
				continue
			}
			s := a.ref.server()
			_, certText := serverCertificate(s, gp.Namespace)
			key := fmt.Sprintf("san/%d/%s/%s", lk.port, lk.bind, a.cert)
			if done[a.ref.g.Object.Ref()+"\x00"+key] {
				continue
			}
			done[a.ref.g.Object.Ref()+"\x00"+key] = true
			var named []string
			ev := []string{
				"served by " + gp.Describe(),
				fmt.Sprintf("%s servers[%d]: %s, hosts %s, %s with DNS names %s", a.ref.g.Object.Ref(), a.ref.si, lk.text(s.GetPort().GetNumber()), strings.Join(s.GetHosts(), ", "), certText, strings.Join(sans, ", ")),
			}
			var rel []analysis.Related
			for _, h := range hits {
				_, other := serverCertificate(h.ref.server(), gp.Namespace)
				named = append(named, fmt.Sprintf("%s (%s server %d)", h.host, h.ref.g.Object.Ref(), h.ref.si))
				ev = append(ev, fmt.Sprintf("%s servers[%d]: hosts %s, %s; %s is covered by %s", h.ref.g.Object.Ref(), h.ref.si, strings.Join(h.ref.server().GetHosts(), ", "), other, h.host, h.san))
				if h.ref.g != a.ref.g {
					rel = append(rel, analysis.RelatedOf(h.ref.g.Object, "a Gateway whose host the certificate also covers"))
				}
			}
			list := strings.Join(named, ", ")
			if more := count - len(hits); more > 0 {
				list += fmt.Sprintf(" and %d more", more)
			}
			p.Report(analysis.Finding{
				Subject:   a.ref.g.Object.Key,
				Message:   fmt.Sprintf("%s server %d presents %s on %s of %s, and that certificate's DNS names also cover %s, served there by other servers with their own certificate and route table: a browser that opened an HTTP/2 connection for %s reuses it for those hosts (the certificate is valid for them), the requests reach the route table of %s server %d, which has no route for them, and get 404 (NR) (istio/istio#13589).", a.ref.g.Object.Ref(), a.ref.si, certText, lk.text(s.GetPort().GetNumber()), gp.Describe(), list, strings.Join(s.GetHosts(), ", "), a.ref.g.Object.Ref(), a.ref.si),
				Locations: []analysis.Location{analysis.LocationOf(a.ref.g.Object, certPath(s, a.ref.si))},
				Evidence:  ev,
				Remedy:    fmt.Sprintf("Give %s server %d a certificate that covers only its own hosts (%s), or serve all these hosts from one server with one certificate.", a.ref.g.Object.Ref(), a.ref.si, strings.Join(s.GetHosts(), ", ")),
				Related:   rel,
				Key:       key,
			})
		}
	}
}

// sanCovers tells whether certificate name san is valid for host h: equal,
// or a wildcard for exactly one more label.
func sanCovers(san, h string) bool {
	if san == h {
		return true
	}
	rest, ok := strings.CutPrefix(san, "*.")
	if !ok {
		return false
	}
	_, hr, ok := strings.Cut(h, ".")
	return ok && hr == rest && !strings.HasPrefix(h, "*")
}
