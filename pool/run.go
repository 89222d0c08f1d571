package pool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/models"
)

// Run runs job on a Machine of the pool and returns how its process
// ended: it claims a free Machine (or creates one, below Max; or waits,
// at Max), boots it with the job (see Job), waits for the process to exit
// with the API's server-side wait, and gives the Machine back, stopped, to
// the pool. A failed job is a result, not an error: check Success.
//
// An error matching ErrNotStarted means nothing was booted: calling Run
// again cannot run the job twice. Any other error comes after the job was
// booted, or may have been: the context ended (the Machine is then
// stopped), or the job's end could not be observed. A claim lost while
// the job runs (this process could not refresh its lease in time) does
// not stop the job; if a sweep then stops it, the status says
// RequestedStop and the error matches flymachines.ErrLeaseLost.
func (p *Pool) Run(ctx context.Context, job Job, opts ...RunOption) (*flymachines.ExitStatus, error) {
	var cfg runConfig
	for _, opt := range opts {
		if opt != nil {
			opt(&cfg)
		}
	}
	if err := job.check(); err != nil {
		return nil, notStarted(err)
	}
	for {
		cl, err := p.claim(ctx, job.key())
		if err != nil {
			return nil, notStarted(fmt.Errorf("pool %s: %w", p.cfg.Name, err))
		}
		version, err := cl.boot(ctx, job, false)
		switch {
		case errors.Is(err, errRefused):
			continue // someone else got there first: the next Machine
		case err != nil:
			return nil, err
		}
		if cfg.onBoot != nil {
			cfg.onBoot(cl.Machine())
		}
		return cl.finish(ctx, version)
	}
}

// RunOption configures Run.
type RunOption func(*runConfig)

type runConfig struct {
	onBoot func(*models.Machine)
}

// OnBoot calls f with the Machine once it is booted with the job, before
// Run waits for the job to end: to say where it runs (for its logs, say).
// f runs on Run's goroutine and must not modify the Machine.
func OnBoot(f func(m *models.Machine)) RunOption { return func(c *runConfig) { c.onBoot = f } }

// finish waits for the job's process to exit and gives the Machine back.
func (cl *Claim) finish(ctx context.Context, version string) (*flymachines.ExitStatus, error) {
	st, err := cl.waitExit(ctx, version)
	switch {
	case err == nil:
		lost := cl.Err() // before giveBack, which ends the claim
		if relErr := cl.giveBackOnce(ctx, st.State); relErr != nil && lost == nil {
			cl.p.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "pool: giving back after a job", slog.String("error", relErr.Error()))
		}
		if lost != nil && st.RequestedStop {
			return st, fmt.Errorf("pool %s: machine %s: the job was stopped after this process lost its claim: %w", cl.p.cfg.Name, cl.ID(), lost)
		}
		return st, nil
	case errors.Is(err, flymachines.ErrMachineFailed):
		_ = cl.giveBackOnce(ctx, flymachines.StateFailed) // destroys it
		return nil, notStarted(fmt.Errorf("pool %s: machine %s failed to boot the job (destroyed): %w", cl.p.cfg.Name, cl.ID(), err))
	default:
		// The caller gave up, or the job could not be watched: stop it
		// (under the lease) rather than leave it running unwatched.
		_ = cl.giveBackOnce(ctx, "")
		return nil, fmt.Errorf("pool %s: machine %s: %w", cl.p.cfg.Name, cl.ID(), err)
	}
}

// waitExit waits, on the server, for the booted version to stop, and reads
// its exit status. Waiting changes nothing, so it needs no lease and goes
// on if the claim is lost. Failures of the wait are tried again (a few
// times for a missing exit event) until ctx ends.
func (cl *Claim) waitExit(ctx context.Context, version string) (*flymachines.ExitStatus, error) {
	p := cl.p
	pause, noEvent := waitFirst, 0
	for {
		st, err := p.c.WaitForExit(ctx, p.cfg.App, cl.ID(), flymachines.WithInstanceID(version))
		switch {
		case err == nil:
			return st, nil
		case ctx.Err() != nil, errors.Is(err, flymachines.ErrMachineFailed), errors.Is(err, flymachines.ErrMachineDestroyed),
			errors.Is(err, flymachines.ErrInvalidArgument):
			return nil, err
		case errors.Is(err, flymachines.ErrNoExitEvent):
			if noEvent++; noEvent >= 3 {
				return nil, err
			}
		}
		p.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "pool: waiting for a job again",
			slog.String("machine", cl.ID()), slog.String("error", err.Error()))
		if err := sleep(ctx, pause); err != nil {
			return nil, err
		}
		pause = min(2*pause, waitMost)
	}
}

// errRefused marks a boot that someone else's claim refused: the lease is
// theirs now, or the Machine changed state or version. The claim is given
// up; another Machine may do.
var errRefused = errors.New("pool: refused by another claim")

// Boot attempts, and how long to pause between them.
const (
	bootAttempts = 3
	bootPause    = 250 * time.Millisecond
)

