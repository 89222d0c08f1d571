package pool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/models"
)

// errReleased ends a claim's context when the claim is released.
var errReleased = errors.New("pool: claim released")

// Claim is one Machine of the pool held by this process: its lease, which
// is refreshed in the background until Release or until a refresh fails
// for good (the lease lapsed and someone else took it, or the Machine is
// gone). Every change to the Machine made with Context carries the lease's
// nonce, so no other claimant's change can land in between.
type Claim struct {
	p     *Pool
	lease *flymachines.Lease

	mu        sync.Mutex
	m         *models.Machine // as last seen
	heldUntil time.Time       // until when the lease is surely this claim's (see keep)

	ctx  context.Context // ends when the claim ends: released or lost
	end  context.CancelCauseFunc
	kept chan struct{} // closed when the lease's upkeep stops

	once   sync.Once
	relErr error
}

// newClaim holds l on m and keeps it up; sent is when the request that
// took the lease was sent.
func (p *Pool) newClaim(m *models.Machine, l *flymachines.Lease, sent time.Time) *Claim {
	ctx, end := context.WithCancelCause(context.Background())
	cl := &Claim{p: p, lease: l, m: m, heldUntil: sent.Add(p.cfg.LeaseTTL), ctx: ctx, end: end, kept: make(chan struct{})}
	go cl.keep()
	return cl
}

// Machine is the claimed Machine as last seen (after Acquire, started).
// Do not modify it.
func (cl *Claim) Machine() *models.Machine {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.m
}

func (cl *Claim) setMachine(m *models.Machine) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	cl.m = m
}

// ID is the claimed Machine's id.
func (cl *Claim) ID() string { return cl.lease.MachineID }

// Lease is the claim's lease.
func (cl *Claim) Lease() *flymachines.Lease { return cl.lease }

// Context returns ctx carrying the claim's lease: every change to the
// Machine made with it sends the lease's nonce. It is cancelled when the
// claim ends: after Release, or when the lease is lost (its cause then
// matches flymachines.ErrLeaseLost). Each call holds about a kilobyte
// until ctx or the claim ends: for many calls during a long claim, derive
// one context and reuse it, or pass contexts that end (a request's).
func (cl *Claim) Context(ctx context.Context) context.Context {
	out, cancel := context.WithCancelCause(cl.lease.Context(ctx))
	stop := context.AfterFunc(cl.ctx, func() { cancel(context.Cause(cl.ctx)) })
	context.AfterFunc(out, func() { stop() })
	return out
}

// Done is closed when the claim ends: released or lost.
func (cl *Claim) Done() <-chan struct{} { return cl.ctx.Done() }

// Err is nil while the claim holds; after it is lost, an error matching
// flymachines.ErrLeaseLost; after Release, one saying so.
func (cl *Claim) Err() error { return context.Cause(cl.ctx) }

// keep refreshes the lease at a third of its ttl until the claim ends.
// The claim holds only for as long as this process can tell: a lease taken
// or refreshed by a request sent at t is this claim's until t + ttl at
// least, on this host's clock (the API's expires_at is on another). A
// refresh that fails is tried again soon after, each bounded by that time
// (a request that hangs does not keep the claim alive); once it has
// passed, or the API says the lease is someone else's or the Machine is
// gone, the claim is lost.
func (cl *Claim) keep() {
	defer close(cl.kept)
	ttl := cl.p.cfg.LeaseTTL
	every, again := max(ttl/3, 300*time.Millisecond), max(ttl/10, 100*time.Millisecond)
	t := time.NewTimer(min(every, time.Until(cl.until())/2))
	defer t.Stop()
	for {
		select {
		case <-cl.ctx.Done():
			return
		case <-t.C:
		}
		until, sent := cl.until(), time.Now()
		err := errMayHaveLapsed
		if sent.Before(until) {
			rctx, cancel := context.WithDeadline(cl.ctx, until)
			err = cl.lease.Refresh(rctx)
			cancel()
		}
		switch {
		case err == nil:
			cl.mu.Lock()
			cl.heldUntil = sent.Add(ttl)
			cl.mu.Unlock()
			t.Reset(every)
			continue
		case cl.ctx.Err() != nil:
			return
		case !isConflict(err) && time.Now().Before(until):
			t.Reset(min(again, time.Until(until)))
			continue
		case !errors.Is(err, errMayHaveLapsed) && !isConflict(err):
			err = fmt.Errorf("%w: %w", errMayHaveLapsed, err)
		}
		cl.p.cfg.Logger.LogAttrs(cl.ctx, slog.LevelWarn, "pool: claim lost",
			slog.String("pool", cl.p.cfg.Name), slog.String("machine", cl.ID()), slog.String("error", err.Error()))
		cl.end(fmt.Errorf("%w: machine %s: %w", flymachines.ErrLeaseLost, cl.ID(), err))
		return
	}
}

