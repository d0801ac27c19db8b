package netfilter

import (
	"strings"
	"testing"
)

func TestDetectFormat(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Format
	}{
		{"save fixture", string(readFixture(t, "sidecar-mirrord.save")), FormatSave},
		{"save with counters", "[0:0] -A INPUT -j ACCEPT\n", FormatSave},
		{"save without header", "\n\n*raw\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n", FormatSave},
		{"headless save fragment ending in COMMIT", "-A X -j Y\nCOMMIT\n", FormatSave},
		{"iptables -S", string(readFixture(t, "cilium-filter.rules")), FormatListRules},
		{"iptables -S with warning", string(readFixture(t, "cilium-mangle.rules")), FormatListRules},
		{"-A lines only", "-A X -j Y\n-A X -j Z\n", FormatListRules},
		{"nft", string(readFixture(t, "ambient-native.nft")), FormatNft},
		{"nft with warning", string(readFixture(t, "host-inpod-leak.nft")), FormatNft},
		{"conntrack", "tcp      6 431999 ESTABLISHED src=10.244.1.5 dst=10.96.0.1 sport=40112 dport=443 [ASSURED] mark=0 use=1\n", FormatUnknown},
		{"iptables -L", "Chain INPUT (policy ACCEPT)\ntarget     prot opt source               destination\n", FormatUnknown},
		{"nft json", `{"nftables": [{"metainfo": {}}]}`, FormatUnknown},
		{"empty", "", FormatUnknown},
		{"comments only", "# nothing\n", FormatUnknown},
		{"binary", "\x00\x01*nat\n", FormatUnknown},
		{"CRLF save", "*nat\r\n:X - [0:0]\r\nCOMMIT\r\n", FormatSave},
	}
	for _, tt := range tests {
		if got := DetectFormat([]byte(tt.in)); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	if FormatNft.String() != "nft" || Format(9).String() != "unknown" {
		t.Error("Format names")
	}
}

func TestParseDispatch(t *testing.T) {
	if rs := Parse(readFixture(t, "ambient-native.nft")); rs.Format != FormatNft || len(rs.Tables) != 4 {
		t.Errorf("nft: %v with %d tables", rs.Format, len(rs.Tables))
	}
	rs := Parse([]byte("tcp 6 10 ESTABLISHED src=1.2.3.4\nudp 17 20 src=1.2.3.4\n"))
	if rs.Format != FormatUnknown || rs.Lines != 2 || len(rs.Tables) != 0 {
		t.Fatalf("unknown: %+v", rs)
	}
	if err := rs.Err(); err == nil || !strings.Contains(err.Error(), "not iptables-save, iptables -S or nft") || rs.Errors[0].Line != 0 {
		t.Errorf("unknown input error %v", err)
	}
}
