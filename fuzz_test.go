package flymachines

// Fuzz targets for the code that reads untrusted input: tokens (from the
// environment), base URLs (from the environment) and error responses
// (from the server). Their seed corpora run as unit tests; fuzz with
//
//	go test -run XXX -fuzz FuzzParseToken -fuzztime 75s .

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/flymachines/flymachines-go/client/ops"
)

// tokenErrorShape is every message ParseToken may return: errors name
// positions, never content.
var tokenErrorShape = regexp.MustCompile(`^flymachines: invalid API token: (` +
	`empty|too short to be a Fly API token|character \d+ is not allowed in a token|` +
	`empty \(part \d+ of \d+\)|too short to be a Fly API token \(part \d+ of \d+\)|character \d+ \(part \d+ of \d+\) is not allowed in a token|` +
	`a Bearer token cannot be a comma-joined list|` +
	`several comma-joined tokens, none of them a macaroon \(fm1r_, fm1a_, fm2_, m2\.\))$`)

// addresses are pointers in fmt output: they differ from token to token
// without saying anything about the token.
var addresses = regexp.MustCompile(`0x[0-9a-f]+`)

// renderings is every way a program might print or encode a token.
func renderings(tok Token) string {
	type exported struct{ T Token }
	type unexported struct{ t Token }
	var b strings.Builder
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s", "%T"} {
		fmt.Fprintf(&b, verb+"|", tok)
		fmt.Fprintf(&b, verb+"|", &tok)
		fmt.Fprintf(&b, verb+"|", exported{tok})
		fmt.Fprintf(&b, verb+"|", unexported{tok})
		fmt.Fprintf(&b, verb+"|", []Token{tok})
		fmt.Fprintf(&b, verb+"|", map[string]Token{"k": tok})
	}
	fmt.Fprint(&b, tok.String(), tok.GoString(), tok.LogValue().String())
	text, _ := tok.MarshalText()
	js, _ := json.Marshal(map[string]any{"t": tok, "e": exported{tok}})
	b.Write(text)
	b.Write(js)
	slog.New(slog.NewTextHandler(&b, nil)).Info("m", "tok", tok, "s", exported{tok})
	slog.New(slog.NewJSONHandler(&b, nil)).Info("m", "tok", tok)
	out := addresses.ReplaceAllString(b.String(), "0xADDR")
	// slog stamps the time; it says nothing about the token.
	return regexp.MustCompile(`time=\S+|"time":"[^"]*"`).ReplaceAllString(out, "TIME")
}

