package flymachines

import (
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
)

// Redaction of a token from text that came from elsewhere: a server that
// echoes the Authorization header, a URL a redirect points to. The token
// is found however the text encodes it: as is, cut short at the end, URL
// percent-encoded (upper or lower case hex, + for space), JSON-escaped
// (\/, \u00XX), HTML entities, base64 (at any alignment, either alphabet),
// hex, and those nested up to three deep (JSON in a query string, a URL
// encoded twice).
//
// The text is read as a graph: from each position, an edge for the byte
// there, and one for each encoded unit that starts there (%2F, +, \/,
// &#47;...), labelled with what it decodes to and ending where the unit
// ends. Units are read from paths of edges too, so an encoding inside an
// encoding is an edge as well. A secret is found wherever a path spells
// it, with or without decoding each unit, so a stray % or \ before a
// token cannot hide it; the span of the original text the path covers is
// replaced.

// maxDecodeDepth bounds nested encodings.
const maxDecodeDepth = 3

// maxUnit is the longest encoded unit (&#x0002F;).
const maxUnit = 10

type span struct{ from, to int }

// edge reads text from one position to to, as label.
type edge struct {
	to    int
	label string
}

// A decoder reads one encoded unit at the start of s: the bytes it stands
// for and how many bytes of s it takes, or ok false when s does not start
// with one. Units start with one of the decoder's triggers; could says
// whether a text may be the start of a unit, to stop reading early.
type decoder struct {
	triggers string
	read     func(s string) (out string, n int, ok bool)
	could    func(prefix string) bool
}

