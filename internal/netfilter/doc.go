// Package netfilter reads packet-filter rule dumps — `iptables-save` (and
// ip6tables-save, legacy or nft backend, with or without -c counters),
// `iptables -S`, and the parts of `nft list ruleset` that matter for
// meshes — into one rule model, and says which component owns each chain
// and rule (Istio sidecar, Istio ambient in-pod or host, mirrord, Cilium,
// kube-proxy, Calico, Flannel, Linkerd, Kuma).
//
// Parsers are pure functions over bytes. They never panic, keep every line
// they understand, and report each line they do not as a ParseError with
// its 1-based line number. Rule text, chain names and arguments are
// substrings of one copy of the input, so a dump of 200,000 rules costs a
// few allocations per thousand rules rather than per rule.
//
// The model keeps what checks need for evidence: the source line and its
// text, the table and chain, the parsed matches and target with their
// options, and helpers for the marks a rule reads and writes, the ports it
// matches and redirects to, and the chains it jumps to.
//
// Entry points: DetectFormat and Parse (by content), or ParseSave,
// ParseListRules and ParseNft. On a Rule: MarksRead, MarksWritten,
// DestPorts, MatchesDestPort, Redirect, JumpChain, Comment, Canonical and
// AppendCanonical (with GenericChainName to compare nodes). A RuleSet
// writes itself back as iptables-save text with AppendSave.
package netfilter
