package netfilter

import "strings"

// splitNftWords appends the words of one line of `nft list ruleset` output
// to dst. Blanks separate words; braces, commas and semicolons are words of
// their own; "..." is one quoted word (nft strings have no escapes); an
// unquoted # starts a comment (`# handle 7`) that runs to the end.
func splitNftWords(dst []token, s string) ([]token, error) {
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case isSpace(c):
			i++
		case c == '#':
			return dst, nil
		case c == '{' || c == '}' || c == ',' || c == ';':
			dst = append(dst, token{text: s[i : i+1]})
			i++
		case c == '"':
			end := strings.IndexByte(s[i+1:], '"')
			if end < 0 {
				return dst, errUnterminatedQuote
			}
			dst = append(dst, token{text: s[i+1 : i+1+end], quoted: true})
			i += end + 2
		default:
			start := i
			for i < len(s) && !isSpace(s[i]) && !strings.ContainsRune("{},;\"#", rune(s[i])) {
				i++
			}
			dst = append(dst, token{text: s[start:i]})
		}
	}
	return dst, nil
}

// braceBalance is the number of { minus the number of } among words.
func braceBalance(w []token) int {
	n := 0
	for _, t := range w {
		if !t.quoted {
			switch t.text {
			case "{":
				n++
			case "}":
				n--
			}
		}
	}
	return n
}
