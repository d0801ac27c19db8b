package istio

import (
	"fmt"
	"net/url"
	"sort"
	"strings"

	secv1beta1 "istio.io/api/security/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/facts"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// requestAuthIndex holds RequestAuthentications by namespace, to tell which
// of them apply to a workload the way istiod selects them: those of the
// workload's namespace and of the root namespace whose selector the
// workload's labels satisfy (no selector: all), or, for gateways, those
// attached with targetRef.
type requestAuthIndex struct {
	root string
	byNS map[string][]scopedPolicy
}

func newRequestAuthIndex(s *snapshot.Snapshot, root string) *requestAuthIndex {
	ix := &requestAuthIndex{root: root, byNS: map[string][]scopedPolicy{}}
	for _, o := range s.List(snapshot.KindRequestAuth) {
		if sp, ok := scopedPolicyOf(o); ok {
			ix.byNS[o.Key.Namespace] = append(ix.byNS[o.Key.Namespace], sp)
		}
	}
	return ix
}

// requestAuthKnown tells whether the input says which RequestAuthentications
// exist: it holds some (files are taken as complete for a kind they have),
// or a live read listed them in every namespace — then none means none.
// Files without any may just have left them out.
func requestAuthKnown(s *snapshot.Snapshot) bool {
	return s.Has(snapshot.KindRequestAuth) || s.Listed(snapshot.KindRequestAuth)
}

// applying returns a RequestAuthentication that applies to a workload of
// namespace ns with pod labels l, or nil. classic is the networking.istio.io
// Gateway the workload serves, if the caller knows it (nil otherwise).
func (ix *requestAuthIndex) applying(ns string, l map[string]string, classic *snapshot.Object) *snapshot.Object {
	gwName, k8sGateway := l[GatewayNameLabel]
	if classic != nil {
		// istiod attaches a policy to a classic Gateway's workloads only
		// when it is in the Gateway resource's namespace and names it
		// (WorkloadPolicyMatcher.attachesToClassicGateway); releases
		// without that path ignore targetRef policies on such workloads.
		for _, sp := range ix.byNS[classic.Key.Namespace] {
			for _, ref := range sp.TargetRefs {
				if ref.GetGroup() == "networking.istio.io" && ref.GetKind() == "Gateway" && ref.GetName() == classic.Key.Name &&
					(ref.GetNamespace() == "" || ref.GetNamespace() == classic.Key.Namespace) {
					return sp.Object
				}
			}
		}
	}
	for _, n := range []string{ns, ix.root} {
		for _, sp := range ix.byNS[n] {
			if len(sp.TargetRefs) > 0 {
				if n != ns || !k8sGateway {
					continue
				}
				for _, ref := range sp.TargetRefs {
					if ref.GetKind() == "Gateway" && ref.GetGroup() == "gateway.networking.k8s.io" && ref.GetName() == gwName {
						return sp.Object
					}
				}
				continue
			}
			if k8sGateway && isWaypoint(l) {
				continue // waypoints take only targetRef policies
			}
			if labels.SelectorFromSet(sp.Selector).Matches(labels.Set(l)) {
				return sp.Object
			}
		}
		if ns == ix.root {
			break
		}
	}
	return nil
}

// AuthzJWTWithoutRequestAuthN: request-principal conditions on workloads no
// RequestAuthentication covers, or on ambient workloads, whose ztunnel
// validates no JWT.
var AuthzJWTWithoutRequestAuthN = &analysis.Analyzer{
	Code:     "MD307",
	Name:     "authz-jwt-without-requestauthn",
	Severity: analysis.Warning,
	Summary:  "An AuthorizationPolicy matches on requestPrincipals or request.auth.* for workloads no RequestAuthentication applies to (or, by selector, for ambient workloads, whose ztunnel validates no JWT): the JWT condition never holds as meant.",
	Doc:      doc("MD307"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindAuthzPolicy)},
	Reads:    mergeReads(secMembershipReads(), policySpecReads()),
	Requires: []*analysis.Fact{facts.MeshConfig},
	Run: func(p *analysis.Pass) error {
		root := p.ResultOf(facts.MeshConfig).(*facts.Mesh).RootNamespace()
		w := newWorkloadIndex(p.Snapshot)
		ras := newRequestAuthIndex(p.Snapshot, root)
		haveRAs := requestAuthKnown(p.Snapshot)
		type lack struct{ sidecar, ambient []*snapshot.Object }
		memo := map[string]*lack{}
		lacking := func(scope string, sel map[string]string) *lack {
			key := selectorKey(scope, sel)
			if l, ok := memo[key]; ok {
				return l
			}
			l := &lack{}
			for _, wl := range w.selectIn(scope, labels.SelectorFromSet(sel)) {
				if waypointWorkload(wl) {
					continue // waypoints take only targetRef policies
				}
				switch w.dataplane(wl) {
				case DataplaneNone:
				case DataplaneAmbient:
					// ztunnel enforces selector policies and validates no
					// JWT; selector RequestAuthentications do not apply.
					l.ambient = append(l.ambient, wl)
				default:
					if ras.applying(wl.Key.Namespace, labelsOf(wl), nil) == nil {
						l.sidecar = append(l.sidecar, wl)
					}
				}
			}
			memo[key] = l
			return l
		}
		for _, o := range p.Snapshot.List(snapshot.KindAuthzPolicy) {
			ap := authzPolicy(o)
			sp, _ := scopedPolicyOf(o)
			if ap == nil || len(sp.TargetRefs) > 0 {
				continue
			}
			byRule := map[int][]sourceValue{}
			for _, sv := range sourceValues(ap, "requestPrincipals", "notRequestPrincipals", "when:request.auth.*") {
				byRule[sv.rule] = append(byRule[sv.rule], sv)
			}
			if len(byRule) == 0 {
				continue
			}
			scope := o.Key.Namespace
			if scope == root {
				scope = snapshot.AllNamespaces
			}
			l := lacking(scope, sp.Selector)
			if len(l.sidecar) > 0 && !haveRAs {
				p.NotChecked("JWT conditions of %s: the input has no RequestAuthentications", o.Ref())
			}
			for _, ri := range sortedInts(byRule) {
				sv := byRule[ri][0]
				if len(l.sidecar) > 0 && haveRAs {
					reportJWTWithoutRequestAuthN(p, o, ap, ri, sv, root, l.sidecar)
				}
				if len(l.ambient) > 0 {
					reportJWTOnZtunnel(p, w, o, ap, ri, sv, l.ambient)
				}
			}
		}
		return nil
	},
}

