package flymachines

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/flymachines/flymachines-go/client/ops"
)

func TestClassifyFailure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	api := func(code int) error { return &APIError{Op: "x", StatusCode: code} }
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	reset := &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}
	for _, tc := range []struct {
		name string
		ctx  context.Context
		op   string
		err  error
		want failureKind
	}{
		{"429", ctx, "Machines_create", api(429), notApplied},
		{"503", ctx, "Machines_create", api(503), ambiguous},
		{"502", ctx, "Machines_show", api(502), ambiguous},
		{"504", ctx, "Machines_show", api(504), ambiguous},
		{"500 is a server bug, not a hiccup", ctx, "Machines_show", api(500), permanent},
		{"408 on a mutation", ctx, "Machines_start", api(408), ambiguous},
		{"408 on wait means not yet", ctx, "Machines_wait", api(408), permanent},
		{"404", ctx, "Machines_show", api(404), permanent},
		{"refused connection", ctx, "Machines_create", fmt.Errorf("wrapped: %w", dial), notApplied},
		{"DNS failure", ctx, "Machines_create", &net.DNSError{Err: "no such host", Name: "x"}, notApplied},
		{"reset", ctx, "Machines_create", reset, ambiguous},
		{"validation", ctx, "Machines_create", &ValidationError{Op: "x", Err: errors.New("bad")}, permanent},
		{"caller gave up", cancelled, "Machines_show", api(503), permanent},
		{"unreadable answer", ctx, "Machines_show", fmt.Errorf("x: %w", ErrUnexpectedAnswer), permanent},
	} {
		if got := classifyFailure(tc.ctx, opFacts(tc.op), tc.err); got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, got, tc.want)
		}
	}
	create, show := opFacts(ops.MachinesCreate), opFacts(ops.MachinesShow)
	if !shouldRetry(create, notApplied) || shouldRetry(create, ambiguous) || !shouldRetry(show, ambiguous) || shouldRetry(show, permanent) {
		t.Error("shouldRetry does not follow the facts table")
	}
}

func TestBackoffIsBoundedFullJitter(t *testing.T) {
	t.Parallel()
	p := RetryPolicy{MaxAttempts: 10, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}
	for n := 1; n <= 40; n++ {
		ceiling := min(p.BaseDelay<<min(n-1, 30), p.MaxDelay)
		for range 50 {
			if d := p.backoff(n, 0); d <= 0 || d > ceiling {
				t.Fatalf("retry %d: delay %s outside (0, %s]", n, d, ceiling)
			}
		}
	}
	if d := p.backoff(1, 3*time.Second); d != 3*time.Second {
		t.Errorf("Retry-After 3s gave %s", d)
	}
}

func TestLimiterForgetsIdleBuckets(t *testing.T) {
	t.Parallel()
	l := newLimiter(DefaultRateLimits(), time.Hour)
	old := time.Now().Add(-2 * bucketIdleTTL)
	for i := range 5000 {
		l.get(limitKey{op: "Machines_show", resource: fmt.Sprint(i)}, rateClassGetMachine, old)
	}
	// A bucket closed by a 429 stays while closed, however long unused.
	l.throttled(limitKey{op: "Machines_stop", resource: "closed"}, "default", 30*time.Minute)

	l.get(limitKey{op: "Machines_show", resource: "new"}, rateClassGetMachine, time.Now().Add(10*time.Minute))
	if n := l.buckets.len(); n != 2 {
		t.Errorf("%d buckets kept, want the idle ones dropped and the closed one kept", n)
	}
}
