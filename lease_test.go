package flymachines_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/flytest"
)

func stopMachine(ctx context.Context, c *flymachines.Client, app, id string) error {
	return c.Machines.Stop(ctx, app, id, nil, nil)
}

func TestLeaseHeldBySomeoneElse(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		r := newResilient(t, nil)
		m := r.machine("nginx")
		ctx := context.Background()
		lease, err := r.c.AcquireLease(ctx, r.app, m.ID, 30*time.Second, flymachines.LeaseDescription("deploy"))
		if err != nil {
			t.Fatal(err)
		}
		if lease.Nonce() == "" || lease.Owner == "" || time.Until(lease.ExpiresAt()) < 20*time.Second {
			t.Errorf("lease = nonce %q owner %q expires %s", lease.Nonce(), lease.Owner, lease.ExpiresAt())
		}

		bob := r.client(bobToken)
		_, err = bob.AcquireLease(ctx, r.app, m.ID, 30*time.Second)
		var held *flymachines.LeaseHeldError
		if !errors.Is(err, flymachines.ErrLeaseHeld) || !errors.As(err, &held) {
			t.Fatalf("second lease: err = %v, want ErrLeaseHeld", err)
		}
		if held.Owner != lease.Owner || held.ExpiresAt.Unix() != lease.ExpiresAt().Unix() {
			t.Errorf("held by %q until %s, want %q until %s", held.Owner, held.ExpiresAt, lease.Owner, lease.ExpiresAt())
		}
		if err := stopMachine(ctx, bob, r.app, m.ID); !errors.Is(err, flymachines.ErrLeaseHeld) {
			t.Errorf("a mutation by someone else: err = %v, want ErrLeaseHeld", err)
		}
	})
}

// TestLeaseNonceTravelsWithTheContext: inside the lease's context every
// mutation of the Machine carries the nonce; outside it does not.
func TestLeaseNonceTravelsWithTheContext(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		r := newResilient(t, nil)
		m := r.machine("nginx")
		other := r.machine("nginx")
		ctx := context.Background()
		lease, err := r.c.AcquireLease(ctx, r.app, m.ID, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if err := stopMachine(ctx, r.c, r.app, m.ID); !errors.Is(err, flymachines.ErrLeaseHeld) && !errors.Is(err, flymachines.ErrConflict) {
			t.Errorf("without the lease's context: err = %v, want a lease conflict", err)
		}
		lctx := lease.Context(ctx)
		if err := stopMachine(lctx, r.c, r.app, m.ID); err != nil {
			t.Errorf("with the lease's context: %v", err)
		}
		// The nonce goes only to the leased Machine.
		if err := stopMachine(lctx, r.c, r.app, other.ID); err != nil {
			t.Errorf("another machine under the lease's context: %v", err)
		}
		if err := lease.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := r.client(bobToken).AcquireLease(ctx, r.app, m.ID, time.Minute); err != nil {
			t.Errorf("after release: %v", err)
		}
	})
}

func TestUnderLeaseReleasesAfterwards(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		fn   func(ctx context.Context, cancel context.CancelFunc) error
	}{
		{"success", func(context.Context, context.CancelFunc) error { return nil }},
		{"error", func(context.Context, context.CancelFunc) error { return errors.New("boom") }},
		{"cancelled context", func(ctx context.Context, cancel context.CancelFunc) error { cancel(); <-ctx.Done(); return ctx.Err() }},
		{"panic", func(context.Context, context.CancelFunc) error { panic("boom") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				r := newResilient(t, nil)
				m := r.machine("nginx")
				bctx, cancel := context.WithCancel(ctx)
				defer cancel()
				func() {
					defer func() {
						if p := recover(); p != nil && tc.name != "panic" {
							t.Errorf("unexpected panic %v", p)
						}
					}()
					_ = r.c.UnderLease(bctx, r.app, m.ID, 10*time.Second, func(ctx context.Context) error {
						return tc.fn(ctx, cancel)
					})
				}()
				if _, err := r.client(bobToken).AcquireLease(ctx, r.app, m.ID, time.Minute); err != nil {
					t.Errorf("the lease was not released: %v", err)
				}
			})
		})
	}
}

func TestUnderLeaseRefreshesAndMutates(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		r := newResilient(t, nil)
		m := r.machine("nginx")
		ctx := context.Background()
		err := r.c.UnderLease(ctx, r.app, m.ID, 2*time.Second, func(ctx context.Context) error {
			if err := stopMachine(ctx, r.c, r.app, m.ID); err != nil {
				return err
			}
			time.Sleep(2500 * time.Millisecond) // longer than the ttl: only refreshes keep it
			_, err := r.c.Machines.Start(ctx, r.app, m.ID, nil)
			return err
		})
		if err != nil {
			t.Fatalf("block under lease: %v", err)
		}
		got, err := r.show(m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != "starting" && got.State != "started" {
			t.Errorf("state %s after the block's start", got.State)
		}
	})
}

// TestLeaseLostMidBlock: the lease lapses (the emulator's clock jumps past
// its expiry) and someone else takes it; the block's context ends with
// ErrLeaseLost, its mutations are refused, and the new holder's lease
// survives the block's release.
func TestLeaseLostMidBlock(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		clock := flytest.NewFakeClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
		r := newResilient(t, []flytest.Option{flytest.WithClock(clock)})
		m := r.machine("nginx")
		ctx := context.Background()
		bob := r.client(bobToken)
		var bobLease *flymachines.Lease
		err := r.c.UnderLease(ctx, r.app, m.ID, 3*time.Second, func(ctx context.Context) error {
			clock.Advance(time.Minute)
			var err error
			if bobLease, err = bob.AcquireLease(context.Background(), r.app, m.ID, time.Hour); err != nil {
				t.Errorf("the lapsed lease could not be taken: %v", err)
			}
			if err := stopMachine(ctx, r.c, r.app, m.ID); !errors.Is(err, flymachines.ErrLeaseHeld) {
				t.Errorf("a mutation with the lapsed nonce: err = %v, want ErrLeaseHeld", err)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(5 * time.Second):
				return errors.New("the block was never told the lease was lost")
			}
		})
		if !errors.Is(err, flymachines.ErrLeaseLost) {
			t.Errorf("UnderLease = %v, want ErrLeaseLost", err)
		}
		if bobLease == nil {
			t.FailNow()
		}
		if err := stopMachine(bobLease.Context(ctx), bob, r.app, m.ID); err != nil {
			t.Errorf("the new holder's lease did not survive: %v", err)
		}
	})
}

func TestAcquireLeaseRefusesTinyTTL(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		r := newResilient(t, nil)
		_, err := r.c.AcquireLease(context.Background(), r.app, "148ed726c24e89", 100*time.Millisecond)
		if !errors.Is(err, flymachines.ErrInvalidArgument) {
			t.Errorf("err = %v, want ErrInvalidArgument", err)
		}
	})
}
