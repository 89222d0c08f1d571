package flymachines

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"
	"golang.org/x/net/http/httpguts"

	"github.com/go-openapi/runtime"
	"github.com/go-openapi/strfmt"

	"github.com/flymachines/flymachines-go/call"
	"github.com/flymachines/flymachines-go/client/ops"
	"github.com/flymachines/flymachines-go/models"
)

// submitter is the runtime.ContextualTransport the generated client sends
// every call through. It wraps go-openapi's runtime and is the one place
// where a call is checked before sending, given its lease nonce and its
// rate-limit slot, retried when that is safe, and has its errors
// decorated. What an operation allows comes from the facts table
// (client/ops, generated from gen/facts.yaml).
type submitter struct {
	next    runtime.ContextualTransport
	formats strfmt.Registry
	token   Token
	now     func() time.Time
	retry   RetryPolicy
	limits  *limiter // nil: no client-side rate limits
	logger  *slog.Logger
	tracer  trace.Tracer // nil: no spans
}

var _ runtime.ContextualTransport = (*submitter)(nil)

// Submit is SubmitContext with a background context: the generated client
// always passes its caller's context to SubmitContext.
func (s *submitter) Submit(op *runtime.ClientOperation) (any, error) {
	return s.SubmitContext(context.Background(), op)
}

// SubmitContext checks the request, adds what the operation carries (the
// lease nonce, a long poll's timeout), then sends it, retrying what may be
// retried, each attempt within the client-side rate limits, and decorates
// any error.
func (s *submitter) SubmitContext(ctx context.Context, op *runtime.ClientOperation) (any, error) {
	r, facts, c, err := s.check(op)
	if err != nil {
		return nil, err
	}
	if facts.LeaseNonce && r.HeaderValue(headerLeaseNonce) == "" {
		if l := leaseFrom(ctx, c.app, c.machine); l != nil {
			r.Header(headerLeaseNonce, l.Nonce())
		}
	}
	if r.Timeout <= 0 {
		r.Timeout = callTimeout(facts, r)
	}
	key := limitKeyOf(c)
	ctx, span := startSpan(ctx, s.tracer, c)
	if span != nil {
		// Deferred, so the span ends also when a layer below panics (a
		// caller's RoundTripper, a log handler) and the caller recovers.
		var last *exchange
		err = errCallAbandoned
		defer func() { span.end(c.attempt, last, s.token, err) }()
		var res any
		res, last, err = s.attempts(ctx, op, facts, c, key, span)
		return res, err
	}
	res, _, err := s.attempts(ctx, op, facts, c, key, nil)
	return res, err
}

// errCallAbandoned is the status of the span of a call that did not
// return: something under it panicked or called runtime.Goexit.
var errCallAbandoned = errors.New("flymachines: the call did not return (a panic or runtime.Goexit under it)")

// attempts sends op until it succeeds, fails for good, or runs out of
// attempts. It returns what the chain saw of the last answer too.
func (s *submitter) attempts(ctx context.Context, op *runtime.ClientOperation, facts ops.Op, c *callInfo, key limitKey, span *callSpan) (any, *exchange, error) {
	var x *exchange
	for {
		c.attempt++
		waited, err := s.limits.wait(ctx, key, facts.RateClass)
		span.rateLimited(waited)
		if err != nil {
			return nil, x, decorate(op.ID, nil, err, s.token, s.now())
		}
		var actx context.Context
		actx, x = withExchange(withCall(ctx, c))
		res, err := s.next.SubmitContext(actx, op)
		if err == nil {
			return res, x, nil
		}
		err = decorate(op.ID, x, err, s.token, s.now())
		var retryAfter time.Duration
		if apiErr, ok := errors.AsType[*APIError](err); ok && apiErr.StatusCode == http.StatusTooManyRequests {
			retryAfter = apiErr.RetryAfter
			s.limits.throttled(key, facts.RateClass, retryAfter)
		}
		if c.attempt >= s.retry.MaxAttempts || !shouldRetry(facts, classifyFailure(ctx, facts, err)) {
			return nil, x, err
		}
		if retryAfter > s.retry.MaxDelay {
			return nil, x, err // the server asks for a longer pause than the policy allows
		}
		delay := s.retry.backoff(c.attempt, retryAfter)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < delay {
			return nil, x, err // the wait would outlast the caller's deadline
		}
		s.logger.LogAttrs(ctx, slog.LevelDebug, "flymachines: retrying",
			slog.String("op", op.ID), slog.Int("attempt", c.attempt),
			slog.Duration("delay", delay), slog.String("error", err.Error()))
		span.retrying(c.attempt, delay, err)
		if sleepCtx(ctx, delay) != nil {
			return nil, x, err
		}
	}
}

