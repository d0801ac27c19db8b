package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print meshdoctor's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, commit := g.build.resolve()
			_, err := fmt.Fprintf(g.streams.Out, "meshdoctor %s (commit %s, %s, %s/%s)\n", v, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}

// resolve fills an unset version and commit from the Go build info, and
// falls back to "dev" and "unknown".
func (b BuildInfo) resolve() (v, commit string) {
	v, commit = b.Version, b.Commit
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && commit == "" {
				commit = s.Value
			}
		}
	}
	if v == "" {
		v = "dev"
	}
	if commit == "" {
		commit = "unknown"
	}
	return v, commit
}
