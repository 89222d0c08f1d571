package flymachines

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/flymachines/flymachines-go/call"
	"github.com/flymachines/flymachines-go/models"
)

// Sentinels for the kinds of failure callers branch on. Every error from a
// call (through the helpers or straight through the generated client) that
// got an HTTP response is an *APIError, which matches one or more of them
// with errors.Is.
var (
	// ErrNotFound: HTTP 404.
	ErrNotFound = errors.New("flymachines: not found")
	// ErrUnauthorized: HTTP 401 or 403.
	ErrUnauthorized = errors.New("flymachines: unauthorized")
	// ErrConflict: HTTP 409 or 412, a name already taken, or a lease held
	// by someone else.
	ErrConflict = errors.New("flymachines: conflict")
	// ErrLeaseHeld: the Machine is leased by someone else; errors.As to a
	// *LeaseHeldError gives the owner and expiry.
	ErrLeaseHeld = errors.New("flymachines: lease held by someone else")
	// ErrCapacity: no room for the Machine or volume where it was asked
	// (API status insufficient_capacity or volume_placement_capacity).
	ErrCapacity = errors.New("flymachines: insufficient capacity")
	// ErrRateLimited: HTTP 429; APIError.RetryAfter says how long to wait.
	ErrRateLimited = errors.New("flymachines: rate limited")
	// ErrTimeout: HTTP 408 or API status deadline_exceeded, or a call
	// that ran out of time on this side (its context's deadline,
	// call.WithTimeout, a network timeout). A wait helper whose context
	// deadline passed matches it too.
	ErrTimeout = errors.New("flymachines: timed out")
	// ErrWrongState: the Machine's state forbids the call (HTTP 412
	// failed_precondition that is not about capacity): starting a started
	// Machine, destroying a running one without force. It also matches
	// ErrConflict.
	ErrWrongState = errors.New("flymachines: machine state does not allow this")
	// ErrInvalidArgument: HTTP 400 or 422, or a request this package
	// refused to send (see ValidationError).
	ErrInvalidArgument = errors.New("flymachines: invalid argument")
)

// ErrUnexpectedAnswer: a 2xx answer that cannot be used: a body that does
// not read as its model, or one that says nothing ({}, null, empty, or an
// error in a 2xx), such as a create's answer without a Machine or a wait's
// without "ok". Asking again would get the same, so it is not retried.
var ErrUnexpectedAnswer = errors.New("flymachines: unexpected answer")

// answerError is a 2xx answer that cannot be used. It matches
// ErrUnexpectedAnswer.
type answerError struct {
	op   string
	code int    // the HTTP status; 0 when not known
	what string // what is wrong with it
	err  error  // the decoding error, if any
}

func (e *answerError) Error() string {
	s := "flymachines: " + e.op + ": " + e.what
	if e.code != 0 {
		s += fmt.Sprintf(" of HTTP %d", e.code)
	}
	if e.err != nil {
		s += ": " + e.err.Error()
	}
	return s
}

func (e *answerError) Unwrap() []error {
	if e.err == nil {
		return []error{ErrUnexpectedAnswer}
	}
	return []error{ErrUnexpectedAnswer, e.err}
}

// errContentType is what the client's consumer of every content type but
// JSON and text says of a body it is handed.
var errContentType = errors.New("not a content type the client reads")

// emptyAnswer is the error for a 2xx answer of op that says nothing.
func emptyAnswer(op, what string) error {
	return &answerError{op: op, what: "the answer " + what}
}

// APIError is a non-2xx answer of the Machines API. It matches the
// sentinels that fit with errors.Is (and a *LeaseHeldError with errors.As).
type APIError struct {
	Op         string          // operation id, e.g. "Machines_show"
	StatusCode int             // HTTP status
	Status     string          // the API's status code, e.g. "insufficient_capacity"; often empty
	Message    string          // the API's error message, or the start of a body that was not its JSON
	Details    json.RawMessage // the API's details, when given and small
	RequestID  string          // the fly-request-id response header
	RetryAfter time.Duration   // from Retry-After (seconds or HTTP date), zero when absent

	kinds []error // sentinels and typed details this error matches
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "flymachines: %s: HTTP %d", e.Op, e.StatusCode)
	if e.Status != "" {
		b.WriteString(" " + e.Status)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.RequestID != "" {
		b.WriteString(" [fly-request-id " + e.RequestID + "]")
	}
	return b.String()
}

// Unwrap gives the sentinels this error matches, and a *LeaseHeldError
// when there is one.
func (e *APIError) Unwrap() []error { return e.kinds }

// LeaseHeldError details ErrLeaseHeld: who holds the Machine's lease and
// until when, as read from the API's message.
type LeaseHeldError struct {
	Owner     string
	ExpiresAt time.Time // zero when the message had no readable time
}

func (e *LeaseHeldError) Error() string {
	s := "flymachines: lease held by " + e.Owner
	if !e.ExpiresAt.IsZero() {
		s += " until " + e.ExpiresAt.Format(time.RFC3339)
	}
	return s
}

