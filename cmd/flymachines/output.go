package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	flymachines "github.com/flymachines/flymachines-go"
)

// What the CLI prints often comes from the API: names, states, images,
// metadata, error messages. A server (or whoever set those values) must
// not be able to drive the terminal with it (ANSI colours and cursor
// moves, OSC title changes and hyperlinks, 8-bit C1 controls, bidi
// overrides that reorder what is shown), nor make the CLI print the token.

// safeOutput wraps one of the CLI's outputs: each write has the token
// redacted (when redact is set) and every control character but newline
// and tab, and every bidi control, replaced by U+FFFD. Bytes that may
// start a rune split across writes wait for the next write, or for Flush.
type safeOutput struct {
	w      io.Writer
	redact func(string) string

	mu      sync.Mutex
	pending []byte
}

func newSafeOutput(w io.Writer, redact func(string) string) *safeOutput {
	return &safeOutput{w: w, redact: redact}
}

func (o *safeOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	buf := append(o.pending, p...)
	cut := len(buf)
	for i := len(buf) - 1; i >= 0 && i >= len(buf)-utf8.UTFMax; i-- {
		if utf8.RuneStart(buf[i]) {
			if !utf8.FullRune(buf[i:]) {
				cut = i
			}
			break
		}
	}
	o.pending = append([]byte(nil), buf[cut:]...)
	if _, err := io.WriteString(o.w, o.clean(string(buf[:cut]))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes what waits for the rest of a rune.
func (o *safeOutput) Flush() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.pending) == 0 {
		return nil
	}
	s := o.clean(string(o.pending))
	o.pending = nil
	_, err := io.WriteString(o.w, s)
	return err
}

func (o *safeOutput) clean(s string) string {
	if o.redact != nil {
		s = o.redact(s)
	}
	return terminalSafe(s)
}

// terminalSafe replaces invalid UTF-8, control characters other than
// newline and tab (ESC, BEL, CR, DEL, the C1 range with CSI and OSC) and
// bidi controls with U+FFFD.
func terminalSafe(s string) string {
	if !strings.ContainsFunc(s, unsafeRune) && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r == utf8.RuneError || unsafeRune(r) {
			b.WriteRune(utf8.RuneError)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	if r == '\n' || r == '\t' {
		return false
	}
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
}

// jsonTerminalSafe escapes, as \uXXXX, what terminalSafe would replace in
// encoded JSON: the C1 range, DEL and bidi controls (encoding/json escapes
// the rest of the controls itself). They can only stand inside strings,
// so the JSON stays valid and its values exact.
func jsonTerminalSafe(js []byte) []byte {
	if !bytes.ContainsFunc(js, unsafeRune) {
		return js
	}
	var b bytes.Buffer
	for _, r := range string(js) {
		if r != utf8.RuneError && unsafeRune(r) {
			fmt.Fprintf(&b, `\u%04x`, r)
			continue
		}
		b.WriteRune(r)
	}
	return b.Bytes()
}

// envTokenRedactor redacts the tokens in the environment (FLY_API_TOKEN,
// FLY_ACCESS_TOKEN) from text, in any encoding flymachines.Token.Redact
// knows; nil when there are none.
func envTokenRedactor() func(string) string {
	var toks []flymachines.Token
	for _, name := range []string{flymachines.EnvAPIToken, flymachines.EnvAccessToken} {
		if v := strings.TrimSpace(os.Getenv(name)); v != "" {
			if tok, err := flymachines.ParseToken(v); err == nil {
				toks = append(toks, tok)
			}
		}
	}
	if len(toks) == 0 {
		return nil
	}
	return func(s string) string {
		for _, tok := range toks {
			s = tok.Redact(s)
		}
		return s
	}
}
