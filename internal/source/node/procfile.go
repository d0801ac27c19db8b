package node

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"
)

// fileReader reads small /proc files into one reused buffer: procfs
// reports a size of 0, so os.ReadFile would start small and grow for
// every file of every process.
type fileReader struct {
	buf []byte
}

// read returns the file's content, valid until the next read.
func (r *fileReader) read(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if r.buf == nil {
		r.buf = make([]byte, 0, 4096)
	}
	b := r.buf[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := f.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			r.buf = b
			return nil, err
		}
		if n == 0 {
			break
		}
	}
	r.buf = b
	return b, nil
}

// vanished reports an error that means the process exited during the
// scan: its directory is gone (ENOENT) or its task is (ESRCH, from a read
// of a file opened just before).
func vanished(err error) bool {
	return errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ESRCH)
}

// statFields are the fields of /proc/PID/stat that procs.json keeps.
type statFields struct {
	comm      string
	ppid      int
	startTime uint64
}

// parseStat reads /proc/PID/stat. comm is between the first '(' and the
// last ')' (it may itself hold parentheses and spaces); the numbered
// fields are counted after the last ')': state is field 3, ppid 4 and
// starttime 22.
func parseStat(b []byte) (statFields, error) {
	open := bytes.IndexByte(b, '(')
	closing := bytes.LastIndexByte(b, ')')
	if open < 0 || closing < open {
		return statFields{}, fmt.Errorf("stat %q: no (comm)", truncate(b))
	}
	s := statFields{comm: string(b[open+1 : closing])}
	rest := b[closing+1:]
	field := 2
	var ppid, start []byte
	for len(rest) > 0 && start == nil {
		for len(rest) > 0 && rest[0] == ' ' {
			rest = rest[1:]
		}
		end := bytes.IndexByte(rest, ' ')
		if end < 0 {
			end = len(rest)
		}
		field++
		switch field {
		case 4:
			ppid = rest[:end]
		case 22:
			start = bytes.TrimRight(rest[:end], "\n")
		}
		rest = rest[end:]
	}
	if start == nil {
		return statFields{}, fmt.Errorf("stat %q: fewer than 22 fields", truncate(b))
	}
	p, err := strconv.Atoi(string(ppid))
	if err != nil {
		return statFields{}, fmt.Errorf("stat: ppid: %w", err)
	}
	st, err := strconv.ParseUint(string(start), 10, 64)
	if err != nil {
		return statFields{}, fmt.Errorf("stat: starttime: %w", err)
	}
	s.ppid, s.startTime = p, st
	return s, nil
}

// splitNul splits /proc/PID/cmdline into its arguments. The kernel ends
// each with a NUL; a process that rewrote its arguments may leave none.
func splitNul(b []byte) []string {
	out := []string{}
	for len(b) > 0 {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			out = append(out, string(b))
			break
		}
		out = append(out, string(b[:i]))
		b = b[i+1:]
	}
	return out
}

// splitLines splits /proc/PID/cgroup into its lines, verbatim.
func splitLines(b []byte) []string {
	out := []string{}
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			out = append(out, string(b))
			break
		}
		out = append(out, string(b[:i]))
		b = b[i+1:]
	}
	return out
}

// rlimInfinity is RLIM_INFINITY, which /proc/PID/limits prints as
// "unlimited".
const rlimInfinity = ^uint64(0)

// parseNofile finds "Max open files  <soft>  <hard>  files" in
// /proc/PID/limits.
func parseNofile(b []byte) (Limit, error) {
	const name = "Max open files"
	for line := range bytes.Lines(b) {
		rest, ok := bytes.CutPrefix(line, []byte(name))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) < 2 {
			return Limit{}, fmt.Errorf("limits: %q: want soft and hard values", truncate(line))
		}
		soft, err := parseLimit(f[0])
		if err != nil {
			return Limit{}, err
		}
		hard, err := parseLimit(f[1])
		if err != nil {
			return Limit{}, err
		}
		return Limit{Soft: soft, Hard: hard}, nil
	}
	return Limit{}, errors.New("limits: no \"Max open files\" line")
}

func parseLimit(b []byte) (uint64, error) {
	if string(b) == "unlimited" {
		return rlimInfinity, nil
	}
	v, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("limits: open files: %w", err)
	}
	return v, nil
}

// truncate shortens content quoted in an error.
func truncate(b []byte) []byte {
	const n = 80
	if len(b) > n {
		return b[:n]
	}
	return b
}
