package flymachines

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-openapi/runtime"
	httptransport "github.com/go-openapi/runtime/client"
	"github.com/go-openapi/strfmt"

	"github.com/flymachines/flymachines-go/client"
)

// Client is the Machines API client: every operation, one method each
// (c.Machines.Show(ctx, app, id), c.Apps.List(ctx, org, nil), ...: the
// generated client.API, embedded), plus the helpers of this package. Every
// call goes through the same transport: checks, auth, rate limits,
// retries and typed errors. It is safe for concurrent use.
type Client struct {
	*client.API

	baseURL    *url.URL
	httpClient *http.Client
	logger     *slog.Logger
	waitPace   time.Duration // least time between two server-side wait calls
	launches   *launches     // CreateMachine's launch ids
	maxBody    int64         // most of a success answer read
	sub        *submitter    // what every generated call is sent through
}

// defaultWaitPace keeps a server that answers 408 at once from turning a
// wait into a busy loop.
const defaultWaitPace = time.Second

// Environment variables New reads when the matching option is not given.
const (
	EnvAPIToken    = "FLY_API_TOKEN"
	EnvAccessToken = "FLY_ACCESS_TOKEN"
	EnvAPIHostname = "FLY_API_HOSTNAME"
)

// New returns a client configured by opts, with Fly's own defaults for what
// they leave out:
//
//   - the token is WithToken's, else FLY_API_TOKEN's, else
//     FLY_ACCESS_TOKEN's (empty variables count as unset);
//   - the base URL is WithBaseURL's, else FLY_API_HOSTNAME's (with or
//     without a scheme), else PublicBaseURL.
//
// New fails, before any request, when there is no token, when the token is
// empty or malformed (ErrInvalidToken, see ParseToken), or when the base URL
// is invalid or asks for plain HTTP outside loopback and the Fly private
// network (ErrInsecureBaseURL).
func New(opts ...Option) (*Client, error) {
	var cfg config
	for _, opt := range opts {
		if opt != nil {
			opt(&cfg)
		}
	}

	base, err := resolveBaseURL(cfg)
	if err != nil {
		return nil, err
	}
	tok, err := resolveToken(cfg.token)
	if errors.Is(err, ErrNoToken) && isSocket(base) {
		err = nil // a Machine's own socket answers about the Machine without one
	}
	if err != nil {
		return nil, err
	}
	ua := cfg.userAgent
	if ua == "" {
		ua = DefaultUserAgent
	}
	if strings.ContainsAny(ua, "\r\n") {
		return nil, fmt.Errorf("flymachines: user agent has a line break")
	}
	logger := cfg.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	maxBody := cfg.maxBody
	if maxBody <= 0 {
		maxBody = DefaultMaxResponseBytes
	}
	hc := &http.Client{}
	if cfg.httpClient != nil {
		cp := *cfg.httpClient
		hc = &cp
	}
	origin := requestOrigin(base)
	under, err := baseTransport(base, hc.Transport)
	if err != nil {
		return nil, err
	}
	hc.Transport = newChain(under, chainSettings{token: tok, origin: origin, socket: isSocket(base),
		userAgent: ua, logger: logger, maxBody: maxBody})

	rt := httptransport.NewWithClient(origin.Host, basePath(origin), []string{origin.Scheme}, hc)
	// go-openapi turns on dumps of whole requests and responses to stdout
	// when DEBUG or SWAGGER_DEBUG is set; bodies can hold secrets, and
	// WithLogger is the way to watch traffic here.
	rt.Debug = false
	// Every Machines API body is JSON, and a few answers are a bare token
	// as text. go-openapi would also decode XML, YAML, CSV and bytes into
	// a model; a body in any other type is refused instead, by the
	// generated reader: so an error page still becomes an *APIError, a
	// success that answers no body still succeeds, and call.Capture sees
	// every answer.
	rt.Consumers = map[string]runtime.Consumer{
		runtime.JSONMime: runtime.JSONConsumer(),
		runtime.TextMime: runtime.TextConsumer(),
		"*/*":            runtime.ConsumerFunc(func(io.Reader, any) error { return errContentType }),
	}
	retry := DefaultRetryPolicy()
	if cfg.retry != nil {
		retry = cfg.retry.normalized()
	}
	var limits *limiter
	if !cfg.noLimits {
		rl := DefaultRateLimits()
		if cfg.rateLimits != nil {
			rl = *cfg.rateLimits
		}
		limits = newLimiter(rl, retry.MaxDelay)
	}
	sub := &submitter{next: rt, formats: strfmt.Default, token: tok, now: time.Now,
		retry: retry, limits: limits, logger: logger}
	if cfg.tracer != nil {
		sub.tracer = cfg.tracer.Tracer(tracerName)
	}
	return &Client{
		API:        client.New(sub),
		baseURL:    base,
		httpClient: hc,
		logger:     logger,
		waitPace:   defaultWaitPace,
		launches:   newLaunches(),
		maxBody:    maxBody,
		sub:        sub,
	}, nil
}

func resolveToken(explicit *string) (Token, error) {
	if explicit != nil {
		return ParseToken(*explicit)
	}
	for _, name := range []string{EnvAPIToken, EnvAccessToken} {
		if v := strings.TrimSpace(os.Getenv(name)); v != "" {
			tok, err := ParseToken(v)
			if err != nil {
				return Token{}, fmt.Errorf("%s: %w", name, err)
			}
			return tok, nil
		}
	}
	return Token{}, ErrNoToken
}

// resolveBaseURL picks the base URL: WithBaseURL's; else, with
// PreferMachineSocket on a Fly Machine, its API socket; else
// FLY_API_HOSTNAME's; else the public API.
func resolveBaseURL(cfg config) (*url.URL, error) {
	if cfg.baseURL != nil {
		return parseBaseURL(*cfg.baseURL)
	}
	if cfg.socketPath != "" && onMachine(cfg.socketPath) {
		return parseBaseURL("unix://" + cfg.socketPath)
	}
	if v := strings.TrimSpace(os.Getenv(EnvAPIHostname)); v != "" {
		u, err := parseBaseURL(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvAPIHostname, err)
		}
		return u, nil
	}
	return parseBaseURL(PublicBaseURL)
}

// EnvMachineID is set on every Fly Machine to its id.
const EnvMachineID = "FLY_MACHINE_ID"

// onMachine reports running on a Fly Machine whose API socket is at path.
func onMachine(path string) bool {
	if os.Getenv(EnvMachineID) == "" {
		return false
	}
	fi, err := os.Stat(path)
	return err == nil && fi.Mode()&os.ModeSocket != 0
}

// basePath is the runtime's base path: the generated paths start with /v1.
func basePath(u *url.URL) string {
	if u.Path == "" {
		return "/"
	}
	return u.Path
}

// BaseURL is the endpoint the client talks to, e.g. "https://api.machines.dev"
// or "unix:///.fly/api".
func (c *Client) BaseURL() string { return c.baseURL.String() }

// String describes the client without anything secret.
func (c *Client) String() string { return "flymachines.Client(" + c.BaseURL() + ")" }

// GoString is String, for %#v.
func (c *Client) GoString() string { return c.String() }
