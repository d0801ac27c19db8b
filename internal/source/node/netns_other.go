//go:build !linux

package node

import (
	"errors"
	"io"
	"os"
)

var errNotLinux = errors.New("network namespaces need Linux")

func inNetns(*os.File, func() error) error { return errNotLinux }

func openNetns([]string, NetnsID) (*os.File, error) { return nil, errNotLinux }

func writeConntrack(io.Writer) error { return errNotLinux }
