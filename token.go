package flymachines

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// ErrInvalidToken is matched by every error about a token that cannot be
// sent: empty, malformed, or of an unknown form. Such errors never quote the
// token.
var ErrInvalidToken = errors.New("flymachines: invalid API token")

// ErrNoToken means New found no token: neither WithToken nor FLY_API_TOKEN
// nor FLY_ACCESS_TOKEN gave one.
var ErrNoToken = errors.New("flymachines: no API token: use WithToken or set FLY_API_TOKEN")

// TokenKind says how a token is sent in the Authorization header.
type TokenKind int

// The token kinds.
const (
	// TokenBearer is a plain access token, sent as "Bearer <token>".
	TokenBearer TokenKind = iota + 1
	// TokenMacaroon is one or several comma-joined macaroon tokens
	// (fm1r_, fm1a_, fm2_ or m2. prefixes), sent as "FlyV1 <tokens>".
	TokenMacaroon
)

func (k TokenKind) String() string {
	switch k {
	case TokenBearer:
		return "Bearer"
	case TokenMacaroon:
		return "FlyV1"
	}
	return "TokenKind(" + fmt.Sprint(int(k)) + ")"
}

// macaroonPrefixes mark the tokens that go out with the FlyV1 scheme.
var macaroonPrefixes = []string{"fm1r_", "fm1a_", "fm2_", "m2."}

// minTokenLen is the shortest token part accepted. Real Fly tokens are far
// longer; the bound keeps redaction meaningful (see Token.redact).
const minTokenLen = 8

const redacted = "[REDACTED]"

// Token is an API token ready for the Authorization header. Its String,
// GoString, Format, MarshalText and LogValue show only its kind, never its
// value. It holds the value inside a closure: fmt prints a func as an
// address whatever the verb, so even a struct that holds a Token in an
// unexported field (where fmt cannot call the methods above) does not show
// it. The zero Token is empty and sends no header.
type Token struct {
	s func() tokenSecret
}

type tokenSecret struct {
	kind   TokenKind
	header string   // the full Authorization header value
	parts  []string // the token(s) alone, for redaction
}

// ParseToken classifies a token as Fly's tools do and prepares its
// Authorization header:
//
//   - surrounding whitespace and newlines (as printed by `fly auth token`)
//     are trimmed, also around each part of a comma-joined list;
//   - a value that already starts with "FlyV1 " or "Bearer " is sent as
//     given (the scheme is matched without regard to case);
//   - a value with at least one macaroon part (fm1r_, fm1a_, fm2_, m2.) is
//     sent as "FlyV1 <parts joined by commas>";
//   - any other single value is a plain access token, sent as "Bearer <t>".
//
// An empty value, an empty part, a part shorter than 8 characters or with a
// character outside printable ASCII, or several plain tokens joined by
// commas is an error matching ErrInvalidToken. Quotes and backslashes are
// refused too. The error never quotes the
// token.
func ParseToken(raw string) (Token, error) {
	v := strings.TrimSpace(raw)
	if v == "" {
		return Token{}, fmt.Errorf("%w: empty", ErrInvalidToken)
	}
	scheme, rest, hasScheme := strings.Cut(v, " ")
	switch {
	case hasScheme && strings.EqualFold(scheme, "FlyV1"):
		parts, err := splitTokenParts(rest)
		if err != nil {
			return Token{}, err
		}
		return newToken(TokenMacaroon, "FlyV1", parts), nil
	case hasScheme && strings.EqualFold(scheme, "Bearer"):
		parts, err := splitTokenParts(rest)
		if err != nil {
			return Token{}, err
		}
		if len(parts) != 1 {
			return Token{}, fmt.Errorf("%w: a Bearer token cannot be a comma-joined list", ErrInvalidToken)
		}
		return newToken(TokenBearer, "Bearer", parts), nil
	}
	parts, err := splitTokenParts(v)
	if err != nil {
		return Token{}, err
	}
	for _, p := range parts {
		if isMacaroon(p) {
			return newToken(TokenMacaroon, "FlyV1", parts), nil
		}
	}
	if len(parts) != 1 {
		return Token{}, fmt.Errorf("%w: several comma-joined tokens, none of them a macaroon (fm1r_, fm1a_, fm2_, m2.)", ErrInvalidToken)
	}
	return newToken(TokenBearer, "Bearer", parts), nil
}

