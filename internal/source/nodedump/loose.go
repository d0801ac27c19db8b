package nodedump

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/conntrack"
	"github.com/meshdoctor/meshdoctor/internal/netfilter"
	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/source/files"
)

// LooseFile is one file a user ran on a node, by name and content.
type LooseFile struct {
	Name string
	Data []byte
}

// NetNSKind says what netns loose files come from.
type NetNSKind string

// The kinds: as the user says, or inferred from the rule sets.
const (
	NetNSInfer NetNSKind = ""
	NetNSHost  NetNSKind = "host"
	NetNSPod   NetNSKind = "pod"
)

// ipRuleRE recognises `ip rule show` lines: "32764:	from all fwmark 0x111/0xfff lookup 100".
var ipRuleRE = regexp.MustCompile(`^\d+:\s+(not\s+)?from\s`)

// ReadLoose recognises each file by its content and builds one node with
// one netns from them; kind says whether it is the node's own netns or a
// pod's, else the rule sets decide (and NetNS.HostAssumed says how).
func ReadLoose(in []LooseFile, kind NetNSKind) Result {
	var res Result
	ns := &snapshot.NetNS{}
	for _, f := range in {
		switch {
		case conntrack.Looks(f.Data):
			d := conntrack.Parse(f.Data)
			addConntrackErrors(&res.Errors, f.Name, d)
			ns.Conntrack = append(ns.Conntrack, &snapshot.ConntrackFile{File: f.Name, Dump: d})
		case looksLikeIPRule(f.Data):
			ns.IPRules = append(ns.IPRules, textLines(f.Name, f.Data)...)
		default:
			var set *netfilter.RuleSet
			switch netfilter.DetectFormat(f.Data) {
			case netfilter.FormatSave:
				set = netfilter.ParseSave(f.Data)
			case netfilter.FormatNft:
				set = netfilter.ParseNft(f.Data)
			case netfilter.FormatListRules:
				set = netfilter.ParseListRules(f.Data, listRulesTable(f.Name, f.Data))
			default:
				res.Errors = append(res.Errors, files.InputError{Pos: snapshot.Position{File: f.Name}, Msg: "not recognised: expected the output of iptables-save, iptables -S, nft list ruleset, conntrack -L or ip rule show"})
				continue
			}
			addRuleErrors(&res.Errors, f.Name, set)
			ns.RuleSets = append(ns.RuleSets, &snapshot.RuleSetFile{File: f.Name, Backend: saveBackend(f.Data), IPv6: isIPv6(set), Set: set})
		}
	}
	switch kind {
	case NetNSHost:
		ns.Host = true
	case NetNSPod:
	default:
		ns.Host, ns.HostAssumed = inferHost(ns)
	}
	res.Nodes = []*snapshot.Node{{Name: "node", Loose: true, NetNS: []*snapshot.NetNS{ns}}}
	return res
}

func looksLikeIPRule(data []byte) bool {
	lines := 0
	for _, l := range bytes.Split(data, []byte("\n")) {
		l = bytes.TrimSpace(l)
		if len(l) == 0 {
			continue
		}
		if !ipRuleRE.Match(l) {
			return false
		}
		lines++
	}
	return lines > 0
}

// listRulesTable guesses the table of `iptables -S` output, which does not
// name it: from the file name ("nat.txt", "iptables-S-mangle"), else from
// the targets only one table allows.
func listRulesTable(name string, data []byte) string {
	lower := strings.ToLower(name)
	for _, t := range []string{"mangle", "nat", "raw", "security", "filter"} {
		if strings.Contains(lower, t) {
			return t
		}
	}
	s := string(data)
	switch {
	case strings.Contains(s, "-j REDIRECT") || strings.Contains(s, "-j DNAT") || strings.Contains(s, "-j SNAT") || strings.Contains(s, "-j MASQUERADE") || strings.Contains(s, "-P POSTROUTING") && strings.Contains(s, "-P PREROUTING") && !strings.Contains(s, "-P FORWARD"):
		return "nat"
	case strings.Contains(s, "-j TPROXY") || strings.Contains(s, "-j CONNMARK") || strings.Contains(s, "-j MARK") && strings.Contains(s, "-P PREROUTING"):
		return "mangle"
	case strings.Contains(s, "-j CT ") || strings.Contains(s, "-j NOTRACK"):
		return "raw"
	}
	return "filter"
}

// saveBackend reads the backend from iptables-save's header ("# Generated
// by iptables-nft-save v1.8.9 (nf_tables)"), "" when it does not say.
func saveBackend(data []byte) string {
	head := data[:min(len(data), 512)]
	switch {
	case bytes.Contains(head, []byte("(nf_tables)")) || bytes.Contains(head, []byte("iptables-nft-save")):
		return "nft"
	case bytes.Contains(head, []byte("(legacy)")) || bytes.Contains(head, []byte("iptables-legacy-save")):
		return "legacy"
	}
	return ""
}

func isIPv6(set *netfilter.RuleSet) bool {
	for _, t := range set.Tables {
		if t.Family == "ip6" {
			return true
		}
	}
	return false
}

// inferHost decides host or pod from what owns the chains: kube-proxy's,
// a CNI's (Cilium, Calico, Flannel) or Istio's host chains live only in a
// node's own netns; a pod's holds at most in-pod interception chains.
func inferHost(ns *snapshot.NetNS) (bool, string) {
	for _, rs := range ns.RuleSets {
		for c := range rs.Set.Chains() {
			switch c.Owner {
			case netfilter.OwnerKubeProxy, netfilter.OwnerCilium, netfilter.OwnerCalico, netfilter.OwnerFlannel, netfilter.OwnerIstioAmbientHost:
				return true, fmt.Sprintf("taken as the node's own netns: %s holds %s's chain %s", rs.File, c.Owner, c.Name)
			}
		}
	}
	if len(ns.RuleSets) == 0 {
		return false, "taken as a pod's netns: no rule set given (use --netns host if it is the node's)"
	}
	return false, "taken as a pod's netns: no kube-proxy or CNI chains in the rule sets (use --netns host if it is the node's)"
}