// callInfo describes the API call a request belongs to, for the limiter and
// the layers of the chain below the submitter (logging).
type callInfo struct {
	op           string
	app, machine string // path parameters app_name and machine_id, if any
	attempt      int
}

type callKey struct{}

func withCall(ctx context.Context, c *callInfo) context.Context {
	cp := *c
	return context.WithValue(ctx, callKey{}, &cp)
}

func callFrom(ctx context.Context) *callInfo {
	c, _ := ctx.Value(callKey{}).(*callInfo)
	return c
}

// validatable is what generated models implement.
type validatable interface {
	Validate(strfmt.Registry) error
}

// check refuses, before anything is sent, a call the generated client did
// not build, one of an operation the facts table does not know, one made
// by hand that is not that operation (another method or path, a path
// parameter missing, twice or unknown), one whose
// path has an empty parameter (go-openapi would send "/v1/apps//machines"
// to some other endpoint), a dot segment ("/v1/apps/a/machines/.." is
// the app itself to a server that removes dot segments) or a slash, one
// with an empty required query or header parameter (a lease release
// without its nonce), one with a header net/http would refuse to send (a line break in a value
// would otherwise be a transport error, retried as if the network had
// failed), and one whose body fails its model's validation. It returns the request, its
// operation's facts and what the call is about.
func (s *submitter) check(op *runtime.ClientOperation) (*call.Request, ops.Op, *callInfo, error) {
	r, ok := op.Params.(*call.Request)
	if !ok {
		return nil, ops.Op{}, nil, &ValidationError{Op: op.ID, Err: errors.New("not a call of the generated client")}
	}
	facts, ok := ops.Lookup(r.Op)
	if !ok {
		return nil, ops.Op{}, nil, &ValidationError{Op: r.Op, Err: errors.New("unknown operation")}
	}
	// The facts (retries, the lease nonce, the rate class) are the
	// operation's: a request made by hand must be that operation, or
	// a start sent as Machines_show would be retried, and a nonce chosen
	// by one machine_id sent with another.
	if r.Method != facts.Method || r.Path != facts.Path {
		return nil, facts, nil, &ValidationError{Op: r.Op, Err: fmt.Errorf("%s %s is not %s %s", r.Method, r.Path, facts.Method, facts.Path)}
	}
	if err := pathParamsOnce(facts.Path, r.PathParams()); err != nil {
		return nil, facts, nil, &ValidationError{Op: r.Op, Err: err}
	}
	var empty []string
	for _, p := range r.PathParams() {
		switch {
		case p.Value == "":
			empty = append(empty, p.Name)
		case p.Value == "." || p.Value == "..":
			return nil, facts, nil, &ValidationError{Op: r.Op, Err: fmt.Errorf("path parameter %s is %q: it would name another endpoint", p.Name, p.Value)}
		case strings.Contains(p.Value, "/"):
			// Sent escaped (%2F), but a server or proxy that decodes it
			// before routing reads more segments, and with dot segments
			// ("m1/../../other-app/...") another resource. No name or id
			// of the API holds a slash.
			return nil, facts, nil, &ValidationError{Op: r.Op, Err: fmt.Errorf("path parameter %s holds a slash: it would name another endpoint", p.Name)}
		}
	}
	if len(empty) > 0 {
		return nil, facts, nil, &ValidationError{Op: r.Op, Err: fmt.Errorf("empty path parameter %s", strings.Join(empty, ", "))}
	}
	if missing := r.Missing(); len(missing) > 0 {
		return nil, facts, nil, &ValidationError{Op: r.Op, Err: fmt.Errorf("empty required parameter %s", strings.Join(missing, ", "))}
	}
	for name, values := range r.HeaderValues() {
		if !httpguts.ValidHeaderFieldName(name) {
			return nil, facts, nil, &ValidationError{Op: r.Op, Err: fmt.Errorf("header name %q is not a valid HTTP field name", s.token.redact(name))}
		}
		for _, v := range values {
			// The value is not quoted: it may be a nonce or a credential.
			if !httpguts.ValidHeaderFieldValue(v) {
				return nil, facts, nil, &ValidationError{Op: r.Op, Err: fmt.Errorf("header %s has a line break or another control character", name)}
			}
		}
	}
	if body, ok := r.Body().(validatable); ok {
		if err := body.Validate(s.formats); err != nil {
			return nil, facts, nil, &ValidationError{Op: r.Op, Err: fmt.Errorf("body: %w", err)}
		}
	}
	return r, facts, &callInfo{op: r.Op, app: r.PathValue("app_name"), machine: r.PathValue("machine_id")}, nil
}

