// Package inmem serves an http.Handler to an http.Client without a network:
// the request is handed to the handler in the caller's goroutine and the
// recorded answer comes back as the response. Tests use it to run the
// emulator inside a testing/synctest bubble, where a socket would defeat
// the fake clock.
package inmem

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
)

// ErrConnectionLost is what a request gets when the handler aborts the
// answer (panic(http.ErrAbortHandler), as a server dropping the connection
// does) or panics.
var ErrConnectionLost = errors.New("inmem: connection lost before the answer")

// Transport returns a RoundTripper that serves every request with h.
func Transport(h http.Handler) http.RoundTripper { return transport{h} }

type transport struct{ h http.Handler }

func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		defer req.Body.Close()
	}
	rec := httptest.NewRecorder()
	if err := serve(t.h, rec, serverSide(req)); err != nil {
		return nil, err
	}
	if err := req.Context().Err(); err != nil {
		return nil, err // the caller gave up: a real client would not see the answer
	}
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// serverSide is req as a server would hand it to a handler.
func serverSide(req *http.Request) *http.Request {
	r := req.Clone(req.Context())
	r.RequestURI = req.URL.RequestURI()
	r.Host = req.URL.Host
	r.RemoteAddr = "127.0.0.1:1"
	if r.Body == nil {
		r.Body = http.NoBody
	}
	return r
}

func serve(h http.Handler, w http.ResponseWriter, r *http.Request) (err error) {
	defer func() {
		switch p := recover(); {
		case p == nil:
		case p == http.ErrAbortHandler:
			err = ErrConnectionLost
		default:
			err = fmt.Errorf("%w: the handler panicked: %v", ErrConnectionLost, p)
		}
	}()
	h.ServeHTTP(w, r)
	return nil
}