// FuzzParseToken: ParseToken never panics; an accepted token has a kind
// and a well-formed header that parses back to itself, and every way of
// printing it is the same as for any other token of its kind; a refused
// one gets an error that names positions, never content.
func FuzzParseToken(f *testing.F) {
	for _, tc := range tokenCases {
		f.Add(tc.in)
	}
	for _, s := range []string{
		"", " ", "\n", ",", ",,", "Bearer", "Bearer ", "FlyV1", "FlyV1 ,", "FlyV1 fm2_aaaaaaaa,",
		"REDACTED", "[REDACTED]", "Bearer [REDACTED]", "flymachines", "fm2_", "m2.", "m2.short",
		"fo1_abc defghijkl", "fo1_abc\x00defghijkl", "fo1_abcdéfghijkl", `fo1_abc"defghijkl`, `fo1_abc\defghijk`,
		"fo1_aaaaaaaa11,fo1_bbbbbbbb22", "Bearer fo1_aaaaaaaa11,fo1_bbbbbbbb22", "Bearer a b c d e f g h",
		"FlyV1\tfm2_aaaaaaaa11", "Bearer  fo1_aaaaaaaa11", "FLYV1 FLYV1 fm2_aaaaaaaa11", "Basic dXNlcjpwYXNzd29yZA==",
		"fm2_aaaaaaaa11\r\nX-Injected: yes", strings.Repeat("fm2_a,", 100), strings.Repeat("x", 10000),
		"fm2_aaaaaaaa11,\u00a0,fm2_bbbbbbbb22", "\u2028fo1_aaaaaaaa11\u2029", "12345678901234567890",
	} {
		f.Add(s)
	}
	refs := map[TokenKind]Token{}
	for kind, in := range map[TokenKind]string{TokenBearer: "Bearer referenceOnly0", TokenMacaroon: "FlyV1 fm2_referenceOnly0"} {
		tok, err := ParseToken(in)
		if err != nil {
			f.Fatal(err)
		}
		refs[kind] = tok
	}
	want := map[TokenKind]string{}
	for kind, tok := range refs {
		want[kind] = renderings(tok)
	}

	f.Fuzz(func(t *testing.T, raw string) {
		tok, err := ParseToken(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("error %v does not match ErrInvalidToken", err)
			}
			if !tok.IsZero() || tok.Kind() != 0 || tok.authorization() != "" {
				t.Fatalf("a refused token is not the zero Token: %v", tok)
			}
			if !tokenErrorShape.MatchString(err.Error()) {
				t.Fatalf("unexpected error text (may quote the token): %q", err.Error())
			}
			return
		}
		if tok.IsZero() {
			t.Fatal("an accepted token is the zero Token")
		}
		kind := tok.Kind()
		if kind != TokenBearer && kind != TokenMacaroon {
			t.Fatalf("kind %v", kind)
		}

		header := tok.authorization()
		scheme, value, ok := strings.Cut(header, " ")
		if !ok || scheme != kind.String() || value == "" {
			t.Fatalf("header %q for kind %v", header, kind)
		}
		for i := 0; i < len(value); i++ {
			if c := value[i]; c <= ' ' || c > '~' || c == '"' || c == '\\' {
				t.Fatalf("header %q: byte %d (%q) cannot go in a header", header, i, c)
			}
		}
		parts := strings.Split(value, ",")
		for _, p := range parts {
			if len(p) < minTokenLen {
				t.Fatalf("header %q has a part shorter than %d", header, minTokenLen)
			}
		}
		if kind == TokenBearer && len(parts) != 1 {
			t.Fatalf("a Bearer header with several parts: %q", header)
		}
		// Without a scheme, the kind follows from the macaroon prefixes.
		first, _, _ := strings.Cut(strings.TrimSpace(raw), " ")
		if !strings.EqualFold(first, "Bearer") && !strings.EqualFold(first, "FlyV1") {
			anyMacaroon := false
			for _, p := range parts {
				anyMacaroon = anyMacaroon || isMacaroon(p)
			}
			if anyMacaroon != (kind == TokenMacaroon) {
				t.Fatalf("kind %v for parts %q", kind, parts)
			}
		}

		// The header is a token too, and parses back to itself.
		again, err := ParseToken(header)
		if err != nil || again.authorization() != header || again.Kind() != kind {
			t.Fatalf("header %q parses to %q, %v, %v", header, again.authorization(), again.Kind(), err)
		}

		// However it is printed, it prints like any other token of its kind.
		if got := renderings(tok); got != want[kind] {
			t.Fatalf("output depends on the token's value:\n got %s\nwant %s", got, want[kind])
		}

		// Redaction removes every occurrence. (A token that shares text
		// with the marker, "[REDACTED]", can be spelled back by the marker
		// itself; real tokens are base64 and never do.)
		if !strings.ContainsAny(value, "[]") && !strings.Contains(value, "REDACTED") {
			for _, s := range []string{header, value, "a " + header + " b " + value, parts[0] + parts[len(parts)-1], "x" + value[:len(value)-1]} {
				red := tok.redact(s)
				for _, p := range append(parts, header) {
					if strings.Contains(red, p) {
						t.Fatalf("redact(%q) = %q still holds %q", s, red, p)
					}
				}
			}
		}
	})
}

// plaintextAllowed is the base URL policy written out independently of
// allowsPlaintext: loopback names and addresses, *.internal names and the
// Fly private network fdaa::/16.
func plaintextAllowed(host string) bool {
	h := strings.ToLower(host)
	h = strings.TrimSuffix(h, ".")
	if h == "localhost" || strings.HasSuffix(h, ".internal") {
		return true
	}
	if i := strings.IndexByte(h, '%'); i >= 0 && strings.Contains(h, ":") {
		h = h[:i] // an IPv6 zone
	}
	ip := net.ParseIP(h)
	if ip == nil {
		return false
	}
	if ip.IsLoopback() {
		return true
	}
	return ip.To4() == nil && ip[0] == 0xfd && ip[1] == 0xaa
}

