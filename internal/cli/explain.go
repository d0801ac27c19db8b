package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
	"github.com/meshdoctor/meshdoctor/internal/analyzers/all"
	"github.com/meshdoctor/meshdoctor/internal/kb"
)

// maxExplainInput bounds what explain reads from standard input.
const maxExplainInput = 64 << 10

func newExplainCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "explain CODE|NAME|STRING... | explain -",
		Short: "Explain a check, or an Envoy, ztunnel or Cilium failure string",
		Long: `With a check's code or name, print its documentation.

Otherwise explain the failure strings in the arguments (joined by spaces), or
in standard input with "-": Envoy response flags (UF, UpstreamConnectionFailure,
UF,URX), response code details with their arguments
(upstream_reset_before_response_started{...}), local-reply bodies ("upstream
connect error or disconnect/reset before headers. reset reason: ..."), reset
and transport failure reasons (TLS errors, "delayed connect error: 111"),
ztunnel errors ("http status: 503"), Cilium drop reasons (133, "Policy denied",
POLICY_DENIED) and identities (world, ID:2), or a whole Envoy, ztunnel or Hubble
log line. Each recognised part is explained in order: what it means, what
usually causes it in a mesh, what to run next and which meshdoctor checks find
the cause.

Exit codes: 0 something was explained; 2 nothing matched, or bad usage.`,
		Example: `  meshdoctor explain MD101
  meshdoctor explain env-ref-missing
  meshdoctor explain UF,URX
  meshdoctor explain 'upstream_reset_before_response_started{remote_connection_failure|delayed_connect_error:_111}'
  meshdoctor explain "upstream connect error or disconnect/reset before headers. reset reason: overflow"
  meshdoctor explain "http status: 503"
  meshdoctor explain "Policy denied"
  kubectl logs deploy/orders -c istio-proxy --tail=1 | meshdoctor explain -`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			reg, err := all.Registry()
			if err != nil {
				return err
			}
			if len(args) == 1 && args[0] != "-" {
				if a := reg.Lookup(args[0]); a != nil {
					_, err = fmt.Fprint(g.streams.Out, a.Markdown())
					return err
				}
			}
			query := strings.Join(args, " ")
			if len(args) == 1 && args[0] == "-" {
				b, err := io.ReadAll(io.LimitReader(g.streams.In, maxExplainInput))
				if err != nil {
					return usageError("reading standard input: %v", err)
				}
				query = string(b)
			}
			es := kb.Explain(query)
			if len(es) == 0 {
				return usageError("no check, response flag, details, reset reason, local reply, ztunnel error or Cilium drop reason matches %q (see 'meshdoctor codes')", shorten(query))
			}
			if err := kb.Render(g.streams.Out, es); err != nil {
				return err
			}
			return renderChecks(g.streams.Out, reg, es)
		},
	}
}

// renderChecks lists the checks the explanations name, with their names and
// summaries, in the order they first appear.
func renderChecks(w io.Writer, reg *analysis.Registry, es []kb.Explanation) error {
	seen := map[string]bool{}
	var b strings.Builder
	for _, e := range es {
		for _, c := range e.Codes {
			if seen[c] {
				continue
			}
			seen[c] = true
			if a := reg.Lookup(c); a != nil {
				fmt.Fprintf(&b, "- %s %s: %s\n", a.Code, a.Name, a.Summary)
			}
		}
	}
	if b.Len() == 0 {
		return nil
	}
	_, err := fmt.Fprintf(w, "\n## meshdoctor checks named above\n\n%s\nmeshdoctor explain CODE shows a check's documentation.\n", b.String())
	return err
}

// shorten keeps an echoed query to one readable line.
func shorten(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 120 {
		s = string(r[:120]) + "…"
	}
	return s
}
