//lint:file-ignore SA1019 the schema and deprecation checks read deprecated fields on purpose

package istio

import (
	"google.golang.org/protobuf/types/known/durationpb"
	netv1alpha3 "istio.io/api/networking/v1alpha3"
)

// Accessors for deprecated API fields, kept in one place.

func serverTargetPort(p *netv1alpha3.Port) uint32         { return p.GetTargetPort() }
func sidecarTargetPort(p *netv1alpha3.SidecarPort) uint32 { return p.GetTargetPort() }

func mirrorPercent(h *netv1alpha3.HTTPRoute) (uint32, bool) {
	if mp := h.GetMirrorPercent(); mp != nil {
		return mp.GetValue(), true
	}
	return 0, false
}

func delayPercent(d *netv1alpha3.HTTPFaultInjection_Delay) int32 { return d.GetPercent() }

func corsAllowOrigin(c *netv1alpha3.CorsPolicy) []string { return c.GetAllowOrigin() }

func consecutiveErrors(od *netv1alpha3.OutlierDetection) int32 { return od.GetConsecutiveErrors() }

func minimumRingSize(ch *netv1alpha3.LoadBalancerSettings_ConsistentHashLB) uint64 {
	return ch.GetMinimumRingSize()
}

func leastConn(lb *netv1alpha3.LoadBalancerSettings) bool {
	return lb.GetSimple() == netv1alpha3.LoadBalancerSettings_LEAST_CONN
}

func warmupDurationSecs(lb *netv1alpha3.LoadBalancerSettings) *durationpb.Duration {
	return lb.GetWarmupDurationSecs()
}
