package istio

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/workload"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// ProxyID is the UID and GID the sidecar runs as; istio-iptables lets
// traffic from either bypass the proxy.
const ProxyID = 1337

// proxyContainers are containers that legitimately run as the proxy.
var proxyContainers = map[string]bool{ProxyContainer: true, "istio-operator": true}

// idUse is one application container running as the proxy's UID or GID.
type idUse struct {
	container string
	what      []string // "runAsUser 1337", "runAsGroup 1337"
}

// AppRunsAsProxyUID is IST0144: an application container runs as UID (or
// GID) 1337 in a sidecar pod.
var AppRunsAsProxyUID = &analysis.Analyzer{
	Code:     "MD235",
	Name:     "app-runs-as-proxy-uid",
	Severity: analysis.Warning,
	Summary:  "An application container of a sidecar pod runs as UID or GID 1337, reserved for the proxy: its outbound traffic bypasses the sidecar (no mTLS, no routing or policy).",
	Doc:      doc("MD235"),
	Inputs:   []analysis.Input{analysis.Kinds(snapshot.WorkloadKinds...)},
	Reads: func() map[schema.GroupKind][]string {
		ctx := []string{"spec.securityContext", "spec.containers.securityContext", "spec.initContainers.securityContext"}
		m := reads(membershipReads(), templateReads(ctx...))
		m[snapshot.KindPod] = append(m[snapshot.KindPod], ctx...)
		return m
	}(),
	Requires: []*analysis.Fact{workload.OwnershipFact},
	Run: func(p *analysis.Pass) error {
		own := p.ResultOf(workload.OwnershipFact).(*workload.Ownership)
		for _, o := range topLevelWorkloads(p.Snapshot, own) {
			spec, at, podLabels, ok := snapshot.PodSpecOf(o)
			if !ok || isControlPlane(o.Labels) || isControlPlane(podLabels) {
				continue
			}
			podUID, podGID := podIDs(spec)
			var fromPod []idUse // containers inheriting 1337 from the pod
			var own []struct {
				use  idUse
				path snapshot.Path
			}
			for i, c := range spec.Containers {
				if proxyContainers[c.Name] {
					continue
				}
				var inherited, set []string
				uid, uidSet := containerID(c.SecurityContext, true)
				gid, gidSet := containerID(c.SecurityContext, false)
				check := func(field string, v int64, isSet bool, podV *int64) {
					switch {
					case isSet && v == ProxyID:
						set = append(set, fmt.Sprintf("%s %d", field, v))
					case !isSet && podV != nil && *podV == ProxyID:
						inherited = append(inherited, fmt.Sprintf("%s %d", field, *podV))
					}
				}
				check("runAsUser", uid, uidSet, podUID)
				check("runAsGroup", gid, gidSet, podGID)
				if len(set) > 0 {
					field, _, _ := strings.Cut(set[0], " ")
					own = append(own, struct {
						use  idUse
						path snapshot.Path
					}{idUse{c.Name, set}, at.Child("containers", i, "securityContext", field)})
				}
				if len(inherited) > 0 {
					fromPod = append(fromPod, idUse{c.Name, inherited})
				}
			}
			if len(fromPod) == 0 && len(own) == 0 {
				continue
			}
			m := MembershipOf(p.Snapshot, o)
			if m.Dataplane == DataplaneUnknown {
				p.NotChecked("UID 1337 in %s: %s", o.Ref(), m.Why)
				continue
			}
			if m.Dataplane != DataplaneSidecar {
				continue // only the sidecar's iptables rules exempt UID/GID 1337
			}
			if len(fromPod) > 0 {
				field, _, _ := strings.Cut(fromPod[0].what[0], " ")
				reportProxyID(p, o, m, at.Child("securityContext", field), "the pod's securityContext", fromPod)
			}
			for _, c := range own {
				reportProxyID(p, o, m, c.path, "the securityContext of container "+c.use.container, []idUse{c.use})
			}
		}
		return nil
	},
}

func podIDs(spec *corev1.PodSpec) (uid, gid *int64) {
	if sc := spec.SecurityContext; sc != nil {
		return sc.RunAsUser, sc.RunAsGroup
	}
	return nil, nil
}

func containerID(sc *corev1.SecurityContext, user bool) (int64, bool) {
	if sc == nil {
		return 0, false
	}
	v := sc.RunAsGroup
	if user {
		v = sc.RunAsUser
	}
	if v == nil {
		return 0, false
	}
	return *v, true
}

func reportProxyID(p *analysis.Pass, o *snapshot.Object, m Membership, at snapshot.Path, where string, uses []idUse) {
	var names, evidence []string
	for _, u := range uses {
		names = append(names, u.container)
		evidence = append(evidence, fmt.Sprintf("container %s runs with %s", u.container, strings.Join(u.what, " and ")))
	}
	evidence = append(evidence, fmt.Sprintf("%s has a sidecar (%s)", o.Ref(), m.Why))
	field, _ := at[len(at)-1].(string)
	p.Report(analysis.Finding{
		Subject: o.Key,
		Message: fmt.Sprintf("%s sets %s in %s to 1337, the ID reserved for the Istio proxy, so container(s) %s run as the proxy: the sidecar's iptables rules let the proxy's own traffic out unredirected, so these containers' outbound connections bypass Envoy — no mTLS (calls to STRICT services are reset), no routing, retries or egress policy.",
			o.Ref(), field, where, strings.Join(names, ", ")),
		Locations: []analysis.Location{analysis.LocationOf(o, at)},
		Evidence:  evidence,
		Remedy:    "Run the application as another UID/GID (any value but 1337): change runAsUser/runAsGroup in the securityContext shown.",
		Key:       at.String(),
	})
}
