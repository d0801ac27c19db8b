package node

// The JSON files of the node part. Field names and meanings follow
// docs/bundle-format.md.

// NetnsID identifies a network namespace: the inode and device of its
// nsfs file, as stat(2) on /proc/PID/ns/net reports them.
type NetnsID struct {
	Inode uint64 `json:"inode"`
	Dev   uint64 `json:"dev"`
}

// Meta is nodes/<name>/meta.json.
type Meta struct {
	Node       string `json:"node"`
	Collected  string `json:"collected"`
	Tool       string `json:"tool"`
	Kernel     string `json:"kernel"`
	BootTime   string `json:"bootTime,omitempty"`
	ClockTicks int    `json:"clockTicks"`
	// HostNetns is absent when no host netns could be read at all.
	HostNetns *NetnsID `json:"hostNetns,omitempty"`
	// HostNetnsFrom is "proc/1", "self", or the path given as
	// Options.HostNetNS.
	HostNetnsFrom string `json:"hostNetnsFrom,omitempty"`
	// Backends maps a tool (iptables-nft, iptables-legacy, nft) to the
	// first line of its --version; a tool that is absent is left out.
	Backends map[string]string `json:"backends"`
}

// Proc is one entry of procs.json.
type Proc struct {
	PID       int      `json:"pid"`
	PPID      int      `json:"ppid"`
	Comm      string   `json:"comm"`
	Cmdline   []string `json:"cmdline"`
	StartTime uint64   `json:"startTime"`
	Netns     *NetnsID `json:"netns,omitempty"`
	Cgroup    []string `json:"cgroup"`
	// Nofile and FDs are read for proxies only (see proxyComms).
	Nofile *Limit `json:"nofile,omitempty"`
	FDs    *int   `json:"fds,omitempty"`
}

// Limit is a soft and hard resource limit; unlimited is RLIM_INFINITY,
// 18446744073709551615, as getrlimit(2) reports it.
type Limit struct {
	Soft uint64 `json:"soft"`
	Hard uint64 `json:"hard"`
}

// NetnsMeta is netns/<inode>/meta.json.
type NetnsMeta struct {
	Inode uint64 `json:"inode"`
	Dev   uint64 `json:"dev"`
	Host  bool   `json:"host"`
	PIDs  []int  `json:"pids"`
	// Addrs is absent (nil) when the addresses could not be read, [] when
	// the netns has none.
	Addrs []string `json:"addrs,omitzero"`
}
