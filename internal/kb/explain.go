package kb

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Explanation is what Explain says about one recognised part of a query.
type Explanation struct {
	Kind   Kind
	Key    string   // the entry's key in its table (UF, remote connection failure, 133...)
	Title  string   // one-line heading
	Input  string   // the part of the query this explains
	Status string   // the HTTP status that usually comes with it, if any
	Flags  []string // Envoy response flags that usually come with it
	Notes  []string // facts read from this particular input
	Info
}

// maxQuery bounds the input Explain reads.
const maxQuery = 64 << 10

// Explain recognises mesh and CNI failure strings in query and explains
// each part, in the order the parts appear:
//
//   - Envoy response flags, short or long, alone or as a list ("UF,URX");
//   - response code details, with their arguments decomposed
//     (upstream_reset_before_response_started{remote_connection_failure|delayed_connect_error:_111});
//   - local-reply bodies, the upstream connect error decomposed into the
//     body, its reset reason and its transport failure reason;
//   - reset reasons, transport failure reasons (TLS errors, "delayed connect
//     error: 111") and socket errors;
//   - ztunnel error messages ("http status: 503", "connection failed: ...");
//   - Cilium drop reasons (number, monitor text or Hubble name) and
//     identities ("world", "ID:2", "reserved:remote-node"; bare numbers
//     only for reserved identities 0-10 and numbers from 1000 up, since 100-999
//     reads like an HTTP status);
//   - and, when the query as a whole is none of these, the parts it
//     contains: an Envoy or ztunnel access log line, a Hubble flow, an
//     error message quoting a local reply.
//
// It returns nothing when nothing is recognised, and never panics.
func Explain(query string) []Explanation {
	q := query
	if len(q) > maxQuery {
		q = q[:maxQuery]
	}
	q = unwrap(q)
	if q == "" {
		return nil
	}
	if out := explainWhole(q); len(out) > 0 {
		return dedupe(out)
	}
	return explainScan(q)
}