var decoders = []decoder{
	{"%", decodePercent, func(p string) bool { return len(p) <= 3 && allHex(p[1:]) }},
	{"+", decodePlus, func(p string) bool { return p == "+" }},
	{`\`, decodeJSONEscape, couldBeJSONEscape},
	{"&", decodeHTMLEntity, couldBeHTMLEntity},
}

func allHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if _, ok := unhex(s[i]); !ok {
			return false
		}
	}
	return true
}

func couldBeJSONEscape(p string) bool {
	switch {
	case len(p) < 2:
		return true
	case p[1] == '/' || p[1] == '\\':
		return len(p) == 2
	case p[1] == 'u':
		return len(p) <= 6 && allHex(p[2:])
	case p[1] == 'x':
		return len(p) <= 4 && allHex(p[2:])
	}
	return false
}

func couldBeHTMLEntity(p string) bool {
	if len(p) > maxUnit {
		return false
	}
	for i := 1; i < len(p); i++ {
		c := p[i]
		if c == ';' {
			return i == len(p)-1
		}
		if !(c == '#' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// decodePercent reads %XX.
func decodePercent(s string) (string, int, bool) {
	if len(s) < 3 || s[0] != '%' {
		return "", 0, false
	}
	hi, ok1 := unhex(s[1])
	lo, ok2 := unhex(s[2])
	if !ok1 || !ok2 {
		return "", 0, false
	}
	return string([]byte{hi<<4 | lo}), 3, true
}

// decodePlus reads + for a space, as in a query string.
func decodePlus(s string) (string, int, bool) {
	if s != "" && s[0] == '+' {
		return " ", 1, true
	}
	return "", 0, false
}

// decodeJSONEscape reads the backslash escapes of JSON (and JavaScript)
// that can stand for a token's characters, printable ASCII: \/, \\,
// \uXXXX, \xXX. Those for control characters (\n, \f, ...) are left
// alone, so a stray backslash before a token cannot eat its first letter.
func decodeJSONEscape(s string) (string, int, bool) {
	if len(s) < 2 || s[0] != '\\' {
		return "", 0, false
	}
	switch s[1] {
	case '/', '\\':
		return s[1:2], 2, true
	case 'u':
		if len(s) >= 6 {
			if r, err := strconv.ParseUint(s[2:6], 16, 32); err == nil {
				return string(rune(r)), 6, true
			}
		}
	case 'x':
		if len(s) >= 4 {
			if r, err := strconv.ParseUint(s[2:4], 16, 8); err == nil {
				return string([]byte{byte(r)}), 4, true
			}
		}
	}
	return "", 0, false
}

var htmlNamed = map[string]string{
	"amp": "&", "lt": "<", "gt": ">", "quot": `"`, "apos": "'", "sol": "/",
	"plus": "+", "equals": "=", "lowbar": "_", "period": ".", "comma": ",",
	"colon": ":", "excl": "!", "num": "#", "percnt": "%", "nbsp": " ",
}

// decodeHTMLEntity reads &#NN;, &#xHH; and the named entities of ASCII
// punctuation.
func decodeHTMLEntity(s string) (string, int, bool) {
	if len(s) < 3 || s[0] != '&' {
		return "", 0, false
	}
	end := strings.IndexByte(s[:min(len(s), 12)], ';')
	if end < 0 {
		return "", 0, false
	}
	name := s[1:end]
	if num, ok := strings.CutPrefix(name, "#"); ok {
		base := 10
		if h, ok := strings.CutPrefix(strings.ToLower(num), "x"); ok {
			num, base = h, 16
		}
		r, err := strconv.ParseUint(num, base, 32)
		if err != nil {
			return "", 0, false
		}
		return string(rune(r)), end + 1, true
	}
	if out, ok := htmlNamed[name]; ok {
		return out, end + 1, true
	}
	return "", 0, false
}

// secretPatterns is what to look for in a decoded view: each secret, its
// hex, and the part of its base64 that does not depend on what surrounds
// it, for each of the three alignments and both alphabets.
func secretPatterns(secrets []string) []string {
	var out []string
	for _, s := range secrets {
		if s == "" {
			continue
		}
		out = append(out, s, hex.EncodeToString([]byte(s)), strings.ToUpper(hex.EncodeToString([]byte(s))))
		for k := range 3 {
			padded := strings.Repeat("\x00", k) + s
			from, to := (8*k+5)/6, 8*len(padded)/6
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
				if core := enc.EncodeToString([]byte(padded)); to > from && to <= len(core) {
					out = append(out, core[from:to])
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) }) // longest first
	return slices.Compact(out)
}

// mayBeEncoded reports whether s has a byte any decoder starts on.
func mayBeEncoded(s string) bool { return strings.ContainsAny(s, "%+\\&") }

// graph is text read every way: from position i, the byte s[i], and the
// decoded units in extra[i].
type graph struct {
	s     string
	extra [][]edge // nil when s has nothing encoded
}

func (g *graph) len() int { return len(g.s) }

// each calls f with every edge from i, the byte itself first.
func (g *graph) each(i int, f func(edge)) {
	f(edge{i + 1, g.s[i : i+1]})
	if g.extra != nil {
		for _, e := range g.extra[i] {
			f(e)
		}
	}
}

func (g *graph) branches(i int) bool {
	return g.extra != nil && i < len(g.extra) && len(g.extra[i]) > 0
}

// readGraph is the graph of s.
func readGraph(s string) *graph {
	g := &graph{s: s}
	if !mayBeEncoded(s) {
		return g
	}
	g.extra = make([][]edge, len(s))
	for depth := range maxDecodeDepth {
		added := false
		for i := range s {
			for _, d := range decoders {
				for _, u := range unitsAt(g, i, d) {
					// A backslash is never part of a token: decoded, it only
					// matters as the start of a deeper escape.
					if depth == maxDecodeDepth-1 && u.label == `\` {
						continue
					}
					if !slices.Contains(g.extra[i], u) {
						g.extra[i] = append(g.extra[i], u)
						added = true
					}
				}
			}
		}
		if !added {
			break
		}
	}
	return g
}

// unitsAt is the units of d that paths from i spell.
func unitsAt(g *graph, i int, d decoder) []edge {
	var out []edge
	var seen map[edge]bool // paths that reach one place spelling one text
	var walk func(at int, spelled string)
	walk = func(at int, spelled string) {
		if g.branches(at) || len(spelled) > 1 {
			if seen == nil {
				seen = map[edge]bool{}
			}
			if seen[edge{at, spelled}] {
				return
			}
			seen[edge{at, spelled}] = true
		}
		if dec, n, ok := d.read(spelled); ok && n == len(spelled) {
			out = append(out, edge{at, dec})
		}
		if at >= g.len() {
			return
		}
		g.each(at, func(e edge) {
			if next := spelled + e.label; d.could(next) {
				walk(e.to, next)
			}
		})
	}
	if strings.IndexByte(d.triggers, g.s[i]) >= 0 || g.extra != nil && startsWithAny(g.extra[i], d.triggers) {
		g.each(i, func(e edge) {
			if strings.IndexByte(d.triggers, e.label[0]) >= 0 && d.could(e.label) {
				walk(e.to, e.label)
			}
		})
	}
	return out
}

func startsWithAny(edges []edge, chars string) bool {
	for _, e := range edges {
		if strings.IndexByte(chars, e.label[0]) >= 0 {
			return true
		}
	}
	return false
}

// redactSecrets replaces every occurrence of the secrets in s, encoded or
// not, and a start of one (at least minTail bytes) that ends the text,
// with the placeholder.
func redactSecrets(s string, secrets []string, minTail int) string {
	if s == "" || len(secrets) == 0 {
		return s
	}
	g := readGraph(s)
	var hits []span
	for _, p := range secretPatterns(secrets) {
		tail := 0 // a start of p that ends the text counts too, for a secret
		if slices.Contains(secrets, p) {
			tail = minTail
		}
		if g.extra == nil {
			// Nothing encoded: plain search.
			for at := 0; ; {
				i := strings.Index(s[at:], p)
				if i < 0 {
					break
				}
				hits = append(hits, span{at + i, at + i + len(p)})
				at += i + len(p)
			}
			for k := min(len(p)-1, len(s)); tail > 0 && k >= tail; k-- {
				if strings.HasSuffix(s, p[:k]) {
					hits = append(hits, span{len(s) - k, len(s)})
					break
				}
			}
			continue
		}
		for i := range s {
			if s[i] == p[0] || startsWith(g.extra[i], p[0]) {
				spell(g, i, p, tail, &hits)
			}
		}
	}
	if len(hits) == 0 {
		return s
	}
	slices.SortFunc(hits, func(a, b span) int { return a.from - b.from })
	var b strings.Builder
	last := 0
	for _, h := range hits {
		if h.to <= last {
			continue
		}
		if h.from < last {
			h.from = last
		} else {
			b.WriteString(s[last:h.from])
			b.WriteString(redacted)
		}
		last = h.to
	}
	b.WriteString(s[last:])
	return b.String()
}

func startsWith(edges []edge, c byte) bool {
	for _, e := range edges {
		if e.label[0] == c {
			return true
		}
	}
	return false
}

// spell records the spans of the paths from start that spell p, and,
// when tail > 0, of those that reach the end of the text having spelled
// at least tail bytes of it.
func spell(g *graph, start int, p string, tail int, hits *[]span) {
	var seen map[[2]int]bool // (position, bytes spelled), where paths branch
	var walk func(at, k int)
	walk = func(at, k int) {
		if k == len(p) {
			*hits = append(*hits, span{start, at})
			return
		}
		if at == g.len() {
			if tail > 0 && k >= tail {
				*hits = append(*hits, span{start, at})
			}
			return
		}
		if g.branches(at) {
			if seen == nil {
				seen = map[[2]int]bool{}
			}
			if seen[[2]int{at, k}] {
				return
			}
			seen[[2]int{at, k}] = true
		}
		g.each(at, func(e edge) {
			if len(e.label) <= len(p)-k && p[k:k+len(e.label)] == e.label {
				walk(e.to, k+len(e.label))
			}
		})
	}
	walk(start, 0)
}
