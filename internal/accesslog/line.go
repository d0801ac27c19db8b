package accesslog

import "bytes"

// Parser recognises lines of its formats. A Parser is immutable and safe
// for concurrent use; each goroutine needs its own Record.
type Parser struct {
	formats []*Format // all, in the order tried
	text    []*Format
	json    []*Format
}

// NewParser returns a parser for the given formats, tried in order before
// the built-in ones (BuiltinFormats).
func NewParser(custom ...*Format) *Parser {
	p := &Parser{}
	for _, f := range append(append([]*Format(nil), custom...), BuiltinFormats()...) {
		if f == nil {
			continue
		}
		p.formats = append(p.formats, f)
		switch f.kind {
		case kindText:
			p.text = append(p.text, f)
		case kindJSON:
			p.json = append(p.json, f)
		}
	}
	return p
}

// Formats lists the parser's formats in the order they are tried.
func (p *Parser) Formats() []*Format { return append([]*Format(nil), p.formats...) }

// defaultParser knows the built-in formats only; it is never modified.
var defaultParser = NewParser()

// ParseLine parses one line with the built-in formats (see
// Parser.ParseLine).
func ParseLine(line []byte, r *Record) (*Format, bool) {
	return defaultParser.ParseLine(line, r)
}

// ParseLine parses one line (with or without its line ending) into r and
// returns the format it matched. The kubectl wrappers are taken off first.
// It never allocates, and r's values point into line.
func (p *Parser) ParseLine(line []byte, r *Record) (*Format, bool) {
	r.Reset()
	line = trimEOL(line)
	line = unwrapKubectl(line, r)
	if len(line) == 0 {
		return nil, false
	}
	c := line[0]
	if c == '{' {
		if f, ok := p.parseJSON(line, r); ok {
			return f, true
		}
	} else if c >= '0' && c <= '9' && parseZtunnel(line, r) {
		return builtinZtunnel, true
	}
	for _, f := range p.text {
		if f.match(line, r) {
			return f, true
		}
	}
	r.Format = nil
	return nil, false
}

func trimEOL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

var (
	podPrefix = []byte("[pod/")
	utf8BOM   = []byte("\xef\xbb\xbf")
)

// unwrapKubectl takes off what kubectl adds in front of a container's line:
// "[pod/NAME/CONTAINER] " (--prefix) and an RFC 3339 timestamp and a space
// (--timestamps), in either order; also the timestamp, stream and tag of
// the container runtime's log files, and a UTF-8 byte order mark. A
// timestamp followed by a log level is the line's own (ztunnel) and stays.
func unwrapKubectl(line []byte, r *Record) []byte {
	line = bytes.TrimPrefix(line, utf8BOM)
	for range 2 {
		if r.Pod == nil && bytes.HasPrefix(line, podPrefix) {
			j := bytes.IndexByte(line, ']')
			if j > len(podPrefix) && j+1 < len(line) && line[j+1] == ' ' {
				inner := line[len(podPrefix):j]
				if k := bytes.LastIndexByte(inner, '/'); k > 0 {
					r.Pod, r.Container = inner[:k], inner[k+1:]
				} else {
					r.Pod, r.Container = inner, nil
				}
				line = line[j+2:]
				continue
			}
		}
		if r.KubeTime == nil && len(line) > 0 && line[0] >= '0' && line[0] <= '9' {
			if n := rfc3339Len(line); n > 0 && n < len(line) && line[n] == ' ' {
				rest := line[n+1:]
				if e := tokenEnd(rest, 0); !levelWord(rest[:e]) {
					r.KubeTime = line[:n]
					// The CRI log files under /var/log/pods add the stream
					// and a full/partial tag: "stdout F ".
					if len(rest) >= 9 && (string(rest[:7]) == "stdout " || string(rest[:7]) == "stderr ") &&
						(rest[7] == 'F' || rest[7] == 'P') && rest[8] == ' ' {
						rest = rest[9:]
					}
					line = rest
					continue
				}
			}
		}
		break
	}
	return line
}

// rfc3339Len is the length of an RFC 3339 timestamp at the start of b
// (2025-03-04T09:12:33.512345678Z or with a ±hh:mm offset), or 0.
func rfc3339Len(b []byte) int {
	const layout = "dddd-dd-ddTdd:dd:dd"
	if len(b) < len(layout)+1 {
		return 0
	}
	for i := 0; i < len(layout); i++ {
		switch layout[i] {
		case 'd':
			if b[i] < '0' || b[i] > '9' {
				return 0
			}
		default:
			if b[i] != layout[i] {
				return 0
			}
		}
	}
	i := len(layout)
	if i < len(b) && b[i] == '.' {
		i++
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && b[i] == 'Z' {
		return i + 1
	}
	if i+6 <= len(b) && (b[i] == '+' || b[i] == '-') && b[i+3] == ':' {
		return i + 6
	}
	return 0
}