// errMayHaveLapsed: no refresh of the lease got through in time.
var errMayHaveLapsed = errors.New("the lease may have lapsed: no refresh got through in time")

// until is when the lease may lapse, as far as this process can tell.
func (cl *Claim) until() time.Time {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.heldUntil
}

// held reports whether the claim holds: not ended, and its lease surely
// still this claim's, so that no one else can have changed the Machine
// since it was taken.
func (cl *Claim) held() bool { return cl.Err() == nil && time.Now().Before(cl.until()) }

// Release gives the Machine back: it stops it if it runs (under the
// lease, waiting until it is down), then gives the lease up; the Machine
// is free for the next claim. A Machine that failed, or one claimed while
// the pool drains, is destroyed instead. A claim that was lost is only
// forgotten: the Machine is someone else's (or will be reclaimed), and
// Release returns the loss. Release may be called more than once; it
// acts once. It works on after ctx ends, for up to 30 s, so that a
// cancelled caller leaves no Machine running.
func (cl *Claim) Release(ctx context.Context) error { return cl.giveBackOnce(ctx, "") }

// giveBackOnce is giveBack, the first time the claim ends.
func (cl *Claim) giveBackOnce(ctx context.Context, state string) error {
	cl.once.Do(func() { cl.relErr = cl.giveBack(ctx, state) })
	return cl.relErr
}

// giveBack releases the claim; state is the Machine's state if the caller
// knows it ("" to look it up).
func (cl *Claim) giveBack(ctx context.Context, state string) error {
	p, id := cl.p, cl.ID()
	if err := cl.Err(); err != nil {
		cl.stopKeeping(nil)
		p.unhold(id, false)
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	lctx := cl.lease.Context(ctx)

	var err error
	if state == "" {
		var m *models.Machine
		if m, err = p.c.Machines.Show(ctx, p.cfg.App, id, nil); err == nil {
			cl.setMachine(m)
			state = m.State
		}
	}
	free := false
	switch {
	case err != nil:
		// Unknown: left as it is, under no claim; a sweep takes it back
		// if it runs.
	case state == flymachines.StateDestroyed || state == "destroying":
	case state == flymachines.StateFailed || p.isDrained():
		if err = p.destroy(lctx, id); err == nil {
			cl.stopKeeping(errReleased) // the lease went with the Machine
			p.unhold(id, false)
			return nil
		}
	case resting(&models.Machine{State: state}):
		free = true
	default:
		if err = cl.stop(lctx); err == nil {
			free = true
		}
	}
	cl.stopKeeping(errReleased)
	relErr := cl.releaseLease(ctx)
	p.unhold(id, free && relErr == nil)
	if err != nil {
		p.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "pool: could not give a machine back cleanly",
			slog.String("pool", p.cfg.Name), slog.String("machine", id), slog.String("error", err.Error()))
		return fmt.Errorf("pool %s: giving back machine %s: %w", p.cfg.Name, id, err)
	}
	return nil
}

// stop stops the Machine and waits until it is down.
func (cl *Claim) stop(ctx context.Context) error {
	p, id := cl.p, cl.ID()
	if err := p.c.Machines.Stop(ctx, p.cfg.App, id, nil, nil); err != nil {
		return err
	}
	_, err := p.c.WaitForState(ctx, p.cfg.App, id, []string{flymachines.StateStopped, flymachines.StateSuspended})
	return err
}

// stopKeeping ends the claim's context with cause (nil: it has one) and
// waits until the lease is no longer refreshed.
func (cl *Claim) stopKeeping(cause error) {
	if cause != nil {
		cl.end(cause)
	}
	<-cl.kept
}

// releaseLease gives the lease up. One that lapsed or went with its
// Machine needs no release.
func (cl *Claim) releaseLease(ctx context.Context) error {
	err := cl.lease.Release(ctx)
	if err == nil || errors.Is(err, flymachines.ErrNotFound) {
		return nil
	}
	cl.p.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "pool: could not give a lease back; it lapses by itself",
		slog.String("pool", cl.p.cfg.Name), slog.String("machine", cl.ID()), slog.String("error", err.Error()))
	return err
}

// destroy destroys a Machine (ctx carries its lease), killing it if it
// runs.
func (p *Pool) destroy(ctx context.Context, id string) error {
	err := p.c.Machines.Delete(ctx, p.cfg.App, id, &machines.DeleteParams{Force: true})
	if err != nil && !errors.Is(err, flymachines.ErrNotFound) {
		return err
	}
	p.mu.Lock()
	delete(p.recent, id) // gone: it counts no more, listed or not
	p.mu.Unlock()
	p.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "pool: destroyed a machine", slog.String("pool", p.cfg.Name), slog.String("machine", id))
	return nil
}
