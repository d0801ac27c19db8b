package istio

import (
	"fmt"
	"net/url"

	extv1alpha1api "istio.io/api/extensions/v1alpha1"
	typev1beta1 "istio.io/api/type/v1beta1"
	extensionsv1alpha1 "istio.io/client-go/pkg/apis/extensions/v1alpha1"
	networkingv1beta1 "istio.io/client-go/pkg/apis/networking/v1beta1"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// validateProxyConfigObj follows validation.ValidateProxyConfig (the
// ProxyConfig resource, not MeshConfig's defaultConfig).
func validateProxyConfigObj(s issueSink) {
	pc, ok := s.obj.Typed.(*networkingv1beta1.ProxyConfig)
	if !ok {
		return
	}
	spec := snapshot.P("spec")
	in := &pc.Spec
	if sel := in.GetSelector(); sel != nil {
		checkBetaSelector(s, spec.Child("selector"), sel.GetMatchLabels(), "ProxyConfig")
	}
	if c := in.GetConcurrency(); c != nil && c.GetValue() < 0 {
		s.err(spec.Child("concurrency"), "concurrency", "validateConcurrency", fmt.Sprintf("concurrency %d is negative", c.GetValue()), fmt.Sprint(c.GetValue()), "Use 0 (one worker per CPU core) or a positive number of worker threads.")
	}
}

// wasmURLSchemes are the schemes validateWasmPluginURL accepts ("" when
// the URL is a bare registry reference).
var wasmURLSchemes = map[string]bool{"": true, "file": true, "http": true, "https": true, "oci": true}

// wasmURLProblem is validation.validateWasmPluginURL with strictParseURL:
// a URL that does not parse as a request URI is retried with "http://" in
// front (a bare registry reference), and the scheme must be one the agent
// can fetch.
func wasmURLProblem(raw string) string {
	u, err := url.ParseRequestURI(raw)
	if err != nil {
		nu, nerr := url.ParseRequestURI("http://" + raw)
		if nerr != nil {
			return fmt.Sprintf("url %q does not parse: %v", raw, err)
		}
		u = nu
	}
	if !wasmURLSchemes[u.Scheme] {
		return fmt.Sprintf("url scheme %q is not supported (oci, https, http or file)", u.Scheme)
	}
	return ""
}

// sha256Problem is validation.validateWasmPluginSHA.
func sha256Problem(sum string) string {
	if len(sum) != 64 {
		return fmt.Sprintf("sha256 is %d characters long, not 64", len(sum))
	}
	for _, r := range sum {
		if !('a' <= r && r <= 'f' || '0' <= r && r <= '9') {
			return fmt.Sprintf("sha256 contains %q: it must be 64 lower-case hex digits ([a-f0-9]{64})", r)
		}
	}
	return ""
}

// validateWasmPluginObj follows validation.ValidateWasmPlugin (each rule
// names the helper it calls).
func validateWasmPluginObj(s issueSink) {
	wp, ok := s.obj.Typed.(*extensionsv1alpha1.WasmPlugin)
	if !ok {
		return
	}
	spec := snapshot.P("spec")
	in := &wp.Spec
	checkPolicyTarget(s, spec, in.GetSelector(), in.GetTargetRef(), in.GetTargetRefs(), "WasmPlugin")
	checkWasmModule(s, spec, in, wasmUpstream{})
	checkTrafficSelectors(s, spec, in.GetMatch(), "validateWasmPluginMatch")
}

// wasmModule is what a WasmPlugin and a TrafficExtension's wasm share.
type wasmModule interface {
	GetUrl() string
	GetSha256() string
	GetImagePullSecret() string
	GetPluginName() string
	GetVmConfig() *extv1alpha1api.VmConfig
}

// wasmUpstream names the rule each check follows: ValidateWasmPlugin's
// helpers, or (crd set) the CRD schema rule of the same field.
type wasmUpstream struct{ crd string }

func (u wasmUpstream) name(fn string) string {
	if u.crd != "" {
		return u.crd
	}
	return fn
}

// checkWasmModule is validateWasmPluginURL, validateWasmPluginSHA,
// validateWasmPluginImagePullSecret, validateWasmPluginName and
// validateWasmPluginVMConfig (the WasmConfig of a TrafficExtension carries
// the same rules in its CRD schema).
func checkWasmModule(s issueSink, at snapshot.Path, m wasmModule, u wasmUpstream) {
	if m.GetUrl() == "" {
		s.err(at, "wasm-url", u.name("validateWasmPluginURL"), "url field needs to be set", "url missing", "Set url to the module: oci://registry/image:tag, https://host/plugin.wasm or file:///path/plugin.wasm.")
	} else if msg := wasmURLProblem(m.GetUrl()); msg != "" {
		s.err(at.Child("url"), "wasm-url", u.name("validateWasmPluginURL"), msg, m.GetUrl(), "Use an oci://, https://, http:// or file:// URL (a bare registry reference such as ghcr.io/org/plugin:1.0 is read as oci).")
	}
	if sum := m.GetSha256(); sum != "" {
		if msg := sha256Problem(sum); msg != "" {
			s.err(at.Child("sha256"), "wasm-sha256", u.name("validateWasmPluginSHA"), msg, sum, "Give the module's SHA-256 as 64 lower-case hex digits (sha256sum plugin.wasm), or remove sha256.")
		}
	}
	if n := len(m.GetImagePullSecret()); n > 253 {
		s.err(at.Child("imagePullSecret"), "wasm-pull-secret", u.name("validateWasmPluginImagePullSecret"), fmt.Sprintf("imagePullSecret is %d characters long (max 253)", n), m.GetImagePullSecret()[:32]+"…", "Name the Secret (a Kubernetes object name, at most 253 characters).")
	}
	if n := len(m.GetPluginName()); n > 256 {
		s.err(at.Child("pluginName"), "wasm-plugin-name", u.name("validateWasmPluginName"), fmt.Sprintf("pluginName is %d characters long (max 256)", n), m.GetPluginName()[:32]+"…", "Use the plugin's root id, a short name.")
	}
	up := u.name("validateWasmPluginVMConfig")
	seen := map[string]int{}
	for i, e := range m.GetVmConfig().GetEnv() {
		eat := at.Child("vmConfig", "env", i)
		name := e.GetName()
		switch {
		case name == "":
			s.err(eat, "wasm-env", up, "a vmConfig env entry needs a name", "name missing", "Name the environment variable, or remove the entry.")
		case len(name) > 256:
			s.err(eat.Child("name"), "wasm-env", up, fmt.Sprintf("env name is %d characters long (max 256)", len(name)), name[:32]+"…", "Use a shorter variable name.")
		}
		if j, dup := seen[name]; dup && name != "" {
			s.err(eat.Child("name"), "wasm-env-duplicate", up, fmt.Sprintf("env %q is already set by vmConfig.env[%d]", name, j), name, "Set each variable once.")
		} else {
			seen[name] = i
		}
		if e.GetValueFrom() != extv1alpha1api.EnvValueSource_INLINE && e.GetValue() != "" {
			s.err(eat.Child("value"), "wasm-env-value", up, fmt.Sprintf("value may only be set when valueFrom is INLINE, not %s", e.GetValueFrom()), e.GetValue(), "Remove value (HOST takes the variable from the proxy's environment), or set valueFrom: INLINE.")
		}
	}
}

// trafficSelector is a WasmPlugin or TrafficExtension match entry.
type trafficSelector interface {
	GetPorts() []*typev1beta1.PortSelector
}

// checkTrafficSelectors is validateWasmPluginMatch: match ports 1–65535.
func checkTrafficSelectors[T trafficSelector](s issueSink, spec snapshot.Path, match []T, up string) {
	for i, m := range match {
		for j, p := range m.GetPorts() {
			if !validPort(int64(p.GetNumber())) {
				s.err(spec.Child("match", i, "ports", j, "number"), "port", up, fmt.Sprintf("port %d is outside 1–65535", p.GetNumber()), fmt.Sprint(p.GetNumber()), "Use a port between 1 and 65535.")
			}
		}
	}
}

// trafficExtensionConsequence: TrafficExtension has no webhook validation
// of its own in the Istio code meshdoctor follows; its CRD schema (OpenAPI
// and CEL rules) carries the rules, so the API server rejects the object.
const trafficExtensionConsequence = "The Kubernetes API server rejects the object (a rule of the TrafficExtension CRD schema), so kubectl apply fails and this configuration is not in force"

// validateTrafficExtensionObj follows the validation rules of the
// TrafficExtension CRD (istio.io/api extensions/v1alpha1
// traffic_extension.proto): selector or targetRefs, exactly one of wasm and
// lua, the WasmConfig rules WasmPlugin has, lua inlineCode required.
func validateTrafficExtensionObj(s issueSink) {
	te, ok := s.obj.Typed.(*extensionsv1alpha1.TrafficExtension)
	if !ok {
		return
	}
	s.consequence = trafficExtensionConsequence
	const crd = "TrafficExtension CRD schema"
	spec := snapshot.P("spec")
	in := &te.Spec
	// The CRD carries the selector and targetRef errors; the empty-selector
	// warning is the webhook's validateWorkloadSelector, not known to run
	// for this kind, so only the errors are kept.
	scratch := &schemaIssues{}
	ts := s
	ts.out = scratch
	checkPolicyTarget(ts, spec, in.GetSelector(), nil, in.GetTargetRefs(), "TrafficExtension")
	s.out.errs = append(s.out.errs, scratch.errs...)
	if n := len(in.GetTargetRefs()); n > 16 {
		s.err(spec.Child("targetRefs"), "target-refs-max", crd, fmt.Sprintf("targetRefs lists %d targets (max 16)", n), fmt.Sprint(n), "Split the TrafficExtension, at most 16 targetRefs each.")
	}
	switch {
	case in.GetWasm() != nil:
		checkWasmModule(s, spec.Child("wasm"), in.GetWasm(), wasmUpstream{crd: crd})
	case in.GetLua() != nil:
		switch code := in.GetLua().GetInlineCode(); {
		case code == "":
			s.err(spec.Child("lua"), "lua-code", crd, "lua.inlineCode is required", "inlineCode missing", "Put the Lua script in lua.inlineCode.")
		case len(code) > 65536:
			s.err(spec.Child("lua", "inlineCode"), "lua-code", crd, fmt.Sprintf("lua.inlineCode is %d bytes long (max 65536)", len(code)), code[:32]+"…", "Shorten the script, or move the logic to a Wasm module.")
		}
	default:
		s.err(spec, "filter-config", crd, "exactly one of wasm or lua must be set", "neither wasm nor lua", "Add wasm: {url: ...} or lua: {inlineCode: ...}.")
	}
	checkTrafficSelectors(s, spec, in.GetMatch(), crd)
}
