package flymachines

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"time"

	"github.com/flymachines/flymachines-go/client/ops"
)

// RetryPolicy bounds how a call is retried. Which failures are retried is
// not configurable: it follows from the operation (its Repeatable and
// LongPoll facts in client/ops) and from whether the failed attempt can
// have taken effect.
type RetryPolicy struct {
	// MaxAttempts counts every attempt of a call, the first included.
	// 1 turns retries off.
	MaxAttempts int
	// BaseDelay caps the first backoff; each further retry doubles the
	// cap, up to MaxDelay. Each delay is drawn uniformly below its cap
	// ("full jitter"), so many clients failing together spread out.
	BaseDelay time.Duration
	// MaxDelay caps every backoff. A Retry-After longer than MaxDelay is
	// not waited for: the call fails with ErrRateLimited and its
	// APIError.RetryAfter, for the caller to decide.
	MaxDelay time.Duration
}

// DefaultRetryPolicy is what New uses unless told otherwise: up to 4
// attempts, backoff from 250ms to at most 10s.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 4, BaseDelay: 250 * time.Millisecond, MaxDelay: 10 * time.Second}
}

func (p RetryPolicy) normalized() RetryPolicy {
	d := DefaultRetryPolicy()
	if p.MaxAttempts < 1 {
		p.MaxAttempts = 1
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = d.BaseDelay
	}
	if p.MaxDelay < p.BaseDelay {
		p.MaxDelay = max(d.MaxDelay, p.BaseDelay)
	}
	return p
}

// backoff is the delay before retry number n (1 for the first retry):
// the server's Retry-After when it gave one, else full jitter.
func (p RetryPolicy) backoff(n int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return retryAfter
	}
	ceiling := p.BaseDelay << min(n-1, 30)
	if ceiling <= 0 || ceiling > p.MaxDelay {
		ceiling = p.MaxDelay
	}
	return rand.N(ceiling) + 1
}

// failureKind sorts a failed attempt by what it says about the request.
type failureKind int

const (
	permanent  failureKind = iota // retrying cannot help (4xx, bad input, caller gave up)
	notApplied                    // refused before taking effect: 429, or never reached the server
	ambiguous                     // may or may not have taken effect: 5xx gateway, 408, reset, timeout
)

// classifyFailure reads a decorated error of operation op. callerCtx is the
// caller's context: when it has ended, nothing is retried.
func classifyFailure(callerCtx context.Context, op ops.Op, err error) failureKind {
	if callerCtx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, ErrUnexpectedAnswer) {
		return permanent
	}
	if _, ok := errors.AsType[*ValidationError](err); ok {
		return permanent
	}
	if refusedRedirect(err) {
		return permanent
	}
	if apiErr, ok := errors.AsType[*APIError](err); ok {
		switch apiErr.StatusCode {
		case http.StatusTooManyRequests:
			return notApplied
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return ambiguous
		case http.StatusRequestTimeout:
			if op.LongPoll {
				return permanent // "not yet": the wait helpers loop on it themselves
			}
			return ambiguous
		}
		return permanent
	}
	if neverSent(err) {
		return notApplied
	}
	// A reset, an EOF before the answer, a timeout of this attempt: the
	// request may have been applied.
	return ambiguous
}

// neverSent reports a transport failure before any byte of the request
// could reach the API: a failed name lookup or connection.
func neverSent(err error) bool {
	if _, ok := errors.AsType[*net.DNSError](err); ok {
		return true
	}
	if opErr, ok := errors.AsType[*net.OpError](err); ok && opErr.Op == "dial" {
		return true
	}
	return false
}

// shouldRetry says whether a failure of op may be retried at all: one
// refused before it took effect always, an ambiguous one only when the
// facts table says the operation is repeatable (gen/facts.yaml: a POST
// such as stop is safe to repeat, start is not).
func shouldRetry(op ops.Op, kind failureKind) bool {
	switch kind {
	case notApplied:
		return true
	case ambiguous:
		return op.Repeatable
	}
	return false
}