func reportJWTWithoutRequestAuthN(p *analysis.Pass, o *snapshot.Object, ap *secv1beta1.AuthorizationPolicy, ri int, sv sourceValue, root string, lacking []*snapshot.Object) {
	f := analysis.Finding{
		Subject:   o.Key,
		Locations: []analysis.Location{analysis.LocationOf(o, sv.path)},
		Evidence:  []string{fmt.Sprintf("%s: %q", sv.path, sv.value), fmt.Sprintf("no RequestAuthentication in %s or %s applies to %s", o.Key.Namespace, root, refList(lacking, 3))},
		Remedy:    fmt.Sprintf("Add a RequestAuthentication (jwtRules with the token's issuer and jwksUri) in namespace %s whose selector matches these workloads, or in %s for the whole mesh.", o.Key.Namespace, root),
		Key:       fmt.Sprintf("rule-%d", ri),
	}
	for i, wl := range lacking {
		if i == 3 {
			break
		}
		f.Related = append(f.Related, analysis.RelatedOf(wl, "no RequestAuthentication applies"))
	}
	action := ap.GetAction()
	if sv.negated {
		switch action {
		case secv1beta1.AuthorizationPolicy_DENY:
			f.Severity = analysis.Error
			f.Message = fmt.Sprintf("%s rule %d denies requests by %s, but no RequestAuthentication applies to %s: no request ever has a validated JWT, so the rule denies every request it reaches, valid token or not (403 'RBAC: access denied').", o.Ref(), ri, sv.field, refList(lacking, 3))
		case secv1beta1.AuthorizationPolicy_ALLOW:
			f.Message = fmt.Sprintf("%s rule %d uses %s, but no RequestAuthentication applies to %s: no request ever has a validated JWT, so the exclusion never applies and the rule admits requests without checking any token.", o.Ref(), ri, sv.field, refList(lacking, 3))
		default:
			return
		}
	} else {
		f.Message = fmt.Sprintf("%s rule %d requires %s %q, but no RequestAuthentication applies to %s: no JWT is validated there, the request principal and claims stay empty, and %s.", o.Ref(), ri, sv.field, sv.value, refList(lacking, 3), neverMatchEffect(action))
	}
	p.Report(f)
}