// FuzzParseBaseURL: parseBaseURL never panics, and a URL it accepts is
// http(s) with a host, no credentials, query or fragment, plain HTTP only
// to loopback, *.internal or fdaa::/16; it parses back to itself, and a
// client built on it sends its requests, with the token, to that origin.
func FuzzParseBaseURL(f *testing.F) {
	for _, s := range []string{
		PublicBaseURL, WireGuardBaseURL, APIProxyBaseURL,
		"https://api.machines.dev/", "https://proxy.example.com/machines/", "HTTP://LOCALHOST:4280",
		"http://localhost.:4280", "http://127.8.9.10", "http://[::1]:4280", "http://[::ffff:127.0.0.1]:4280",
		"http://[fdaa:0:1a2b::3]:4280", "http://my-app.vm.my-app.internal:8080", "api.machines.dev",
		"_api.internal:4280", "127.0.0.1:4280", "[fdaa::3]:4280", "  api.machines.dev\n",
		"http://api.machines.dev", "http://10.0.0.1:4280", "http://[fdab::1]:4280", "http://internal",
		"http://.internal", "http://api.internal.example.com", "http://localhost.example.com", "",
		"ftp://api.machines.dev", "https://", "https://user:pass@api.machines.dev", "https://api.machines.dev/?x=1",
		"https://api.machines.dev/#frag", "https://api.machines.dev:bad", "http://[::1%25eth0]:4280",
		"http://[fe80::1%25en0]", "http://0x7f000001", "http://2130706433", "http://127.1", "http://[::127.0.0.1]",
		"http://localhost%00.evil.com", "http://evil.com%25.internal", "http://evil.com\\@localhost",
		"http://localhost:4280@evil.com", "//localhost:4280", "http:localhost", "http:/localhost", "https://a/b%2Fc/",
		"https://a/b c", "https://a?", "https://a#", "https://a/..", "localhost:99999", "[::1]", "::1", "fdaa::1",
		"http://[fdaa::1]:4280/a/b/", "https://xn--nxasmq6b.example", "HTTPS://API.MACHINES.DEV/V1/",
		// Found by fuzzing: the generated client lost or misread these paths.
		"0//0", "https://a/b%3Fx=1", "https://a/b%23frag", "https://a/b%25c", "https://a/x/../y/.", "0/00000%00000000000",
		// A Machine's socket, and schemes without "//" (read as a host name
		// until a review: "unix:/x" was https://unix/x).
		MachineSocketBaseURL, "unix:///run/../api.sock/", "unix:/x", "UNIX:///x", "unix:///", "unix://h/x", "unix:x",
		"http:/localhost:4280", "https:/api.machines.dev",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := parseBaseURL(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalidBaseURL) && !errors.Is(err, ErrInsecureBaseURL) {
				t.Fatalf("error %v matches neither ErrInvalidBaseURL nor ErrInsecureBaseURL", err)
			}
			return
		}
		if u.Scheme == "unix" {
			// Only an explicit unix URL names a socket: an absolute, clean
			// path and nothing else.
			if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(raw)), "unix:") {
				t.Fatalf("%q: read as a socket", raw)
			}
			if u.Host != "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" ||
				!strings.HasPrefix(u.Path, "/") || path.Clean(u.Path) != u.Path {
				t.Fatalf("%q: socket URL %#v", raw, u)
			}
			if again, err := parseBaseURL(u.String()); err != nil || again.String() != u.String() {
				t.Fatalf("%q -> %q -> %v, %v", raw, u, again, err)
			}
			return
		}
		if lower := strings.ToLower(strings.TrimSpace(raw)); strings.HasPrefix(lower, "unix:") && !strings.HasPrefix(lower, "unix://") &&
			(len(lower) == len("unix:") || lower[len("unix:")] < '0' || lower[len("unix:")] > '9') {
			// "unix:8080" may be a host called unix; "unix:/x" and
			// "unix:" are not.
			t.Fatalf("%q: a unix URL read as %s", raw, u)
		}
		switch {
		case u.Scheme != "http" && u.Scheme != "https":
			t.Fatalf("%q: scheme %q", raw, u.Scheme)
		case u.Hostname() == "":
			t.Fatalf("%q: no host", raw)
		case u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
			t.Fatalf("%q: accepted with credentials, query, fragment or opaque part: %#v", raw, u)
		case strings.HasSuffix(u.Path, "/"):
			t.Fatalf("%q: path %q keeps its trailing slash", raw, u.Path)
		case u.Scheme == "http" && !plaintextAllowed(u.Hostname()):
			t.Fatalf("%q: plain HTTP accepted to %q", raw, u.Hostname())
		case !hostPolicyAllows(u):
			t.Fatalf("%q: accepted, but the transport's policy refuses %s", raw, u)
		}
		again, err := parseBaseURL(u.String())
		if err != nil || again.String() != u.String() {
			t.Fatalf("%q -> %q -> %v, %v", raw, u, again, err)
		}

		// A client on it sends the token to that origin and nowhere else.
		tap := &requestTap{}
		c, err := New(WithToken(testMacaroon), WithBaseURL(raw), WithHTTPClient(&http.Client{Transport: tap}),
			WithoutRetries(), WithoutRateLimits())
		if err != nil {
			t.Fatalf("%q: parseBaseURL accepts it, New refuses: %v", raw, err)
		}
		if c.BaseURL() != u.String() {
			t.Fatalf("%q: BaseURL() = %q, want %q", raw, c.BaseURL(), u.String())
		}
		if _, err := c.Machines.Show(context.Background(), "app", "m1", nil); err != nil {
			t.Fatalf("%q: the call failed: %v", raw, err)
		}
		req := tap.last
		if req == nil {
			t.Fatalf("%q: nothing sent", raw)
		}
		if req.URL.Scheme != u.Scheme || !strings.EqualFold(req.URL.Host, u.Host) {
			t.Fatalf("%q: request went to %s://%s, want %s://%s", raw, req.URL.Scheme, req.URL.Host, u.Scheme, u.Host)
		}
		if want := u.Path + "/v1/apps/app/machines/m1"; req.URL.Path != want || req.URL.RawQuery != "" {
			t.Fatalf("%q: request to %q?%s, want %q", raw, req.URL.Path, req.URL.RawQuery, want)
		}
		if req.Header.Get("Authorization") != "FlyV1 "+testMacaroon {
			t.Fatalf("%q: Authorization %q", raw, req.Header.Get("Authorization"))
		}
	})
}

