package flymachines

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/flymachines/flymachines-go/client/ops"

	"github.com/flymachines/flymachines-go/client/leases"
	"github.com/flymachines/flymachines-go/models"
)

// ErrLeaseLost: a lease could not be refreshed while a block ran under it
// (it expired and someone else took it, or the Machine went away). The
// block's context is cancelled with an error matching it.
var ErrLeaseLost = errors.New("flymachines: lease lost")

// headerLeaseNonce carries a lease's nonce on the mutations it guards.
const headerLeaseNonce = "fly-machine-lease-nonce"

// Bounds of a lease's upkeep.
const (
	minLeaseTTL     = time.Second
	minRefreshEvery = 500 * time.Millisecond
	releaseTimeout  = 10 * time.Second
)

// Lease is an exclusive lock on changing one Machine: while it is held,
// the API refuses mutations of the Machine that do not carry its nonce.
// Context (or Do, or Client.UnderLease) attaches the nonce to every
// mutation of that Machine made with the returned context, so no call has
// to pass it by hand.
type Lease struct {
	App       string
	MachineID string
	Owner     string
	Version   string // the Machine version the lease was taken on

	c   *Client
	ttl time.Duration

	mu        sync.Mutex
	nonce     string
	expiresAt time.Time
}

// LeaseOption configures AcquireLease.
type LeaseOption func(*models.CreateLeaseRequest)

// LeaseDescription records why the lease is held, for whoever finds the
// Machine leased.
func LeaseDescription(s string) LeaseOption {
	return func(r *models.CreateLeaseRequest) { r.Description = s }
}

// AcquireLease takes the lease of a Machine for ttl (whole seconds, at
// least one). A lease held by someone else is an error matching
// ErrLeaseHeld; errors.As to *LeaseHeldError gives its owner and expiry.
// The lease is not refreshed by itself: use Do or UnderLease for that, or
// call Refresh before it expires.
func (c *Client) AcquireLease(ctx context.Context, app, machineID string, ttl time.Duration, opts ...LeaseOption) (*Lease, error) {
	if ttl < minLeaseTTL {
		return nil, &ValidationError{Op: "Machines_create_lease", Err: fmt.Errorf("lease ttl %s is under %s", ttl, minLeaseTTL)}
	}
	body := &models.CreateLeaseRequest{TTL: ttlSeconds(ttl)}
	for _, opt := range opts {
		opt(body)
	}
	l := &Lease{App: app, MachineID: machineID, c: c, ttl: ttl}
	if err := l.post(ctx, body, ""); err != nil {
		return nil, err
	}
	return l, nil
}

// AdoptLease is the lease a create or an update sent with lease_ttl took
// on the Machine: its answer carries the nonce (models.Machine.Nonce), so
// the caller holds the new Machine's lease from the start. ttl is the
// lease_ttl sent, and the lease is taken to run ttl from now until a
// Refresh says exactly. Nothing is sent.
func (c *Client) AdoptLease(app, machineID, nonce string, ttl time.Duration) *Lease {
	return &Lease{App: app, MachineID: machineID, c: c, ttl: max(ttl, minLeaseTTL),
		nonce: nonce, expiresAt: time.Now().Add(ttl)}
}

// UnderLease acquires the Machine's lease, runs fn under it (see
// Lease.Do) and releases it.
func (c *Client) UnderLease(ctx context.Context, app, machineID string, ttl time.Duration, fn func(ctx context.Context) error, opts ...LeaseOption) error {
	l, err := c.AcquireLease(ctx, app, machineID, ttl, opts...)
	if err != nil {
		return err
	}
	return l.Do(ctx, fn)
}

// Nonce is the lease's nonce, the proof of holding it.
func (l *Lease) Nonce() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nonce
}

// ExpiresAt is when the lease lapses unless refreshed.
func (l *Lease) ExpiresAt() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.expiresAt
}

// Refresh extends the lease by its ttl from now.
func (l *Lease) Refresh(ctx context.Context) error {
	return l.post(ctx, &models.CreateLeaseRequest{TTL: ttlSeconds(l.ttl)}, l.Nonce())
}

// Release gives the lease up. Releasing a lease that has lapsed, or that
// someone else took since, fails and changes nothing.
func (l *Lease) Release(ctx context.Context) error {
	return l.c.Leases.Release(ctx, l.App, l.MachineID, l.Nonce())
}

// Context returns ctx carrying the lease: every mutation of the leased
// Machine made with it sends the lease's nonce.
func (l *Lease) Context(ctx context.Context) context.Context {
	return context.WithValue(ctx, leaseKey{l.App, l.MachineID}, l)
}

// Do runs fn with a context carrying the lease (see Context), refreshes the
// lease in the background while fn runs, and releases it when fn returns,
// panics, or its context ends. If a refresh fails, fn's context is
// cancelled with an error matching ErrLeaseLost, which Do returns unless fn
// failed first. A release that fails after fn succeeded is returned too.
func (l *Lease) Do(ctx context.Context, fn func(ctx context.Context) error) (err error) {
	bctx, cancel := context.WithCancelCause(l.Context(ctx))
	stopped := make(chan struct{})
	go l.keepAlive(bctx, cancel, stopped)
	defer func() {
		lost := context.Cause(bctx)
		cancel(nil)
		<-stopped
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		relErr := l.Release(rctx)
		rcancel()
		if p := recover(); p != nil {
			panic(p)
		}
		switch {
		case errors.Is(lost, ErrLeaseLost):
			if err == nil || errors.Is(err, context.Canceled) {
				err = lost
			}
		case err == nil && relErr != nil:
			err = fmt.Errorf("flymachines: releasing the lease of machine %s: %w", l.MachineID, relErr)
		}
	}()
	return fn(bctx)
}

// keepAlive refreshes the lease at a third of its ttl until ctx ends.
func (l *Lease) keepAlive(ctx context.Context, lose context.CancelCauseFunc, stopped chan<- struct{}) {
	defer close(stopped)
	every := max(l.ttl/3, minRefreshEvery)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := l.Refresh(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			l.c.logger.LogAttrs(ctx, slog.LevelWarn, "flymachines: lease lost",
				slog.String("app", l.App), slog.String("machine", l.MachineID), slog.String("error", err.Error()))
			lose(fmt.Errorf("%w: machine %s: %w", ErrLeaseLost, l.MachineID, err))
			return
		}
	}
}

// post creates (nonce "") or refreshes the lease and records the answer.
func (l *Lease) post(ctx context.Context, body *models.CreateLeaseRequest, nonce string) error {
	created, err := l.c.Leases.Create(ctx, l.App, l.MachineID, body, &leases.CreateParams{LeaseNonce: nonce})
	if err != nil {
		return err
	}
	var data *models.Lease
	if created != nil {
		data = created.Data
	}
	if data == nil || data.Nonce == "" {
		return emptyAnswer(ops.LeasesCreate, "holds no lease")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.nonce, l.Owner, l.Version = data.Nonce, data.Owner, data.Version
	l.expiresAt = time.Unix(data.ExpiresAt, 0)
	return nil
}

func ttlSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}

// leaseKey finds the lease of one Machine in a context.
type leaseKey struct{ app, machine string }

// leaseFrom is the lease of the Machine app/machine that ctx carries, if
// any (Lease.Context): the submitter sends its nonce on the mutations the
// facts table marks, so no call passes it by hand.
func leaseFrom(ctx context.Context, app, machine string) *Lease {
	if machine == "" {
		return nil
	}
	l, _ := ctx.Value(leaseKey{app, machine}).(*Lease)
	return l
}
