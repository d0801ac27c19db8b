package istio

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"
	netv1alpha3 "istio.io/api/networking/v1alpha3"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// A proxy evaluates a VirtualService's http (and tcp, tls) rules in order
// and uses the first rule one of whose matches fits the request. A rule is
// unreachable when every request it could match is taken by an earlier
// rule: one without a match (a catch-all), or earlier matches that each
// cover one of its matches. Istio's own check (analyzeUnreachableHTTPRules
// in pkg/config/validation) finds catch-alls and identical matches, and
// compares uri prefixes with a rough rule that both misses and invents
// overlaps; here "covers" is decided field by field (covers below), and
// anything that cannot be decided (two different regexes) is taken as not
// covered.

// covers reports whether every request that fits b also fits a.
func covers(a, b *netv1alpha3.HTTPMatchRequest) bool {
	if a == nil {
		return true
	}
	if b == nil {
		b = &netv1alpha3.HTTPMatchRequest{}
	}
	if !uriCovers(a, b) ||
		!stringMatchCovers(a.GetScheme(), b.GetScheme(), false) ||
		!stringMatchCovers(a.GetMethod(), b.GetMethod(), false) ||
		!stringMatchCovers(a.GetAuthority(), b.GetAuthority(), false) ||
		!mapMatchCovers(a.GetHeaders(), b.GetHeaders()) ||
		!mapMatchCovers(a.GetQueryParams(), b.GetQueryParams()) {
		return false
	}
	for k, am := range a.GetWithoutHeaders() {
		bm, ok := b.GetWithoutHeaders()[k]
		if !ok || !proto.Equal(am, bm) {
			return false
		}
	}
	return (a.GetPort() == 0 || a.GetPort() == b.GetPort()) &&
		labelsSubset(a.GetSourceLabels(), b.GetSourceLabels()) &&
		gatewaysCover(a.GetGateways(), b.GetGateways()) &&
		(a.GetSourceNamespace() == "" || a.GetSourceNamespace() == b.GetSourceNamespace())
}

// uriCovers compares uri conditions with ignoreUriCase: a case-sensitive a
// never covers a case-insensitive b.
func uriCovers(a, b *netv1alpha3.HTTPMatchRequest) bool {
	au, bu := a.GetUri(), b.GetUri()
	if au == nil || (au.GetMatchType() != nil && isAnyPathPrefix(au)) {
		return true
	}
	if a.GetIgnoreUriCase() != b.GetIgnoreUriCase() && !a.GetIgnoreUriCase() {
		return false
	}
	return stringMatchCovers(au, bu, a.GetIgnoreUriCase())
}

// isAnyPathPrefix: a uri prefix "" or "/" fits every request path.
func isAnyPathPrefix(m *netv1alpha3.StringMatch) bool {
	_, ok := m.GetMatchType().(*netv1alpha3.StringMatch_Prefix)
	return ok && (m.GetPrefix() == "" || m.GetPrefix() == "/")
}

// stringMatchCovers reports whether every value fitting b fits a. A nil a
// fits anything; a condition without a match type only requires presence.
func stringMatchCovers(a, b *netv1alpha3.StringMatch, fold bool) bool {
	if a == nil {
		return true
	}
	if b == nil {
		return false
	}
	if a.GetMatchType() == nil {
		return true // presence: b constrains the value, so it is present
	}
	eq := func(x, y string) bool {
		if fold {
			return strings.EqualFold(x, y)
		}
		return x == y
	}
	hasPrefix := func(s, p string) bool {
		if fold {
			return strings.HasPrefix(strings.ToLower(s), strings.ToLower(p))
		}
		return strings.HasPrefix(s, p)
	}
	switch a.GetMatchType().(type) {
	case *netv1alpha3.StringMatch_Exact:
		_, bx := b.GetMatchType().(*netv1alpha3.StringMatch_Exact)
		return bx && eq(a.GetExact(), b.GetExact())
	case *netv1alpha3.StringMatch_Prefix:
		switch b.GetMatchType().(type) {
		case *netv1alpha3.StringMatch_Exact:
			return hasPrefix(b.GetExact(), a.GetPrefix())
		case *netv1alpha3.StringMatch_Prefix:
			return hasPrefix(b.GetPrefix(), a.GetPrefix())
		}
		return false
	case *netv1alpha3.StringMatch_Regex:
		_, br := b.GetMatchType().(*netv1alpha3.StringMatch_Regex)
		return br && a.GetRegex() == b.GetRegex()
	}
	return false
}

func mapMatchCovers(a, b map[string]*netv1alpha3.StringMatch) bool {
	for k, am := range a {
		bm, ok := b[k]
		if !ok || !stringMatchCovers(am, bm, false) {
			return false
		}
	}
	return true
}

