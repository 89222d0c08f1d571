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
// encoded twice). Matching runs on decoded views of the text, each byte of
// which remembers the span of the original it came from; the spans that
// hold the token are replaced.

// maxDecodeDepth bounds nested encodings.
const maxDecodeDepth = 3

// view is text decoded from the original: view byte i came from
// original[span[i].from:span[i].to].
type view struct {
	text string
	span []span
}

type span struct{ from, to int32 }

func identityView(s string) view {
	v := view{text: s, span: make([]span, len(s))}
	for i := range s {
		v.span[i] = span{int32(i), int32(i + 1)}
	}
	return v
}

// A decoder reads one encoded unit at the start of s: the bytes it stands
// for and how many bytes of s it takes, or ok false when s does not start
// with one. Units start with one of the decoder's triggers.
type decoder struct {
	triggers string
	read     func(s string) (out string, n int, ok bool)
}

var decoders = []decoder{
	{"%", decodePercent},
	{"%+", decodePercentPlus},
	{`\`, decodeJSONEscape},
	{"&", decodeHTMLEntity},
}

// decodeWith decodes every unit of v that d reads, leaving other bytes as
// they are; ok false when nothing was decoded.
func (v view) decodeWith(d decoder) (view, bool) {
	if !strings.ContainsAny(v.text, d.triggers) {
		return view{}, false
	}
	out := view{span: make([]span, 0, len(v.text))}
	var b strings.Builder
	changed := false
	for i := 0; i < len(v.text); {
		if dec, n, ok := d.read(v.text[i:]); ok {
			whole := span{v.span[i].from, v.span[i+n-1].to}
			for range len(dec) {
				out.span = append(out.span, whole)
			}
			b.WriteString(dec)
			i += n
			changed = true
			continue
		}
		b.WriteByte(v.text[i])
		out.span = append(out.span, v.span[i])
		i++
	}
	out.text = b.String()
	return out, changed
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

// decodePercentPlus reads %XX and + for a space, as in a query string.
func decodePercentPlus(s string) (string, int, bool) {
	if s != "" && s[0] == '+' {
		return " ", 1, true
	}
	return decodePercent(s)
}

// decodeJSONEscape reads JSON's (and JavaScript's) backslash escapes.
func decodeJSONEscape(s string) (string, int, bool) {
	if len(s) < 2 || s[0] != '\\' {
		return "", 0, false
	}
	switch s[1] {
	case '/', '\\', '"', '\'':
		return s[1:2], 2, true
	case 'n':
		return "\n", 2, true
	case 't':
		return "\t", 2, true
	case 'r':
		return "\r", 2, true
	case 'b':
		return "\b", 2, true
	case 'f':
		return "\f", 2, true
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

// mayBeEncoded reports whether s has a byte any decoder starts on.
func mayBeEncoded(s string) bool { return strings.ContainsAny(s, "%+\\&") }

// maxViewBytes bounds the memory views of one text may take: a long text
// full of escapes is decoded less deep.
const maxViewBytes = 4 << 20

// views is s decoded every way, nested up to maxDecodeDepth, s included.
func views(s string) []view {
	all := []view{identityView(s)}
	if !mayBeEncoded(s) {
		return all
	}
	seen := map[string]bool{s: true}
	budget := maxViewBytes - 9*len(s)
	frontier := all
	for range maxDecodeDepth {
		var next []view
		for _, v := range frontier {
			for _, d := range decoders {
				if budget < 9*len(v.text) {
					return append(all, next...)
				}
				if dv, changed := v.decodeWith(d); changed && !seen[dv.text] {
					seen[dv.text] = true
					budget -= 9 * len(dv.text)
					next = append(next, dv)
				}
			}
		}
		all = append(all, next...)
		frontier = next
	}
	return all
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

// redactSecrets replaces every occurrence of the secrets in s, in any
// encoding views reads, and a start of one (at least minTail bytes) that
// ends the text, with the placeholder.
func redactSecrets(s string, secrets []string, minTail int) string {
	if s == "" || len(secrets) == 0 {
		return s
	}
	patterns := secretPatterns(secrets)
	var hits []span
	for _, v := range views(s) {
		for _, p := range patterns {
			for at := 0; ; {
				i := strings.Index(v.text[at:], p)
				if i < 0 {
					break
				}
				i += at
				hits = append(hits, span{v.span[i].from, v.span[i+len(p)-1].to})
				at = i + len(p)
			}
		}
		// A text cut short may end in the start of a secret.
		for _, sec := range secrets {
			for k := min(len(sec)-1, len(v.text)); k >= minTail; k-- {
				if strings.HasSuffix(v.text, sec[:k]) {
					hits = append(hits, span{v.span[len(v.text)-k].from, int32(len(s))})
					break
				}
			}
		}
	}
	if len(hits) == 0 {
		return s
	}
	slices.SortFunc(hits, func(a, b span) int { return int(a.from - b.from) })
	var b strings.Builder
	last := int32(0)
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
