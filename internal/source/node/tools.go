package node

import (
	"bufio"
	"bytes"
	"context"
	"os/exec"
	"time"
)

// step is one command whose output is one file of a netns folder.
type step struct {
	file string
	argv []string
	// then runs after argv into the same file (ip -6 rule show after
	// ip rule show); its failure keeps what argv wrote.
	then []string
}

// netnsSteps are the files of netns/<inode>/ that commands write, in the
// order of docs/bundle-format.md. conntrack.txt and meta.json are written
// from netlink instead.
var netnsSteps = []step{
	{file: "iptables-save.nft.txt", argv: []string{"iptables-nft-save", "-c"}},
	{file: "iptables-save.legacy.txt", argv: []string{"iptables-legacy-save", "-c"}},
	{file: "ip6tables-save.nft.txt", argv: []string{"ip6tables-nft-save", "-c"}},
	{file: "ip6tables-save.legacy.txt", argv: []string{"ip6tables-legacy-save", "-c"}},
	{file: "nft.txt", argv: []string{"nft", "list", "ruleset"}},
	{file: "ip-rule.txt", argv: []string{"ip", "rule", "show"}, then: []string{"ip", "-6", "rule", "show"}},
	{file: "ip-route.txt", argv: []string{"ip", "route", "show", "table", "all"}},
	{file: "ipset.txt", argv: []string{"ipset", "save"}},
	{file: "listen.txt", argv: []string{"ss", "-Hltun"}},
}

// backendTools are meta.json's "backends": each tool's --version.
var backendTools = []string{"iptables-nft", "iptables-legacy", "nft"}

// commandTimeout bounds one command: a kube-proxy iptables-save of a large
// cluster takes seconds, a hung one must not stop the collection.
const commandTimeout = 2 * time.Minute

// lookTools resolves each program once: a missing one is reported once in
// errors.txt, not once per netns.
func lookTools() (paths map[string]string, missing map[string]error) {
	paths, missing = map[string]string{}, map[string]error{}
	look := func(name string) {
		if _, done := paths[name]; done {
			return
		}
		if _, done := missing[name]; done {
			return
		}
		if p, err := exec.LookPath(name); err == nil {
			paths[name] = p
		} else {
			missing[name] = err
		}
	}
	for _, s := range netnsSteps {
		look(s.argv[0])
	}
	for _, t := range backendTools {
		look(t)
	}
	return paths, missing
}

// versions runs `<tool> --version` for each backend that is present and
// keeps the first line.
func versions(ctx context.Context, paths map[string]string) (map[string]string, map[string]error) {
	out, errs := map[string]string{}, map[string]error{}
	for _, t := range backendTools {
		p, ok := paths[t]
		if !ok {
			continue
		}
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		b, err := exec.CommandContext(ctx, p, "--version").Output()
		cancel()
		if err != nil {
			errs[t] = commandError(err)
			continue
		}
		line, _, _ := bytes.Cut(b, []byte("\n"))
		out[t] = string(bytes.TrimSpace(line))
	}
	return out, errs
}

// commandError adds the start of a failed command's stderr to its error.
func commandError(err error) error {
	ee, ok := err.(*exec.ExitError)
	if !ok || len(ee.Stderr) == 0 {
		return err
	}
	return &stderrError{err: err, stderr: firstLines(ee.Stderr)}
}

type stderrError struct {
	err    error
	stderr string
}

func (e *stderrError) Error() string { return e.err.Error() + ": " + e.stderr }
func (e *stderrError) Unwrap() error { return e.err }

// firstLines joins up to three non-empty lines of a command's stderr, so
// an errors.txt entry stays one line.
func firstLines(b []byte) string {
	var out []byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 0; n < 3 && sc.Scan(); {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if len(out) > 0 {
			out = append(out, " | "...)
		}
		out = append(out, line...)
		n++
	}
	return string(out)
}
