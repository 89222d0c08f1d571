package flymachines

// Success answers that do not arrive whole or arrive in a type the client
// does not read: what a call returns, whether it is retried, and what
// call.Capture saw.

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/flymachines/flymachines-go/call"
	"github.com/flymachines/flymachines-go/internal/inmem"
	"github.com/flymachines/flymachines-go/models"
)

// cutBody gives head, then fails with err; with err nil it waits for the
// request's context to end and fails with its error, as a network body
// whose next bytes never come does.
type cutBody struct {
	ctx  context.Context
	head io.Reader
	err  error
}

func (b *cutBody) Read(p []byte) (int, error) {
	if n, _ := b.head.Read(p); n > 0 {
		return n, nil
	}
	if b.err != nil {
		return 0, b.err
	}
	<-b.ctx.Done()
	return 0, b.ctx.Err()
}

func (b *cutBody) Close() error { return nil }

// TestSuccessBodyCutShort: a 2xx whose body the connection cuts, or whose
// body stops coming until the call's time runs out, failed on the way, not
// in what the server said: it is a transport failure (ErrTimeout for the
// clock, no ErrUnexpectedAnswer), retried when the operation is
// repeatable and not otherwise. A body that arrived whole but is not JSON
// is still an answer that cannot be used, and is not retried.
func TestSuccessBodyCutShort(t *testing.T) {
	t.Parallel()
	const attempts = 3 // newTestClient's policy
	for _, tc := range []struct {
		name    string
		readErr error // nil: the body stalls
		timeout bool
	}{
		{"connection cut", io.ErrUnexpectedEOF, false},
		{"connection reset", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, false},
		{"body stalls past the call's timeout", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				var sent atomic.Int32
				rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
					sent.Add(1)
					return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
						Body: &cutBody{ctx: r.Context(), head: strings.NewReader(`{"id":"m1","state":"sta`), err: tc.readErr}, Request: r}, nil
				})
				c := newTestClient(t, memBaseURL, WithHTTPClient(&http.Client{Transport: rt}))
				start := time.Now()
				_, err := c.Machines.Show(context.Background(), surfaceApp, surfaceMachine, nil)
				if errors.Is(err, ErrUnexpectedAnswer) || errors.Is(err, ErrTimeout) != tc.timeout || err == nil {
					t.Errorf("show: err = %v; want a transport failure, ErrTimeout %v", err, tc.timeout)
				}
				// Three attempts of 30 s each, and the backoff between them
				// (newTestClient's: milliseconds, with jitter).
				if took := time.Since(start); tc.timeout && (took < attempts*defaultCallTimeout || took > attempts*defaultCallTimeout+time.Second) {
					t.Errorf("show took %s, want three attempts of %s", took, defaultCallTimeout)
				}
				if n := sent.Load(); n != attempts {
					t.Errorf("show (repeatable) sent %d times, want %d", n, attempts)
				}

				sent.Store(0)
				err = c.Machines.Restart(context.Background(), surfaceApp, surfaceMachine, nil)
				if err != nil {
					t.Errorf("restart answers no body, so a cut one does not matter: %v", err)
				}
				_, err = c.Machines.Start(context.Background(), surfaceApp, surfaceMachine, nil)
				if errors.Is(err, ErrUnexpectedAnswer) || err == nil {
					t.Errorf("start: err = %v, want a transport failure", err)
				}
				if n := sent.Load(); n != 2 {
					t.Errorf("restart and start (not repeatable) sent %d times, want once each", n)
				}
			})
		})
	}

	// Whole, but not JSON: the server's answer, not the network's doing.
	synctest.Test(t, func(t *testing.T) {
		var sent atomic.Int32
		rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			sent.Add(1)
			return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(strings.NewReader(`{"id":"m1","state":"sta`)), Request: r}, nil
		})
		c := newTestClient(t, memBaseURL, WithHTTPClient(&http.Client{Transport: rt}))
		_, err := c.Machines.Show(context.Background(), surfaceApp, surfaceMachine, nil)
		if !errors.Is(err, ErrUnexpectedAnswer) || errors.Is(err, ErrTimeout) || sent.Load() != 1 {
			t.Errorf("truncated JSON: err = %v after %d attempts, want ErrUnexpectedAnswer after 1", err, sent.Load())
		}
	})
}

