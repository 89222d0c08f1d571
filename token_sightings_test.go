package flymachines

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// sightingsToken has the characters encodings treat specially: / + = and
// a space between scheme and token in the header.
const sightingsToken = "fm2_lJPECAAAAAAAA/Macaroon+For/Sightings=="

// encodings are the ways a server may echo text back: as is, and as URLs,
// JSON, HTML and base64 encode it.
var encodings = map[string]func(string) string{
	"raw":                  func(s string) string { return s },
	"query-escaped":        url.QueryEscape, // space as +
	"path-escaped":         url.PathEscape,
	"lowercase-percent":    func(s string) string { return lowerPercent(url.QueryEscape(s)) },
	"every-byte-percent":   func(s string) string { return everyByte(s, "%%%02X") },
	"double-percent":       func(s string) string { return url.QueryEscape(url.QueryEscape(s)) },
	"json-slash-escaped":   func(s string) string { return strings.ReplaceAll(jsonString(s), "/", `\/`) },
	"json-every-char":      func(s string) string { return everyByte(s, `\u%04x`) },
	"html-decimal-entity":  func(s string) string { return everyByte(s, "&#%d;") },
	"html-hex-entity":      func(s string) string { return everyByte(s, "&#x%x;") },
	"base64":               func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
	"base64-url-unpadded":  func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) },
	"base64-basic-auth":    func(s string) string { return base64.StdEncoding.EncodeToString([]byte("x:" + s)) },
	"json-then-query":      func(s string) string { return url.QueryEscape(strings.ReplaceAll(jsonString(s), "/", `\/`)) },
	"percent-inside-token": func(s string) string { return strings.ReplaceAll(s, "_", "%5F") },
}