func labelsSubset(a, b map[string]string) bool {
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// gatewaysCover: a match without gateways applies wherever the
// VirtualService does; with gateways, only there.
func gatewaysCover(a, b []string) bool {
	if len(a) == 0 {
		return true
	}
	if len(b) == 0 {
		return false
	}
	for _, g := range b {
		found := false
		for _, h := range a {
			if g == h {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// l4Covers is covers for TCP and TLS matches.
func l4Covers(aPort, bPort uint32, aSubnets, bSubnets []string, aLabels, bLabels map[string]string, aGW, bGW []string, aNS, bNS string) bool {
	if len(aSubnets) > 0 {
		if len(bSubnets) == 0 {
			return false
		}
		set := map[string]bool{}
		for _, s := range aSubnets {
			set[s] = true
		}
		for _, s := range bSubnets {
			if !set[s] {
				return false
			}
		}
	}
	return (aPort == 0 || aPort == bPort) && labelsSubset(aLabels, bLabels) && gatewaysCover(aGW, bGW) && (aNS == "" || aNS == bNS)
}

func tcpCovers(a, b *netv1alpha3.L4MatchAttributes) bool {
	if a.GetSourceSubnet() != "" && a.GetSourceSubnet() != b.GetSourceSubnet() {
		return false
	}
	return l4Covers(a.GetPort(), b.GetPort(), a.GetDestinationSubnets(), b.GetDestinationSubnets(), a.GetSourceLabels(), b.GetSourceLabels(), a.GetGateways(), b.GetGateways(), a.GetSourceNamespace(), b.GetSourceNamespace())
}

func tlsCovers(a, b *netv1alpha3.TLSMatchAttributes) bool {
	for _, bh := range b.GetSniHosts() {
		ok := false
		for _, ah := range a.GetSniHosts() {
			if hostSubsetOf(bh, ah) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	if len(b.GetSniHosts()) == 0 && len(a.GetSniHosts()) > 0 {
		return false
	}
	return l4Covers(a.GetPort(), b.GetPort(), a.GetDestinationSubnets(), b.GetDestinationSubnets(), a.GetSourceLabels(), b.GetSourceLabels(), a.GetGateways(), b.GetGateways(), a.GetSourceNamespace(), b.GetSourceNamespace())
}

// ruleShadow says why one rule (or one of its matches) is never used.
type ruleShadow struct {
	rule  int
	match int // -1: the whole rule
	// by is the earlier rule (and match, or -1 for a catch-all) that takes
	// the traffic.
	byRule, byMatch int
}

// shadowedRules walks rules in order. matches(i) returns rule i's match
// count; cov(pr, pm, r, m) whether match pm of rule pr covers match m of
// rule r; final(i) whether a request rule i matches ends there (false for
// an http rule that delegates: istiod merges the delegate's routes in its
// place, and a request none of them matches falls through to the later
// rules of the root). It returns whole rules never used (match -1) and
// single matches never used in rules that stay reachable.
func shadowedRules(n int, matches func(int) int, cov func(pr, pm, r, m int) bool, final func(int) bool) []ruleShadow {
	var out []ruleShadow
	type pm struct{ r, m int }
	var prior []pm
	catchAll := -1
	for r := 0; r < n; r++ {
		if catchAll >= 0 {
			out = append(out, ruleShadow{rule: r, match: -1, byRule: catchAll, byMatch: -1})
			continue
		}
		if matches(r) == 0 {
			if final(r) {
				catchAll = r
			}
			continue
		}
		var dead []ruleShadow
		var live []pm
		for m := 0; m < matches(r); m++ {
			by := -1
			for k, p := range prior {
				if cov(p.r, p.m, r, m) {
					by = k
					break
				}
			}
			if by >= 0 {
				dead = append(dead, ruleShadow{rule: r, match: m, byRule: prior[by].r, byMatch: prior[by].m})
			} else {
				live = append(live, pm{r, m})
			}
		}
		if len(live) == 0 {
			out = append(out, ruleShadow{rule: r, match: -1, byRule: dead[0].byRule, byMatch: dead[0].byMatch})
		} else {
			out = append(out, dead...)
		}
		if final(r) {
			prior = append(prior, live...)
		}
	}
	return out
}

// vsShadows returns the shadowed rules of each route list of a VirtualService.
func vsShadows(vs *netv1alpha3.VirtualService) map[string][]ruleShadow {
	h, t, l := vs.GetHttp(), vs.GetTcp(), vs.GetTls()
	always := func(int) bool { return true }
	return map[string][]ruleShadow{
		"http": shadowedRules(len(h), func(i int) int { return len(h[i].GetMatch()) }, func(pr, pm, r, m int) bool {
			return covers(h[pr].GetMatch()[pm], h[r].GetMatch()[m])
		}, func(i int) bool { return h[i].GetDelegate() == nil }),
		"tcp": shadowedRules(len(t), func(i int) int { return len(t[i].GetMatch()) }, func(pr, pm, r, m int) bool {
			return tcpCovers(t[pr].GetMatch()[pm], t[r].GetMatch()[m])
		}, always),
		"tls": shadowedRules(len(l), func(i int) int { return len(l[i].GetMatch()) }, func(pr, pm, r, m int) bool {
			return tlsCovers(l[pr].GetMatch()[pm], l[r].GetMatch()[m])
		}, always),
	}
}

func ruleName(vs *netv1alpha3.VirtualService, kind string, i int) string {
	if kind == "http" && vs.GetHttp()[i].GetName() != "" {
		return fmt.Sprintf("%s[%d] (%q)", kind, i, vs.GetHttp()[i].GetName())
	}
	return fmt.Sprintf("%s[%d]", kind, i)
}

var vsRouteReads = map[schema.GroupKind][]string{snapshot.KindVirtualService: {"spec"}}

// VSUnreachableRule: a rule no request ever reaches.
var VSUnreachableRule = &analysis.Analyzer{
	Code:     "MD013",
	Name:     "vs-unreachable-rule",
	Severity: analysis.Warning,
	Summary:  "A VirtualService rule is never used: an earlier rule without a match, or earlier matches covering all of its matches, take every request it could match.",
	Doc:      doc("MD013"),
	Inputs:   []analysis.Input{vsInput},
	Reads:    vsRouteReads,
	Run: func(p *analysis.Pass) error {
		forEachShadow(p, func(o *snapshot.Object, vs *netv1alpha3.VirtualService, kind string, sh ruleShadow) {
			if sh.match >= 0 {
				return
			}
			at := snapshot.P("spec", kind, sh.rule)
			var why, ev, remedy string
			if sh.byMatch < 0 {
				why = fmt.Sprintf("%s has no match, so it takes every request first", ruleName(vs, kind, sh.byRule))
				ev = fmt.Sprintf("%s: no match (catch-all)", ruleName(vs, kind, sh.byRule))
				remedy = fmt.Sprintf("Move the catch-all %s to the end of %s, or give it a match.", ruleName(vs, kind, sh.byRule), kind)
			} else {
				why = fmt.Sprintf("every one of its matches is covered by an earlier match (first by %s match[%d])", ruleName(vs, kind, sh.byRule), sh.byMatch)
				ev = fmt.Sprintf("%s match[%d] covers %s", ruleName(vs, kind, sh.byRule), sh.byMatch, ruleName(vs, kind, sh.rule))
				remedy = fmt.Sprintf("Put the more specific %s before %s, or delete it if it is redundant.", ruleName(vs, kind, sh.rule), ruleName(vs, kind, sh.byRule))
			}
			p.Report(analysis.Finding{
				Subject:   o.Key,
				Message:   fmt.Sprintf("%s %s is never used: %s. Requests it was written for go to the earlier rule's destination instead.", o.Ref(), ruleName(vs, kind, sh.rule), why),
				Locations: []analysis.Location{analysis.LocationOf(o, at)},
				Evidence:  []string{ev, "rules are evaluated in order; the first rule with a fitting match wins"},
				Remedy:    remedy,
				Key:       at.String(),
			})
		})
		return nil
	},
}

// VSIneffectiveMatch: one match of a rule that stays reachable is never used.
var VSIneffectiveMatch = &analysis.Analyzer{
	Code:     "MD014",
	Name:     "vs-ineffective-match",
	Severity: analysis.Info,
	Summary:  "A match of a VirtualService rule is never used because an earlier rule's match already covers every request it fits.",
	Doc:      doc("MD014"),
	Inputs:   []analysis.Input{vsInput},
	Reads:    vsRouteReads,
	Run: func(p *analysis.Pass) error {
		forEachShadow(p, func(o *snapshot.Object, vs *netv1alpha3.VirtualService, kind string, sh ruleShadow) {
			if sh.match < 0 {
				return
			}
			at := snapshot.P("spec", kind, sh.rule, "match", sh.match)
			p.Report(analysis.Finding{
				Subject:   o.Key,
				Message:   fmt.Sprintf("%s %s match[%d] is never used: %s match[%d] comes first and fits every request it fits. The rule's other matches still work.", o.Ref(), ruleName(vs, kind, sh.rule), sh.match, ruleName(vs, kind, sh.byRule), sh.byMatch),
				Locations: []analysis.Location{analysis.LocationOf(o, at)},
				Evidence:  []string{fmt.Sprintf("%s match[%d] covers %s match[%d]", ruleName(vs, kind, sh.byRule), sh.byMatch, ruleName(vs, kind, sh.rule), sh.match)},
				Remedy:    fmt.Sprintf("Remove the redundant match, or move %s before %s if its destination should win.", ruleName(vs, kind, sh.rule), ruleName(vs, kind, sh.byRule)),
				Key:       at.String(),
			})
		})
		return nil
	},
}

// forEachShadow calls report for every shadowed rule or match of every
// VirtualService (MD013 takes whole rules, MD014 single matches).
func forEachShadow(p *analysis.Pass, report func(o *snapshot.Object, vs *netv1alpha3.VirtualService, kind string, sh ruleShadow)) {
	for _, o := range p.Snapshot.List(snapshot.KindVirtualService) {
		vs := virtualService(o)
		if vs == nil {
			continue
		}
		shadows := vsShadows(vs)
		for _, kind := range []string{"http", "tcp", "tls"} {
			for _, sh := range shadows[kind] {
				report(o, vs, kind, sh)
			}
		}
	}
}
