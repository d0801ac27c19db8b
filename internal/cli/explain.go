package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/meshdoctor/meshdoctor/internal/analyzers/all"
)

func newExplainCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "explain CODE|NAME",
		Short:   "Show the documentation of a check",
		Example: "  meshdoctor explain MD101\n  meshdoctor explain env-ref-missing",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			reg, err := all.Registry()
			if err != nil {
				return err
			}
			a := reg.Lookup(args[0])
			if a == nil {
				return usageError("no check with code or name %q (see 'meshdoctor codes')", args[0])
			}
			_, err = fmt.Fprint(g.streams.Out, a.Markdown())
			return err
		},
	}
}
