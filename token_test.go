package flymachines

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// tokenCases are the accepted token forms and the Authorization header each
// must produce. They are used here and on the wire in client_test.go.
var tokenCases = []struct {
	name, in, header string
	kind             TokenKind
}{
	{"plain access token", testBearer, "Bearer " + testBearer, TokenBearer},
	{"fm1r macaroon", "fm1r_abcdefgh12345678", "FlyV1 fm1r_abcdefgh12345678", TokenMacaroon},
	{"fm1a macaroon", "fm1a_abcdefgh12345678", "FlyV1 fm1a_abcdefgh12345678", TokenMacaroon},
	{"fm2 macaroon", testMacaroon, "FlyV1 " + testMacaroon, TokenMacaroon},
	{"m2 macaroon", "m2.abcdefgh12345678", "FlyV1 m2.abcdefgh12345678", TokenMacaroon},
	{"comma-joined macaroons", "fm2_aaaaaaaa11,fm2_bbbbbbbb22", "FlyV1 fm2_aaaaaaaa11,fm2_bbbbbbbb22", TokenMacaroon},
	{"macaroon with a plain token", "fo1_plainplain,fm2_bbbbbbbb22", "FlyV1 fo1_plainplain,fm2_bbbbbbbb22", TokenMacaroon},
	{"fly auth token output", "  " + testMacaroon + "\n", "FlyV1 " + testMacaroon, TokenMacaroon},
	{"spaces around parts", " fm2_aaaaaaaa11 ,\tfm2_bbbbbbbb22\r\n", "FlyV1 fm2_aaaaaaaa11,fm2_bbbbbbbb22", TokenMacaroon},
	{"FlyV1 header given", "FlyV1 " + testMacaroon, "FlyV1 " + testMacaroon, TokenMacaroon},
	{"FlyV1 header with a plain token", "FlyV1 " + testBearer, "FlyV1 " + testBearer, TokenMacaroon},
	{"Bearer header given", "Bearer " + testBearer, "Bearer " + testBearer, TokenBearer},
	{"scheme in another case", "bearer " + testBearer, "Bearer " + testBearer, TokenBearer},
	{"Bearer header with a macaroon", "Bearer " + testMacaroon, "Bearer " + testMacaroon, TokenBearer},
}

func TestParseTokenKinds(t *testing.T) {
	t.Parallel()
	for _, tc := range tokenCases {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := ParseToken(tc.in)
			if err != nil {
				t.Fatalf("ParseToken: %v", err)
			}
			if got := tok.authorization(); got != tc.header {
				t.Errorf("header = %q, want %q", got, tc.header)
			}
			if tok.Kind() != tc.kind {
				t.Errorf("kind = %v, want %v", tok.Kind(), tc.kind)
			}
		})
	}
}

func TestParseTokenMalformed(t *testing.T) {
	t.Parallel()
	secret := "fo1_thisPartMustNotBeQuoted"
	cases := map[string]string{
		"empty":                    "",
		"whitespace only":          " \n\t ",
		"space inside":             "fo1_abc defghijkl",
		"too short":                "abc",
		"empty part":               "fm2_aaaaaaaa11,,fm2_bbbbbbbb22",
		"trailing comma":           "fm2_aaaaaaaa11,",
		"control character":        "fo1_abc\x00defghijkl",
		"non-ASCII":                "fo1_abcdéfghijkl",
		"quote":                    `fo1_abc"defghijkl`,
		"several plain tokens":     "fo1_aaaaaaaa11,fo1_bbbbbbbb22",
		"Bearer without token":     "Bearer ",
		"FlyV1 without token":      "FlyV1   ",
		"Bearer with a list":       "Bearer fo1_aaaaaaaa11,fo1_bbbbbbbb22",
		"secret with a bad char":   secret + "\x7f",
		"secret in a list, broken": secret + ", ,fm2_aaaaaaaa11",
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ParseToken(in)
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("err = %v, want ErrInvalidToken", err)
			}
			if strings.Contains(err.Error(), "thisPartMustNotBeQuoted") {
				t.Errorf("error quotes the token: %v", err)
			}
		})
	}
}

// TestTokenNeverPrinted formats a token every way a program might print or
// log it, alone and inside structs, and searches the output for it.
func TestTokenNeverPrinted(t *testing.T) {
	t.Parallel()
	tok, err := ParseToken(testMacaroon)
	if err != nil {
		t.Fatal(err)
	}
	type holder struct {
		Tok    Token
		hidden Token
		Ptr    *Token
	}
	h := holder{Tok: tok, hidden: tok, Ptr: &tok}
	var out bytes.Buffer
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		fmt.Fprintf(&out, verb+"\n", tok)
		fmt.Fprintf(&out, verb+"\n", &tok)
		fmt.Fprintf(&out, verb+"\n", h)
		fmt.Fprintf(&out, verb+"\n", &h)
		fmt.Fprintf(&out, verb+"\n", []any{tok, h})
	}
	js, _ := json.Marshal(h)
	out.Write(js)
	for _, handler := range []slog.Handler{
		slog.NewJSONHandler(&out, nil),
		slog.NewTextHandler(&out, nil),
	} {
		slog.New(handler).Info("token", "tok", tok, "holder", h, "ptr", &tok)
	}
	if bytes.Contains(out.Bytes(), []byte("lJPEC")) {
		t.Fatalf("token printed:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "FlyV1 [REDACTED]") {
		t.Errorf("the placeholder is missing:\n%s", out.String())
	}
}

func TestTokenRedact(t *testing.T) {
	t.Parallel()
	tok, err := ParseToken("fm2_aaaaaaaa11,fm2_bbbbbbbb22")
	if err != nil {
		t.Fatal(err)
	}
	got := tok.redact("echo FlyV1 fm2_aaaaaaaa11,fm2_bbbbbbbb22 and fm2_bbbbbbbb22 alone")
	if strings.Contains(got, "fm2_") {
		t.Errorf("redact left a part: %q", got)
	}
}

func TestTokenRedactCutText(t *testing.T) {
	t.Parallel()
	tok, err := ParseToken(testBearer)
	if err != nil {
		t.Fatal(err)
	}
	for cut := minRedactTail; cut < len(testBearer); cut++ {
		got := tok.redact("body ends with " + testBearer[:cut])
		if strings.Contains(got, testBearer[:minRedactTail]) {
			t.Fatalf("cut at %d: %q", cut, got)
		}
	}
	if got := tok.redact("nothing here"); got != "nothing here" {
		t.Errorf("redact changed innocent text: %q", got)
	}
}