// boot boots the claimed (resting) Machine with job, under the lease: a
// start when the Machine's config already is the job's (KeyJob; resume
// also starts a suspended one, resuming it), else an update with the
// job's config and skip_launch false, which boots it. It returns the
// version booted.
//
// Neither call is safe to repeat blindly (a repeated update would run the
// job twice), so after a failure that may have taken effect it looks at
// the Machine: a new version, a Machine no longer resting, or a newer
// event says it did. A refusal after such a failure may be that earlier
// call showing (it took effect after the lookup: the Machine is no longer
// stopped, its version moved on), so it looks again then too. Errors:
// errRefused when someone else's claim got in
// the way (the claim is given up); one matching ErrNotStarted when the
// Machine was not booted (the claim is given back); any other when it is
// unknown whether it was.
func (cl *Claim) boot(ctx context.Context, job Job, resume bool) (string, error) {
	p, id := cl.p, cl.ID()
	m := cl.Machine()
	start := jobOf(m) == job.key() && (m.State == flymachines.StateStopped || resume && m.State == flymachines.StateSuspended)
	before, beforeVersion := newestEvent(m), m.Version
	lctx := cl.Context(ctx)
	doubt := false // an earlier attempt may have taken effect
	for attempt := 1; ; attempt++ {
		var err error
		version := beforeVersion
		if start {
			_, err = p.c.Machines.Start(lctx, p.cfg.App, id, nil)
		} else {
			var um *models.Machine
			um, err = p.c.Machines.Update(lctx, p.cfg.App, id, &models.UpdateMachineRequest{
				Config:         p.tmpl.config(job, metadataOf(m)),
				SkipLaunch:     new(false),
				CurrentVersion: beforeVersion,
			}, nil)
			if err == nil {
				cl.setMachine(um)
				version = um.Version
			}
		}
		if err == nil {
			return version, nil
		}
		refused := !mayHaveApplied(err) // by the API, or never sent
		if refused && !doubt {
			return "", cl.refused(ctx, err)
		}
		doubt = true
		// It may have taken effect, or an earlier attempt may have: look
		// before doing anything else.
		now, lookErr := cl.lookAgain(ctx)
		changed := lookErr == nil && (now.Version != beforeVersion || !resting(now) || newestEvent(now) != before)
		switch {
		case lookErr != nil:
			_ = cl.giveBackOnce(ctx, "")
			return "", fmt.Errorf("pool %s: machine %s: booting it failed (%w) and a lookup could not tell whether it booted: %w", p.cfg.Name, id, err, lookErr)
		case changed && !cl.held():
			// Changed, but the lease may have been someone else's since:
			// the change may be theirs, or this boot's.
			cl.abandon(ctx, false)
			return "", fmt.Errorf("pool %s: machine %s: booting it failed (%w), and by the time a lookup showed it changed this claim may have lapsed: whether the job runs is unknown", p.cfg.Name, id, err)
		case changed:
			cl.setMachine(now)
			return now.Version, nil
		case refused:
			return "", cl.refused(ctx, err)
		case cl.Err() != nil:
			cl.abandon(ctx, false)
			return "", fmt.Errorf("%w: machine %s: %w", errRefused, id, cl.Err())
		case attempt == bootAttempts || ctx.Err() != nil:
			cl.abandon(ctx, true)
			return "", notStarted(fmt.Errorf("pool %s: booting machine %s: %w", p.cfg.Name, id, err))
		}
		p.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "pool: booting again",
			slog.String("machine", id), slog.String("error", err.Error()))
		if err := sleep(ctx, bootPause); err != nil {
			cl.abandon(ctx, true)
			return "", notStarted(err)
		}
	}
}

// refused gives the claim up after the API refused to boot its Machine
// (or the request was never sent), which is as it was: errRefused when
// someone else's claim is in the way, else an error matching
// ErrNotStarted.
func (cl *Claim) refused(ctx context.Context, err error) error {
	if isConflict(err) || errors.Is(err, flymachines.ErrWrongState) || cl.Err() != nil {
		cl.abandon(ctx, false)
		return fmt.Errorf("%w: machine %s: %w", errRefused, cl.ID(), err)
	}
	cl.abandon(ctx, true)
	if ctx.Err() != nil {
		return notStarted(errCtx(ctx))
	}
	return notStarted(fmt.Errorf("pool %s: booting machine %s: %w", cl.p.cfg.Name, cl.ID(), err))
}

// mayHaveApplied reports a failure that leaves open whether the call took
// effect: anything but a refusal the API sent or a request never sent.
func mayHaveApplied(err error) bool {
	var apiErr *flymachines.APIError
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode >= 500 || apiErr.StatusCode == 408
	}
	var valErr *flymachines.ValidationError
	var rlErr *flymachines.RateLimitError
	return !errors.As(err, &valErr) && !errors.As(err, &rlErr)
}

// lookAgain looks the Machine up, trying again for a while: after a call
// that may have taken effect, nothing else may be done before knowing.
func (cl *Claim) lookAgain(ctx context.Context) (*models.Machine, error) {
	p := cl.p
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	pause := waitFirst
	for {
		m, err := p.c.Machines.Show(ctx, p.cfg.App, cl.ID(), nil)
		if err == nil {
			return m, nil
		}
		if sleep(ctx, pause) != nil {
			return nil, err
		}
		pause = min(2*pause, waitMost)
	}
}

// abandon gives a claim up without touching its Machine: its lease is
// released (if this process still holds it); free offers the Machine to
// this Pool's next claim.
func (cl *Claim) abandon(ctx context.Context, free bool) {
	cl.once.Do(func() {
		cl.relErr = errReleased
		lost := cl.Err()
		cl.stopKeeping(errReleased)
		var relErr error
		if lost == nil {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
			defer cancel()
			relErr = cl.releaseLease(rctx)
		}
		cl.p.unhold(cl.ID(), free && lost == nil && relErr == nil)
	})
}
