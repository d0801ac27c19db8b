// Package nodedump reads node dataplane state: the nodes/<name>/ folders of a
// bundle (docs/bundle-format.md) and the loose files users ran on a node
// (iptables-save, iptables -S, nft list ruleset, conntrack -L, ip rule).
package nodedump

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/conntrack"
	"github.com/meshdoctor/meshdoctor/internal/netfilter"
	"github.com/meshdoctor/meshdoctor/internal/netns"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/source/files"
)

// Result is what a read produced: the nodes, the problems of the input
// (file:line and why), and the collection steps the dump says failed.
type Result struct {
	Nodes          []*snapshot.Node
	Errors         []files.InputError
	CollectionGaps []string // "node worker-1: iptables-legacy-save: not installed"
}

// Read builds one node per nodes/<name>/ folder among a bundle's members
// (files.BundleMembers(p, "nodes")).
func Read(members []files.Member) Result {
	byNode := map[string][]files.Member{}
	var names []string
	for _, m := range members {
		parts := strings.SplitN(m.Rel, "/", 3)
		if len(parts) < 3 || parts[0] != "nodes" {
			continue
		}
		if _, ok := byNode[parts[1]]; !ok {
			names = append(names, parts[1])
		}
		byNode[parts[1]] = append(byNode[parts[1]], m)
	}
	sort.Strings(names)
	var res Result
	for _, name := range names {
		r := nodeReader{node: &snapshot.Node{Name: name}, res: &res}
		r.read(byNode[name])
		res.Nodes = append(res.Nodes, r.node)
	}
	return res
}

type nodeReader struct {
	node  *snapshot.Node
	res   *Result
	netns map[uint64]*snapshot.NetNS
	// nsMeta marks the netns folders whose meta.json was read.
	nsMeta map[uint64]bool
}

func (r *nodeReader) errorf(file string, line int, format string, args ...any) {
	r.res.Errors = append(r.res.Errors, files.InputError{Pos: snapshot.Position{File: file, Line: line}, Msg: fmt.Sprintf(format, args...)})
}

func (r *nodeReader) read(members []files.Member) {
	r.netns = map[uint64]*snapshot.NetNS{}
	r.nsMeta = map[uint64]bool{}
	// meta.json first: it says which netns is the host's.
	sort.SliceStable(members, func(i, j int) bool { return rank(members[i].Rel) < rank(members[j].Rel) })
	for _, m := range members {
		rel := strings.SplitN(m.Rel, "/", 3)[2] // below nodes/<name>/
		if r.node.Dir == "" {
			r.node.Dir = strings.TrimSuffix(m.Name, rel)
		}
		switch {
		case rel == "meta.json":
			r.readMeta(m)
		case rel == "procs.json":
			r.readProcs(m)
		case rel == "errors.txt":
			for _, l := range strings.Split(strings.TrimSpace(string(m.Data)), "\n") {
				if l = strings.TrimSpace(l); l != "" {
					r.res.CollectionGaps = append(r.res.CollectionGaps, fmt.Sprintf("node %s: %s", r.node.Name, l))
				}
			}
		case strings.HasPrefix(rel, "netns/"):
			r.readNetNSFile(m, strings.TrimPrefix(rel, "netns/"))
		}
	}
	for _, ns := range r.netns {
		if !r.nsMeta[ns.ID.Inode] && r.node.Meta.HostNetNS.Inode != 0 {
			ns.Host = ns.ID == r.node.Meta.HostNetNS || ns.ID.Dev == 0 && ns.ID.Inode == r.node.Meta.HostNetNS.Inode
		}
		r.node.NetNS = append(r.node.NetNS, ns)
	}
	sort.Slice(r.node.NetNS, func(i, j int) bool {
		a, b := r.node.NetNS[i], r.node.NetNS[j]
		if a.Host != b.Host {
			return a.Host
		}
		return a.ID.Inode < b.ID.Inode
	})
}

func rank(rel string) int {
	switch path.Base(rel) {
	case "meta.json":
		if strings.Count(rel, "/") == 2 {
			return 0 // the node's
		}
		return 1 // a netns's
	}
	return 2
}

type jsonNetNS struct {
	Inode uint64 `json:"inode"`
	Dev   uint64 `json:"dev"`
}

func (j jsonNetNS) id() netns.NetNS { return netns.NetNS{Inode: j.Inode, Dev: j.Dev} }

func (r *nodeReader) readMeta(m files.Member) {
	var meta struct {
		Node          string            `json:"node"`
		Kernel        string            `json:"kernel"`
		ClockTicks    int               `json:"clockTicks"`
		HostNetns     jsonNetNS         `json:"hostNetns"`
		HostNetnsFrom string            `json:"hostNetnsFrom"`
		Backends      map[string]string `json:"backends"`
	}
	if err := json.Unmarshal(m.Data, &meta); err != nil {
		r.errorf(m.Name, jsonLine(m.Data, err), "node meta.json: %v", err)
		return
	}
	r.node.Meta = snapshot.NodeMeta{Kernel: meta.Kernel, ClockTicks: meta.ClockTicks, HostNetNS: meta.HostNetns.id(), HostNetNSFrom: meta.HostNetnsFrom, Backends: meta.Backends}
}

