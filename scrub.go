package flymachines

import (
	"net"
	"net/url"
	"slices"
)

// scrub returns err with the token gone from everything errors.Unwrap and
// errors.As can reach, not only from its text: error reporters print whole
// chains, and some print fields too. Errors that hold nothing of the token
// are kept as they are, so errors.Is and errors.As find them (context
// errors, *net.OpError, io.ErrUnexpectedEOF...). A *url.Error keeps its
// type with a redacted URL. An error of another type that holds the token
// becomes a *scrubbedError: its text redacted, what it wraps scrubbed in
// turn. (Answers with a status never get here: decorate makes them an
// *APIError, which keeps nothing of the body but redacted text.)
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
