package proxylog

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/meshdoctor/meshdoctor/internal/accesslog"
	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/istio"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
)

// UFTargetPortUnserved joins connection-refused failures to a Service
// targetPort no container of its pods declares.
var UFTargetPortUnserved = &analysis.Analyzer{
	Code:     "MD607",
	Name:     "log-uf-targetport-not-declared",
	Severity: analysis.Error,
	Summary:  "Proxies logged 503 UF (connection refused) toward a Service port whose numeric targetPort none of the selected pods' containers declares, while they declare others: traffic goes to a port nothing listens on.",
	Doc:      doc("MD607"),
	Inputs:   joinInputs,
	Reads:    map[schema.GroupKind][]string{snapshot.KindPod: append([]string{"status.phase", "spec.containers.name", "spec.containers.ports"}, snapshot.PodConditionReads()...)},
	Requires: []*analysis.Fact{istio.RegistryFact},
	Run:      runTargetPort,
}

// refused tells a connect failure the upstream refused (or, with older
// Envoy, a plain connection failure, which a refusal also produces).
func refused(k accesslog.Key) bool {
	d := strings.ToLower(k.Details)
	return strings.Contains(d, "connection_refused") || strings.Contains(d, "_111") || strings.Contains(d, "connection_failure")
}

func runTargetPort(p *analysis.Pass) error {
	r := p.ResultOf(istio.RegistryFact).(*istio.Registry)
	al := p.Snapshot.AccessLogs()
	failingGroups(p, "UF", func(g *accesslog.Group, c accesslog.Cluster, from string) {
		if !refused(g.Key) {
			return
		}
		svcs := r.Services(c.Service, clientNS(from, c.Service))
		if len(svcs) == 0 {
			return
		}
		svc := svcs[0]
		for i, sp := range svc.Spec.Spec.Ports {
			if int(sp.Port) != c.Port || sp.TargetPort.Type != intstr.Int {
				continue
			}
			target := sp.TargetPort.IntVal
			if target == 0 {
				target = sp.Port
			}
			pods := p.Snapshot.ServiceBackends(svc.Object).Pods
			var declared []string
			serves := false
			for _, o := range pods {
				pod, ok := o.Typed.(*corev1.Pod)
				if !ok {
					continue
				}
				for _, ct := range pod.Spec.Containers {
					if ct.Name == istio.ProxyContainer {
						continue
					}
					for _, cp := range ct.Ports {
						declared = append(declared, fmt.Sprintf("%s/%s:%d", o.Key.Name, ct.Name, cp.ContainerPort))
						serves = serves || cp.ContainerPort == target
					}
				}
			}
			if serves || len(declared) == 0 {
				return // a declared port matches, or nothing is declared (declarations are optional)
			}
			f := logFinding(g, al.Summary.Matched)
			f.Subject = svc.Object.Key
			f.Locations = []analysis.Location{analysis.LocationOf(svc.Object, snapshot.P("spec", "ports", i, "targetPort")), logLocation(g, al)}
			if len(declared) > 5 {
				declared = append(declared[:5], "…")
			}
			f.Evidence = append(f.Evidence, fmt.Sprintf("%s port %d → targetPort %d", svc.Object.Ref(), sp.Port, target), "container ports the selected pods declare: "+strings.Join(declared, ", "))
			f.Message = fmt.Sprintf("%s failed with 503 UF (connection refused) toward %s: %s sends port %d to targetPort %d, which no container of its pods declares (they declare other ports), so the connection is refused.", plural(g.Failures, "request"), c.Name, svc.Object.Ref(), sp.Port, target)
			f.Remedy = fmt.Sprintf("Point targetPort of port %d at the port the application listens on (one of the declared containerPorts, preferably by name), or make the application listen on %d.", sp.Port, target)
			p.Report(f)
			return
		}
	})
	return nil
}
