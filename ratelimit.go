package flymachines

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimit is one token bucket: Rate requests per second on average,
// Burst at once.
type RateLimit struct {
	Rate  float64
	Burst int
}

// RateLimits are the client-side limits, applied per action (operation)
// and per Machine, or per app for actions on an app, or per action alone
// for the rest.
type RateLimits struct {
	// Default applies to every action but GetMachine.
	Default RateLimit
	// GetMachine applies to getting one Machine (Machines_show, the facts'
	// rate class get_machine).
	GetMachine RateLimit
}

// DefaultRateLimits are 1 request per second with bursts of 2 per action
// per Machine, and 5 per second with bursts of 9 to get a Machine: Fly's
// published Machines API limits (1/s with bursts of 3, 5/s with bursts of
// 10) with bursts one short of the server's, so a request delayed on the
// way does not land on an empty server bucket.
func DefaultRateLimits() RateLimits {
	return RateLimits{
		Default:    RateLimit{Rate: 1, Burst: 2},
		GetMachine: RateLimit{Rate: 5, Burst: 9},
	}
}

// bucketIdleTTL is how long an unused bucket is kept: longer than it takes
// to refill at Fly's rates, so forgetting one hands out nothing extra.
const bucketIdleTTL = time.Minute

// limiter holds one token bucket per (action, Machine or app). It waits
// within the caller's context, and a 429 that still arrives drains the
// bucket and holds it closed for the server's Retry-After, at most the
// retry policy's MaxDelay. Buckets unused for a while are forgotten, the
// oldest first, so a lookup costs the same at any number of Machines.
type limiter struct {
	limits   RateLimits
	maxClose time.Duration // the longest a 429 may close a bucket
	idleTTL  time.Duration
	mu       sync.Mutex
	buckets  *recent[limitKey, *bucket]
}

type limitKey struct{ op, resource string }

// rateClassGetMachine is the facts table's rate class of getting one
// Machine, which Fly limits apart (RateLimits.GetMachine).
const rateClassGetMachine = "get_machine"

type bucket struct {
	lim      *rate.Limiter
	closedTo time.Time // no request before this (after a 429)
}

func newLimiter(l RateLimits, maxClose time.Duration) *limiter {
	// A bucket forgotten while still refilling would come back full: keep
	// it at least as long as the slowest bucket takes to refill.
	ttl := bucketIdleTTL
	for _, rl := range []RateLimit{l.Default, l.GetMachine} {
		if rl.Rate > 0 {
			ttl = max(ttl, time.Duration(float64(max(rl.Burst, 1))/rl.Rate*float64(time.Second)))
		}
	}
	return &limiter{limits: l, maxClose: maxClose, idleTTL: ttl, buckets: newRecent[limitKey, *bucket](0)}
}

// get returns the bucket of k, made now if there is none, and marks it used.
func (l *limiter) get(k limitKey, class string, now time.Time) *bucket {
	l.mu.Lock()
	defer l.mu.Unlock()
	// Kept while in use, and while closed (throttled extends it).
	if b, ok := l.buckets.touch(k, now.Add(l.idleTTL), now); ok {
		return b
	}
	rl := l.limits.Default
	if class == rateClassGetMachine {
		rl = l.limits.GetMachine
	}
	b := &bucket{lim: rate.NewLimiter(rate.Limit(rl.Rate), max(rl.Burst, 1))}
	l.buckets.put(k, b, now.Add(l.idleTTL), now)
	return b
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// RateLimitError is a call this side refused to send: its bucket has no
// slot before the call's context ends (after a 429, the bucket stays
// closed for the server's Retry-After, at most the retry policy's
// MaxDelay). It matches ErrRateLimited.
type RateLimitError struct {
	Op         string
	RetryAfter time.Duration // when the next slot opens
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("flymachines: %s: client-side rate limit: the next slot is in %s, after the context's deadline", e.Op, e.RetryAfter.Round(time.Millisecond))
}

// Unwrap makes a *RateLimitError match ErrRateLimited.
func (e *RateLimitError) Unwrap() error { return ErrRateLimited }

// wait blocks until the bucket of k lets one request through, returning
// how long it waited.
func (l *limiter) wait(ctx context.Context, k limitKey, class string) (time.Duration, error) {
	if l == nil {
		return 0, nil
	}
	now := time.Now()
	b := l.get(k, class, now)
	l.mu.Lock()
	closedFor := b.closedTo.Sub(now)
	l.mu.Unlock()
	r := b.lim.ReserveN(now, 1)
	delay := max(closedFor, r.DelayFrom(now))
	if dl, ok := ctx.Deadline(); ok && dl.Sub(now) < delay {
		r.CancelAt(now)
		return 0, &RateLimitError{Op: k.op, RetryAfter: delay}
	}
	if err := sleepCtx(ctx, delay); err != nil {
		r.Cancel()
		return 0, err
	}
	return max(delay, 0), nil
}

// throttled records a 429 for k: the bucket is drained and stays closed
// for retryAfter, at most maxClose (one token's worth when the server gave
// no time).
func (l *limiter) throttled(k limitKey, class string, retryAfter time.Duration) {
	if l == nil {
		return
	}
	now := time.Now()
	b := l.get(k, class, now)
	if retryAfter <= 0 {
		retryAfter = time.Duration(float64(time.Second) / float64(max(b.lim.Limit(), 0.01)))
	}
	retryAfter = min(retryAfter, l.maxClose)
	b.lim.ReserveN(now, b.lim.Burst()) // empty the bucket
	l.mu.Lock()
	defer l.mu.Unlock()
	if until := now.Add(retryAfter); until.After(b.closedTo) {
		b.closedTo = until
		l.buckets.put(k, b, later(now.Add(l.idleTTL), until), now)
	}
}

// limitKeyOf keys a call by its action and the most specific resource it
// names.
func limitKeyOf(c *callInfo) limitKey {
	switch {
	case c.machine != "":
		return limitKey{c.op, c.app + "/" + c.machine}
	case c.app != "":
		return limitKey{c.op, c.app}
	}
	return limitKey{op: c.op}
}