func lowerPercent(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			b.WriteString("%" + strings.ToLower(s[i+1:i+3]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func everyByte(s, format string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, format, s[i])
	}
	return b.String()
}

func jsonString(s string) string {
	js, _ := json.Marshal(s)
	return string(js[1 : len(js)-1])
}

// sightings counts the token in out, in every encoding of the encodings
// table, of the whole header value and of the token alone.
func sightings(out string) (int, []string) {
	n, what := 0, []string(nil)
	for name, enc := range encodings {
		for _, secret := range []string{"FlyV1 " + sightingsToken, sightingsToken} {
			if c := strings.Count(out, enc(secret)); c > 0 {
				n += c
				what = append(what, name)
			}
		}
		// What a cut keeps of it: its first 16 characters, encoded.
		if c := strings.Count(out, enc(sightingsToken[:16])) - strings.Count(out, enc(sightingsToken)); c > 0 && name == "raw" {
			n += c
			what = append(what, name+"-prefix")
		}
	}
	return n, what
}

// echoPlaces are where a server can put text that reaches a client's logs
// or errors: the status line, headers, error bodies, redirects, 2xx bodies.
var echoPlaces = []struct {
	name string
	// answer writes the raw HTTP answer echoing enc.
	answer func(enc string) string
}{
	{"status line", func(e string) string { return "HTTP/1.1 " + e + " OK\r\n\r\n" }},
	{"not HTTP at all", func(e string) string { return e + "\r\n\r\n" }},
	{"header line", func(e string) string { return "HTTP/1.1 200 OK\r\n" + e + "\r\n\r\n" }},
	{"fly-request-id", func(e string) string { return httpAnswer(404, "Fly-Request-Id: "+e, `{"error":"not found"}`) }},
	{"error message", func(e string) string { return httpAnswer(400, "", `{"error":"bad token `+e+`"}`) }},
	{"lease-conflict message", func(e string) string {
		return httpAnswer(409, "", `{"status":"error","message":"held by `+e+`","code":"invalid"}`)
	}},
	{"error details", func(e string) string { return httpAnswer(422, "", `{"error":"x","details":{"token":"`+e+`"}}`) }},
	{"text body", func(e string) string { return httpAnswer(403, "Content-Type: text/plain", "forbidden: "+e) }},
	{"undeclared 2xx", func(e string) string { return httpAnswer(202, "", `{"error":"`+e+`"}`) }},
	{"unreadable 200", func(e string) string { return httpAnswer(200, "", `{"state":["`+e+`"]}`) }},
	{"redirect path", func(e string) string {
		return httpAnswer(302, "Location: /v1/apps/echo/"+strings.ReplaceAll(e, " ", "%20")+"/gone", "")
	}},
	{"redirect query", func(e string) string {
		return httpAnswer(307, "Location: /v1/apps/echo/m?t="+strings.ReplaceAll(e, " ", "+"), "")
	}},
}

func httpAnswer(status int, header, body string) string {
	if header != "" {
		header += "\r\n"
	}
	if !strings.Contains(header, "Content-Type") {
		header += "Content-Type: application/json\r\n"
	}
	return fmt.Sprintf("HTTP/1.1 %d %s\r\n%sContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		status, http.StatusText(status), header, len(body), body)
}

// echoServer answers each request with the answer of the place and
// encoding named in its path; a redirected request gets a 404.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				req, err := http.ReadRequest(bufio.NewReader(conn))
				if err != nil {
					return
				}
				_, value, _ := strings.Cut(req.Header.Get("Authorization"), " ")
				// /v1/apps/{place}/machines/{encoding}
				parts := strings.Split(req.URL.Path, "/")
				if len(parts) != 6 || parts[4] != "machines" {
					fmt.Fprint(conn, httpAnswer(404, "", `{"error":"gone"}`))
					return
				}
				place, enc := parts[3], encodings[parts[5]]
				secret := "FlyV1 " + value
				if strings.HasPrefix(place, "redirect") {
					secret = value
				}
				for _, p := range echoPlaces {
					if placeSlug(p.name) == place && enc != nil {
						fmt.Fprint(conn, p.answer(enc(secret)))
						return
					}
				}
				fmt.Fprint(conn, httpAnswer(500, "", `{"error":"unknown place"}`))
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

func placeSlug(name string) string { return strings.ReplaceAll(name, " ", "-") }

// reachableTexts is everything a program or an error reporter can get out
// of err: its text in every fmt form, and for each error errors.Unwrap and
// errors.As can reach, its text, its fmt forms, its JSON and every string
// held in its fields, exported or not.
func reachableTexts(err error) []string {
	var out []string
	seenErr := map[error]bool{}
	var walk func(e error)
	walk = func(e error) {
		if e == nil || isComparable(e) && seenErr[e] {
			return
		}
		if isComparable(e) {
			seenErr[e] = true
		}
		out = append(out, e.Error(), fmt.Sprintf("%v|%+v|%#v|%s|%q", e, e, e, e, e))
		if js, err := json.Marshal(e); err == nil {
			out = append(out, string(js))
		}
		out = append(out, deepStrings(reflect.ValueOf(e), 0, map[uintptr]bool{})...)
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		case interface{ Unwrap() []error }:
			for _, inner := range u.Unwrap() {
				walk(inner)
			}
		}
	}
	walk(err)
	return out
}

func isComparable(e error) bool { return reflect.TypeOf(e).Comparable() }

// deepStrings collects the strings and byte slices held anywhere in v.
func deepStrings(v reflect.Value, depth int, seen map[uintptr]bool) []string {
	if !v.IsValid() || depth > 12 {
		return nil
	}
	var out []string
	switch v.Kind() {
	case reflect.String:
		out = append(out, v.String())
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		if v.Kind() == reflect.Pointer {
			if seen[v.Pointer()] {
				return nil
			}
			seen[v.Pointer()] = true
		}
		out = append(out, deepStrings(v.Elem(), depth+1, seen)...)
	case reflect.Struct:
		for i := range v.NumField() {
			out = append(out, deepStrings(v.Field(i), depth+1, seen)...)
		}
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			if b := v.Bytes(); utf8.Valid(b) || len(b) > 0 {
				out = append(out, string(b))
			}
			return out
		}
		for i := range min(v.Len(), 256) {
			out = append(out, deepStrings(v.Index(i), depth+1, seen)...)
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			out = append(out, deepStrings(iter.Key(), depth+1, seen)...)
			out = append(out, deepStrings(iter.Value(), depth+1, seen)...)
		}
	}
	return out
}

