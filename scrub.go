package flymachines

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"slices"

	"github.com/go-openapi/runtime"
)

// scrub returns err with the token gone from everything errors.Unwrap and
// errors.As can reach, not only from its text: error reporters print whole
// chains, and some print fields too. Errors that hold nothing of the token
// are kept as they are, so errors.Is and errors.As find them (context
// errors, *net.OpError, io.ErrUnexpectedEOF...). The generated client's
// response errors keep their type with a redacted payload; a raw HTTP
// response (with the request, and so the Authorization header, behind it)
// is replaced by its status. An error of another type that holds the
// token becomes a *scrubbedError: its text redacted, what it wraps
// scrubbed in turn.
func scrub(err error, tok Token) error {
	out, _ := scrubbed(err, tok)
	return out
}

// scrubbed is scrub, also reporting whether anything changed (errors are
// not always comparable).
func scrubbed(err error, tok Token) (error, bool) {
	if err == nil || tok.IsZero() {
		return err, false
	}
	switch e := err.(type) {
	case *runtime.APIError:
		cp := *e
		cp.OperationName = tok.redact(e.OperationName)
		cp.Response = scrubResponse(e.Response, tok)
		return &cp, true
	case *url.Error:
		u := tok.redact(e.URL)
		inner, changed := scrubbed(e.Err, tok)
		if changed || u != e.URL {
			return &url.Error{Op: e.Op, URL: u, Err: inner}, true
		}
		return err, false
	case *net.OpError:
		if inner, changed := scrubbed(e.Err, tok); changed {
			cp := *e
			cp.Err = inner
			return &cp, true
		}
		return err, false
	}
	if withPayload(err) {
		if cp, ok := scrubPayload(err, tok).(error); ok {
			return cp, true
		}
	}
	var inner []error
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		inner = []error{u.Unwrap()}
	case interface{ Unwrap() []error }:
		inner = slices.Clone(u.Unwrap())
	}
	changed := false
	for i, in := range inner {
		if s, ch := scrubbed(in, tok); ch {
			inner[i], changed = s, true
		}
	}
	text := err.Error()
	if redacted := tok.redact(text); redacted != text || changed {
		return &scrubbedError{msg: redacted, wrapped: slices.DeleteFunc(inner, func(e error) bool { return e == nil })}, true
	}
	return err, false
}

// scrubbedError stands for an error that held the token: its text
// redacted, the errors it wrapped scrubbed.
type scrubbedError struct {
	msg     string
	wrapped []error
}

func (e *scrubbedError) Error() string   { return e.msg }
func (e *scrubbedError) Unwrap() []error { return e.wrapped }

// withPayload reports an error that is a pointer to a struct with an
// exported Payload field: the generated client's response errors.
func withPayload(err error) bool {
	v := reflect.ValueOf(err)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return false
	}
	f := v.Elem().FieldByName("Payload")
	return f.IsValid() && f.CanSet()
}

// scrubResponse is what a *runtime.APIError may keep of a response.
func scrubResponse(resp any, tok Token) any {
	switch r := resp.(type) {
	case nil:
		return nil
	case runtime.ClientResponse:
		return statusOnly{code: r.Code(), message: http.StatusText(r.Code())}
	}
	if reflect.ValueOf(resp).Kind() == reflect.Pointer {
		return scrubPayload(resp, tok)
	}
	return nil
}

// scrubPayload returns a copy of v, a pointer to a generated response,
// whose Payload went through the token's redaction as JSON. A payload
// that cannot take the trip back is dropped.
func scrubPayload(v any, tok Token) any {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return v
	}
	field := rv.Elem().FieldByName("Payload")
	if !field.IsValid() || !field.CanSet() {
		return v
	}
	cp := reflect.New(rv.Elem().Type())
	cp.Elem().Set(rv.Elem())
	payload := cp.Elem().FieldByName("Payload")
	if payload.IsZero() {
		return cp.Interface()
	}
	js, err := json.Marshal(payload.Interface())
	if err != nil {
		payload.SetZero()
		return cp.Interface()
	}
	clean := tok.redact(string(js))
	if clean == string(js) {
		return cp.Interface()
	}
	fresh := reflect.New(payload.Type())
	if json.Unmarshal([]byte(clean), fresh.Interface()) != nil {
		payload.SetZero()
		return cp.Interface()
	}
	payload.Set(fresh.Elem())
	return cp.Interface()
}

// statusOnly is a runtime.ClientResponse that keeps only the status.
type statusOnly struct {
	code    int
	message string
}

func (s statusOnly) Code() int                  { return s.code }
func (s statusOnly) Message() string            { return s.message }
func (s statusOnly) GetHeader(string) string    { return "" }
func (s statusOnly) GetHeaders(string) []string { return nil }
func (s statusOnly) Body() io.ReadCloser        { return io.NopCloser(http.NoBody) }

var _ runtime.ClientResponse = statusOnly{}