// maxExecRun bounds the run time read from an exec's body, so that no
// value overflows a time.Duration.
const maxExecRun = 24 * time.Hour

// pathParamsOnce checks that params set each parameter of the path
// pattern once, and nothing else.
func pathParamsOnce(pattern string, params []call.Param) error {
	n := 0
	for rest := pattern; ; n++ {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			break
		}
		name := rest[i+1 : i+j]
		set := 0
		for _, p := range params {
			if p.Name == name {
				set++
			}
		}
		if set != 1 {
			return fmt.Errorf("path parameter %s set %d times", name, set)
		}
		rest = rest[i+j+1:]
	}
	if len(params) != n {
		return fmt.Errorf("%d path parameters set, the path has %d", len(params), n)
	}
	return nil
}

// defaultCallTimeout bounds a call's HTTP exchange unless the call says
// otherwise. It is set on every call rather than left to go-openapi's
// DefaultTimeout, a variable that any package of the program may change
// (to zero: no bound at all).
const defaultCallTimeout = 30 * time.Second

// callTimeout is the HTTP timeout of a call that set none:
// defaultCallTimeout, or longer when the server may hold the answer
// longer. A long poll gets the server's wait (its timeout query
// parameter, else the API's longest) and a margin, so the server's 408
// arrives before this side gives up. An exec gets the run time its body
// allows the command and the same margin, so a command given a minute is
// not cut off at 30 s with its result lost.
func callTimeout(facts ops.Op, r *call.Request) time.Duration {
	if facts.LongPoll {
		wait := maxWaitCall
		if v := r.QueryValues().Get("timeout"); v != "" {
			if secs, err := strconv.Atoi(v); err == nil && secs > 0 {
				wait = time.Duration(secs) * time.Second
			}
		}
		return wait + waitMargin
	}
	if b, ok := r.Body().(*models.MachineExecRequest); ok && b.Timeout > 0 {
		run := time.Duration(min(b.Timeout, int64(maxExecRun/time.Second))) * time.Second
		return max(run+waitMargin, defaultCallTimeout)
	}
	return defaultCallTimeout
}

// opFacts are the facts of operation id, which the helpers of this package
// name by constants the tests check against the table.
func opFacts(id string) ops.Op {
	f, _ := ops.Lookup(id)
	return f
}