// fuzzTokens are the tokens FuzzDecorate's client holds; the server may
// echo any of them. Digits-only is a legal plain token and reads as a
// JSON number.
var fuzzTokens = []string{
	testMacaroon,
	testBearer,
	"fm2_firstPartQWERTY0123456789,fm1a_secondPartASDFGH0123456789",
	"98765432109876543210987654321",
}

// cannedAnswer answers every request with one scripted response; echo
// texts may hold {TOKEN}, {PART}, {LAST}, replaced by what the request
// carried.
type cannedAnswer struct {
	status      int
	contentType string
	body        []byte
	retryAfter  string
	requestID   string
}

func (c cannedAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	auth := r.Header.Get("Authorization")
	_, value, _ := strings.Cut(auth, " ")
	parts := strings.Split(value, ",")
	fill := func(s string) string {
		return strings.NewReplacer("{TOKEN}", auth, "{PART}", parts[0], "{LAST}", parts[len(parts)-1]).Replace(s)
	}
	h := http.Header{}
	h["Content-Type"] = []string{c.contentType}
	if c.retryAfter != "" {
		h["Retry-After"] = []string{fill(c.retryAfter)}
	}
	if c.requestID != "" {
		h["Fly-Request-Id"] = []string{fill(c.requestID)}
	}
	body := []byte(fill(string(c.body)))
	return &http.Response{StatusCode: c.status, Status: strconv.Itoa(c.status) + " X", Header: h,
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: r}, nil
}

