package flymachines

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultUserAgent is the User-Agent sent unless WithUserAgent says otherwise.
const DefaultUserAgent = "flymachines-go"

// Header names the chain reads or writes.
const (
	headerAuthorization = "Authorization"
	headerUserAgent     = "User-Agent"
	headerRequestID     = "fly-request-id"
	headerRetryAfter    = "Retry-After"
)

// Limits on what is kept of an error response. The generated readers decode
// at most maxErrorBody bytes of it; APIError keeps at most maxErrorSnippet
// bytes of raw text when the body is not the API's JSON.
const (
	maxErrorBody    = 64 << 10
	maxErrorSnippet = 4 << 10
)

// DefaultMaxResponseBytes is the most of a success answer the client reads
// unless WithMaxResponseBytes says otherwise: 64 MiB, a list of some
// 20,000 Machines with their configs. Decoding takes about three times as
// much memory.
const DefaultMaxResponseBytes = 64 << 20

// ErrResponseTooLarge is matched by a *ResponseTooLargeError.
var ErrResponseTooLarge = errors.New("flymachines: answer too large")

// ResponseTooLargeError is a success answer longer than the client reads
// (DefaultMaxResponseBytes, WithMaxResponseBytes). The call fails with it,
// as an answer it cannot use (ErrUnexpectedAnswer), and is not retried.
type ResponseTooLargeError struct {
	Limit int64 // bytes
}

func (e *ResponseTooLargeError) Error() string {
	return fmt.Sprintf("flymachines: the answer is longer than %d bytes (see WithMaxResponseBytes)", e.Limit)
}

// Unwrap makes a *ResponseTooLargeError match ErrResponseTooLarge.
func (e *ResponseTooLargeError) Unwrap() error { return ErrResponseTooLarge }

// cappedBody reads at most limit bytes of a body, then fails.
type cappedBody struct {
	rc    io.ReadCloser
	left  int64
	limit int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly limit bytes from a longer one.
		var one [1]byte
		if n, err := b.rc.Read(one[:]); n == 0 {
			return 0, readFailed(err)
		}
		return 0, &ResponseTooLargeError{Limit: b.limit}
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, readFailed(err)
}

// bodyReadError is a success answer's body that could not be read to its
// end: the connection broke, or the call's time ran out while the body
// came. decorate makes it a transport failure, which a repeatable call
// retries, not an answer that was read and could not be used.
type bodyReadError struct{ err error }

func (e *bodyReadError) Error() string { return e.err.Error() }
func (e *bodyReadError) Unwrap() error { return e.err }

// readFailed marks err, unless it is nil or the body's normal end.
func readFailed(err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	return &bodyReadError{err}
}

func (b *cappedBody) Close() error { return b.rc.Close() }

// A middleware wraps a RoundTripper with one concern.
type middleware func(next http.RoundTripper) http.RoundTripper

// roundTripFunc is an http.RoundTripper made of a function. A func prints
// as an address, so whatever a layer holds stays out of %v output.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// chainSettings is what the layers need.
type chainSettings struct {
	token     Token
	origin    *url.URL // the base URL: the only place the token may go
	socket    bool     // requests go over a local Unix socket
	userAgent string
	logger    *slog.Logger
	maxBody   int64 // most of a success answer read
}

// newChain wraps base in the layers every request goes through. They are
// listed outermost first; each request (and each redirect hop, which
// http.Client sends through the chain again) passes them top to bottom.
// Retries and client-side rate limits live one level up, in the submitter,
// so each attempt passes every layer and is logged and captured on its own.
// authorize stays last, so it judges the exact URL that goes on the wire.
func newChain(base http.RoundTripper, s chainSettings) http.RoundTripper {
	layers := []middleware{
		logExchanges(s.logger, s.token),
		captureResponse(s.maxBody),
		setUserAgent(s.userAgent),
		authorize(s.token, s.origin, s.socket),
	}
	rt := base
	for i := len(layers) - 1; i >= 0; i-- {
		rt = layers[i](rt)
	}
	return rt
}

