package call

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"

	"github.com/go-openapi/runtime"
)

// maxErrorBody bounds what is kept of an error answer's body.
const maxErrorBody = 64 << 10

// Meta is what an answer said besides its body.
type Meta struct {
	// StatusCode is the HTTP status.
	StatusCode int
	header     func(string) string
}

// Header is the answer's header name, "" if absent or not captured.
func (m *Meta) Header(name string) string {
	if m == nil || m.header == nil {
		return ""
	}
	return m.header(name)
}

// RequestID is the fly-request-id header, which Fly's support asks for.
func (m *Meta) RequestID() string { return m.Header("fly-request-id") }

// NextCursor is the fly-next-cursor header of a paged list: pass it as the
// next request's cursor; "" on the last page.
func (m *Meta) NextCursor() string { return m.Header("fly-next-cursor") }

// Error is an answer whose status the operation does not declare as a
// success. The facade turns it into its own typed errors.
type Error struct {
	Op         string
	StatusCode int
	// Body is the start of the answer's body, at most 64 KiB.
	Body []byte
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: HTTP %d", e.Op, e.StatusCode)
}

// ErrEmptyAnswer: a success answer with no body where the operation
// declares one, or a body of null.
var ErrEmptyAnswer = errors.New("empty answer")

// DecodeError is a success answer whose body could not be read as the
// operation's model.
type DecodeError struct {
	Op         string
	StatusCode int
	Err        error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("%s: reading the HTTP %d answer: %v", e.Op, e.StatusCode, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// Do sends r through t (with opts applied) and decodes a success answer
// into result, a pointer to the operation's payload type, or nil for
// operations that answer no body.
func Do(ctx context.Context, t runtime.ContextualTransport, r *Request, result any, opts []Option) error {
	for _, opt := range opts {
		if opt != nil {
			opt(r)
		}
	}
	r.result = result
	_, err := t.SubmitContext(ctx, r.Operation())
	return err
}

// Operation is the go-openapi operation that sends r.
func (r *Request) Operation() *runtime.ClientOperation {
	return &runtime.ClientOperation{
		ID:                 r.Op,
		Method:             r.Method,
		PathPattern:        r.Path,
		ProducesMediaTypes: jsonMedia,
		ConsumesMediaTypes: jsonMedia,
		Params:             r,
		Reader:             reader{r},
	}
}

var jsonMedia = []string{"application/json"}

// reader reads an answer to r: a success status decodes into r.result, any
// other status is an *Error.
type reader struct{ r *Request }

func (rd reader) ReadResponse(resp runtime.ClientResponse, consumer runtime.Consumer) (any, error) {
	r := rd.r
	code := resp.Code()
	if r.meta != nil {
		*r.meta = Meta{StatusCode: code, header: resp.GetHeader}
	}
	if !slices.Contains(r.success, code) {
		body, _ := io.ReadAll(io.LimitReader(resp.Body(), maxErrorBody))
		return nil, &Error{Op: r.Op, StatusCode: code, Body: body}
	}
	if r.result == nil {
		return nil, nil
	}
	if err := decode(resp.Body(), consumer, r.result); err != nil {
		return nil, &DecodeError{Op: r.Op, StatusCode: code, Err: err}
	}
	return nil, nil
}

// decode reads a success body into result, refusing an empty body and
// null: the operation promised a payload.
func decode(body io.Reader, consumer runtime.Consumer, result any) error {
	var first [1]byte
	n, err := io.ReadFull(body, first[:])
	if n == 0 {
		if err == nil || errors.Is(err, io.EOF) {
			return ErrEmptyAnswer
		}
		return err
	}
	if err := consumer.Consume(io.MultiReader(bytes.NewReader(first[:]), body), result); err != nil {
		return err
	}
	if isNil(result) {
		return ErrEmptyAnswer
	}
	return nil
}

// isNil reports an object result that decoded from null. A list or map
// that is null is read as empty.
func isNil(result any) bool {
	v := reflect.ValueOf(result)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return true
	}
	e := v.Elem()
	return e.Kind() == reflect.Pointer && e.IsNil()
}