func (r *nodeReader) readProcs(m files.Member) {
	var procs []struct {
		PID       int        `json:"pid"`
		PPID      int        `json:"ppid"`
		Comm      string     `json:"comm"`
		Cmdline   []string   `json:"cmdline"`
		StartTime uint64     `json:"startTime"`
		NetNS     *jsonNetNS `json:"netns"`
		Cgroup    []string   `json:"cgroup"`
		NoFile    *struct {
			Soft uint64 `json:"soft"`
			Hard uint64 `json:"hard"`
		} `json:"nofile"`
		FDs *int `json:"fds"`
	}
	if err := json.Unmarshal(m.Data, &procs); err != nil {
		r.errorf(m.Name, jsonLine(m.Data, err), "procs.json: %v", err)
		return
	}
	r.node.Procs = make([]snapshot.Proc, 0, len(procs))
	for _, p := range procs {
		sp := snapshot.Proc{Process: netns.Process{PID: p.PID, PPID: p.PPID, Comm: p.Comm, StartTime: p.StartTime, CgroupLines: p.Cgroup}, Cmdline: p.Cmdline}
		if p.NetNS != nil {
			sp.NetNS = p.NetNS.id()
		}
		if p.NoFile != nil {
			sp.NoFileSoft, sp.NoFileHard, sp.HasLimits = p.NoFile.Soft, p.NoFile.Hard, true
		}
		if p.FDs != nil {
			sp.FDs, sp.HasFDs = *p.FDs, true
		}
		r.node.Procs = append(r.node.Procs, sp)
	}
}

// readNetNSFile reads "<inode>/<file>" of the node's netns folder.
func (r *nodeReader) readNetNSFile(m files.Member, rel string) {
	dir, file, ok := strings.Cut(rel, "/")
	inode, err := strconv.ParseUint(dir, 10, 64)
	if !ok || err != nil {
		r.errorf(m.Name, 0, "netns folders are named by inode, not %q", dir)
		return
	}
	ns := r.netns[inode]
	if ns == nil {
		ns = &snapshot.NetNS{ID: netns.NetNS{Inode: inode}}
		r.netns[inode] = ns
	}
	switch file {
	case "meta.json":
		var meta struct {
			jsonNetNS
			Host  bool     `json:"host"`
			PIDs  []int    `json:"pids"`
			Addrs []string `json:"addrs"`
		}
		if err := json.Unmarshal(m.Data, &meta); err != nil {
			r.errorf(m.Name, jsonLine(m.Data, err), "netns meta.json: %v", err)
			return
		}
		r.nsMeta[inode] = true
		ns.ID.Dev, ns.Host, ns.PIDs = meta.Dev, meta.Host, meta.PIDs
		for _, a := range meta.Addrs {
			addr, err := netip.ParseAddr(a)
			if err != nil {
				r.errorf(m.Name, 0, "netns meta.json: address %q: %v", a, err)
				continue
			}
			ns.Addrs = append(ns.Addrs, addr)
		}
	case "iptables-save.nft.txt", "iptables-save.legacy.txt", "ip6tables-save.nft.txt", "ip6tables-save.legacy.txt":
		backend := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(file, "ip6tables-save."), "iptables-save."), ".txt")
		set := netfilter.ParseSave(m.Data)
		addRuleErrors(&r.res.Errors, m.Name, set)
		ns.RuleSets = append(ns.RuleSets, &snapshot.RuleSetFile{File: m.Name, Backend: backend, IPv6: strings.HasPrefix(file, "ip6"), Set: set})
	case "nft.txt":
		set := netfilter.ParseNft(m.Data)
		addRuleErrors(&r.res.Errors, m.Name, set)
		ns.RuleSets = append(ns.RuleSets, &snapshot.RuleSetFile{File: m.Name, Backend: "nft", Set: set})
	case "conntrack.txt":
		d := conntrack.Parse(m.Data)
		addConntrackErrors(&r.res.Errors, m.Name, d)
		ns.Conntrack = append(ns.Conntrack, &snapshot.ConntrackFile{File: m.Name, Dump: d})
	case "ip-rule.txt":
		ns.IPRules = append(ns.IPRules, textLines(m.Name, m.Data)...)
	case "listen.txt":
		ls, errs := parseListen(m.Name, m.Data)
		r.res.Errors = append(r.res.Errors, errs...)
		// Non-nil once read, even when empty: "listens on nothing".
		ns.Listeners = append(append([]snapshot.Listener{}, ns.Listeners...), ls...)
	}
}

func addRuleErrors(out *[]files.InputError, file string, set *netfilter.RuleSet) {
	for _, e := range set.Errors {
		*out = append(*out, files.InputError{Pos: snapshot.Position{File: file, Line: e.Line}, Msg: e.Reason})
	}
	if set.MoreErrors > 0 {
		*out = append(*out, files.InputError{Pos: snapshot.Position{File: file}, Msg: fmt.Sprintf("%d more unreadable lines", set.MoreErrors)})
	}
}

func addConntrackErrors(out *[]files.InputError, file string, d *conntrack.Dump) {
	for _, e := range d.Errors {
		*out = append(*out, files.InputError{Pos: snapshot.Position{File: file, Line: e.Line}, Msg: e.Err.Error()})
	}
	if d.ErrorsDropped > 0 {
		*out = append(*out, files.InputError{Pos: snapshot.Position{File: file}, Msg: fmt.Sprintf("%d more unreadable lines", d.ErrorsDropped)})
	}
}

func textLines(file string, data []byte) []snapshot.TextLine {
	var out []snapshot.TextLine
	for i, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimRight(l, "\r"); strings.TrimSpace(l) != "" {
			out = append(out, snapshot.TextLine{File: file, Line: i + 1, Text: l})
		}
	}
	return out
}

// jsonLine returns the line of a JSON syntax error, or 0.
func jsonLine(data []byte, err error) int {
	var off int64
	switch e := err.(type) {
	case *json.SyntaxError:
		off = e.Offset
	case *json.UnmarshalTypeError:
		off = e.Offset
	default:
		return 0
	}
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	return 1 + strings.Count(string(data[:off]), "\n")
}