// unwrap trims space, an error= prefix and one pair of surrounding quotes.
func unwrap(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(lowerASCII(s), "error=") {
		s = strings.TrimSpace(s[len("error="):])
	}
	if len(s) >= 2 && (s[0] == '"' && s[len(s)-1] == '"' || s[0] == '\'' && s[len(s)-1] == '\'' || s[0] == '`' && s[len(s)-1] == '`') {
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	return s
}

// explainWhole explains q when q as a whole is one recognised string.
func explainWhole(q string) []Explanation {
	if r, ok := LocalReply(q); ok {
		if r.Body == upstreamConnectBody {
			return upstreamConnectParts(q)
		}
		return []Explanation{r.explanation(q)}
	}
	if !strings.ContainsAny(q, " \t\r\n") {
		if flags, unknown := SplitFlags(q); len(flags) > 0 && len(unknown) == 0 {
			out := make([]Explanation, 0, len(flags))
			for _, f := range flags {
				out = append(out, f.explanation(q))
			}
			return out
		}
		if d := Details(q); len(d) > 0 {
			return d
		}
		if t, ok := transportIndex().byKey[strings.ToUpper(q)]; ok {
			return []Explanation{t.explanation(q)}
		}
	}
	if r, ok := ResetReason(q); ok {
		return []Explanation{r.explanation(q)}
	}
	lq := lowerASCII(q)
	// Envoy's TLS errors start like ztunnel's "tls error: ..." but name a
	// BoringSSL reason or number.
	envoyTLS := false
	if strings.HasPrefix(lq, "tls_error:") || strings.HasPrefix(lq, "tls error:") {
		rest := strings.TrimLeft(lq[len("tls_error:"):], "|_ ")
		envoyTLS = strings.Contains(lq, "openssl_internal") || strings.Contains(lq, "tls_error_end") || rest != "" && rest[0] >= '0' && rest[0] <= '9'
	}
	if envoyTLS || strings.HasPrefix(lq, "delayed connect error") || strings.HasPrefix(lq, "delayed_connect_error") {
		if e, ok := explainTransport(q); ok {
			return []Explanation{e}
		}
	}
	if z, at := findZtunnel(q); z != nil && at == 0 {
		return ztunnelParts(q, z, at)
	}
	if t, ok := transportIndex().byText[strings.TrimRight(lq, ".")]; ok {
		return []Explanation{t.explanation(q)}
	}
	if n, err := strconv.Atoi(q); err == nil {
		if d, ok := DropReasonByCode(n); ok {
			return []Explanation{d.explanation(q)}
		}
		if n >= 0 && int64(n) <= 1<<32-1 && (n <= 10 || n >= 1000) {
			if id, ok := identityByNumber(uint32(n)); ok {
				return []Explanation{id.explanation(q, uint32(n), true)}
			}
		}
		return nil
	}
	if d, ok := DropReason(q); ok {
		return []Explanation{d.explanation(q)}
	}
	if id, ok := Identity(q); ok {
		num := lq
		for _, p := range []string{"id:", "identity:", "identity "} {
			num = strings.TrimPrefix(num, p)
		}
		n, err := strconv.ParseUint(strings.TrimSpace(num), 10, 32)
		return []Explanation{id.explanation(q, uint32(n), err == nil)}
	}
	return nil
}

// match is an explanation found at an offset of a free-text query.
type match struct {
	pos int
	e   Explanation
}

// explainScan finds recognised parts inside free text: log lines, flows,
// error messages.
func explainScan(q string) []Explanation {
	var ms []match
	add := func(pos int, es ...Explanation) {
		for i, e := range es {
			ms = append(ms, match{pos: pos + i, e: e})
		}
	}
	lq := lowerASCII(q)

	// Local-reply bodies, the longest first so that "upstream request
	// timeout" is not also read as "request timeout".
	claimed := newClaims(len(q))
	bodies := LocalReplies()
	sort.SliceStable(bodies, func(i, j int) bool { return len(bodies[i].Body) > len(bodies[j].Body) })
	for _, r := range bodies {
		needle := strings.ToLower(r.Body)
		for off := 0; off < len(lq); {
			i := strings.Index(lq[off:], needle)
			if i < 0 {
				break
			}
			a, b := off+i, off+i+len(needle)
			off = b
			if !claimed.claim(a, b) {
				continue
			}
			if r.Body == upstreamConnectBody {
				add(a, upstreamConnectParts(q[a:])...)
			} else {
				add(a, r.explanation(q[a:b]))
			}
		}
	}

	// Tokens: response flags (exact case, as Envoy prints them) and
	// response code details.
	for _, t := range tokens(q) {
		if flags, ok := exactFlags(t.s); ok {
			for i, f := range flags {
				add(t.pos+i, f.explanation(t.s))
			}
			continue
		}
		if strings.ContainsAny(t.s, "_{[(.") {
			if d := Details(t.s); len(d) > 0 {
				add(t.pos, d...)
			}
		}
	}

	// Transport failures written out (%UPSTREAM_TRANSPORT_FAILURE_REASON%).
	for _, m := range []string{"tls_error:", "tls error:"} {
		for off := 0; off < len(lq); {
			i := strings.Index(lq[off:], m)
			if i < 0 {
				break
			}
			a := off + i
			seg := q[a:min(len(q), a+maxTLSError+len(m))]
			if f, ok := findTLSError(seg); ok && f.reason != "" {
				add(a, tlsExplanation(f, seg[f.start:f.end]))
			}
			off = a + len(m)
		}
	}
	for _, m := range []string{"delayed connect error:", "delayed_connect_error:", "os error "} {
		if i := strings.Index(lq, m); i >= 0 {
			if t, _, ok := findErrno(q[i:]); ok {
				add(i, t.explanation(strings.TrimSpace(firstLine(q[i:]))))
			}
		}
	}

	// ztunnel access log: error="...".
	for off := 0; off < len(lq); {
		i := strings.Index(lq[off:], `error="`)
		if i < 0 {
			break
		}
		start := off + i + len(`error="`)
		end := strings.IndexByte(q[start:], '"')
		if end < 0 {
			end = len(q) - start
		}
		v := q[start : start+end]
		if z, at := findZtunnel(v); z != nil {
			add(start+at, ztunnelParts(v, z, at)...)
		}
		off = start + end
	}

	// Hubble flows: drop reasons and identities.
	if strings.Contains(lq, "drop") {
		for _, dm := range findDropNames(q) {
			add(dm.pos, dm.e)
		}
	}
	for _, im := range findIdentities(q) {
		add(im.pos, im.e)
	}

	sort.SliceStable(ms, func(i, j int) bool { return ms[i].pos < ms[j].pos })
	out := make([]Explanation, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.e)
	}
	return dedupe(out)
}

type token struct {
	s   string
	pos int
}

// tokens splits s on white space and double quotes (so JSON values come out
// whole), trimming trailing commas and semicolons.
func tokens(s string) []token {
	var out []token
	start := -1
	flush := func(end int) {
		if start >= 0 {
			t := strings.TrimRight(s[start:end], ",;")
			if t != "" {
				out = append(out, token{s: t, pos: start})
			}
			start = -1
		}
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\r', '"':
			flush(i)
		default:
			if start < 0 {
				start = i
			}
		}
	}
	flush(len(s))
	return out
}

// exactFlags reads tok as a flag list written exactly as Envoy prints it.
func exactFlags(tok string) ([]*FlagInfo, bool) {
	var out []*FlagInfo
	for _, p := range strings.Split(tok, ",") {
		f, ok := flagIndex()[strings.ToUpper(p)]
		if !ok || p != f.Short && p != f.Long {
			return nil, false
		}
		out = append(out, f)
	}
	return out, len(out) > 0
}

