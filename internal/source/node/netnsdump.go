package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// netnsJob is one network namespace to dump.
type netnsJob struct {
	id   NetnsID
	host bool
	// paths are files that enter it, tried in order until one is still
	// this netns.
	paths []string
	pids  []int
}

// dumpNetns writes netns/<inode>/. Failed steps go to c.errs; the error
// returned is an *outputError, when the dump itself cannot be written.
func (c *collector) dumpNetns(ctx context.Context, job netnsJob) error {
	name := strconv.FormatUint(job.id.Inode, 10)
	dir := filepath.Join(c.dir, "netns", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return &outputError{err}
	}
	meta := NetnsMeta{Inode: job.id.Inode, Dev: job.id.Dev, Host: job.host, PIDs: job.pids}
	if meta.PIDs == nil {
		meta.PIDs = []int{}
	}
	step := func(file string) string { return "netns/" + name + "/" + file }
	f, err := openNetns(job.paths, job.id)
	if err != nil {
		c.errs.add("netns/"+name, err)
		return writeJSON(filepath.Join(dir, "meta.json"), meta, true)
	}
	defer f.Close()
	err = inNetns(f, func() error {
		for _, s := range netnsSteps {
			if err := c.runStep(ctx, dir, s, step(s.file)); err != nil {
				return err
			}
		}
		if err := c.writeStep(step("conntrack.txt"), filepath.Join(dir, "conntrack.txt"), writeConntrack); err != nil {
			return err
		}
		if addrs, err := interfaceAddrs(); err != nil {
			c.errs.add(step("meta.json"), err)
		} else {
			meta.Addrs = addrs
		}
		return nil
	})
	var out *outputError
	if errors.As(err, &out) {
		return err
	}
	if err != nil {
		c.errs.add("netns/"+name, err)
	}
	return writeJSON(filepath.Join(dir, "meta.json"), meta, true)
}

// runStep runs one step's command(s) into its file. A program found
// missing before the collection was reported once then; here it is
// skipped.
func (c *collector) runStep(ctx context.Context, dir string, s step, name string) error {
	bin, ok := c.tools[s.argv[0]]
	if !ok {
		return nil
	}
	return c.writeStep(name, filepath.Join(dir, s.file), func(w io.Writer) error {
		if err := c.run(ctx, w, bin, s.argv[1:]); err != nil {
			return fmt.Errorf("%s: %w", strings.Join(s.argv, " "), err)
		}
		if s.then == nil {
			return nil
		}
		// The second command's failure (IPv6 off: "Address family not
		// supported") keeps the first one's output.
		if err := c.run(ctx, w, c.tools[s.then[0]], s.then[1:]); err != nil {
			c.errs.add(name, fmt.Errorf("%s: %w", strings.Join(s.then, " "), err))
		}
		return nil
	})
}

// run runs a program with its output into w; the caller's thread (and so
// the child) is in the netns to read.
func (c *collector) run(ctx context.Context, w io.Writer, bin string, args []string) error {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	// Untranslated messages, as the readers of the dump expect.
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.Stdout = w
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if s := firstLines(stderr.Bytes()); s != "" {
			return fmt.Errorf("%w: %s", err, s)
		}
		return err
	}
	return nil
}

// outputError is a failure to write the dump itself; it ends Collect.
type outputError struct{ err error }

func (e *outputError) Error() string { return e.err.Error() }
func (e *outputError) Unwrap() error { return e.err }

// writeStep creates path and fills it. When fill fails the file is
// removed, as the format says a failed step leaves no file, and the
// failure is recorded under step.
func (c *collector) writeStep(step, path string, fill func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return &outputError{err}
	}
	ferr := fill(f)
	if err := f.Close(); err != nil && ferr == nil {
		return &outputError{err}
	}
	if ferr == nil {
		return nil
	}
	var out *outputError
	if errors.As(ferr, &out) {
		return ferr
	}
	c.errs.add(step, ferr)
	if err := os.Remove(path); err != nil {
		return &outputError{err}
	}
	return nil
}

// interfaceAddrs lists the addresses of the calling thread's netns: the
// standard library asks netlink on the calling thread.
func interfaceAddrs() ([]string, error) {
	as, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("interface addresses: %w", err)
	}
	out := []string{}
	for _, a := range as {
		switch a := a.(type) {
		case *net.IPNet:
			out = append(out, a.IP.String())
		case *net.IPAddr:
			out = append(out, a.IP.String())
		}
	}
	return out, nil
}
