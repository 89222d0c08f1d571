package flymachines

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/go-openapi/runtime"
	"github.com/go-openapi/strfmt"
)

// submitter is the runtime.ContextualTransport the generated client talks
// to. It wraps go-openapi's runtime and is the one place where every call,
// helper or generated, is checked before sending and has its errors
// decorated: a call made straight through the embedded generated client
// returns an *APIError just like a helper does.
type submitter struct {
	next    runtime.ContextualTransport
	formats strfmt.Registry
	token   Token
	chain   func(http.RoundTripper) http.RoundTripper // for per-call http.Clients
	bases   *baseTransports                           // what goes under the chain for them
	now     func() time.Time
	retry   RetryPolicy
	limits  *limiter // nil: no client-side rate limits
	logger  *slog.Logger
}

var _ runtime.ContextualTransport = (*submitter)(nil)

// Submit is SubmitContext with the operation's own context, if any.
func (s *submitter) Submit(op *runtime.ClientOperation) (any, error) {
	ctx := op.Context //nolint:staticcheck // honoured for callers of the deprecated field
	if ctx == nil {
		ctx = context.Background()
	}
	return s.SubmitContext(ctx, op)
}

// SubmitContext checks the request, then sends it, retrying what may be
// retried, each attempt within the client-side rate limits, and decorates
// any error.
func (s *submitter) SubmitContext(ctx context.Context, op *runtime.ClientOperation) (any, error) {
	c, err := s.check(op)
	if err != nil {
		return nil, err
	}
	if op.Client != nil {
		// A per-call http.Client (params.HTTPClient) still goes through the
		// chain, so it gets auth, the request id and the error body cap.
		// The operation is copied, not changed: a caller may reuse it.
		hc := *op.Client
		hc.Transport = s.chain(s.bases.under(hc.Transport))
		cp := *op
		cp.Client = &hc
		op = &cp
	}
	key := limitKeyOf(c)
	for {
		c.attempt++
		if err := s.limits.wait(ctx, key); err != nil {
			return nil, decorate(op.ID, nil, err, s.token, s.now())
		}
		actx, x := withExchange(withCall(ctx, c))
		res, err := s.next.SubmitContext(actx, op)
		if err == nil {
			if unexpected := unexpectedSuccess(res); unexpected != nil {
				return nil, decorate(op.ID, x, unexpected, s.token, s.now())
			}
			return res, nil
		}
		err = decorate(op.ID, x, err, s.token, s.now())
		var retryAfter time.Duration
		if apiErr, ok := errors.AsType[*APIError](err); ok && apiErr.StatusCode == http.StatusTooManyRequests {
			retryAfter = apiErr.RetryAfter
			s.limits.throttled(key, retryAfter)
		}
		if c.attempt >= s.retry.MaxAttempts || !shouldRetry(op.ID, classifyFailure(ctx, op.ID, err)) {
			return nil, err
		}
		if retryAfter > s.retry.MaxDelay {
			return nil, err // the server asks for a longer pause than the policy allows
		}
		delay := s.retry.backoff(c.attempt, retryAfter)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < delay {
			return nil, err // the wait would outlast the caller's deadline
		}
		s.logger.LogAttrs(ctx, slog.LevelDebug, "flymachines: retrying",
			slog.String("op", op.ID), slog.Int("attempt", c.attempt),
			slog.Duration("delay", delay), slog.String("error", err.Error()))
		if sleepCtx(ctx, delay) != nil {
			return nil, err
		}
	}
}

// unexpectedSuccess is the error for a 2xx answer the spec does not
// declare, read as the operation's default (error) response. The generated
// method would turn it into an error of its own, after Submit and out of
// reach of decorate, whose text quotes the body unredacted.
func unexpectedSuccess(res any) error {
	code, ok := res.(interface{ Code() int })
	if !ok || code.Code()/100 != 2 {
		return nil
	}
	switch res.(type) {
	case apiPayloadError, postgresPayloadError:
		return runtime.NewAPIError("unexpected success response", res, code.Code())
	}
	return nil
}

// call describes the API call a request belongs to, for the layers of the
// chain below the submitter (logging, lease nonces).
type call struct {
	op           string
	app, machine string // path parameters app_name and machine_id, if any
	attempt      int
}

