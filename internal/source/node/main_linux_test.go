//go:build linux

package node

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/testnetns"
)

func TestMain(m *testing.M) {
	testnetns.RunHelper(map[string]testnetns.Helper{"collect": collectHelper})
	os.Exit(m.Run())
}

// collectHelper runs Collect where a test node put it (inside the node's
// PID, mount and network namespaces) and prints the step errors.
func collectHelper(args []string) error {
	fs := flag.NewFlagSet("collect", flag.ContinueOnError)
	dir := fs.String("dir", "", "node folder to write")
	hostNetns := fs.String("host-netns", "", "Options.HostNetNS")
	if err := fs.Parse(args); err != nil {
		return err
	}
	errs, err := Collect(context.Background(), Options{
		HostNetNS: *hostNetns,
		NodeName:  "mdtest-node",
		Tool:      "meshdoctor test",
		Log:       slog.New(slog.NewTextHandler(os.Stderr, nil)),
	}, *dir)
	for _, e := range errs {
		fmt.Println(e)
	}
	return err
}
