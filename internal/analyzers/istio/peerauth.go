package istio

import (
	"sort"

	secv1beta1 "istio.io/api/security/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/facts"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// MTLSMode is a PeerAuthentication mode as it applies to a workload port.
type MTLSMode = secv1beta1.PeerAuthentication_MutualTLS_Mode

// Modes, re-exported for readability.
const (
	ModeUnset      = secv1beta1.PeerAuthentication_MutualTLS_UNSET
	ModeDisable    = secv1beta1.PeerAuthentication_MutualTLS_DISABLE
	ModePermissive = secv1beta1.PeerAuthentication_MutualTLS_PERMISSIVE
	ModeStrict     = secv1beta1.PeerAuthentication_MutualTLS_STRICT
)

type peerAuth struct {
	Object *snapshot.Object
	Spec   *secv1beta1.PeerAuthentication
}

// PeerAuths resolves the PeerAuthentication mode in force for a workload
// port the way istiod does: a port-level setting of the workload policy,
// else the workload policy, else the namespace policy, else the mesh
// policy (root namespace, no selector), else PERMISSIVE; UNSET inherits
// from the next level. Among several policies of one level the oldest wins.
type PeerAuths struct {
	root      string
	meshLevel *peerAuth
	nsLevel   map[string]*peerAuth
	workload  map[string][]*peerAuth // by namespace
}

// PeerAuthFact builds the PeerAuths index once per run.
var PeerAuthFact = &analysis.Fact{
	Name:     "peer-authentication",
	Doc:      "PeerAuthentication policies by level (mesh, namespace, workload), to resolve the mTLS mode of a workload port.",
	Reads:    map[schema.GroupKind][]string{snapshot.KindPeerAuth: {"spec"}},
	Requires: []*analysis.Fact{facts.MeshConfig},
	Run: func(p *analysis.Pass) (any, error) {
		mesh := p.ResultOf(facts.MeshConfig).(*facts.Mesh)
		pa := &PeerAuths{root: mesh.RootNamespace(), nsLevel: map[string]*peerAuth{}, workload: map[string][]*peerAuth{}}
		objs := append([]*snapshot.Object(nil), p.Snapshot.List(snapshot.KindPeerAuth)...)
		sort.SliceStable(objs, func(i, j int) bool { return older(objs[i], objs[j]) })
		for _, o := range objs {
			t, ok := o.Typed.(*securityv1.PeerAuthentication)
			if !ok {
				continue
			}
			e := &peerAuth{Object: o, Spec: &t.Spec}
			ns := o.Key.Namespace
			switch {
			case len(t.Spec.GetSelector().GetMatchLabels()) > 0:
				pa.workload[ns] = append(pa.workload[ns], e)
			case ns == pa.root:
				if pa.meshLevel == nil {
					pa.meshLevel = e
				}
				if pa.nsLevel[ns] == nil {
					pa.nsLevel[ns] = e
				}
			default:
				if pa.nsLevel[ns] == nil {
					pa.nsLevel[ns] = e
				}
			}
		}
		return pa, nil
	},
}

// creation is an object's creationTimestamp (zero when not written).
func creation(o *snapshot.Object) metav1.Time {
	if m, ok := o.Typed.(metav1.Object); ok {
		return m.GetCreationTimestamp()
	}
	return metav1.Time{}
}

// older orders objects by creation time, then input order (stable sort).
func older(a, b *snapshot.Object) bool {
	ta, tb := creation(a), creation(b)
	if ta.IsZero() || tb.IsZero() {
		return false
	}
	return ta.Before(&tb)
}

// Resolved is the mode in force and the policies that decided it.
type Resolved struct {
	Mode MTLSMode
	// From lists the deciding policy first, then the policies that apply
	// but leave the mode UNSET (inheriting it).
	From []*snapshot.Object
}

// Mode returns the mode for port (a container port; 0 for none) of a
// workload with podLabels in namespace ns.
func (pa *PeerAuths) Mode(ns string, podLabels map[string]string, port int32) Resolved {
	var res Resolved
	take := func(e *peerAuth, m MTLSMode) bool {
		if e == nil {
			return false
		}
		if m != ModeUnset {
			res.Mode = m
			res.From = append([]*snapshot.Object{e.Object}, res.From...)
			return true
		}
		res.From = append(res.From, e.Object)
		return false
	}
	for _, e := range pa.workload[ns] {
		if !labels.SelectorFromSet(e.Spec.GetSelector().GetMatchLabels()).Matches(labels.Set(podLabels)) {
			continue
		}
		if pm, ok := e.Spec.GetPortLevelMtls()[uint32(port)]; ok && port > 0 && take(e, pm.GetMode()) {
			return res
		}
		if take(e, e.Spec.GetMtls().GetMode()) {
			return res
		}
		break // only the oldest matching workload policy applies
	}
	if take(pa.nsLevel[ns], pa.nsLevel[ns].mode()) {
		return res
	}
	if ns != pa.root && take(pa.meshLevel, pa.meshLevel.mode()) {
		return res
	}
	res.Mode = ModePermissive
	return res
}

func (e *peerAuth) mode() MTLSMode {
	if e == nil {
		return ModeUnset
	}
	return e.Spec.GetMtls().GetMode()
}

// NamespaceMode is the mode of a namespace's workloads without a workload
// policy.
func (pa *PeerAuths) NamespaceMode(ns string) Resolved { return pa.Mode(ns, nil, 0) }