// reportJWTOnZtunnel: a selector AuthorizationPolicy with JWT conditions on
// ambient workloads. ztunnel enforces it but handles no HTTP: istiod drops
// an ALLOW rule with HTTP attributes (it admits nothing) and enforces a
// DENY rule without them (it denies every connection the rest of the rule
// matches).
func reportJWTOnZtunnel(p *analysis.Pass, w *workloadIndex, o *snapshot.Object, ap *secv1beta1.AuthorizationPolicy, ri int, sv sourceValue, ambient []*snapshot.Object) {
	f := analysis.Finding{
		Subject:   o.Key,
		Locations: []analysis.Location{analysis.LocationOf(o, sv.path)},
		Evidence:  []string{fmt.Sprintf("%s: %q (an HTTP attribute: needs a waypoint)", sv.path, sv.value)},
		Key:       fmt.Sprintf("rule-%d-ambient", ri),
	}
	waypoint, _ := addAmbientSample(&f, w, ambient, "ambient workload: ztunnel enforces the selector policy")
	target := "<waypoint>"
	if waypoint != "" {
		target = waypoint
	}
	f.Remedy = fmt.Sprintf("Enforce JWT rules at the waypoint: replace spec.selector with spec.targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: %s}] (or the workloads' Service), and attach a RequestAuthentication to the same target with targetRefs.", target)
	switch ap.GetAction() {
	case secv1beta1.AuthorizationPolicy_DENY:
		f.Severity = analysis.Error
		f.Message = fmt.Sprintf("%s rule %d matches on %s, but its selector reaches ambient workloads (%s), whose policies ztunnel enforces: ztunnel validates no JWT, so istiod gives it this DENY rule without its HTTP conditions and the rule denies every connection the rest of it matches, valid token or not.", o.Ref(), ri, sv.field, refList(ambient, 3))
	case secv1beta1.AuthorizationPolicy_ALLOW:
		f.Message = fmt.Sprintf("%s rule %d matches on %s, but its selector reaches ambient workloads (%s), whose policies ztunnel enforces: ztunnel validates no JWT, so istiod drops this ALLOW rule for ztunnel and it admits no connection (denied unless another rule matches).", o.Ref(), ri, sv.field, refList(ambient, 3))
	default:
		return
	}
	p.Report(f)
}

const claimsHeaderPrefix = "@request.auth.claims"

// claimMatch finds the first header match on JWT claims of a
// VirtualService.
func claimMatch(vs *snapshot.Object) (key string, at snapshot.Path, ok bool) {
	for i, h := range virtualService(vs).GetHttp() {
		for j, m := range h.GetMatch() {
			for _, field := range []string{"headers", "withoutHeaders"} {
				hs := m.GetHeaders()
				if field == "withoutHeaders" {
					hs = m.GetWithoutHeaders()
				}
				keys := make([]string, 0, len(hs))
				for k := range hs {
					if strings.HasPrefix(k, claimsHeaderPrefix) {
						keys = append(keys, k)
					}
				}
				if len(keys) > 0 {
					sort.Strings(keys)
					return keys[0], snapshot.P("spec", "http", i, "match", j, field, keys[0]), true
				}
			}
		}
	}
	return "", nil, false
}