// TestAnswerInAnotherContentType: an answer whose content type is neither
// JSON nor text (a proxy's HTML page, say) reaches the generated reader:
// an error status is an *APIError with the page's text, a success of an
// operation that answers no body succeeds, a success that should hold a
// model is an unreadable answer naming the type, and call.Capture sees
// each of them.
func TestAnswerInAnotherContentType(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("fly-request-id", "req-html")
		if strings.HasSuffix(r.URL.Path, "/bad-gateway") {
			w.WriteHeader(http.StatusBadGateway)
		}
		_, _ = io.WriteString(w, "<html><body>upstream said no</body></html>")
	})
	c := newTestClient(t, rec.URL, WithoutRetries())
	ctx := context.Background()

	var meta call.Meta
	if err := c.Machines.Restart(ctx, surfaceApp, surfaceMachine, nil, call.Capture(&meta)); err != nil {
		t.Errorf("restart answered 200 with an HTML body: %v, want success (restart answers no body)", err)
	}
	if meta.StatusCode != http.StatusOK || meta.RequestID() != "req-html" {
		t.Errorf("restart: captured status %d, request id %q", meta.StatusCode, meta.RequestID())
	}

	meta = call.Meta{}
	_, err := c.Machines.Show(ctx, surfaceApp, "bad-gateway", nil, call.Capture(&meta))
	apiErr, ok := errors.AsType[*APIError](err)
	if !ok || apiErr.StatusCode != http.StatusBadGateway || !strings.Contains(apiErr.Message, "upstream said no") || apiErr.RequestID != "req-html" {
		t.Errorf("an HTML 502: err = %v, want an *APIError with the page's text", err)
	}
	if meta.StatusCode != http.StatusBadGateway || meta.RequestID() != "req-html" {
		t.Errorf("an HTML 502: captured status %d, request id %q", meta.StatusCode, meta.RequestID())
	}

	meta = call.Meta{}
	_, err = c.Machines.Show(ctx, surfaceApp, surfaceMachine, nil, call.Capture(&meta))
	if !errors.Is(err, ErrUnexpectedAnswer) || err.Error() != `flymachines: Machines_show: unreadable answer of HTTP 200: content type "text/html; charset=utf-8" is neither JSON nor text: not a content type the client reads` {
		t.Errorf("an HTML 200 for a Machine: err = %v", err)
	}
	if meta.StatusCode != http.StatusOK {
		t.Errorf("an HTML 200: captured status %d", meta.StatusCode)
	}
}

// TestExecTimeoutFromItsBody: an exec whose body gives the command more
// than 30 s gets that long and a margin before this side gives up, so the
// result of a command that runs 45 s is not lost; an exec without a
// timeout, or with a short one, keeps the default.
func TestExecTimeoutFromItsBody(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		timeout int64         // the body's
		runs    time.Duration // how long the command runs
		took    time.Duration
		err     error
	}{
		{"a minute for a 45 s command", 60, 45 * time.Second, 45 * time.Second, nil},
		{"no timeout, a 45 s command", 0, 45 * time.Second, defaultCallTimeout, ErrTimeout},
		{"5 s for a 20 s command", 5, 20 * time.Second, 20 * time.Second, nil},
		{"an absurd timeout", 1 << 62, 45 * time.Second, 45 * time.Second, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				c := newTestClient(t, memBaseURL, WithHTTPClient(&http.Client{Transport: inmem.Transport(holdingAPI(tc.runs))}), WithoutRetries())
				start := time.Now()
				_, err := c.Machines.Exec(context.Background(), surfaceApp, surfaceMachine,
					&models.MachineExecRequest{Command: []string{"sleep", "45"}, Timeout: tc.timeout})
				if took := time.Since(start); took != tc.took {
					t.Errorf("took %s, want %s", took, tc.took)
				}
				if tc.err == nil && err != nil || tc.err != nil && !errors.Is(err, tc.err) {
					t.Errorf("err = %v, want %v", err, tc.err)
				}
			})
		})
	}
}
