package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/models"
)

// progressEvery is how often a long wait prints a line saying it still
// waits.
var progressEvery = 5 * time.Second

// jobRunner runs a one-off job on a new Machine, as flymachines.RunJob
// does, but step by step, so that each step is reported as it happens:
// create, wait for the start, wait for the exit and read the exit code,
// then destroy the Machine after a clean exit or keep it after a failure.
type jobRunner struct {
	c    *flymachines.Client
	app  string
	out  io.Writer
	keep bool // keep the Machine after a clean exit too
}

// jobResult is what a job did. Exit is nil if the job never ran to its end.
type jobResult struct {
	Machine   *models.Machine
	Exit      *flymachines.ExitStatus
	Destroyed bool
	// FailedToStart: the Machine never ran its command; it is kept, in
	// state failed, for a look at why.
	FailedToStart bool
}

// run runs the job. A job that exits non-zero is a result, not an error;
// errors are what kept it from running or from being watched. A Machine
// that failed to start is kept, like one whose job failed; after any other
// error, or an interruption, a Machine that was created is destroyed
// (unless keep): nothing is left running.
func (j *jobRunner) run(ctx context.Context, req *models.CreateMachineRequest) (res *jobResult, err error) {
	body := *req
	if body.Config.Restart == nil {
		// A job that failed must not run again by itself.
		conf := *body.Config
		conf.Restart = &models.FlyMachineRestart{Policy: models.FlyMachineRestartPolicyNo}
		body.Config = &conf
	}
	res = &jobResult{}
	t := time.Now()
	m, err := j.c.CreateMachine(ctx, j.app, &body)
	if err != nil {
		return res, err
	}
	res.Machine = m
	j.line("✓", fmt.Sprintf("created machine %s in %s", m.ID, m.Region), time.Since(t))
	defer func() {
		if err != nil && !j.keep && !res.FailedToStart {
			j.destroyAfterError(m.ID)
		}
	}()

	// A job that exits at once may be stopped before started is seen.
	t = time.Now()
	stop := watch(ctx, j.c, j.app, m.ID, "to start", j.out)
	seen, err := j.c.WaitForState(ctx, j.app, m.ID, []string{flymachines.StateStarted, flymachines.StateStopped})
	stop()
	if errors.Is(err, flymachines.ErrMachineFailed) {
		j.line("✗", "failed to start", time.Since(t))
		res.FailedToStart = true
		return res, fmt.Errorf("machine %s failed to start; kept: see fly machine status %s -a %s", m.ID, m.ID, j.app)
	}
	if err != nil {
		return res, err
	}
	if seen.State == flymachines.StateStopped {
		j.line("✓", "started, and stopped already", time.Since(t))
	} else {
		j.line("✓", "started", time.Since(t))
	}

	t = time.Now()
	stop = watch(ctx, j.c, j.app, m.ID, "to exit", j.out)
	exit, err := j.c.WaitForExit(ctx, j.app, m.ID)
	stop()
	if err != nil {
		return res, err
	}
	res.Exit = exit
	mark := "✓"
	if !exit.Success() {
		mark = "✗"
	}
	j.line(mark, "exited with code "+fmt.Sprint(exit.ExitCode)+exitNote(exit), time.Since(t))
	if exit.State == flymachines.StateDestroyed {
		res.Destroyed = true // auto_destroy did it
		return res, nil
	}
	if !exit.Success() || j.keep {
		return res, nil
	}

	t = time.Now()
	params := machines.NewMachinesDeleteParams().WithAppName(j.app).WithMachineID(m.ID)
	if _, err := j.c.Machines.MachinesDeleteContext(ctx, params, nil); err != nil && !errors.Is(err, flymachines.ErrNotFound) {
		return res, fmt.Errorf("destroying machine %s: %w", m.ID, err)
	}
	if err := j.c.WaitDestroyed(ctx, j.app, m.ID); err != nil {
		return res, err
	}
	res.Destroyed = true
	j.line("✓", "destroyed: a clean exit leaves nothing behind", time.Since(t))
	return res, nil
}

// destroyAfterError destroys the job's Machine, running or not, with a
// context of its own: the job's may be what ended.
func (j *jobRunner) destroyAfterError(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	params := machines.NewMachinesDeleteParams().WithAppName(j.app).WithMachineID(id).WithForce(new(true))
	if _, err := j.c.Machines.MachinesDeleteContext(ctx, params, nil); err != nil && !errors.Is(err, flymachines.ErrNotFound) {
		fmt.Fprintf(j.out, "  ! could not destroy machine %s: %v\n", id, err)
		return
	}
	fmt.Fprintf(j.out, "  • destroyed machine %s, so that nothing is left running\n", id)
}

// line prints one step: a mark, what happened, and how long it took.
func (j *jobRunner) line(mark, what string, took time.Duration) {
	fmt.Fprintf(j.out, "  %s %-46s %7s\n", mark, what, shortDuration(took))
}

// exitNote says why a process ended, beyond its code.
func exitNote(s *flymachines.ExitStatus) string {
	switch {
	case s.OOMKilled:
		return " (out of memory)"
	case s.Signal > 0:
		return fmt.Sprintf(" (signal %d)", s.Signal)
	}
	return ""
}

// processExitCode is the exit status that reports a job's exit: its code,
// or 1 for a failure without one.
func processExitCode(s *flymachines.ExitStatus) int {
	code := s.ExitCode
	if code == 0 && !s.Success() || code < 0 || code > 255 {
		return 1
	}
	return code
}

// watch prints a line every progressEvery while a wait lasts, with the
// Machine's state, until the returned stop is called.
func watch(ctx context.Context, c *flymachines.Client, app, id, what string, out io.Writer) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	begin := time.Now()
	go func() {
		defer close(done)
		tick := time.NewTicker(progressEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			state := "unknown"
			params := machines.NewMachinesShowParams().WithAppName(app).WithMachineID(id)
			if m, err := c.Machines.MachinesShowContext(ctx, params, nil); err == nil {
				state = m.GetPayload().State
			} else if ctx.Err() != nil {
				return
			}
			fmt.Fprintf(out, "  … still waiting for machine %s %s (state %s, %s)\n",
				id, what, state, time.Since(begin).Round(time.Second))
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// shortDuration prints whole milliseconds below a second, then seconds
// with three decimals, then tenths above ten seconds: "0ms", "61ms",
// "1.234s", "12.3s".
func shortDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < 10*time.Second:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(100 * time.Millisecond).String()
}