// JWTClaimRouteWithoutRequestAuthN: a gateway route on JWT claims where no
// RequestAuthentication validates JWTs (IST0149).
var JWTClaimRouteWithoutRequestAuthN = &analysis.Analyzer{
	Code:     "MD308",
	Name:     "jwt-claim-route-without-requestauthn",
	Severity: analysis.Error,
	Summary:  "A gateway VirtualService routes on @request.auth.claims headers, but no RequestAuthentication applies to the gateway's pods: claims are never extracted and the match never holds.",
	Doc:      doc("MD308"),
	Inputs:   []analysis.Input{vsInput, analysis.Kinds(snapshot.KindGateway)},
	Reads:    reads(templateReads("metadata.labels"), policySpecReads()),
	Requires: []*analysis.Fact{RegistryFact},
	Run: func(p *analysis.Pass) error {
		r := p.ResultOf(RegistryFact).(*Registry)
		var ras *requestAuthIndex
		for _, vs := range r.VirtualServices() {
			key, at, ok := claimMatch(vs)
			if !ok {
				continue
			}
			_, gws := r.existingGateways(vs)
			if len(gws) == 0 {
				continue
			}
			if !requestAuthKnown(p.Snapshot) {
				p.NotChecked("JWT claim routing of %s: the input has no RequestAuthentications", vs.Ref())
				continue
			}
			if ras == nil {
				ras = newRequestAuthIndex(p.Snapshot, r.Mesh.RootNamespace())
			}
			for _, g := range gws {
				_, objs, _ := gatewayWorkloads(r, g)
				var lacking []*snapshot.Object
				for _, wl := range objs {
					if ras.applying(wl.Key.Namespace, labelsOf(wl), g.Object) == nil {
						lacking = append(lacking, wl)
					}
				}
				if len(lacking) == 0 {
					continue
				}
				f := analysis.Finding{
					Subject:   vs.Key,
					Message:   fmt.Sprintf("%s matches on header %q through Gateway %s, but no RequestAuthentication applies to its gateway workloads (%s): the gateway never validates a JWT, so the claim is never available, the match never holds and those requests fall through to later routes or get 404.", vs.Ref(), key, g.Object.Ref(), refList(lacking, 3)),
					Locations: []analysis.Location{analysis.LocationOf(vs, at)},
					Evidence:  []string{fmt.Sprintf("%s: claim-based match", at), fmt.Sprintf("gateway workloads without a RequestAuthentication (namespace %s or %s): %s", strings.Join(workloadNamespaces(lacking), ", "), r.Mesh.RootNamespace(), refList(lacking, 3))},
					Related:   []analysis.Related{analysis.RelatedOf(g.Object, "the Gateway the route is bound to")},
					Remedy:    fmt.Sprintf("Add a RequestAuthentication in the gateway pods' namespace (%s) selecting them (e.g. selector.matchLabels %s) with a jwtRule for the token's issuer.", lacking[0].Key.Namespace, labelText(g.Spec.GetSelector())),
					Key:       g.Object.Key.String(),
				}
				f.Related = append(f.Related, analysis.RelatedOf(lacking[0], "gateway workload"))
				p.Report(f)
			}
		}
		return nil
	},
}

func requestAuth(o *snapshot.Object) *secv1beta1.RequestAuthentication {
	if ra, ok := o.Typed.(*securityv1.RequestAuthentication); ok {
		return &ra.Spec
	}
	return nil
}

// clusterLocalHost tells whether a host name resolves inside the cluster.
func clusterLocalHost(h string) bool {
	return !strings.Contains(h, ".") || strings.HasSuffix(h, ".svc") || strings.HasSuffix(h, ".svc."+DomainSuffix) || h == "localhost"
}

