package snapshot

import (
	"net/netip"

	"github.com/meshdoctor/meshdoctor/internal/conntrack"
	"github.com/meshdoctor/meshdoctor/internal/netfilter"
	"github.com/meshdoctor/meshdoctor/internal/netns"
)

// Node is one node's dataplane state: a bundle's nodes/<name>/ folder, or
// the loose files given to `meshdoctor node --input`.
type Node struct {
	Name string
	// Dir is where the node was read (a folder, an archive member prefix,
	// or "" for loose files); evidence names files, not this.
	Dir  string
	Meta NodeMeta
	// Procs is the process table; nil when it was not collected.
	Procs []Proc
	NetNS []*NetNS
	// Loose is set for loose files: one netns, host or pod as NetNS[0]
	// says, and no process table.
	Loose bool
}

// NodeMeta is nodes/<name>/meta.json.
type NodeMeta struct {
	Kernel     string
	ClockTicks int
	// HostNetNS identifies the node's own netns; zero when unknown.
	HostNetNS netns.NetNS
	// HostNetNSFrom says how: "proc/1", or "self" when PID 1 was unreadable.
	HostNetNSFrom string
	// Backends maps iptables-nft, iptables-legacy and nft to their versions.
	Backends map[string]string
}

// Proc is one process of the node.
type Proc struct {
	netns.Process
	Cmdline []string
	// NoFileSoft and NoFileHard are RLIMIT_NOFILE, FDs the open descriptors;
	// set for proxies only (HasLimits, HasFDs).
	NoFileSoft, NoFileHard uint64
	HasLimits              bool
	FDs                    int
	HasFDs                 bool
}

// NetNS is one network namespace of a node and what was read inside it.
type NetNS struct {
	ID netns.NetNS
	// Host is set for the node's own netns. For loose files HostAssumed
	// says why it was taken as host or pod ("" when the user said so).
	Host        bool
	HostAssumed string
	PIDs        []int
	Addrs       []netip.Addr
	// RuleSets are the iptables and nft dumps read, in file order.
	RuleSets  []*RuleSetFile
	Conntrack []*ConntrackFile
	// IPRules are `ip rule show` lines.
	IPRules []TextLine
	// Listeners are the listening sockets (listen.txt); nil when not read.
	Listeners []Listener
}

// Listener is one listening TCP or UDP socket of a netns.
type Listener struct {
	Proto string // "tcp" or "udp"
	// Addr is the bound address; invalid for a wildcard ("*", 0.0.0.0, ::).
	Addr netip.Addr
	Port uint16
	File string
	Line int
	Text string
}

// Loopback tells a socket bound to a loopback address only.
func (l Listener) Loopback() bool { return l.Addr.IsValid() && l.Addr.IsLoopback() }

// RuleSetFile is one rule dump and where it came from.
type RuleSetFile struct {
	File string
	// Backend is "nft" or "legacy" when the file name says (bundle dumps),
	// "" for a loose file.
	Backend string
	IPv6    bool
	Set     *netfilter.RuleSet
}

// ConntrackFile is one conntrack listing and where it came from.
type ConntrackFile struct {
	File string
	Dump *conntrack.Dump
}

// TextLine is one line of a text file, for evidence.
type TextLine struct {
	File string
	Line int
	Text string
}
