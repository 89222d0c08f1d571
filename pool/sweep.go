package pool

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/models"
)

// Sweep looks at the whole pool and tidies it, each change under the
// Machine's lease, so that it never touches a Machine someone holds:
//
//   - a Machine running with no live lease for ReclaimAfter (its holder
//     died and its lease lapsed) is stopped, and free again once down;
//   - a failed Machine, and a free Machine of an older generation, is
//     destroyed;
//   - above Max (concurrent creators overshot it), free Machines are
//     destroyed, the longest idle first, down to Max;
//   - free Machines stopped for longer than IdleTimeout are destroyed
//     while the pool is above Min;
//   - below Min, stopped Machines are created up to it.
//
// Run and Acquire sweep on their way every SweepEvery; Sweep sweeps now.
// Processes that sweep at once do no harm: each change needs the lease,
// and only one of them gets it.
func (p *Pool) Sweep(ctx context.Context) error {
	s, err := p.list(ctx, p.seqNow(), 0)
	if err != nil {
		return fmt.Errorf("pool %s: %w", p.cfg.Name, err)
	}
	err = p.sweep(ctx, s)
	p.mu.Lock()
	p.lastSweep = time.Now()
	p.mu.Unlock()
	if err != nil {
		return fmt.Errorf("pool %s: sweep: %w", p.cfg.Name, err)
	}
	return nil
}

// sweepIfDue sweeps when SweepEvery has passed since the last sweep of
// this Pool, unless one is under way. Its failures are logged: the claim
// that called it goes on.
func (p *Pool) sweepIfDue(ctx context.Context) {
	p.mu.Lock()
	due := !p.sweeping && time.Since(p.lastSweep) >= p.cfg.SweepEvery
	if due {
		p.sweeping = true
	}
	p.mu.Unlock()
	if !due {
		return
	}
	defer func() {
		p.mu.Lock()
		p.sweeping, p.lastSweep = false, time.Now()
		p.mu.Unlock()
	}()
	s, err := p.list(ctx, p.seqNow(), snapshotFresh)
	if err == nil {
		err = p.sweep(ctx, s)
	}
	if err != nil && ctx.Err() == nil {
		p.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "pool: sweep", slog.String("pool", p.cfg.Name), slog.String("error", err.Error()))
	}
}

// sweepPlan is what a sweep will do, decided from one list.
type sweepPlan struct {
	reclaim []string // running with no live lease: stop
	destroy []doomed // destroy, if still as seen
	create  int      // Machines to create, to reach Min
}

// doomed is a Machine a sweep destroys, and what must still hold of it
// once its lease is taken.
type doomed struct {
	id    string
	why   string
	still func(m *models.Machine, now time.Time) bool
}

// plan decides a sweep from a list of the pool at now.
func (p *Pool) plan(s snapshot, now time.Time) sweepPlan {
	p.mu.Lock()
	held := func(id string) bool { return p.held[id] }
	defer p.mu.Unlock()

	var plan sweepPlan
	stale := p.olderGenerations(s.machines)
	var free []*models.Machine
	live := 0
	for _, m := range s.machines {
		if gone(m) {
			continue
		}
		live++
		if held(m.ID) || leased(m, now) {
			continue
		}
		switch {
		case m.State == flymachines.StateStarted && p.unclaimedFor(m, now):
			plan.reclaim = append(plan.reclaim, m.ID)
		case m.State == flymachines.StateFailed:
			plan.destroy = append(plan.destroy, doomed{m.ID, "failed", func(m *models.Machine, _ time.Time) bool {
				return m.State == flymachines.StateFailed
			}})
			live--
		case resting(m) && stale[generationOf(m)]:
			gen := generationOf(m)
			plan.destroy = append(plan.destroy, doomed{m.ID, "older generation " + gen, func(m *models.Machine, _ time.Time) bool {
				return resting(m) && generationOf(m) == gen
			}})
			live--
		case resting(m) && generationOf(m) == p.tmpl.generation:
			free = append(free, m)
		}
	}
	// The longest idle first: above Max any free one goes, above Min the
	// idle ones.
	slices.SortFunc(free, func(a, b *models.Machine) int { return updatedAt(a).Compare(updatedAt(b)) })
	idle := 0
	for _, m := range free {
		if p.idleFor(m, now) {
			idle++
		}
	}
	n := min(max(live-p.cfg.Max, min(idle, live-p.cfg.Min), 0), len(free))
	for _, m := range free[:n] {
		why, still := "idle", p.idleFor
		if !p.idleFor(m, now) {
			why, still = "above max", func(m *models.Machine, _ time.Time) bool { return resting(m) }
		}
		plan.destroy = append(plan.destroy, doomed{m.ID, why, func(m *models.Machine, now time.Time) bool {
			return resting(m) && still(m, now)
		}})
	}
	live -= n
	plan.create = max(p.cfg.Min-live-p.creating, 0)
	return plan
}