// findDropNames finds drop reasons in a Hubble or monitor line: Hubble enum
// names (as whole words) and monitor texts (case-insensitively), longest
// first.
func findDropNames(q string) []match {
	type cand struct {
		needle string
		exact  bool
		d      *DropReasonInfo
	}
	var cs []cand
	for _, d := range DropReasons() {
		if d.Enum != "" {
			cs = append(cs, cand{d.Enum, true, d})
		}
		cs = append(cs, cand{strings.ToLower(d.Name), false, d})
		for _, a := range d.Aliases {
			cs = append(cs, cand{strings.ToLower(a), false, d})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool { return len(cs[i].needle) > len(cs[j].needle) })
	lq := lowerASCII(q)
	claimed := newClaims(len(q))
	var out []match
	for _, c := range cs {
		hay := lq
		if c.exact {
			hay = q
		}
		for off := 0; off < len(hay); {
			i := strings.Index(hay[off:], c.needle)
			if i < 0 {
				break
			}
			a, b := off+i, off+i+len(c.needle)
			off = b
			if !wordAt(q, a, b) || !claimed.claim(a, b) {
				continue
			}
			out = append(out, match{pos: a, e: c.d.explanation(q[a:b])})
		}
	}
	return out
}

// claims records which bytes of a query a match already explains.
type claims []bool

func newClaims(n int) claims { return make(claims, n) }

// claim marks s[a:b] as explained, unless part of it already is.
func (c claims) claim(a, b int) bool {
	for i := a; i < b; i++ {
		if c[i] {
			return false
		}
	}
	for i := a; i < b; i++ {
		c[i] = true
	}
	return true
}

// wordAt tells whether s[a:b] is not part of a longer word.
func wordAt(s string, a, b int) bool {
	isWord := func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
	}
	return (a == 0 || !isWord(s[a-1])) && (b >= len(s) || !isWord(s[b]))
}

// findIdentities finds identities as Hubble prints them next to an
// address: "(ID:12345)" and "(world)", "(remote-node)"...
func findIdentities(q string) []match {
	var out []match
	lq := lowerASCII(q)
	for off := 0; off < len(lq); {
		i := strings.Index(lq[off:], "(id:")
		if i < 0 {
			break
		}
		a := off + i + len("(id:")
		b := a
		for b < len(q) && b-a < 10 && q[b] >= '0' && q[b] <= '9' {
			b++
		}
		off = b
		if b == a || b >= len(q) || q[b] != ')' {
			continue
		}
		if n, err := strconv.ParseUint(q[a:b], 10, 32); err == nil {
			if id, ok := identityByNumber(uint32(n)); ok {
				out = append(out, match{pos: a, e: id.explanation(q[a-len("(ID:"):b+1], uint32(n), true)})
			}
		}
	}
	for _, id := range Identities() {
		if id.Max != 0 || id.ID == 0 {
			continue
		}
		needle := "(" + id.Name + ")"
		if i := strings.Index(lq, needle); i >= 0 {
			out = append(out, match{pos: i, e: id.explanation(q[i:i+len(needle)], id.ID, false)})
		}
	}
	return out
}

// dedupe keeps the first explanation of each entry.
func dedupe(es []Explanation) []Explanation {
	seen := map[string]bool{}
	out := es[:0]
	for _, e := range es {
		k := string(e.Kind) + "\x00" + e.Key
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, e)
	}
	return out
}

// Render writes explanations as Markdown for the terminal: a heading per
// explanation, its meaning, what was read from the input, typical causes,
// commands to run next and the meshdoctor checks that find a cause.
func Render(w io.Writer, es []Explanation) error {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteString("\n")
		}
		e.render(&b)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// String renders one explanation, as Render does.
func (e Explanation) String() string {
	var b strings.Builder
	e.render(&b)
	return b.String()
}

func (e Explanation) render(b *strings.Builder) {
	fmt.Fprintf(b, "## %s — %s\n\n", e.Title, e.Kind.label())
	var facts []string
	if e.Input != "" && e.Input != e.Key && e.Input != e.Title {
		facts = append(facts, "Read from: `"+oneLine(e.Input)+"`")
	}
	if e.Status != "" {
		facts = append(facts, "Usual status: "+e.Status)
	}
	if len(e.Flags) > 0 {
		facts = append(facts, "Response flags: "+strings.Join(e.Flags, ", "))
	}
	if len(facts) > 0 {
		b.WriteString(strings.Join(facts, "  \n") + "\n\n")
	}
	b.WriteString(e.Meaning + "\n")
	list := func(title string, items []string, code bool) {
		if len(items) == 0 {
			return
		}
		b.WriteString("\n" + title + "\n\n")
		for _, it := range items {
			if code {
				b.WriteString("    " + it + "\n")
			} else {
				b.WriteString("- " + it + "\n")
			}
		}
	}
	list("From this input:", e.Notes, false)
	list("Typical causes:", e.Causes, false)
	list("Next:", e.Next, true)
	if len(e.Codes) > 0 {
		b.WriteString("\nmeshdoctor checks that detect a cause: " + strings.Join(e.Codes, ", ") + "\n\n")
		b.WriteString("    " + cmdAnalyze + " --check " + strings.Join(e.Codes, ",") + "\n")
	}
}

// oneLine shortens s to one line of reasonable length.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.ReplaceAll(s, "`", "'")
	if len(s) > 200 {
		cut := 200
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
