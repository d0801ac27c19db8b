package conntrack

import (
	"fmt"
	"strings"
	"testing"
)

// benchTable is a `conntrack -L` listing of n entries in a node's mix:
// TCP through services, DNS over UDP, a few ICMP and IPv6 entries.
func benchTable(n int) []byte {
	var b strings.Builder
	for i := range n {
		a, c, port := i%250, i/250%250, 30000+i%30000
		switch i % 10 {
		case 0, 1, 2, 3, 4:
			fmt.Fprintf(&b, "tcp      6 431999 ESTABLISHED src=10.244.%d.%d dst=10.96.0.%d sport=%d dport=443 src=10.244.%d.%d dst=10.244.%d.%d sport=8443 dport=%d [ASSURED] mark=0 use=1\n", c, a, a, port, a, c, c, a, port)
		case 5, 6:
			fmt.Fprintf(&b, "udp      17 29 src=10.244.%d.%d dst=10.96.0.10 sport=%d dport=53 src=10.244.0.3 dst=10.244.%d.%d sport=53 dport=%d mark=0 use=1\n", c, a, port, c, a, port)
		case 7:
			fmt.Fprintf(&b, "tcp      6 118 SYN_SENT src=10.244.%d.%d dst=10.96.45.7 sport=%d dport=9000 [UNREPLIED] src=10.244.2.8 dst=10.244.%d.%d sport=9000 dport=%d mark=1 use=1\n", c, a, port, c, a, port)
		case 8:
			fmt.Fprintf(&b, "icmp     1 29 src=10.244.%d.%d dst=10.244.2.8 type=8 code=0 id=%d src=10.244.2.8 dst=10.244.%d.%d type=0 code=0 id=%d mark=0 use=1\n", c, a, i%65536, c, a, i%65536)
		default:
			fmt.Fprintf(&b, "tcp      6 299 ESTABLISHED src=fd00:10:244:%x::%x dst=fd00:10:96::1 sport=%d dport=443 src=fd00:10:244::2 dst=fd00:10:244:%x::%x sport=6443 dport=%d [ASSURED] mark=0 use=1\n", c, a, port, c, a, port)
		}
	}
	fmt.Fprintf(&b, "conntrack v1.4.6 (conntrack-tools): %d flow entries have been shown.\n", n)
	return []byte(b.String())
}

func BenchmarkParse100k(b *testing.B) {
	data := benchTable(100_000)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		d := Parse(data)
		if len(d.Entries) != 100_000 || len(d.Errors) != 0 {
			b.Fatalf("%d entries, %v", len(d.Entries), d.Err())
		}
	}
}
