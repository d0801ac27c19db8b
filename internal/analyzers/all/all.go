// Package all assembles every analyzer into one registry.
package all

import (
	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/cni"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/dataplane"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/input"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/istio"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/proxylog"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/workload"
)

// Registry returns a registry of every analyzer meshdoctor has.
func Registry() (*analysis.Registry, error) {
	var as []*analysis.Analyzer
	as = append(as, input.Analyzers()...)
	as = append(as, workload.Analyzers()...)
	as = append(as, istio.Analyzers()...)
	as = append(as, cni.Analyzers()...)
	as = append(as, dataplane.Analyzers()...)
	as = append(as, proxylog.Analyzers()...)
	return analysis.NewRegistry(as...)
}
