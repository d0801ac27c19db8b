// Package cni holds the checks of the CNI layer (MD4xx): Istio's CNI node
// agent and ztunnel where ambient pods run, the node runtimes and releases
// that expose nodes to known CNI bugs, and (with Cilium) NetworkPolicy
// coverage and drops. Each check's documentation is a Markdown file in
// docs/, embedded so that `meshdoctor explain` and docs/codes/ agree.
package cni

import (
	"embed"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
)

//go:embed docs/*.md
var docFS embed.FS

func doc(code string) string { return analysis.DocPage(docFS, code) }

// Analyzers returns the checks of this package.
func Analyzers() []*analysis.Analyzer {
	return []*analysis.Analyzer{IstioCNINotReady, ZtunnelNotReady, AmbientComponentSkew, CRIONetNSBugExposure, CNIAgentSawSeveralNetNS, UnmanagedSourcesDenied, UnattributedDrops, CIDRRuleMissesNodes, PolicyBlocksAmbient, PolicySelectsNothing, DropsExplained}
}
