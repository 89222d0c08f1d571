package pool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/models"
)

// How long a claim waits, at Max with nothing free, before it looks again:
// from waitFirst, doubling up to waitMost, each drawn in [d/2, d) so that
// waiting processes spread out. A Machine freed by this Pool ends the wait
// at once.
const (
	waitFirst = 100 * time.Millisecond
	waitMost  = 2 * time.Second
)

// claim finds a free Machine of the pool and claims it: first one this
// Pool gave back free lately, then one from a list of the pool (stopped
// or suspended, of this generation, with no live lease; in random order,
// so that claimants spread out; those that last ran job first). When none
// is free it creates one below Max, and at Max waits until one is. The
// Machine comes back resting (stopped or suspended), under the claim's
// lease.
func (p *Pool) claim(ctx context.Context, job string) (*Claim, error) {
	begin := p.seqNow()
	after, maxAge := begin, snapshotFresh
	wait := waitFirst
	for {
		if p.isDrained() {
			return nil, ErrDrained
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p.sweepIfDue(ctx)
		if cl := p.claimHinted(ctx); cl != nil {
			return cl, nil
		}
		s, err := p.list(ctx, after, maxAge)
		if err != nil {
			return nil, err
		}
		if cl := p.claimListed(ctx, s, job); cl != nil {
			return cl, nil
		}
		if ctx.Err() != nil {
			continue
		}
		maxAge = 0
		if s.seq <= begin {
			// Nothing free in a list older than this claim: look at a new
			// one before creating.
			after = begin
			continue
		}
		switch ok, fresher := p.reserveCreate(s, p.cfg.Max); {
		case ok:
			cl, err := p.grow(ctx)
			if err != nil || cl != nil {
				return cl, err
			}
		case fresher > 0:
			// This Pool created a Machine since the list was asked for:
			// count from one that may show it.
			after = fresher
			continue
		}
		// Any list asked for from now on will do, whoever asks for it:
		// claims waiting together share one each time they wake.
		after = p.seqNow()
		if err := p.waitFree(ctx, wait); err != nil {
			return nil, err
		}
		wait = min(2*wait, waitMost)
	}
}

// claimHinted tries the Machines this Pool gave back free lately, newest
// first, until one is claimed or none is left.
func (p *Pool) claimHinted(ctx context.Context) *Claim {
	for ctx.Err() == nil {
		id, ok := p.popHint()
		if !ok {
			return nil
		}
		if cl := p.tryClaim(ctx, id); cl != nil {
			return cl
		}
	}
	return nil
}

// claimListed tries the free Machines of a list.
func (p *Pool) claimListed(ctx context.Context, s snapshot, job string) *Claim {
	now := time.Now()
	var same, other []string
	for _, m := range s.machines {
		if !resting(m) || leased(m, now) || generationOf(m) != p.tmpl.generation {
			continue
		}
		if jobOf(m) == job {
			same = append(same, m.ID)
		} else {
			other = append(other, m.ID)
		}
	}
	rand.Shuffle(len(same), func(i, j int) { same[i], same[j] = same[j], same[i] })
	rand.Shuffle(len(other), func(i, j int) { other[i], other[j] = other[j], other[i] })
	for _, id := range slices.Concat(same, other) {
		if ctx.Err() != nil {
			return nil
		}
		if cl := p.tryClaim(ctx, id); cl != nil {
			return cl
		}
	}
	return nil
}

// tryClaim takes a Machine's lease, then looks at it again: one that is
// not free after all (it was busy, or changed since the list) is given
// back at once. It returns nil when the Machine cannot be claimed.
func (p *Pool) tryClaim(ctx context.Context, id string) *Claim {
	if !p.hold(id) {
		return nil // this Pool holds it already
	}
	sent := time.Now()
	l, err := p.c.AcquireLease(ctx, p.cfg.App, id, p.cfg.LeaseTTL, flymachines.LeaseDescription(p.holder()))
	if err != nil {
		p.unhold(id, false)
		if !isConflict(err) && ctx.Err() == nil {
			p.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "pool: could not take a lease",
				slog.String("pool", p.cfg.Name), slog.String("machine", id), slog.String("error", err.Error()))
		}
		return nil
	}
	m, err := p.c.Machines.Show(ctx, p.cfg.App, id, nil)
	if err == nil && memberOf(m, p.cfg.Name) && resting(m) && generationOf(m) == p.tmpl.generation {
		return p.newClaim(m, l, sent)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	_ = l.Release(rctx)
	p.unhold(id, false)
	return nil
}

// holder is the lease description of this Pool's claims.
func (p *Pool) holder() string { return "pool " + p.cfg.Name + " held by " + p.cfg.Holder }

// reserveCreate reports whether the pool, as s and this Pool's own
// creates show it, is below limit (Max for a claim, Min for a sweep), and
// this Pool has no create under way; if so it counts one create under
// way, which createDone ends. One create at a time, each decided on a list
// asked for after the previous one ended, is what bounds the overshoot of
// Max to one Machine per process. When s was asked for before this Pool's
// last create ended, it returns the number a list must come after
// instead.
func (p *Pool) reserveCreate(s snapshot, limit int) (ok bool, fresher uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.creating > 0 || p.drained {
		return false, 0
	}
	if s.seq <= p.createSeq {
		return false, p.createSeq
	}
	n := 0
	listed := map[string]bool{}
	for _, m := range s.machines {
		listed[m.ID] = true
		if !gone(m) {
			n++
		}
	}
	now := time.Now()
	for id, at := range p.recent {
		switch {
		case now.Sub(at) > recentFor:
			delete(p.recent, id)
		case !listed[id]:
			n++ // created, not listed yet
		}
	}
	if n >= limit {
		return false, 0
	}
	p.creating++
	return true, 0
}

// grow creates a Machine for the pool (reserveCreate reserved the
// create), stopped (skip_launch) and leased to this process from the start
// (lease_ttl): claimed as it is born. It uses
// the duplicate-free create (a launch id) and moves on to the next region
// when one has no capacity. A Machine whose lease nonce is unknown (the
// create's answer was lost, and the lookup that found the Machine carries
// no nonce) stays the pool's, locked until its lease lapses: grow returns
// (nil, nil) then.
func (p *Pool) grow(ctx context.Context) (*Claim, error) {
	defer p.createDone()
	req := &models.CreateMachineRequest{
		Config:     p.tmpl.config(Job{}, nil),
		SkipLaunch: true,
		LeaseTTL:   int64(p.cfg.LeaseTTL / time.Second),
	}
	var opts []flymachines.CreateOption
	if len(p.cfg.Regions) > 0 {
		req.Region = p.cfg.Regions[0]
		opts = append(opts, flymachines.WithRegionFallback(p.cfg.Regions[1:]...))
	}
	sent := time.Now()
	m, err := p.c.CreateMachine(ctx, p.cfg.App, req, opts...)
	if err != nil {
		return nil, fmt.Errorf("creating a machine: %w", err)
	}
	p.mu.Lock()
	p.recent[m.ID] = time.Now()
	p.mu.Unlock()
	p.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "pool: created a machine",
		slog.String("pool", p.cfg.Name), slog.String("machine", m.ID), slog.String("region", m.Region))
	if m.Nonce == "" || !p.hold(m.ID) {
		p.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "pool: a created machine came without its lease nonce; it is free once the lease lapses",
			slog.String("pool", p.cfg.Name), slog.String("machine", m.ID))
		return nil, nil
	}
	l := p.c.AdoptLease(p.cfg.App, m.ID, m.Nonce, p.cfg.LeaseTTL)
	l.Version = m.Version
	return p.newClaim(m, l, sent), nil
}