// RequestAuthJWTRule: jwtRules Istio rejects or that fetch keys insecurely.
var RequestAuthJWTRule = &analysis.Analyzer{
	Code:     "MD309",
	Name:     "requestauthn-jwt-rule-invalid",
	Severity: analysis.Warning,
	Summary:  "A RequestAuthentication jwtRule fetches its signing keys from a plain http jwksUri.",
	Doc:      doc("MD309"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindRequestAuth)},
	Reads:    map[schema.GroupKind][]string{snapshot.KindRequestAuth: {"spec"}},
	Run: func(p *analysis.Pass) error {
		for _, o := range p.Snapshot.List(snapshot.KindRequestAuth) {
			ra := requestAuth(o)
			if ra == nil {
				continue
			}
			for i, jr := range ra.GetJwtRules() {
				at := snapshot.P("spec", "jwtRules", i)
				uri := jr.GetJwksUri()
				if uri == "" || jr.GetJwks() != "" {
					continue
				}
				u, err := url.Parse(uri)
				if err != nil || !strings.EqualFold(u.Scheme, "http") {
					continue
				}
				f := analysis.Finding{
					Subject:   o.Key,
					Message:   fmt.Sprintf("%s jwtRules[%d] fetches its signing keys from %s over plain http: anyone on the path can substitute keys, and tokens signed with them are accepted.", o.Ref(), i, uri),
					Locations: []analysis.Location{analysis.LocationOf(o, at.Child("jwksUri"))},
					Evidence:  []string{fmt.Sprintf("%s.jwksUri: %s", at, uri)},
					Remedy:    "Serve the JWKS over https and use an https:// jwksUri, or inline the keys in jwks.",
					Key:       at.Child("jwksUri").String(),
				}
				if clusterLocalHost(u.Hostname()) {
					f.Severity = analysis.Info
					f.Message = fmt.Sprintf("%s jwtRules[%d] fetches its signing keys from the in-cluster %s over plain http: istiod fetches JWKS without a sidecar, so the keys cross the cluster network unauthenticated.", o.Ref(), i, uri)
				}
				p.Report(f)
			}
		}
		return nil
	},
}

const blockedCIDRsEnv = "BLOCKED_CIDRS_IN_JWKS_URIS"

// JWKSFetchUnrestricted: RequestAuthentications exist and istiod does not
// restrict where it fetches JWKS from (IST0175).
var JWKSFetchUnrestricted = &analysis.Analyzer{
	Code:     "MD310",
	Name:     "jwks-fetch-unrestricted",
	Severity: analysis.Info,
	Summary:  "RequestAuthentications exist but istiod does not set BLOCKED_CIDRS_IN_JWKS_URIS, so it fetches any jwksUri (or issuer discovery URL) a namespace author writes, private addresses included.",
	Doc:      doc("MD310"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.KindRequestAuth), analysis.Kinds(snapshot.KindDeployment)},
	Reads:    map[schema.GroupKind][]string{snapshot.KindDeployment: {"spec.template.spec.containers.env", "spec.template.spec.containers.name"}},
	Run: func(p *analysis.Pass) error {
		ras := p.Snapshot.List(snapshot.KindRequestAuth)
		names := make([]*snapshot.Object, len(ras))
		copy(names, ras)
		sort.Slice(names, func(i, j int) bool { return names[i].Ref() < names[j].Ref() })
		for _, o := range p.Snapshot.List(snapshot.KindDeployment) {
			if o.Labels["app"] != "istiod" && !facts.IsIstiod(o) {
				continue
			}
			if v, ok := envValue(o, blockedCIDRsEnv); ok && v != "" {
				continue
			}
			at := snapshot.P("spec", "template", "spec", "containers", 0, "env")
			if spec, _, _, ok := snapshot.PodSpecOf(o); ok {
				for i, c := range spec.Containers {
					if c.Name == "discovery" {
						at = snapshot.P("spec", "template", "spec", "containers", i, "env")
					}
				}
			}
			p.Report(analysis.Finding{
				Subject:   o.Key,
				Message:   fmt.Sprintf("%s does not set %s, but %d RequestAuthentication(s) exist (%s): istiod fetches every jwksUri and issuer discovery URL they name, so whoever can write a RequestAuthentication can make istiod request internal addresses (SSRF).", o.Ref(), blockedCIDRsEnv, len(ras), refList(names, 5)),
				Locations: []analysis.Location{analysis.LocationOf(o, at)},
				Evidence:  []string{fmt.Sprintf("%s: no literal %s env", o.Ref(), blockedCIDRsEnv), fmt.Sprintf("%d RequestAuthentication(s) in the input", len(ras))},
				Remedy:    fmt.Sprintf("Set %s on istiod to the private ranges it must not fetch from, e.g. `--set pilot.env.%s=10.0.0.0/8\\,172.16.0.0/12\\,192.168.0.0/16\\,127.0.0.0/8` (keep out the ranges your identity provider lives in).", blockedCIDRsEnv, blockedCIDRsEnv),
				Key:       blockedCIDRsEnv,
			})
		}
		return nil
	},
}
