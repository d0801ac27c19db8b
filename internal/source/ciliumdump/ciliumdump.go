// Package ciliumdump reads the output of Cilium and Hubble commands into
// snapshot records: a bundle's cilium/<node>/<command>.txt|json files, and
// files a user saved by hand (hubble observe -o json > flows.json) given
// loose, recognised by their content.
package ciliumdump

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/cilium"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/source/files"
)

// Read turns the members of a bundle's cilium/ folder into command
// outputs. A member not laid out as cilium/<node>/<file>, or whose content
// is not the output of a known command, is an input error; the lines a
// parser could not read are input errors with their line numbers, and the
// rest of the file is kept.
func Read(members []files.Member) ([]*snapshot.CiliumOutput, []files.InputError) {
	var outs []*snapshot.CiliumOutput
	var errs []files.InputError
	for _, m := range members {
		parts := strings.Split(m.Rel, "/")
		if len(parts) != 3 || parts[0] != "cilium" || parts[1] == "" || parts[2] == "" {
			errs = append(errs, files.InputError{Pos: snapshot.Position{File: m.Name}, Msg: "not a Cilium command's output: bundle files are cilium/<node>/<command>.txt|json"})
			continue
		}
		out, es := parse(m.Name, parts[1], m.Data)
		if out != nil {
			outs = append(outs, out)
		}
		errs = append(errs, es...)
	}
	return outs, errs
}

// Recognise tells whether data (a loose file's first bytes are enough) is
// the output of a Cilium or Hubble command this package reads.
func Recognise(data []byte) bool { return cilium.Detect(data) != cilium.KindUnknown }

// ReadLoose reads one file given loose; its node is unknown.
func ReadLoose(name string, data []byte) (*snapshot.CiliumOutput, []files.InputError) {
	return parse(name, "", data)
}

func parse(name, node string, data []byte) (*snapshot.CiliumOutput, []files.InputError) {
	out, perrs := cilium.Parse(cilium.KindUnknown, name, data)
	var errs []files.InputError
	for _, err := range perrs {
		var le *cilium.LineError
		switch {
		case errors.As(err, &le):
			msg := le.Err.Error()
			if le.Text != "" {
				msg = fmt.Sprintf("%s: %q", msg, le.Text)
			}
			errs = append(errs, files.InputError{Pos: snapshot.Position{File: name, Line: le.Line}, Msg: msg})
		case errors.Is(err, cilium.ErrUnrecognised):
			errs = append(errs, files.InputError{Pos: snapshot.Position{File: name}, Msg: "not recognised as the output of hubble observe, cilium monitor, endpoint list, bpf policy get, bpf ct list or status"})
		default:
			errs = append(errs, files.InputError{Pos: snapshot.Position{File: name}, Msg: err.Error()})
		}
	}
	if out == nil {
		return nil, errs
	}
	return snapshot.NewCiliumOutput(name, node, out, data), errs
}

// detectBytes is how much of a loose file Recognise needs.
const detectBytes = 64 << 10

// SplitLoose takes from paths the plain files (not directories, archives
// or stdin) whose content is a Cilium or Hubble command's output, reads
// them, and returns the other paths for the manifest loader. A file that
// cannot be read stays in rest, where the loader reports why.
func SplitLoose(paths []string) (rest []string, outs []*snapshot.CiliumOutput, errs []files.InputError) {
	for _, p := range paths {
		if p == "-" || isArchive(p) || isManifestYAML(p) {
			rest = append(rest, p)
			continue
		}
		head, err := readHead(p)
		if err != nil || !Recognise(head) {
			rest = append(rest, p)
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			rest = append(rest, p)
			continue
		}
		out, es := ReadLoose(p, data)
		if out != nil {
			outs = append(outs, out)
		}
		errs = append(errs, es...)
	}
	return rest, outs, errs
}

// readHead reads the start of a regular file; directories and other
// special files give an error.
func readHead(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", p)
	}
	buf := make([]byte, detectBytes)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf[:n], nil
}

func isArchive(p string) bool {
	l := strings.ToLower(p)
	return strings.HasSuffix(l, ".tar.gz") || strings.HasSuffix(l, ".tgz")
}

// isManifestYAML: YAML files are manifests; Cilium's tools print tables,
// text and JSON.
func isManifestYAML(p string) bool {
	l := strings.ToLower(p)
	return strings.HasSuffix(l, ".yaml") || strings.HasSuffix(l, ".yml")
}
