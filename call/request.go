// Package call is what the generated client is built on: one request to the
// Machines API as a generated method describes it (operation, path, query,
// header and body), the options a caller adds to it, and how its answer is
// read. The generated methods in client/... fill a Request and hand it to
// Do; the facade's transport sees the same Request, so it can check and
// decorate a call without reflection.
package call

import (
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/go-openapi/runtime"
	"github.com/go-openapi/strfmt"
)

// Request is one call of an operation, ready to be sent.
type Request struct {
	// Op is the operation id in swagger.json, e.g. "Machines_show".
	Op string
	// Method and Path are the HTTP method and path pattern, e.g. "GET"
	// and "/v1/apps/{app_name}/machines/{machine_id}".
	Method, Path string

	path     []Param
	query    url.Values
	header   http.Header
	required []string // required query and header parameters, by name
	body     any
	hasBody  bool

	// Timeout bounds the HTTP exchange; zero (or less) keeps the default
	// of what sends it: the facade's, else go-openapi's DefaultTimeout.
	Timeout time.Duration

	success []int // the statuses the spec declares as success
	result  any   // where a success body is decoded, nil for none
	meta    *Meta // filled with what the answer said, if asked
}

// Param is one path parameter.
type Param struct{ Name, Value string }

// New starts a request of operation op, sent as method to path, that
// succeeds with one of the success statuses.
func New(op, method, path string, success ...int) *Request {
	return &Request{Op: op, Method: method, Path: path, success: success}
}

// PathParam sets the path parameter name.
func (r *Request) PathParam(name, value string) { r.path = append(r.path, Param{name, value}) }

// PathParams lists the path parameters in the order they were set.
func (r *Request) PathParams() []Param { return r.path }

// PathValue is the value of the path parameter name, "" if unset.
func (r *Request) PathValue(name string) string {
	for _, p := range r.path {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

// Query adds a query parameter.
func (r *Request) Query(name string, values ...string) {
	if r.query == nil {
		r.query = url.Values{}
	}
	r.query[name] = append(r.query[name], values...)
}

// QueryValues are the query parameters set so far.
func (r *Request) QueryValues() url.Values { return r.query }

// QueryString adds name=v unless v is empty.
func (r *Request) QueryString(name, v string) {
	if v != "" {
		r.Query(name, v)
	}
}

// QueryBool adds name=true when v is true: the API reads an absent flag as
// false.
func (r *Request) QueryBool(name string, v bool) {
	if v {
		r.Query(name, "true")
	}
}

// QueryBoolPtr adds name=v unless v is nil, for a flag whose absence is not
// false.
func (r *Request) QueryBoolPtr(name string, v *bool) {
	if v != nil {
		r.Query(name, strconv.FormatBool(*v))
	}
}

// QueryInt adds name=v unless v is zero.
func (r *Request) QueryInt(name string, v int64) {
	if v != 0 {
		r.Query(name, strconv.FormatInt(v, 10))
	}
}

// QueryMulti adds name once per value (name=a&name=b).
func (r *Request) QueryMulti(name string, v []string) {
	if len(v) > 0 {
		r.Query(name, v...)
	}
}

// QueryCSV adds name=a,b unless v is empty.
func (r *Request) QueryCSV(name string, v []string) {
	if len(v) > 0 {
		r.Query(name, strings.Join(v, ","))
	}
}

// Header sets a header parameter unless v is empty.
func (r *Request) Header(name, v string) {
	if v == "" {
		return
	}
	if r.header == nil {
		r.header = http.Header{}
	}
	r.header.Set(name, v)
}

// RequiredQuery adds the required query parameter name=v, and remembers
// that it is required: with v empty it is not sent, and Missing names it.
func (r *Request) RequiredQuery(name, v string) {
	r.required = append(r.required, name)
	r.QueryString(name, v)
}

// RequiredHeader sets the required header parameter name to v, and
// remembers that it is required: with v empty it is not sent, and Missing
// names it.
func (r *Request) RequiredHeader(name, v string) {
	r.required = append(r.required, name)
	r.Header(name, v)
}

// Missing lists the required query and header parameters that have no
// value, in the order they were set.
func (r *Request) Missing() []string {
	var out []string
	for _, name := range r.required {
		if r.query.Get(name) == "" && r.header.Get(name) == "" {
			out = append(out, name)
		}
	}
	return out
}

// HeaderValue is the header parameter name, "" if unset.
func (r *Request) HeaderValue(name string) string { return r.header.Get(name) }

// HeaderValues are the header parameters set so far.
func (r *Request) HeaderValues() http.Header { return r.header }

// SetBody sets the JSON body, unless present is false or v is nil: a nil
// pointer, map or slice (a typed nil in v) is no body either, never a body
// of "null".
func (r *Request) SetBody(v any, present bool) {
	if present && isNilValue(v) {
		present = false
	}
	r.body, r.hasBody = v, present
}

// isNilValue reports nil, or a nil pointer, map or slice in an interface.
func isNilValue(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice:
		return rv.IsNil()
	}
	return false
}

// Body is the request body, nil if none.
func (r *Request) Body() any {
	if !r.hasBody {
		return nil
	}
	return r.body
}

// WriteToRequest writes the request into go-openapi's runtime request: the
// runtime.ClientRequestWriter side of a Request.
func (r *Request) WriteToRequest(cr runtime.ClientRequest, _ strfmt.Registry) error {
	for _, p := range r.path {
		if err := cr.SetPathParam(p.Name, p.Value); err != nil {
			return err
		}
	}
	for name, values := range r.query {
		if err := cr.SetQueryParam(name, values...); err != nil {
			return err
		}
	}
	for name, values := range r.header {
		if err := cr.SetHeaderParam(name, values...); err != nil {
			return err
		}
	}
	if r.Timeout > 0 {
		if err := cr.SetTimeout(r.Timeout); err != nil {
			return err
		}
	}
	if r.hasBody {
		return cr.SetBodyParam(r.body)
	}
	return nil
}

// An Option changes one call: adds a query parameter, captures what the
// answer said.
type Option func(*Request)

// WithQuery adds a query parameter the generated method has no argument
// for.
func WithQuery(name, value string) Option {
	return func(r *Request) { r.Query(name, value) }
}

// WithHeader sets a header on the request.
func WithHeader(name, value string) Option {
	return func(r *Request) { r.Header(name, value) }
}

// Capture fills m with what the answer said besides its body: status,
// headers (fly-request-id, the paging cursor).
func Capture(m *Meta) Option {
	return func(r *Request) { r.meta = m }
}

// WithTimeout bounds the call's HTTP exchange, reading the answer
// included; d <= 0 keeps the default (the facade's: 30 s, longer for a
// server-side wait). A server-side wait needs longer than its own timeout.
func WithTimeout(d time.Duration) Option {
	return func(r *Request) { r.Timeout = d }
}