// logExchanges logs each exchange at debug level: method, path, status,
// duration and request id. Never headers, query strings or bodies. What
// the server controls (the path after a redirect, the request id, the
// transport's error text, which can quote a malformed answer) goes
// through the token's redaction first.
func logExchanges(l *slog.Logger, tok Token) middleware {
	return func(next http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			ctx := req.Context()
			if !l.Enabled(ctx, slog.LevelDebug) {
				return next.RoundTrip(req)
			}
			start := time.Now()
			resp, err := next.RoundTrip(req)
			attrs := []slog.Attr{
				slog.String("method", req.Method),
				slog.String("path", tok.redact(req.URL.EscapedPath())),
				slog.Duration("duration", time.Since(start)),
			}
			if c := callFrom(ctx); c != nil {
				attrs = append(attrs, slog.String("op", c.op), slog.Int("attempt", c.attempt))
			}
			if err != nil {
				attrs = append(attrs, slog.String("error", tok.redact(err.Error())))
				l.LogAttrs(ctx, slog.LevelDebug, "flymachines: request failed", attrs...)
				return resp, err
			}
			attrs = append(attrs,
				slog.Int("status", resp.StatusCode),
				slog.String("request_id", cleanText(tok.redact(resp.Header.Get(headerRequestID)), maxRequestID)))
			l.LogAttrs(ctx, slog.LevelDebug, "flymachines: request", attrs...)
			return resp, nil
		})
	}
}

// exchange is what the chain learns about the response to one API call. The
// submitter puts one in the request context and reads it to decorate
// errors; after a redirect it describes the last hop. It is written and
// read on the goroutine that submits the call.
type exchange struct {
	status      int
	requestID   string
	retryAfter  string
	contentType string
	body        []byte // the start of a non-2xx body, at most maxErrorSnippet bytes
}

type exchangeKey struct{}

func withExchange(ctx context.Context) (context.Context, *exchange) {
	x := new(exchange)
	return context.WithValue(ctx, exchangeKey{}, x), x
}

func exchangeFrom(ctx context.Context) *exchange {
	x, _ := ctx.Value(exchangeKey{}).(*exchange)
	return x
}

// captureResponse records status, fly-request-id and Retry-After. It reads
// a non-2xx body up front, at most maxErrorBody bytes of it, and hands the
// reader that in-memory copy: a hostile body cannot exhaust memory, and the
// start of the body is kept for the error message even when the generated
// reader cannot decode it or never reads it. A success body is read as it
// is decoded, up to maxBody bytes.
func captureResponse(maxBody int64) middleware {
	return func(next http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			resp, err := next.RoundTrip(req)
			if err != nil {
				return resp, err
			}
			x := exchangeFrom(req.Context())
			if x != nil {
				*x = exchange{
					status:      resp.StatusCode,
					requestID:   resp.Header.Get(headerRequestID),
					retryAfter:  resp.Header.Get(headerRetryAfter),
					contentType: resp.Header.Get("Content-Type"),
				}
			}
			switch {
			case resp.Body == nil:
			case resp.StatusCode/100 == 2:
				resp.Body = &cappedBody{rc: resp.Body, left: maxBody, limit: maxBody}
			default:
				body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
				_ = resp.Body.Close()
				var rest io.Reader = bytes.NewReader(body)
				if readErr != nil {
					rest = io.MultiReader(rest, errReader{readErr})
				}
				resp.Body = io.NopCloser(rest)
				if x != nil {
					x.body = body[:min(len(body), maxErrorSnippet)]
				}
			}
			return resp, nil
		})
	}
}

// errReader fails every read with err.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// setUserAgent sets User-Agent unless the request has one.
func setUserAgent(ua string) middleware {
	return func(next http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			if req.Header.Get(headerUserAgent) == "" {
				req = req.Clone(req.Context())
				req.Header.Set(headerUserAgent, ua)
			}
			return next.RoundTrip(req)
		})
	}
}

