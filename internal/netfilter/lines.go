package netfilter

import "strings"

// lineReader walks the input line by line without copying. It accepts LF
// and CRLF endings and a missing final newline.
type lineReader struct {
	text string
	pos  int
	num  int
}

// next returns the next line without its ending and its 1-based number.
// tooLong is set when the line exceeds MaxLineBytes; its text is then cut.
func (lr *lineReader) next() (line string, num int, tooLong, ok bool) {
	if lr.pos >= len(lr.text) {
		return "", 0, false, false
	}
	rest := lr.text[lr.pos:]
	end := strings.IndexByte(rest, '\n')
	if end < 0 {
		end = len(rest)
		lr.pos = len(lr.text)
	} else {
		lr.pos += end + 1
	}
	line = rest[:end]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	lr.num++
	if len(line) > MaxLineBytes {
		return line[:MaxLineBytes], lr.num, true, true
	}
	return line, lr.num, false, true
}

// countLines is the number of lines lineReader yields for text.
func countLines(text string) int {
	n := strings.Count(text, "\n")
	if len(text) > 0 && text[len(text)-1] != '\n' {
		n++
	}
	return n
}

// isSpace reports the bytes that separate words: iptables-restore splits on
// spaces and tabs; the other ASCII blanks are treated alike so that no word
// can end in one (it would not survive a round trip through a file).
func isSpace(c byte) bool { return byteClass[c]&classSpace != 0 }

// Byte classes, looked up rather than compared in the tokenizer's loops.
const (
	classSpace   = 1 << iota // separates words
	classWordEnd             // ends an unquoted word
	classQuote               // makes a word need quotes when written
)

var byteClass = func() (t [256]uint8) {
	for c := range ' ' + 1 {
		t[c] = classQuote
	}
	t[0x7f] = classQuote
	for _, c := range []byte(" \t\r\n\v\f") {
		t[c] = classSpace | classWordEnd | classQuote
	}
	t['"'] = classWordEnd | classQuote
	t['\\'] = classQuote
	return t
}()

// trimSpace trims isSpace bytes from both ends.
func trimSpace(s string) string {
	i, j := 0, len(s)
	for i < j && isSpace(s[i]) {
		i++
	}
	for j > i && isSpace(s[j-1]) {
		j--
	}
	return s[i:j]
}
