package netfilter

// Parse recognises the dump's format and reads it. `iptables -S` output is
// read as the filter table (use ParseListRules to name another). Input of
// no known format gives an empty rule set with one error.
func Parse(data []byte) *RuleSet {
	switch f := DetectFormat(data); f {
	case FormatSave:
		return ParseSave(data)
	case FormatListRules:
		return ParseListRules(data, "")
	case FormatNft:
		return ParseNft(data)
	default:
		rs := &RuleSet{Format: f, Lines: countLines(string(data))}
		rs.addError(0, "", "not iptables-save, iptables -S or nft list ruleset output")
		return rs
	}
}