// Bounds FuzzDecorate holds decorated errors to.
const (
	ellipsis    = len("…")
	maxErrorLen = 2048 // the whole Error() text
)

// FuzzDecorate: whatever status, body and headers the server sends, and
// wherever it echoes the token, a call returns an error (never a panic)
// that is an *APIError for every non-2xx status, with bounded,
// printable fields, sentinels that follow the status, and no token in any
// output.
func FuzzDecorate(f *testing.F) {
	seeds := []struct {
		status                 int
		ct                     string
		body, retry, requestID string
		tok                    uint8
		postgres               bool
	}{
		{404, "application/json", `{"error":"machine not found"}`, "", "01JREQ", 0, false},
		{401, "application/json", `{"error":"token {TOKEN} is not authorized"}`, "", "{TOKEN}", 0, false},
		{403, "text/plain", `forbidden for {PART} and {LAST}`, "", "{LAST}", 2, false},
		{409, "application/json", `{"error":"aborted: machine ID 1 lease currently held by a@b, expires at 2026-05-14 10:41:08 +0000 UTC"}`, "", "", 0, false},
		{412, "application/json", `{"error":"no room","status":"insufficient_capacity","details":{"t":"{TOKEN}"}}`, "", "", 1, false},
		{422, "application/json", `{"error":"taken","status":"name_taken"}`, "", "", 0, false},
		{429, "application/json", `{"error":"rate limit exceeded"}`, "7", "", 0, false},
		{429, "application/json", `{}`, "Wed, 21 Oct 2099 07:28:00 GMT", "", 0, false},
		{429, "application/json", `{}`, "-1", "", 0, false},
		{408, "application/json", `{"error":"deadline_exceeded: timeout"}`, "", "", 0, false},
		{500, "text/html", `<html>{TOKEN}</html>`, "", "a\r\nb", 0, false},
		{502, "application/json", `{"error":` + strings.Repeat(`"x`, 3000), "", "", 0, false},
		{503, "application/json", strings.Repeat("y", 5000) + "{TOKEN}", "", "", 0, false},
		{400, "application/json", strings.Repeat(" ", maxErrorSnippet-10) + "{TOKEN}", "", "", 0, false},
		{400, "application/json", `{"error":"` + strings.Repeat("\\u0000", 2000) + `{PART}"}`, "", "", 2, false},
		{400, "application/json", `{"error":"bad \xff\xfe utf8 \u2028 {TOKEN}"}`, "", "", 1, false},
		{418, "application/json", `null`, "", "", 0, false},
		{404, "application/json", `{"error":"cluster {TOKEN} not found"}`, "", "", 0, true},
		{401, "application/json", `{"error":"{LAST}"}`, "", "", 2, true},
		{200, "application/json", `{"id":`, "", "", 0, false},
		{200, "application/json", `{"config":{"guest":{"cpus":{LAST}}}}`, "", "", 3, false},
		{200, "application/json", `{"state":{LAST}}`, "", "", 3, false},
		{204, "application/json", ``, "", "", 0, false},
		// Found by fuzzing: undeclared 2xx statuses, read as the default
		// (error) response, had their body quoted in the error unredacted.
		{290, "", `{"error":"{LAST}"}`, "", "", 2, true},
		{202, "application/json", `{"error":"{TOKEN}"}`, "", "", 0, false},
	}
	for _, s := range seeds {
		f.Add(s.status, s.ct, []byte(s.body), s.retry, s.requestID, s.tok, s.postgres)
	}
	f.Fuzz(func(t *testing.T, status int, ct string, body []byte, retry, requestID string, tokSel uint8, postgres bool) {
		if status < 200 || status > 599 {
			return
		}
		tokRaw := fuzzTokens[int(tokSel)%len(fuzzTokens)]
		tok, err := ParseToken(tokRaw)
		if err != nil {
			t.Fatal(err)
		}
		secrets := append([]string{tok.authorization()}, tok.s().parts...)
		answer := cannedAnswer{status: status, contentType: ct, body: body, retryAfter: retry, requestID: requestID}
		c, err := New(WithToken(tokRaw), WithBaseURL("https://fuzz.example"), WithHTTPClient(&http.Client{Transport: answer}),
			WithoutRetries(), WithoutRateLimits())
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		op := ops.MachinesShow
		if postgres {
			op = ops.PostgresListBackups
			_, err = c.Postgres.ListBackups(ctx, "cluster1")
		} else {
			_, err = c.Machines.Show(ctx, "app", "m1", nil)
		}

		if status/100 == 2 {
			if err == nil {
				return
			}
			if _, ok := errors.AsType[*APIError](err); ok {
				t.Fatalf("HTTP %d gave an *APIError: %v", status, err)
			}
			checkNoSecret(t, secrets, err.Error(), fmt.Sprintf("%+v", err))
			return
		}
		e, ok := errors.AsType[*APIError](err)
		if !ok {
			t.Fatalf("HTTP %d: err = %T %v, want an *APIError", status, err, err)
		}
		if e.StatusCode != status || e.Op != op {
			t.Fatalf("status %d op %q, want %d %s", e.StatusCode, e.Op, status, op)
		}
		for _, field := range []struct {
			name, v string
			max     int
		}{{"Message", e.Message, maxMessage}, {"Status", e.Status, maxStatusLen}, {"RequestID", e.RequestID, maxRequestID}} {
			if len(field.v) > field.max+ellipsis {
				t.Fatalf("%s is %d bytes, more than %d", field.name, len(field.v), field.max)
			}
			if !utf8.ValidString(field.v) || strings.ContainsFunc(field.v, unicode.IsControl) || strings.ContainsAny(field.v, "\u2028\u2029") {
				t.Fatalf("%s %q has a line break, control character or invalid UTF-8", field.name, field.v)
			}
		}
		if len(e.Details) > maxErrorSnippet || (len(e.Details) > 0 && !json.Valid(e.Details)) {
			t.Fatalf("Details %d bytes, valid %v", len(e.Details), json.Valid(e.Details))
		}
		if e.RetryAfter < 0 || e.RetryAfter > maxRetryAfter || (status != http.StatusTooManyRequests && e.RetryAfter != 0) {
			t.Fatalf("RetryAfter %s for HTTP %d", e.RetryAfter, status)
		}
		msg := e.Error()
		if len(msg) > maxErrorLen {
			t.Fatalf("Error() is %d bytes", len(msg))
		}
		if !strings.HasPrefix(msg, "flymachines: "+op+": HTTP "+strconv.Itoa(status)) {
			t.Fatalf("Error() = %q does not say what failed", msg)
		}
		if strings.ContainsAny(msg, "\r\n") {
			t.Fatalf("Error() has a line break: %q", msg)
		}
		// Sentinels that follow from the status alone.
		for _, rule := range []struct {
			sentinel error
			match    bool
		}{
			{ErrNotFound, status == 404},
			{ErrUnauthorized, status == 401 || status == 403},
			{ErrRateLimited, status == 429},
			{ErrInvalidArgument, status == 400 || status == 422},
		} {
			if errors.Is(err, rule.sentinel) != rule.match {
				t.Fatalf("HTTP %d: errors.Is(err, %v) = %v", status, rule.sentinel, !rule.match)
			}
		}
		if (status == 409 || status == 412) && !errors.Is(err, ErrConflict) {
			t.Fatalf("HTTP %d is not ErrConflict", status)
		}
		if status == 408 && !errors.Is(err, ErrTimeout) {
			t.Fatal("HTTP 408 is not ErrTimeout")
		}
		if errors.Is(err, ErrLeaseHeld) != errors.As(err, new(*LeaseHeldError)) {
			t.Fatal("ErrLeaseHeld without a *LeaseHeldError, or the reverse")
		}
		checkNoSecret(t, secrets, msg, fmt.Sprintf("%v|%+v|%#v|%s|%q", err, err, err, err, err),
			e.Message, e.Status, e.RequestID, string(e.Details))
	})
}

func checkNoSecret(t *testing.T, secrets []string, outputs ...string) {
	t.Helper()
	for _, out := range outputs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Fatalf("a token is in the output: %q", out)
			}
		}
	}
}
