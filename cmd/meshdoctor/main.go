// Command meshdoctor finds and explains Kubernetes service-mesh and CNI
// networking failures.
package main

import (
	"os"

	"github.com/meshdoctor/meshdoctor/internal/cli"
)

// version and commit are set with -ldflags "-X main.version=…".
var (
	version = ""
	commit  = ""
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, cli.BuildInfo{Version: version, Commit: commit}))
}
