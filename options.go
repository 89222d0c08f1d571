package flymachines

import (
	"log/slog"
	"net/http"

	"go.opentelemetry.io/otel/trace"
)

// An Option configures New.
type Option func(*config)

// config is what the options collect; New resolves it against the
// environment and checks it.
type config struct {
	token      *string // nil: not given, look in the environment
	baseURL    *string // nil: not given, look in the environment
	httpClient *http.Client
	userAgent  string
	logger     *slog.Logger
	retry      *RetryPolicy // nil: DefaultRetryPolicy
	rateLimits *RateLimits  // nil: DefaultRateLimits
	noLimits   bool
	tracer     trace.TracerProvider
	socketPath string // PreferMachineSocket: use this socket when on a Machine
	maxBody    int64  // 0: DefaultMaxResponseBytes
}

// WithToken sets the API token, taking precedence over FLY_API_TOKEN and
// FLY_ACCESS_TOKEN. See ParseToken for the accepted forms. An empty token is
// an error at New, not a fallback to the environment.
func WithToken(token string) Option {
	return func(c *config) { c.token = &token }
}

// WithBaseURL sets the API endpoint, taking precedence over
// FLY_API_HOSTNAME: PublicBaseURL, WireGuardBaseURL, APIProxyBaseURL or any
// other URL, with or without a scheme. Plain HTTP is accepted only to
// loopback and the Fly private network.
func WithBaseURL(baseURL string) Option {
	return func(c *config) { c.baseURL = &baseURL }
}

// WithHTTPClient sets the http.Client the requests go through. New uses a
// shallow copy whose Transport is wrapped in the client's chain (user
// agent, auth, request ids, logging); hc itself is not changed. A nil
// Transport means http.DefaultTransport. Leave hc.Timeout at zero or above
// a minute: the wait helpers cut their server-side waits to fit in it.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) { c.httpClient = hc }
}

// WithUserAgent sets the User-Agent header, replacing DefaultUserAgent.
func WithUserAgent(ua string) Option {
	return func(c *config) { c.userAgent = ua }
}

// WithLogger logs each HTTP exchange at debug level: method, path, status,
// duration and fly-request-id, never headers or bodies. The default
// discards.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithRetryPolicy tunes retries (see RetryPolicy for what is retried).
func WithRetryPolicy(p RetryPolicy) Option {
	return func(c *config) { c.retry = &p }
}

// WithoutRetries sends every call once.
func WithoutRetries() Option {
	return func(c *config) { c.retry = &RetryPolicy{MaxAttempts: 1} }
}

// WithRateLimits replaces the client-side rate limits (DefaultRateLimits).
func WithRateLimits(l RateLimits) Option {
	return func(c *config) { c.rateLimits, c.noLimits = &l, false }
}

// WithoutRateLimits sends calls as fast as they come; the API answers 429
// past its limits, and those answers are retried.
func WithoutRateLimits() Option {
	return func(c *config) { c.rateLimits, c.noLimits = nil, true }
}

// WithMaxResponseBytes sets the most of a success answer the client reads
// (DefaultMaxResponseBytes, 64 MiB, by default). A longer answer fails the
// call with a *ResponseTooLargeError. Error answers are read up to 64 KiB
// whatever this says.
func WithMaxResponseBytes(n int64) Option {
	return func(c *config) { c.maxBody = n }
}

// WithTracerProvider traces every API call with tp (OpenTelemetry): one
// client span per call, named by its operation id, with the app, the
// Machine, the number of attempts, the last HTTP status and fly-request-id
// as attributes, and each retry and client-side rate-limit wait as an
// event. Spans never hold the token, a header or a body. Without this
// option nothing is traced and nothing is spent on it.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tracer = tp }
}

// PreferMachineSocket talks to the Machine's own API socket
// (MachineSocketBaseURL) when the program runs on a Fly Machine
// (FLY_MACHINE_ID is set and the socket is there), with or without a
// token; elsewhere the base URL is resolved as without it. WithBaseURL
// still wins.
func PreferMachineSocket() Option {
	return func(c *config) { c.socketPath = MachineSocketPath }
}