// Unwrap makes a *LeaseHeldError match ErrLeaseHeld.
func (e *LeaseHeldError) Unwrap() error { return ErrLeaseHeld }

// ValidationError is a request refused before sending: a body that fails
// its model's validation, an empty path parameter, or bad arguments to a
// helper. It matches ErrInvalidArgument.
type ValidationError struct {
	Op  string
	Err error
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("flymachines: %s: invalid request: %v", e.Op, e.Err)
}

// Unwrap gives ErrInvalidArgument and the cause.
func (e *ValidationError) Unwrap() []error { return []error{ErrInvalidArgument, e.Err} }

// Limits on what an APIError keeps.
const (
	maxMessage    = 1 << 10
	maxStatusLen  = 64
	maxRequestID  = 128
	maxRetryAfter = 24 * time.Hour
)

// decorate is the one place where errors of calls are turned into this
// package's errors. err is what go-openapi's runtime returned for
// operation op (the generated client's reader makes a *call.Error of an
// answer the operation does not declare a success); x is what the
// transport chain saw of the response (nil if nothing). Errors without an
// HTTP response (transport, context) are wrapped with the operation and
// stay inspectable; a non-2xx answer becomes an *APIError. No text from the
// server reaches the error unredacted.
func decorate(op string, x *exchange, err error, tok Token, now time.Time) error {
	if err == nil {
		return nil
	}
	if _, ok := errors.AsType[*APIError](err); ok {
		return err
	}
	if _, ok := errors.AsType[*ValidationError](err); ok {
		return err
	}
	if _, ok := errors.AsType[*RateLimitError](err); ok {
		return err
	}
	if _, ok := errors.AsType[*answerError](err); ok {
		return err
	}
	if d, ok := errors.AsType[*call.DecodeError](err); ok {
		if re, ok := errors.AsType[*bodyReadError](d.Err); ok {
			// The answer was cut short by the connection or the clock,
			// not sent unreadable: it fails as a transport failure does.
			err := fmt.Errorf("flymachines: %s: reading the HTTP %d answer: %w", op, d.StatusCode, scrub(re.err, tok))
			if isTimeout(re.err) {
				return &timeoutError{err}
			}
			return err
		}
		if errors.Is(d.Err, errContentType) && x != nil {
			ct := cleanText(tok.redact(x.contentType), maxStatusLen)
			return &answerError{op: op, code: d.StatusCode, what: "unreadable answer", err: fmt.Errorf("content type %q is neither JSON nor text: %w", ct, errContentType)}
		}
		return &answerError{op: op, code: d.StatusCode, what: "unreadable answer", err: scrub(d.Err, tok)}
	}
	code := 0
	var body []byte
	ce, read := errors.AsType[*call.Error](err)
	if read {
		code, body = ce.StatusCode, ce.Body
	} else if x != nil {
		// The runtime refused the answer before reading it (a content
		// type it has no consumer for): the chain saw it.
		code, body = x.status, x.body
	}
	switch {
	case code == 0 && isTimeout(err):
		return &timeoutError{fmt.Errorf("flymachines: %s: %w", op, scrub(err, tok))}
	case code == 0:
		return fmt.Errorf("flymachines: %s: %w", op, scrub(err, tok))
	case code/100 == 2 && read:
		return &answerError{op: op, code: code, what: "undeclared answer"}
	case code/100 == 2:
		// A declared success the runtime could not hand to the reader.
		return &answerError{op: op, code: code, what: "unreadable answer", err: scrub(err, tok)}
	}

	// The APIError keeps what it read of the body, redacted, and wraps
	// nothing of it: what errors.Unwrap reaches never holds the token.
	e := &APIError{Op: op, StatusCode: code}
	var details any
	e.Message, e.Status, details = fromSnippet(body[:min(len(body), maxErrorSnippet)])
	if e.Message == "" {
		e.Message = strings.ToLower(http.StatusText(code))
	}
	// Redact before the final cut, so no cut leaves part of the token
	// behind: redaction sees more than the message keeps, and catches a
	// token cut short at the end of what it sees.
	e.Message = cleanText(tok.redact(e.Message[:min(len(e.Message), 8*maxMessage)]), maxMessage)
	e.Status = cleanText(tok.redact(e.Status), maxStatusLen)
	e.Details = detailsJSON(details, tok)
	if x != nil {
		e.RequestID = cleanText(tok.redact(x.requestID), maxRequestID)
		if code == http.StatusTooManyRequests {
			e.RetryAfter = parseRetryAfter(x.retryAfter, now)
		}
	}
	e.kinds = classify(e)
	return e
}

// isTimeout reports a call that ran out of time on this side.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	ne, ok := errors.AsType[net.Error](err)
	return ok && ne.Timeout()
}

// timeoutError is a transport error that also matches ErrTimeout.
type timeoutError struct{ err error }

