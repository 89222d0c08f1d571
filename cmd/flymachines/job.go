package main

import (
	"context"
	"fmt"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/models"
)

// jobRunner runs a one-off job with flymachines.RunJob and prints each
// step as it happens, with a line every cl.progressEvery while a wait
// lasts.
type jobRunner struct {
	cl   *cli
	c    *flymachines.Client
	app  string
	keep bool // keep the Machine after a clean exit too
}

// run runs the job; see flymachines.RunJob for what is kept and when.
func (j *jobRunner) run(ctx context.Context, req *models.CreateMachineRequest) (*flymachines.JobResult, error) {
	var stopWatch func()
	defer func() {
		if stopWatch != nil {
			stopWatch()
		}
	}()
	watchFor := func(m *models.Machine, what string) {
		if stopWatch != nil {
			stopWatch()
		}
		stopWatch = j.cl.watch(ctx, j.c, j.app, m.ID, what)
	}
	opts := []flymachines.JobOption{flymachines.OnJobStep(func(s flymachines.JobStep) {
		switch s.Kind {
		case flymachines.JobCreated:
			j.line("✓", fmt.Sprintf("created machine %s in %s", s.Machine.ID, s.Machine.Region), s.Took)
			watchFor(s.Machine, "to start")
		case flymachines.JobStarted:
			if s.State == flymachines.StateStopped {
				j.line("✓", "started, and stopped already", s.Took)
			} else {
				j.line("✓", "started", s.Took)
			}
			watchFor(s.Machine, "to exit")
		case flymachines.JobFailedToStart:
			j.line("✗", "failed to start", s.Took)
		case flymachines.JobExited:
			if stopWatch != nil {
				stopWatch()
				stopWatch = nil
			}
			mark := "✓"
			if !s.Exit.Success() {
				mark = "✗"
			}
			j.line(mark, "exited with code "+fmt.Sprint(s.Exit.ExitCode)+exitNote(s.Exit), s.Took)
		case flymachines.JobDestroyed:
			j.line("✓", "destroyed: a clean exit leaves nothing behind", s.Took)
		case flymachines.JobCleanedUp:
			if s.Err != nil {
				fmt.Fprintf(j.cl.stdout, "  ! could not destroy machine %s: %s\n", s.Machine.ID, errorLine(s.Err))
			} else {
				fmt.Fprintf(j.cl.stdout, "  • destroyed machine %s, so that nothing is left running\n", s.Machine.ID)
			}
		}
	})}
	if j.keep {
		opts = append(opts, flymachines.KeepMachine())
	}
	res, err := j.c.RunJob(ctx, j.app, req, opts...)
	if err != nil && res != nil && res.FailedToStart {
		return res, fmt.Errorf("machine %s failed to start; kept: see fly machine status %s -a %s", res.Machine.ID, res.Machine.ID, j.app)
	}
	return res, err
}

// line prints one step: a mark, what happened, and how long it took.
func (j *jobRunner) line(mark, what string, took time.Duration) {
	fmt.Fprintf(j.cl.stdout, "  %s %-46s %7s\n", mark, what, shortDuration(took))
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

// watch prints a line every cl.progressEvery while a wait lasts, with the
// Machine's state, until the returned stop is called.
func (cl *cli) watch(ctx context.Context, c *flymachines.Client, app, id, what string) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	begin := time.Now()
	go func() {
		defer close(done)
		tick := time.NewTicker(cl.progressEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			state := "unknown"
			if m, err := c.Machines.Show(ctx, app, id, nil); err == nil {
				state = m.State
			} else if ctx.Err() != nil {
				return
			}
			fmt.Fprintf(cl.stdout, "  … still waiting for machine %s %s (state %s, %s)\n",
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
