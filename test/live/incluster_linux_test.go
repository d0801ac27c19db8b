//go:build linux

package live

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshdoctor/meshdoctor/internal/testnetns"
)

// TestInCluster runs meshdoctor as a pod would: no kubeconfig, the API
// server named by KUBERNETES_SERVICE_HOST/PORT, and a service account's
// token, CA and namespace under /var/run/secrets/kubernetes.io/serviceaccount.
// The binary runs in a private mount namespace whose /run is a fresh tmpfs,
// so the files are placed where client-go looks without touching the
// machine's own /run. The service account may read everything but Secrets:
// the report must name the Secrets it could not list (proof that the token,
// not some other credential, was used) and still find the defect.
func TestInCluster(t *testing.T) {
	testnetns.Require(t, "unshare", "mount")
	c := start(t)
	appWithMissingKey(t, c, "app")
	cs := c.env.Clientset(t)
	ctx := context.Background()

	c.ensureNamespace(t, "meshdoctor")
	if _, err := cs.CoreV1().ServiceAccounts("meshdoctor").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "meshdoctor"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Every resource of every group, but Secrets: RBAC only adds, so the
	// core group's resources are listed without them.
	read := []string{"get", "list"}
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "meshdoctor-reader"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods", "services", "configmaps", "serviceaccounts", "namespaces", "nodes", "endpoints"}, Verbs: read},
			{APIGroups: []string{"apps", "batch", "networking.k8s.io", "discovery.k8s.io", "admissionregistration.k8s.io", "apiextensions.k8s.io"}, Resources: []string{"*"}, Verbs: read},
			{APIGroups: []string{"networking.istio.io", "security.istio.io", "telemetry.istio.io", "cilium.io", "gateway.networking.k8s.io"}, Resources: []string{"*"}, Verbs: read},
		},
	}
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "meshdoctor-reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "meshdoctor", Namespace: "meshdoctor"}},
	}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	expiry := int64(3600)
	tok, err := cs.CoreV1().ServiceAccounts("meshdoctor").CreateToken(ctx, "meshdoctor", &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("requesting a service account token: %v", err)
	}

	sa := t.TempDir()
	for name, content := range map[string][]byte{
		"token":     []byte(tok.Status.Token),
		"ca.crt":    c.env.Config.CAData,
		"namespace": []byte("meshdoctor"),
	} {
		if err := os.WriteFile(filepath.Join(sa, name), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	server, err := url.Parse(c.env.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "meshdoctor")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/meshdoctor").CombinedOutput(); err != nil {
		t.Fatalf("building meshdoctor: %v\n%s", err, out)
	}

	const dir = "/var/run/secrets/kubernetes.io/serviceaccount"
	script := `set -e
mount -t tmpfs meshdoctor-test /run
mkdir -p ` + dir + `
cp "$SA_DIR"/token "$SA_DIR"/ca.crt "$SA_DIR"/namespace ` + dir + `/
exec "$MESHDOCTOR" analyze -o json --fail-on none`
	cmdCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cmdCtx, "unshare", "--mount", "--propagation", "private", "sh", "-c", script)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(), // no ~/.kube/config
		"KUBERNETES_SERVICE_HOST=" + server.Hostname(),
		"KUBERNETES_SERVICE_PORT=" + server.Port(),
		"SA_DIR=" + sa,
		"MESHDOCTOR=" + bin,
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("running meshdoctor in a private mount namespace: %v\n%s", err, errb.String())
	}
	var r report
	if jerr := json.Unmarshal(out.Bytes(), &r); jerr != nil {
		t.Fatalf("exit %v: not a JSON report (%v)\nstdout %s\nstderr %s", err, jerr, out.String(), errb.String())
	}
	if !has(r, "MD101") {
		t.Errorf("in-cluster analysis missed MD101 (the missing ConfigMap key): %+v\nstderr %s", r.Findings, errb.String())
	}
	var forbidden []string
	for _, e := range r.InputErrors {
		if strings.Contains(e.Message, "secrets") {
			forbidden = append(forbidden, e.Message)
		}
	}
	if len(forbidden) == 0 {
		t.Errorf("the service account may not list Secrets, yet no input error says so: the token was not used? errors %+v", r.InputErrors)
	}
	if r.Summary.ExitCode != 2 {
		t.Errorf("exit code %d in the report, want 2 (Secrets could not be read)", r.Summary.ExitCode)
	}
}
