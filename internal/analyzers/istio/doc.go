// Package istio holds the checks of Istio configuration: routing and
// gateways (MD2xx), mTLS and security policy (MD3xx), and the registry
// index they share. Each check's documentation is a Markdown file in docs/,
// embedded so that `meshdoctor explain` and docs/codes/ show the same text.
package istio

import (
	"embed"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
)

//go:embed docs/*.md
var docFS embed.FS

// doc returns the documentation body of a code; a missing page is a
// programming error caught by the registry tests.
func doc(code string) string { return analysis.DocPage(docFS, code) }
