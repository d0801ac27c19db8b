// Package cli implements meshdoctor's commands, one file each, over the
// internal packages. Results go to stdout, logs (slog) to stderr.
package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
)

// Streams are the command's standard streams.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// ExitError carries an exit code out of a command.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// usageError is bad usage: exit code 2.
func usageError(format string, args ...any) error {
	return &ExitError{Code: 2, Err: fmt.Errorf(format, args...)}
}

// BuildInfo identifies the binary.
type BuildInfo struct {
	Version string
	Commit  string
}

type globals struct {
	streams  Streams
	build    BuildInfo
	verbose  bool
	logLevel string
	log      *slog.Logger
}

// NewRoot builds the command tree.
func NewRoot(s Streams, b BuildInfo) *cobra.Command {
	g := &globals{streams: s, build: b}
	root := &cobra.Command{
		Use:   "meshdoctor",
		Short: "Find and explain Kubernetes service-mesh and CNI networking failures",
		Long: `meshdoctor reads mesh configuration, Kubernetes objects, node dataplane state and
proxy logs, finds what breaks traffic, shows the evidence and gives the exact fix.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			lvl := slog.LevelWarn
			if g.verbose {
				lvl = slog.LevelInfo
			}
			if g.logLevel != "" {
				if err := lvl.UnmarshalText([]byte(g.logLevel)); err != nil {
					return usageError("--log-level %q: want debug, info, warn or error", g.logLevel)
				}
			}
			g.log = slog.New(slog.NewTextHandler(s.Err, &slog.HandlerOptions{Level: lvl}))
			return nil
		},
	}
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	root.PersistentFlags().BoolVarP(&g.verbose, "verbose", "v", false, "list skipped checks and unchecked inputs; log progress")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "", "stderr log level: debug, info, warn, error")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError("%v", err) })
	root.AddCommand(newAnalyzeCmd(g), newNodeCmd(g), newLogsCmd(g), newCodesCmd(g), newExplainCmd(g), newVersionCmd(g))
	return root
}

// Main runs the CLI and returns the process exit code.
func Main(args []string, s Streams, b BuildInfo) int {
	root := NewRoot(s, b)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintln(s.Err, "meshdoctor:", ee.Err)
		}
		return ee.Code
	}
	fmt.Fprintln(s.Err, "meshdoctor:", err)
	return 2
}

// isTerminal tells whether w is a character device (colour is then on,
// unless NO_COLOR is set).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
