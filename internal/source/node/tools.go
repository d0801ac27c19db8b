package node

import (
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
func (c *collector) versions(ctx context.Context) (map[string]string, map[string]error) {
	out, errs := map[string]string{}, map[string]error{}
	for _, t := range backendTools {
		p, ok := c.tools[t]
		if !ok {
			continue
		}
		var b bytes.Buffer
		if err := c.run(ctx, &b, p, []string{"--version"}); err != nil {
			errs[t] = err
			continue
		}
		line, _, _ := bytes.Cut(b.Bytes(), []byte("\n"))
		out[t] = string(bytes.TrimSpace(line))
	}
	return out, errs
}

// firstLines joins up to three non-empty lines of a command's stderr, so
// an errors.txt entry stays one line.
func firstLines(b []byte) string {
	var out []byte
	n := 0
	for line := range bytes.Lines(b) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if n > 0 {
			out = append(out, " | "...)
		}
		out = append(out, line...)
		if n++; n == 3 {
			break
		}
	}
	return string(out)
}
