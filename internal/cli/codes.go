package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/meshdoctor/meshdoctor/internal/analyzers/all"
)

func newCodesCmd(g *globals) *cobra.Command {
	var markdownDir, output string
	cmd := &cobra.Command{
		Use:   "codes",
		Short: "List every check: code, name, severity and summary",
		Example: `  meshdoctor codes
  meshdoctor codes -o json
  meshdoctor codes --markdown docs/codes    # (re)generate the doc pages`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			reg, err := all.Registry()
			if err != nil {
				return err
			}
			if markdownDir != "" {
				if err := os.MkdirAll(markdownDir, 0o755); err != nil {
					return err
				}
				for _, a := range reg.All() {
					if err := os.WriteFile(filepath.Join(markdownDir, a.Code+".md"), []byte(a.Markdown()), 0o644); err != nil {
						return err
					}
				}
				fmt.Fprintf(g.streams.Out, "wrote %d pages to %s\n", len(reg.All()), markdownDir)
				return nil
			}
			switch output {
			case "json":
				type row struct {
					Code, Name, Severity, Summary string
				}
				var rows []row
				for _, a := range reg.All() {
					rows = append(rows, row{a.Code, a.Name, a.Severity.String(), a.Summary})
				}
				enc := json.NewEncoder(g.streams.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			case "text":
				tw := tabwriter.NewWriter(g.streams.Out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "CODE\tNAME\tSEVERITY\tSUMMARY")
				for _, a := range reg.All() {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.Code, a.Name, a.Severity, a.Summary)
				}
				return tw.Flush()
			}
			return usageError("--output %q: want text or json", output)
		},
	}
	cmd.Flags().StringVar(&markdownDir, "markdown", "", "write one Markdown page per check into this directory")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}
