// Package node collects one node's dataplane state into the bundle's node
// part (docs/bundle-format.md, "The node part"): every process with its
// netns and cgroup, and for each distinct network namespace its rule sets
// (iptables and ip6tables through both backends, nft), conntrack table,
// policy routing, ipsets, listening sockets and addresses.
//
// The /proc scan reads files directly rather than through
// github.com/prometheus/procfs: it needs a netns's inode *and* device (a
// stat of ns/net, which procfs does not offer), cgroup lines verbatim
// (procfs parses them), and one reusable buffer to scan thousands of
// processes quickly; and any directory can stand in for /proc.
//
// Work inside a netns runs on a dedicated, locked OS thread that joins the
// netns with setns and is thrown away afterwards (the goroutine exits
// locked), so the tool's other threads never change namespace. Commands
// are forked from that thread and so start inside the netns, as nsenter
// would start them, without needing nsenter. The conntrack table and the
// interface addresses are read over netlink sockets opened on that thread
// (github.com/ti-mo/conntrack, printed by internal/conntrack/ctflow as
// `conntrack -L -o id` prints; the standard library's address list).
// listen.txt is `ss -Hltun` run the same way (sock_diag over netlink), so
// it is the netns's own view, not a reconstruction from /proc/PID/net.
package node
