package istio

import (
	"fmt"
	"net/url"

	extv1alpha1api "istio.io/api/extensions/v1alpha1"
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
	if in.GetUrl() == "" {
		s.err(spec, "wasm-url", "validateWasmPluginURL", "url field needs to be set", "url missing", "Set url to the module: oci://registry/image:tag, https://host/plugin.wasm or file:///path/plugin.wasm.")
	} else if msg := wasmURLProblem(in.GetUrl()); msg != "" {
		s.err(spec.Child("url"), "wasm-url", "validateWasmPluginURL", msg, in.GetUrl(), "Use an oci://, https://, http:// or file:// URL (a bare registry reference such as ghcr.io/org/plugin:1.0 is read as oci).")
	}
	if sum := in.GetSha256(); sum != "" {
		if msg := sha256Problem(sum); msg != "" {
			s.err(spec.Child("sha256"), "wasm-sha256", "validateWasmPluginSHA", msg, sum, "Give the module's SHA-256 as 64 lower-case hex digits (sha256sum plugin.wasm), or remove sha256.")
		}
	}
	if n := len(in.GetImagePullSecret()); n > 253 {
		s.err(spec.Child("imagePullSecret"), "wasm-pull-secret", "validateWasmPluginImagePullSecret", fmt.Sprintf("imagePullSecret is %d characters long (max 253)", n), in.GetImagePullSecret()[:32]+"…", "Name the Secret (a Kubernetes object name, at most 253 characters).")
	}
	if n := len(in.GetPluginName()); n > 256 {
		s.err(spec.Child("pluginName"), "wasm-plugin-name", "validateWasmPluginName", fmt.Sprintf("pluginName is %d characters long (max 256)", n), in.GetPluginName()[:32]+"…", "Use the plugin's root id, a short name.")
	}
	seen := map[string]int{}
	for i, e := range in.GetVmConfig().GetEnv() {
		at := spec.Child("vmConfig", "env", i)
		const up = "validateWasmPluginVMConfig"
		name := e.GetName()
		switch {
		case name == "":
			s.err(at, "wasm-env", up, "a vmConfig env entry needs a name", "name missing", "Name the environment variable, or remove the entry.")
		case len(name) > 256:
			s.err(at.Child("name"), "wasm-env", up, fmt.Sprintf("env name is %d characters long (max 256)", len(name)), name[:32]+"…", "Use a shorter variable name.")
		}
		if j, dup := seen[name]; dup && name != "" {
			s.err(at.Child("name"), "wasm-env-duplicate", up, fmt.Sprintf("env %q is already set by vmConfig.env[%d]", name, j), name, "Set each variable once.")
		} else {
			seen[name] = i
		}
		if e.GetValueFrom() != extv1alpha1api.EnvValueSource_INLINE && e.GetValue() != "" {
			s.err(at.Child("value"), "wasm-env-value", up, fmt.Sprintf("value may only be set when valueFrom is INLINE, not %s", e.GetValueFrom()), e.GetValue(), "Remove value (HOST takes the variable from the proxy's environment), or set valueFrom: INLINE.")
		}
	}
	for i, m := range in.GetMatch() {
		for j, p := range m.GetPorts() {
			if !validPort(int64(p.GetNumber())) {
				s.err(spec.Child("match", i, "ports", j, "number"), "port", "validateWasmPluginMatch", fmt.Sprintf("port %d is outside 1–65535", p.GetNumber()), fmt.Sprint(p.GetNumber()), "Use a port between 1 and 65535.")
			}
		}
	}
}
