package flymachines

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/flymachines/flymachines-go/internal/inmem"
)

// Tokens of each kind used by the tests. They look like the real ones and
// are long enough to be searched for in output.
const (
	testBearer   = "fo1_plainAccessTokenForTests0123456789"
	testMacaroon = "fm2_lJPECAAAAAAAAMacaroonForTestsQWERTY=="
)

// recorded is one request as the recording server saw it.
type recorded struct {
	Method string
	Path   string // escaped
	Query  url.Values
	Header http.Header
	Body   []byte
}

// recorder is an httptest server that records every request and answers
// with respond (200 "{}" when nil): the wire-level check of what the client
// sends.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []recorded
}

func newRecorder(t *testing.T, respond http.HandlerFunc) *recorder {
	t.Helper()
	rec := &recorder{}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, recorded{
			Method: r.Method,
			Path:   r.URL.EscapedPath(),
			Query:  r.URL.Query(),
			Header: r.Header.Clone(),
			Body:   body,
		})
		rec.mu.Unlock()
		if respond == nil {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, "{}")
			return
		}
		respond(w, r)
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (r *recorder) requests() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

func (r *recorder) last(t *testing.T) recorded {
	t.Helper()
	reqs := r.requests()
	if len(reqs) == 0 {
		t.Fatal("the server got no request")
	}
	return reqs[len(reqs)-1]
}

// reply is one scripted answer of the fake.
type reply struct {
	status int
	body   string
	header map[string]string
	// holdFor makes the answer wait for the request's timeout query
	// parameter (as the API's wait does) or until the client gives up.
	holdFor bool
	delay   time.Duration
}

// script hands out replies in order and repeats the last one.
type script struct {
	mu      sync.Mutex
	replies []reply
	calls   int
	queries []url.Values
}

func (s *script) next(q url.Values) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queries = append(s.queries, q)
	s.calls++
	if len(s.replies) == 0 {
		return reply{status: http.StatusInternalServerError, body: `{"error":"unscripted"}`}
	}
	i := min(s.calls-1, len(s.replies)-1)
	return s.replies[i]
}

func (s *script) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func (s *script) seen() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]url.Values(nil), s.queries...)
}

// fakeMachine answers the three calls the wait helpers make, for one
// Machine, from scripts: wait, show and events.
type fakeMachine struct {
	wait, show, events script
}

// handler answers the three calls from the scripts.
func (f *fakeMachine) handler() http.Handler {
	mux := http.NewServeMux()
	handle := func(s *script) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			rp := s.next(r.URL.Query())
			if rp.holdFor {
				secs, _ := strconv.Atoi(r.URL.Query().Get("timeout"))
				select {
				case <-time.After(time.Duration(secs) * time.Second):
				case <-r.Context().Done():
					return
				}
			}
			if rp.delay > 0 {
				select {
				case <-time.After(rp.delay):
				case <-r.Context().Done():
					return
				}
			}
			for k, v := range rp.header {
				w.Header().Set(k, v)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(rp.status)
			_, _ = io.WriteString(w, rp.body)
		}
	}
	mux.HandleFunc("GET /v1/apps/{app}/machines/{id}/wait", handle(&f.wait))
	mux.HandleFunc("GET /v1/apps/{app}/machines/{id}", handle(&f.show))
	mux.HandleFunc("GET /v1/apps/{app}/machines/{id}/events", handle(&f.events))
	return mux
}

// memBaseURL is the base URL of servers reached in memory (internal/inmem):
// a private-network name, where plain HTTP is allowed, that never resolves.
const memBaseURL = "http://flytest.internal"

// client is a test client of the fake, served in memory so that a test
// can run in a synctest bubble. hc, if given, is the http.Client to use;
// its Transport is replaced.
func (f *fakeMachine) client(t *testing.T, hc *http.Client, opts ...Option) *Client {
	t.Helper()
	if hc == nil {
		hc = &http.Client{}
	}
	hc.Transport = inmem.Transport(f.handler())
	return newTestClient(t, memBaseURL, append([]Option{WithHTTPClient(hc)}, opts...)...)
}

// newTestClient is a client for a test server, with a fast wait pace.
func newTestClient(t *testing.T, baseURL string, opts ...Option) *Client {
	t.Helper()
	// Rate limits would pace the fakes' rapid calls, and full retry delays
	// slow the error tests down; their own tests set them as they need.
	all := append([]Option{WithToken(testBearer), WithBaseURL(baseURL), WithoutRateLimits(),
		WithRetryPolicy(RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond})}, opts...)
	c, err := New(all...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c.waitPace = 10 * time.Millisecond
	return c
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// sentinels are all the sentinels, for checking an error matches exactly
// the expected ones.
var sentinels = map[string]error{
	"ErrNotFound":        ErrNotFound,
	"ErrUnauthorized":    ErrUnauthorized,
	"ErrConflict":        ErrConflict,
	"ErrLeaseHeld":       ErrLeaseHeld,
	"ErrCapacity":        ErrCapacity,
	"ErrRateLimited":     ErrRateLimited,
	"ErrTimeout":         ErrTimeout,
	"ErrInvalidArgument": ErrInvalidArgument,
	"ErrWrongState":      ErrWrongState,
}
