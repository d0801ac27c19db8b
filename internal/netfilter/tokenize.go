package netfilter

import (
	"errors"
	"strings"
)

// token is one word of an iptables rule. quoted words are never options or
// negations, whatever they contain.
type token struct {
	text   string
	quoted bool
}

var errUnterminatedQuote = errors.New("unterminated quote")

// splitWords appends the words of s to dst the way iptables-restore splits
// a line: blanks separate words; a double quote opens a quoted part that
// may hold blanks and backslash escapes (\" and \\) and ends the word when
// it closes. Words are substrings of s unless they had escapes or quotes
// in the middle.
func splitWords(dst []token, s string) ([]token, error) {
	i := 0
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			return dst, nil
		}
		start := i
		for i < len(s) && byteClass[s[i]]&classWordEnd == 0 {
			i++
		}
		if i >= len(s) || s[i] != '"' {
			dst = append(dst, token{text: s[start:i]})
			continue
		}
		// A quote: fast path for a whole word "..." without escapes.
		if i == start {
			if end := strings.IndexAny(s[i+1:], "\"\\"); end >= 0 && s[i+1+end] == '"' {
				dst = append(dst, token{text: s[i+1 : i+1+end], quoted: true})
				i += end + 2
				continue
			}
		}
		word, next, err := unquoteWord(s, start)
		if err != nil {
			return dst, err
		}
		dst = append(dst, token{text: word, quoted: true})
		i = next
	}
}

// unquoteWord decodes the word at s[start:], which contains a quote, and
// returns it with the index just past it.
func unquoteWord(s string, start int) (string, int, error) {
	var b strings.Builder
	inQuote := false
	for i := start; i < len(s); i++ {
		c := s[i]
		switch {
		case inQuote && c == '\\':
			if i+1 >= len(s) {
				return "", 0, errUnterminatedQuote
			}
			i++
			b.WriteByte(s[i])
		case inQuote && c == '"':
			// iptables-restore ends the word at the closing quote.
			return b.String(), i + 1, nil
		case inQuote:
			b.WriteByte(c)
		case c == '"':
			inQuote = true
		case isSpace(c):
			return b.String(), i, nil
		default:
			b.WriteByte(c)
		}
	}
	if inQuote {
		return "", 0, errUnterminatedQuote
	}
	return b.String(), len(s), nil
}

// isOptionWord reports whether an unquoted word names an option: a dash
// followed by something other than a digit (so "-1" stays an argument).
func isOptionWord(t token) bool {
	return !t.quoted && len(t.text) >= 2 && t.text[0] == '-' && (t.text[1] < '0' || t.text[1] > '9')
}

func isNot(t token) bool { return !t.quoted && t.text == "!" }
