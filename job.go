package flymachines

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/models"
)

// JobResult is what RunJob did: the Machine, how its process ended, and
// whether the Machine is gone.
type JobResult struct {
	Machine   *models.Machine // as created
	Exit      *ExitStatus
	Destroyed bool // destroyed after a clean exit (by RunJob or by auto_destroy)

	Created, Started, Exited time.Time // when RunJob learned of each step
}

// JobOption configures RunJob.
type JobOption func(*jobConfig)

type jobConfig struct {
	keep   bool
	create []CreateOption
}

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
// whoever wants to look at it. A job whose config sets no restart policy
// gets "no": a job that failed must not run again by itself.
//
// A failed job is a result, not an error: check res.Exit.Success(). The
// error is for what kept the job from running or being observed; the
// result then holds what is known (res.Machine, if it was created).
func (c *Client) RunJob(ctx context.Context, app string, req *models.CreateMachineRequest, opts ...JobOption) (*JobResult, error) {
	var cfg jobConfig
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
	res := &JobResult{}
	m, err := c.CreateMachine(ctx, app, &body, cfg.create...)
	if err != nil {
		return res, err
	}
	res.Machine, res.Created = m, time.Now()

	if !body.SkipLaunch {
		// A job that exits at once may be stopped before started is seen.
		if _, err := c.WaitForState(ctx, app, m.ID, []string{StateStarted, StateStopped, StateDestroyed}); err != nil {
			return res, fmt.Errorf("flymachines: job machine %s did not start: %w", m.ID, err)
		}
		res.Started = time.Now()
	}
	exit, err := c.WaitForExit(ctx, app, m.ID)
	if err != nil {
		return res, fmt.Errorf("flymachines: job machine %s: %w", m.ID, err)
	}
	res.Exit, res.Exited = exit, time.Now()
	if exit.State == StateDestroyed {
		res.Destroyed = true
		return res, nil
	}
	if !exit.Success() || cfg.keep {
		return res, nil
	}
	params := machines.NewMachinesDeleteParamsWithContext(ctx).WithAppName(app).WithMachineID(m.ID)
	if _, err := c.Machines.MachinesDeleteContext(ctx, params, nil); err != nil && !errors.Is(err, ErrNotFound) {
		return res, fmt.Errorf("flymachines: destroying job machine %s: %w", m.ID, err)
	}
	res.Destroyed = true
	return res, nil
}
