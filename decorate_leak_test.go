package flymachines

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Errors that are not *APIError can quote the server too. These were
// found by FuzzDecorate (the 2xx case) and by looking for other paths
// where the server's text reaches an error (the status line).

// TestTokenNotInMalformedStatusLineError: net/http quotes a malformed
// status line in its error; a server that puts the token there does not
// get it into ours.
func TestTokenNotInMalformedStatusLineError(t *testing.T) {
	t.Parallel()
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
			if req, err := http.ReadRequest(bufio.NewReader(conn)); err == nil {
				_, value, _ := strings.Cut(req.Header.Get("Authorization"), " ")
				fmt.Fprintf(conn, "HTTP/1.1 %s\r\n\r\n", value)
			}
			conn.Close()
		}
	}()
	c := newTestClient(t, "http://"+ln.Addr().String(), WithToken(testMacaroon), WithoutRetries())
	_, err = callShow(t, c, "a", "m")
	if err == nil {
		t.Fatal("want an error")
	}
	out := fmt.Sprintf("%v|%+v|%s", err, err, err.Error())
	if strings.Contains(out, "lJPEC") {
		t.Errorf("token in the error: %s", out)
	}
	if !strings.Contains(out, "malformed HTTP") || !strings.Contains(out, redacted) {
		t.Errorf("error = %s, want net/http's text with the token redacted", out)
	}
	// Still a transport error underneath.
	if _, ok := errors.AsType[*APIError](err); ok {
		t.Errorf("err = %T", err)
	}
}

// TestTokenNotInDecodeError: encoding/json quotes a number too large for
// its field; a digits-only token echoed as such a number in a 200 body
// does not get into the error.
func TestTokenNotInDecodeError(t *testing.T) {
	t.Parallel()
	const digitsToken = "98765432109876543210987654321"
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		_, value, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"config":{"guest":{"cpus":`+value+`}}}`)
	})
	c := newTestClient(t, rec.URL, WithToken(digitsToken), WithoutRetries())
	_, err := callShow(t, c, "a", "m")
	if err == nil {
		t.Fatal("want an error")
	}
	if out := fmt.Sprintf("%v|%+v", err, err); strings.Contains(out, digitsToken) || !strings.Contains(out, "unreadable answer of HTTP 200") {
		t.Errorf("error = %s", out)
	}
}

// TestRedactedErrorKeepsItsChain: the redaction does not hide what the
// error is.
func TestRedactedErrorKeepsItsChain(t *testing.T) {
	t.Parallel()
	tok, _ := ParseToken(testBearer)
	err := decorate("Machines_show", nil, fmt.Errorf("x: %w", context.DeadlineExceeded), tok, time.Now())
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrTimeout) {
		t.Errorf("err = %v, lost its kind", err)
	}
	// An error that holds no token is kept as it is.
	clean := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	err = decorate("Machines_show", nil, clean, tok, time.Now())
	if got, ok := errors.AsType[*net.OpError](err); !ok || got != clean || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("err = %v, lost its *net.OpError", err)
	}
	// One that holds it keeps its type, without the token.
	opErr := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("refused " + testBearer)}
	err = decorate("Machines_show", nil, opErr, tok, time.Now())
	got, ok := errors.AsType[*net.OpError](err)
	if !ok || got.Op != "dial" || !neverSent(err) {
		t.Errorf("err = %v, lost its *net.OpError", err)
	}
	for _, text := range reachableTexts(err) {
		if strings.Contains(text, testBearer) {
			t.Errorf("token reachable in %q", text)
		}
	}
}

// TestUndeclaredSuccessIsDecorated: a 2xx status the spec does not declare
// is a *call.Error of the generated reader; decorate makes it an answer
// this side cannot use (ErrUnexpectedAnswer), not an *APIError, and keeps
// nothing of its body (found by FuzzDecorate: the body was in Error()).
func TestUndeclaredSuccessIsDecorated(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("fly-request-id", "req-202")
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, `{"error":%q}`, r.Header.Get("Authorization"))
	})
	c := newTestClient(t, rec.URL, WithToken(testMacaroon))
	_, err := callShow(t, c, "a", "m")
	if err == nil {
		t.Fatal("want an error")
	}
	out := fmt.Sprintf("%v|%+v", err, err)
	if strings.Contains(out, "lJPEC") {
		t.Errorf("token in the error: %s", out)
	}
	if err.Error() != "flymachines: Machines_show: undeclared answer of HTTP 202" {
		t.Errorf("error = %s", err)
	}
	if !errors.Is(err, ErrUnexpectedAnswer) {
		t.Errorf("err = %v, want ErrUnexpectedAnswer", err)
	}
	if _, ok := errors.AsType[*APIError](err); ok {
		t.Errorf("err = %v: a 2xx is no *APIError", err)
	}
	if n := len(rec.requests()); n != 1 {
		t.Errorf("%d requests, want 1: a 2xx is not retried", n)
	}
}

// TestSuccessTheRuntimeCannotReadIsUnreadable: a declared success whose
// content type go-openapi's runtime has no reader for (or cannot parse)
// is refused before the generated reader sees it. It is an unreadable
// answer that says why, not an "undeclared" one, and keeps no token.
func TestSuccessTheRuntimeCannotReadIsUnreadable(t *testing.T) {
	t.Parallel()
	for _, ct := range []string{"application/x-weird", "this is not; a=content type;", "application/x-{TOKEN}", "{TOKEN}; x"} {
		rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", strings.ReplaceAll(ct, "{TOKEN}", strings.TrimPrefix(r.Header.Get("Authorization"), "FlyV1 ")))
			fmt.Fprintf(w, `{"id":%q}`, r.Header.Get("Authorization"))
		})
		c := newTestClient(t, rec.URL, WithToken(testMacaroon))
		_, err := callShow(t, c, "a", "m")
		if !errors.Is(err, ErrUnexpectedAnswer) {
			t.Fatalf("%s: err = %v, want ErrUnexpectedAnswer", ct, err)
		}
		if !strings.HasPrefix(err.Error(), "flymachines: Machines_show: unreadable answer of HTTP 200: ") {
			t.Errorf("%s: error = %s", ct, err)
		}
		if out := fmt.Sprintf("%v|%+v", err, err); strings.Contains(out, "lJPEC") {
			t.Errorf("token in the error: %s", out)
		}
		if n := len(rec.requests()); n != 1 {
			t.Errorf("%s: %d requests, want 1", ct, n)
		}
	}
}
