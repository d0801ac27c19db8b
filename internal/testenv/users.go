package testenv

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Grant gives a user RBAC rules, cluster-wide or in some namespaces only.
type Grant struct {
	Rules []rbacv1.PolicyRule
	// Namespaces the rules hold in, through RoleBindings; none means
	// everywhere, through a ClusterRoleBinding.
	Namespaces []string
}

// User is a user authenticated by a client certificate, with only the
// permissions of its grants (and those every authenticated user has, such as
// discovery).
type User struct {
	Name   string
	Config *rest.Config

	kubeconfig []byte
}

// KubeconfigFile writes the user's kubeconfig to a file in a temporary
// directory of t and returns its path.
func (u *User) KubeconfigFile(t testing.TB) string {
	t.Helper()
	return writeKubeconfig(t, u.Name, u.kubeconfig)
}

// AddUser provisions a user named name, with RBAC rules only from grants,
// and waits until the authorizer allows what the grants say. RBAC grants only
// add permissions: a user "forbidden Secrets and namespace x" is one granted
// every other resource, in every other namespace.
func (e *Env) AddUser(t testing.TB, name string, grants ...Grant) *User {
	t.Helper()
	// Only the rate limits from the admin config: nothing of its identity.
	base := &rest.Config{QPS: e.Config.QPS, Burst: e.Config.Burst}
	au, err := e.env.AddUser(envtest.User{Name: name}, base)
	if err != nil {
		t.Fatalf("testenv: adding user %s: %v", name, err)
	}
	kubeconfig, err := au.KubeConfig()
	if err != nil {
		t.Fatalf("testenv: kubeconfig of user %s: %v", name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs, err := kubernetes.NewForConfig(e.Config)
	if err != nil {
		t.Fatalf("testenv: admin clientset: %v", err)
	}
	for i, g := range grants {
		if err := grant(ctx, cs, name, fmt.Sprintf("testenv:%s:%d", name, i), g); err != nil {
			t.Fatalf("testenv: granting user %s: %v", name, err)
		}
	}
	return &User{Name: name, Config: au.Config(), kubeconfig: kubeconfig}
}

func grant(ctx context.Context, cs kubernetes.Interface, user, role string, g Grant) error {
	if len(g.Rules) == 0 {
		return fmt.Errorf("grant %s has no rules", role)
	}
	cr := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: role}, Rules: g.Rules}
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, cr, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating ClusterRole %s: %w", role, err)
	}
	subjects := []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}
	ref := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role}
	if len(g.Namespaces) == 0 {
		crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role}, Subjects: subjects, RoleRef: ref}
		if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating ClusterRoleBinding %s: %w", role, err)
		}
	}
	for _, ns := range g.Namespaces {
		rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role, Namespace: ns}, Subjects: subjects, RoleRef: ref}
		if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating RoleBinding %s/%s: %w", ns, role, err)
		}
	}
	// The RBAC authorizer sees new bindings through an informer, a moment
	// later; wait for the first rule so the user's first request is not
	// spuriously forbidden.
	namespaces := g.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{""}
	}
	for _, ns := range namespaces {
		if err := waitAllowed(ctx, cs, user, ns, g.Rules[0]); err != nil {
			return fmt.Errorf("waiting for ClusterRole %s to apply in namespace %q: %w", role, ns, err)
		}
	}
	return nil
}

func waitAllowed(ctx context.Context, cs kubernetes.Interface, user, ns string, rule rbacv1.PolicyRule) error {
	spec := authorizationv1.SubjectAccessReviewSpec{User: user, Groups: []string{"system:authenticated"}}
	switch {
	case len(rule.Verbs) == 0:
		return fmt.Errorf("rule %v has no verbs", rule)
	case len(rule.NonResourceURLs) > 0:
		spec.NonResourceAttributes = &authorizationv1.NonResourceAttributes{Path: rule.NonResourceURLs[0], Verb: rule.Verbs[0]}
	case len(rule.APIGroups) == 0 || len(rule.Resources) == 0:
		return fmt.Errorf("rule %v needs apiGroups and resources, or nonResourceURLs", rule)
	default:
		resource, subresource, _ := strings.Cut(rule.Resources[0], "/")
		ra := &authorizationv1.ResourceAttributes{
			Namespace: ns, Verb: rule.Verbs[0], Group: rule.APIGroups[0],
			Resource: resource, Subresource: subresource,
		}
		if len(rule.ResourceNames) > 0 {
			ra.Name = rule.ResourceNames[0]
		}
		spec.ResourceAttributes = ra
	}
	var last string
	err := wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		sar := &authorizationv1.SubjectAccessReview{Spec: spec}
		got, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
		if err != nil {
			return false, fmt.Errorf("creating SubjectAccessReview: %w", err)
		}
		last = got.Status.Reason
		return got.Status.Allowed, nil
	})
	if err != nil {
		return fmt.Errorf("%w (last review: %q)", err, last)
	}
	return nil
}