func (e *timeoutError) Error() string   { return e.err.Error() }
func (e *timeoutError) Unwrap() []error { return []error{e.err, ErrTimeout} }

// otherShapeStatus marks the API's second error shape,
// {"status":"error","message":...,"code":...}, as Fly's docs show it for a
// held lease: its message is the error's, its code the error's status.
const otherShapeStatus = "error"

// fromSnippet reads an error body: the API's JSON (either shape) if it is
// there with the right types, else the text.
func fromSnippet(body []byte) (msg, status string, details any) {
	var m map[string]any
	if json.Unmarshal(body, &m) == nil {
		msg, _ = m["error"].(string)
		if msg == "" {
			msg, _ = m["message"].(string)
		}
		status, _ = m["status"].(string)
		if code, ok := m["code"].(string); ok && status == otherShapeStatus {
			status = code
		}
		if msg != "" || status != "" {
			return msg, status, m["details"]
		}
	}
	if t := strings.TrimSpace(string(body)); t != "null" {
		return t, "", nil
	}
	return "", "", nil
}

func detailsJSON(d any, tok Token) json.RawMessage {
	if d == nil {
		return nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(d) != nil || buf.Len() > maxErrorSnippet {
		return nil
	}
	out := tok.redact(strings.TrimSpace(buf.String()))
	if !json.Valid([]byte(out)) {
		return nil
	}
	return json.RawMessage(out)
}

// cleanText makes server text safe to print: valid UTF-8, control
// characters (newlines and escape sequences' ESC included) and bidi
// controls turned into spaces, at most limit bytes.
func cleanText(s string, limit int) string {
	if len(s) > 4*limit {
		s = s[:4*limit]
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Bidi_Control, r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > limit {
		cut := limit
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// classify lists the sentinels (and typed details) an APIError matches.
func classify(e *APIError) []error {
	var kinds []error
	add := func(err error) {
		for _, k := range kinds {
			if k == err {
				return
			}
		}
		kinds = append(kinds, err)
	}
	switch e.StatusCode {
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		add(ErrInvalidArgument)
	case http.StatusUnauthorized, http.StatusForbidden:
		add(ErrUnauthorized)
	case http.StatusNotFound:
		add(ErrNotFound)
	case http.StatusRequestTimeout:
		add(ErrTimeout)
	case http.StatusConflict, http.StatusPreconditionFailed:
		add(ErrConflict)
	case http.StatusTooManyRequests:
		add(ErrRateLimited)
	}
	switch models.MainStatusCode(e.Status) {
	case models.MainStatusCodeInsufficientCapacity, models.MainStatusCodeVolumePlacementCapacity:
		add(ErrCapacity)
	case models.MainStatusCodeNameTaken:
		add(ErrConflict)
	case "deadline_exceeded":
		add(ErrTimeout)
	}
	if isCapacityMessage(e.Message) {
		add(ErrCapacity)
	}
	if lh := parseLeaseHeld(e.Message); lh != nil {
		add(ErrConflict)
		add(lh)
	}
	if e.StatusCode == http.StatusPreconditionFailed && !slices.Contains(kinds, ErrCapacity) {
		add(ErrWrongState)
	}
	return kinds
}

var capacityPhrases = []string{
	"insufficient capacity", "insufficient_capacity", "not enough capacity",
	"no capacity", "out of capacity", "insufficient resources",
}

func isCapacityMessage(msg string) bool {
	m := strings.ToLower(msg)
	for _, p := range capacityPhrases {
		if strings.Contains(m, p) {
			return true
		}
	}
	return false
}

// leaseHeldRe reads the API's "lease currently held by OWNER, expires at
// TIME" (e.g. "machine ID 2879325b42d318 lease currently held by
// 9af6...@tokens.fly.io, expires at 2026-05-14T10:41:08Z").
var leaseHeldRe = regexp.MustCompile(`(?i)lease (?:currently )?held by (\S+?),? expires at (\S+(?: \S+){0,3})`)

// Time layouts tried on the expiry, most likely first.
var leaseTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999 -0700 MST", // Go's time.Time.String
	time.RFC1123,
	time.RFC1123Z,
}

func parseLeaseHeld(msg string) *LeaseHeldError {
	m := leaseHeldRe.FindStringSubmatch(msg)
	if m == nil {
		return nil
	}
	lh := &LeaseHeldError{Owner: m[1]}
	words := strings.Fields(m[2])
	for n := len(words); n >= 1 && lh.ExpiresAt.IsZero(); n-- {
		cand := strings.TrimRight(strings.Join(words[:n], " "), ".,;)")
		for _, layout := range leaseTimeLayouts {
			if t, err := time.Parse(layout, cand); err == nil {
				lh.ExpiresAt = t
				break
			}
		}
	}
	return lh
}

// parseRetryAfter reads Retry-After as delay-seconds or an HTTP date,
// bounded to [0, maxRetryAfter]; 0 when absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		return time.Duration(secs) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	return min(max(t.Sub(now), 0), maxRetryAfter)
}
