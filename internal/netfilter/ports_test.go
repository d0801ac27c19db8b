package netfilter

import (
	"reflect"
	"testing"
)

func TestDestPorts(t *testing.T) {
	tests := []struct {
		rule string
		want []PortMatch
	}{
		{"-A C -p tcp -m tcp ! --dport 15008 -j REDIRECT --to-ports 15006",
			[]PortMatch{{Ranges: []PortRange{{15008, 15008}}, Not: true, Via: "tcp --dport"}}},
		{"-A C -p udp -m udp --destination-port 1000:2000",
			[]PortMatch{{Ranges: []PortRange{{1000, 2000}}, Via: "udp --destination-port"}}},
		{"-A C -p tcp -m multiport --dports 80,443,8000:8080,:22,60000:",
			[]PortMatch{{Ranges: []PortRange{{80, 80}, {443, 443}, {8000, 8080}, {0, 22}, {60000, 65535}}, Via: "multiport --dports"}}},
		{"-A C -p tcp -m multiport ! --ports 4190,http",
			[]PortMatch{{Ranges: []PortRange{{4190, 4190}}, Not: true, Unknown: true, Via: "multiport --ports"}}},
		{"-A C -p tcp -m tcp --sport 53 -m multiport --sports 1,2", nil},
		{"-A C -p tcp -m tcp --dport 9:8", []PortMatch{{Unknown: true, Via: "tcp --dport"}}},
		{"-A C -p tcp -m tcp --dport 70000", []PortMatch{{Unknown: true, Via: "tcp --dport"}}},
	}
	for _, tt := range tests {
		rs := ParseSave([]byte("*nat\n" + tt.rule + "\nCOMMIT\n"))
		if got := ruleAt(t, rs, 2).DestPorts(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.rule, got, tt.want)
		}
	}
}

func TestMatchesDestPort(t *testing.T) {
	rs := ParseSave(readFixture(t, "ambient-inpod.save"))
	inbound := ruleAt(t, rs, 33) // ! --dport 15008 → 15006
	mirrordRule := ParseSave([]byte("*nat\n-A MIRRORD_INPUT -p tcp -m tcp --dport 9000 -j REDIRECT --to-ports 41517\nCOMMIT\n"))
	steal := ruleAt(t, mirrordRule, 2)
	tests := []struct {
		r    *Rule
		port uint16
		want bool
	}{
		{inbound, 9000, true},
		{inbound, 15008, false},
		{steal, 9000, true},
		{steal, 9001, false},
		{ruleAt(t, rs, 31), 1, true}, // no port condition
	}
	for _, tt := range tests {
		if got := tt.r.MatchesDestPort(tt.port); got != tt.want {
			t.Errorf("line %d port %d: %v, want %v", tt.r.Line, tt.port, got, tt.want)
		}
	}
}

func TestRedirect(t *testing.T) {
	tests := []struct {
		target string
		want   Redirect
		ok     bool
	}{
		{"REDIRECT --to-ports 15001", Redirect{Target: "REDIRECT", Ports: PortRange{15001, 15001}, Via: "REDIRECT --to-ports"}, true},
		{"REDIRECT --to-ports 15001-15005", Redirect{Target: "REDIRECT", Ports: PortRange{15001, 15005}, Via: "REDIRECT --to-ports"}, true},
		{"REDIRECT", Redirect{Target: "REDIRECT", Via: "REDIRECT --to-ports"}, true},
		{"TPROXY --on-port 15006 --on-ip 127.0.0.1 --tproxy-mark 0x111/0xfff", Redirect{Target: "TPROXY", Ports: PortRange{15006, 15006}, Addr: "127.0.0.1", Via: "TPROXY --on-port"}, true},
		{"DNAT --to-destination 10.244.0.2:53", Redirect{Target: "DNAT", Ports: PortRange{53, 53}, Addr: "10.244.0.2", Via: "DNAT --to-destination"}, true},
		{"DNAT --to-destination 10.0.0.1-10.0.0.5:8000-8010", Redirect{Target: "DNAT", Ports: PortRange{8000, 8010}, Addr: "10.0.0.1-10.0.0.5", Via: "DNAT --to-destination"}, true},
		{"DNAT --to-destination [fd00::1]:8443", Redirect{Target: "DNAT", Ports: PortRange{8443, 8443}, Addr: "fd00::1", Via: "DNAT --to-destination"}, true},
		{"DNAT --to-destination fd00::1", Redirect{Target: "DNAT", Addr: "fd00::1", Via: "DNAT --to-destination"}, true},
		{"DNAT --to-destination 10.0.0.1", Redirect{Target: "DNAT", Addr: "10.0.0.1", Via: "DNAT --to-destination"}, true},
		{"SNAT --to-source 169.254.7.127", Redirect{}, false},
		{"ACCEPT", Redirect{}, false},
	}
	for _, tt := range tests {
		rs := ParseSave([]byte("*nat\n-A C -p tcp -j " + tt.target + "\nCOMMIT\n"))
		got, ok := ruleAt(t, rs, 2).Redirect()
		if ok != tt.ok || got != tt.want {
			t.Errorf("-j %s: %+v, %v; want %+v, %v", tt.target, got, ok, tt.want, tt.ok)
		}
	}
}
