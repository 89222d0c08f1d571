package pool

import "errors"

var (
	// ErrNotStarted is matched by an error of Run or Acquire after which
	// nothing ran: no Machine was booted for the call, so calling again
	// cannot run the job twice. Any other error of Run comes after the job
	// was (or may have been) booted.
	ErrNotStarted = errors.New("pool: nothing was started")
	// ErrDrained: the pool was drained (Drain); this Pool claims nothing
	// more.
	ErrDrained = errors.New("the pool was drained")
)

// notStartedError is an error after which nothing ran.
type notStartedError struct{ err error }

func (e *notStartedError) Error() string   { return e.err.Error() + " (nothing was started)" }
func (e *notStartedError) Unwrap() []error { return []error{ErrNotStarted, e.err} }

// notStarted marks err as one after which nothing ran.
func notStarted(err error) error {
	if err == nil || errors.Is(err, ErrNotStarted) {
		return err
	}
	return &notStartedError{err}
}