type callKey struct{}

func withCall(ctx context.Context, c *call) context.Context {
	cp := *c
	return context.WithValue(ctx, callKey{}, &cp)
}

func callFrom(ctx context.Context) *call {
	c, _ := ctx.Value(callKey{}).(*call)
	return c
}

// validatable is what generated models implement.
type validatable interface {
	Validate(strfmt.Registry) error
}

// check refuses, before anything is sent, a request whose body fails its
// model's validation or whose path has an empty parameter (go-openapi
// would send "/v1/apps//machines" to some other endpoint). It returns what
// the call is about.
func (s *submitter) check(op *runtime.ClientOperation) (*call, error) {
	c := &call{op: op.ID}
	if op.Params == nil {
		return c, nil
	}
	if body := paramsBody(op.Params); body != nil {
		if err := body.Validate(s.formats); err != nil {
			return nil, &ValidationError{Op: op.ID, Err: fmt.Errorf("body: %w", err)}
		}
	}
	rec := &paramRecorder{path: map[string]string{}}
	if err := op.Params.WriteToRequest(rec, s.formats); err != nil {
		return nil, &ValidationError{Op: op.ID, Err: err}
	}
	c.app, c.machine = rec.path["app_name"], rec.path["machine_id"]
	var empty []string
	for _, name := range pathParams(op.PathPattern) {
		if rec.path[name] == "" {
			empty = append(empty, name)
		}
	}
	if len(empty) > 0 {
		return nil, &ValidationError{Op: op.ID, Err: fmt.Errorf("empty path parameter %s", strings.Join(empty, ", "))}
	}
	return c, nil
}

// paramsBody finds the Body field of a generated params struct, if it holds
// a model that can validate itself.
func paramsBody(params any) validatable {
	if w, ok := params.(interface {
		unwrapParams() runtime.ClientRequestWriter
	}); ok {
		return paramsBody(w.unwrapParams())
	}
	v := reflect.ValueOf(params)
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	f := v.FieldByName("Body")
	if !f.IsValid() || !f.CanInterface() {
		return nil
	}
	switch f.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice:
		if f.IsNil() {
			return nil
		}
	}
	if b, ok := f.Interface().(validatable); ok {
		return b
	}
	if f.CanAddr() {
		if b, ok := f.Addr().Interface().(validatable); ok {
			return b
		}
	}
	return nil
}

// pathParams lists the {names} in a path pattern.
func pathParams(pattern string) []string {
	var names []string
	for {
		i := strings.IndexByte(pattern, '{')
		if i < 0 {
			return names
		}
		j := strings.IndexByte(pattern[i:], '}')
		if j < 0 {
			return names
		}
		names = append(names, pattern[i+1:i+j])
		pattern = pattern[i+j+1:]
	}
}

// paramRecorder is a runtime.ClientRequest that only remembers path
// parameters: the generated params write themselves into it so check can
// see them without knowing their Go names.
type paramRecorder struct {
	path map[string]string
}

var _ runtime.ClientRequest = (*paramRecorder)(nil)

func (r *paramRecorder) SetPathParam(name, value string) error {
	r.path[name] = value
	return nil
}

func (r *paramRecorder) SetHeaderParam(string, ...string) error                { return nil }
func (r *paramRecorder) GetHeaderParams() http.Header                          { return http.Header{} }
func (r *paramRecorder) SetQueryParam(string, ...string) error                 { return nil }
func (r *paramRecorder) SetFormParam(string, ...string) error                  { return nil }
func (r *paramRecorder) GetQueryParams() url.Values                            { return url.Values{} }
func (r *paramRecorder) SetFileParam(string, ...runtime.NamedReadCloser) error { return nil }
func (r *paramRecorder) SetBodyParam(any) error                                { return nil }
func (r *paramRecorder) SetTimeout(time.Duration) error                        { return nil }
func (r *paramRecorder) GetMethod() string                                     { return "" }
func (r *paramRecorder) GetPath() string                                       { return "" }
func (r *paramRecorder) GetBody() []byte                                       { return nil }
func (r *paramRecorder) GetBodyParam() any                                     { return nil }
func (r *paramRecorder) GetFileParam() map[string][]runtime.NamedReadCloser    { return nil }