// TestTokenSightings echoes the token from every place a server can put
// text, in every encoding, and counts where it shows up: debug logs, error
// texts, and everything reachable by unwrapping the errors. None may.
func TestTokenSightings(t *testing.T) {
	t.Parallel()
	base := echoServer(t)
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := newTestClient(t, base, WithToken(sightingsToken), WithLogger(logger), WithoutRetries())

	total, leaky, inLogs := 0, 0, 0
	for _, place := range echoPlaces {
		for name := range encodings {
			logs.Reset()
			_, err := callShow(t, c, placeSlug(place.name), name)
			if err == nil {
				t.Errorf("%s, %s: no error", place.name, name)
				continue
			}
			texts := append([]string{logs.String()}, reachableTexts(err)...)
			n, how := sightings(strings.Join(texts, "\n"))
			if n > 0 {
				t.Errorf("%s, %s: %d sightings (%v)", place.name, name, n, how)
				leaky++
			}
			if n, _ := sightings(logs.String()); n > 0 {
				inLogs += n
			}
			total += n
		}
	}
	t.Logf("%d token sightings (%d in debug logs) in %d of %d echoes", total, inLogs, leaky, len(echoPlaces)*len(encodings))
}

// TestSightingsCountsWhatItShould: the counter itself finds the token in
// every encoding, so a zero means something.
func TestSightingsCountsWhatItShould(t *testing.T) {
	t.Parallel()
	for name, enc := range encodings {
		if n, _ := sightings("x" + enc("FlyV1 "+sightingsToken) + "x"); n == 0 {
			t.Errorf("%s: not counted", name)
		}
	}
	if n, _ := sightings(reachableTexts(fmt.Errorf("w: %w", errors.New(sightingsToken)))[0]); n == 0 {
		t.Error("a wrapped error's text not counted")
	}
}

// FuzzRedact: whatever surrounds it, the token in any encoding of the
// table is gone from Redact's output, and Redact never panics.
func FuzzRedact(f *testing.F) {
	names := slices.Sorted(maps.Keys(encodings))
	for i := range names {
		f.Add("before ", " after", uint8(i), false)
		f.Add(`{"e":"`, `"}`, uint8(i), true)
		f.Add("%", "%2", uint8(i), false)
		f.Add("\\u00", "&#", uint8(i), true)
	}
	tok, err := ParseToken(sightingsToken)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, prefix, suffix string, which uint8, header bool) {
		secret := sightingsToken
		if header {
			secret = "FlyV1 " + sightingsToken
		}
		enc := encodings[names[int(which)%len(names)]](secret)
		out := tok.Redact(prefix + enc + suffix)
		if strings.Contains(out, enc) || strings.Contains(out, sightingsToken) {
			t.Fatalf("the token survived: %q", out)
		}
		_ = tok.Redact(prefix + suffix)
	})
}

// BenchmarkRedact: redacting an error body of the largest size kept
// (64 KiB): plain, full of escapes, and made to be slow.
func BenchmarkRedact(b *testing.B) {
	tok, _ := ParseToken(sightingsToken)
	texts := map[string]string{
		"plain":   strings.Repeat(`{"error":"machine not found","details":{"a":1}} `, 64<<10/48),
		"escaped": strings.Repeat(`%2F\u0041&#47;+a%25 `, 64<<10/20),
	}
	// What a hostile server would send to make redaction slow: runs of
	// what decoders read, nested.
	for _, unit := range []string{`\\`, "%25", "+", `\u005c`, "%5C", "&amp;", "%2B"} {
		texts["run of "+unit] = strings.Repeat(unit, 64<<10/len(unit))
	}
	for name, text := range texts {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				tok.Redact(text)
			}
		})
	}
}