// authorize adds the token to requests for the base URL's origin (same
// scheme, host and port) that pass the host policy. Every other request, which only a
// redirect can make, loses its Authorization and lease nonce headers, and
// one with a body (a 307 or 308 of a create, say, whose env may hold
// secrets) is not sent at all: neither the token, nor a lease, nor a
// request body leaves the base URL's origin.
func authorize(tok Token, origin *url.URL, socket bool) middleware {
	header := tok.authorization()
	return func(next http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			// Over a Unix socket nothing crosses a network: the host
			// policy is about networks.
			if sameOrigin(req.URL, origin) && (socket || hostPolicyAllows(req.URL)) {
				if header != "" && req.Header.Get(headerAuthorization) == "" {
					req = req.Clone(req.Context())
					req.Header.Set(headerAuthorization, header)
				}
				return next.RoundTrip(req)
			}
			if req.Body != nil && req.Body != http.NoBody {
				_ = req.Body.Close()
				return nil, &crossOriginError{to: tok.redact(req.URL.Scheme + "://" + req.URL.Host)}
			}
			if req.Header.Get(headerAuthorization) != "" || req.Header.Get(headerLeaseNonce) != "" {
				req = req.Clone(req.Context())
				req.Header.Del(headerAuthorization)
				req.Header.Del(headerLeaseNonce)
			}
			return next.RoundTrip(req)
		})
	}
}

// crossOriginError is a redirect to another origin that was not followed
// because the request has a body. Nothing was sent there; the API's
// redirect means it did not act on the request either.
type crossOriginError struct{ to string }

func (e *crossOriginError) Error() string {
	return "flymachines: a redirect to another origin (" + e.to + ") would carry the request body: not followed"
}

// refusedRedirect reports a *crossOriginError.
func refusedRedirect(err error) bool {
	_, ok := errors.AsType[*crossOriginError](err)
	return ok
}

func sameOrigin(a, b *url.URL) bool {
	return a != nil && b != nil &&
		strings.EqualFold(a.Scheme, b.Scheme) &&
		strings.EqualFold(a.Hostname(), b.Hostname()) &&
		portOf(a) == portOf(b)
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "http") {
		return "80"
	}
	return "443"
}

// defaultBaseTransport bounds connecting and the TLS handshake, but not the
// exchange itself: a server-side wait holds its response for up to a
// minute, and per-call limits come from contexts and parameters.
func defaultBaseTransport() *http.Transport {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 proxyForHTTPS(nil),
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
	}
}

// proxyForHTTPS uses proxy (nil: HTTPS_PROXY and friends) for HTTPS
// requests only: plain HTTP goes to loopback or the private network, and
// through a proxy it would carry the token in clear text.
func proxyForHTTPS(proxy func(*http.Request) (*url.URL, error)) func(*http.Request) (*url.URL, error) {
	if proxy == nil {
		proxy = http.ProxyFromEnvironment
	}
	return func(req *http.Request) (*url.URL, error) {
		if req.URL.Scheme != "https" {
			return nil, nil
		}
		return proxy(req)
	}
}

// baseTransport is the transport under the chain for the caller's
// http.Client: this package's default when it has none (not
// http.DefaultTransport, which would send plain HTTP to HTTP_PROXY), and
// for an *http.Transport with a proxy and a plain-HTTP base URL, a copy
// that never proxies plain HTTP. Other RoundTrippers are used as they are.
// For a Unix socket base URL, the transport dials the socket and never a
// proxy; it must then be an *http.Transport (or none).
func baseTransport(base *url.URL, rt http.RoundTripper) (http.RoundTripper, error) {
	if isSocket(base) {
		var t *http.Transport
		switch v := rt.(type) {
		case nil:
			t = defaultBaseTransport()
		case *http.Transport:
			t = v.Clone()
		default:
			return nil, fmt.Errorf("%w: a unix socket needs an *http.Transport to dial it, not a %T", ErrInvalidBaseURL, rt)
		}
		var d net.Dialer
		t.Proxy = nil
		t.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", base.Path)
		}
		// Every connection is to the socket: the caller's other dialers
		// would reach the network for an https URL (a redirect's).
		// (Dial and DialTLS are deprecated, but still used when set.)
		t.Dial, t.DialTLS, t.DialTLSContext = nil, nil, nil
		return t, nil
	}
	if rt == nil {
		return defaultBaseTransport(), nil
	}
	t, ok := rt.(*http.Transport)
	if !ok || base.Scheme != "http" || t.Proxy == nil {
		return rt, nil
	}
	cp := t.Clone()
	cp.Proxy = proxyForHTTPS(t.Proxy)
	return cp, nil
}