// unclaimedFor reports a Machine that changed state at least ReclaimAfter
// ago (and, the caller checked, shows no live lease).
func (p *Pool) unclaimedFor(m *models.Machine, now time.Time) bool {
	at := updatedAt(m)
	return !at.IsZero() && now.Sub(at) >= p.cfg.ReclaimAfter
}

// idleFor reports a Machine stopped for IdleTimeout or longer.
func (p *Pool) idleFor(m *models.Machine, now time.Time) bool {
	at := updatedAt(m)
	return !at.IsZero() && now.Sub(at) >= p.cfg.IdleTimeout
}

// olderGenerations are the generations in ms older than this Pool's: those
// whose Machines were all made or booted by processes that adopted their
// config (KeyAdopted) before this Pool did. Machines without the key are
// the oldest.
func (p *Pool) olderGenerations(ms []*models.Machine) map[string]bool {
	newest := map[string]time.Time{}
	for _, m := range ms {
		g := generationOf(m)
		if gone(m) || g == p.tmpl.generation {
			continue
		}
		at := parseTime(metadataOf(m)[KeyAdopted])
		if last, ok := newest[g]; !ok || at.After(last) {
			newest[g] = at
		}
	}
	out := map[string]bool{}
	for g, at := range newest {
		if at.Before(p.adopted) {
			out[g] = true
		}
	}
	return out
}

// sweep carries out the plan of one list.
func (p *Pool) sweep(ctx context.Context, s snapshot) error {
	plan := p.plan(s, time.Now())
	var errs []error
	for _, id := range plan.reclaim {
		errs = append(errs, p.reclaim(ctx, id))
	}
	for _, d := range plan.destroy {
		errs = append(errs, p.destroyFree(ctx, d))
	}
	if plan.create > 0 {
		// After destroys, count from a list that shows them.
		errs = append(errs, p.fill(ctx, s, len(plan.destroy) > 0))
	}
	return errors.Join(errs...)
}

// underLease takes a Machine's lease, looks at it again, and runs fn
// with the Machine and a context carrying the lease; then gives the lease
// up (unless fn destroyed the Machine). A Machine this Pool holds, or
// whose lease someone holds, is left alone.
func (p *Pool) underLease(ctx context.Context, id string, fn func(ctx context.Context, m *models.Machine) error) error {
	if !p.hold(id) {
		return nil
	}
	defer p.unhold(id, false)
	l, err := p.c.AcquireLease(ctx, p.cfg.App, id, p.cfg.LeaseTTL, flymachines.LeaseDescription(p.holder()+" (sweep)"))
	if isConflict(err) {
		return nil // someone holds it, or it is gone: not ours to tidy
	}
	if err != nil {
		return err
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if err := l.Release(rctx); err != nil && !errors.Is(err, flymachines.ErrNotFound) {
			p.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "pool: could not give a lease back; it lapses by itself",
				slog.String("machine", id), slog.String("error", err.Error()))
		}
	}()
	m, err := p.c.Machines.Show(ctx, p.cfg.App, id, nil)
	if err != nil {
		return err
	}
	if !memberOf(m, p.cfg.Name) {
		return nil
	}
	return fn(l.Context(ctx), m)
}

// reclaim stops a Machine left running by a claimant that died. It is free
// once down.
func (p *Pool) reclaim(ctx context.Context, id string) error {
	return p.underLease(ctx, id, func(ctx context.Context, m *models.Machine) error {
		if m.State != flymachines.StateStarted || !p.unclaimedFor(m, time.Now()) {
			return nil
		}
		if err := p.c.Machines.Stop(ctx, p.cfg.App, id, nil, nil); err != nil {
			return fmt.Errorf("reclaiming machine %s: %w", id, err)
		}
		p.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "pool: reclaimed a machine left running without a claim",
			slog.String("pool", p.cfg.Name), slog.String("machine", id))
		return nil
	})
}

// destroyFree destroys a Machine if it is still as the plan saw it.
func (p *Pool) destroyFree(ctx context.Context, d doomed) error {
	return p.underLease(ctx, d.id, func(ctx context.Context, m *models.Machine) error {
		if !d.still(m, time.Now()) {
			return nil
		}
		if err := p.destroy(ctx, d.id); err != nil {
			return fmt.Errorf("destroying machine %s (%s): %w", d.id, d.why, err)
		}
		return nil
	})
}

