package flymachines

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/models"
)

// JobResult is what RunJob did: the Machine, how its process ended, and
// whether the Machine is gone.
type JobResult struct {
	Machine       *models.Machine // as created
	Exit          *ExitStatus     // nil when the job never ran to its end
	Destroyed     bool            // destroyed (by RunJob or by auto_destroy)
	FailedToStart bool            // never ran its command; kept, failed, for a look at why

	Created, Started, Exited time.Time // when RunJob learned of each step
}

// JobStepKind names the steps RunJob reports to OnJobStep.
type JobStepKind int

// The steps of a job, in the order they can happen.
const (
	JobCreated       JobStepKind = iota // the Machine exists
	JobStarted                          // it started (State says "stopped" if it was done already)
	JobFailedToStart                    // it failed before running its command; it is kept
	JobExited                           // its process exited (Exit)
	JobDestroyed                        // it was destroyed after a clean exit
	JobCleanedUp                        // it was destroyed after an error, so nothing is left running
)

// String names the step: "created", "started", "failed to start",
// "exited", "destroyed", "cleaned up".
func (k JobStepKind) String() string {
	switch k {
	case JobCreated:
		return "created"
	case JobStarted:
		return "started"
	case JobFailedToStart:
		return "failed to start"
	case JobExited:
		return "exited"
	case JobDestroyed:
		return "destroyed"
	case JobCleanedUp:
		return "cleaned up"
	}
	return "JobStepKind(" + strconv.Itoa(int(k)) + ")"
}

// JobStep is one step of RunJob, as it happens.
type JobStep struct {
	Kind    JobStepKind
	Machine *models.Machine
	State   string        // the state the step saw, for JobStarted
	Exit    *ExitStatus   // for JobExited
	Took    time.Duration // since the previous step
	Err     error         // for JobCleanedUp: the destroy's own failure, if any
}

// JobOption configures RunJob.
type JobOption func(*jobConfig)

type jobConfig struct {
	keep   bool
	create []CreateOption
	onStep func(JobStep)
}

// OnJobStep calls f with each step as it happens, e.g. to show progress.
// f runs on RunJob's goroutine and should return quickly.
func OnJobStep(f func(JobStep)) JobOption { return func(c *jobConfig) { c.onStep = f } }

// KeepMachine keeps the Machine after a clean exit too (by default it is
// destroyed then, and kept only after a failure, for inspection).
func KeepMachine() JobOption { return func(c *jobConfig) { c.keep = true } }

// JobCreateOptions passes options to the create (region fallback, launch id).
func JobCreateOptions(opts ...CreateOption) JobOption {
	return func(c *jobConfig) { c.create = append(c.create, opts...) }
}

// RunJob runs a one-off job on a throwaway Machine: it creates the Machine
// (once, see CreateMachine), waits for it to start and for its process to
// exit (server-side waits, no polling), and reads the exit status. After a
// clean exit the Machine is destroyed; after a failure it is kept, for
// whoever wants to look at it, and so is a Machine that failed to start.
// After any other error (including the context ending) a Machine that was
// created is destroyed, so nothing is left running. A job whose config
// sets no restart policy gets "no": a failed job must not run again by
// itself.
//
// A failed job is a result, not an error: check res.Exit.Success(). The
// error is for what kept the job from running or being observed; the
// result then holds what is known (res.Machine, if it was created).
func (c *Client) RunJob(ctx context.Context, app string, req *models.CreateMachineRequest, opts ...JobOption) (res *JobResult, err error) {
	cfg := jobConfig{onStep: func(JobStep) {}}
	for _, opt := range opts {
		opt(&cfg)
	}
	if req == nil || req.Config == nil {
		return nil, &ValidationError{Op: "Machines_create", Err: errors.New("a job needs a config with an image")}
	}
	body := *req
	if body.Config.Restart == nil {
		conf := *body.Config
		conf.Restart = &models.FlyMachineRestart{Policy: models.FlyMachineRestartPolicyNo}
		body.Config = &conf
	}
	res = &JobResult{}
	last := time.Now()
	step := func(s JobStep) {
		now := time.Now()
		s.Machine, s.Took, last = res.Machine, now.Sub(last), now
		cfg.onStep(s)
	}
	m, err := c.CreateMachine(ctx, app, &body, cfg.create...)
	if err != nil {
		return res, err
	}
	res.Machine, res.Created = m, time.Now()
	step(JobStep{Kind: JobCreated})
	defer func() {
		if err != nil && !cfg.keep && !res.FailedToStart && !res.Destroyed {
			step(JobStep{Kind: JobCleanedUp, Err: c.destroyNow(app, m.ID)})
		}
	}()

	if !body.SkipLaunch {
		// A job that exits at once may be stopped before started is seen.
		seen, err := c.WaitForState(ctx, app, m.ID, []string{StateStarted, StateStopped, StateDestroyed})
		if errors.Is(err, ErrMachineFailed) {
			res.FailedToStart = true
			step(JobStep{Kind: JobFailedToStart})
			return res, fmt.Errorf("job machine %s failed to start (kept): %w", m.ID, err)
		}
		if err != nil {
			return res, fmt.Errorf("job machine %s did not start: %w", m.ID, err)
		}
		res.Started = time.Now()
		step(JobStep{Kind: JobStarted, State: seen.State})
	}
	exit, err := c.WaitForExit(ctx, app, m.ID)
	if err != nil {
		return res, fmt.Errorf("job machine %s: %w", m.ID, err)
	}
	res.Exit, res.Exited = exit, time.Now()
	step(JobStep{Kind: JobExited, Exit: exit})
	if exit.State == StateDestroyed {
		res.Destroyed = true // auto_destroy did it
		return res, nil
	}
	if !exit.Success() || cfg.keep {
		return res, nil
	}
	if err := c.Machines.Delete(ctx, app, m.ID, nil); err != nil && !errors.Is(err, ErrNotFound) {
		return res, fmt.Errorf("destroying job machine %s: %w", m.ID, err)
	}
	if err := c.WaitDestroyed(ctx, app, m.ID); err != nil {
		return res, fmt.Errorf("destroying job machine %s: %w", m.ID, err)
	}
	res.Destroyed = true
	step(JobStep{Kind: JobDestroyed})
	return res, nil
}

// destroyNow force-destroys a Machine with a context of its own: the
// caller's may be what ended.
func (c *Client) destroyNow(app, id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Machines.Delete(ctx, app, id, &machines.DeleteParams{Force: true}); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}
