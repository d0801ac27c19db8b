package nodedump

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/source/files"
)

// parseListen reads `ss -Hltun` output: "tcp LISTEN 0 4096 127.0.0.1:8080
// 0.0.0.0:*", the local address in the fifth column ("[::1]:80",
// "*:53", "127.0.0.53%lo:53").
func parseListen(file string, data []byte) ([]snapshot.Listener, []files.InputError) {
	var out []snapshot.Listener
	var errs []files.InputError
	for _, tl := range textLines(file, data) {
		f := strings.Fields(tl.Text)
		if len(f) < 5 {
			errs = append(errs, files.InputError{Pos: snapshot.Position{File: file, Line: tl.Line}, Msg: "not an `ss -Hltun` line: want netid, state, queues, local and peer address"})
			continue
		}
		l, ok := parseLocal(f[4])
		if !ok {
			errs = append(errs, files.InputError{Pos: snapshot.Position{File: file, Line: tl.Line}, Msg: "unreadable local address " + strconv.Quote(f[4])})
			continue
		}
		l.Proto, l.File, l.Line, l.Text = f[0], file, tl.Line, strings.TrimSpace(tl.Text)
		out = append(out, l)
	}
	return out, errs
}

func parseLocal(s string) (snapshot.Listener, bool) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return snapshot.Listener{}, false
	}
	port, err := strconv.ParseUint(s[i+1:], 10, 16)
	if err != nil {
		return snapshot.Listener{}, false
	}
	host := strings.TrimSuffix(strings.TrimPrefix(s[:i], "["), "]")
	if j := strings.IndexByte(host, '%'); j >= 0 {
		host = host[:j] // the interface a socket is bound to
	}
	l := snapshot.Listener{Port: uint16(port)}
	if host == "*" {
		return l, true
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return snapshot.Listener{}, false
	}
	if !a.IsUnspecified() {
		l.Addr = a.Unmap()
	}
	return l, true
}