// fill creates stopped Machines up to Min as claims create them up to
// Max (reserveCreate): one at a time, each decided on a list asked for
// after the previous create ended, so that processes filling the pool at
// once overshoot by at most one Machine each, never by Min each. relist
// asks for a new list before the first create.
func (p *Pool) fill(ctx context.Context, s snapshot, relist bool) error {
	if relist {
		var err error
		if s, err = p.list(ctx, p.seqNow(), 0); err != nil {
			return err
		}
	}
	for {
		ok, fresher := p.reserveCreate(s, p.cfg.Min)
		switch {
		case fresher > 0:
			var err error
			if s, err = p.list(ctx, fresher, 0); err != nil {
				return err
			}
			continue
		case !ok:
			return nil
		}
		if err := p.createSpare(ctx); err != nil {
			return err
		}
	}
}

// createSpare creates a stopped Machine for the pool (reserveCreate
// reserved it), free at once.
func (p *Pool) createSpare(ctx context.Context) error {
	defer p.createDone()
	req := &models.CreateMachineRequest{Config: p.tmpl.config(Job{}, nil), SkipLaunch: true}
	var opts []flymachines.CreateOption
	if len(p.cfg.Regions) > 0 {
		req.Region = p.cfg.Regions[0]
		opts = append(opts, flymachines.WithRegionFallback(p.cfg.Regions[1:]...))
	}
	m, err := p.c.CreateMachine(ctx, p.cfg.App, req, opts...)
	if err != nil {
		return fmt.Errorf("creating a machine up to min: %w", err)
	}
	p.mu.Lock()
	p.recent[m.ID] = time.Now()
	p.mu.Unlock()
	p.unhold(m.ID, true)
	return nil
}

// Drain destroys the pool's Machines, of every generation, as they come
// free, and returns once none is left (or ctx ends). This Pool claims
// nothing more (Run and Acquire fail with ErrDrained) and its claims still
// out destroy their Machines when released. A Machine left running by a
// process that died is destroyed once its lease has lapsed for
// ReclaimAfter. Other processes that still use the pool create Machines
// again: stop them first (or drain with each).
func (p *Pool) Drain(ctx context.Context) error {
	p.mu.Lock()
	p.drained = true
	p.mu.Unlock()
	anyFree := func(m *models.Machine, _ time.Time) bool { return resting(m) || m.State == flymachines.StateFailed }
	pause := waitFirst
	for {
		s, err := p.list(ctx, p.seqNow(), 0)
		if err != nil {
			return fmt.Errorf("pool %s: draining: %w", p.cfg.Name, err)
		}
		now := time.Now()
		left := 0
		var errs []error
		for _, m := range s.machines {
			if gone(m) {
				continue
			}
			left++
			switch {
			case leased(m, now):
			case anyFree(m, now):
				errs = append(errs, p.destroyFree(ctx, doomed{m.ID, "drain", anyFree}))
			case m.State == flymachines.StateStarted && p.unclaimedFor(m, now):
				errs = append(errs, p.destroyFree(ctx, doomed{m.ID, "drain", func(m *models.Machine, now time.Time) bool {
					return m.State == flymachines.StateStarted && p.unclaimedFor(m, now)
				}}))
			}
		}
		if left == 0 && p.showsOwnCreates(s) {
			return nil
		}
		if err := errors.Join(errs...); err != nil {
			p.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "pool: draining", slog.String("error", err.Error()))
		}
		if err := sleep(ctx, pause); err != nil {
			return fmt.Errorf("pool %s: draining, %d machines left: %w", p.cfg.Name, left, err)
		}
		pause = min(2*pause, waitMost)
	}
}

// showsOwnCreates reports whether s shows every Machine this Pool has
// created: none is being created, none was since s was asked for, and
// s lists all it did before.
func (p *Pool) showsOwnCreates(s snapshot) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.creating > 0 || p.createSeq >= s.seq {
		return false
	}
	for id, at := range p.recent {
		if time.Since(at) <= recentFor && !slices.ContainsFunc(s.machines, func(m *models.Machine) bool { return m.ID == id }) {
			return false
		}
	}
	return true
}

// byAge orders Machines by creation, oldest first.
func byAge(a, b *models.Machine) int {
	return cmp.Or(createdAt(a).Compare(createdAt(b)), cmp.Compare(a.ID, b.ID))
}