// createDone ends a create under way.
func (p *Pool) createDone() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.creating--
	p.createSeq = p.listSeq
}

// waitFree sleeps about d (drawn in [d/2, d)), or until this Pool frees a
// Machine, or ctx ends.
func (p *Pool) waitFree(ctx context.Context, d time.Duration) error {
	p.mu.Lock()
	freed := p.freed
	p.mu.Unlock()
	t := time.NewTimer(d/2 + rand.N(d/2+1))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-freed:
	case <-t.C:
	}
	return nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// errCtx is ctx's error with its cause, if it has ended.
func errCtx(ctx context.Context) error {
	err := ctx.Err()
	if cause := context.Cause(ctx); err != nil && cause != nil && !errors.Is(cause, err) {
		return fmt.Errorf("%w: %w", err, cause)
	}
	return err
}

// AcquireOption configures Acquire.
type AcquireOption func(*acquireConfig)

type acquireConfig struct {
	job     Job
	noStart bool
}

// WithJob boots the Machine with job's command and environment instead of
// the pool's own config (see Job).
func WithJob(job Job) AcquireOption { return func(c *acquireConfig) { c.job = job } }

// Stopped leaves the claimed Machine as it was found, stopped or
// suspended: the caller boots it itself, with the claim's context.
func Stopped() AcquireOption { return func(c *acquireConfig) { c.noStart = true } }

// Acquire claims a Machine of the pool for the caller, who talks to it
// (its services, over the private network or the proxy) and calls
// Release when done: it claims a free Machine (or creates one, below Max;
// or waits, at Max), boots it with the pool's config (a suspended one is
// resumed), and returns once it is started. The claim holds until
// Release, its lease refreshed in the background; a Machine that stops
// by itself meanwhile (autostop when idle) stays claimed. Release stops
// the Machine if it still runs and frees it.
//
// An error matching ErrNotStarted means nothing was booted.
func (p *Pool) Acquire(ctx context.Context, opts ...AcquireOption) (*Claim, error) {
	var cfg acquireConfig
	for _, opt := range opts {
		if opt != nil {
			opt(&cfg)
		}
	}
	if err := cfg.job.check(); err != nil {
		return nil, notStarted(err)
	}
	for {
		cl, err := p.claim(ctx, cfg.job.key())
		if err != nil {
			return nil, notStarted(fmt.Errorf("pool %s: %w", p.cfg.Name, err))
		}
		if cfg.noStart {
			return cl, nil
		}
		version, err := cl.boot(ctx, cfg.job, true)
		switch {
		case errors.Is(err, errRefused):
			continue
		case err != nil:
			return nil, err
		}
		if err := cl.waitStarted(ctx, version); err != nil {
			return nil, err
		}
		return cl, nil
	}
}

// waitStarted waits for the booted Machine to be started; if it fails to,
// the claim is given back (a failed Machine is destroyed).
func (cl *Claim) waitStarted(ctx context.Context, version string) error {
	p, id := cl.p, cl.ID()
	_, err := p.c.WaitForState(ctx, p.cfg.App, id, []string{flymachines.StateStarted}, flymachines.WithInstanceID(version))
	if err == nil {
		var m *models.Machine
		if m, err = p.c.Machines.Show(ctx, p.cfg.App, id, nil); err == nil {
			cl.setMachine(m)
			return nil
		}
	}
	failed := errors.Is(err, flymachines.ErrMachineFailed)
	state := ""
	if failed {
		state = flymachines.StateFailed
	}
	_ = cl.giveBackOnce(ctx, state)
	if failed {
		return notStarted(fmt.Errorf("pool %s: machine %s failed to start (destroyed): %w", p.cfg.Name, id, err))
	}
	return fmt.Errorf("pool %s: machine %s: %w", p.cfg.Name, id, err)
}
