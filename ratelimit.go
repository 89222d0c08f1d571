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
	// GetMachine applies to getting one Machine (Machines_show).
	GetMachine RateLimit
}

// DefaultRateLimits mirror Fly's published Machines API limits, 1 request
// per second per action per Machine with bursts of 3, and 5 per second with
// bursts of 10 to get a Machine, with bursts one short of the server's: a
// request delayed on the way must not land on an empty server bucket.
func DefaultRateLimits() RateLimits {
	return RateLimits{
		Default:    RateLimit{Rate: 1, Burst: 2},
		GetMachine: RateLimit{Rate: 5, Burst: 9},
	}
}

// Bounds on the limiter's memory: idle buckets are dropped once there are
// many of them.
const (
	maxIdleBuckets = 4096
	bucketIdleTTL  = time.Minute
)

// limiter holds one token bucket per (action, Machine or app). It waits
// within the caller's context, and a 429 that still arrives drains the
// bucket and holds it closed for the server's Retry-After.
type limiter struct {
	limits  RateLimits
	mu      sync.Mutex
	buckets map[limitKey]*bucket
}

type limitKey struct{ op, resource string }

type bucket struct {
	lim      *rate.Limiter
	closedTo time.Time // no request before this (after a 429)
	used     time.Time
}

func newLimiter(l RateLimits) *limiter {
	return &limiter{limits: l, buckets: map[limitKey]*bucket{}}
}

func (l *limiter) get(k limitKey, now time.Time) *bucket {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buckets) >= maxIdleBuckets {
		for key, b := range l.buckets {
			if now.Sub(b.used) > bucketIdleTTL {
				delete(l.buckets, key)
			}
		}
	}
	b := l.buckets[k]
	if b == nil {
		rl := l.limits.Default
		if k.op == "Machines_show" {
			rl = l.limits.GetMachine
		}
		b = &bucket{lim: rate.NewLimiter(rate.Limit(rl.Rate), max(rl.Burst, 1))}
		l.buckets[k] = b
	}
	b.used = now
	return b
}

// wait blocks until the bucket of k lets one request through.
func (l *limiter) wait(ctx context.Context, k limitKey) error {
	if l == nil {
		return nil
	}
	b := l.get(k, time.Now())
	l.mu.Lock()
	closedFor := time.Until(b.closedTo)
	l.mu.Unlock()
	r := b.lim.Reserve()
	delay := max(closedFor, r.Delay())
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < delay {
		r.Cancel()
		return fmt.Errorf("rate limit: the next slot is after the deadline: %w", context.DeadlineExceeded)
	}
	if err := sleepCtx(ctx, delay); err != nil {
		r.Cancel()
		return err
	}
	return nil
}

// throttled records a 429 for k: the bucket is drained and stays closed
// for retryAfter (or one token's worth when the server gave no time).
func (l *limiter) throttled(k limitKey, retryAfter time.Duration) {
	if l == nil {
		return
	}
	now := time.Now()
	b := l.get(k, now)
	if retryAfter <= 0 {
		retryAfter = time.Duration(float64(time.Second) / float64(max(b.lim.Limit(), 0.01)))
	}
	b.lim.ReserveN(now, b.lim.Burst()) // empty the bucket
	l.mu.Lock()
	if until := now.Add(retryAfter); until.After(b.closedTo) {
		b.closedTo = until
	}
	l.mu.Unlock()
}

// limitKeyOf keys a call by its action and the most specific resource it
// names.
func limitKeyOf(c *call) limitKey {
	switch {
	case c.machine != "":
		return limitKey{c.op, c.app + "/" + c.machine}
	case c.app != "":
		return limitKey{c.op, c.app}
	}
	return limitKey{op: c.op}
}