func newToken(kind TokenKind, scheme string, parts []string) Token {
	sec := tokenSecret{
		kind:   kind,
		header: scheme + " " + strings.Join(parts, ","),
		parts:  parts,
	}
	return Token{s: func() tokenSecret { return sec }}
}

// splitTokenParts splits a comma-joined list and checks every part. Errors
// name positions, never content.
func splitTokenParts(v string) ([]string, error) {
	raw := strings.Split(v, ",")
	parts := make([]string, 0, len(raw))
	for i, p := range raw {
		p = strings.TrimSpace(p)
		where := ""
		if len(raw) > 1 {
			where = fmt.Sprintf(" (part %d of %d)", i+1, len(raw))
		}
		if p == "" {
			return nil, fmt.Errorf("%w: empty%s", ErrInvalidToken, where)
		}
		if len(p) < minTokenLen {
			return nil, fmt.Errorf("%w: too short to be a Fly API token%s", ErrInvalidToken, where)
		}
		for j := 0; j < len(p); j++ {
			if c := p[j]; c <= ' ' || c > '~' || c == '"' || c == '\\' {
				return nil, fmt.Errorf("%w: character %d%s is not allowed in a token", ErrInvalidToken, j+1, where)
			}
		}
		parts = append(parts, p)
	}
	return parts, nil
}

func isMacaroon(p string) bool {
	for _, pfx := range macaroonPrefixes {
		if strings.HasPrefix(p, pfx) {
			return true
		}
	}
	return false
}

// Kind reports how the token is sent; 0 for the zero Token.
func (t Token) Kind() TokenKind {
	if t.s == nil {
		return 0
	}
	return t.s().kind
}

// IsZero reports whether t holds no token.
func (t Token) IsZero() bool { return t.s == nil }

// String shows the scheme and a placeholder, e.g. "FlyV1 [REDACTED]".
func (t Token) String() string {
	if t.s == nil {
		return "<no token>"
	}
	return t.s().kind.String() + " " + redacted
}

// GoString is String: %#v never shows the token either.
func (t Token) GoString() string { return "flymachines.Token(" + t.String() + ")" }

// Format makes every fmt verb print String (or GoString for %#v).
func (t Token) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(t.GoString()))
		return
	}
	_, _ = f.Write([]byte(t.String()))
}

// MarshalText keeps encoders (JSON, YAML, slog's text handlers) from seeing
// the token.
func (t Token) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// LogValue keeps log/slog from seeing the token.
func (t Token) LogValue() slog.Value { return slog.StringValue(t.String()) }

// authorization is the Authorization header value; "" for the zero Token.
func (t Token) authorization() string {
	if t.s == nil {
		return ""
	}
	return t.s().header
}

// minRedactTail is the shortest token prefix redact removes from the end of
// a text: what is left of a token when the text was cut short.
const minRedactTail = 6

// Redact replaces the token in s, for text that came from elsewhere, such
// as a server echoing it: the whole Authorization value or any part of
// it, as is or encoded (percent-encoding, + for space, JSON and HTML
// escapes, base64, hex, nested up to three deep), and the start of one
// that ends a text cut short. Every error and log line of this package has
// been through it; use it for what you print of the API's answers.
func (t Token) Redact(s string) string { return t.redact(s) }

// redact is Redact.
func (t Token) redact(s string) string {
	if t.s == nil || s == "" {
		return s
	}
	sec := t.s()
	return redactSecrets(s, append([]string{sec.header}, sec.parts...), minRedactTail)
}
